package invalidate_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/invalidate"
)

// TestTenantCacheFollowsTheBus: a cached value is served until the bus
// announces its kind for the tenant, a change of the tenant, or All; a
// load that began before a drop is returned but not kept.
func TestTenantCacheFollowsTheBus(t *testing.T) {
	bus, err := invalidate.New(dialect.SQLite, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c := invalidate.NewTenantCache[int](bus, "thing", time.Hour, 10)
	a, b := uuid.New(), uuid.New()
	loads := 0
	load := func() (int, error) { loads++; return loads, nil }
	get := func(tenant uuid.UUID) int {
		t.Helper()
		v, err := c.Get(tenant, load)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	publish := func(tp invalidate.Topic) {
		t.Helper()
		if err := bus.Publish(context.Background(), nil, tp); err != nil {
			t.Fatal(err)
		}
	}
	first, again := get(a), get(a) // the second get reads the cached value
	if first != 1 || again != 1 || get(b) != 2 {
		t.Fatalf("values not cached per tenant (%d loads)", loads)
	}
	publish(invalidate.For("other", a.String()))
	if get(a) != 1 {
		t.Fatal("another kind's topic dropped the value")
	}
	publish(invalidate.For("thing", a.String()))
	if get(a) != 3 || get(b) != 2 {
		t.Fatal("the kind's topic did not drop exactly its tenant")
	}
	publish(invalidate.For(invalidate.Tenant, b.String()))
	if get(b) != 4 {
		t.Fatal("a change of the tenant did not drop its value")
	}
	publish(invalidate.For(invalidate.All, ""))
	if get(a) != 5 || get(b) != 6 {
		t.Fatal("All did not drop every value")
	}
	c2 := invalidate.NewTenantCache[int](bus, "thing", time.Hour, 10)
	v, err := c2.Get(a, func() (int, error) {
		publish(invalidate.For("thing", a.String()))
		return 7, nil
	})
	if err != nil || v != 7 {
		t.Fatalf("load during a drop: %d, %v", v, err)
	}
	if v, _ := c2.Get(a, func() (int, error) { return 8, nil }); v != 8 {
		t.Fatal("a value loaded before a drop was kept")
	}
}

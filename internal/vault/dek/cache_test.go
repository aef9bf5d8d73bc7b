package dek_test

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/dek"
)

// newBus listens for invalidations on st's database, closed when t ends.
func newBus(t *testing.T, st *store.Store) *invalidate.Bus {
	t.Helper()
	bus, err := invalidate.New(st.Dialect, st.URL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	return bus
}

// A DEK destroyed once a rotation moved every row off it leaves the memory
// of every manager that had it cached, not only the destroyer's: on
// PostgreSQL two managers with a bus each (two instances), on SQLite two on
// the one bus of its one instance.
func TestDestroyedDEKLeavesEveryInstance(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		mk := master(t)
		busA := newBus(t, st)
		busB := busA
		if st.Dialect == dialect.Postgres {
			busB = newBus(t, st)
		}
		a := serverManager(st, mk).Listen(busA)
		b := serverManager(st, mk).Listen(busB)
		tenant := newTenant(t, st)
		seed(t, st, a, tenant, 3)
		if _, err := b.Key(bg(), tenant, 1); err != nil {
			t.Fatalf("B opens v1: %v", err)
		}
		if _, err := a.Rotate(bg(), st.Client, tenant); err != nil {
			t.Fatal(err)
		}
		if remaining, err := a.Reencrypt(bg(), tenant, 100, 0); err != nil || remaining != 0 {
			t.Fatalf("re-encryption: %d left, %v", remaining, err)
		}
		expectKey(t, st, tenant, 1, datakey.StatusDestroyed)
		deadline := time.Now().Add(time.Second)
		for {
			_, err := b.Key(bg(), tenant, 1)
			if errors.Is(err, dek.ErrDestroyed) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("B still opens the destroyed v1 a second after its destruction (err %v)", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := b.Key(bg(), tenant, 2); err != nil {
			t.Fatalf("B opens the active v2: %v", err)
		}
	})
}

package apikeys

// Shared fixtures of the apikeys unit tests: a fresh database per backend, a
// tenant, keys inserted directly, a verifier on an in-process invalidation
// bus and a clock the test moves.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/metrics"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is one database with one tenant and a verifier over it.
type fixture struct {
	st     *store.Store
	ctx    context.Context // unrestricted: fixtures write across tenants
	tenant *ent.Tenant
	bus    *invalidate.Bus
	usage  *Usage
	v      *Verifier
	clock  *fakeClock
	// queries counts the verifier's API key look-ups (and any other API key query).
	queries atomic.Int64
	refused *audit.Batcher
}

// eachFixture runs fn on a fresh fixture of every backend, in parallel.
func eachFixture(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Helper()
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, storetest.Open(t, b)))
		})
	}
}

func newFixture(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	// The bus delivers in process on every backend here: these tests are
	// about one verifier, and the cross-instance path is tested over HTTP.
	bus, err := invalidate.New(dialect.SQLite, "", discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, ctx: store.Unrestricted(context.Background()), bus: bus,
		clock: &fakeClock{now: time.Now().UTC().Truncate(time.Microsecond)}}
	f.usage = NewUsage(st.Client, discardLogger())
	f.refused = audit.NewBatcher(st.Client, discardLogger())
	f.v = NewVerifier(st.Client, bus, f.usage, f.refused, metrics.New())
	f.v.now = f.clock.Now
	st.Client.APIKey.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			f.queries.Add(1)
			return next.Query(ctx, q)
		})
	}))
	f.tenant = f.newTenant(t)
	return f
}

func randomSuffix(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func (f *fixture) newTenant(t *testing.T) *ent.Tenant {
	t.Helper()
	s := randomSuffix(t)
	tn, err := f.st.Client.Tenant.Create().SetName("tenant " + s).SetSlug("t-" + s).Save(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// newSecret returns a fresh key secret of the production format.
func newSecret(t testing.TB) string {
	t.Helper()
	k, err := secret.New(Prefix, 32)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newKey inserts an active key of the fixture's tenant with scopes
// api_keys:read, adjusted by mods, and returns its secret and row.
func (f *fixture) newKey(t *testing.T, mods ...func(*ent.APIKeyCreate)) (string, *ent.APIKey) {
	t.Helper()
	key := newSecret(t)
	c := f.st.Client.APIKey.Create().SetTenantID(f.tenant.ID).SetName("key " + randomSuffix(t)).
		SetPrefix(key[len(Prefix) : len(Prefix)+8]).SetKeyHash(secret.Hash(key)).
		SetScopes([]string{"api_keys:read"}).SetIPAllowlist([]string{})
	for _, m := range mods {
		m(c)
	}
	k, err := c.Save(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return key, k
}

// check runs Check and fails the test on an error.
func (f *fixture) check(t *testing.T, key string, ip string) *Result {
	t.Helper()
	var addr netip.Addr
	if ip != "" {
		addr = netip.MustParseAddr(ip)
	}
	res, err := f.v.Check(context.Background(), key, addr)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	return res
}

// expectReason fails unless res carries reason ("" for valid) for key id.
func expectReason(t *testing.T, res *Result, reason string, id uuid.UUID) {
	t.Helper()
	if res.Reason != reason {
		t.Fatalf("reason = %q, want %q", res.Reason, reason)
	}
	if id != uuid.Nil && res.KeyID != id {
		t.Fatalf("key id = %v, want %v", res.KeyID, id)
	}
}

// publish announces topic outside any transaction: delivered at once.
func (f *fixture) publish(t *testing.T, kind, id string) {
	t.Helper()
	if err := f.bus.Publish(context.Background(), f.st.Client, invalidate.For(kind, id)); err != nil {
		t.Fatal(err)
	}
}

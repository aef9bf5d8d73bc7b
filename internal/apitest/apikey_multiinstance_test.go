package apitest_test

// Two CredVault instances on one PostgreSQL database, each with its own
// verifier cache: a revocation or rotation made through one must stop the
// old secret on the other within a second (SPEC §5: "stops working at once,
// on every instance"), through the LISTEN/NOTIFY invalidation bus.

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// twoInstances starts two servers, each on its own store, on one fresh
// PostgreSQL schema. As instances of one deployment, they share the
// database URL and the master key: with a key each, the second would not
// open the signing keys the first stored.
func twoInstances(t *testing.T) (a, b *apitest.Env) {
	t.Helper()
	if os.Getenv(storetest.EnvURL) == "" {
		t.Skip(storetest.EnvURL + " is not set: two instances need PostgreSQL")
	}
	u := storetest.URL(t, "postgres")
	stA, stB := openStoreAt(t, u), openStoreAt(t, u)
	if stA.DB == stB.DB {
		t.Fatal("the instances share a connection pool")
	}
	withURL := func(c *config.Config) { c.DatabaseURL = u }
	master := newMaster(t)
	return apitest.New(t, stA, withURL, withMaster(master)), apitest.New(t, stB, withURL, withMaster(master))
}

// refusedWithin polls key on e until it is refused, failing the test when
// it is still accepted after within; it checks the reason and returns how
// long the refusal took to arrive.
func refusedWithin(t *testing.T, e *apitest.Env, key string, within time.Duration, reasons ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := whoami(e, key)
		switch r.Status {
		case http.StatusUnauthorized:
			wantUnauthorized(t, r, reasons...)
			return time.Since(start)
		case http.StatusOK:
		default:
			t.Fatalf("unexpected answer while waiting for a refusal: %d %s", r.Status, redact(r.Body))
		}
		if time.Since(start) > within {
			t.Fatalf("the other instance still accepts the key %v after the change", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAPIKeyRevocationReachesEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	ten := register(t, a, "Acme")

	// Revoked through A, refused by B, whose cache held the key.
	k := createKey(t, a, ten.AccessToken, map[string]any{"name": "shared", "scopes": []string{"api_keys:read"}})
	keyWorks(t, b, k.Key, k.ID)
	keyWorks(t, b, k.Key, k.ID) // served from B's cache
	revokeKey(t, a, ten.AccessToken, k.ID)
	d := refusedWithin(t, b, k.Key, time.Second, "revoked")
	t.Logf("revocation through A reached B after %v", d)
	wantUnauthorized(t, whoami(a, k.Key), "revoked")

	// And the other way round, through the /admin alias.
	k2 := createKey(t, b, ten.AccessToken, map[string]any{"name": "shared too"})
	keyWorks(t, a, k2.Key, k2.ID)
	keyWorks(t, b, k2.Key, k2.ID)
	wantOK(t, do(b, http.MethodDelete, "/api/v1/admin/api-keys/"+k2.ID.String(), ten.AccessToken, nil), http.StatusOK, nil)
	wantUnauthorized(t, whoami(b, k2.Key), "revoked")
	refusedWithin(t, a, k2.Key, time.Second, "revoked")

	// Revoked through GraphQL on A.
	k3 := createKey(t, a, ten.AccessToken, map[string]any{"name": "graphql"})
	keyWorks(t, b, k3.Key, k3.ID)
	g := a.GraphQL(`mutation($id: ID!) { revokeAPIKey(id: $id) { status } }`, map[string]any{"id": k3.ID}, ten.AccessToken)
	if len(g.Errors) > 0 {
		t.Fatalf("GraphQL revoke: %q", g.Code())
	}
	refusedWithin(t, b, k3.Key, time.Second, "revoked")
}

func TestAPIKeyRotationReachesEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	ten := register(t, a, "Acme")

	// Without grace: the old secret is refused on B within a second, the new one works there.
	k := createKey(t, a, ten.AccessToken, map[string]any{"name": "rotating"})
	keyWorks(t, b, k.Key, k.ID)
	n := rotateKey(t, a, ten.AccessToken, k.ID, nil)
	d := refusedWithin(t, b, k.Key, time.Second, "revoked", "invalid")
	t.Logf("rotation through A reached B after %v", d)
	keyWorks(t, b, n.Key, k.ID)
	keyWorks(t, a, n.Key, k.ID)

	// A second rotation, on B this time, retires the secret A had cached.
	keyWorks(t, a, n.Key, k.ID)
	n2 := rotateKey(t, b, ten.AccessToken, k.ID, map[string]any{"grace_period_seconds": 0})
	refusedWithin(t, a, n.Key, time.Second, "revoked", "invalid")
	keyWorks(t, a, n2.Key, k.ID)

	// With a grace period: both work on B, then the old one stops there too.
	g := createKey(t, a, ten.AccessToken, map[string]any{"name": "graceful"})
	keyWorks(t, b, g.Key, g.ID)
	start := time.Now()
	gn := rotateKey(t, a, ten.AccessToken, g.ID, map[string]any{"grace_period_seconds": 2})
	keyWorks(t, b, g.Key, g.ID)
	keyWorks(t, b, gn.Key, g.ID)
	refusedWithin(t, b, g.Key, 5*time.Second, "revoked")
	if elapsed := time.Since(start); elapsed < 1900*time.Millisecond {
		t.Fatalf("B refused the old key %v after the rotation, inside its 2 s grace", elapsed)
	}
	keyWorks(t, b, gn.Key, g.ID)

	// Revoking during the grace stops both secrets on B at once.
	h := createKey(t, a, ten.AccessToken, map[string]any{"name": "graced then revoked"})
	hn := rotateKey(t, a, ten.AccessToken, h.ID, map[string]any{"grace_period_seconds": 3600})
	keyWorks(t, b, h.Key, h.ID)
	keyWorks(t, b, hn.Key, h.ID)
	revokeKey(t, a, ten.AccessToken, h.ID)
	refusedWithin(t, b, h.Key, time.Second, "revoked", "invalid")
	refusedWithin(t, b, hn.Key, time.Second, "revoked")
}

// openStoreAt opens and migrates the database at u, closed when t ends.
func openStoreAt(t testing.TB, u string) *store.Store {
	t.Helper()
	st, err := store.Open(u)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

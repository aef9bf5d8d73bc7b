package apitest_test

// Two CredVault instances on one PostgreSQL database, each with its own
// verifier cache: a revocation or rotation made through one must stop the
// old secret on the other within a second (SPEC §5: "stops working at once,
// on every instance"), through the LISTEN/NOTIFY invalidation bus.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/server"
)

// akTwoInstances starts two servers, each on its own store, on one fresh
// PostgreSQL schema.
//
// They cannot both come from apitest.New, which generates a master key per
// server: the second would not open the signing keys the first stored
// ("the master key does not open the signing key"). akInstance is
// apitest.New with the master key given, as instances of one deployment share it.
func akTwoInstances(t *testing.T) (a, b *apitest.Env) {
	t.Helper()
	if os.Getenv(storetest.EnvURL) == "" {
		t.Skip(storetest.EnvURL + " is not set: two instances need PostgreSQL")
	}
	u := storetest.URL(t, "postgres")
	stA, stB := akOpenStore(t, u), akOpenStore(t, u)
	if stA.DB == stB.DB {
		t.Fatal("the instances share a connection pool")
	}
	master, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return akInstance(t, stA, u, master), akInstance(t, stB, u, master)
}

// akInstance starts a server on st, the database at u, with master.
func akInstance(t *testing.T, st *store.Store, u string, master *crypt.MasterKey) *apitest.Env {
	t.Helper()
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RateLimits = "off"
	cfg.DatabaseURL = u
	if err := server.Bootstrap(context.Background(), st, "", ""); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, st, server.Keys{Master: master}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stop := srv.Start()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		stop()
	})
	return &apitest.Env{T: t, Store: st, Config: cfg, Server: ts}
}

// akRefusedWithin polls key on e until it is refused, failing the test when
// it is still accepted after within; it checks the reason and returns how
// long the refusal took to arrive.
func akRefusedWithin(t *testing.T, e *apitest.Env, key string, within time.Duration, reasons ...string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := akMe(e, key)
		switch r.Status {
		case http.StatusUnauthorized:
			akUnauthorized(t, r, reasons...)
			return time.Since(start)
		case http.StatusOK:
		default:
			t.Fatalf("unexpected answer while waiting for a refusal: %d %s", r.Status, akRedact(r.Body))
		}
		if time.Since(start) > within {
			t.Fatalf("the other instance still accepts the key %v after the change", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAPIKeyRevocationReachesEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := akTwoInstances(t)
	ten := akRegister(t, a)

	// Revoked through A, refused by B, whose cache held the key.
	k := akCreateKey(t, a, ten.Token, map[string]any{"name": "shared", "scopes": []string{"api_keys:read"}})
	akWorks(t, b, k.Key, k.ID)
	akWorks(t, b, k.Key, k.ID) // served from B's cache
	akRevoke(t, a, ten.Token, k.ID)
	d := akRefusedWithin(t, b, k.Key, time.Second, "revoked")
	t.Logf("revocation through A reached B after %v", d)
	akUnauthorized(t, akMe(a, k.Key), "revoked")

	// And the other way round, through the /admin alias.
	k2 := akCreateKey(t, b, ten.Token, map[string]any{"name": "shared too"})
	akWorks(t, a, k2.Key, k2.ID)
	akWorks(t, b, k2.Key, k2.ID)
	akStatus(t, akDo(b, http.MethodDelete, "/api/v1/admin/api-keys/"+k2.ID.String(), ten.Token, nil), http.StatusOK)
	akUnauthorized(t, akMe(b, k2.Key), "revoked")
	akRefusedWithin(t, a, k2.Key, time.Second, "revoked")

	// Revoked through GraphQL on A.
	k3 := akCreateKey(t, a, ten.Token, map[string]any{"name": "graphql"})
	akWorks(t, b, k3.Key, k3.ID)
	g := a.GraphQL(`mutation($id: ID!) { revokeAPIKey(id: $id) { status } }`, map[string]any{"id": k3.ID}, ten.Token)
	if len(g.Errors) > 0 {
		t.Fatalf("GraphQL revoke: %q", g.Code())
	}
	akRefusedWithin(t, b, k3.Key, time.Second, "revoked")
}

func TestAPIKeyRotationReachesEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := akTwoInstances(t)
	ten := akRegister(t, a)

	// Without grace: the old secret is refused on B within a second, the new one works there.
	k := akCreateKey(t, a, ten.Token, map[string]any{"name": "rotating"})
	akWorks(t, b, k.Key, k.ID)
	n := akRotate(t, a, ten.Token, k.ID, nil)
	d := akRefusedWithin(t, b, k.Key, time.Second, "revoked", "invalid")
	t.Logf("rotation through A reached B after %v", d)
	akWorks(t, b, n.Key, k.ID)
	akWorks(t, a, n.Key, k.ID)

	// A second rotation, on B this time, retires the secret A had cached.
	akWorks(t, a, n.Key, k.ID)
	n2 := akRotate(t, b, ten.Token, k.ID, map[string]any{"grace_period_seconds": 0})
	akRefusedWithin(t, a, n.Key, time.Second, "revoked", "invalid")
	akWorks(t, a, n2.Key, k.ID)

	// With a grace period: both work on B, then the old one stops there too.
	g := akCreateKey(t, a, ten.Token, map[string]any{"name": "graceful"})
	akWorks(t, b, g.Key, g.ID)
	start := time.Now()
	gn := akRotate(t, a, ten.Token, g.ID, map[string]any{"grace_period_seconds": 2})
	akWorks(t, b, g.Key, g.ID)
	akWorks(t, b, gn.Key, g.ID)
	akRefusedWithin(t, b, g.Key, 5*time.Second, "revoked")
	if elapsed := time.Since(start); elapsed < 1900*time.Millisecond {
		t.Fatalf("B refused the old key %v after the rotation, inside its 2 s grace", elapsed)
	}
	akWorks(t, b, gn.Key, g.ID)

	// Revoking during the grace stops both secrets on B at once.
	h := akCreateKey(t, a, ten.Token, map[string]any{"name": "graced then revoked"})
	hn := akRotate(t, a, ten.Token, h.ID, map[string]any{"grace_period_seconds": 3600})
	akWorks(t, b, h.Key, h.ID)
	akWorks(t, b, hn.Key, h.ID)
	akRevoke(t, a, ten.Token, h.ID)
	akRefusedWithin(t, b, h.Key, time.Second, "revoked", "invalid")
	akRefusedWithin(t, b, hn.Key, time.Second, "revoked")
}

package tenancy_test

// Purging deleted tenants on SQLite and PostgreSQL: every row a deleted
// tenant owns goes, the tenant last; other tenants keep theirs.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/refreshtoken"
	"github.com/credvault/credvault/ent/revokedtoken"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/ssoconfig"
	"github.com/credvault/credvault/ent/ssologinstate"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/usagecounter"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/tenancy"
)

func bg() context.Context { return store.Unrestricted(context.Background()) }

// populate creates a tenant with one row of every tenant-owned kind but
// usage counters, which withUsage adds.
func populate(t *testing.T, c *ent.Client, name string, status tenant.Status, withUsage bool) uuid.UUID {
	t.Helper()
	ctx := bg()
	tn, err := c.Tenant.Create().SetName(name).SetSlug(strings.ToLower(name) + "-" + uuid.NewString()[:6]).
		SetStatus(status).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := tn.ID
	u, err := c.User.Create().SetTenantID(id).SetEmail("u@" + name + ".test").SetRole(user.RoleOwner).Save(ctx)
	must(t, err)
	sa, err := c.ServiceAccount.Create().SetTenantID(id).SetName("sa").Save(ctx)
	must(t, err)
	_, err = c.APIKey.Create().SetTenantID(id).SetName("k").SetPrefix("abcdefgh").SetKeyHash([]byte(uuid.NewString())).
		SetServiceAccountID(sa.ID).Save(ctx)
	must(t, err)
	_, err = c.APIKey.Create().SetTenantID(id).SetName("uk").SetPrefix("ijklmnop").SetKeyHash([]byte(uuid.NewString())).
		SetUserID(u.ID).Save(ctx)
	must(t, err)
	_, err = c.OAuthClient.Create().SetTenantID(id).SetClientID("cvc_" + uuid.NewString()).SetName("c").
		SetSecretHash([]byte(uuid.NewString())).Save(ctx)
	must(t, err)
	_, err = c.DataKey.Create().SetTenantID(id).SetVersion(1).SetWrappedKey([]byte("wrapped")).Save(ctx)
	must(t, err)
	_, err = c.Credential.Create().SetTenantID(id).SetIntegrationID("stripe").SetAuthType(credential.AuthTypeAPIKey).
		SetCiphertext([]byte("sealed")).SetDekVersion(1).Save(ctx)
	must(t, err)
	_, err = c.RefreshToken.Create().SetTenantID(id).SetUserID(u.ID).SetFamilyID(uuid.New()).
		SetTokenHash([]byte(uuid.NewString())).SetExpiresAt(time.Now().Add(time.Hour)).Save(ctx)
	must(t, err)
	_, err = c.RevokedToken.Create().SetTenantID(id).SetClientID("cvc_x").SetJti(uuid.NewString()).SetExpiresAt(time.Now().Add(time.Hour)).Save(ctx)
	must(t, err)
	_, err = c.SSOConfig.Create().SetTenantID(id).SetIssuer("https://idp.example").SetClientID("client").
		SetClientSecretSealed([]byte("sealed")).SetDekVersion(1).Save(ctx)
	must(t, err)
	_, err = c.SSOLoginState.Create().SetTenantID(id).SetStateHash([]byte(uuid.NewString())).SetNonce("n").
		SetCodeVerifier("v").SetExpiresAt(time.Now().Add(time.Minute)).Save(ctx)
	must(t, err)
	_, err = c.AuditLog.Create().SetTenantID(id).SetAction("user.create").SetActorType("system").SetOutcome(auditlog.OutcomeSuccess).Save(ctx)
	must(t, err)
	if withUsage {
		_, err = c.UsageCounter.Create().SetTenantID(id).SetDay(time.Now().UTC().Format(time.DateOnly)).
			SetPrincipalType("user").SetPrincipalID(u.ID.String()).SetCount(3).Save(ctx)
		must(t, err)
	}
	return id
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rows counts every row tenant id owns, by kind.
func rows(t *testing.T, c *ent.Client, id uuid.UUID) map[string]int {
	t.Helper()
	ctx := bg()
	out := map[string]int{}
	add := func(kind string, n int, err error) {
		must(t, err)
		out[kind] = n
	}
	n, err := c.Tenant.Query().Where(tenant.ID(id)).Count(ctx)
	add("tenant", n, err)
	n, err = c.User.Query().Where(user.TenantID(id)).Count(ctx)
	add("users", n, err)
	n, err = c.ServiceAccount.Query().Where(serviceaccount.TenantID(id)).Count(ctx)
	add("service_accounts", n, err)
	n, err = c.APIKey.Query().Where(apikey.TenantID(id)).Count(ctx)
	add("api_keys", n, err)
	n, err = c.OAuthClient.Query().Where(oauthclient.TenantID(id)).Count(ctx)
	add("oauth_clients", n, err)
	n, err = c.DataKey.Query().Where(datakey.TenantID(id)).Count(ctx)
	add("data_keys", n, err)
	n, err = c.Credential.Query().Where(credential.TenantID(id)).Count(ctx)
	add("credentials", n, err)
	n, err = c.RefreshToken.Query().Where(refreshtoken.TenantID(id)).Count(ctx)
	add("refresh_tokens", n, err)
	n, err = c.RevokedToken.Query().Where(revokedtoken.TenantID(id)).Count(ctx)
	add("revoked_tokens", n, err)
	n, err = c.SSOConfig.Query().Where(ssoconfig.TenantID(id)).Count(ctx)
	add("sso_configs", n, err)
	n, err = c.SSOLoginState.Query().Where(ssologinstate.TenantID(id)).Count(ctx)
	add("sso_login_states", n, err)
	n, err = c.AuditLog.Query().Where(auditlog.TenantID(id)).Count(ctx)
	add("audit_logs", n, err)
	n, err = c.UsageCounter.Query().Where(usagecounter.TenantID(id)).Count(ctx)
	add("usage_counters", n, err)
	return out
}

func expectAll(t *testing.T, got map[string]int, want func(kind string) int, what string) {
	t.Helper()
	for kind, n := range got {
		if n != want(kind) {
			t.Errorf("%s: %d %s, want %d (all: %v)", what, n, kind, want(kind), got)
		}
	}
}

func TestPurgeDeletedRemovesEveryRowOfTheTenant(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		gone := populate(t, c, "gone", tenant.StatusDeleted, false)
		suspended := populate(t, c, "suspended", tenant.StatusSuspended, true)
		active := populate(t, c, "active", tenant.StatusActive, true)
		keptBefore := rows(t, c, active)

		n, err := tenancy.PurgeDeleted(context.Background(), c, uuid.Nil)
		if err != nil {
			t.Fatalf("PurgeDeleted: %v", err)
		}
		if n != 1 {
			t.Fatalf("purged %d tenants, want 1", n)
		}
		expectAll(t, rows(t, c, gone), func(string) int { return 0 }, "deleted tenant")
		expectAll(t, rows(t, c, active), func(k string) int { return keptBefore[k] }, "active tenant")
		expectAll(t, rows(t, c, suspended), func(k string) int { return keptBefore[k] }, "suspended tenant")

		// Nothing left to do: a second run purges nothing.
		if n, err := tenancy.PurgeDeleted(context.Background(), c, uuid.Nil); err != nil || n != 0 {
			t.Fatalf("second PurgeDeleted = %d, %v", n, err)
		}
	})
}

// TestPurgeDeletedRemovesUsageCounters: a tenant that made any request has
// usage counters, which reference it.
func TestPurgeDeletedRemovesUsageCounters(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		gone := populate(t, c, "used", tenant.StatusDeleted, true)
		later := populate(t, c, "later", tenant.StatusDeleted, false)
		n, err := tenancy.PurgeDeleted(context.Background(), c, uuid.Nil)
		if err != nil || n != 2 {
			t.Fatalf("PurgeDeleted = %d, %v; want both deleted tenants purged", n, err)
		}
		expectAll(t, rows(t, c, gone), func(string) int { return 0 }, "deleted tenant with usage")
		expectAll(t, rows(t, c, later), func(string) int { return 0 }, "deleted tenant without usage")
	})
}

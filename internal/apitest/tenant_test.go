package apitest_test

// Tenants over real HTTP, on SQLite and PostgreSQL: reading, updating,
// suspending and deleting a tenant (and purging its rows), exact stats,
// the tenant list for the platform admin only, and a suspended, deleted or
// IP-restricted tenant's sessions, API keys and OAuth tokens refused at once.

import (
	"net/http"
	"slices"
	"strconv"
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
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/server"
)

// tenantAdminJSON is a tenant as REST shows it.
type tenantAdminJSON struct {
	ID       uuid.UUID `json:"id"`
	Name     string    `json:"name"`
	Slug     string    `json:"slug"`
	Plan     string    `json:"plan"`
	Status   string    `json:"status"`
	Platform bool      `json:"platform"`
	Settings struct {
		IPAllowlist        []string `json:"ip_allowlist"`
		AuditRetentionDays int      `json:"audit_retention_days"`
	} `json:"settings"`
	DeletedAt *time.Time `json:"deleted_at"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

func tenantPath(id uuid.UUID) string { return "/api/v1/admin/tenants/" + id.String() }

func getTenant(t *testing.T, e *apitest.Env, cred string, id uuid.UUID) tenantAdminJSON {
	t.Helper()
	var tn tenantAdminJSON
	wantOK(t, do(e, http.MethodGet, tenantPath(id), cred, nil), http.StatusOK, &tn)
	return tn
}

func patchTenant(e *apitest.Env, cred string, id uuid.UUID, body any) *apitest.Response {
	e.T.Helper()
	return do(e, http.MethodPatch, tenantPath(id), cred, body)
}

func dbTenant(t *testing.T, e *apitest.Env, id uuid.UUID) *ent.Tenant {
	t.Helper()
	tn, err := e.Store.Client.Tenant.Get(unrestricted(), id)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestTenantGet(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Alpha")
		b := register(t, e, "Beta")

		// The owner reads its own tenant, settings included.
		got := getTenant(t, e, a.AccessToken, a.TenantID)
		if got.ID != a.TenantID || got.Slug != a.Slug || got.Name != a.Name || got.Plan != "free" || got.Status != "active" ||
			got.Platform || got.DeletedAt != nil || got.CreatedAt.IsZero() {
			t.Fatalf("own tenant = %+v", got)
		}
		if got.Settings.IPAllowlist == nil || len(got.Settings.IPAllowlist) != 0 || got.Settings.AuditRetentionDays != 365 {
			t.Fatalf("own tenant settings = %+v, want an empty allowlist and 365 days", got.Settings)
		}
		// A viewer holds tenant:read too.
		viewer := createUser(t, e, a.AccessToken, "viewer-"+a.Slug+"@alpha.test", "viewer", testPassword)
		vs := login(t, e, viewer.Email, testPassword, a.Slug)
		if v := getTenant(t, e, vs.AccessToken, a.TenantID); v.ID != a.TenantID {
			t.Fatalf("viewer reads tenant %s", v.ID)
		}

		// Another tenant's id is 404, exactly like one that does not exist.
		for _, id := range []string{b.TenantID.String(), uuid.NewString(), "not-a-uuid"} {
			r := do(e, http.MethodGet, "/api/v1/admin/tenants/"+id, a.AccessToken, nil)
			wantError(t, r, http.StatusNotFound, "NOT_FOUND")
		}
		g := e.GraphQL(`query($id: ID!) { tenant(id: $id) { id } }`, map[string]any{"id": b.TenantID}, a.AccessToken)
		wantGQLError(t, g, "NOT_FOUND")

		// A key without tenant:read is refused with the scope named.
		k := newKey(t, e, a.AccessToken, "api_keys:read")
		wantError(t, do(e, http.MethodGet, tenantPath(a.TenantID), k.Key, nil), http.StatusForbidden, "FORBIDDEN",
			"required_scope", "tenant:read")

		// The platform admin reads any tenant, without x-tenantid.
		adm := adminToken(t, e)
		if tb := getTenant(t, e, adm, b.TenantID); tb.ID != b.TenantID || tb.Slug != b.Slug {
			t.Fatalf("platform admin reads B as %+v", tb)
		}
		pid := platformTenantID(t, e)
		if pt := getTenant(t, e, adm, pid); !pt.Platform || pt.Slug != server.PlatformSlug {
			t.Fatalf("platform tenant = %+v", pt)
		}

		// GraphQL agrees with REST.
		var out struct {
			Tenant struct {
				ID       uuid.UUID
				Slug     string
				Plan     string
				Status   string
				Settings struct {
					IPAllowlist        []string `json:"ipAllowlist"`
					AuditRetentionDays int      `json:"auditRetentionDays"`
				}
			}
		}
		gql(t, e, a.AccessToken, `query($id: ID!) { tenant(id: $id) { id slug plan status settings { ipAllowlist auditRetentionDays } } }`,
			map[string]any{"id": a.TenantID}, &out)
		if out.Tenant.ID != a.TenantID || out.Tenant.Slug != a.Slug || out.Tenant.Status != "active" || out.Tenant.Settings.AuditRetentionDays != 365 {
			t.Fatalf("GraphQL tenant = %+v", out.Tenant)
		}
	}, withAdmin)
}

func TestTenantUpdate(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Alpha")
		b := register(t, e, "Beta")
		updates := 0

		ok := func(cred string, id uuid.UUID, body map[string]any) tenantAdminJSON {
			t.Helper()
			var tn tenantAdminJSON
			wantOK(t, patchTenant(e, cred, id, body), http.StatusOK, &tn)
			return tn
		}
		invalid := func(body map[string]any, field string) {
			t.Helper()
			before := dbTenant(t, e, a.TenantID)
			wantError(t, patchTenant(e, a.AccessToken, a.TenantID, body), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", field)
			after := dbTenant(t, e, a.TenantID)
			if !after.UpdatedAt.Equal(before.UpdatedAt) || after.Name != before.Name || after.Plan != before.Plan ||
				after.Status != before.Status || !slices.Equal(after.Settings.IPAllowlist, before.Settings.IPAllowlist) ||
				after.Settings.AuditRetentionDays != before.Settings.AuditRetentionDays {
				t.Fatalf("a refused update (%v) changed the tenant", body)
			}
		}

		// name
		if tn := ok(a.AccessToken, a.TenantID, map[string]any{"name": "  Alpha Renamed  "}); tn.Name != "Alpha Renamed" || tn.Slug != a.Slug {
			t.Fatalf("renamed tenant = %+v (the name is trimmed, the slug kept)", tn)
		}
		updates++
		invalid(map[string]any{"name": "   "}, "name")

		// plan: free, pro or enterprise
		for _, plan := range []string{"pro", "enterprise", "free"} {
			if tn := ok(a.AccessToken, a.TenantID, map[string]any{"plan": plan}); tn.Plan != plan {
				t.Fatalf("plan %s: got %s", plan, tn.Plan)
			}
			if db := dbTenant(t, e, a.TenantID); db.Plan != plan {
				t.Fatalf("plan %s: stored %s", plan, db.Plan)
			}
			updates++
		}
		for _, plan := range []string{"gold", "", "PRO"} {
			invalid(map[string]any{"plan": plan}, "plan")
		}

		// status: deleted goes through DELETE, anything else but active/suspended is refused.
		invalid(map[string]any{"status": "deleted"}, "status")
		invalid(map[string]any{"status": "archived"}, "status")

		// settings.ip_allowlist: CIDRs or addresses, stored masked.
		tn := ok(a.AccessToken, a.TenantID, map[string]any{"settings": map[string]any{"ip_allowlist": []string{"127.0.0.1/8", "::1"}}})
		if !slices.Equal(tn.Settings.IPAllowlist, []string{"127.0.0.0/8", "::1/128"}) || tn.Settings.AuditRetentionDays != 365 {
			t.Fatalf("settings after the allowlist = %+v", tn.Settings)
		}
		updates++
		for _, bad := range [][]string{{"10.0.0.0/33"}, {"not-a-cidr"}, {"127.0.0.0/8", "300.1.1.1"}} {
			invalid(map[string]any{"settings": map[string]any{"ip_allowlist": bad}}, "settings.ip_allowlist")
		}

		// settings.audit_retention_days: 1 to 3650; the allowlist is kept.
		for _, days := range []int{1, 3650, 90} {
			tn = ok(a.AccessToken, a.TenantID, map[string]any{"settings": map[string]any{"audit_retention_days": days}})
			if tn.Settings.AuditRetentionDays != days || len(tn.Settings.IPAllowlist) != 2 {
				t.Fatalf("settings after retention %d = %+v", days, tn.Settings)
			}
			updates++
		}
		for _, days := range []int{0, -5, 3651} {
			invalid(map[string]any{"settings": map[string]any{"audit_retention_days": days}}, "settings.audit_retention_days")
		}
		// An empty allowlist clears it.
		if tn = ok(a.AccessToken, a.TenantID, map[string]any{"settings": map[string]any{"ip_allowlist": []string{}}}); len(tn.Settings.IPAllowlist) != 0 {
			t.Fatalf("allowlist not cleared: %v", tn.Settings.IPAllowlist)
		}
		updates++
		db := dbTenant(t, e, a.TenantID)
		if db.Name != "Alpha Renamed" || db.Plan != "free" || db.Settings.AuditRetentionDays != 90 || len(db.Settings.IPAllowlist) != 0 {
			t.Fatalf("stored tenant = %+v", db)
		}

		// Each successful update wrote one tenant.update entry, by the owner,
		// naming the fields; refused ones wrote none.
		entries := auditEntries(t, e, a.TenantID, "tenant.update", a.TenantID.String())
		if len(entries) != updates {
			t.Fatalf("%d tenant.update entries, want %d (one per successful update)", len(entries), updates)
		}
		first := entries[0]
		if first.ActorType != "user" || first.ActorID != a.UserID.String() || first.Outcome != auditlog.OutcomeSuccess ||
			first.ResourceType != "tenant" || first.RequestID == "" || first.IP == "" {
			t.Fatalf("tenant.update entry = %+v", first)
		}
		if fields, _ := first.Details["fields"].([]any); len(fields) != 1 || fields[0] != "name" {
			t.Fatalf("tenant.update details = %v, want fields [name]", first.Details)
		}

		// Roles: an admin holds tenant:write, a member does not.
		admin := createUser(t, e, a.AccessToken, "admin-"+a.Slug+"@alpha.test", "admin", testPassword)
		as := login(t, e, admin.Email, testPassword, a.Slug)
		if tn := ok(as.AccessToken, a.TenantID, map[string]any{"name": "By Admin"}); tn.Name != "By Admin" {
			t.Fatalf("admin rename = %+v", tn)
		}
		member := createUser(t, e, a.AccessToken, "member-"+a.Slug+"@alpha.test", "member", testPassword)
		ms := login(t, e, member.Email, testPassword, a.Slug)
		wantError(t, patchTenant(e, ms.AccessToken, a.TenantID, map[string]any{"name": "By Member"}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "tenant:write")

		// Another tenant is 404 to an owner; the platform admin may change it,
		// and the entry lands in that tenant with the admin as actor.
		wantError(t, patchTenant(e, a.AccessToken, b.TenantID, map[string]any{"name": "Hijacked"}), http.StatusNotFound, "NOT_FOUND")
		if db := dbTenant(t, e, b.TenantID); db.Name == "Hijacked" {
			t.Fatal("an owner renamed another tenant")
		}
		adm := adminToken(t, e)
		if tn := ok(adm, b.TenantID, map[string]any{"plan": "enterprise"}); tn.Plan != "enterprise" || tn.ID != b.TenantID {
			t.Fatalf("platform admin update of B = %+v", tn)
		}
		be := auditEntries(t, e, b.TenantID, "tenant.update", b.TenantID.String())
		if len(be) != 1 || be[0].ActorType != "user" || be[0].ActorID == b.UserID.String() {
			t.Fatalf("B's tenant.update entries = %+v, want one by the platform admin", be)
		}
		// The platform tenant is never suspended.
		pid := platformTenantID(t, e)
		wantError(t, patchTenant(e, adm, pid, map[string]any{"status": "suspended"}), http.StatusConflict, "CONFLICT")
		if db := dbTenant(t, e, pid); db.Status != tenant.StatusActive {
			t.Fatalf("platform tenant status %s", db.Status)
		}
	}, withAdmin)
}

// tenantRows counts every row a tenant owns, by table.
func tenantRows(t *testing.T, e *apitest.Env, id uuid.UUID) map[string]int {
	t.Helper()
	ctx := unrestricted()
	c := e.Store.Client
	out := map[string]int{}
	count := func(name string, n int, err error) {
		if err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	n, err := c.User.Query().Where(user.TenantID(id)).Count(ctx)
	count("users", n, err)
	n, err = c.APIKey.Query().Where(apikey.TenantID(id)).Count(ctx)
	count("api_keys", n, err)
	n, err = c.OAuthClient.Query().Where(oauthclient.TenantID(id)).Count(ctx)
	count("oauth_clients", n, err)
	n, err = c.Credential.Query().Where(credential.TenantID(id)).Count(ctx)
	count("credentials", n, err)
	n, err = c.DataKey.Query().Where(datakey.TenantID(id)).Count(ctx)
	count("data_keys", n, err)
	n, err = c.ServiceAccount.Query().Where(serviceaccount.TenantID(id)).Count(ctx)
	count("service_accounts", n, err)
	n, err = c.RefreshToken.Query().Where(refreshtoken.TenantID(id)).Count(ctx)
	count("refresh_tokens", n, err)
	n, err = c.AuditLog.Query().Where(auditlog.TenantID(id)).Count(ctx)
	count("audit_logs", n, err)
	n, err = c.Tenant.Query().Where(tenant.ID(id)).Count(ctx)
	count("tenants", n, err)
	return out
}

// populate gives a tenant one of each kind of row.
func populate(t *testing.T, e *apitest.Env, tn *tenantFixture) {
	t.Helper()
	createUser(t, e, tn.AccessToken, "member-"+tn.Slug+"@pop.test", "member", "")
	newKey(t, e, tn.AccessToken, "api_keys:read")
	createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"api_keys:read"}})
	wantOK(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{
		"integration_id": "stripe", "auth_type": "api_key", "data": map[string]any{"api_key": "sk_test_123"}}), http.StatusCreated, nil)
	wantOK(t, do(e, http.MethodPost, "/api/v1/admin/service-account/create", tn.AccessToken, map[string]any{
		"name": "ci", "scopes": []string{"api_keys:read"}}), http.StatusCreated, nil)
}

func TestTenantDelete(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		keep := register(t, e, "Keeper")
		gone := register(t, e, "Goner")
		populate(t, e, keep)
		populate(t, e, gone)
		keepBefore := tenantRows(t, e, keep.TenantID)
		goneBefore := tenantRows(t, e, gone.TenantID)
		for kind, n := range goneBefore {
			if n == 0 {
				t.Fatalf("setup: the tenant to delete has no %s", kind)
			}
		}

		// An admin lacks tenant:delete; another tenant's owner gets 404.
		admin := createUser(t, e, gone.AccessToken, "admin-"+gone.Slug+"@goner.test", "admin", testPassword)
		as := login(t, e, admin.Email, testPassword, gone.Slug)
		wantError(t, do(e, http.MethodDelete, tenantPath(gone.TenantID), as.AccessToken, nil),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "tenant:delete")
		wantError(t, do(e, http.MethodDelete, tenantPath(gone.TenantID), keep.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		if db := dbTenant(t, e, gone.TenantID); db == nil || db.Status != tenant.StatusActive {
			t.Fatal("a refused delete changed the tenant")
		}

		// The platform tenant cannot be deleted, not even by the platform admin.
		adm := adminToken(t, e)
		pid := platformTenantID(t, e)
		wantError(t, do(e, http.MethodDelete, tenantPath(pid), adm, nil), http.StatusConflict, "CONFLICT")
		if db := dbTenant(t, e, pid); db == nil || db.Status != tenant.StatusActive || db.DeletedAt != nil {
			t.Fatal("the platform tenant was changed by a refused delete")
		}

		// The owner deletes it (its requests so far counted in the database).
		e.Flush()
		var out struct {
			ID      uuid.UUID `json:"id"`
			Deleted bool      `json:"deleted"`
		}
		wantOK(t, do(e, http.MethodDelete, tenantPath(gone.TenantID), gone.AccessToken, nil), http.StatusOK, &out)
		if out.ID != gone.TenantID || !out.Deleted {
			t.Fatalf("delete answered %+v", out)
		}
		// Marked deleted (or already purged: the purge job is kicked at once).
		if db := dbTenant(t, e, gone.TenantID); db != nil && (db.Status != tenant.StatusDeleted || db.DeletedAt == nil) {
			t.Fatalf("after DELETE the tenant is %s (deleted_at %v), want deleted", db.Status, db.DeletedAt)
		}
		// Its credentials stop at once: the owner's session is refused.
		wantUnauthorized(t, whoami(e, gone.AccessToken), "revoked", "invalid")

		// The purge job removes every row of the tenant, and nothing of the other.
		eventually(t, 30*time.Second, "the purge job removes the deleted tenant's rows", func() (bool, string) {
			rows := tenantRows(t, e, gone.TenantID)
			for _, n := range rows {
				if n != 0 {
					return false, strconv.Quote(formatCounts(rows))
				}
			}
			return true, ""
		})
		if after := tenantRows(t, e, keep.TenantID); formatCounts(after) != formatCounts(keepBefore) {
			t.Fatalf("the other tenant's rows changed: %v, were %v", after, keepBefore)
		}
		// The trail of the deletion survives in the platform tenant.
		if pe := auditEntries(t, e, pid, "tenant.delete", gone.TenantID.String()); len(pe) != 1 || pe[0].ActorID != gone.UserID.String() {
			t.Fatalf("platform copy of tenant.delete = %+v, want one by the owner", pe)
		}

		// A deleted tenant is gone for the platform admin too.
		wantError(t, do(e, http.MethodGet, tenantPath(gone.TenantID), adm, nil), http.StatusNotFound, "NOT_FOUND")
		wantError(t, do(e, http.MethodDelete, tenantPath(gone.TenantID), adm, nil), http.StatusNotFound, "NOT_FOUND")
	}, withAdmin)
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := ""
	for _, k := range keys {
		s += k + "=" + strconv.Itoa(m[k]) + " "
	}
	return s
}

// statsJSON is the data of GET /admin/tenants/{id}/stats and the dashboard.
type statsJSON struct {
	TenantID           *uuid.UUID                `json:"tenant_id"`
	Counts             map[string]map[string]int `json:"counts"`
	RequestsLast24h    int                       `json:"requests_last_24h"`
	AuditEventsLast24h int                       `json:"audit_events_last_24h"`
	LastActivityAt     *time.Time                `json:"last_activity_at"`
}

// statsFixture gives a tenant 2 more users (1 disabled), 3 API keys (1
// revoked, 1 expired), 2 OAuth clients (1 disabled), 2 credentials and 1
// service account, and returns how many audit entries that wrote.
func statsFixture(t *testing.T, e *apitest.Env, tn *tenantFixture) (keyID uuid.UUID, key string) {
	t.Helper()
	createUser(t, e, tn.AccessToken, "m1-"+tn.Slug+"@stats.test", "member", "")
	u2 := createUser(t, e, tn.AccessToken, "m2-"+tn.Slug+"@stats.test", "viewer", "")
	wantOK(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+u2.ID, tn.AccessToken, map[string]any{"status": "disabled"}), http.StatusOK, nil)

	active := newKey(t, e, tn.AccessToken, "tenant:read", "api_keys:read")
	revoked := newKey(t, e, tn.AccessToken, "api_keys:read")
	wantOK(t, do(e, http.MethodDelete, "/api/v1/api-keys/"+revoked.ID.String(), tn.AccessToken, nil), http.StatusOK, nil)
	expired := newKey(t, e, tn.AccessToken, "api_keys:read")
	// Make it expired as time would: its expiry passed (no API sets a past one).
	if err := e.Store.Client.APIKey.UpdateOneID(expired.ID).SetExpiresAt(time.Now().Add(-time.Minute)).Exec(unrestricted()); err != nil {
		t.Fatal(err)
	}

	createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"api_keys:read"}})
	disabled := createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"api_keys:read"}})
	wantOK(t, do(e, http.MethodPatch, "/api/v1/oauth-clients/"+disabled.ClientID, tn.AccessToken, map[string]any{"status": "disabled"}),
		http.StatusOK, nil)

	for _, integ := range []string{"stripe", "github"} {
		wantOK(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{
			"integration_id": integ, "auth_type": "bearer_token", "data": map[string]any{"token": "t-" + integ}}), http.StatusCreated, nil)
	}
	wantOK(t, do(e, http.MethodPost, "/api/v1/admin/service-account/create", tn.AccessToken, map[string]any{
		"name": "deployer", "scopes": []string{"api_keys:read"}}), http.StatusCreated, nil)
	return active.ID, active.Key
}

// fixtureAudits is how many entries register plus statsFixture write:
// auth.register, 2 user.create, 1 user.update, 3 api_key.create,
// 1 api_key.revoke, 2 oauth_client.create, 1 oauth_client.update,
// 2 credential.create, 1 service_account.create.
const fixtureAudits = 14

// checkCounts checks the counts of statsFixture (owner included).
func checkCounts(t *testing.T, counts map[string]map[string]int) {
	t.Helper()
	want := map[string]map[string]int{
		"users":            {"total": 3, "active": 2, "disabled": 1},
		"api_keys":         {"total": 3, "active": 1, "revoked": 1, "expired": 1},
		"oauth_clients":    {"total": 2, "active": 1, "disabled": 1},
		"credentials":      {"total": 2, "active": 2},
		"service_accounts": {"total": 1, "active": 1},
	}
	if len(counts) != len(want) {
		t.Errorf("counts has kinds %v, want %d kinds", counts, len(want))
	}
	for kind, w := range want {
		g := counts[kind]
		if len(g) != len(w) {
			t.Errorf("counts.%s = %v, want %v", kind, g, w)
			continue
		}
		for k, n := range w {
			if g[k] != n {
				t.Errorf("counts.%s.%s = %d, want %d (all: %v)", kind, k, g[k], n, g)
			}
		}
	}
}

func TestTenantStats(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Stats")
		other := register(t, e, "Noise")
		_, key := statsFixture(t, e, tn)
		statsFixture(t, e, other) // another tenant's rows never count

		path := tenantPath(tn.TenantID) + "/stats"
		e.Flush()
		var s statsJSON
		wantOK(t, do(e, http.MethodGet, path, tn.AccessToken, nil), http.StatusOK, &s)
		if s.TenantID == nil || *s.TenantID != tn.TenantID {
			t.Fatalf("stats tenant_id = %v, want %s", s.TenantID, tn.TenantID)
		}
		checkCounts(t, s.Counts)
		if s.AuditEventsLast24h != fixtureAudits {
			t.Errorf("audit_events_last_24h = %d, want %d", s.AuditEventsLast24h, fixtureAudits)
		}
		if s.LastActivityAt == nil || time.Since(*s.LastActivityAt) > time.Minute {
			t.Errorf("last_activity_at = %v, want just now", s.LastActivityAt)
		}

		// Requests are counted in batches: N more authenticated requests
		// (with the key and the session), flushed, add exactly N. The
		// platform admin reads the stats: its requests count in its own
		// tenant, not in this one.
		adm := adminToken(t, e)
		e.Flush()
		var before statsJSON
		wantOK(t, do(e, http.MethodGet, path, adm, nil), http.StatusOK, &before)
		if before.RequestsLast24h < 10 {
			t.Errorf("requests_last_24h = %d before, want the setup's requests counted", before.RequestsLast24h)
		}
		checkCounts(t, before.Counts)
		const n = 5
		for i := range n {
			cred := key
			if i%2 == 0 {
				cred = tn.AccessToken
			}
			me(t, e, cred)
		}
		e.Flush()
		wantOK(t, do(e, http.MethodGet, path, adm, nil), http.StatusOK, &s)
		if s.RequestsLast24h != before.RequestsLast24h+n {
			t.Errorf("requests_last_24h = %d after %d more requests, want %d", s.RequestsLast24h, n, before.RequestsLast24h+n)
		}
		if s.AuditEventsLast24h != fixtureAudits {
			t.Errorf("audit_events_last_24h = %d after reads only, want still %d", s.AuditEventsLast24h, fixtureAudits)
		}

		// GraphQL tenantStats shows the same.
		var out struct {
			TenantStats struct {
				TenantID uuid.UUID `json:"tenantID"`
				Counts   []struct {
					Kind     string
					Total    int
					ByStatus []struct {
						Status string
						Count  int
					} `json:"byStatus"`
				}
				AuditEventsLast24h int `json:"auditEventsLast24h"`
				RequestsLast24h    int `json:"requestsLast24h"`
			} `json:"tenantStats"`
		}
		gql(t, e, tn.AccessToken, `query($id: ID!) { tenantStats(id: $id) { tenantID counts { kind total byStatus { status count } }
			auditEventsLast24h requestsLast24h lastActivityAt } }`, map[string]any{"id": tn.TenantID}, &out)
		gc := map[string]map[string]int{}
		for _, k := range out.TenantStats.Counts {
			gc[k.Kind] = map[string]int{"total": k.Total}
			for _, b := range k.ByStatus {
				gc[k.Kind][b.Status] = b.Count
			}
		}
		checkCounts(t, gc)
		if out.TenantStats.TenantID != tn.TenantID || out.TenantStats.AuditEventsLast24h != fixtureAudits ||
			out.TenantStats.RequestsLast24h < s.RequestsLast24h {
			t.Errorf("GraphQL tenantStats = %+v", out.TenantStats)
		}

		// Another tenant's stats are 404.
		wantError(t, do(e, http.MethodGet, tenantPath(other.TenantID)+"/stats", tn.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
	}, withAdmin)
}

func TestTenantListIsForThePlatformAdminOnly(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		adm := adminToken(t, e)
		var ts []*tenantFixture
		for i := range 5 {
			ts = append(ts, register(t, e, "Listed"+strconv.Itoa(i)))
		}
		// Plans: 2 pro, 1 enterprise; one suspended.
		for i, body := range []map[string]any{{"plan": "pro"}, {"plan": "pro", "status": "suspended"}, {"plan": "enterprise"}} {
			wantOK(t, patchTenant(e, adm, ts[i].TenantID, body), http.StatusOK, nil)
		}

		// A tenant owner is refused, with the scope named, and the refusal audited.
		owner := ts[4]
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/tenants", owner.AccessToken, nil), http.StatusForbidden, "FORBIDDEN",
			"required_scope", "platform:admin")
		if n := len(auditEntries(t, e, owner.TenantID, "permission.denied", "")); n != 1 {
			t.Fatalf("%d permission.denied entries for the refused list, want 1", n)
		}
		gqlErr(t, e, owner.AccessToken, `{ tenants { totalCount } }`, nil, "FORBIDDEN", "required_scope", "platform:admin")

		list := func(query string) ([]tenantAdminJSON, map[string]any) {
			t.Helper()
			r := do(e, http.MethodGet, "/api/v1/admin/tenants"+query, adm, nil)
			var out []tenantAdminJSON
			wantOK(t, r, http.StatusOK, &out)
			if r.Envelope.Meta.Pagination == nil {
				t.Fatalf("%s: no meta.pagination", query)
			}
			return out, r.Envelope.Meta.Pagination
		}
		const total = 6 // five tenants and the platform
		seen := map[uuid.UUID]bool{}
		for offset := 0; offset < total; offset += 2 {
			page, meta := list("?limit=2&offset=" + strconv.Itoa(offset))
			if len(page) != 2 || meta["total"] != float64(total) || meta["limit"] != float64(2) ||
				meta["offset"] != float64(offset) || meta["has_next"] != (offset+2 < total) {
				t.Fatalf("page at offset %d: %d items, meta %v", offset, len(page), meta)
			}
			for _, tn := range page {
				if seen[tn.ID] {
					t.Fatalf("tenant %s on two pages", tn.ID)
				}
				seen[tn.ID] = true
			}
		}
		for _, tn := range ts {
			if !seen[tn.TenantID] {
				t.Fatalf("tenant %s missing from the pages", tn.TenantID)
			}
		}
		if !seen[platformTenantID(t, e)] {
			t.Fatal("the platform tenant is missing from the list")
		}

		filters := map[string][]uuid.UUID{
			"?status=suspended":              {ts[1].TenantID},
			"?plan=pro":                      {ts[0].TenantID, ts[1].TenantID},
			"?plan=pro&status=active":        {ts[0].TenantID},
			"?plan=enterprise&status=active": {ts[2].TenantID, platformTenantID(t, e)},
			"?plan=free":                     {ts[3].TenantID, ts[4].TenantID},
			"?status=deleted":                {},
		}
		for q, want := range filters {
			got, meta := list(q)
			ids := make([]uuid.UUID, len(got))
			for i, tn := range got {
				ids[i] = tn.ID
			}
			slices.SortFunc(ids, func(a, b uuid.UUID) int { return compareUUID(a, b) })
			slices.SortFunc(want, func(a, b uuid.UUID) int { return compareUUID(a, b) })
			if !slices.Equal(ids, want) || meta["total"] != float64(len(want)) {
				t.Errorf("%s: got %v (total %v), want %v", q, ids, meta["total"], want)
			}
		}
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/tenants?status=gone", adm, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "status")

		// GraphQL tenants: the same rule, a connection, and where filters.
		var out struct {
			Tenants struct {
				TotalCount int `json:"totalCount"`
				Edges      []struct {
					Node struct {
						ID     uuid.UUID
						Plan   string
						Status string
					}
				}
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
			}
		}
		gql(t, e, adm, `{ tenants(first: 2) { totalCount edges { node { id plan status } } pageInfo { hasNextPage endCursor } } }`, nil, &out)
		if out.Tenants.TotalCount != total || len(out.Tenants.Edges) != 2 || !out.Tenants.PageInfo.HasNextPage {
			t.Fatalf("GraphQL tenants(first: 2) = %+v", out.Tenants)
		}
		gql(t, e, adm, `query($w: TenantWhereInput) { tenants(where: $w) { totalCount edges { node { id plan status } } } }`,
			map[string]any{"w": map[string]any{"status": "suspended"}}, &out)
		if out.Tenants.TotalCount != 1 || out.Tenants.Edges[0].Node.ID != ts[1].TenantID {
			t.Fatalf("GraphQL tenants(where: suspended) = %+v", out.Tenants)
		}
		gql(t, e, adm, `query($w: TenantWhereInput) { tenants(where: $w) { totalCount } }`,
			map[string]any{"w": map[string]any{"plan": "pro"}}, &out)
		if out.Tenants.TotalCount != 2 {
			t.Fatalf("GraphQL tenants(where: plan pro) total %d, want 2", out.Tenants.TotalCount)
		}
	}, withAdmin)
}

func compareUUID(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) }

// threePrincipals is a tenant's three kinds of credential, each used once
// already (so the API key and the client are cached).
type threePrincipals struct {
	session, key, token string
}

func threeCredentials(t *testing.T, e *apitest.Env, tn *tenantFixture) threePrincipals {
	t.Helper()
	k := newKey(t, e, tn.AccessToken, "tenant:read")
	c := createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"tenant:read"}})
	p := threePrincipals{session: tn.AccessToken, key: k.Key, token: issueToken(t, e, c, "").AccessToken}
	p.allWork(t, e)
	return p
}

func (p threePrincipals) allWork(t *testing.T, e *apitest.Env) {
	t.Helper()
	me(t, e, p.session)
	me(t, e, p.key)
	me(t, e, p.token)
}

func (p threePrincipals) allRefused(t *testing.T, e *apitest.Env, reasons ...string) {
	t.Helper()
	wantUnauthorized(t, whoami(e, p.session), reasons...)
	wantUnauthorized(t, whoami(e, p.key), reasons...)
	wantUnauthorized(t, whoami(e, p.token), reasons...)
}

func TestSuspendedTenantIsRefusedAtOnce(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Suspendable")
		bystander := register(t, e, "Bystander")
		p := threeCredentials(t, e, tn)
		bp := threeCredentials(t, e, bystander)
		adm := adminToken(t, e)

		var got tenantAdminJSON
		wantOK(t, patchTenant(e, tn.AccessToken, tn.TenantID, map[string]any{"status": "suspended"}), http.StatusOK, &got)
		if got.Status != "suspended" {
			t.Fatalf("status after suspending = %s", got.Status)
		}
		p.allRefused(t, e, "revoked")
		bp.allWork(t, e) // only that tenant
		// No new session or token either.
		wantError(t, do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": tn.Email, "password": testPassword, "tenant": tn.Slug}),
			http.StatusUnauthorized, "UNAUTHORIZED")

		// Reactivated (by the platform admin: the owner is locked out), the
		// API key works again; the sessions and access tokens issued before
		// the suspension stay dead, the refresh token too: new ones work.
		wantOK(t, patchTenant(e, adm, tn.TenantID, map[string]any{"status": "active"}), http.StatusOK, &got)
		if got.Status != "active" {
			t.Fatalf("status after reactivating = %s", got.Status)
		}
		me(t, e, p.key)
		wantUnauthorized(t, whoami(e, p.session), "revoked")
		wantUnauthorized(t, whoami(e, p.token), "revoked")
		wantError(t, do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": tn.RefreshToken}),
			http.StatusUnauthorized, "UNAUTHORIZED")
		owner := login(t, e, tn.Email, testPassword, tn.Slug)
		me(t, e, owner.AccessToken)
		c := createClient(t, e, owner.AccessToken, map[string]any{"name": "after " + randTag(), "scopes": []string{"tenant:read"}})
		me(t, e, issueToken(t, e, c, "").AccessToken)
		bp.allWork(t, e)
		if n := len(auditEntries(t, e, tn.TenantID, "tenant.update", tn.TenantID.String())); n != 2 {
			t.Fatalf("%d tenant.update entries for suspend and reactivate, want 2", n)
		}

	}, withAdmin)
}

func TestDeletedTenantIsRefusedAtOnceAndForGood(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Deletable")
		bystander := register(t, e, "Bystander")
		p := threeCredentials(t, e, tn)
		bp := threeCredentials(t, e, bystander)
		adm := adminToken(t, e)
		wantOK(t, do(e, http.MethodDelete, tenantPath(tn.TenantID), tn.AccessToken, nil), http.StatusOK, nil)
		p.allRefused(t, e, "revoked", "invalid")
		// No reactivation: the tenant is gone, even for the platform admin.
		wantError(t, patchTenant(e, adm, tn.TenantID, map[string]any{"status": "active"}), http.StatusNotFound, "NOT_FOUND")
		p.allRefused(t, e, "revoked", "invalid")
		bp.allWork(t, e)
	}, withAdmin)
}

func TestTenantIPAllowlistAppliesToEveryCredential(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Fenced")
		p := threeCredentials(t, e, tn)
		adm := adminToken(t, e)

		// A list that holds the client (127.0.0.1) changes nothing.
		wantOK(t, patchTenant(e, tn.AccessToken, tn.TenantID, map[string]any{"settings": map[string]any{"ip_allowlist": []string{"127.0.0.0/8"}}}),
			http.StatusOK, nil)
		p.allWork(t, e)

		// One that does not refuses all three at once.
		wantOK(t, patchTenant(e, tn.AccessToken, tn.TenantID, map[string]any{"settings": map[string]any{"ip_allowlist": []string{"10.0.0.0/8"}}}),
			http.StatusOK, nil)
		p.allRefused(t, e, "ip_not_allowed")
		// The GraphQL endpoint shares the middleware.
		if g := e.GraphQL(`{ me { id } }`, nil, p.session); g.Status != http.StatusUnauthorized {
			t.Fatalf("GraphQL with a session from outside the allowlist: HTTP %d", g.Status)
		}

		// The platform admin lifts it; all three work again.
		wantOK(t, patchTenant(e, adm, tn.TenantID, map[string]any{"settings": map[string]any{"ip_allowlist": []string{}}}), http.StatusOK, nil)
		p.allWork(t, e)
	}, withAdmin)
}

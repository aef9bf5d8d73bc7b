package apitest_test

// The rules of tenants, jobs and the audit trail that the services in
// internal/tenancy, internal/jobs and internal/audit own, over real HTTP on
// SQLite and PostgreSQL: a tenant's plan and status are its owner's to
// change; job stats count the caller's tenant; the filters of the audit
// trail and the tenant list are documented; updateTenant's payload
// resolves its edges after the commit.

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/apitest"
)

// trTenantJSON is the part of a tenant, as REST shows it, these tests read.
type trTenantJSON struct {
	ID       uuid.UUID `json:"id"`
	Name     string    `json:"name"`
	Plan     string    `json:"plan"`
	Status   string    `json:"status"`
	Settings struct {
		AuditRetentionDays int `json:"audit_retention_days"`
	} `json:"settings"`
}

// trTenantPath is the REST path of tenant id.
func trTenantPath(id uuid.UUID) string { return "/api/v1/admin/tenants/" + id.String() }

// trTenant reads tenant id from the database.
func trTenant(t *testing.T, e *apitest.Env, id uuid.UUID) *ent.Tenant {
	t.Helper()
	tn, err := e.Store.Client.Tenant.Get(unrestricted(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// trDenials are the tenant's permission.denied entries by actorID that name
// field.
func trDenials(t *testing.T, e *apitest.Env, tenantID uuid.UUID, actorID uuid.UUID, field string) []*ent.AuditLog {
	t.Helper()
	var out []*ent.AuditLog
	for _, a := range auditEntries(t, e, tenantID, "permission.denied", "") {
		if a.ActorID == actorID.String() && a.Details["field"] == field {
			out = append(out, a)
		}
	}
	return out
}

func TestTenantPlanAndStatusAreOwnerOnly(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Owned")
		admin := a.user(t, "admin")
		adminKey := newKey(t, e, admin.AccessToken, "tenant:read", "tenant:write")

		// An admin holds tenant:write: name and settings are its to change.
		var got trTenantJSON
		wantOK(t, do(e, http.MethodPatch, trTenantPath(a.TenantID), admin.AccessToken,
			map[string]any{"name": "Renamed By Admin", "settings": map[string]any{"audit_retention_days": 30}}), http.StatusOK, &got)
		if got.Name != "Renamed By Admin" || got.Settings.AuditRetentionDays != 30 || got.Plan != "free" {
			t.Fatalf("admin update = %+v", got)
		}

		// Plan and status are not, by session or by the admin's key, alone
		// or beside a change it may make: 403 naming the field, audited,
		// the tenant row unchanged.
		refused := []struct {
			cred  string
			actor uuid.UUID
			body  map[string]any
			field string
		}{
			{admin.AccessToken, admin.UserID, map[string]any{"plan": "enterprise"}, "plan"},
			{admin.AccessToken, admin.UserID, map[string]any{"status": "suspended"}, "status"},
			{admin.AccessToken, admin.UserID, map[string]any{"name": "Sneaky", "plan": "pro"}, "plan"},
			{adminKey.Key, adminKey.ID, map[string]any{"plan": "pro"}, "plan"},
			{adminKey.Key, adminKey.ID, map[string]any{"status": "suspended"}, "status"},
		}
		for _, c := range refused {
			before := trTenant(t, e, a.TenantID)
			wantError(t, do(e, http.MethodPatch, trTenantPath(a.TenantID), c.cred, c.body), http.StatusForbidden, "FORBIDDEN",
				"field", c.field, "required_role", "owner")
			after := trTenant(t, e, a.TenantID)
			if after.Plan != "free" || after.Status != tenant.StatusActive || after.Name != before.Name || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("refused %v changed the tenant: %+v", c.body, after)
			}
		}
		for _, c := range []struct {
			actor uuid.UUID
			field string
			n     int
		}{{admin.UserID, "plan", 2}, {admin.UserID, "status", 1}, {adminKey.ID, "plan", 1}, {adminKey.ID, "status", 1}} {
			d := trDenials(t, e, a.TenantID, c.actor, c.field)
			if len(d) != c.n {
				t.Fatalf("%d permission.denied entries by %s naming %s, want %d", len(d), c.actor, c.field, c.n)
			}
			if d[0].Outcome != auditlog.OutcomeDenied || d[0].Details["required_role"] != "owner" || d[0].RequestID == "" {
				t.Fatalf("permission.denied entry = %+v", d[0])
			}
		}
		if n := len(auditEntries(t, e, a.TenantID, "tenant.update", a.TenantID.String())); n != 1 {
			t.Fatalf("%d tenant.update entries, want the admin's one allowed update", n)
		}

		// GraphQL is the same rule.
		const mutation = `mutation($id: ID!, $in: UpdateTenantInput!) { updateTenant(id: $id, input: $in) { id plan status } }`
		for _, in := range []map[string]any{{"plan": "pro"}, {"status": "suspended"}} {
			field := "plan"
			if _, ok := in["status"]; ok {
				field = "status"
			}
			gqlErr(t, e, admin.AccessToken, mutation, map[string]any{"id": a.TenantID, "in": in}, "FORBIDDEN",
				"field", field, "required_role", "owner")
		}
		if db := trTenant(t, e, a.TenantID); db.Plan != "free" || db.Status != tenant.StatusActive {
			t.Fatalf("GraphQL refusals changed the tenant: plan %s, status %s", db.Plan, db.Status)
		}
		if d := trDenials(t, e, a.TenantID, admin.UserID, "plan"); len(d) != 3 {
			t.Fatalf("%d permission.denied entries naming plan after GraphQL, want 3", len(d))
		}

		// The owner changes them, by session or by one of its keys.
		var out struct {
			UpdateTenant struct {
				Plan string `json:"plan"`
			} `json:"updateTenant"`
		}
		gql(t, e, a.AccessToken, mutation, map[string]any{"id": a.TenantID, "in": map[string]any{"plan": "pro"}}, &out)
		if out.UpdateTenant.Plan != "pro" {
			t.Fatalf("owner's GraphQL plan change = %+v", out)
		}
		ownerKey := a.key(t, "tenant:read", "tenant:write")
		wantOK(t, do(e, http.MethodPatch, trTenantPath(a.TenantID), ownerKey.Key, map[string]any{"plan": "enterprise"}), http.StatusOK, &got)
		if got.Plan != "enterprise" || trTenant(t, e, a.TenantID).Plan != "enterprise" {
			t.Fatalf("owner key's plan change = %+v", got)
		}
		wantOK(t, do(e, http.MethodPatch, trTenantPath(a.TenantID), a.AccessToken, map[string]any{"status": "active"}), http.StatusOK, &got)

		// A platform admin changes any tenant's plan and status.
		adm := adminToken(t, e)
		wantOK(t, do(e, http.MethodPatch, trTenantPath(a.TenantID), adm, map[string]any{"plan": "free", "status": "suspended"}), http.StatusOK, &got)
		if db := trTenant(t, e, a.TenantID); db.Plan != "free" || db.Status != tenant.StatusSuspended {
			t.Fatalf("platform admin's change stored as plan %s, status %s", db.Plan, db.Status)
		}
	}, withAdmin)
}

// trJobStats is the data of GET /admin/jobs/{name}/stats.
type trJobStats struct {
	JobName   string     `json:"job_name"`
	Pending   int        `json:"pending"`
	Running   int        `json:"running"`
	Completed int        `json:"completed"`
	Failed    int        `json:"failed"`
	Retrying  int        `json:"retrying"`
	LastRunAt *time.Time `json:"last_run_at"`
}

func (s trJobStats) runs() int { return s.Pending + s.Running + s.Completed + s.Failed + s.Retrying }

// trStats reads a job's stats as cred.
func trStats(t *testing.T, e *apitest.Env, cred, name string, header ...map[string]string) trJobStats {
	t.Helper()
	var s trJobStats
	wantOK(t, do(e, http.MethodGet, "/api/v1/admin/jobs/"+name+"/stats", cred, nil, header...), http.StatusOK, &s)
	return s
}

// trTrigger triggers a job as cred and returns its id.
func trTrigger(t *testing.T, e *apitest.Env, cred, name string) uuid.UUID {
	t.Helper()
	var out struct {
		JobID uuid.UUID `json:"job_id"`
	}
	wantOK(t, do(e, http.MethodPost, "/api/v1/admin/jobs/trigger", cred, map[string]any{"job_name": name}), http.StatusAccepted, &out)
	return out.JobID
}

func TestJobStatsCountTheCallersTenant(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "JobsOfA")
		b := register(t, e, "JobsOfB")
		const name = "audit_retention"

		// A runs the job twice, B once; each run is its tenant's.
		runs := map[uuid.UUID][]uuid.UUID{}
		for _, tn := range []*tenantFixture{a, a, b} {
			id := trTrigger(t, e, tn.AccessToken, name)
			waitJob(t, e, id, 20*time.Second)
			runs[tn.TenantID] = append(runs[tn.TenantID], id)
		}

		// Each tenant counts its own runs, and not the other's nor the
		// server's periodic ones.
		for _, c := range []struct {
			tn   *tenantFixture
			want int
		}{{a, 2}, {b, 1}} {
			s := trStats(t, e, c.tn.AccessToken, name)
			if s.JobName != name || s.Completed != c.want || s.runs() != c.want || s.LastRunAt == nil {
				t.Fatalf("%s's stats = %+v, want %d completed runs and nothing else", c.tn.Name, s, c.want)
			}
			var g struct {
				JobStats struct {
					Completed int `json:"completed"`
					Pending   int `json:"pending"`
					Failed    int `json:"failed"`
				} `json:"jobStats"`
			}
			gql(t, e, c.tn.AccessToken, `query($n: String!) { jobStats(jobName: $n) { completed pending failed } }`, map[string]any{"n": name}, &g)
			if g.JobStats.Completed != c.want || g.JobStats.Pending+g.JobStats.Failed != 0 {
				t.Fatalf("%s's GraphQL jobStats = %+v, want %d completed", c.tn.Name, g.JobStats, c.want)
			}
		}
		// Each run names its tenant in its args, and is audited there.
		for tid, ids := range runs {
			for _, id := range ids {
				j, err := e.Store.Client.Job.Get(unrestricted(), id)
				if err != nil {
					t.Fatal(err)
				}
				if j.Args["tenant_id"] != tid.String() {
					t.Fatalf("run %s args = %v, want tenant_id %s", id, j.Args, tid)
				}
				if n := len(auditEntries(t, e, tid, "job.trigger", id.String())); n != 1 {
					t.Fatalf("%d job.trigger entries for %s in its tenant", n, id)
				}
			}
		}
		// A job the tenant never ran has no runs, whatever the schedulers did.
		if s := trStats(t, e, b.AccessToken, "expire_api_keys"); s.runs() != 0 || s.LastRunAt != nil {
			t.Fatalf("B's expire_api_keys stats = %+v, want none", s)
		}

		// A run is not attributed to another tenant but by a platform admin.
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/jobs/trigger", a.AccessToken,
			map[string]any{"job_name": name, "args": map[string]any{"tenant_id": b.TenantID.String()}}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "platform:admin")
		if s := trStats(t, e, b.AccessToken, name); s.runs() != 1 {
			t.Fatalf("B's stats after A's refused attribution = %+v", s)
		}

		// The platform admin counts every run, or one tenant's with x-tenantid.
		adm := adminToken(t, e)
		if s := trStats(t, e, adm, name, map[string]string{"x-tenantid": b.TenantID.String()}); s.Completed != 1 || s.runs() != 1 {
			t.Fatalf("platform admin's stats of B = %+v, want B's one run", s)
		}
		eventually(t, 10*time.Second, "the platform admin's stats count every run", func() (bool, string) {
			s := trStats(t, e, adm, name)
			n, err := e.Store.Client.Job.Query().Where(job.Name(name)).Count(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			return s.runs() == n && n >= 3, "stats differ from the queue's rows"
		})
	}, withAdmin)
}

// trParam is a parameter of an OpenAPI operation.
type trParam struct {
	Name   string   `json:"name"`
	In     string   `json:"in"`
	Schema trSchema `json:"schema"`
}

type trSchema struct {
	Type   string   `json:"type"`
	Enum   []string `json:"enum"`
	Format string   `json:"format"`
}

func TestAuditLogAndTenantFiltersAreDocumented(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		r := e.Get("/api/v1/openapi.json", "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET /api/v1/openapi.json: %d", r.Status)
		}
		var doc struct {
			Paths map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]trSchema{
			"/admin/audit-logs": {
				"actor_id": {}, "actor_type": {}, "action": {}, "resource_type": {}, "resource_id": {},
				"outcome": {Enum: []string{"success", "failure", "denied"}},
				"since":   {Format: "date-time"}, "until": {Format: "date-time"},
			},
			"/admin/tenants": {
				"status": {Enum: []string{"active", "suspended", "deleted"}},
				"plan":   {},
			},
		}
		for path, filters := range want {
			var op struct {
				Parameters []trParam `json:"parameters"`
			}
			if err := json.Unmarshal(doc.Paths[path]["get"], &op); err != nil {
				t.Fatalf("GET %s is not documented: %v", path, err)
			}
			for name, w := range filters {
				i := slices.IndexFunc(op.Parameters, func(p trParam) bool { return p.In == "query" && p.Name == name })
				if i < 0 {
					t.Errorf("GET %s: filter %s is not documented", path, name)
					continue
				}
				s := op.Parameters[i].Schema
				if s.Type != "string" || !slices.Equal(sorted(s.Enum), sorted(w.Enum)) || s.Format != w.Format {
					t.Errorf("GET %s: filter %s documented as %+v, want enum %v, format %q", path, name, s, w.Enum, w.Format)
				}
			}
		}

		// The handlers read what the document lists: a value outside an
		// enum, or a time that is not RFC 3339, is refused naming it.
		tn := register(t, e, "Filters")
		for q, field := range map[string]string{"outcome=maybe": "outcome", "since=yesterday": "since", "until=soon": "until"} {
			wantError(t, do(e, http.MethodGet, "/api/v1/admin/audit-logs?"+q, tn.AccessToken, nil),
				http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", field)
		}
		adm := adminToken(t, e)
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/tenants?status=gone", adm, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "status")
	}, withAdmin)
}

// trKindCount is one kind of TenantStats.counts.
type trKindCount struct {
	Kind  string `json:"kind"`
	Total int    `json:"total"`
}

func TestUpdateTenantPayloadResolvesEdges(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Edges")
		a.key(t, "api_keys:read")
		a.key(t, "tenant:read")
		admin := a.user(t, "admin")

		const mutation = `mutation($id: ID!, $in: UpdateTenantInput!) { updateTenant(id: $id, input: $in) {
			id name plan users { totalCount edges { node { email } } } apiKeys { totalCount }
			stats { tenantID requestsLast24h counts { kind total } } } }`
		type payload struct {
			UpdateTenant struct {
				ID    uuid.UUID `json:"id"`
				Name  string    `json:"name"`
				Plan  string    `json:"plan"`
				Users struct {
					TotalCount int `json:"totalCount"`
					Edges      []struct {
						Node struct {
							Email string `json:"email"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"users"`
				APIKeys struct {
					TotalCount int `json:"totalCount"`
				} `json:"apiKeys"`
				Stats struct {
					TenantID        uuid.UUID     `json:"tenantID"`
					RequestsLast24h int           `json:"requestsLast24h"`
					Counts          []trKindCount `json:"counts"`
				} `json:"stats"`
			} `json:"updateTenant"`
		}
		for _, c := range []struct {
			cred string
			in   map[string]any
		}{
			{a.AccessToken, map[string]any{"name": "Edges Renamed", "plan": "pro"}},
			{admin.AccessToken, map[string]any{"name": "Edges By Admin", "settings": map[string]any{"auditRetentionDays": 90}}},
		} {
			var out payload
			gql(t, e, c.cred, mutation, map[string]any{"id": a.TenantID, "in": c.in}, &out)
			u := out.UpdateTenant
			if u.ID != a.TenantID || u.Name != c.in["name"] || u.Plan != "pro" {
				t.Fatalf("payload = %+v", u)
			}
			if u.Users.TotalCount != 2 || len(u.Users.Edges) != 2 || u.APIKeys.TotalCount != 2 {
				t.Fatalf("payload edges: %d users (%d edges), %d keys; want 2, 2, 2", u.Users.TotalCount, len(u.Users.Edges), u.APIKeys.TotalCount)
			}
			if u.Stats.TenantID != a.TenantID || len(u.Stats.Counts) == 0 || u.Stats.RequestsLast24h < 0 {
				t.Fatalf("payload stats = %+v", u.Stats)
			}
			i := slices.IndexFunc(u.Stats.Counts, func(k trKindCount) bool { return k.Kind == "users" })
			if i < 0 || u.Stats.Counts[i].Total != 2 {
				t.Fatalf("payload stats counts = %+v, want 2 users", u.Stats.Counts)
			}
		}
		if db := trTenant(t, e, a.TenantID); db.Name != "Edges By Admin" || db.Plan != "pro" || db.Settings.AuditRetentionDays != 90 {
			t.Fatalf("stored tenant = %+v", db)
		}
		if n := len(auditEntries(t, e, a.TenantID, "tenant.update", a.TenantID.String())); n != 2 {
			t.Fatalf("%d tenant.update entries, want 2", n)
		}
	})
}

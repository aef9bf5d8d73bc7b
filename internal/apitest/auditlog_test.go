package apitest_test

// The audit trail over real HTTP, on SQLite and PostgreSQL: the REST list
// (newest first, paged, every filter, validation, the audit:read scope,
// tenant isolation), the GraphQL auditLogs connection, and entries being
// append-only: no route changes or deletes them, the data layer refuses to
// outside the retention job, and the retention job removes only what is
// older than the tenant's audit_retention_days, of the tenant that runs it.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/ent/privacy"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/jobs"
)

// auditJSON is an audit entry as REST shows it.
type auditJSON struct {
	ID           uuid.UUID      `json:"id"`
	TenantID     uuid.UUID      `json:"tenant_id"`
	OccurredAt   time.Time      `json:"occurred_at"`
	ActorType    string         `json:"actor_type"`
	ActorID      string         `json:"actor_id"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Outcome      string         `json:"outcome"`
	RequestID    string         `json:"request_id"`
	IP           string         `json:"ip"`
	UserAgent    string         `json:"user_agent"`
	Details      map[string]any `json:"details"`
}

// listAudit gets one page of the audit trail as cred.
func listAudit(t *testing.T, e *apitest.Env, cred, query string) ([]auditJSON, map[string]any) {
	t.Helper()
	var out []auditJSON
	page := listPage(t, e, cred, "/api/v1/admin/audit-logs"+query, &out)
	return out, page
}

// auditFixture is a tenant with a known trail.
type auditFixture struct {
	tn        *tenantFixture
	member    uuid.UUID
	writer    apiKeyJSON // api_keys:read, api_keys:write, audit:read
	reader    apiKeyJSON // api_keys:read only
	made      apiKeyJSON // created and revoked by writer
	dbEntries []*ent.AuditLog
}

func makeAuditTrail(t *testing.T, e *apitest.Env, name string) auditFixture {
	t.Helper()
	f := auditFixture{tn: register(t, e, name)}
	f.member = uid(t, createUser(t, e, f.tn.AccessToken, "member-"+f.tn.Slug+"@audit.test", "member", "").ID)
	f.writer = newKey(t, e, f.tn.AccessToken, "api_keys:read", "api_keys:write", "audit:read")
	f.reader = newKey(t, e, f.tn.AccessToken, "api_keys:read")
	f.made = newKey(t, e, f.writer.Key, "api_keys:read")
	wantOK(t, do(e, http.MethodDelete, "/api/v1/api-keys/"+f.made.ID.String(), f.writer.Key, nil), http.StatusOK, nil)
	// A refused permission and a failed login are recorded too.
	wantError(t, do(e, http.MethodGet, "/api/v1/admin/audit-logs", f.reader.Key, nil), http.StatusForbidden, "FORBIDDEN",
		"required_scope", "audit:read")
	wantError(t, do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": f.tn.Email, "password": "wrong-password-123", "tenant": f.tn.Slug}),
		http.StatusUnauthorized, "UNAUTHORIZED")
	e.Flush()
	var err error
	f.dbEntries, err = e.Store.Client.AuditLog.Query().Where(auditlog.TenantID(f.tn.TenantID)).All(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// expected returns the ids of the fixture's entries that keep holds for.
func (f auditFixture) expected(keep func(a *ent.AuditLog) bool) []uuid.UUID {
	var ids []uuid.UUID
	for _, a := range f.dbEntries {
		if keep(a) {
			ids = append(ids, a.ID)
		}
	}
	slices.SortFunc(ids, compareUUID)
	return ids
}

func auditIDs(es []auditJSON) []uuid.UUID {
	ids := make([]uuid.UUID, len(es))
	for i, a := range es {
		ids[i] = a.ID
	}
	slices.SortFunc(ids, compareUUID)
	return ids
}

func TestAuditLogList(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		f := makeAuditTrail(t, e, "Audited")
		other := makeAuditTrail(t, e, "Elsewhere")
		owner := f.tn.AccessToken
		all := len(f.dbEntries)
		// register, user.create, 3 api_key.create, api_key.revoke, permission.denied, auth.login failure
		if all != 8 {
			t.Fatalf("fixture wrote %d entries, want 8", all)
		}

		// Everything, newest first by default; only this tenant's.
		list, meta := listAudit(t, e, owner, "?limit=200")
		if len(list) != all || meta["total"] != float64(all) {
			t.Fatalf("list: %d entries, total %v, want %d", len(list), meta["total"], all)
		}
		if !slices.Equal(auditIDs(list), f.expected(func(*ent.AuditLog) bool { return true })) {
			t.Fatal("the list is not the tenant's entries")
		}
		for i, a := range list {
			if a.TenantID != f.tn.TenantID {
				t.Fatalf("entry %s of tenant %s in the list", a.ID, a.TenantID)
			}
			if i > 0 && a.OccurredAt.After(list[i-1].OccurredAt) {
				t.Fatalf("not newest first: %v after %v", a.OccurredAt, list[i-1].OccurredAt)
			}
			if a.Details == nil || a.Action == "" || a.Outcome == "" || a.ActorType == "" {
				t.Fatalf("incomplete entry %+v", a)
			}
		}
		// The entry of the member's creation in full.
		var created *auditJSON
		for i := range list {
			if list[i].Action == "user.create" {
				created = &list[i]
			}
		}
		if created == nil || created.ActorType != "user" || created.ActorID != f.tn.UserID.String() ||
			created.ResourceType != "user" || created.ResourceID != f.member.String() || created.Outcome != "success" ||
			created.RequestID == "" || created.IP != "127.0.0.1" || created.UserAgent == "" {
			t.Fatalf("user.create entry = %+v", created)
		}

		// Pages of 3 cover the list in the same order.
		var paged []auditJSON
		for offset := 0; offset < all; offset += 3 {
			page, meta := listAudit(t, e, owner, "?limit=3&offset="+strconv.Itoa(offset))
			if meta["total"] != float64(all) || meta["has_next"] != (offset+3 < all) {
				t.Fatalf("page at %d: meta %v", offset, meta)
			}
			paged = append(paged, page...)
		}
		if len(paged) != all {
			t.Fatalf("pages hold %d entries, want %d", len(paged), all)
		}
		for i := range paged {
			if paged[i].ID != list[i].ID {
				t.Fatalf("page order differs from the list at %d", i)
			}
		}
		// Oldest first on request.
		asc, _ := listAudit(t, e, owner, "?sort=occurred_at&order=asc&limit=200")
		for i := 1; i < len(asc); i++ {
			if asc[i].OccurredAt.Before(asc[i-1].OccurredAt) {
				t.Fatal("order=asc is not oldest first")
			}
		}

		// Each filter, alone and combined, against the database.
		pivot := list[all/2].OccurredAt
		filters := []struct {
			query string
			keep  func(a *ent.AuditLog) bool
			want  int
		}{
			{"action=user.create", func(a *ent.AuditLog) bool { return a.Action == "user.create" }, 1},
			{"action=api_key.create", func(a *ent.AuditLog) bool { return a.Action == "api_key.create" }, 3},
			{"actor_type=api_key", func(a *ent.AuditLog) bool { return a.ActorType == "api_key" }, 3},
			{"actor_id=" + f.writer.ID.String(), func(a *ent.AuditLog) bool { return a.ActorID == f.writer.ID.String() }, 2},
			{"actor_id=" + f.tn.UserID.String(), func(a *ent.AuditLog) bool { return a.ActorID == f.tn.UserID.String() }, 4},
			{"resource_type=api_key", func(a *ent.AuditLog) bool { return a.ResourceType == "api_key" }, 4},
			{"resource_id=" + f.made.ID.String(), func(a *ent.AuditLog) bool { return a.ResourceID == f.made.ID.String() }, 2},
			{"outcome=denied", func(a *ent.AuditLog) bool { return a.Outcome == auditlog.OutcomeDenied }, 1},
			{"outcome=failure", func(a *ent.AuditLog) bool { return a.Outcome == auditlog.OutcomeFailure }, 1},
			{"outcome=success", func(a *ent.AuditLog) bool { return a.Outcome == auditlog.OutcomeSuccess }, 6},
			{"since=" + url.QueryEscape(pivot.Format(time.RFC3339Nano)), func(a *ent.AuditLog) bool { return !a.OccurredAt.Before(pivot) }, -1},
			{"until=" + url.QueryEscape(pivot.Format(time.RFC3339Nano)), func(a *ent.AuditLog) bool { return a.OccurredAt.Before(pivot) }, -1},
			{"action=api_key.create&actor_type=user", func(a *ent.AuditLog) bool { return a.Action == "api_key.create" && a.ActorType == "user" }, 2},
			{"resource_id=" + f.made.ID.String() + "&action=api_key.revoke",
				func(a *ent.AuditLog) bool { return a.ResourceID == f.made.ID.String() && a.Action == "api_key.revoke" }, 1},
			{"action=tenant.update", func(a *ent.AuditLog) bool { return false }, 0},
		}
		sinceUntil := 0
		for _, fl := range filters {
			got, meta := listAudit(t, e, owner, "?limit=200&"+fl.query)
			want := f.expected(fl.keep)
			if fl.want >= 0 && len(want) != fl.want {
				t.Fatalf("%s: the fixture has %d matching entries, the test expects %d", fl.query, len(want), fl.want)
			}
			if fl.want < 0 {
				sinceUntil += len(got)
			}
			if !slices.Equal(auditIDs(got), want) || meta["total"] != float64(len(want)) {
				t.Errorf("%s: %d entries (total %v), want %d", fl.query, len(got), meta["total"], len(want))
			}
		}
		// since and until split the trail at the pivot, each side non-empty.
		if sinceUntil != all {
			t.Errorf("since and until at one instant cover %d entries, want all %d", sinceUntil, all)
		}

		// Bad values are 422 naming the parameter.
		for q, field := range map[string]string{
			"since=yesterday":            "since",
			"until=2024-13-45T00:00:00Z": "until",
			"outcome=meh":                "outcome",
			"sort=actor_id":              "sort",
			"order=sideways":             "order",
		} {
			wantError(t, do(e, http.MethodGet, "/api/v1/admin/audit-logs?"+q, owner, nil),
				http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", field)
		}

		// audit:read is needed: a key without it is refused, a viewer reads.
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/audit-logs", f.reader.Key, nil), http.StatusForbidden, "FORBIDDEN",
			"required_scope", "audit:read")
		if got, _ := listAudit(t, e, f.writer.Key, "?limit=200"); len(got) < all {
			t.Fatalf("a key with audit:read sees %d entries", len(got))
		}
		viewer := createUser(t, e, owner, "viewer-"+f.tn.Slug+"@audit.test", "viewer", testPassword)
		vs := login(t, e, viewer.Email, testPassword, f.tn.Slug)
		if got, _ := listAudit(t, e, vs.AccessToken, "?limit=200"); len(got) < all {
			t.Fatalf("a viewer sees %d entries", len(got))
		}

		// The other tenant's entries never show, whatever the filter.
		for _, q := range []string{"", "?actor_id=" + other.tn.UserID.String(), "?resource_id=" + other.made.ID.String()} {
			got, _ := listAudit(t, e, owner, q)
			for _, a := range got {
				if a.TenantID != f.tn.TenantID {
					t.Fatalf("%q: another tenant's entry %s", q, a.ID)
				}
			}
			if q != "" && len(got) != 0 {
				t.Fatalf("%q: %d entries of another tenant's actor or resource", q, len(got))
			}
		}
	})
}

// gqlAuditPage is one page of the auditLogs connection.
type gqlAuditPage struct {
	AuditLogs struct {
		TotalCount int `json:"totalCount"`
		Edges      []struct {
			Cursor string `json:"cursor"`
			Node   struct {
				ID           uuid.UUID `json:"id"`
				TenantID     uuid.UUID `json:"tenantID"`
				OccurredAt   time.Time `json:"occurredAt"`
				ActorType    string    `json:"actorType"`
				ActorID      string    `json:"actorID"`
				Action       string    `json:"action"`
				ResourceType string    `json:"resourceType"`
				ResourceID   string    `json:"resourceID"`
				Outcome      string    `json:"outcome"`
			} `json:"node"`
		} `json:"edges"`
		PageInfo struct {
			HasNextPage bool   `json:"hasNextPage"`
			EndCursor   string `json:"endCursor"`
		} `json:"pageInfo"`
	} `json:"auditLogs"`
}

const gqlAuditQuery = `query($first: Int, $after: Cursor, $where: AuditLogWhereInput, $orderBy: AuditLogOrder) {
  auditLogs(first: $first, after: $after, where: $where, orderBy: $orderBy) {
    totalCount
    edges { cursor node { id tenantID occurredAt actorType actorID action resourceType resourceID outcome } }
    pageInfo { hasNextPage endCursor }
  }
}`

func (p gqlAuditPage) ids() []uuid.UUID {
	ids := make([]uuid.UUID, len(p.AuditLogs.Edges))
	for i, e := range p.AuditLogs.Edges {
		ids[i] = e.Node.ID
	}
	return ids
}

func TestAuditLogsGraphQL(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		f := makeAuditTrail(t, e, "Graphed")
		other := makeAuditTrail(t, e, "Sideways")
		all := len(f.dbEntries)

		// Newest first by default.
		var p gqlAuditPage
		gql(t, e, f.tn.AccessToken, gqlAuditQuery, map[string]any{"first": 100}, &p)
		if p.AuditLogs.TotalCount != all || len(p.AuditLogs.Edges) != all || p.AuditLogs.PageInfo.HasNextPage {
			t.Fatalf("auditLogs: total %d, %d edges, want %d", p.AuditLogs.TotalCount, len(p.AuditLogs.Edges), all)
		}
		ids := p.ids()
		slices.SortFunc(ids, compareUUID)
		if !slices.Equal(ids, f.expected(func(*ent.AuditLog) bool { return true })) {
			t.Fatal("auditLogs is not the tenant's trail")
		}
		for i, edge := range p.AuditLogs.Edges {
			if edge.Node.TenantID != f.tn.TenantID {
				t.Fatalf("another tenant's entry %s", edge.Node.ID)
			}
			if i > 0 && edge.Node.OccurredAt.After(p.AuditLogs.Edges[i-1].Node.OccurredAt) {
				t.Fatal("auditLogs is not newest first by default")
			}
		}

		// Forward paging with cursors walks the same entries once each.
		var walked []uuid.UUID
		after := any(nil)
		for pages := 0; ; pages++ {
			if pages > all {
				t.Fatal("paging does not end")
			}
			var page gqlAuditPage
			gql(t, e, f.tn.AccessToken, gqlAuditQuery, map[string]any{"first": 3, "after": after}, &page)
			if page.AuditLogs.TotalCount != all || len(page.AuditLogs.Edges) > 3 {
				t.Fatalf("page: total %d, %d edges", page.AuditLogs.TotalCount, len(page.AuditLogs.Edges))
			}
			walked = append(walked, page.ids()...)
			if !page.AuditLogs.PageInfo.HasNextPage {
				break
			}
			after = page.AuditLogs.PageInfo.EndCursor
		}
		if !slices.Equal(walked, p.ids()) {
			t.Fatalf("cursor paging walked %d entries in another order than one page of all %d", len(walked), all)
		}

		// orderBy and where.
		gql(t, e, f.tn.AccessToken, gqlAuditQuery, map[string]any{"first": 100,
			"orderBy": map[string]any{"field": "OCCURRED_AT", "direction": "ASC"}}, &p)
		for i := 1; i < len(p.AuditLogs.Edges); i++ {
			if p.AuditLogs.Edges[i].Node.OccurredAt.Before(p.AuditLogs.Edges[i-1].Node.OccurredAt) {
				t.Fatal("orderBy OCCURRED_AT ASC is not oldest first")
			}
		}
		for _, w := range []struct {
			where map[string]any
			keep  func(a *ent.AuditLog) bool
		}{
			{map[string]any{"action": "user.create"}, func(a *ent.AuditLog) bool { return a.Action == "user.create" }},
			{map[string]any{"actorType": "api_key"}, func(a *ent.AuditLog) bool { return a.ActorType == "api_key" }},
			{map[string]any{"actorID": f.writer.ID.String()}, func(a *ent.AuditLog) bool { return a.ActorID == f.writer.ID.String() }},
			{map[string]any{"resourceType": "api_key", "resourceID": f.made.ID.String()},
				func(a *ent.AuditLog) bool { return a.ResourceType == "api_key" && a.ResourceID == f.made.ID.String() }},
			{map[string]any{"outcome": "denied"}, func(a *ent.AuditLog) bool { return a.Outcome == auditlog.OutcomeDenied }},
			{map[string]any{"outcomeIn": []string{"failure", "denied"}}, func(a *ent.AuditLog) bool { return a.Outcome != auditlog.OutcomeSuccess }},
			{map[string]any{"actorID": other.tn.UserID.String()}, func(*ent.AuditLog) bool { return false }},
		} {
			gql(t, e, f.tn.AccessToken, gqlAuditQuery, map[string]any{"first": 100, "where": w.where}, &p)
			got := p.ids()
			slices.SortFunc(got, compareUUID)
			if want := f.expected(w.keep); !slices.Equal(got, want) || p.AuditLogs.TotalCount != len(want) {
				t.Errorf("where %v: %d entries (total %d), want %d", w.where, len(got), p.AuditLogs.TotalCount, len(want))
			}
		}

		// audit:read is needed.
		gqlErr(t, e, f.reader.Key, gqlAuditQuery, map[string]any{"first": 1}, "FORBIDDEN", "required_scope", "audit:read")
	})
}

func TestAuditLogsAreAppendOnly(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		f := makeAuditTrail(t, e, "Immutable")
		target := f.dbEntries[0]
		owner := f.tn.AccessToken

		// No route changes or deletes entries.
		for _, m := range []string{http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodPost} {
			r := do(e, m, "/api/v1/admin/audit-logs", owner, map[string]any{"action": "x"})
			wantError(t, r, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")
		}
		for _, m := range []string{http.MethodPatch, http.MethodDelete, http.MethodGet} {
			r := do(e, m, "/api/v1/admin/audit-logs/"+target.ID.String(), owner, nil)
			if r.Status != http.StatusNotFound && r.Status != http.StatusMethodNotAllowed {
				t.Fatalf("%s /admin/audit-logs/{id}: %d, want no such route", m, r.Status)
			}
		}
		// Nor does GraphQL: no mutation field touches the trail.
		for _, name := range mutationFields(t, e, owner) {
			if strings.Contains(strings.ToLower(name), "audit") {
				t.Errorf("mutation %s touches the audit trail", name)
			}
		}

		// The data layer refuses updates and deletes, in the tenant's own
		// context (even the system principal's) and without one.
		c := e.Store.Client
		inTenant := access.NewContext(context.Background(), access.System(f.tn.TenantID))
		for name, ctx := range map[string]context.Context{"tenant": inTenant, "none": context.Background()} {
			refusals := map[string]error{
				"UpdateOne": c.AuditLog.UpdateOneID(target.ID).Exec(ctx),
				"Update":    c.AuditLog.Update().Where(auditlog.TenantID(f.tn.TenantID)).Exec(ctx),
				"DeleteOne": c.AuditLog.DeleteOneID(target.ID).Exec(ctx),
			}
			_, err := c.AuditLog.Delete().Where(auditlog.TenantID(f.tn.TenantID)).Exec(ctx)
			refusals["Delete"] = err
			for op, err := range refusals {
				if !errors.Is(err, privacy.Deny) {
					t.Errorf("%s in context %q: err = %v, want a privacy denial", op, name, err)
				}
			}
		}
		// In a transaction too.
		tx, err := c.Tx(inTenant)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.AuditLog.DeleteOneID(target.ID).Exec(inTenant); !errors.Is(err, privacy.Deny) {
			t.Errorf("DeleteOne in a transaction: err = %v, want a privacy denial", err)
		}
		_ = tx.Rollback()
		n, err := c.AuditLog.Query().Where(auditlog.TenantID(f.tn.TenantID)).Count(unrestricted())
		if err != nil || n != len(f.dbEntries) {
			t.Fatalf("%d entries left (%v), want all %d", n, err, len(f.dbEntries))
		}
		kept, err := c.AuditLog.Get(unrestricted(), target.ID)
		if err != nil || kept.Action != target.Action || !kept.OccurredAt.Equal(target.OccurredAt) {
			t.Fatalf("entry after refused changes = %+v, %v", kept, err)
		}
	})
}

// settleScheduledRetention waits until the hour's scheduled audit_retention
// run, which prunes every tenant, has completed: a new server enqueues it at
// once, and one that ran after a test's old entries were written would
// remove them ahead of the run the test triggers (CI met it). Within seconds
// of the hour's turn it waits for the next hour's run instead.
func settleScheduledRetention(t *testing.T, e *apitest.Env) {
	t.Helper()
	if left := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); left < 10*time.Second {
		time.Sleep(left)
	}
	key := jobs.PeriodKey(jobs.AuditRetention, time.Now().Truncate(time.Hour))
	eventually(t, 20*time.Second, "the scheduled "+key+" completes", func() (bool, string) {
		j, err := e.Store.Client.Job.Query().Where(job.DedupeKey(key)).Only(unrestricted())
		if ent.IsNotFound(err) {
			return false, "not enqueued"
		}
		if err != nil {
			t.Fatal(err)
		}
		return j.Status == job.StatusCompleted, j.Status.String()
	})
}

func TestAuditRetentionJobRemovesOnlyExpiredEntries(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		short := register(t, e, "ShortMemory")
		long := register(t, e, "LongMemory")
		wantOK(t, patchTenant(e, short.AccessToken, short.TenantID, map[string]any{"settings": map[string]any{"audit_retention_days": 30}}),
			http.StatusOK, nil)

		old := func(tid uuid.UUID, age time.Duration) uuid.UUID {
			t.Helper()
			a, err := e.Store.Client.AuditLog.Create().SetTenantID(tid).SetAction("user.update").SetActorType("user").
				SetOutcome(auditlog.OutcomeSuccess).SetOccurredAt(time.Now().UTC().Add(-age)).Save(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		settleScheduledRetention(t, e)
		day := 24 * time.Hour
		expired := old(short.TenantID, 31*day) // past the 30 days of short
		young := old(short.TenantID, 29*day)   // within them
		kept := old(long.TenantID, 31*day)     // long keeps the default 365 days
		ancient := old(long.TenantID, 366*day) // past them
		count := func(tid uuid.UUID) int {
			n, err := e.Store.Client.AuditLog.Query().Where(auditlog.TenantID(tid)).Count(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		e.Flush()
		shortBefore, longBefore := count(short.TenantID), count(long.TenantID)

		run := func(token string) {
			t.Helper()
			var trig struct {
				JobID uuid.UUID `json:"job_id"`
			}
			wantOK(t, do(e, http.MethodPost, "/api/v1/admin/jobs/trigger", token, map[string]any{"job_name": "audit_retention"}),
				http.StatusAccepted, &trig)
			waitJob(t, e, trig.JobID, 20*time.Second)
		}
		exists := func(id uuid.UUID) bool {
			ok, err := e.Store.Client.AuditLog.Query().Where(auditlog.ID(id)).Exist(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}

		// short's run prunes short's trail only.
		run(short.AccessToken)
		if exists(expired) || !exists(young) {
			t.Errorf("short's run: its expired entry kept %v, its young one kept %v; want false, true", exists(expired), exists(young))
		}
		if !exists(ancient) || !exists(kept) {
			t.Errorf("short's run removed long's entries (ancient kept %v, kept kept %v)", exists(ancient), exists(kept))
		}
		// Everything else stays (the trigger itself added one job.trigger entry).
		if got := count(short.TenantID); got != shortBefore-1+1 {
			t.Errorf("short tenant: %d entries after its run, want %d", got, shortBefore)
		}
		if got := count(long.TenantID); got != longBefore {
			t.Errorf("long tenant: %d entries after short's run, want %d", got, longBefore)
		}

		run(long.AccessToken)
		if exists(ancient) || !exists(kept) {
			t.Errorf("long's run: its ancient entry kept %v, its 31-day one kept %v; want false, true", exists(ancient), exists(kept))
		}
		if got := count(long.TenantID); got != longBefore-1+1 {
			t.Errorf("long tenant: %d entries after its run, want %d", got, longBefore)
		}
	})
}

package apitest_test

// Lists at scale (issue 12): REST cursors seek to the last item's position
// rather than skip an offset, totals are counted only as far as
// paging.TotalCap, and GraphQL connections count only for totalCount.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// countedEnv runs fn on every backend with a server whose statements are
// counted.
func countedEnv(t *testing.T, fn func(t *testing.T, e *apitest.Env, st *storetest.Statements)) {
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, backend)
			counter := storetest.CountStatements(st)
			fn(t, apitest.New(t, st), counter)
		})
	}
}

// seedKeys adds n keys to the tenant straight through ent: created_at in
// pairs (equal times, so ids break the ties), expires_at empty for every
// third and otherwise one of four times, last_used_at on every other.
func seedKeys(t *testing.T, e *apitest.Env, tenantID uuid.UUID, n int) {
	t.Helper()
	ctx := access.NewContext(context.Background(), access.System(tenantID))
	base := time.Now().UTC().Truncate(time.Microsecond).Add(-time.Hour)
	bulk := make([]*ent.APIKeyCreate, n)
	for i := range bulk {
		hash := uuid.New()
		c := e.Store.Client.APIKey.Create().SetName(fmt.Sprintf("key %02d", i%10)).SetPrefix("seedseed").
			SetKeyHash(hash[:]).SetScopes([]string{access.APIKeysRead}).SetCreatedAt(base.Add(time.Duration(i/2) * time.Second))
		if i%3 != 0 {
			c.SetExpiresAt(base.Add(time.Duration(48+i%4) * time.Hour))
		}
		if i%2 == 0 {
			c.SetLastUsedAt(base.Add(time.Duration(i%5) * time.Minute))
		}
		bulk[i] = c
	}
	if err := e.Store.Client.APIKey.CreateBulk(bulk...).Exec(ctx); err != nil {
		t.Fatal(err)
	}
}

// walkKeys follows next_cursor from GET /api-keys?query to the end and
// returns the ids in the order read; between runs after each page, given
// the ids read so far.
func walkKeys(t *testing.T, e *apitest.Env, cred, query string, between func(seen []uuid.UUID)) []uuid.UUID {
	t.Helper()
	var seen []uuid.UUID
	path := "/api/v1/api-keys?" + query
	for page := 1; ; page++ {
		if page > 100 {
			t.Fatalf("%s: the cursor never ends", query)
		}
		var keys []apiKeyJSON
		p := listPage(t, e, cred, path, &keys)
		seen = append(seen, keyIDs(keys)...)
		next, _ := p["next_cursor"].(string)
		if p["has_next"] != true {
			if next != "" {
				t.Errorf("%s: last page has next_cursor", query)
			}
			return seen
		}
		if next == "" {
			t.Fatalf("%s: has_next without next_cursor", query)
		}
		if between != nil {
			between(seen)
		}
		path = "/api/v1/api-keys?cursor=" + url.QueryEscape(next)
	}
}

// A walk through a list by cursor while keys are added before the cursor
// and deleted behind and ahead of it reads every other key exactly once:
// no duplicate, no gap (an offset would repeat the rows pushed down by the
// new ones and skip those pulled up by the deleted ones).
func TestCursorWalkAcrossInsertsAndDeletes(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Walk")
		seedKeys(t, e, tn.TenantID, 40)
		ctx := access.NewContext(context.Background(), access.System(tn.TenantID))
		start, err := e.Store.Client.APIKey.Query().IDs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		added, aheadDeleted := map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
		seen := walkKeys(t, e, tn.AccessToken, "limit=7", func(seen []uuid.UUID) {
			// Newest first: new keys land before the cursor.
			for range 3 {
				added[newKey(t, e, tn.AccessToken, access.APIKeysRead).ID] = true
			}
			// Delete the last two keys read and one not read yet.
			gone := seen[len(seen)-2:]
			for _, id := range start {
				if !aheadDeleted[id] && !slices.Contains(seen, id) {
					aheadDeleted[id] = true
					gone = append(gone, id)
					break
				}
			}
			if _, err := e.Store.Client.APIKey.Delete().Where(apikey.IDIn(gone...)).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		})
		if len(aheadDeleted) < 3 {
			t.Fatalf("the walk took %d pages: too few to test anything", len(aheadDeleted)+1)
		}
		times := map[uuid.UUID]int{}
		for _, id := range seen {
			times[id]++
		}
		for id, n := range times {
			switch {
			case n > 1:
				t.Errorf("key %s read %d times", id, n)
			case added[id]:
				t.Errorf("key %s, added before the cursor, read", id)
			case aheadDeleted[id]:
				t.Errorf("key %s, deleted before its page, read", id)
			}
		}
		for _, id := range start {
			if !aheadDeleted[id] && times[id] == 0 {
				t.Errorf("key %s, there throughout, never read (a gap)", id)
			}
		}
	})
}

// Every order walks the whole list in order, however many items share a
// value and whichever side the empty values (NULL) are on: ascending they
// come last, descending first, each run of equal values ordered by id.
func TestCursorWalkInEveryOrder(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Orders")
		seedKeys(t, e, tn.TenantID, 23)
		ctx := access.NewContext(context.Background(), access.System(tn.TenantID))
		keys, err := e.Store.Client.APIKey.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, sort := range []string{"created_at", "expires_at", "last_used_at", "name", "status"} {
			for _, order := range []string{"asc", "desc"} {
				col, ok := paging.ColumnOf[*ent.APIKey](sort)
				if !ok {
					t.Fatalf("no column %s", sort)
				}
				want := slices.Clone(keys)
				slices.SortFunc(want, func(a, b *ent.APIKey) int {
					c := comparePositions(col.Position(a), col.Position(b))
					if order == "desc" {
						c = -c
					}
					return c
				})
				got := walkKeys(t, e, tn.AccessToken, "limit=4&sort="+sort+"&order="+order, nil)
				if !slices.Equal(got, entKeyIDs(want)) {
					t.Errorf("sort=%s order=%s: read\n%v\nwant\n%v", sort, order, got, entKeyIDs(want))
				}
			}
		}
	})
}

// comparePositions orders positions as the lists do ascending: by value,
// empty values last, then by id (bytewise, as both databases compare UUIDs).
func comparePositions(a, b paging.Position) int {
	switch {
	case a.Value == nil && b.Value != nil:
		return 1
	case a.Value != nil && b.Value == nil:
		return -1
	}
	if a.Value != nil {
		var c int
		switch av := a.Value.(type) {
		case time.Time:
			c = av.Compare(b.Value.(time.Time))
		case string:
			c = strings.Compare(av, b.Value.(string))
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(a.ID.String(), b.ID.String())
}

func entKeyIDs(keys []*ent.APIKey) []uuid.UUID {
	out := make([]uuid.UUID, len(keys))
	for i, k := range keys {
		out[i] = k.ID
	}
	return out
}

// seeks matches the row comparison of a page seeking past a cursor, quoted
// either way (PostgreSQL "...", SQLite `...`).
var seeks = regexp.MustCompile("\\([\"`]api_keys[\"`]\\.[\"`]created_at[\"`], [\"`]api_keys[\"`]\\.[\"`]id[\"`]\\) <")

// boundedCount matches the statement that counts a list in the database
// as far as paging.TotalCap + 1 rows past the page's start (paging.countUpTo).
var boundedCount = regexp.MustCompile(fmt.Sprintf(`^SELECT COUNT\(.* LIMIT %d( OFFSET \d+)?\) AS`, paging.TotalCap+1))

func isBoundedCount(statement string) bool { return boundedCount.MatchString(statement) }

// A deep cursor page seeks: its query compares (sort, id) with the
// cursor's, and no statement skips rows, the bounded count of the rest
// included, whatever the depth.
func TestDeepCursorPageSeeks(t *testing.T) {
	t.Parallel()
	countedEnv(t, func(t *testing.T, e *apitest.Env, counter *storetest.Statements) {
		tn := register(t, e, "Deep")
		seedKeys(t, e, tn.TenantID, 60)
		path := "/api/v1/api-keys?limit=5"
		for range 8 {
			var keys []apiKeyJSON
			p := listPage(t, e, tn.AccessToken, path, &keys)
			path = "/api/v1/api-keys?cursor=" + url.QueryEscape(p["next_cursor"].(string))
		}
		var keys []apiKeyJSON
		var p map[string]any
		_, stmts := statementsOf(t, counter, func(h map[string]string) {
			r := do(e, http.MethodGet, path, tn.AccessToken, nil, h)
			wantOK(t, r, http.StatusOK, &keys)
			p = r.Envelope.Meta.Pagination
		})
		if len(keys) != 5 || p["offset"] != 40.0 || p["total"] != 60.0 || p["has_next"] != true {
			t.Errorf("page 9: %d keys, pagination %v; want 5 from 40 of 60", len(keys), p)
		}
		var page string
		for _, s := range stmts {
			if strings.Contains(s, "prefix") {
				page = s
			}
			if strings.Contains(s, "OFFSET") {
				t.Errorf("a statement skips rows: %s", s)
			}
		}
		if page == "" {
			t.Fatalf("no page statement among %q", stmts)
		}
		if !seeks.MatchString(page) || strings.Contains(page, "OFFSET") {
			t.Errorf("the page does not seek: %s", page)
		}
	})
}

// seedAudit adds n audit entries of action to the tenant straight through
// ent, in batches.
func seedAudit(t *testing.T, e *apitest.Env, tenantID uuid.UUID, action string, n int) {
	t.Helper()
	ctx := access.NewContext(context.Background(), access.System(tenantID))
	for n > 0 {
		bulk := make([]*ent.AuditLogCreate, min(n, 500))
		for i := range bulk {
			bulk[i] = e.Store.Client.AuditLog.Create().SetActorType("system").SetAction(action).SetOutcome(auditlog.OutcomeSuccess)
		}
		if err := e.Store.Client.AuditLog.CreateBulk(bulk...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		n -= len(bulk)
	}
}

// Totals are exact as far as paging.TotalCap items past the page's start;
// past that, total is a lower bound and total_is_lower_bound says so.
func TestListTotalsAreBounded(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Totals")
		seedAudit(t, e, tn.TenantID, "scale.test", paging.TotalCap+20)
		seedAudit(t, e, tn.TenantID, "scale.rare", 3)
		ctx := access.NewContext(context.Background(), access.System(tn.TenantID))
		all, err := e.Store.Client.AuditLog.Query().Where(auditlog.TenantID(tn.TenantID)).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		check := func(query string, total int, lowerBound, hasNext bool) map[string]any {
			t.Helper()
			var entries []map[string]any
			p := listPage(t, e, tn.AccessToken, "/api/v1/admin/audit-logs?"+query, &entries)
			if p["total"] != float64(total) || p["has_next"] != hasNext || (p["total_is_lower_bound"] == true) != lowerBound {
				t.Errorf("?%s: pagination %v; want total %d, lower bound %v, has_next %v", query, p, total, lowerBound, hasNext)
			}
			if _, present := p["total_is_lower_bound"]; present && !lowerBound {
				t.Errorf("?%s: total_is_lower_bound present on an exact total: %v", query, p)
			}
			return p
		}
		first := check("limit=50", paging.TotalCap+1, true, true)
		// Past the first 50, fewer than TotalCap are left: counted exactly.
		check("cursor="+url.QueryEscape(first["next_cursor"].(string)), all, false, true)
		check(fmt.Sprintf("limit=50&offset=%d", all-30), all, false, false)
		check("action=scale.rare", 3, false, false)
		check("action=scale.rare&limit=2", 3, false, true)
	})
}

// A connection counts its list only when totalCount is asked for:
// pageInfo comes from the page itself, and is right past a cursor.
func TestConnectionCountsOnlyForTotalCount(t *testing.T) {
	t.Parallel()
	countedEnv(t, func(t *testing.T, e *apitest.Env, counter *storetest.Statements) {
		tn := register(t, e, "Connection")
		seedKeys(t, e, tn.TenantID, 5)
		type conn struct {
			APIKeys struct {
				TotalCount int `json:"totalCount"`
				PageInfo   struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"apiKeys"`
		}
		page := func(query string, vars map[string]any) (conn, []string) {
			var out conn
			_, stmts := statementsOf(t, counter, func(h map[string]string) {
				gql(t, e, tn.AccessToken, query, vars, &out, h)
			})
			return out, stmts
		}
		// totalCount counts as far as the bound (see paging.Connection).
		counts := func(stmts []string) bool { return slices.ContainsFunc(stmts, isBoundedCount) }
		const pageInfo = `query($after: Cursor) { apiKeys(first: 3, after: $after) { pageInfo { hasNextPage endCursor } } }`
		c, stmts := page(pageInfo, nil)
		if counts(stmts) || !c.APIKeys.PageInfo.HasNextPage {
			t.Errorf("pageInfo alone: hasNextPage %v, statements %q; want true and no count", c.APIKeys.PageInfo.HasNextPage, stmts)
		}
		c, stmts = page(pageInfo, map[string]any{"after": c.APIKeys.PageInfo.EndCursor})
		if counts(stmts) || c.APIKeys.PageInfo.HasNextPage {
			t.Errorf("pageInfo of the last page: hasNextPage %v, statements %q; want false and no count", c.APIKeys.PageInfo.HasNextPage, stmts)
		}
		c, stmts = page(`{ apiKeys(first: 3) { totalCount pageInfo { hasNextPage } } }`, nil)
		if !counts(stmts) || c.APIKeys.TotalCount != 5 || !c.APIKeys.PageInfo.HasNextPage {
			t.Errorf("totalCount: %+v, statements %q; want 5 counted", c.APIKeys, stmts)
		}
	})
}

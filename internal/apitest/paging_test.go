package apitest_test

// Paging, sorting and filters on every list route of the route table
// (SPEC §5), each response also validated against the OpenAPI document.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/rest"
)

// pgList is one list route being tested.
type pgList struct {
	rt    rest.Route
	path  string
	token string
}

// pgGet reads l with query, checks the status and the document, and
// returns the response.
func pgGet(t *testing.T, e *apitest.Env, c *ctContract, l pgList, query string, status int) *apitest.Response {
	t.Helper()
	req := apitest.Request{Method: http.MethodGet, Path: "/api/v1" + l.path + "?" + query, Bearer: l.token}
	r := e.Do(req)
	if r.Status != status {
		t.Fatalf("GET %s?%s: %d, want %d: %s", l.path, query, r.Status, status, redact(r.Body))
	}
	c.check(t, e, req, r, status == http.StatusOK)
	return r
}

// pgPage checks a list page: data is an array of n items (-1: any) and
// meta.pagination has the given values.
func pgPage(t *testing.T, r *apitest.Response, n int, want map[string]any) {
	t.Helper()
	var items []any
	r.Data(t, &items)
	if items == nil || (n >= 0 && len(items) != n) {
		t.Fatalf("data %s, want an array of %d", r.Envelope.Data, n)
	}
	p := r.Envelope.Meta.Pagination
	for k, v := range want {
		if fmt.Sprint(p[k]) != fmt.Sprint(v) {
			t.Errorf("meta.pagination.%s = %v, want %v (%v)", k, p[k], v, p)
		}
	}
}

func pgInvalid(t *testing.T, e *apitest.Env, c *ctContract, l pgList, query, field string) {
	t.Helper()
	r := pgGet(t, e, c, l, query, http.StatusUnprocessableEntity)
	if r.ErrorCode() != "VALIDATION_ERROR" || r.Envelope.Error.Details["field"] != field {
		t.Errorf("?%s: %s details %v, want VALIDATION_ERROR naming %s", query, r.ErrorCode(), r.Envelope.Error.Details, field)
	}
}

func TestPagingOnEveryList(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		c := ctLoad(t, e)
		f := ctSetup(t, e)
		// Two more of each resource, so every list has a next page at limit=1.
		for range 2 {
			f.newKey("/api-keys")
			f.newClient()
			f.newCredential()
			createWebhookGQL(t, e, f.owner)
			createGuardrailGQL(t, e, f.owner)
			wantStatus(t, do(e, http.MethodPost, "/api/v1/webhooks/"+f.webhookID+"/test", f.owner, nil), http.StatusAccepted)
		}
		var lists []pgList
		for _, rt := range (&rest.API{}).Routes() {
			if rt.List() {
				lists = append(lists, pgList{rt: rt, path: f.path(rt.Path), token: f.tokenFor(rt)})
			}
		}
		if len(lists) < 5 {
			t.Fatalf("%d list routes, want at least the 5 of today", len(lists))
		}
		// A first page of each, whose next_cursor the others must refuse.
		cursors := make([]string, len(lists))
		totals := make([]int, len(lists))
		for i, l := range lists {
			r := pgGet(t, e, c, l, "limit=1", http.StatusOK)
			pgPage(t, r, 1, map[string]any{"limit": 1, "offset": 0, "has_next": true})
			total, _ := r.Envelope.Meta.Pagination["total"].(float64)
			next, _ := r.Envelope.Meta.Pagination["next_cursor"].(string)
			if total < 2 || next == "" {
				t.Fatalf("%s: total %v, next_cursor %q: give the list two items in the test's setup", l.path, total, next)
			}
			cursors[i], totals[i] = next, int(total)
		}
		for i, l := range lists {
			t.Run(l.rt.Method+" "+l.rt.Path, func(t *testing.T) {
				e := on(t, e)
				total := totals[i]
				// The list's own cursor continues it.
				r := pgGet(t, e, c, l, "cursor="+url.QueryEscape(cursors[i]), http.StatusOK)
				pgPage(t, r, 1, map[string]any{"limit": 1, "offset": 1, "total": total})
				// A cursor of another list is refused.
				pgInvalid(t, e, c, l, "cursor="+url.QueryEscape(cursors[(i+1)%len(lists)]), "cursor")
				pgInvalid(t, e, c, l, "cursor=not-a-cursor", "cursor")
				// Past the end: an empty array, no next page.
				r = pgGet(t, e, c, l, fmt.Sprintf("offset=%d", total+100), http.StatusOK)
				pgPage(t, r, 0, map[string]any{"total": total, "has_next": false, "next_cursor": nil, "offset": total + 100})
				if string(r.Envelope.Data) != "[]" {
					t.Errorf("data past the end is %s, want []", r.Envelope.Data)
				}
				r = pgGet(t, e, c, l, "page=1000&per_page=10", http.StatusOK)
				pgPage(t, r, 0, map[string]any{"page": 1000, "per_page": 10, "has_next": false, "has_previous": true,
					"total_pages": (total + 9) / 10})
				// Page sizes over the maximum are clamped to it.
				r = pgGet(t, e, c, l, "page=1&per_page=1000", http.StatusOK)
				pgPage(t, r, total, map[string]any{"per_page": rest.MaxPerPage, "limit": rest.MaxPerPage, "has_previous": false})
				r = pgGet(t, e, c, l, "limit=100000", http.StatusOK)
				pgPage(t, r, total, map[string]any{"limit": rest.MaxLimit})
				// Defaults.
				r = pgGet(t, e, c, l, "", http.StatusOK)
				pgPage(t, r, total, map[string]any{"limit": rest.DefaultLimit, "offset": 0})
				if _, paged := r.Envelope.Meta.Pagination["page"]; paged {
					t.Error("page in meta.pagination without paging by page")
				}
				r = pgGet(t, e, c, l, "page=2", http.StatusOK)
				pgPage(t, r, -1, map[string]any{"per_page": rest.DefaultPerPage, "offset": rest.DefaultPerPage})
				// Invalid values are 422 naming the parameter.
				for query, field := range map[string]string{"limit=0": "limit", "limit=ten": "limit", "offset=-1": "offset",
					"page=0": "page", "per_page=x": "per_page", "page=1&offset=0": "page", "order=up": "order",
					"sort=no_such_field": "sort"} {
					pgInvalid(t, e, c, l, query, field)
				}
				for _, s := range l.rt.Sort {
					for _, order := range []string{"asc", "desc"} {
						pgPage(t, pgGet(t, e, c, l, "sort="+s+"&order="+order, http.StatusOK), total, map[string]any{"total": total})
					}
				}
				for _, flt := range l.rt.Filters {
					for _, v := range flt.Enum {
						pgGet(t, e, c, l, flt.Name+"="+v, http.StatusOK)
					}
					switch {
					case len(flt.Enum) > 0:
						pgInvalid(t, e, c, l, flt.Name+"=no-such-value", flt.Name)
					case flt.Format == "uuid":
						pgPage(t, pgGet(t, e, c, l, flt.Name+"="+uuid.NewString(), http.StatusOK), 0, map[string]any{"total": 0})
						pgInvalid(t, e, c, l, flt.Name+"=not-a-uuid", flt.Name)
					case flt.Format == "date-time":
						pgGet(t, e, c, l, flt.Name+"="+url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano)), http.StatusOK)
						pgInvalid(t, e, c, l, flt.Name+"=not-a-time", flt.Name)
					default:
						pgPage(t, pgGet(t, e, c, l, flt.Name+"=no-such-value", http.StatusOK), 0, map[string]any{"total": 0})
					}
				}
			})
		}
	}, withAdmin)
}

// TestCursorsOfAnotherOrderAreInvalidInput: a GraphQL connection checks its
// after and before cursors against the order in effect before the database
// sees them. A cursor that order could not have written (an order value
// under the default order by id, which writes none; a value of another
// type than the ordered field's; an integer past the largest signed one)
// is a VALIDATION_ERROR naming the argument, where PostgreSQL failed to
// compare it (INTERNAL_ERROR) and SQLite answered a page of whatever its
// loose comparison gave. Cursors the connection wrote still page, under
// the default order and the ordered ones alike.
func TestCursorsOfAnotherOrderAreInvalidInput(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Cursors")
		for range 3 {
			tn.key(t, "api_keys:read")
		}
		crafted := func(v any) string {
			var b bytes.Buffer
			entgql.Cursor[any]{ID: uuid.New(), Value: v}.MarshalGQL(&b)
			s, err := strconv.Unquote(b.String())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		for _, c := range []struct {
			connection, orderBy string
			foreign             []any
		}{
			{"apiKeys", "", []any{"x", time.Now(), int64(5), uuid.NewString()}},
			{"apiKeys", "{field: NAME, direction: ASC}", []any{time.Now(), int64(5), true}},
			{"apiKeys", "{field: EXPIRES_AT, direction: DESC}", []any{"2030-01-01T00:00:00Z", 1.5}},
			{"auditLogs", "", []any{"x", "2030-01-01T00:00:00Z", uint64(1 << 63)}}, // newest first by default
			{"users", "{field: EMAIL, direction: ASC}", []any{time.Now(), uint64(1 << 63)}},
			{"credentials", "{field: CREATED_AT, direction: ASC}", []any{"x"}},
		} {
			order := ""
			if c.orderBy != "" {
				order = ", orderBy: " + c.orderBy
			}
			for _, v := range c.foreign {
				for _, arg := range []string{"after", "before"} {
					size := map[string]string{"after": "first", "before": "last"}[arg]
					q := fmt.Sprintf(`query($c: Cursor) { %s(%s: $c, %s: 2%s) { edges { cursor } } }`, c.connection, arg, size, order)
					gqlErr(t, e, tn.AccessToken, q, map[string]any{"c": crafted(v)}, "VALIDATION_ERROR", "field", arg)
				}
			}
			var first map[string]struct {
				TotalCount int
				Edges      []struct{ Cursor string }
			}
			gql(t, e, tn.AccessToken, fmt.Sprintf(`{ %s(first: 1%s) { totalCount edges { cursor } } }`, c.connection, order), nil, &first)
			page := first[c.connection]
			if len(page.Edges) == 0 {
				continue
			}
			var next map[string]struct{ Edges []struct{ Cursor string } }
			gql(t, e, tn.AccessToken, fmt.Sprintf(`query($c: Cursor) { %s(after: $c, first: 50%s) { edges { cursor } } }`, c.connection, order),
				map[string]any{"c": page.Edges[0].Cursor}, &next)
			if got := len(next[c.connection].Edges); got != page.TotalCount-1 {
				t.Errorf("%s%s after its first cursor: %d edges, want %d", c.connection, order, got, page.TotalCount-1)
			}
		}
	})
}

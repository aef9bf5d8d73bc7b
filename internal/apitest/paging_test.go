package apitest_test

// Paging, sorting and filters on every list route of the route table
// (SPEC §5), each response also validated against the OpenAPI document.

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

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

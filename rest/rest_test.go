package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/rest"
)

func TestMain(m *testing.M) {
	// Internal errors are logged with their cause; keep test output clean.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// envelope is the REST envelope as a client decodes it.
type envelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	Meta struct {
		RequestID  string          `json:"request_id"`
		Pagination json.RawMessage `json:"pagination"`
	} `json:"meta"`
	Timestamp string `json:"timestamp"`
}

type response struct {
	status int
	header http.Header
	body   []byte
	env    envelope
}

func (r *response) code() string {
	if r.env.Error == nil {
		return ""
	}
	return r.env.Error.Code
}

// widget is a request body with the usual kinds of field.
type widget struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

type item struct {
	N         int       `json:"n"`
	ID        uuid.UUID `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Name      string    `json:"name"`
}

const requestID = "req-test-1"

// router mounts test routes on chi, with the request info the server's
// middleware would add.
func router(routes ...rest.Route) http.Handler {
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			next.ServeHTTP(w, req.WithContext(reqinfo.NewContext(req.Context(), &reqinfo.Info{RequestID: requestID})))
		})
	})
	r.NotFound(rest.NotFound)
	r.MethodNotAllowed(rest.MethodNotAllowed)
	for _, rt := range routes {
		r.Method(rt.Method, rt.Path, &rt)
	}
	return r
}

func widgetRoute() rest.Route {
	return rest.HandleBody(rest.Route{
		Method: http.MethodPost, Path: "/widgets", Status: http.StatusCreated, Message: "widget created",
	}, func(_ context.Context, _ *rest.Call, in *widget) (*widget, error) {
		return in, nil
	})
}

// items is a list of n items; the list route pages over it in the order
// of N, whatever the sort, and a cursor page starts past its cursor's item.
func itemsRoute(n int) rest.Route {
	all := make([]item, n)
	for i := range all {
		all[i] = item{N: i + 1, ID: uuid.New(), CreatedAt: time.Unix(int64(i), 0).UTC(), Name: fmt.Sprint("item ", i+1)}
	}
	return rest.HandleList(rest.Route{
		Method: http.MethodGet, Path: "/items", Status: http.StatusOK, Message: "items",
		Sort: []string{"created_at", "name"},
	}, func(_ context.Context, _ *rest.Call, w paging.Window) ([]item, int, error) {
		if n == 0 {
			return nil, 0, nil // a nil page must still be an array
		}
		lo := min(w.Offset, n)
		if w.After != nil {
			lo = slices.IndexFunc(all, func(it item) bool { return it.ID == w.After.ID }) + 1
		}
		hi := min(lo+w.Limit, n)
		return all[lo:hi], n, nil
	}, func(it item) item { return it })
}

func serve(t *testing.T, h http.Handler, req *http.Request) *response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if err := json.Unmarshal(out.body, &out.env); err != nil {
		t.Fatalf("response is not an envelope: %v\n%s", err, out.body)
	}
	if out.env.Meta.RequestID != requestID {
		t.Errorf("meta.request_id = %q, want %q", out.env.Meta.RequestID, requestID)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", out.env.Timestamp); err != nil {
		t.Errorf("timestamp %q: %v", out.env.Timestamp, err)
	}
	if ct := out.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if out.env.Success != (out.status < 400) {
		t.Errorf("success = %v with status %d", out.env.Success, out.status)
	}
	if (out.env.Error == nil) != (out.status < 400) {
		t.Errorf("error = %v with status %d", out.env.Error, out.status)
	}
	return out
}

func post(body io.Reader, ctype string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/widgets", body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	return req
}

func TestHandleBody(t *testing.T) {
	t.Parallel()
	h := router(widgetRoute())
	for _, tc := range []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
		// field and reason are the 422 details.
		field, reason string
		want          *widget
	}{
		{name: "valid", body: `{"name":"w","count":3,"tags":["a","b"]}`, ctype: "application/json",
			status: 201, want: &widget{Name: "w", Count: 3, Tags: []string{"a", "b"}}},
		{name: "charset parameter", body: `{"name":"w"}`, ctype: "application/json; charset=utf-8",
			status: 201, want: &widget{Name: "w"}},
		{name: "+json media type", body: `{"count":1}`, ctype: "application/merge-patch+json",
			status: 201, want: &widget{Count: 1}},
		{name: "malformed JSON", body: `{"name":`, ctype: "application/json", status: 400, code: "INVALID_REQUEST"},
		{name: "trailing comma", body: `{"name":"w",}`, ctype: "application/json", status: 400, code: "INVALID_REQUEST"},
		{name: "text/plain", body: `{"name":"w"}`, ctype: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "form", body: `name=w`, ctype: "application/x-www-form-urlencoded", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "body without content type", body: `{"name":"w"}`, status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "unknown field", body: `{"name":"w","colour":"red"}`, ctype: "application/json",
			status: 422, code: "VALIDATION_ERROR", field: "colour", reason: "unknown"},
		{name: "wrong type int", body: `{"count":"x"}`, ctype: "application/json",
			status: 422, code: "VALIDATION_ERROR", field: "count", reason: "must be an integer"},
		{name: "wrong type string", body: `{"name":7}`, ctype: "application/json",
			status: 422, code: "VALIDATION_ERROR", field: "name", reason: "must be a string"},
		{name: "wrong type array", body: `{"tags":"a"}`, ctype: "application/json",
			status: 422, code: "VALIDATION_ERROR", field: "tags", reason: "must be an array"},
		{name: "array body", body: `[{"name":"w"}]`, ctype: "application/json", status: 400, code: "INVALID_REQUEST"},
		{name: "string body", body: `"w"`, ctype: "application/json", status: 400, code: "INVALID_REQUEST"},
		{name: "trailing garbage", body: `{"name":"w"} garbage`, ctype: "application/json", status: 400, code: "INVALID_REQUEST"},
		{name: "two objects", body: `{"name":"w"}{"name":"v"}`, ctype: "application/json", status: 400, code: "INVALID_REQUEST"},
		{name: "empty body without content type", body: "", status: 201, want: &widget{}},
		{name: "blank body without content type", body: " \n", status: 201, want: &widget{}},
		{name: "empty body declared JSON", body: "", ctype: "application/json", status: 400, code: "INVALID_REQUEST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := serve(t, h, post(strings.NewReader(tc.body), tc.ctype))
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.code() != tc.code {
				t.Errorf("code %q, want %q", r.code(), tc.code)
			}
			if tc.field != "" {
				d := r.env.Error.Details
				if d["field"] != tc.field || d["reason"] != tc.reason {
					t.Errorf("details = %v, want field %q reason %q", d, tc.field, tc.reason)
				}
			}
			if tc.want != nil {
				if r.env.Message != "widget created" {
					t.Errorf("message = %q", r.env.Message)
				}
				var got widget
				if err := json.Unmarshal(r.env.Data, &got); err != nil {
					t.Fatal(err)
				}
				if got.Name != tc.want.Name || got.Count != tc.want.Count || strings.Join(got.Tags, ",") != strings.Join(tc.want.Tags, ",") {
					t.Errorf("data = %+v, want %+v", got, *tc.want)
				}
			}
			if tc.status >= 400 && bytes.Contains(r.body, []byte("garbage")) {
				t.Error("the error echoes the body")
			}
		})
	}
}

// chunked hides a reader's length, as a body sent without Content-Length.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestHandleBodyTooLarge(t *testing.T) {
	t.Parallel()
	h := router(widgetRoute())
	const limit = 1 << 20
	big := `{"name":"` + strings.Repeat("x", limit) + `"}`
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"over 1 MiB", big, 413, "PAYLOAD_TOO_LARGE"},
		{"just under 1 MiB", `{"name":"` + strings.Repeat("x", limit-20) + `"}`, 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := post(chunked{strings.NewReader(tc.body)}, "application/json")
			rec := httptest.NewRecorder()
			req.Body = http.MaxBytesReader(rec, req.Body, limit)
			h.ServeHTTP(rec, req)
			var env envelope
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.code != "" && (env.Error == nil || env.Error.Code != tc.code) {
				t.Errorf("error = %+v, want %s", env.Error, tc.code)
			}
			if tc.code != "" && bytes.Contains(rec.Body.Bytes(), []byte("xxxxxxxx")) {
				t.Error("the error echoes the body")
			}
		})
	}
}

func TestHandleListEmpty(t *testing.T) {
	t.Parallel()
	r := serve(t, router(itemsRoute(0)), httptest.NewRequest(http.MethodGet, "/items", nil))
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if string(r.env.Data) != "[]" {
		t.Errorf("data = %s, want []", r.env.Data)
	}
	var page map[string]any
	if err := json.Unmarshal(r.env.Meta.Pagination, &page); err != nil {
		t.Fatalf("meta.pagination %s: %v", r.env.Meta.Pagination, err)
	}
	want := map[string]any{"limit": 50.0, "offset": 0.0, "total": 0.0, "has_next": false, "next_cursor": nil}
	if len(page) != len(want) {
		t.Errorf("pagination = %v, want exactly %v", page, want)
	}
	for k, v := range want {
		if got, ok := page[k]; !ok || got != v {
			t.Errorf("pagination.%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
}

type pagination struct {
	Limit       int     `json:"limit"`
	Offset      int     `json:"offset"`
	Total       int     `json:"total"`
	HasNext     bool    `json:"has_next"`
	NextCursor  *string `json:"next_cursor"`
	Page        *int    `json:"page"`
	PerPage     *int    `json:"per_page"`
	TotalPages  *int    `json:"total_pages"`
	HasPrevious *bool   `json:"has_previous"`
}

func listPage(t *testing.T, h http.Handler, query string) ([]item, pagination, *response) {
	t.Helper()
	r := serve(t, h, httptest.NewRequest(http.MethodGet, "/items?"+query, nil))
	if r.status != 200 {
		return nil, pagination{}, r
	}
	var items []item
	if err := json.Unmarshal(r.env.Data, &items); err != nil {
		t.Fatal(err)
	}
	var p pagination
	if err := json.Unmarshal(r.env.Meta.Pagination, &p); err != nil {
		t.Fatal(err)
	}
	return items, p, r
}

func ns(items []item) []int {
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = it.N
	}
	return out
}

func TestHandleListCursorWalk(t *testing.T) {
	t.Parallel()
	h := router(itemsRoute(5))
	var seen []int
	query := "limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the cursor never ends")
		}
		items, p, r := listPage(t, h, query)
		if r.status != 200 {
			t.Fatalf("%s: status %d %s", query, r.status, r.body)
		}
		if p.Total != 5 || p.Limit != 2 || p.Offset != len(seen) {
			t.Errorf("%s: pagination %+v", query, p)
		}
		seen = append(seen, ns(items)...)
		if !p.HasNext {
			if p.NextCursor != nil {
				t.Errorf("last page has next_cursor %q", *p.NextCursor)
			}
			break
		}
		if p.NextCursor == nil {
			t.Fatalf("%s: has_next without next_cursor", query)
		}
		// The cursor alone carries the offset and the page size.
		query = "cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if fmt.Sprint(seen) != "[1 2 3 4 5]" {
		t.Errorf("walked %v, want 1..5 once each", seen)
	}
}

func TestHandleListPastTheEnd(t *testing.T) {
	t.Parallel()
	h := router(itemsRoute(3))
	items, p, r := listPage(t, h, "offset=10")
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	if string(r.env.Data) != "[]" || len(items) != 0 {
		t.Errorf("data = %s, want []", r.env.Data)
	}
	if p.HasNext || p.NextCursor != nil || p.Total != 3 || p.Offset != 10 {
		t.Errorf("pagination = %+v", p)
	}
}

func TestHandleListByPage(t *testing.T) {
	t.Parallel()
	h := router(itemsRoute(45))
	for _, tc := range []struct {
		query                     string
		first, count              int
		page, perPage, totalPages int
		hasPrev, hasNext          bool
	}{
		{"page=1&per_page=10", 1, 10, 1, 10, 5, false, true},
		{"page=2&per_page=10", 11, 10, 2, 10, 5, true, true},
		{"page=5&per_page=10", 41, 5, 5, 10, 5, true, false},
		{"page=2", 21, 20, 2, 20, 3, true, true},
		{"per_page=500", 1, 45, 1, 100, 1, false, false},
		{"page=9&per_page=10", 0, 0, 9, 10, 5, true, false},
	} {
		items, p, r := listPage(t, h, tc.query)
		if r.status != 200 {
			t.Errorf("%s: status %d %s", tc.query, r.status, r.body)
			continue
		}
		if len(items) != tc.count || (tc.count > 0 && items[0].N != tc.first) {
			t.Errorf("%s: items %v, want %d from %d", tc.query, ns(items), tc.count, tc.first)
		}
		if p.Page == nil || p.PerPage == nil || p.TotalPages == nil || p.HasPrevious == nil {
			t.Fatalf("%s: page fields missing: %s", tc.query, r.env.Meta.Pagination)
		}
		if *p.Page != tc.page || *p.PerPage != tc.perPage || *p.TotalPages != tc.totalPages ||
			*p.HasPrevious != tc.hasPrev || p.HasNext != tc.hasNext || p.Limit != tc.perPage ||
			p.Offset != (tc.page-1)*tc.perPage || p.Total != 45 {
			t.Errorf("%s: pagination %s", tc.query, r.env.Meta.Pagination)
		}
	}
}

func TestHandleListRejectsBadParameters(t *testing.T) {
	t.Parallel()
	h := router(itemsRoute(3))
	for query, field := range map[string]string{
		"limit=0":         "limit",
		"limit=-5":        "limit",
		"limit=ten":       "limit",
		"offset=-1":       "offset",
		"sort=password":   "sort",
		"order=sideways":  "order",
		"cursor=nonsense": "cursor",
	} {
		_, _, r := listPage(t, h, query)
		if r.status != 422 || r.code() != "VALIDATION_ERROR" || r.env.Error.Details["field"] != field {
			t.Errorf("%s: %d %s, want 422 naming %s", query, r.status, r.body, field)
		}
		if string(r.env.Data) != "" {
			t.Errorf("%s: error response has data %s", query, r.env.Data)
		}
	}
}

func TestIDParam(t *testing.T) {
	t.Parallel()
	h := router(rest.Handle(rest.Route{Method: http.MethodGet, Path: "/things/{id}", Status: 200},
		func(_ context.Context, c *rest.Call) (map[string]string, error) {
			id, err := c.IDParam("id")
			if err != nil {
				return nil, err
			}
			return map[string]string{"id": id.String(), "q": c.Query("q")}, nil
		}))
	id := uuid.New()
	r := serve(t, h, httptest.NewRequest(http.MethodGet, "/things/"+id.String()+"?q=v", nil))
	if r.status != 200 || !strings.Contains(string(r.env.Data), id.String()) || !strings.Contains(string(r.env.Data), `"q":"v"`) {
		t.Errorf("status %d data %s", r.status, r.env.Data)
	}
	// A malformed id is exactly as unknown as an id that does not exist.
	r = serve(t, h, httptest.NewRequest(http.MethodGet, "/things/not-a-uuid", nil))
	if r.status != 404 || r.code() != "NOT_FOUND" {
		t.Errorf("malformed id: %d %s", r.status, r.body)
	}
}

func TestErrorsInTheEnvelope(t *testing.T) {
	t.Parallel()
	route := func(path string, err error) rest.Route {
		return rest.Handle(rest.Route{Method: http.MethodGet, Path: path, Status: 200},
			func(context.Context, *rest.Call) (any, error) { return nil, err })
	}
	h := router(
		route("/internal", errors.New("pq: password authentication failed for user secretuser")),
		route("/unauth", apperr.Unauthenticated("expired")),
		route("/denied", apperr.Denied("vault:admin")),
		route("/timeout", context.DeadlineExceeded),
	)
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/internal", 500, "INTERNAL_ERROR"},
		{"/unauth", 401, "UNAUTHORIZED"},
		{"/denied", 403, "FORBIDDEN"},
		{"/timeout", 503, "SERVICE_UNAVAILABLE"},
		{"/nowhere", 404, "NOT_FOUND"},
	} {
		r := serve(t, h, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if r.status != tc.status || r.code() != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.path, r.status, r.body, tc.status, tc.code)
		}
	}
	r := serve(t, h, httptest.NewRequest(http.MethodGet, "/internal", nil))
	if bytes.Contains(r.body, []byte("secretuser")) || bytes.Contains(r.body, []byte("pq:")) || r.env.Error.Message != "internal server error" {
		t.Errorf("internal error leaks its cause: %s", r.body)
	}
	r = serve(t, h, httptest.NewRequest(http.MethodGet, "/unauth", nil))
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	if r.env.Error.Details["reason"] != "expired" {
		t.Errorf("details = %v", r.env.Error.Details)
	}
	r = serve(t, h, httptest.NewRequest(http.MethodGet, "/denied", nil))
	if r.env.Error.Details["required_scope"] != "vault:admin" {
		t.Errorf("details = %v", r.env.Error.Details)
	}
	r = serve(t, h, httptest.NewRequest(http.MethodPost, "/internal", nil))
	if r.status != 405 || r.code() != "METHOD_NOT_ALLOWED" {
		t.Errorf("wrong method: %d %s", r.status, r.body)
	}
}

func TestParsePaging(t *testing.T) {
	t.Parallel()
	sortable := []string{"created_at", "name"}
	type want struct {
		limit, offset, page int
		byPage              bool
		sort                string
		desc                bool
	}
	def := want{limit: 50, offset: 0, sort: "created_at", desc: true}
	with := func(f func(*want)) want { w := def; f(&w); return w }
	for _, tc := range []struct {
		query string
		want  want
	}{
		{"", def},
		{"limit=10&offset=30", with(func(w *want) { w.limit, w.offset = 10, 30 })},
		{"limit=200", with(func(w *want) { w.limit = 200 })},
		{"limit=201", with(func(w *want) { w.limit = 200 })},
		{"limit=100000", with(func(w *want) { w.limit = 200 })},
		{"limit=1", with(func(w *want) { w.limit = 1 })},
		{"offset=1000000", with(func(w *want) { w.offset = 1000000 })},
		{"page=1", with(func(w *want) { w.limit, w.page, w.byPage = 20, 1, true })},
		{"page=3&per_page=10", with(func(w *want) { w.limit, w.offset, w.page, w.byPage = 10, 20, 3, true })},
		{"per_page=100", with(func(w *want) { w.limit, w.page, w.byPage = 100, 1, true })},
		{"per_page=101", with(func(w *want) { w.limit, w.page, w.byPage = 100, 1, true })},
		{"page=2&per_page=1000", with(func(w *want) { w.limit, w.offset, w.page, w.byPage = 100, 100, 2, true })},
		{"sort=name", with(func(w *want) { w.sort = "name" })},
		{"sort=name&order=asc", with(func(w *want) { w.sort, w.desc = "name", false })},
		{"order=desc", def},
		{"order=asc", with(func(w *want) { w.desc = false })},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		p, err := rest.ParsePaging(q, "GET /items", sortable)
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		got := want{limit: p.Limit, offset: p.Offset, page: p.Page, byPage: p.ByPage, sort: p.Sort, desc: p.Desc}
		if got != tc.want {
			t.Errorf("%q: got %+v, want %+v", tc.query, got, tc.want)
		}
	}
}

func TestParsePagingErrors(t *testing.T) {
	t.Parallel()
	sortable := []string{"created_at", "name"}
	// A cursor of another list, and one of this list, for the cases below.
	other := nextCursor(t, "GET /other", "limit=5")
	mine := nextCursor(t, "GET /items", "limit=5")
	for _, tc := range []struct {
		query, field string
	}{
		{"limit=-1", "limit"},
		{"limit=0", "limit"},
		{"limit=abc", "limit"},
		{"limit=1.5", "limit"},
		{"limit=", "limit"},
		{"offset=-1", "offset"},
		{"offset=x", "offset"},
		{"page=0", "page"},
		{"page=-2", "page"},
		{"page=two", "page"},
		{"per_page=0", "per_page"},
		{"per_page=-1", "per_page"},
		{"per_page=many", "per_page"},
		{"page=2&limit=10", "page"},
		{"per_page=10&offset=10", "page"},
		{"cursor=" + url.QueryEscape(other), "cursor"},
		{"cursor=garbage", "cursor"},
		{"cursor=e30", "cursor"}, // base64 of {}: no list, no limit
		{"cursor=" + url.QueryEscape(mine) + "&offset=3", "cursor"},
		{"cursor=" + url.QueryEscape(mine) + "&page=2", "cursor"},
		{"sort=password_hash", "sort"},
		{"sort=NAME", "sort"},
		{"order=sideways", "order"},
		{"order=ASC", "order"},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rest.ParsePaging(q, "GET /items", sortable)
		var ae *apperr.Error
		if !errors.As(err, &ae) {
			t.Errorf("%q: err = %v, want a validation error", tc.query, err)
			continue
		}
		if ae.Code != apperr.Validation || ae.Code.Status() != 422 || ae.Details["field"] != tc.field {
			t.Errorf("%q: %s %v, want VALIDATION_ERROR naming %s", tc.query, ae.Code, ae.Details, tc.field)
		}
	}
	// An unknown sort field lists the allowed ones.
	_, err := rest.ParsePaging(url.Values{"sort": {"nope"}}, "GET /items", sortable)
	var ae *apperr.Error
	if errors.As(err, &ae) {
		if allowed, ok := ae.Details["allowed"].([]string); !ok || strings.Join(allowed, ",") != "created_at,name" {
			t.Errorf("details.allowed = %v", ae.Details["allowed"])
		}
	}
}

// nextCursor returns the next_cursor of the first page of list.
func nextCursor(t *testing.T, list, query string) string {
	t.Helper()
	q, _ := url.ParseQuery(query)
	p, err := rest.ParsePaging(q, list, []string{"created_at"})
	if err != nil {
		t.Fatal(err)
	}
	pg := p.Pagination(1000, false, &paging.Position{Value: time.Now(), ID: uuid.New()})
	if pg.NextCursor == nil {
		t.Fatal("no next cursor")
	}
	return *pg.NextCursor
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	sortable := []string{"created_at", "name"}
	for _, tc := range []struct {
		query      string
		nextOffset int
		nextLimit  int
	}{
		{"limit=10", 10, 10},
		{"limit=10&offset=35", 45, 10},
		{"", 50, 50},
		{"page=3&per_page=7", 21, 7},
	} {
		q, _ := url.ParseQuery(tc.query)
		p, err := rest.ParsePaging(q, "GET /items", sortable)
		if err != nil {
			t.Fatal(err)
		}
		pg := p.Pagination(1000, false, &paging.Position{Value: "a name", ID: uuid.New()})
		if !pg.HasNext || pg.NextCursor == nil {
			t.Fatalf("%q: no next page of 1000", tc.query)
		}
		next, err := rest.ParsePaging(url.Values{"cursor": {*pg.NextCursor}}, "GET /items", sortable)
		if err != nil {
			t.Fatalf("%q: the next cursor does not parse: %v", tc.query, err)
		}
		if next.Offset != tc.nextOffset || next.Limit != tc.nextLimit || next.ByPage {
			t.Errorf("%q: next page offset %d limit %d byPage %v, want %d %d", tc.query,
				next.Offset, next.Limit, next.ByPage, tc.nextOffset, tc.nextLimit)
		}
		// An explicit limit wins over the cursor's.
		next, err = rest.ParsePaging(url.Values{"cursor": {*pg.NextCursor}, "limit": {"3"}}, "GET /items", sortable)
		if err != nil || next.Limit != 3 || next.Offset != tc.nextOffset {
			t.Errorf("%q: cursor with limit=3: %+v, %v", tc.query, next, err)
		}
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query    string
		total    int
		hasNext  bool
		pages    int
		previous bool
	}{
		{"limit=10", 0, false, -1, false},
		{"limit=10", 10, false, -1, false},
		{"limit=10", 11, true, -1, false},
		{"offset=40&limit=10", 50, false, -1, false},
		{"page=1&per_page=10", 0, false, 0, false},
		{"page=1&per_page=10", 95, true, 10, false},
		{"page=10&per_page=10", 95, false, 10, true},
		{"page=11&per_page=10", 95, false, 10, true},
	} {
		q, _ := url.ParseQuery(tc.query)
		p, err := rest.ParsePaging(q, "GET /items", nil)
		if err != nil {
			t.Fatal(err)
		}
		pg := p.Pagination(tc.total, false, &paging.Position{ID: uuid.New()})
		if pg.Total != tc.total || pg.HasNext != tc.hasNext || (pg.NextCursor != nil) != tc.hasNext ||
			pg.Limit != p.Limit || pg.Offset != p.Offset {
			t.Errorf("%q of %d: %+v", tc.query, tc.total, pg)
		}
		if tc.pages < 0 {
			if pg.Page != nil || pg.PerPage != nil || pg.TotalPages != nil || pg.HasPrevious != nil {
				t.Errorf("%q: page fields without paging by page", tc.query)
			}
			continue
		}
		if pg.TotalPages == nil || *pg.TotalPages != tc.pages || pg.HasPrevious == nil || *pg.HasPrevious != tc.previous ||
			pg.Page == nil || *pg.Page != p.Page || pg.PerPage == nil || *pg.PerPage != p.Limit {
			t.Errorf("%q of %d: page fields %+v", tc.query, tc.total, pg)
		}
	}
}

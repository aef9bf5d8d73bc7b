package apitest_test

// Fuzzing (issue 13): whatever a client sends — any body to any route of
// the REST table, any query string to a list, any cursor, any GraphQL
// document and variables — the real server answers it without a 5xx or a
// panic (which the server turns into a 500), and GraphQL never with
// INTERNAL_ERROR. Each input goes through the whole handler chain of one
// server per backend of storetest, in process, authenticated with a tenant
// owner's API key. `go test` runs the seeds below and the inputs committed
// under testdata/fuzz; `go test -fuzz` explores from them (.ci/run, README).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/rest"
)

// routes is the REST route table the targets pick from by index.
var routes = (&rest.API{}).Routes()

// listRoutes are the routes of the table that answer a page of items.
var listRoutes = func() []rest.Route {
	var out []rest.Route
	for _, rt := range routes {
		if rt.List() {
			out = append(out, rt)
		}
	}
	return out
}()

// connections are the GraphQL connections the cursor target pages through.
var connections = []string{"apiKeys", "credentials", "oauthClients", "serviceAccounts", "users", "auditLogs", "tenants"}

// fuzzServer is a server and the tenant the fuzzed requests act in: the
// API key they authenticate with and, per path parameter of the route
// table, something of the tenant that it names.
type fuzzServer struct {
	e      *apitest.Env
	key    string
	params map[string]string
}

// fuzzServers starts a server on every backend, each with its tenant.
func fuzzServers(f *testing.F) []*fuzzServer {
	var out []*fuzzServer
	for _, b := range storetest.Backends() {
		s := &fuzzServer{e: apitest.New(f, storetest.Open(f, b))}
		s.provision(f)
		out = append(out, s)
	}
	return out
}

// env is the server's Env reporting to t: inside a fuzz function only the
// input's *testing.T may fail.
func (s *fuzzServer) env(t testing.TB) *apitest.Env {
	e := *s.e
	e.T = t
	return &e
}

// provision registers a new tenant and creates its key and one of each
// thing a path parameter names.
func (s *fuzzServer) provision(t testing.TB) {
	t.Helper()
	e := s.env(t)
	tn := register(t, e, "Fuzz")
	s.key = tn.key(t).Key
	client := tn.createClient(t, map[string]any{"name": "fuzzed", "scopes": []string{"api_keys:read"}})
	var cred struct{ ID string }
	wantOK(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{"integration_id": "fuzz",
		"auth_type": "bearer_token", "data": map[string]any{"token": "fuzzed"}}), http.StatusCreated, &cred)
	s.params = map[string]string{
		"keyId":         tn.key(t).ID.String(),
		"clientId":      client.ClientID,
		"integrationId": "fuzz",
		"credentialId":  cred.ID,
		"jobName":       jobs.ExpireAPIKeys,
		"tenantId":      tn.TenantID.String(),
		"id":            createUser(t, e, tn.AccessToken, "member-"+randTag()+"@fuzz.test", "member", "").ID,
	}
}

// serve sends one request through the server's handler with the tenant's
// key (none when anonymous).
func (s *fuzzServer) serve(method, path, rawQuery, contentType string, body []byte, anonymous bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", bytes.NewReader(body))
	req.URL = &url.URL{Path: path, RawQuery: rawQuery}
	req.RequestURI = req.URL.RequestURI()
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if !anonymous {
		req.Header.Set("X-API-Key", s.key)
	}
	rec := httptest.NewRecorder()
	s.e.Handler().ServeHTTP(rec, req)
	return rec
}

// keepTenant provisions a new tenant when an input ended the key or the
// tenant (a revocation, a suspension, an allowlist), so that later inputs
// still reach the routes behind authentication.
func (s *fuzzServer) keepTenant(t *testing.T) {
	t.Helper()
	if s.serve(http.MethodGet, "/api/v1/auth/me", "", "", nil, false).Code != http.StatusOK {
		s.provision(t)
	}
}

// wantListsAnswer fails unless every list still answers after what an
// input changed: a value stored but unreadable breaks its list.
func (s *fuzzServer) wantListsAnswer(t *testing.T, after string) {
	t.Helper()
	for _, rt := range listRoutes {
		wantEnvelope(t, "GET "+rt.Path+" after "+after, s.serve(http.MethodGet, "/api/v1"+rt.Path, "", "", nil, false))
	}
}

// wantEnvelope fails on a 5xx, and on an answer of /api/v1 that is not the
// envelope its status calls for.
func wantEnvelope(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d: %s", what, rec.Code, redact(rec.Body.Bytes()))
	}
	var env apitest.Envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s: %d answer is not an envelope: %s", what, rec.Code, redact(rec.Body.Bytes()))
	}
	failed := env.Error != nil && env.Error.Code != ""
	if env.Success != (rec.Code < 400) || failed == env.Success {
		t.Fatalf("%s: %d answer with success %v and error %v: %s", what, rec.Code, env.Success, env.Error, redact(rec.Body.Bytes()))
	}
}

// wantOpenAIShape fails on a 5xx, and unless an OpenAI-compatible route's
// answer is JSON (or its event stream), an error being OpenAI's
// {"error": {message, type}}.
func wantOpenAIShape(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d: %s", what, rec.Code, redact(rec.Body.Bytes()))
	}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
		return
	}
	var answer struct {
		Error *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
		t.Fatalf("%s: %d answer is not JSON: %s", what, rec.Code, redact(rec.Body.Bytes()))
	}
	if failed := answer.Error != nil && answer.Error.Message != "" && answer.Error.Type != ""; failed != (rec.Code >= 400) {
		t.Fatalf("%s: %d answer not in OpenAI's shape: %s", what, rec.Code, redact(rec.Body.Bytes()))
	}
}

// wantStream fails unless a streaming route's 200 is in one of its media
// types, each NDJSON line a JSON object.
func wantStream(t *testing.T, what string, rt rest.Route, rec *httptest.ResponseRecorder) {
	t.Helper()
	ct, _, _ := strings.Cut(rec.Header().Get("Content-Type"), ";")
	if !slices.Contains(rt.Streams, ct) {
		t.Fatalf("%s: 200 answer of type %q, want one of %v", what, ct, rt.Streams)
	}
	if ct != "application/x-ndjson" {
		return
	}
	for line := range strings.Lines(rec.Body.String()) {
		var item map[string]any
		if err := json.Unmarshal([]byte(line), &item); err != nil {
			t.Fatalf("%s: line %q is not a JSON object: %v", what, line, err)
		}
	}
}

// wantGraphQLAnswered fails on a 5xx and on an INTERNAL_ERROR.
func wantGraphQLAnswered(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d: %s", what, rec.Code, redact(rec.Body.Bytes()))
	}
	var g apitest.GraphQLResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &g); err != nil {
		t.Fatalf("%s: %d answer is not JSON: %s", what, rec.Code, redact(rec.Body.Bytes()))
	}
	for _, e := range g.Errors {
		if e.Extensions["code"] == "INTERNAL_ERROR" {
			t.Fatalf("%s: INTERNAL_ERROR: %s", what, redact(rec.Body.Bytes()))
		}
	}
}

// routePath is the route's path under /api/v1 with its parameters filled:
// the i-th from params split at "/" when given there, else what the
// tenant has for it.
func routePath(rt rest.Route, params string, have map[string]string) string {
	given := strings.Split(params, "/")
	path, i := rt.Path, 0
	for {
		open := strings.IndexByte(path, '{')
		if open < 0 {
			return "/api/v1" + path
		}
		end := open + strings.IndexByte(path[open:], '}')
		v := have[path[open+1:end]]
		if i < len(given) && given[i] != "" {
			v = given[i]
		}
		path, i = path[:open]+v+path[end+1:], i+1
	}
}

// seedBodies are real request bodies of the routes, by method and path.
var seedBodies = map[string]string{
	"POST /auth/register":                               `{"tenant_name":"Seeded","email":"owner@seeded.test","password":"correct-horse-battery","name":"Owner"}`,
	"POST /auth/login":                                  `{"email":"owner@seeded.test","password":"correct-horse-battery","tenant":"seeded"}`,
	"POST /auth/refresh":                                `{"refresh_token":"cvr_0000"}`,
	"POST /api-keys":                                    `{"name":"ci","scopes":["api_keys:read"],"expires_at":"2030-01-01T00:00:00Z","ip_allowlist":["192.0.2.0/24"],"rate_limit":{"requests":10,"window_seconds":60}}`,
	"POST /api-keys/{keyId}/validate":                   `{"key":"cvk_0000"}`,
	"POST /api-keys/{keyId}/rotate":                     `{"grace_period_seconds":60}`,
	"POST /credentials":                                 `{"integration_id":"stripe","name":"live","auth_type":"api_key","data":{"api_key":"sk"},"metadata":{"env":"prod"},"expires_at":"2030-01-01T00:00:00Z"}`,
	"PATCH /credentials/{integrationId}/{credentialId}": `{"name":"renamed","metadata":{"env":"staging"},"status":"active","data":{"token":"t2"}}`,
	"POST /admin/dek/rotate":                            `{}`,
	"POST /admin/jobs/trigger":                          `{"job_name":"expire_api_keys","args":{}}`,
	"POST /oauth-clients":                               `{"name":"app","scopes":["api_keys:read"],"grant_types":["client_credentials"],"access_token_ttl_seconds":300}`,
	"PATCH /oauth-clients/{clientId}":                   `{"name":"renamed","access_token_ttl_seconds":600}`,
	"POST /oauth-clients/{clientId}/rotate-secret":      `{"grace_period_seconds":0}`,
	"POST /admin/service-account/create":                `{"name":"bot","description":"ci","scopes":["api_keys:read"],"create_api_key":true}`,
	"PATCH /admin/tenants/{tenantId}":                   `{"name":"Renamed","settings":{"audit_retention_days":30}}`,
	"POST /admin/users":                                 `{"email":"viewer@seeded.test","name":"Viewer","role":"viewer","password":"correct-horse-battery"}`,
	"PATCH /admin/users/{id}":                           `{"name":"Renamed","role":"viewer"}`,
	"POST /admin/api-keys":                              `{"name":"ci","scopes":["api_keys:read"]}`,
	"POST /admin/api-keys/{keyId}/rotate":               `{}`,
	"POST /admin/api-keys/{keyId}/validate":             `{"key":"cvk_0000"}`,
}

// FuzzRoute sends any path parameters, query string and body to the route
// of the table at index.
func FuzzRoute(f *testing.F) {
	servers := fuzzServers(f)
	for i, rt := range routes {
		body := seedBodies[rt.Method+" "+rt.Path]
		if body == "" && rt.Body != nil {
			body = "{}"
		}
		f.Add(uint(i), "", "", []byte(body))
		if strings.Contains(rt.Path, "{") {
			f.Add(uint(i), "not-an-id", "", []byte(body))
		}
		if rt.List() {
			f.Add(uint(i), "", "limit=2&offset=1&sort="+rt.Sort[0]+"&order=asc", []byte(nil))
		}
	}
	f.Fuzz(func(t *testing.T, index uint, params, query string, body []byte) {
		rt := routes[index%uint(len(routes))]
		for _, s := range servers {
			path := routePath(rt, params, s.params)
			ctype := ""
			if len(body) > 0 {
				ctype = "application/json"
			}
			what := rt.Method + " " + path + "?" + query
			rec := s.serve(rt.Method, path, query, ctype, body, false)
			switch {
			case rt.OpenAI:
				wantOpenAIShape(t, what, rec)
			case len(rt.Streams) > 0 && rec.Code == http.StatusOK:
				wantStream(t, what, rt, rec)
			default:
				wantEnvelope(t, what, rec)
			}
			if rt.Method != http.MethodGet {
				if rec.Code < 300 {
					s.wantListsAnswer(t, what)
				}
				s.keepTenant(t)
			}
		}
	})
}

// FuzzListQuery sends any query string — filters, limit, offset, page,
// per_page, sort, order, cursor — to the list route at index.
func FuzzListQuery(f *testing.F) {
	servers := fuzzServers(f)
	since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano))
	for i, rt := range listRoutes {
		f.Add(uint(i), "")
		f.Add(uint(i), "page=2&per_page=5&sort="+rt.Sort[len(rt.Sort)-1]+"&order=asc")
		f.Add(uint(i), "limit=1&offset=0&order=desc")
		for _, fl := range rt.Filters {
			v := "fuzz"
			switch {
			case len(fl.Enum) > 0:
				v = fl.Enum[0]
			case fl.Format == "uuid":
				v = servers[0].params["tenantId"]
			case fl.Format == "date-time":
				v = since
			}
			f.Add(uint(i), fl.Name+"="+v+"&limit=5")
		}
	}
	for _, q := range []string{"page=9223372036854775807", "offset=-1", "limit=99999999999999999999", "per_page=0",
		"page=1&offset=1", "cursor=e30&page=2", "sort=%00", "order=sideways", "since=9999-12-31T23:59:59-23:59", "limit=1&limit=2", "%zz=1"} {
		f.Add(uint(0), q)
	}
	f.Fuzz(func(t *testing.T, index uint, query string) {
		rt := listRoutes[index%uint(len(listRoutes))]
		for _, s := range servers {
			wantEnvelope(t, "GET "+rt.Path+"?"+query, s.serve(http.MethodGet, "/api/v1"+rt.Path, query, "", nil, false))
		}
	})
}

// cursorQuery pages a connection from cursor, forward or backward.
func cursorQuery(connection string, backward bool) string {
	page := "after: $c, first: 2"
	if backward {
		page = "before: $c, last: 2"
	}
	return `query($c: Cursor) { ` + connection + `(` + page + `) { totalCount pageInfo { hasNextPage startCursor endCursor } edges { cursor node { id } } } }`
}

// graphQLBody is a GraphQL request body with query and, when they are
// JSON, variables (otherwise sent as a JSON string, which is refused).
func graphQLBody(query string, variables []byte) []byte {
	req := map[string]any{"query": query}
	if len(variables) > 0 {
		if json.Valid(variables) {
			req["variables"] = json.RawMessage(variables)
		} else {
			req["variables"] = string(variables)
		}
	}
	raw, _ := json.Marshal(req)
	return raw
}

// FuzzCursor decodes any cursor: a REST list's (?cursor=) when which picks
// a list route, a GraphQL connection's (after: and before:) otherwise.
func FuzzCursor(f *testing.F) {
	servers := fuzzServers(f)
	s := servers[0]
	e := s.env(f)
	for range 3 {
		wantOK(f, do(e, http.MethodPost, "/api/v1/api-keys", s.key, map[string]any{"name": "paged"}), http.StatusCreated, nil)
	}
	for i, rt := range listRoutes {
		if r := do(e, http.MethodGet, "/api/v1"+rt.Path+"?limit=1", s.key, nil); r.Status == http.StatusOK {
			if next, ok := r.Envelope.Meta.Pagination["next_cursor"].(string); ok {
				f.Add(uint(i), next)
			}
		}
	}
	for i, c := range connections {
		var page map[string]struct {
			Edges []struct{ Cursor string }
		}
		if g := gqlDo(e, s.key, `{ `+c+`(first: 1) { edges { cursor } } }`, nil); len(g.Errors) == 0 {
			g.Decode(f, &page)
			for _, edge := range page[c].Edges {
				f.Add(uint(len(listRoutes)+i), edge.Cursor)
			}
		}
	}
	crafted := func(v any) string {
		raw, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	for _, c := range []string{"", "garbage", "!!", "e30", crafted(map[string]any{"l": "GET /api-keys", "o": -1, "n": 0}),
		crafted(map[string]any{"l": "GET /api-keys", "o": 1, "n": 100_000_000}), crafted([]any{1, "x"}),
		base64.StdEncoding.EncodeToString([]byte{0x92, 0xd9, 0x24, 0xc0}), "gqFp2SQ"} {
		f.Add(uint(0), c)
		f.Add(uint(len(listRoutes)), c)
	}
	f.Fuzz(func(t *testing.T, which uint, cursor string) {
		which %= uint(len(listRoutes) + len(connections))
		for _, s := range servers {
			if which < uint(len(listRoutes)) {
				rt := listRoutes[which]
				q := url.Values{"cursor": {cursor}}.Encode()
				wantEnvelope(t, "GET "+rt.Path+"?"+q, s.serve(http.MethodGet, "/api/v1"+rt.Path, q, "", nil, false))
				continue
			}
			c := connections[which-uint(len(listRoutes))]
			vars, _ := json.Marshal(map[string]string{"c": cursor})
			for _, backward := range []bool{false, true} {
				q := cursorQuery(c, backward)
				wantGraphQLAnswered(t, q, s.serve(http.MethodPost, "/graphql", "", "application/json", graphQLBody(q, vars), false))
			}
		}
	})
}

// graphQLSeeds are documents and variables as clients send them.
var graphQLSeeds = []struct{ query, variables string }{
	{`{ me { principalType id scopes tenant { id name slug } } }`, ``},
	{`query Keys($n: Int, $w: APIKeyWhereInput) { apiKeys(first: $n, where: $w, orderBy: {field: NAME, direction: ASC}) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name status scopes expiresAt rateLimit { requests windowSeconds } } } } }`,
		`{"n": 5, "w": {"nameContains": "a", "status": "active"}}`},
	{`mutation($in: CreateAPIKeyInput!) { createAPIKey(input: $in) { key apiKey { id prefix } } }`,
		`{"in": {"name": "ci", "scopes": ["api_keys:read"], "expiresAt": "2030-01-01T00:00:00Z", "ipAllowlist": ["192.0.2.0/24"], "rateLimit": {"requests": 10, "windowSeconds": 60}}}`},
	{`mutation($in: StoreCredentialInput!) { storeCredential(input: $in) { id integrationID status data } }`,
		`{"in": {"integrationID": "stripe", "authType": "bearer_token", "data": {"token": "t"}, "metadata": {"env": ["prod", 1, null]}}}`},
	{`query($i: String!) { credential(integrationID: $i) { integrationID credentials { id name data } } }`, `{"i": "fuzz"}`},
	{`query($id: ID!) { node(id: $id) { id ... on APIKey { name } } }`, `{"id": "4f8a2c3e-1111-4222-8333-944445555666"}`},
	{`query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }`, `{"ids": ["4f8a2c3e-1111-4222-8333-944445555666", "x"]}`},
	{`{ dashboardStats { apiKeys { total } } health { status } featureStatus { __typename } }`, ``},
	{`query($d: Int) { usageSummary(days: $d) { __typename } jobStats(jobName: "expire_api_keys") { pending } }`, `{"d": 7}`},
	{`{ auditLogs(first: 3, where: {occurredAtGTE: "2020-01-01T00:00:00Z"}) { edges { node { action outcome details } } } }`, ``},
	{`{ oauthClients(last: 2) { edges { node { clientID scopes } } } serviceAccounts { totalCount } users { totalCount } }`, ``},
	{`fragment K on APIKey { id name } query { a: apiKeys(first: 1) { edges { node { ...K } } } b: apiKeys(first: 1) { edges { node { ...K @include(if: true) } } } }`, ``},
	{`mutation { createAPIKey(input: {name: "far", expiresAt: "9999-12-31T23:59:59-23:59"}) { key } }`, ``},
	{`mutation { createAPIKey(input: {name: "k\u0000"}) { key } }`, ``},
	{`mutation { createAPIKey(input: {name: "fast", rateLimit: {requests: 1, windowSeconds: 9223372036854775807}}) { key } }`, ``},
	{`mutation($in: LoginInput!) { login(input: $in) { accessToken } }`, `{"in": {"email": "a@b.test", "password": "x", "tenant": "nope"}}`},
	{`mutation { triggerJob(jobName: "expire_api_keys", args: {}) { jobID } }`, ``},
	{`{ __schema { queryType { name } } __type(name: "APIKey") { fields { name } } }`, ``},
	{`query { apiKeys(first: -1) { totalCount } }`, ``},
	{`{ apiKeys(after: "garbage") { totalCount } }`, ``},
	{`{ me { tenant { apiKeys(before: "!!") { totalCount } } } }`, ``},
	{`subscription { me { id } }`, ``},
	{`{`, ``},
	{`query($x: Int) { me { id } }`, `{"x": 1e400}`},
}

// FuzzGraphQL posts any document with any variables to /graphql, as the
// tenant's key or anonymously.
func FuzzGraphQL(f *testing.F) {
	servers := fuzzServers(f)
	for _, s := range graphQLSeeds {
		f.Add(s.query, []byte(s.variables), false)
	}
	f.Add(`{ me { id } }`, []byte(nil), true)
	f.Add(`mutation($in: RegisterInput!) { register(input: $in) { accessToken tenant { slug } } }`,
		[]byte(`{"in": {"tenantName": "Seeded", "email": "owner@seeded.test", "password": "correct-horse-battery"}}`), true)
	f.Fuzz(func(t *testing.T, query string, variables []byte, anonymous bool) {
		for _, s := range servers {
			wantGraphQLAnswered(t, query, s.serve(http.MethodPost, "/graphql", "", "application/json", graphQLBody(query, variables), anonymous))
			if strings.Contains(query, "mutation") {
				s.wantListsAnswer(t, query)
				s.keepTenant(t)
			}
		}
	})
}

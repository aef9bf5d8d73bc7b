package apitest_test

// Response headers: Cache-Control: no-store on every answer that carries a
// secret, the browser protections of /api-docs and /playground, Allow on a
// 405, and no field suggestions from GraphQL when introspection is off.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/rest"
)

// secretRoutes are the routes whose answer holds a secret: a session's
// tokens, a new key or client secret, decrypted credential data, a whole
// audit trail.
var secretRoutes = []string{
	"POST /auth/register", "POST /auth/login", "POST /auth/refresh", "GET /auth/sso/callback",
	"POST /api-keys", "POST /api-keys/{keyId}/rotate", "POST /admin/api-keys",
	"POST /oauth-clients", "POST /oauth-clients/{clientId}/rotate-secret",
	"POST /admin/service-account/create", "GET /credentials/{integrationId}",
	"POST /webhooks", "POST /webhooks/{webhookId}/rotate-secret", "GET /admin/audit-logs/export",
}

func wantNoStore(t *testing.T, what string, h http.Header) {
	t.Helper()
	if got := h.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", what, got)
	}
}

// TestSecretRoutesAreDeclaredNoStore checks the declaration: exactly the
// routes that hand out a secret are Secret, and the OpenAPI document names
// Cache-Control on their success answer.
func TestSecretRoutesAreDeclaredNoStore(t *testing.T) {
	var declared []string
	for _, rt := range (&rest.API{}).Routes() {
		if rt.Secret {
			declared = append(declared, rt.Method+" "+rt.Path)
		}
	}
	if !sameSet(declared, secretRoutes) {
		t.Errorf("Secret routes %v, want %v", declared, secretRoutes)
	}
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		var doc struct {
			Paths map[string]map[string]struct {
				Responses map[string]struct {
					Headers map[string]any `json:"headers"`
				} `json:"responses"`
			} `json:"paths"`
		}
		r := e.Get("/api/v1/openapi.json", "")
		if err := json.Unmarshal(r.Body, &doc); err != nil {
			t.Fatalf("openapi.json: %v", err)
		}
		for _, rt := range (&rest.API{}).Routes() {
			op := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
			_, documented := op.Responses[strconv.Itoa(rt.Status)].Headers["Cache-Control"]
			if documented != rt.Secret {
				t.Errorf("%s %s: Cache-Control documented %v, want %v", rt.Method, rt.Path, documented, rt.Secret)
			}
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestNoStoreOnSecrets calls each route that hands out a secret, and
// GraphQL, and reads Cache-Control; ordinary reads need not carry it.
func TestNoStoreOnSecrets(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tag := randTag()
		email := "owner-" + tag + "@nostore.test"
		r := do(e, http.MethodPost, "/api/v1/auth/register", "",
			map[string]any{"tenant_name": "NoStore " + tag, "email": email, "password": testPassword})
		var s sessionJSON
		wantOK(t, r, http.StatusCreated, &s)
		wantNoStore(t, "POST /auth/register", r.Header)

		r = do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": email, "password": testPassword, "tenant": s.Tenant.Slug})
		wantOK(t, r, http.StatusOK, &s)
		wantNoStore(t, "POST /auth/login", r.Header)
		r = do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken})
		wantOK(t, r, http.StatusOK, &s)
		wantNoStore(t, "POST /auth/refresh", r.Header)
		owner := s.AccessToken

		var k apiKeyJSON
		r = do(e, http.MethodPost, "/api/v1/api-keys", owner, map[string]any{"name": "k " + tag})
		wantOK(t, r, http.StatusCreated, &k)
		wantNoStore(t, "POST /api-keys", r.Header)
		r = do(e, http.MethodPost, "/api/v1/api-keys/"+k.ID.String()+"/rotate", owner, map[string]any{})
		wantOK(t, r, http.StatusOK, &k)
		wantNoStore(t, "POST /api-keys/{keyId}/rotate", r.Header)
		r = do(e, http.MethodPost, "/api/v1/admin/api-keys", owner, map[string]any{"name": "admin k " + tag})
		wantOK(t, r, http.StatusCreated, nil)
		wantNoStore(t, "POST /admin/api-keys", r.Header)

		var c clientJSON
		r = do(e, http.MethodPost, "/api/v1/oauth-clients", owner, map[string]any{"name": "c " + tag,
			"scopes": []string{"api_keys:read"}, "grant_types": []string{"client_credentials"}})
		wantOK(t, r, http.StatusCreated, &c)
		wantNoStore(t, "POST /oauth-clients", r.Header)
		r = do(e, http.MethodPost, "/api/v1/oauth-clients/"+c.ClientID+"/rotate-secret", owner, map[string]any{})
		wantOK(t, r, http.StatusOK, &c)
		wantNoStore(t, "POST /oauth-clients/{clientId}/rotate-secret", r.Header)
		tok := postForm(e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"api_keys:read"}},
			basicAuth(c.ClientID, c.ClientSecret))
		decodeToken(t, tok)
		wantNoStore(t, "POST /oauth/token", tok.Header)

		r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", owner,
			map[string]any{"name": "bot " + tag, "scopes": []string{"api_keys:read"}, "create_api_key": true})
		wantOK(t, r, http.StatusCreated, nil)
		wantNoStore(t, "POST /admin/service-account/create", r.Header)

		r = do(e, http.MethodPost, "/api/v1/credentials", owner, map[string]any{"integration_id": "github", "name": "gh",
			"auth_type": "bearer_token", "data": map[string]any{"token": "vtsecret-nostore"}})
		wantOK(t, r, http.StatusCreated, nil)
		r = do(e, http.MethodGet, "/api/v1/credentials/github", owner, nil)
		wantOK(t, r, http.StatusOK, nil)
		wantNoStore(t, "GET /credentials/{integrationId}", r.Header)
		r = do(e, http.MethodGet, "/api/v1/admin/audit-logs/export", owner, nil)
		wantStatus(t, r, http.StatusOK)
		wantNoStore(t, "GET /admin/audit-logs/export", r.Header)

		// Every GraphQL answer: a document may select any secret, by POST or GET.
		r = do(e, http.MethodPost, "/graphql", owner, map[string]any{"query": `mutation($i: CreateAPIKeyInput!) { createAPIKey(input: $i) { key } }`,
			"variables": map[string]any{"i": map[string]any{"name": "gql " + tag}}})
		if r.Status != http.StatusOK || strings.Contains(string(r.Body), `"errors"`) {
			t.Fatalf("createAPIKey: %d %s", r.Status, redact(r.Body))
		}
		wantNoStore(t, "POST /graphql createAPIKey", r.Header)
		r = do(e, http.MethodGet, "/graphql?query="+url.QueryEscape(`{ health { status } }`), "", nil)
		wantNoStore(t, "GET /graphql", r.Header)
		r = do(e, http.MethodPost, "/graphql", "", map[string]any{"query": `{ nope }`})
		wantNoStore(t, "POST /graphql with an error", r.Header)

		// Ordinary reads are the routes' own business: no secret, no rule.
		for _, path := range []string{"/api/v1/api-keys", "/api/v1/auth/me", "/api/v1/credentials/github/details"} {
			r := do(e, http.MethodGet, path, owner, nil)
			wantOK(t, r, http.StatusOK, nil)
			if r.Header.Get("Cache-Control") == "no-store" {
				t.Errorf("GET %s is not a secret route, yet says no-store", path)
			}
		}
	})
}

// TestBrowserPagesHeaders checks /api-docs and /playground: a policy that
// allows this origin only, no framing, no MIME sniffing.
func TestBrowserPagesHeaders(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		for _, path := range []string{"/api-docs", "/api-docs/", "/playground"} {
			r := e.Get(path, "")
			if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s: %d %s", path, r.Status, r.Header.Get("Content-Type"))
			}
			checkBrowserHeaders(t, path, r.Header)
		}
		// The Swagger UI assets too: nosniff matters most for scripts.
		r := e.Get("/api-docs/swagger-ui-bundle.js", "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET /api-docs/swagger-ui-bundle.js: %d", r.Status)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("swagger-ui-bundle.js: X-Content-Type-Options %q", got)
		}
	})
}

func checkBrowserHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", path, got)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("%s: X-Frame-Options %q, want DENY", path, got)
	}
	directives := map[string][]string{}
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		if f := strings.Fields(d); len(f) > 0 {
			directives[f[0]] = f[1:]
		}
	}
	if got := directives["frame-ancestors"]; !slices.Equal(got, []string{"'none'"}) {
		t.Errorf("%s: frame-ancestors %v, want 'none'", path, got)
	}
	if got := directives["default-src"]; !slices.Equal(got, []string{"'none'"}) {
		t.Errorf("%s: default-src %v, want 'none'", path, got)
	}
	for _, name := range []string{"script-src", "style-src", "connect-src", "img-src"} {
		sources, ok := directives[name]
		if !ok {
			t.Errorf("%s: no %s in %q", path, name, h.Get("Content-Security-Policy"))
		}
		for _, s := range sources {
			// This origin, inline elements by hash, data: images and fonts:
			// never another host, never 'unsafe-inline' or 'unsafe-eval'.
			if s != "'self'" && !strings.HasPrefix(s, "'sha256-") && !(s == "data:" && name == "img-src") {
				t.Errorf("%s: %s allows %s", path, name, s)
			}
		}
	}
}

// TestMethodNotAllowedListsAllow checks RFC 9110 §15.5.6: a 405 names the
// methods the path has, from the route table.
func TestMethodNotAllowedListsAllow(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		for _, c := range []struct{ method, path, allow string }{
			{http.MethodPut, "/api/v1/api-keys", "GET, POST"},
			{http.MethodPost, "/api/v1/api-keys/0b7c6a4e-7a53-4c1e-9d0a-2f1f7d1c9a11", "GET, DELETE"},
			{http.MethodGet, "/api/v1/api-keys/0b7c6a4e-7a53-4c1e-9d0a-2f1f7d1c9a11/rotate", "POST"},
			{http.MethodPost, "/api/v1/health", "GET"},
			{http.MethodPut, "/api/v1/oauth-clients/cvc_x", "GET, PATCH, DELETE"},
			{http.MethodPut, "/api/v1/admin/users/0b7c6a4e-7a53-4c1e-9d0a-2f1f7d1c9a11", "PATCH, DELETE"},
			{http.MethodPost, "/api/v1/openapi.json", "GET"},
			{http.MethodDelete, "/health", "GET"},
		} {
			r := e.Do(apitest.Request{Method: c.method, Path: c.path})
			if r.Status != http.StatusMethodNotAllowed || r.ErrorCode() != "METHOD_NOT_ALLOWED" {
				t.Errorf("%s %s: %d %s, want 405 METHOD_NOT_ALLOWED", c.method, c.path, r.Status, r.ErrorCode())
				continue
			}
			if got := r.Header.Get("Allow"); got != c.allow {
				t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
			}
		}
	})
}

// production is the configuration CREDVAULT_ENV=production gives the
// GraphQL endpoint: introspection off unless asked for.
func production(c *config.Config) {
	prod, err := config.Load(nil, func(name string) string {
		if name == "CREDVAULT_ENV" {
			return "production"
		}
		return ""
	})
	if err != nil {
		panic(err)
	}
	c.Env, c.GraphQLIntrospection = prod.Env, prod.GraphQLIntrospection
}

// TestNoGraphQLSuggestionsInProduction: with introspection off, a
// validation error names nothing the caller did not write — no "Did you
// mean …?" for a field, an argument, an input field, an enum value or a
// type. In development the suggestions help and stay.
func TestNoGraphQLSuggestionsInProduction(t *testing.T) {
	t.Parallel()
	documents := []string{
		`{ healt { status } }`,                                       // a field
		`{ health { statu } }`,                                       // a field of an object
		`{ health }`,                                                 // a leaf selection
		`{ apiKeys(firs: 1) { totalCount } }`,                        // an argument
		`query($x: APIKe) { health { status } }`,                     // a type
		`mutation { createAPIKey(input: {nam: "x"}) { key } }`,       // an input field
		`{ apiKeys(where: {status: activ}) { totalCount } }`,         // an enum value
		`{ auditLogs(orderBy: {field: OCCURRED_A}) { totalCount } }`, // an enum value
	}
	t.Run("production", func(t *testing.T) {
		t.Parallel()
		apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
			if e.Config.GraphQLIntrospection {
				t.Fatal("production has introspection on")
			}
			for _, q := range documents {
				g := e.GraphQL(q, nil, "")
				if len(g.Errors) == 0 {
					t.Errorf("%s: no error", q)
				}
				for _, err := range g.Errors {
					if strings.Contains(err.Message, "Did you mean") {
						t.Errorf("%s: %q suggests names", q, err.Message)
					}
				}
			}
		}, production)
	})
	t.Run("development", func(t *testing.T) {
		t.Parallel()
		apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
			g := e.GraphQL(documents[0], nil, "")
			if len(g.Errors) == 0 || !strings.Contains(g.Errors[0].Message, `Did you mean "health"`) {
				t.Errorf("development: %+v, want a suggestion", g.Errors)
			}
		})
	})
}

package apitest_test

// The REST contract: real responses of every route of the route table,
// success and error, validated against the OpenAPI document the server
// serves, with kin-openapi's openapi3filter. A route added to the table
// needs an entry in ctCases, or TestContract fails naming it.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/rest"
)

// ctContract is the OpenAPI document a server serves, loaded and validated
// with kin-openapi, and a router finding the operation of a request.
type ctContract struct {
	doc    *openapi3.T
	router routers.Router
}

// ctLoad fetches /api/v1/openapi.json from e and checks that it is valid.
func ctLoad(t *testing.T, e *apitest.Env) *ctContract {
	t.Helper()
	r := e.Get("/api/v1/openapi.json", "")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the served document is not valid OpenAPI: %v", err)
	}
	// The document's server is the relative /api/v1: resolve it against the test server.
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("servers %v, want the relative /api/v1", doc.Servers)
	}
	doc.Servers = openapi3.Servers{{URL: e.Server.URL + "/api/v1"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &ctContract{doc: doc, router: router}
}

// check validates resp, the answer to req, against the document: its
// status is documented and its headers and body fit the operation's
// response. With validRequest, req itself must fit the operation: a request
// the API accepts must be one the document allows.
func (c *ctContract) check(t *testing.T, e *apitest.Env, req apitest.Request, resp *apitest.Response, validRequest bool) {
	t.Helper()
	hr := e.HTTPRequest(req)
	route, params, err := c.router.FindRoute(hr)
	if err != nil {
		t.Fatalf("%s %s is not in the document: %v", req.Method, req.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if validRequest {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: the request does not fit the document: %v", req.Method, req.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(resp.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s: the %d response does not fit the document: %v\n%s", req.Method, req.Path, resp.Status, err, redact(resp.Body))
	}
}

// ctFixture is a registered tenant with one of each resource, and the
// platform admin, for the contract's requests. Its cases run one at a
// time: t and e are the running subtest's.
type ctFixture struct {
	t *testing.T
	e *apitest.Env
	// n makes names unique.
	n int

	tenantID, slug, email string
	owner                 string // the owner's access token
	admin                 string // the platform admin's access token
	keyID, key            string
	clientID              string
	integration, credID   string
	userID                string
	webhookID, deliveryID string
	guardrailID           string
	// providerID is an AI gateway provider serving gpt-contract from a
	// local upstream.
	providerID string
	// idp is the tenant's identity provider, configured for single sign-on.
	idp *mockoidc.MockOIDC
}

func ctSetup(t *testing.T, e *apitest.Env) *ctFixture {
	t.Helper()
	f := &ctFixture{t: t, e: e, email: "owner@contract.test"}
	s := register(t, e, "Contract Corp", ownedBy(f.email))
	f.tenantID, f.slug, f.owner = s.Tenant.ID, s.Tenant.Slug, s.AccessToken
	f.admin = adminToken(t, e)
	f.keyID, f.key = f.newKey("/api-keys")
	f.clientID = f.newClient()
	f.integration, f.credID = f.newCredential()
	f.userID = f.newUser()
	f.webhookID, f.deliveryID = attemptedWebhookDelivery(t, e, f.owner)
	f.guardrailID = createGuardrailGQL(t, e, f.owner)
	f.providerID = (&gwTenant{tenantFixture: s}).
		provider(t, newUpstream(t, "contract"), "llm-contract", "sk-contract", "gpt-contract").String()
	f.idp = newIdP(t)
	ssoConfigure(t, e, f.owner, f.idp, nil)
	return f
}

func (f *ctFixture) uniq() int {
	f.n++
	return f.n
}

// as is a request by the tenant's owner.
func (f *ctFixture) as(method, path string, body any) apitest.Request {
	return apitest.Request{Method: method, Path: "/api/v1" + path, Bearer: f.owner, Body: body}
}

// created sends req, which must answer 201, and decodes its data.
func (f *ctFixture) created(req apitest.Request, v any) {
	f.t.Helper()
	wantOK(f.t, f.e.Do(req), http.StatusCreated, v)
}

func (f *ctFixture) newKey(base string) (id, key string) {
	var k struct{ ID, Key string }
	f.created(f.as(http.MethodPost, base, map[string]any{"name": fmt.Sprintf("key %d", f.uniq())}), &k)
	return k.ID, k.Key
}

func (f *ctFixture) newClient() string {
	return createClient(f.t, f.e, f.owner, map[string]any{"name": fmt.Sprintf("client %d", f.uniq()),
		"scopes": []string{"api_keys:read"}}).ClientID
}

func (f *ctFixture) newCredential() (integration, id string) {
	var c struct {
		ID            string
		IntegrationID string `json:"integration_id"`
	}
	f.created(f.as(http.MethodPost, "/credentials", map[string]any{"integration_id": fmt.Sprintf("stripe-%d", f.uniq()),
		"auth_type": "api_key", "data": map[string]any{"api_key": "sk_test_contract"}}), &c)
	return c.IntegrationID, c.ID
}

func (f *ctFixture) newUser() string {
	return createUser(f.t, f.e, f.owner, fmt.Sprintf("user%d@contract.test", f.uniq()), "member", testPassword).ID
}

// ctParam matches a chi path parameter.
var ctParam = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// path fills pattern's parameters with the fixture's resources.
func (f *ctFixture) path(pattern string) string {
	return ctParam.ReplaceAllStringFunc(pattern, func(m string) string {
		name := ctParam.FindStringSubmatch(m)[1]
		v, ok := map[string]string{"keyId": f.keyID, "clientId": f.clientID, "integrationId": f.integration,
			"credentialId": f.credID, "id": f.userID, "tenantId": f.tenantID, "jobName": "expire_api_keys",
			"webhookId": f.webhookID, "deliveryId": f.deliveryID, "tenantSlug": f.slug,
			"guardrailId": f.guardrailID, "providerId": f.providerID}[name]
		if !ok {
			f.t.Fatalf("no fixture value for the path parameter {%s} of %s: add one to ctFixture.path", name, pattern)
		}
		return v
	})
}

// tokenFor is a token allowed to call rt: the owner's, or the platform
// admin's for platform routes.
func (f *ctFixture) tokenFor(rt rest.Route) string {
	if rt.Op.Scope == access.PlatformAdmin {
		return f.admin
	}
	return f.owner
}

// ctCase is one request to a route and the status it must get.
type ctCase struct {
	name   string
	status int
	req    func(f *ctFixture) apitest.Request
	// final cases break the server (the database is closed): they run last.
	final bool
}

// ok is a success case.
func ok(name string, status int, req func(f *ctFixture) apitest.Request) ctCase {
	return ctCase{name: name, status: status, req: req}
}

// bad is an error case.
func bad(name string, status int, req func(f *ctFixture) apitest.Request) ctCase {
	return ctCase{name: name, status: status, req: req}
}

var randomID = uuid.NewString()

// ctCases are the requests of each route, beyond the generic ones of
// ctGeneric: at least one success each, and the errors peculiar to it.
var ctCases = map[string][]ctCase{
	"POST /auth/register": {
		ok("new tenant", 201, func(f *ctFixture) apitest.Request {
			n := f.uniq()
			return apitest.Request{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{
				"tenant_name": fmt.Sprintf("Tenant %d", n), "email": fmt.Sprintf("o%d@contract.test", n),
				"password": testPassword, "name": "Owner"}}
		}),
		bad("no password", 422, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/api/v1/auth/register", Body: map[string]any{
				"tenant_name": "Nope", "email": "nope@contract.test"}}
		}),
	},
	"POST /auth/login": {
		ok("password", 200, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/api/v1/auth/login",
				Body: map[string]any{"email": f.email, "password": testPassword, "tenant": f.slug}}
		}),
		ok("realmname header", 200, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/api/v1/auth/login", Header: map[string]string{"realmname": f.slug},
				Body: map[string]any{"email": f.email, "password": testPassword}}
		}),
		bad("wrong password", 401, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/api/v1/auth/login",
				Body: map[string]any{"email": f.email, "password": "wrong password!", "tenant": f.slug}}
		}),
	},
	"POST /auth/refresh": {
		ok("fresh refresh token", 200, func(f *ctFixture) apitest.Request {
			s := login(f.t, f.e, f.email, testPassword, f.slug)
			return apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": s.RefreshToken}}
		}),
		bad("unknown refresh token", 401, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": "not-a-token"}}
		}),
	},
	"PUT /admin/sso": {
		ok("configure", 200, func(f *ctFixture) apitest.Request {
			return f.as("PUT", "/admin/sso", ssoBody(f.idp, map[string]any{"allowed_domains": []string{"contract.test"}}))
		}),
		bad("no issuer", 422, func(f *ctFixture) apitest.Request {
			return f.as("PUT", "/admin/sso", ssoBody(f.idp, map[string]any{"issuer": ""}))
		}),
	},
	"GET /admin/sso": {
		ok("configured", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/sso", nil) }),
		bad("not configured", 404, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/api/v1/admin/sso", Bearer: f.admin}
		}),
	},
	"GET /auth/sso/{tenantSlug}/start": {
		ok("to the provider", 302, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/api/v1/auth/sso/" + f.slug + "/start", NoFollow: true}
		}),
		bad("unknown tenant", 404, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/api/v1/auth/sso/no-such-tenant/start", NoFollow: true}
		}),
		bad("redirect_uri elsewhere", 422, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/api/v1/auth/sso/" + f.slug + "/start?redirect_uri=https%3A%2F%2Fevil.example%2F", NoFollow: true}
		}),
	},
	"GET /auth/sso/callback": {
		ok("signed in", 200, func(f *ctFixture) apitest.Request {
			f.idp.QueueUser(idpUser(fmt.Sprintf("sso%d@contract.test", f.uniq()), true))
			q := ssoAuthorize(f.t, f.e, ssoBegin(f.t, f.e, f.slug, ""))
			return apitest.Request{Method: "GET", Path: "/api/v1/auth/sso/callback?" + q.Encode(), NoFollow: true}
		}),
		bad("unknown state", 401, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/api/v1/auth/sso/callback?code=c&state=unknown", NoFollow: true}
		}),
	},
	"GET /auth/me": {
		ok("user", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/auth/me", nil) }),
		ok("X-API-Key", 200, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/api/v1/auth/me", Header: map[string]string{"X-API-Key": f.key}}
		}),
		ok("Authorization: ApiKey", 200, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/api/v1/auth/me", Header: map[string]string{"Authorization": "ApiKey " + f.key}}
		}),
		bad("unknown key", 401, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: "GET", Path: "/api/v1/auth/me", Header: map[string]string{"X-API-Key": "cvk_" + strings.Repeat("x", 43)}}
		}),
	},
	"POST /api-keys":                   ctCreateKey("/api-keys"),
	"POST /admin/api-keys":             ctCreateKey("/admin/api-keys"),
	"GET /api-keys":                    ctList("/api-keys", "status=active"),
	"GET /admin/api-keys":              ctList("/admin/api-keys", "service_account_id="+randomID),
	"DELETE /api-keys/{keyId}":         ctRevokeKey("/api-keys"),
	"DELETE /admin/api-keys/{keyId}":   ctRevokeKey("/admin/api-keys"),
	"GET /api-keys/{keyId}":            ctGet("/api-keys/{keyId}"),
	"GET /oauth-clients":               ctList("/oauth-clients", "status=disabled"),
	"GET /credentials":                 ctList("/credentials", "auth_type=api_key&status=active"),
	"GET /admin/users":                 ctList("/admin/users", "role=member"),
	"GET /oauth-clients/{clientId}":    ctGet("/oauth-clients/{clientId}"),
	"GET /credentials/{integrationId}": ctGet("/credentials/{integrationId}"),
	"POST /api-keys/{keyId}/validate": {
		ok("valid", 200, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/api-keys/"+f.keyID+"/validate", map[string]any{"key": f.key})
		}),
		ok("not valid", 200, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/api-keys/"+f.keyID+"/validate", map[string]any{"key": "cvk_nope"})
		}),
		bad("unknown key id", 404, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/api-keys/"+randomID+"/validate", map[string]any{"key": f.key})
		}),
	},
	"POST /api-keys/{keyId}/rotate": {
		ok("with grace", 200, func(f *ctFixture) apitest.Request {
			id, _ := f.newKey("/api-keys")
			return f.as("POST", "/api-keys/"+id+"/rotate", map[string]any{"grace_period_seconds": 60})
		}),
		ok("no body", 200, func(f *ctFixture) apitest.Request {
			id, _ := f.newKey("/api-keys")
			return f.as("POST", "/api-keys/"+id+"/rotate", nil)
		}),
		bad("unknown key id", 404, func(f *ctFixture) apitest.Request { return f.as("POST", "/api-keys/"+randomID+"/rotate", nil) }),
	},
	"POST /oauth-clients": {
		ok("client", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/oauth-clients", map[string]any{"name": fmt.Sprintf("c%d", f.uniq()), "scopes": []string{"credentials:read"},
				"grant_types": []string{"client_credentials"}, "access_token_ttl_seconds": 600})
		}),
		bad("no name", 422, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/oauth-clients", map[string]any{"scopes": []string{"credentials:read"}})
		}),
	},
	"PATCH /oauth-clients/{clientId}": {
		ok("rename", 200, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/oauth-clients/"+f.clientID, map[string]any{"name": "renamed"})
		}),
		bad("bad status", 422, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/oauth-clients/"+f.clientID, map[string]any{"status": "sleeping"})
		}),
	},
	"POST /oauth-clients/{clientId}/rotate-secret": {
		ok("rotate", 200, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/oauth-clients/"+f.newClient()+"/rotate-secret", map[string]any{})
		}),
		bad("unknown client", 404, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/oauth-clients/cvc_nope/rotate-secret", map[string]any{})
		}),
	},
	"DELETE /oauth-clients/{clientId}": {
		ok("delete", 200, func(f *ctFixture) apitest.Request { return f.as("DELETE", "/oauth-clients/"+f.newClient(), nil) }),
		bad("unknown client", 404, func(f *ctFixture) apitest.Request { return f.as("DELETE", "/oauth-clients/cvc_nope", nil) }),
	},
	"POST /credentials": {
		ok("api key", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/credentials", map[string]any{"integration_id": "github", "name": "gh", "auth_type": "bearer_token",
				"data": map[string]any{"token": "ghp_x"}, "metadata": map[string]any{"team": "core"}, "expires_at": "2099-01-01T00:00:00Z"})
		}),
		bad("missing data field", 422, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/credentials", map[string]any{"integration_id": "github", "auth_type": "basic_auth",
				"data": map[string]any{"username": "u"}})
		}),
	},
	"GET /credentials/{integrationId}/details": {
		ok("details", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/credentials/"+f.integration+"/details", nil) }),
		bad("unknown integration", 404, func(f *ctFixture) apitest.Request { return f.as("GET", "/credentials/nope/details", nil) }),
	},
	"PATCH /credentials/{integrationId}/{credentialId}": {
		ok("rename", 200, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/credentials/"+f.integration+"/"+f.credID, map[string]any{"name": "renamed", "metadata": map[string]any{"a": 1}})
		}),
		bad("unknown credential", 404, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/credentials/"+f.integration+"/"+randomID, map[string]any{"name": "x"})
		}),
	},
	"DELETE /credentials/{integrationId}/{credentialId}": {
		ok("delete", 200, func(f *ctFixture) apitest.Request {
			integration, id := f.newCredential()
			return f.as("DELETE", "/credentials/"+integration+"/"+id, nil)
		}),
		bad("unknown credential", 404, func(f *ctFixture) apitest.Request {
			return f.as("DELETE", "/credentials/"+f.integration+"/"+randomID, nil)
		}),
	},
	"POST /admin/dek/rotate": {
		ok("own tenant", 202, func(f *ctFixture) apitest.Request { return f.as("POST", "/admin/dek/rotate", map[string]any{}) }),
		bad("another tenant", 404, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/dek/rotate", map[string]any{"tenant_id": randomID})
		}),
	},
	"POST /admin/service-account/create": {
		ok("with a key", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/service-account/create", map[string]any{"name": fmt.Sprintf("sa%d", f.uniq()),
				"description": "ci", "scopes": []string{"credentials:read"}, "create_api_key": true})
		}),
		bad("no name", 422, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/service-account/create", map[string]any{"scopes": []string{"credentials:read"}})
		}),
	},
	"POST /admin/users": {
		ok("member", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/users", map[string]any{"email": fmt.Sprintf("m%d@contract.test", f.uniq()), "name": "M", "role": "viewer"})
		}),
		bad("bad role", 422, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/users", map[string]any{"email": "r@contract.test", "role": "emperor"})
		}),
	},
	"PATCH /admin/users/{id}": {
		ok("rename", 200, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/admin/users/"+f.userID, map[string]any{"name": "Renamed"})
		}),
		bad("unknown user", 404, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/admin/users/"+randomID, map[string]any{"name": "x"})
		}),
	},
	"DELETE /admin/users/{id}": {
		ok("delete", 200, func(f *ctFixture) apitest.Request { return f.as("DELETE", "/admin/users/"+f.newUser(), nil) }),
		bad("unknown user", 404, func(f *ctFixture) apitest.Request { return f.as("DELETE", "/admin/users/"+randomID, nil) }),
	},
	"POST /webhooks": {
		ok("endpoint", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/webhooks", map[string]any{"url": unreachableHook, "events": []string{"api_key.revoked", "credential.created"},
				"description": "contract", "enabled": true})
		}),
		bad("unknown event type", 422, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/webhooks", map[string]any{"url": unreachableHook, "events": []string{"api_key.exploded"}})
		}),
	},
	"GET /webhooks":         ctList("/webhooks", "enabled=true&event=api_key.revoked"),
	"GET /admin/guardrails": ctList("/admin/guardrails", "kind=blocked_terms&enabled=true"),
	"POST /admin/guardrails": {
		ok("pii", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/guardrails", map[string]any{"name": "pii", "kind": "pii", "action": "redact", "applies_to": "input",
				"config": map[string]any{"types": []string{"email", "card"}}})
		}),
		bad("invalid pattern", 422, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/guardrails", map[string]any{"name": "re", "kind": "regex", "config": map[string]any{"patterns": []string{"("}}})
		}),
	},
	"PATCH /admin/guardrails/{guardrailId}": {
		ok("disable", 200, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/admin/guardrails/"+f.guardrailID, map[string]any{"enabled": false})
		}),
		bad("unknown action", 422, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/admin/guardrails/"+f.guardrailID, map[string]any{"action": "shout"})
		}),
	},
	"DELETE /admin/guardrails/{guardrailId}": {
		ok("new guardrail", 200, func(f *ctFixture) apitest.Request {
			return f.as("DELETE", "/admin/guardrails/"+createGuardrailGQL(f.t, f.e, f.owner), nil)
		}),
		bad("unknown guardrail", 404, func(f *ctFixture) apitest.Request { return f.as("DELETE", "/admin/guardrails/"+randomID, nil) }),
	},
	"POST /admin/guardrails/test": {
		ok("text", 200, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/guardrails/test", map[string]any{"text": "mail me at a@b.io"})
		}),
		ok("messages", 200, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/guardrails/test", map[string]any{"stage": "output",
				"messages": []map[string]string{{"role": "user", "content": "project zeus"}}})
		}),
		bad("nothing to test", 422, func(f *ctFixture) apitest.Request { return f.as("POST", "/admin/guardrails/test", map[string]any{}) }),
	},
	"GET /admin/guardrails/policies": {
		ok("kinds", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/guardrails/policies", nil) }),
	},
	"POST /chat/completions": {
		ok("completion", 200, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/chat/completions", map[string]any{"model": "gpt-contract", "temperature": 0.2,
				"messages": []map[string]any{{"role": "user", "content": "hello"}}})
		}),
		bad("unknown model", 404, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/chat/completions", map[string]any{"model": "nope", "messages": []map[string]any{{"role": "user", "content": "hi"}}})
		}),
		bad("no messages", 400, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/chat/completions", map[string]any{"model": "gpt-contract"})
		}),
	},
	"GET /models": {
		ok("served models", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/models", nil) }),
	},
	"GET /admin/router/config": {
		ok("config", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/router/config", nil) }),
	},
	"PUT /admin/router/config": {
		ok("routes", 200, func(f *ctFixture) apitest.Request {
			return f.as("PUT", "/admin/router/config", map[string]any{"routes": []map[string]any{{"model": "gpt-contract",
				"providers": []string{"contract"}}}, "fallback": true, "timeout_ms": 10000, "max_attempts": 2})
		}),
		bad("unknown provider", 422, func(f *ctFixture) apitest.Request {
			return f.as("PUT", "/admin/router/config", map[string]any{"routes": []map[string]any{{"model": "x", "providers": []string{"nope"}}}})
		}),
	},
	"GET /admin/router/providers": {
		ok("providers", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/router/providers", nil) }),
	},
	"POST /admin/router/providers": {
		ok("provider", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/router/providers", map[string]any{"name": fmt.Sprintf("p%d", f.uniq()),
				"base_url": "http://127.0.0.1:9/v1", "credential_integration_id": "llm-contract", "models": []string{"gpt-x"}, "enabled": false})
		}),
		bad("taken name", 409, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/router/providers", map[string]any{"name": "contract",
				"base_url": "http://127.0.0.1:9/v1", "credential_integration_id": "llm-contract", "models": []string{}})
		}),
		bad("no such credential", 422, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/admin/router/providers", map[string]any{"name": "orphan",
				"base_url": "http://127.0.0.1:9/v1", "credential_integration_id": "nothing-here", "models": []string{}})
		}),
	},
	"PATCH /admin/router/providers/{providerId}": {
		ok("models", 200, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/admin/router/providers/"+f.providerID, map[string]any{"models": []string{"gpt-contract", "gpt-more"}})
		}),
		bad("ftp base URL", 422, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/admin/router/providers/"+f.providerID, map[string]any{"base_url": "ftp://example.com"})
		}),
	},
	"DELETE /admin/router/providers/{providerId}": {
		ok("delete", 200, func(f *ctFixture) apitest.Request {
			var p struct{ ID string }
			f.created(f.as("POST", "/admin/router/providers", map[string]any{"name": fmt.Sprintf("gone%d", f.uniq()),
				"base_url": "http://127.0.0.1:9/v1", "credential_integration_id": "llm-contract", "models": []string{}}), &p)
			return f.as("DELETE", "/admin/router/providers/"+p.ID, nil)
		}),
		bad("unknown provider", 404, func(f *ctFixture) apitest.Request { return f.as("DELETE", "/admin/router/providers/"+randomID, nil) }),
	},
	"GET /admin/router/health": {
		ok("health", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/router/health", nil) }),
	},
	"GET /webhooks/{webhookId}": ctGet("/webhooks/{webhookId}"),
	"GET /webhooks/event-types": {
		ok("catalogue", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/webhooks/event-types", nil) }),
	},
	"PATCH /webhooks/{webhookId}": {
		ok("describe", 200, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/webhooks/"+f.webhookID, map[string]any{"description": "renamed"})
		}),
		bad("ftp URL", 422, func(f *ctFixture) apitest.Request {
			return f.as("PATCH", "/webhooks/"+f.webhookID, map[string]any{"url": "ftp://example.com/hook"})
		}),
	},
	"DELETE /webhooks/{webhookId}": {
		ok("delete", 200, func(f *ctFixture) apitest.Request {
			return f.as("DELETE", "/webhooks/"+createWebhookGQL(f.t, f.e, f.owner), nil)
		}),
		bad("unknown endpoint", 404, func(f *ctFixture) apitest.Request { return f.as("DELETE", "/webhooks/"+randomID, nil) }),
	},
	"POST /webhooks/{webhookId}/rotate-secret": {
		ok("with grace", 200, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/webhooks/"+createWebhookGQL(f.t, f.e, f.owner)+"/rotate-secret", map[string]any{"grace_period_seconds": 60})
		}),
		bad("unknown endpoint", 404, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/webhooks/"+randomID+"/rotate-secret", map[string]any{})
		}),
	},
	"POST /webhooks/{webhookId}/test": {
		ok("test event", 202, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/webhooks/"+createWebhookGQL(f.t, f.e, f.owner)+"/test", nil)
		}),
	},
	"GET /webhooks/{webhookId}/deliveries": {
		ok("first page", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/webhooks/"+f.webhookID+"/deliveries", nil) }),
		ok("filtered, by page", 200, func(f *ctFixture) apitest.Request {
			return f.as("GET", "/webhooks/"+f.webhookID+"/deliveries?status=retrying&event_type=webhook.test&page=1&per_page=5&order=asc", nil)
		}),
		bad("unknown endpoint", 404, func(f *ctFixture) apitest.Request { return f.as("GET", "/webhooks/"+randomID+"/deliveries", nil) }),
	},
	"POST /webhooks/{webhookId}/deliveries/{deliveryId}/retry": {
		ok("failed delivery", 202, func(f *ctFixture) apitest.Request {
			id, delivery := attemptedWebhookDelivery(f.t, f.e, f.owner)
			return f.as("POST", "/webhooks/"+id+"/deliveries/"+delivery+"/retry", nil)
		}),
		bad("unknown delivery", 404, func(f *ctFixture) apitest.Request {
			return f.as("POST", "/webhooks/"+f.webhookID+"/deliveries/"+randomID+"/retry", nil)
		}),
	},
	"GET /health": {
		ok("ready", 200, func(f *ctFixture) apitest.Request { return apitest.Request{Method: "GET", Path: "/api/v1/health"} }),
		{name: "database down", status: 503, final: true, req: func(f *ctFixture) apitest.Request {
			if err := f.e.Store.DB.Close(); err != nil {
				f.t.Fatal(err)
			}
			return apitest.Request{Method: "GET", Path: "/api/v1/health"}
		}},
	},
}

func ctCreateKey(base string) []ctCase {
	return []ctCase{
		ok("all fields", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", base, map[string]any{"name": fmt.Sprintf("k%d", f.uniq()), "scopes": []string{"api_keys:read"},
				"expires_at": "2099-01-01T00:00:00Z", "ip_allowlist": []string{"10.0.0.0/8"},
				"rate_limit": map[string]any{"requests": 100, "window_seconds": 60}})
		}),
		ok("name only", 201, func(f *ctFixture) apitest.Request {
			return f.as("POST", base, map[string]any{"name": fmt.Sprintf("k%d", f.uniq())})
		}),
		bad("no name", 422, func(f *ctFixture) apitest.Request { return f.as("POST", base, map[string]any{}) }),
	}
}

func ctRevokeKey(base string) []ctCase {
	return []ctCase{
		ok("revoke", 200, func(f *ctFixture) apitest.Request {
			id, _ := f.newKey(base)
			return f.as("DELETE", base+"/"+id, nil)
		}),
		bad("unknown key", 404, func(f *ctFixture) apitest.Request { return f.as("DELETE", base+"/"+randomID, nil) }),
	}
}

func ctList(path, filter string) []ctCase {
	return []ctCase{
		ok("first page", 200, func(f *ctFixture) apitest.Request { return f.as("GET", path, nil) }),
		ok("filtered, by page", 200, func(f *ctFixture) apitest.Request {
			return f.as("GET", path+"?"+filter+"&page=1&per_page=5&order=asc", nil)
		}),
	}
}

// ctGet reads the fixture's resource at pattern, and an unknown one.
func ctGet(pattern string) []ctCase {
	return []ctCase{
		ok("fixture", 200, func(f *ctFixture) apitest.Request { return f.as("GET", f.path(pattern), nil) }),
		bad("unknown", 404, func(f *ctFixture) apitest.Request {
			return f.as("GET", ctParam.ReplaceAllString(pattern, "cvc_"+randomID), nil)
		}),
	}
}

// ctGeneric are the error cases every route of a kind shares: a missing
// credential and a foreign x-tenantid where credentials are needed; a body
// that is not JSON, malformed, or has an unknown field; an unknown sort.
func ctGeneric(rt rest.Route) []ctCase {
	var cases []ctCase
	if !rt.Op.Open {
		cases = append(cases,
			bad("no credentials", 401, func(f *ctFixture) apitest.Request {
				return apitest.Request{Method: rt.Method, Path: "/api/v1" + f.path(rt.Path)}
			}),
			bad("another tenant's x-tenantid", 403, func(f *ctFixture) apitest.Request {
				return apitest.Request{Method: rt.Method, Path: "/api/v1" + f.path(rt.Path), Bearer: f.owner,
					Header: map[string]string{"x-tenantid": randomID}}
			}))
	}
	if rt.Body != nil {
		cases = append(cases,
			bad("not JSON", 415, func(f *ctFixture) apitest.Request {
				return apitest.Request{Method: rt.Method, Path: "/api/v1" + f.path(rt.Path), Bearer: f.tokenFor(rt),
					Body: "name=x", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
			}),
			bad("malformed JSON", 400, func(f *ctFixture) apitest.Request {
				return apitest.Request{Method: rt.Method, Path: "/api/v1" + f.path(rt.Path), Bearer: f.tokenFor(rt), Body: `{"name":`}
			}),
		)
		// OpenAI's requests pass the fields the gateway does not read through.
		if !rt.OpenAI {
			cases = append(cases, bad("unknown field", 422, func(f *ctFixture) apitest.Request {
				return apitest.Request{Method: rt.Method, Path: "/api/v1" + f.path(rt.Path), Bearer: f.tokenFor(rt),
					Body: map[string]any{"no_such_field": true}}
			}))
		}
	}
	if rt.List() {
		cases = append(cases, bad("unknown sort", 422, func(f *ctFixture) apitest.Request {
			return apitest.Request{Method: rt.Method, Path: "/api/v1" + f.path(rt.Path) + "?sort=no_such_field", Bearer: f.tokenFor(rt)}
		}))
	}
	return cases
}

// TestContract sends every route of the table its cases and validates each
// response against the document; a route without a success and an error
// case fails the test.
func TestContract(t *testing.T) {
	t.Parallel()
	routes := (&rest.API{}).Routes()
	known := map[string]bool{}
	for _, rt := range routes {
		known[rt.Method+" "+rt.Path] = true
	}
	for name := range ctCases {
		if !known[name] {
			t.Errorf("ctCases has %q, which is not a route", name)
		}
	}
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		c := ctLoad(t, e)
		f := ctSetup(t, e)
		var final []func()
		for _, rt := range routes {
			name := rt.Method + " " + rt.Path
			cases := append(slices.Clone(ctCases[name]), ctGeneric(rt)...)
			var successes, errors int
			for _, cs := range cases {
				if cs.status < 400 {
					successes++
				} else {
					errors++
				}
			}
			if successes == 0 || errors == 0 {
				t.Errorf("%s has %d success and %d error cases: add them to ctCases", name, successes, errors)
				continue
			}
			for _, cs := range cases {
				run := func() {
					t.Run(name+"/"+cs.name, func(t *testing.T) {
						f.t, f.e = t, on(t, e)
						req := cs.req(f)
						resp := f.e.Do(req)
						if resp.Status != cs.status {
							t.Fatalf("%s %s: %d, want %d: %s", req.Method, req.Path, resp.Status, cs.status, redact(resp.Body))
						}
						c.check(t, f.e, req, resp, cs.status < 400)
					})
				}
				if cs.final {
					final = append(final, run)
				} else {
					run()
				}
			}
		}
		for _, run := range final {
			run()
		}
	}, withAdmin)
}

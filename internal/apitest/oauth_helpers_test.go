package apitest_test

// Helpers of the OAuth tests (oauth_test.go, oauthclient_test.go,
// oauth_interop_test.go, oauth_bench_test.go). Every name here starts with
// "oauth" or "oa" so that the suites other engineers add to this package do
// not collide with it.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/google/uuid"
)

// oaTenant is a registered tenant and its owner's session.
type oaTenant struct {
	e      *apitest.Env
	Owner  string // the owner's session token
	ID     uuid.UUID
	Slug   string
	UserID uuid.UUID
}

// oaRegister creates a tenant and its owner (argon2: once per test and tenant).
func oaRegister(t testing.TB, e *apitest.Env, name string) *oaTenant {
	t.Helper()
	email := strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@example.com"
	resp := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/register",
		Body: map[string]string{"tenant_name": name, "email": email, "password": "correct-horse-battery"}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", name, resp.Status, oaRedact(resp.Body))
	}
	var out struct {
		AccessToken string `json:"access_token"`
		Tenant      struct {
			ID   uuid.UUID `json:"id"`
			Slug string    `json:"slug"`
		} `json:"tenant"`
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	resp.Data(t, &out)
	if out.AccessToken == "" || out.Tenant.ID == uuid.Nil {
		t.Fatalf("register %s: no token or tenant in %s", name, oaRedact(resp.Body))
	}
	return &oaTenant{e: e, Owner: out.AccessToken, ID: out.Tenant.ID, Slug: out.Tenant.Slug, UserID: out.User.ID}
}

// oaClient is a client as /api/v1/oauth-clients shows it.
type oaClient struct {
	ID                    uuid.UUID `json:"id"`
	TenantID              uuid.UUID `json:"tenant_id"`
	ClientID              string    `json:"client_id"`
	ClientSecret          string    `json:"client_secret"`
	Name                  string    `json:"name"`
	Scopes                []string  `json:"scopes"`
	GrantTypes            []string  `json:"grant_types"`
	RedirectURIs          []string  `json:"redirect_uris"`
	AccessTokenTTLSeconds int       `json:"access_token_ttl_seconds"`
	Status                string    `json:"status"`
	CreatedBy             *string   `json:"created_by"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
}

// String renders the client for failure messages, never with its secret.
func (c oaClient) String() string {
	shown := ""
	if c.ClientSecret != "" {
		shown = "[redacted]"
	}
	return fmt.Sprintf("{id:%s tenant:%s client_id:%s client_secret:%q name:%q scopes:%v grant_types:%v redirect_uris:%v ttl:%d status:%s}",
		c.ID, c.TenantID, c.ClientID, shown, c.Name, c.Scopes, c.GrantTypes, c.RedirectURIs, c.AccessTokenTTLSeconds, c.Status)
}

// createClient creates a client with the owner's session and asserts 201.
func (tn *oaTenant) createClient(t testing.TB, body map[string]any) oaClient {
	t.Helper()
	return oaCreateClient(t, tn.e, tn.Owner, body)
}

func oaCreateClient(t testing.TB, e *apitest.Env, bearer string, body map[string]any) oaClient {
	t.Helper()
	return oaCreateClientReq(t, e, apitest.Request{Bearer: bearer, Body: body})
}

// oaCreateClientReq creates a client with req's credentials and body.
func oaCreateClientReq(t testing.TB, e *apitest.Env, req apitest.Request) oaClient {
	t.Helper()
	req.Method, req.Path = http.MethodPost, "/api/v1/oauth-clients"
	resp := e.Do(req)
	if resp.Status != http.StatusCreated {
		t.Fatalf("create client: %d %s", resp.Status, oaRedact(resp.Body))
	}
	var c oaClient
	resp.Data(t, &c)
	if c.ClientID == "" || c.ClientSecret == "" {
		t.Fatalf("create client: no client_id or client_secret in the answer")
	}
	return c
}

// createAPIKey creates an API key of the owner with scopes and returns it.
func (tn *oaTenant) createAPIKey(t testing.TB, scopes ...string) string {
	t.Helper()
	resp := tn.e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/api-keys", Bearer: tn.Owner,
		Body: map[string]any{"name": "key " + strings.Join(scopes, " "), "scopes": scopes}})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create api key: %d %s", resp.Status, oaRedact(resp.Body))
	}
	var k struct {
		Key string `json:"key"`
	}
	resp.Data(t, &k)
	if !strings.HasPrefix(k.Key, "cvk_") {
		t.Fatal("create api key: no key in the answer")
	}
	return k.Key
}

// oaAuth is how a request to /oauth/* authenticates.
type oaAuth struct {
	basicID, basicSecret string // client_secret_basic when basicID != ""
	header               map[string]string
}

func oaBasic(id, sec string) oaAuth { return oaAuth{basicID: id, basicSecret: sec} }

// oaBasicHeader is the Authorization value of client_secret_basic (RFC 6749 §2.3.1).
func oaBasicHeader(id, sec string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
}

// oaForm posts a form to an /oauth/* endpoint.
func oaForm(e *apitest.Env, path string, form url.Values, a oaAuth) *apitest.Response {
	e.T.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if a.basicID != "" {
		h["Authorization"] = oaBasicHeader(a.basicID, a.basicSecret)
	}
	for k, v := range a.header {
		h[k] = v
	}
	return e.Do(apitest.Request{Method: http.MethodPost, Path: path, Body: form.Encode(), Header: h})
}

// oaTokenResp is an RFC 6749 §5.1 answer or a §5.2 error.
type oaTokenResp struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func oaDecode(t testing.TB, resp *apitest.Response) oaTokenResp {
	t.Helper()
	var out oaTokenResp
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		t.Fatalf("not JSON (%d): %s", resp.Status, oaRedact(resp.Body))
	}
	return out
}

// oaClientCredentials asks for a token with client_secret_basic and the
// given scope ("" for the client's own).
func oaClientCredentials(e *apitest.Env, id, sec, scope string) *apitest.Response {
	e.T.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return oaForm(e, "/oauth/token", form, oaBasic(id, sec))
}

// oaIssue gets a token for the client and fails the test unless it is issued.
func oaIssue(t testing.TB, e *apitest.Env, c oaClient, scope string) oaTokenResp {
	t.Helper()
	resp := oaClientCredentials(e, c.ClientID, c.ClientSecret, scope)
	if resp.Status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", c.ClientID, resp.Status, oaRedact(resp.Body))
	}
	tok := oaDecode(t, resp)
	if tok.AccessToken == "" {
		t.Fatal("token: no access_token")
	}
	return tok
}

// oaWantOAuthError asserts an RFC 6749 §5.2 error answer.
func oaWantOAuthError(t testing.TB, resp *apitest.Response, status int, code string) oaTokenResp {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status %d, want %d: %s", resp.Status, status, oaRedact(resp.Body))
	}
	out := oaDecode(t, resp)
	if out.Error != code {
		t.Fatalf("error %q, want %q: %s", out.Error, code, oaRedact(resp.Body))
	}
	if out.AccessToken != "" {
		t.Fatal("an error answer carries an access_token")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	return out
}

// oaWantEnvelopeError asserts a REST error envelope.
func oaWantEnvelopeError(t testing.TB, resp *apitest.Response, status int, code string) {
	t.Helper()
	if resp.Status != status || resp.ErrorCode() != code || resp.Envelope.Success {
		t.Fatalf("got %d %q, want %d %q: %s", resp.Status, resp.ErrorCode(), status, code, oaRedact(resp.Body))
	}
}

// oaWantField asserts a 422 VALIDATION_ERROR naming field.
func oaWantField(t testing.TB, resp *apitest.Response, field string) {
	t.Helper()
	oaWantEnvelopeError(t, resp, http.StatusUnprocessableEntity, "VALIDATION_ERROR")
	if got := resp.Envelope.Error.Details["field"]; got != field {
		t.Fatalf("details.field %v, want %q: %s", got, field, oaRedact(resp.Body))
	}
}

// oaMe is GET /api/v1/auth/me's data.
type oaMe struct {
	PrincipalType string    `json:"principal_type"`
	ID            uuid.UUID `json:"id"`
	Tenant        struct {
		ID uuid.UUID `json:"id"`
	} `json:"tenant"`
	Scopes   []string `json:"scopes"`
	ClientID *string  `json:"client_id"`
	User     any      `json:"user"`
}

func oaGetMe(t testing.TB, e *apitest.Env, bearer string) oaMe {
	t.Helper()
	resp := e.Get("/api/v1/auth/me", bearer)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /auth/me: %d %s", resp.Status, oaRedact(resp.Body))
	}
	var me oaMe
	resp.Data(t, &me)
	return me
}

// oaWantUnauthorized asserts that bearer gets 401 UNAUTHORIZED with reason.
func oaWantUnauthorized(t testing.TB, e *apitest.Env, bearer, reason string) {
	t.Helper()
	resp := e.Get("/api/v1/auth/me", bearer)
	oaWantEnvelopeError(t, resp, http.StatusUnauthorized, "UNAUTHORIZED")
	if got := resp.Envelope.Error.Details["reason"]; got != reason {
		t.Fatalf("details.reason %v, want %q", got, reason)
	}
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
}

// oaIntrospect posts token to /oauth/introspect and decodes the answer.
func oaIntrospect(t testing.TB, e *apitest.Env, token string, a oaAuth) map[string]any {
	t.Helper()
	resp := oaForm(e, "/oauth/introspect", url.Values{"token": {token}}, a)
	if resp.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", resp.Status, oaRedact(resp.Body))
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		t.Fatalf("introspect: not JSON: %v", err)
	}
	if _, ok := out["active"].(bool); !ok {
		t.Fatalf("introspect: no boolean active in %s", oaRedact(resp.Body))
	}
	return out
}

// oaAudit returns the tenant's audit entries of action.
func oaAudit(t testing.TB, e *apitest.Env, tenant uuid.UUID, action string) []*ent.AuditLog {
	t.Helper()
	rows, err := e.Store.Client.AuditLog.Query().
		Where(auditlog.TenantID(tenant), auditlog.Action(action)).
		Order(ent.Asc(auditlog.FieldOccurredAt)).All(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// oaAwaitAudit polls for an entry of action matching ok (batched entries
// are flushed every second) and fails after a deadline.
func oaAwaitAudit(t testing.TB, e *apitest.Env, tenant uuid.UUID, action string, ok func(*ent.AuditLog) bool) *ent.AuditLog {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, r := range oaAudit(t, e, tenant, action) {
			if ok == nil || ok(r) {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit entry %s within the deadline", action)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// oaSecretFields are JSON keys whose values must never appear in a failure message.
var oaSecretFields = map[string]bool{"access_token": true, "refresh_token": true, "client_secret": true,
	"key": true, "token": true, "accessToken": true, "refreshToken": true, "clientSecret": true}

// oaRedact renders a body for a failure message with secret values masked.
func oaRedact(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		if len(body) > 300 {
			body = body[:300]
		}
		return "(non-JSON body: " + oaMask(string(body)) + ")"
	}
	out, _ := json.Marshal(oaRedactValue(v))
	return string(out)
}

func oaRedactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if oaSecretFields[k] {
				if s, ok := val.(string); ok && s != "" {
					x[k] = "[redacted]"
					continue
				}
			}
			x[k] = oaRedactValue(val)
		}
	case []any:
		for i := range x {
			x[i] = oaRedactValue(x[i])
		}
	case string:
		return oaMask(x)
	}
	return v
}

// oaMask hides anything shaped like a JWT or a CredVault secret in free text.
func oaMask(s string) string {
	for _, f := range strings.Fields(s) {
		if strings.Count(f, ".") == 2 && len(f) > 40 || strings.HasPrefix(f, "cvcs_") || strings.HasPrefix(f, "cvk_") {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
	}
	return s
}

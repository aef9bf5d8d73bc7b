package apitest_test

// Helpers of the operations tests (tenants, audit trail, jobs, health,
// metrics, dashboards, every mutation audited). Their names start with ops
// so they never clash with the helpers of the other suites.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/apitest"
)

// opsTenant is a registered tenant and its owner's session.
type opsTenant struct {
	ID      uuid.UUID
	Slug    string
	Name    string
	Token   string
	Refresh string
	OwnerID uuid.UUID
	Email   string
}

// opsRegister signs a new tenant up; its name and email are unique.
func opsRegister(t *testing.T, e *apitest.Env, name string) opsTenant {
	t.Helper()
	suffix := uuid.NewString()[:8]
	email := "owner-" + suffix + "@" + strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".test"
	s := register(t, e, name+" "+suffix, email)
	return opsTenant{ID: uid(t, s.Tenant.ID), Slug: s.Tenant.Slug, Name: s.Tenant.Name, Token: s.AccessToken,
		Refresh: s.RefreshToken, OwnerID: uid(t, s.User.ID), Email: email}
}

// opsAdmin signs the platform admin in (the server must run withAdmin).
func opsAdmin(t *testing.T, e *apitest.Env) string {
	t.Helper()
	return login(t, e, adminEmail, adminPass, "").AccessToken
}

// opsPlatformID is the platform tenant's id.
func opsPlatformID(t *testing.T, e *apitest.Env) uuid.UUID {
	t.Helper()
	id, err := e.Store.Client.Tenant.Query().Where(tenant.Platform(true)).OnlyID(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// opsDo sends a request with cred: an API key (cvk_…) in X-API-Key,
// anything else as a Bearer token.
func opsDo(e *apitest.Env, method, path, cred string, body any, header ...map[string]string) *apitest.Response {
	e.T.Helper()
	req := apitest.Request{Method: method, Path: path, Body: body, Header: map[string]string{}}
	if len(header) > 0 {
		for k, v := range header[0] {
			req.Header[k] = v
		}
	}
	switch {
	case strings.HasPrefix(cred, "cvk_"):
		req.Header["X-API-Key"] = cred
	case cred != "":
		req.Bearer = cred
	}
	return e.Do(req)
}

// opsOK checks a success envelope with status and decodes its data into v (when not nil).
func opsOK(t *testing.T, r *apitest.Response, status int, v any) {
	t.Helper()
	if r.Status != status || !r.Envelope.Success {
		t.Fatalf("status %d (success %v), want %d: %s", r.Status, r.Envelope.Success, status, redact(r.Body))
	}
	if v != nil {
		if err := json.Unmarshal(r.Envelope.Data, v); err != nil {
			t.Fatalf("decode data: %v: %s", err, redact(r.Body))
		}
	}
}

// opsKey is an API key as created: its id and the secret (never print it).
type opsKey struct {
	ID  uuid.UUID `json:"id"`
	Key string    `json:"key"`
}

// opsCreateKey creates an API key as cred; scopes nil takes the creator's.
func opsCreateKey(t *testing.T, e *apitest.Env, cred string, scopes []string) opsKey {
	t.Helper()
	body := map[string]any{"name": "key " + uuid.NewString()[:6]}
	if scopes != nil {
		body["scopes"] = scopes
	}
	var k opsKey
	opsOK(t, opsDo(e, http.MethodPost, "/api/v1/api-keys", cred, body), http.StatusCreated, &k)
	if k.ID == uuid.Nil || !strings.HasPrefix(k.Key, "cvk_") {
		t.Fatal("created key without id or secret")
	}
	return k
}

// opsClient is an OAuth client as created (never print Secret).
type opsClient struct {
	ID       uuid.UUID `json:"id"`
	ClientID string    `json:"client_id"`
	Secret   string    `json:"client_secret"`
}

func opsCreateClient(t *testing.T, e *apitest.Env, cred string, scopes []string) opsClient {
	t.Helper()
	var c opsClient
	opsOK(t, opsDo(e, http.MethodPost, "/api/v1/oauth-clients", cred,
		map[string]any{"name": "client " + uuid.NewString()[:6], "scopes": scopes}), http.StatusCreated, &c)
	if c.ClientID == "" || c.Secret == "" {
		t.Fatal("created client without client_id or secret")
	}
	return c
}

// opsToken gets an access token for c with the client_credentials grant.
func opsToken(t *testing.T, e *apitest.Env, c opsClient) string {
	t.Helper()
	r := opsTokenRequest(e, c)
	if r.Status != http.StatusOK {
		t.Fatalf("token endpoint: %d %s", r.Status, redact(r.Body))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(r.Body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response: %v: %s", err, redact(r.Body))
	}
	return tok.AccessToken
}

func opsTokenRequest(e *apitest.Env, c opsClient) *apitest.Response {
	e.T.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.Secret)))
	return e.Do(apitest.Request{Method: http.MethodPost, Path: "/oauth/token",
		Body:   url.Values{"grant_type": {"client_credentials"}}.Encode(),
		Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + basic}})
}

// opsMe is GET /auth/me with cred.
func opsMe(e *apitest.Env, cred string) *apitest.Response {
	e.T.Helper()
	return opsDo(e, http.MethodGet, "/api/v1/auth/me", cred, nil)
}

// opsWorks checks that cred authenticates.
func opsWorks(t *testing.T, e *apitest.Env, what, cred string) {
	t.Helper()
	if r := opsMe(e, cred); r.Status != http.StatusOK {
		t.Fatalf("%s: GET /auth/me = %d, want 200: %s", what, r.Status, redact(r.Body))
	}
}

// opsRefused checks that cred gets 401 with one of reasons.
func opsRefused(t *testing.T, e *apitest.Env, what, cred string, reasons ...string) {
	t.Helper()
	r := opsMe(e, cred)
	if r.Status != http.StatusUnauthorized || r.ErrorCode() != "UNAUTHORIZED" {
		t.Fatalf("%s: GET /auth/me = %d %s, want 401 UNAUTHORIZED: %s", what, r.Status, r.ErrorCode(), redact(r.Body))
	}
	got := fmt.Sprint(r.Envelope.Error.Details["reason"])
	for _, want := range reasons {
		if got == want {
			return
		}
	}
	t.Fatalf("%s: 401 with reason %q, want one of %v", what, got, reasons)
}

// opsEventually polls cond every 20 ms until it holds, failing after within.
func opsEventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, within, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// opsAuditCount counts the entries of tenantID with action (every outcome),
// after flushing the batched ones.
func opsAuditCount(t *testing.T, e *apitest.Env, tenantID uuid.UUID, action string) int {
	t.Helper()
	e.Flush()
	n, err := e.Store.Client.AuditLog.Query().Where(auditlog.TenantID(tenantID), auditlog.Action(action)).Count(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// opsAuditFor returns the entries of tenantID with action on resourceID.
func opsAuditFor(t *testing.T, e *apitest.Env, tenantID uuid.UUID, action, resourceID string) []*ent.AuditLog {
	t.Helper()
	e.Flush()
	rows, err := e.Store.Client.AuditLog.Query().
		Where(auditlog.TenantID(tenantID), auditlog.Action(action), auditlog.ResourceID(resourceID)).
		Order(ent.Asc(auditlog.FieldOccurredAt)).All(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// opsGQL runs a GraphQL operation as cred and decodes its data into v,
// failing on any error.
func opsGQL(t *testing.T, e *apitest.Env, cred, query string, vars map[string]any, v any, header ...map[string]string) {
	t.Helper()
	var g *apitest.GraphQLResponse
	if strings.HasPrefix(cred, "cvk_") {
		h := map[string]string{"X-API-Key": cred}
		if len(header) > 0 {
			for k, val := range header[0] {
				h[k] = val
			}
		}
		g = e.GraphQL(query, vars, "", h)
	} else {
		g = e.GraphQL(query, vars, cred, header...)
	}
	if len(g.Errors) > 0 {
		t.Fatalf("graphql errors: %+v", g.Errors)
	}
	if v != nil {
		if err := json.Unmarshal(g.Data, v); err != nil {
			t.Fatalf("decode %s: %v", redact(g.Data), err)
		}
	}
}

// opsGQLErr runs a GraphQL operation as cred, expecting an error with code.
func opsGQLErr(t *testing.T, e *apitest.Env, cred, query string, vars map[string]any, code string, details ...any) {
	t.Helper()
	var g *apitest.GraphQLResponse
	if strings.HasPrefix(cred, "cvk_") {
		g = e.GraphQL(query, vars, "", map[string]string{"X-API-Key": cred})
	} else {
		g = e.GraphQL(query, vars, cred)
	}
	expectGQLError(t, g, code, details...)
}

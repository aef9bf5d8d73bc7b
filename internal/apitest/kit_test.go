package apitest_test

// The kit: the one set of helpers every suite of this package uses, so that
// no two helpers do the same thing. A new test finds what it needs here; a
// helper that only one suite needs stays in that suite's file. Servers come
// from package apitest (New, EachParallel; Config and Start for a test that
// holds its own keys).
//
//   - tenants and users: register (a *tenantFixture: the tenant and its
//     owner signed in; ownedBy for an exact name and email, asSandbox for
//     a sandbox tenant), tn.user, login, createUser, adminToken,
//     withAdmin, newMaster, withMaster;
//   - requests: do (an API key goes in X-API-Key, anything else as Bearer),
//     listPage, whoami, me, gql, gqlErr, mutationFields, postForm;
//   - assertions: wantStatus (the status only), wantOK (a success envelope,
//     decoded), dataOf, wantError, wantUnauthorized, wantGQLError,
//     wantOAuthError;
//   - API keys, OAuth clients and tokens: createKey, newKey, tn.key,
//     checkIssued, createClient, tn.createClient, clientCredentials,
//     issueToken, decodeToken, introspect, basicAuth, basicHeader;
//   - the database: unrestricted, uid, auditEntries, oneAudit, awaitAudit,
//     expandTallies, waitJob, platformTenantID, dbTables, scanDB;
//   - metrics and time: scrapeMetrics, eventually;
//   - failure messages: redact, short, showGQL. A secret (a token, a key, a
//     client secret, a credential's data) never reaches a failure message:
//     bodies go through redact, secrets through short.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// testPassword is every test user's password (long enough for password.MinLength).
const testPassword = "correct-horse-battery"

// The platform admin of a server started withAdmin.
const (
	adminEmail = "root@platform.test"
	adminPass  = "platform-admin-password"
)

// withAdmin configures the platform admin (adminEmail, adminPass).
func withAdmin(c *config.Config) { c.AdminEmail, c.AdminPassword = adminEmail, adminPass }

// ---------------------------------------------------------------------------
// JSON shapes

// tenantJSON is a tenant as register and me show it.
type tenantJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// userJSON is a user as REST shows it.
type userJSON struct {
	ID          string     `json:"id"`
	TenantID    string     `json:"tenant_id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	Status      string     `json:"status"`
	LastLoginAt *time.Time `json:"last_login_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// sessionJSON is the data of register, login and refresh.
type sessionJSON struct {
	Tenant       *tenantJSON `json:"tenant"`
	User         userJSON    `json:"user"`
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token"`
	TokenType    string      `json:"token_type"`
	ExpiresIn    int         `json:"expires_in"`
}

// meJSON is the data of GET /auth/me.
type meJSON struct {
	PrincipalType string     `json:"principal_type"`
	ID            string     `json:"id"`
	Tenant        tenantJSON `json:"tenant"`
	Scopes        []string   `json:"scopes"`
	User          *struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
		Role  string `json:"role"`
	} `json:"user"`
	ClientID *string `json:"client_id"`
	APIKeyID *string `json:"api_key_id"`
}

// apiKeyJSON is an API key as REST shows it. Never format one into a
// message: Key holds the secret (when it is shown).
type apiKeyJSON struct {
	ID          uuid.UUID  `json:"id"`
	TenantID    uuid.UUID  `json:"tenant_id"`
	Name        string     `json:"name"`
	Key         string     `json:"key"`
	Prefix      string     `json:"prefix"`
	Scopes      []string   `json:"scopes"`
	Status      string     `json:"status"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
	IPAllowlist []string   `json:"ip_allowlist"`
	RateLimit   *struct {
		Requests      int `json:"requests"`
		WindowSeconds int `json:"window_seconds"`
	} `json:"rate_limit"`
	ServiceAccountID *uuid.UUID `json:"service_account_id"`
	UserID           *uuid.UUID `json:"user_id"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// clientJSON is an OAuth client as /api/v1/oauth-clients shows it.
type clientJSON struct {
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
func (c clientJSON) String() string {
	shown := ""
	if c.ClientSecret != "" {
		shown = "[redacted]"
	}
	return fmt.Sprintf("{id:%s tenant:%s client_id:%s client_secret:%q name:%q scopes:%v grant_types:%v redirect_uris:%v ttl:%d status:%s}",
		c.ID, c.TenantID, c.ClientID, shown, c.Name, c.Scopes, c.GrantTypes, c.RedirectURIs, c.AccessTokenTTLSeconds, c.Status)
}

// tokenJSON is an /oauth/token answer (RFC 6749 §5.1) or error (§5.2).
type tokenJSON struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// ---------------------------------------------------------------------------
// Failure messages: never a secret

// secretRE matches what a secret looks like in free text: JWTs, API keys,
// refresh tokens, OAuth client secrets, webhook signing secrets and the
// vault tests' secrets.
var secretRE = regexp.MustCompile(`eyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-.]*|(cvk|cvr|cvcs)_[0-9A-Za-z]+|whsec_[0-9A-Za-z+/=]+|vtsecret-[0-9A-Za-z_\-]+`)

// secretFields are JSON keys whose values are secrets. "data" is a
// credential's decrypted data wherever it is nested (the envelope's own
// data is walked, not hidden).
var secretFields = map[string]bool{"access_token": true, "refresh_token": true, "client_secret": true,
	"key": true, "token": true, "accessToken": true, "refreshToken": true, "clientSecret": true, "data": true,
	"secret": true}

// short describes a secret for a failure message: a prefix and its length.
func short(s string) string {
	return fmt.Sprintf("%q…(%d chars)", s[:min(6, len(s))], len(s))
}

func mask(s string) string {
	return secretRE.ReplaceAllStringFunc(s, func(m string) string {
		return fmt.Sprintf("%.4s…(%d chars)", m, len(m))
	})
}

// redact renders a body for a failure message: the values of secret
// fields hidden, and anything shaped like a secret masked, in JSON or not.
// The top-level "data" (an envelope's, a GraphQL answer's) is walked;
// a "data" below it is a credential's and is hidden.
func redact(body []byte) string {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		if len(body) > 2000 {
			body = body[:2000]
		}
		return mask(string(body))
	}
	if m, ok := v.(map[string]any); ok {
		if d, ok := m["data"]; ok {
			delete(m, "data")
			m = redactValue(m).(map[string]any)
			m["data"] = redactValue(d)
			out, _ := json.Marshal(m)
			return string(out)
		}
	}
	out, _ := json.Marshal(redactValue(v))
	return string(out)
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if secretFields[k] && val != nil && val != "" {
				x[k] = "[redacted]"
				continue
			}
			x[k] = redactValue(val)
		}
	case []any:
		for i := range x {
			x[i] = redactValue(x[i])
		}
	case string:
		return mask(x)
	}
	return v
}

// showGQL describes a GraphQL response for a failure message: its status,
// its errors and its data redacted.
func showGQL(g *apitest.GraphQLResponse) string {
	var parts []string
	for _, e := range g.Errors {
		parts = append(parts, fmt.Sprintf("%q at %v %v", e.Message, e.Path, e.Extensions))
	}
	return fmt.Sprintf("HTTP %d errors [%s] data %s", g.Status, strings.Join(parts, "; "), redact(g.Data))
}

// ---------------------------------------------------------------------------
// Requests

// do sends a request authenticated with cred: an API key (cvk_…) goes in
// X-API-Key, anything else non-empty is a Bearer token. body is JSON-encoded
// unless it is []byte or a string; header adds request headers.
func do(e *apitest.Env, method, path, cred string, body any, header ...map[string]string) *apitest.Response {
	e.T.Helper()
	req := apitest.Request{Method: method, Path: path, Body: body, Header: map[string]string{}}
	for _, h := range header {
		for k, v := range h {
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

// atOnce sends n requests together, each request(i) released at the same
// moment from a goroutine of its own, and returns the answers in order.
func atOnce(n int, request func(i int) *apitest.Response) []*apitest.Response {
	answers := make([]*apitest.Response, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			answers[i] = request(i)
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// listPage gets a page of a REST list as cred, expecting a success
// envelope whose data is an array, decoded into items, and returns its
// meta.pagination, which must be there.
func listPage(t testing.TB, e *apitest.Env, cred, path string, items any) map[string]any {
	t.Helper()
	r := do(e, http.MethodGet, path, cred, nil)
	wantOK(t, r, http.StatusOK, items)
	if !strings.HasPrefix(strings.TrimSpace(string(r.Envelope.Data)), "[") {
		t.Fatalf("GET %s: list data is not an array: %s", path, redact(r.Body))
	}
	if r.Envelope.Meta.Pagination == nil {
		t.Fatalf("GET %s: list without meta.pagination: %s", path, redact(r.Body))
	}
	return r.Envelope.Meta.Pagination
}

// whoami is GET /api/v1/auth/me with cred, whatever the answer.
func whoami(e *apitest.Env, cred string, header ...map[string]string) *apitest.Response {
	e.T.Helper()
	return do(e, http.MethodGet, "/api/v1/auth/me", cred, nil, header...)
}

// me is GET /api/v1/auth/me with cred, expecting 200.
func me(t testing.TB, e *apitest.Env, cred string, header ...map[string]string) meJSON {
	t.Helper()
	var m meJSON
	wantOK(t, whoami(e, cred, header...), http.StatusOK, &m)
	return m
}

// gqlDo posts a GraphQL operation with cred placed as do places it.
func gqlDo(e *apitest.Env, cred, query string, vars map[string]any, header ...map[string]string) *apitest.GraphQLResponse {
	e.T.Helper()
	h := map[string]string{}
	for _, x := range header {
		for k, v := range x {
			h[k] = v
		}
	}
	if strings.HasPrefix(cred, "cvk_") {
		h["X-API-Key"] = cred
		cred = ""
	}
	return e.GraphQL(query, vars, cred, h)
}

// gql runs a GraphQL operation as cred (placed as do places it), fails on
// any error, and decodes its data into v (when not nil).
func gql(t testing.TB, e *apitest.Env, cred, query string, vars map[string]any, v any, header ...map[string]string) {
	t.Helper()
	g := gqlDo(e, cred, query, vars, header...)
	if len(g.Errors) > 0 {
		t.Fatalf("graphql errors: %s", showGQL(g))
	}
	if v != nil {
		if err := json.Unmarshal(g.Data, v); err != nil {
			t.Fatalf("decode %s: %v", redact(g.Data), err)
		}
	}
}

// mutationFields lists the schema's mutation fields, by introspection as cred.
func mutationFields(t testing.TB, e *apitest.Env, cred string) []string {
	t.Helper()
	var schema struct {
		Schema struct {
			MutationType struct {
				Fields []struct{ Name string }
			} `json:"mutationType"`
		} `json:"__schema"`
	}
	gql(t, e, cred, `{ __schema { mutationType { fields { name } } } }`, nil, &schema)
	var out []string
	for _, f := range schema.Schema.MutationType.Fields {
		out = append(out, f.Name)
	}
	return out
}

// gqlErr runs a GraphQL operation as cred, expecting an error with code and
// the details given as key, value pairs.
func gqlErr(t testing.TB, e *apitest.Env, cred, query string, vars map[string]any, code string, details ...any) {
	t.Helper()
	wantGQLError(t, gqlDo(e, cred, query, vars), code, details...)
}

// ---------------------------------------------------------------------------
// Assertions

// wantStatus fails unless r has status, whatever its body.
func wantStatus(t testing.TB, r *apitest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, redact(r.Body))
	}
}

// wantOK fails unless r has status and is a success envelope without an
// error, then decodes its data into v (when not nil).
func wantOK(t testing.TB, r *apitest.Response, status int, v any) {
	t.Helper()
	wantStatus(t, r, status)
	if !r.Envelope.Success || r.Envelope.Error != nil {
		t.Fatalf("status %d without success: true: %s", r.Status, redact(r.Body))
	}
	if v != nil {
		dataOf(t, r, v)
	}
}

// dataOf decodes the envelope's data into v; a failure shows it redacted.
func dataOf(t testing.TB, r *apitest.Response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Envelope.Data, v); err != nil {
		t.Fatalf("decode data: %v: %s", err, redact(r.Body))
	}
}

// wantError checks an error envelope: status, success false, code, a
// message and a request id, each details entry given as key, value pairs
// (compared as text), and no data.
func wantError(t testing.TB, r *apitest.Response, status int, code string, details ...any) {
	t.Helper()
	if r.Status != status || r.Envelope.Success || r.ErrorCode() != code {
		t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.ErrorCode(), status, code, redact(r.Body))
	}
	if r.Envelope.Error.Message == "" || r.Envelope.Meta.RequestID == "" {
		t.Fatalf("error envelope without message or request id: %s", redact(r.Body))
	}
	for i := 0; i+1 < len(details); i += 2 {
		k := details[i].(string)
		if got := r.Envelope.Error.Details[k]; fmt.Sprint(got) != fmt.Sprint(details[i+1]) {
			t.Fatalf("error.details.%s = %v, want %v: %s", k, got, details[i+1], redact(r.Body))
		}
	}
	if len(r.Envelope.Data) != 0 && string(r.Envelope.Data) != "null" {
		t.Fatalf("an error envelope carries data: %s", redact(r.Body))
	}
}

// wantUnauthorized checks a 401 UNAUTHORIZED with a Bearer WWW-Authenticate
// header and, when reasons are given, details.reason one of them.
func wantUnauthorized(t testing.TB, r *apitest.Response, reasons ...string) {
	t.Helper()
	wantError(t, r, http.StatusUnauthorized, "UNAUTHORIZED")
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("401 without a Bearer WWW-Authenticate header: %q", r.Header.Get("WWW-Authenticate"))
	}
	if len(reasons) == 0 {
		return
	}
	reason := fmt.Sprint(r.Envelope.Error.Details["reason"])
	if !slices.Contains(reasons, reason) {
		t.Fatalf("details.reason = %v, want one of %v: %s", reason, reasons, redact(r.Body))
	}
}

// wantGQLError checks the first GraphQL error's extensions.code and each
// extensions.details entry given as key, value pairs (compared as text).
func wantGQLError(t testing.TB, g *apitest.GraphQLResponse, code string, details ...any) {
	t.Helper()
	if len(g.Errors) == 0 {
		t.Fatalf("no GraphQL error, want %s: %s", code, showGQL(g))
	}
	if g.Code() != code {
		t.Fatalf("extensions.code %q, want %q: %s", g.Code(), code, showGQL(g))
	}
	det, _ := g.Errors[0].Extensions["details"].(map[string]any)
	for i := 0; i+1 < len(details); i += 2 {
		k := details[i].(string)
		if got := det[k]; fmt.Sprint(got) != fmt.Sprint(details[i+1]) {
			t.Fatalf("extensions.details.%s = %v, want %v: %s", k, got, details[i+1], showGQL(g))
		}
	}
}

// ---------------------------------------------------------------------------
// Tenants and users

// principal is a signed-in user: the register or login answer, its ids
// parsed, and what it signed in with.
type principal struct {
	sessionJSON
	UserID   uuid.UUID
	TenantID uuid.UUID
	Slug     string // "" for the platform admin
	Email    string
	Password string
}

// tenantFixture is a registered tenant with its owner signed in.
type tenantFixture struct {
	principal // the owner
	e         *apitest.Env
	Name      string
}

// registerOption adjusts a registration.
type registerOption func(r *registration)

type registration struct {
	name, email string
	sandbox     bool
}

// ownedBy registers the tenant under exactly the name given, its owner
// with email. Without it a unique tag is added to the name and the
// owner's email is made from both.
func ownedBy(email string) registerOption {
	return func(r *registration) { r.email = email }
}

// asSandbox registers a sandbox tenant (plan sandbox, SPEC §15).
func asSandbox(r *registration) { r.sandbox = true }

// register signs a new tenant up over REST (its owner's password is
// testPassword) and checks the 201 and the session.
func register(t testing.TB, e *apitest.Env, name string, opts ...registerOption) *tenantFixture {
	t.Helper()
	reg := registration{name: name}
	for _, o := range opts {
		o(&reg)
	}
	if reg.email == "" {
		tag := randTag()
		reg.email = "owner-" + tag + "@" + strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".test"
		reg.name = name + " " + tag
	}
	body := map[string]any{"tenant_name": reg.name, "email": reg.email, "password": testPassword}
	if reg.sandbox {
		body["sandbox"] = true
	}
	r := do(e, http.MethodPost, "/api/v1/auth/register", "", body)
	var s sessionJSON
	wantOK(t, r, http.StatusCreated, &s)
	if s.Tenant == nil || s.AccessToken == "" || s.RefreshToken == "" {
		t.Fatalf("register: incomplete session: %s", redact(r.Body))
	}
	p := principal{sessionJSON: s, UserID: uid(t, s.User.ID), TenantID: uid(t, s.Tenant.ID), Slug: s.Tenant.Slug,
		Email: reg.email, Password: testPassword}
	if p.UserID == uuid.Nil || p.TenantID == uuid.Nil {
		t.Fatalf("register: no tenant or user id: %s", redact(r.Body))
	}
	return &tenantFixture{principal: p, e: e, Name: s.Tenant.Name}
}

// login signs in over REST and checks the 200; slug names the tenant ("" for
// none, as the platform admin signs in).
func login(t testing.TB, e *apitest.Env, email, password, slug string) principal {
	t.Helper()
	body := map[string]any{"email": email, "password": password}
	if slug != "" {
		body["tenant"] = slug
	}
	r := do(e, http.MethodPost, "/api/v1/auth/login", "", body)
	var s sessionJSON
	wantOK(t, r, http.StatusOK, &s)
	if s.AccessToken == "" || s.RefreshToken == "" {
		t.Fatalf("login: incomplete session: %s", redact(r.Body))
	}
	return principal{sessionJSON: s, UserID: uid(t, s.User.ID), TenantID: uid(t, s.User.TenantID), Slug: slug,
		Email: email, Password: password}
}

// adminToken signs the platform admin in (the server must run withAdmin).
func adminToken(t testing.TB, e *apitest.Env) string {
	t.Helper()
	return login(t, e, adminEmail, adminPass, "").AccessToken
}

// createUser creates a user over REST as cred and returns it; pw may be ""
// and header adds request headers such as x-tenantid.
func createUser(t testing.TB, e *apitest.Env, cred, email, role, pw string, header ...map[string]string) userJSON {
	t.Helper()
	body := map[string]any{"email": email, "role": role, "name": "User " + role}
	if pw != "" {
		body["password"] = pw
	}
	var u userJSON
	wantOK(t, do(e, http.MethodPost, "/api/v1/admin/users", cred, body, header...), http.StatusCreated, &u)
	return u
}

// user creates a user of role in the tenant (password testPassword) and
// signs it in.
func (tn *tenantFixture) user(t testing.TB, role string) principal {
	t.Helper()
	email := role + "-" + randTag() + "@" + tn.Slug + ".test"
	createUser(t, tn.e, tn.AccessToken, email, role, testPassword)
	p := login(t, tn.e, email, testPassword, tn.Slug)
	if p.TenantID != tn.TenantID {
		t.Fatalf("the %s signed in to tenant %s, want %s", role, p.TenantID, tn.TenantID)
	}
	return p
}

// ---------------------------------------------------------------------------
// API keys

// keyRE is the format of a key: cvk_ and at least 43 base62 characters
// (32 random bytes).
var keyRE = regexp.MustCompile(`^cvk_[0-9A-Za-z]{43,}$`)

// checkIssued checks a key as creation or rotation shows it: the secret in
// the right format, the prefix its first 8 characters after cvk_, an id.
func checkIssued(t testing.TB, k apiKeyJSON) {
	t.Helper()
	if !keyRE.MatchString(k.Key) {
		t.Fatalf("key (%d chars, prefix %.4q) is not cvk_ + at least 43 base62 characters", len(k.Key), k.Key)
	}
	if k.Prefix != k.Key[4:12] {
		t.Fatalf("prefix %q is not the 8 characters after cvk_", k.Prefix)
	}
	if k.ID == uuid.Nil {
		t.Fatal("issued key has no id")
	}
}

// createKey creates an API key as cred with body and checks it was issued.
func createKey(t testing.TB, e *apitest.Env, cred string, body map[string]any) apiKeyJSON {
	t.Helper()
	var k apiKeyJSON
	wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys", cred, body), http.StatusCreated, &k)
	checkIssued(t, k)
	return k
}

// newKey creates an API key named uniquely as cred with scopes (none given:
// the creator's).
func newKey(t testing.TB, e *apitest.Env, cred string, scopes ...string) apiKeyJSON {
	t.Helper()
	body := map[string]any{"name": "key " + randTag()}
	if scopes != nil {
		body["scopes"] = scopes
	}
	return createKey(t, e, cred, body)
}

// key creates an API key of the owner with scopes (none given: the owner's).
func (tn *tenantFixture) key(t testing.TB, scopes ...string) apiKeyJSON {
	t.Helper()
	return newKey(t, tn.e, tn.AccessToken, scopes...)
}

// ---------------------------------------------------------------------------
// OAuth clients and the /oauth endpoints

// createClient creates an OAuth client as cred with body, expecting 201
// with a client_id and a secret.
func createClient(t testing.TB, e *apitest.Env, cred string, body map[string]any) clientJSON {
	t.Helper()
	var c clientJSON
	wantOK(t, do(e, http.MethodPost, "/api/v1/oauth-clients", cred, body), http.StatusCreated, &c)
	if c.ClientID == "" || c.ClientSecret == "" {
		t.Fatalf("create client: no client_id or client_secret in the answer")
	}
	return c
}

// createClient creates an OAuth client with the owner's session.
func (tn *tenantFixture) createClient(t testing.TB, body map[string]any) clientJSON {
	t.Helper()
	return createClient(t, tn.e, tn.AccessToken, body)
}

// formAuth is how a request to /oauth/* authenticates.
type formAuth struct {
	basicID, basicSecret string // client_secret_basic when basicID != ""
	header               map[string]string
}

// basicAuth is client_secret_basic with id and sec.
func basicAuth(id, sec string) formAuth { return formAuth{basicID: id, basicSecret: sec} }

// basicHeader is the Authorization value of client_secret_basic (RFC 6749 §2.3.1).
func basicHeader(id, sec string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
}

// postForm posts a form to an /oauth/* endpoint.
func postForm(e *apitest.Env, path string, form url.Values, a formAuth) *apitest.Response {
	e.T.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if a.basicID != "" {
		h["Authorization"] = basicHeader(a.basicID, a.basicSecret)
	}
	for k, v := range a.header {
		h[k] = v
	}
	return e.Do(apitest.Request{Method: http.MethodPost, Path: path, Body: form.Encode(), Header: h})
}

// decodeToken decodes an /oauth/token answer.
func decodeToken(t testing.TB, resp *apitest.Response) tokenJSON {
	t.Helper()
	var out tokenJSON
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		t.Fatalf("not JSON (%d): %s", resp.Status, redact(resp.Body))
	}
	return out
}

// clientCredentials asks for a token with client_secret_basic and the
// given scope ("" for the client's own).
func clientCredentials(e *apitest.Env, id, sec, scope string) *apitest.Response {
	e.T.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postForm(e, "/oauth/token", form, basicAuth(id, sec))
}

// issueToken gets a client_credentials token for c with scope ("" for the
// client's own) and fails the test unless it is issued.
func issueToken(t testing.TB, e *apitest.Env, c clientJSON, scope string) tokenJSON {
	t.Helper()
	resp := clientCredentials(e, c.ClientID, c.ClientSecret, scope)
	if resp.Status != http.StatusOK {
		t.Fatalf("token for %s: %d %s", c.ClientID, resp.Status, redact(resp.Body))
	}
	tok := decodeToken(t, resp)
	if tok.AccessToken == "" {
		t.Fatal("token: no access_token")
	}
	return tok
}

// wantOAuthError asserts an RFC 6749 §5.2 error answer.
func wantOAuthError(t testing.TB, resp *apitest.Response, status int, code string) tokenJSON {
	t.Helper()
	if resp.Status != status {
		t.Fatalf("status %d, want %d: %s", resp.Status, status, redact(resp.Body))
	}
	out := decodeToken(t, resp)
	if out.Error != code {
		t.Fatalf("error %q, want %q: %s", out.Error, code, redact(resp.Body))
	}
	if out.AccessToken != "" {
		t.Fatal("an error answer carries an access_token")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	return out
}

// introspect posts token to /oauth/introspect and decodes the answer.
func introspect(t testing.TB, e *apitest.Env, token string, a formAuth) map[string]any {
	t.Helper()
	resp := postForm(e, "/oauth/introspect", url.Values{"token": {token}}, a)
	if resp.Status != http.StatusOK {
		t.Fatalf("introspect: %d %s", resp.Status, redact(resp.Body))
	}
	var out map[string]any
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		t.Fatalf("introspect: not JSON: %v", err)
	}
	if _, ok := out["active"].(bool); !ok {
		t.Fatalf("introspect: no boolean active in %s", redact(resp.Body))
	}
	return out
}

// ---------------------------------------------------------------------------
// The database

// unrestricted is a context that may read every tenant's rows.
func unrestricted() context.Context { return store.Unrestricted(context.Background()) }

// uid parses an id of a response.
func uid(t testing.TB, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatalf("not a uuid: %q", s)
	}
	return id
}

// auditEntries flushes the batched entries and returns the tenant's audit
// entries of action, about resourceID unless it is "", oldest first.
func auditEntries(t testing.TB, e *apitest.Env, tenantID uuid.UUID, action, resourceID string) []*ent.AuditLog {
	t.Helper()
	e.Flush()
	return readAudit(t, e, tenantID, action, resourceID)
}

func readAudit(t testing.TB, e *apitest.Env, tenantID uuid.UUID, action, resourceID string) []*ent.AuditLog {
	t.Helper()
	q := e.Store.Client.AuditLog.Query().Where(auditlog.TenantID(tenantID), auditlog.Action(action))
	if resourceID != "" {
		q = q.Where(auditlog.ResourceID(resourceID))
	}
	rows, err := q.Order(ent.Asc(auditlog.FieldOccurredAt)).All(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// oneAudit returns the only audit entry of the tenant with action and
// outcome (about resourceID unless it is "").
func oneAudit(t testing.TB, e *apitest.Env, tenantID uuid.UUID, action string, outcome auditlog.Outcome, resourceID string) *ent.AuditLog {
	t.Helper()
	var out []*ent.AuditLog
	for _, a := range auditEntries(t, e, tenantID, action, resourceID) {
		if outcome == "" || a.Outcome == outcome {
			out = append(out, a)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d %s/%s audit entries in tenant %s about %q, want 1", len(out), action, outcome, tenantID, resourceID)
	}
	return out[0]
}

// awaitAudit polls, without flushing, for an entry of the tenant with action
// matching ok (nil: any), as the server's own flush (every second) writes
// them, and fails after 10 seconds.
func awaitAudit(t testing.TB, e *apitest.Env, tenantID uuid.UUID, action string, ok func(*ent.AuditLog) bool) *ent.AuditLog {
	t.Helper()
	var found *ent.AuditLog
	eventually(t, 10*time.Second, "audit entry "+action, func() (bool, string) {
		for _, r := range readAudit(t, e, tenantID, action, "") {
			if ok == nil || ok(r) {
				found = r
				return true, ""
			}
		}
		return false, "none matches"
	})
	return found
}

// expandTallies repeats each tallied entry (details.count) as many times as
// it counts.
func expandTallies(entries []*ent.AuditLog) []*ent.AuditLog {
	var out []*ent.AuditLog
	for _, a := range entries {
		n := 1
		if c, ok := a.Details["count"].(float64); ok {
			n = int(c)
		}
		for range n {
			out = append(out, a)
		}
	}
	return out
}

// waitJob polls the job row until it completes; it fails at once when the
// job fails or retries, and after within.
func waitJob(t testing.TB, e *apitest.Env, id uuid.UUID, within time.Duration) *ent.Job {
	t.Helper()
	var j *ent.Job
	eventually(t, within, "job "+id.String()+" completes", func() (bool, string) {
		var err error
		if j, err = e.Store.Client.Job.Get(unrestricted(), id); err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		if j.Status == job.StatusFailed || j.Status == job.StatusRetrying {
			t.Fatalf("job %s (%s) is %s after %d attempts: %s", id, j.Name, j.Status, j.Attempts, j.LastError)
		}
		return j.Status == job.StatusCompleted, j.Status.String()
	})
	return j
}

// dbTables lists the tables of the database the store is on.
func dbTables(t testing.TB, e *apitest.Env) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table'"
	if e.Store.Dialect == dialect.Postgres {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	}
	rows, err := e.Store.DB.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// scanDB reads every non-NULL value of every row of tables (every table of
// the database when none is named) as text or bytes, and returns, per
// needle, where it was found ("table.column"), and how many rows each table
// had.
func scanDB(t testing.TB, e *apitest.Env, needles []string, tables ...string) (found map[string][]string, rowsPer map[string]int) {
	t.Helper()
	if len(tables) == 0 {
		tables = dbTables(t, e)
	}
	found, rowsPer = map[string][]string{}, map[string]int{}
	for _, tbl := range tables {
		rows, err := e.Store.DB.Query(`SELECT * FROM "` + tbl + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", tbl, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read %s: %v", tbl, err)
			}
			rowsPer[tbl]++
			for i, v := range vals {
				var s []byte
				switch v := v.(type) {
				case nil:
					continue
				case []byte:
					s = v
				case string:
					s = []byte(v)
				default:
					s = fmt.Append(nil, v)
				}
				for _, n := range needles {
					if bytes.Contains(s, []byte(n)) {
						found[n] = append(found[n], tbl+"."+cols[i])
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return found, rowsPer
}

// ---------------------------------------------------------------------------
// Time and small things

// eventually is apitest.Eventually, under the short name the tests use.
var eventually = apitest.Eventually

// randTag is a short random marker that makes names and secrets unique.
func randTag() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:12] }

// sorted returns a sorted copy of s, for comparing sets.
func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// platformTenantID is the platform tenant's id.
func platformTenantID(t testing.TB, e *apitest.Env) uuid.UUID {
	t.Helper()
	id, err := e.Store.Client.Tenant.Query().Where(tenant.Platform(true)).OnlyID(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// newMaster generates a master key.
func newMaster(t testing.TB) *crypt.MasterKey {
	t.Helper()
	k, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// withMaster gives the server the master key k (apitest.New generates one
// per server otherwise).
func withMaster(k *crypt.MasterKey) func(*config.Config) {
	return func(c *config.Config) { c.MasterKey = k.Encode() }
}

// scrapeMetrics reads /metrics and parses it.
func scrapeMetrics(t testing.TB, e *apitest.Env) map[string]*dto.MetricFamily {
	t.Helper()
	r := e.Get("/metrics", "")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

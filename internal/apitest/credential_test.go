package apitest_test

// The credentials vault over real HTTP, on SQLite and PostgreSQL: the eight
// auth types stored and read back through REST and GraphQL, validation of
// the secret against its type, the credentials:decrypt scope, tenant
// isolation, no plaintext anywhere in the database, ciphertexts that do not
// open once copied to another row, the audit of every decrypt, update and
// delete. DEK and master-key rotation are in credential_rotation_test.go.
//
// Every identifier here starts with "vt" (or TestCredential), so that this
// file sits beside the other apitest_test files without clashing.
//
// Secrets never reach a failure message: a response is described by vtShow
// (status and error envelope, never data), and decrypted values are
// compared, never printed.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// ---------------------------------------------------------------------------
// Harness

const vtPassword = "vault-tests-password"

// vtEachStore runs fn on a fresh store of every backend, each opened only
// once its parallel subtest runs.
func vtEachStore(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.Open(t, b))
		})
	}
}

// vtTag is a short random marker that makes names and secrets unique.
func vtTag() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:12] }

// vtPrincipal is a signed-in user.
type vtPrincipal struct {
	Token    string
	TenantID uuid.UUID
	Slug     string
	UserID   uuid.UUID
}

// vtShow describes a response for a failure message: the status and the
// error envelope, never data, which may hold a decrypted secret.
func vtShow(r *apitest.Response) string {
	if r.Envelope.Error == nil {
		return fmt.Sprintf("HTTP %d success=%v (data not shown)", r.Status, r.Envelope.Success)
	}
	return fmt.Sprintf("HTTP %d %s %q details %v", r.Status, r.Envelope.Error.Code, r.Envelope.Error.Message, r.Envelope.Error.Details)
}

// vtDo sends a JSON request as bearer ("" for none).
func vtDo(e *apitest.Env, method, path, bearer string, body any) *apitest.Response {
	e.T.Helper()
	return e.Do(apitest.Request{Method: method, Path: path, Bearer: bearer, Body: body})
}

// vtStatus fails unless r is a success envelope with status.
func vtStatus(t *testing.T, r *apitest.Response, status int) {
	t.Helper()
	if r.Status != status || !r.Envelope.Success || r.Envelope.Error != nil {
		t.Fatalf("got %s, want HTTP %d success", vtShow(r), status)
	}
}

// vtError fails unless r is an error envelope with status, code and each
// details entry given as key, value pairs.
func vtError(t *testing.T, r *apitest.Response, status int, code string, details ...string) {
	t.Helper()
	if r.Status != status || r.Envelope.Success || r.ErrorCode() != code {
		t.Fatalf("got %s, want HTTP %d %s", vtShow(r), status, code)
	}
	if r.Envelope.Error.Message == "" {
		t.Fatalf("error without a message: %s", vtShow(r))
	}
	for i := 0; i+1 < len(details); i += 2 {
		if got := fmt.Sprint(r.Envelope.Error.Details[details[i]]); got != details[i+1] {
			t.Fatalf("error.details.%s = %q, want %q: %s", details[i], got, details[i+1], vtShow(r))
		}
	}
	if len(r.Envelope.Data) != 0 && string(r.Envelope.Data) != "null" {
		t.Fatalf("an error envelope carries data: %s", vtShow(r))
	}
}

// vtNoSecret fails when body holds any of secrets.
func vtNoSecret(t *testing.T, what string, body []byte, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Fatalf("%s shows a secret (%d chars)", what, len(s))
		}
	}
}

// vtRegister signs a new tenant up; its owner holds every tenant scope.
func vtRegister(t *testing.T, e *apitest.Env, name string) vtPrincipal {
	t.Helper()
	tag := vtTag()
	r := vtDo(e, http.MethodPost, "/api/v1/auth/register", "", map[string]any{
		"tenant_name": name + " " + tag, "email": "owner-" + tag + "@vault.test", "password": vtPassword})
	vtStatus(t, r, http.StatusCreated)
	var d struct {
		Tenant struct {
			ID   uuid.UUID `json:"id"`
			Slug string    `json:"slug"`
		} `json:"tenant"`
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
		AccessToken string `json:"access_token"`
	}
	r.Data(t, &d)
	if d.AccessToken == "" || d.Tenant.ID == uuid.Nil || d.User.ID == uuid.Nil {
		t.Fatal("register: incomplete session")
	}
	return vtPrincipal{Token: d.AccessToken, TenantID: d.Tenant.ID, Slug: d.Tenant.Slug, UserID: d.User.ID}
}

// vtLogin signs in; slug "" for the platform admin.
func vtLogin(t *testing.T, e *apitest.Env, email, password, slug string) vtPrincipal {
	t.Helper()
	body := map[string]any{"email": email, "password": password}
	if slug != "" {
		body["tenant"] = slug
	}
	r := vtDo(e, http.MethodPost, "/api/v1/auth/login", "", body)
	vtStatus(t, r, http.StatusOK)
	var d struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID       uuid.UUID `json:"id"`
			TenantID uuid.UUID `json:"tenant_id"`
		} `json:"user"`
	}
	r.Data(t, &d)
	if d.AccessToken == "" {
		t.Fatal("login: no access token")
	}
	return vtPrincipal{Token: d.AccessToken, TenantID: d.User.TenantID, Slug: slug, UserID: d.User.ID}
}

// vtUser creates a user of role in owner's tenant and signs it in.
func vtUser(t *testing.T, e *apitest.Env, owner vtPrincipal, role string) vtPrincipal {
	t.Helper()
	email := role + "-" + vtTag() + "@vault.test"
	r := vtDo(e, http.MethodPost, "/api/v1/admin/users", owner.Token,
		map[string]any{"email": email, "name": "A " + role, "role": role, "password": vtPassword})
	vtStatus(t, r, http.StatusCreated)
	p := vtLogin(t, e, email, vtPassword, owner.Slug)
	if p.TenantID != owner.TenantID {
		t.Fatalf("the %s signed in to tenant %s, want %s", role, p.TenantID, owner.TenantID)
	}
	return p
}

// ---------------------------------------------------------------------------
// The auth types of SPEC §7, spelled out rather than taken from the code.

type vtAuthType struct {
	name               string
	required, optional []string
}

var vtAuthTypes = []vtAuthType{
	{"oauth2_bearer", []string{"access_token"}, []string{"refresh_token", "token_type", "expires_at", "scope"}},
	{"oauth2_client_credentials", []string{"client_id", "client_secret", "token_url"}, []string{"scopes", "audience"}},
	{"api_key", []string{"api_key"}, []string{"header_name", "prefix"}},
	{"basic_auth", []string{"username", "password"}, nil},
	{"bearer_token", []string{"token"}, nil},
	{"jwt", []string{"token"}, []string{"signing_key", "algorithm", "claims"}},
	{"saml", []string{"assertion"}, []string{"idp_entity_id", "expires_at"}},
	{"custom", nil, nil},
}

// vtSecretPrefix marks every secret string, so the database can be
// searched for them.
const vtSecretPrefix = "vtsecret-"

// vtSecret is a distinctive secret string.
func vtSecret(tag, typ, field string) string { return vtSecretPrefix + tag + "-" + typ + "-" + field }

// vtData is a secret of type typ: its required fields, and with full its
// optional ones too, with values of the JSON types a client would send.
func vtData(typ, tag string, full bool) map[string]any {
	d := map[string]any{}
	var at vtAuthType
	for _, a := range vtAuthTypes {
		if a.name == typ {
			at = a
		}
	}
	for _, f := range at.required {
		d[f] = vtSecret(tag, typ, f)
	}
	if typ == "custom" {
		d["hmac_secret"] = vtSecret(tag, typ, "hmac_secret")
		if full {
			d["endpoint"] = "https://custom.example.test/" + tag
			d["nested"] = map[string]any{"pin": vtSecret(tag, typ, "pin"), "list": []any{1.5, "two", nil, true}}
			d["retries"] = 3.0
		}
		return d
	}
	if !full {
		return d
	}
	for _, f := range at.optional {
		switch f {
		case "expires_at":
			d[f] = "2031-02-03T04:05:06Z"
		case "token_type":
			d[f] = "Bearer"
		case "scope":
			d[f] = "read write"
		case "scopes":
			d[f] = []any{"read:things", "write:things"}
		case "audience":
			d[f] = "https://api.example.test/" + tag
		case "header_name":
			d[f] = "X-Api-Key"
		case "prefix":
			d[f] = "Key "
		case "algorithm":
			d[f] = "RS256"
		case "claims":
			d[f] = map[string]any{"sub": "svc-" + tag, "aud": []any{"a", "b"}, "n": 42.0, "admin": true,
				"nested": map[string]any{"k": "v"}}
		case "idp_entity_id":
			d[f] = "https://idp.example.test/" + tag
		default: // refresh_token, signing_key: secrets
			d[f] = vtSecret(tag, typ, f)
		}
	}
	return d
}

// vtSecretsOf lists the secret strings in a value.
func vtSecretsOf(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		if strings.HasPrefix(v, vtSecretPrefix) {
			out = append(out, v)
		}
	case map[string]any:
		for _, x := range v {
			out = append(out, vtSecretsOf(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, vtSecretsOf(x)...)
		}
	}
	return out
}

// vtSame reports whether a and b are equal as JSON.
func vtSame(a, b any) bool {
	norm := func(v any) any {
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprintf("unmarshalable: %v", err)
		}
		var out any
		if err := json.Unmarshal(raw, &out); err != nil {
			return fmt.Sprintf("undecodable: %v", err)
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// ---------------------------------------------------------------------------
// Credential requests

// vtCred is a credential as REST shows it.
type vtCred struct {
	ID             uuid.UUID      `json:"id"`
	TenantID       uuid.UUID      `json:"tenant_id"`
	IntegrationID  string         `json:"integration_id"`
	Name           string         `json:"name"`
	AuthType       string         `json:"auth_type"`
	Data           map[string]any `json:"data"`
	Metadata       map[string]any `json:"metadata"`
	Status         string         `json:"status"`
	ExpiresAt      *time.Time     `json:"expires_at"`
	LastAccessedAt *time.Time     `json:"last_accessed_at"`
	CreatedBy      *uuid.UUID     `json:"created_by"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// vtIntegration is the data of GET /credentials/{integrationId}[/details].
type vtIntegration struct {
	IntegrationID string   `json:"integration_id"`
	Credentials   []vtCred `json:"credentials"`
}

// vtNoDataKey fails when the JSON object raw, or any object in its
// "credentials" array, has a "data" key.
func vtNoDataKey(t *testing.T, what string, raw json.RawMessage) {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("%s: data is not an object: %v", what, err)
	}
	if _, ok := obj["data"]; ok {
		t.Fatalf("%s carries a data key", what)
	}
	if list, ok := obj["credentials"]; ok {
		vtNoDataKeyInList(t, what, list)
	}
}

// vtNoDataKeyInList fails when an object of the JSON array raw has a "data" key.
func vtNoDataKeyInList(t *testing.T, what string, raw json.RawMessage) {
	t.Helper()
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("%s: not an array of objects: %v", what, err)
	}
	for i, it := range items {
		if _, ok := it["data"]; ok {
			t.Fatalf("%s: item %d carries a data key", what, i)
		}
		if _, ok := it["id"]; !ok {
			t.Fatalf("%s: item %d has no id", what, i)
		}
	}
}

// vtStore stores a credential and checks the 201 carries metadata only.
func vtStore(t *testing.T, e *apitest.Env, bearer string, body map[string]any) vtCred {
	t.Helper()
	r := vtDo(e, http.MethodPost, "/api/v1/credentials", bearer, body)
	vtStatus(t, r, http.StatusCreated)
	vtNoDataKey(t, "POST /credentials", r.Envelope.Data)
	vtNoSecret(t, "POST /credentials", r.Body, vtSecretsOf(body["data"]))
	var c vtCred
	r.Data(t, &c)
	if c.ID == uuid.Nil {
		t.Fatal("stored credential without id")
	}
	return c
}

func vtPath(integration string, rest ...string) string {
	p := "/api/v1/credentials/" + url.PathEscape(integration)
	for _, s := range rest {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// vtRead reads an integration's credentials with their data.
func vtRead(t *testing.T, e *apitest.Env, bearer, integration string) vtIntegration {
	t.Helper()
	r := e.Get(vtPath(integration), bearer)
	vtStatus(t, r, http.StatusOK)
	var out vtIntegration
	r.Data(t, &out)
	if out.IntegrationID != integration {
		t.Fatalf("integration_id %q, want %q", out.IntegrationID, integration)
	}
	return out
}

// vtDetails reads an integration's credentials without data.
func vtDetails(t *testing.T, e *apitest.Env, bearer, integration string) vtIntegration {
	t.Helper()
	r := e.Get(vtPath(integration, "details"), bearer)
	vtStatus(t, r, http.StatusOK)
	vtNoDataKey(t, "GET details", r.Envelope.Data)
	var out vtIntegration
	r.Data(t, &out)
	return out
}

// vtFind returns the credential with id in cs.
func vtFind(t *testing.T, cs []vtCred, id uuid.UUID) vtCred {
	t.Helper()
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("credential %s is not in the response", id)
	return vtCred{}
}

const vtGQLRead = `query($id: String!) { credential(integrationID: $id) { integrationID
  credentials { id tenantID integrationID name authType metadata status expiresAt data } } }`

const vtGQLDetails = `query($id: String!) { credential(integrationID: $id) { integrationID
  credentials { id name authType metadata status expiresAt } } }`

// vtGQLCred is a credential as GraphQL shows it.
type vtGQLCred struct {
	ID            uuid.UUID      `json:"id"`
	TenantID      uuid.UUID      `json:"tenantID"`
	IntegrationID string         `json:"integrationID"`
	Name          string         `json:"name"`
	AuthType      string         `json:"authType"`
	Metadata      map[string]any `json:"metadata"`
	Status        string         `json:"status"`
	ExpiresAt     *time.Time     `json:"expiresAt"`
	Data          map[string]any `json:"data"`
}

// vtGQLShow describes a GraphQL response's errors, never its data.
func vtGQLShow(g *apitest.GraphQLResponse) string {
	var parts []string
	for _, e := range g.Errors {
		parts = append(parts, fmt.Sprintf("%q at %v %v", e.Message, e.Path, e.Extensions))
	}
	return fmt.Sprintf("HTTP %d errors [%s]", g.Status, strings.Join(parts, "; "))
}

// vtGQLCredentials runs query (vtGQLRead or vtGQLDetails) and expects no error.
func vtGQLCredentials(t *testing.T, e *apitest.Env, bearer, query, integration string) []vtGQLCred {
	t.Helper()
	g := e.GraphQL(query, map[string]any{"id": integration}, bearer)
	if len(g.Errors) > 0 || g.Status != http.StatusOK {
		t.Fatalf("GraphQL credential(%q): %s", integration, vtGQLShow(g))
	}
	var out struct {
		Credential struct {
			IntegrationID string      `json:"integrationID"`
			Credentials   []vtGQLCred `json:"credentials"`
		} `json:"credential"`
	}
	if err := json.Unmarshal(g.Data, &out); err != nil {
		t.Fatalf("GraphQL credential: undecodable data: %v", err)
	}
	if out.Credential.IntegrationID != integration {
		t.Fatalf("GraphQL integrationID %q, want %q", out.Credential.IntegrationID, integration)
	}
	return out.Credential.Credentials
}

// vtGQLError fails unless g's first error has code and each details pair.
func vtGQLError(t *testing.T, g *apitest.GraphQLResponse, code string, details ...string) {
	t.Helper()
	if len(g.Errors) == 0 || g.Code() != code {
		t.Fatalf("got %s, want extensions.code %s", vtGQLShow(g), code)
	}
	det, _ := g.Errors[0].Extensions["details"].(map[string]any)
	for i := 0; i+1 < len(details); i += 2 {
		if got := fmt.Sprint(det[details[i]]); got != details[i+1] {
			t.Fatalf("extensions.details.%s = %q, want %q: %s", details[i], got, details[i+1], vtGQLShow(g))
		}
	}
}

// ---------------------------------------------------------------------------
// Database

// vtRows returns the tenant's credential rows, optionally of one integration.
func vtRows(t *testing.T, e *apitest.Env, tenant uuid.UUID, integration ...string) []*ent.Credential {
	t.Helper()
	q := e.Store.Client.Credential.Query().Where(credential.TenantID(tenant))
	if len(integration) > 0 {
		q = q.Where(credential.IntegrationID(integration[0]))
	}
	rows, err := q.All(store.Unrestricted(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// vtRow returns one credential row, or nil when it does not exist.
func vtRow(t *testing.T, e *apitest.Env, id uuid.UUID) *ent.Credential {
	t.Helper()
	c, err := e.Store.Client.Credential.Get(store.Unrestricted(t.Context()), id)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// vtAudits returns the tenant's audit entries of action, after a flush.
func vtAudits(t *testing.T, e *apitest.Env, tenant uuid.UUID, action string) []*ent.AuditLog {
	t.Helper()
	e.Flush()
	rows, err := e.Store.Client.AuditLog.Query().
		Where(auditlog.TenantID(tenant), auditlog.Action(action)).
		Order(ent.Asc(auditlog.FieldOccurredAt)).All(store.Unrestricted(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// vtAuditsOf keeps the entries about resource id.
func vtAuditsOf(entries []*ent.AuditLog, id uuid.UUID) []*ent.AuditLog {
	var out []*ent.AuditLog
	for _, a := range entries {
		if a.ResourceID == id.String() {
			out = append(out, a)
		}
	}
	return out
}

// vtDataKeys returns the tenant's data_keys rows by version.
func vtDataKeys(t *testing.T, e *apitest.Env, tenant uuid.UUID) map[int]*ent.DataKey {
	t.Helper()
	rows, err := e.Store.Client.DataKey.Query().Where(datakey.TenantID(tenant)).All(store.Unrestricted(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]*ent.DataKey{}
	for _, r := range rows {
		out[r.Version] = r
	}
	return out
}

// vtWrappedKeyNull reports whether the data_keys row's wrapped_key column
// is NULL (ent reads NULL bytes as a pointer to a nil slice).
func vtWrappedKeyNull(t *testing.T, e *apitest.Env, tenant uuid.UUID, version int) bool {
	t.Helper()
	null, err := e.Store.Client.DataKey.Query().
		Where(datakey.TenantID(tenant), datakey.Version(version), datakey.WrappedKeyIsNil()).
		Exist(store.Unrestricted(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	return null
}

// ---------------------------------------------------------------------------
// 1. Every auth type, stored and read back

func TestCredentialEveryAuthTypeRoundTrips(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Types")
		tag := vtTag()
		expires := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
		for _, at := range vtAuthTypes {
			integ := "vt-" + at.name + "-" + tag
			minimal := vtData(at.name, tag+"-min", false)
			full := vtData(at.name, tag+"-full", true)
			md := map[string]any{"team": "payments", "n": 3.0, "tags": []any{"a", "b"}, "nested": map[string]any{"x": false}}

			c1 := vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "auth_type": at.name, "data": minimal})
			if c1.IntegrationID != integ || c1.AuthType != at.name || c1.Status != "active" || c1.Name != "" ||
				c1.TenantID != o.TenantID || c1.CreatedBy == nil || *c1.CreatedBy != o.UserID ||
				c1.ExpiresAt != nil || c1.LastAccessedAt != nil || c1.Metadata == nil || len(c1.Metadata) != 0 {
				t.Fatalf("%s: stored metadata %+v", at.name, c1)
			}
			c2 := vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "name": "Full " + at.name,
				"auth_type": at.name, "data": full, "metadata": md, "expires_at": expires})
			if c2.Name != "Full "+at.name || !vtSame(c2.Metadata, md) || c2.ExpiresAt == nil || !c2.ExpiresAt.Equal(expires) {
				t.Fatalf("%s: stored optional metadata: name %q metadata %v expires_at %v", at.name, c2.Name, c2.Metadata, c2.ExpiresAt)
			}

			// REST, decrypting.
			got := vtRead(t, e, o.Token, integ)
			if len(got.Credentials) != 2 {
				t.Fatalf("%s: GET returned %d credentials, want 2", at.name, len(got.Credentials))
			}
			for _, want := range []struct {
				c    vtCred
				data map[string]any
			}{{c1, minimal}, {c2, full}} {
				g := vtFind(t, got.Credentials, want.c.ID)
				if !vtSame(g.Data, want.data) {
					t.Fatalf("%s: REST data of %s differs from what was stored (%d fields, want %d)",
						at.name, want.c.ID, len(g.Data), len(want.data))
				}
				if g.AuthType != at.name || g.Name != want.c.Name || !vtSame(g.Metadata, want.c.Metadata) ||
					g.Status != "active" || !reflect.DeepEqual(g.ExpiresAt, want.c.ExpiresAt) || g.TenantID != o.TenantID {
					t.Fatalf("%s: REST metadata of %s: %+v", at.name, want.c.ID, g.Metadata)
				}
				if row := vtRow(t, e, want.c.ID); row.LastAccessedAt == nil {
					t.Fatalf("%s: last_accessed_at not set by a decrypting read", at.name)
				}
			}
			if got.Credentials[0].ID != c1.ID && !got.Credentials[0].CreatedAt.Equal(got.Credentials[1].CreatedAt) {
				t.Errorf("%s: credentials are not in creation order", at.name)
			}

			// GraphQL, decrypting.
			gql := vtGQLCredentials(t, e, o.Token, vtGQLRead, integ)
			if len(gql) != 2 {
				t.Fatalf("%s: GraphQL returned %d credentials, want 2", at.name, len(gql))
			}
			for _, want := range []struct {
				c    vtCred
				data map[string]any
			}{{c1, minimal}, {c2, full}} {
				var g *vtGQLCred
				for i := range gql {
					if gql[i].ID == want.c.ID {
						g = &gql[i]
					}
				}
				if g == nil {
					t.Fatalf("%s: GraphQL misses credential %s", at.name, want.c.ID)
				}
				if !vtSame(g.Data, want.data) {
					t.Fatalf("%s: GraphQL data of %s differs from what was stored", at.name, want.c.ID)
				}
				if g.AuthType != at.name || g.Name != want.c.Name || g.IntegrationID != integ ||
					g.TenantID != o.TenantID || !vtSame(g.Metadata, want.c.Metadata) || g.Status != "active" {
					t.Fatalf("%s: GraphQL metadata of %s: authType %q name %q", at.name, want.c.ID, g.AuthType, g.Name)
				}
			}

			// In the database: sealed under the tenant's first DEK.
			rows := vtRows(t, e, o.TenantID, integ)
			if len(rows) != 2 {
				t.Fatalf("%s: %d rows, want 2", at.name, len(rows))
			}
			for _, row := range rows {
				if row.DekVersion != 1 || len(row.Ciphertext) < 28 || string(row.AuthType) != at.name {
					t.Fatalf("%s: row dek_version %d, %d ciphertext bytes, auth_type %s", at.name, row.DekVersion, len(row.Ciphertext), row.AuthType)
				}
			}
		}
		keys := vtDataKeys(t, e, o.TenantID)
		if len(keys) != 1 || keys[1] == nil || keys[1].Status != datakey.StatusActive {
			t.Fatalf("the tenant has %d DEKs, want v1 alone and active", len(keys))
		}
		// The list shows every credential, metadata only.
		r := e.Get("/api/v1/credentials?limit=200", o.Token)
		vtStatus(t, r, http.StatusOK)
		vtNoDataKeyInList(t, "GET /credentials", r.Envelope.Data)
		var list []vtCred
		r.Data(t, &list)
		if len(list) != 2*len(vtAuthTypes) {
			t.Fatalf("the list has %d credentials, want %d", len(list), 2*len(vtAuthTypes))
		}
		r = e.Get("/api/v1/credentials?auth_type=jwt", o.Token)
		vtStatus(t, r, http.StatusOK)
		r.Data(t, &list)
		if len(list) != 2 || list[0].AuthType != "jwt" || list[1].AuthType != "jwt" {
			t.Fatalf("auth_type=jwt lists %d credentials", len(list))
		}
	})
}

// ---------------------------------------------------------------------------
// 2. Validation of the secret against its type

func TestCredentialValidation(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Validation")
		tag := vtTag()
		type tc struct {
			name          string
			body          map[string]any
			field, reason string
		}
		var cases []tc
		for _, at := range vtAuthTypes {
			for _, f := range at.required {
				for variant, set := range map[string]func(d map[string]any){
					"missing": func(d map[string]any) { delete(d, f) },
					"empty":   func(d map[string]any) { d[f] = "" },
					"null":    func(d map[string]any) { d[f] = nil },
				} {
					d := vtData(at.name, tag, true)
					set(d)
					field := "data." + f
					if len(d) == 0 {
						field = "data" // nothing left: the whole secret is missing
					}
					cases = append(cases, tc{at.name + " " + f + " " + variant,
						map[string]any{"integration_id": "v", "auth_type": at.name, "data": d}, field, "required"})
				}
			}
			if at.name != "custom" {
				d := vtData(at.name, tag, false)
				d["not_a_field"] = vtSecret(tag, at.name, "unknown")
				cases = append(cases, tc{at.name + " unknown field",
					map[string]any{"integration_id": "v", "auth_type": at.name, "data": d}, "data.not_a_field", "unknown"})
				// A field of another type is unknown too.
				d = vtData(at.name, tag, false)
				other := "hmac_secret"
				if at.name != "basic_auth" {
					other = "password"
				}
				d[other] = vtSecret(tag, at.name, other)
				cases = append(cases, tc{at.name + " field of another type",
					map[string]any{"integration_id": "v", "auth_type": at.name, "data": d}, "data." + other, "unknown"})
			}
			cases = append(cases,
				tc{at.name + " empty data", map[string]any{"integration_id": "v", "auth_type": at.name, "data": map[string]any{}}, "data", "required"},
				tc{at.name + " no data", map[string]any{"integration_id": "v", "auth_type": at.name}, "data", "required"})
		}
		cases = append(cases,
			tc{"auth_type unknown", map[string]any{"integration_id": "v", "auth_type": "ftp", "data": map[string]any{"token": "x"}}, "auth_type", "invalid"},
			tc{"auth_type in capitals", map[string]any{"integration_id": "v", "auth_type": "API_KEY", "data": map[string]any{"api_key": "x"}}, "auth_type", "invalid"},
			tc{"auth_type empty", map[string]any{"integration_id": "v", "auth_type": "", "data": map[string]any{"token": "x"}}, "auth_type", "required"},
			tc{"auth_type missing", map[string]any{"integration_id": "v", "data": map[string]any{"token": "x"}}, "auth_type", "required"},
			tc{"integration_id missing", map[string]any{"auth_type": "bearer_token", "data": map[string]any{"token": "x"}}, "integration_id", "required"},
			tc{"integration_id blank", map[string]any{"integration_id": "   ", "auth_type": "bearer_token", "data": map[string]any{"token": "x"}}, "integration_id", "required"},
			tc{"integration_id too long", map[string]any{"integration_id": strings.Repeat("i", 201), "auth_type": "bearer_token", "data": map[string]any{"token": "x"}}, "integration_id", "too_long"},
			tc{"data not an object", map[string]any{"integration_id": "v", "auth_type": "bearer_token", "data": "token"}, "data", ""},
			tc{"required field not a string", map[string]any{"integration_id": "v", "auth_type": "api_key", "data": map[string]any{"api_key": 12345}}, "data.api_key", ""},
			tc{"unknown body field", map[string]any{"integration_id": "v", "auth_type": "bearer_token", "data": map[string]any{"token": "x"}, "secret": "y"}, "secret", "unknown"},
		)
		for _, c := range cases {
			r := vtDo(e, http.MethodPost, "/api/v1/credentials", o.Token, c.body)
			if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "VALIDATION_ERROR" {
				t.Fatalf("%s: got %s, want 422 VALIDATION_ERROR", c.name, vtShow(r))
			}
			if got := fmt.Sprint(r.Envelope.Error.Details["field"]); got != c.field {
				t.Fatalf("%s: details.field %q, want %q", c.name, got, c.field)
			}
			if got := fmt.Sprint(r.Envelope.Error.Details["reason"]); (c.reason != "" && got != c.reason) || got == "" || got == "<nil>" {
				t.Fatalf("%s: details.reason %q, want %q", c.name, got, c.reason)
			}
			vtNoSecret(t, c.name+": the error", r.Body, vtSecretsOf(c.body["data"]))
		}

		// GraphQL validates the same way.
		const store = `mutation($in: StoreCredentialInput!) { storeCredential(input: $in) { id } }`
		d := vtData("oauth2_client_credentials", tag, true)
		delete(d, "client_secret")
		g := e.GraphQL(store, map[string]any{"in": map[string]any{"integrationID": "v", "authType": "oauth2_client_credentials", "data": d}}, o.Token)
		vtGQLError(t, g, "VALIDATION_ERROR", "field", "data.client_secret", "reason", "required")
		g = e.GraphQL(store, map[string]any{"in": map[string]any{"integrationID": "v", "authType": "custom", "data": map[string]any{}}}, o.Token)
		vtGQLError(t, g, "VALIDATION_ERROR", "field", "data", "reason", "required")
		d = vtData("saml", tag, false)
		d["idp_entity"] = "x"
		g = e.GraphQL(store, map[string]any{"in": map[string]any{"integrationID": "v", "authType": "saml", "data": d}}, o.Token)
		vtGQLError(t, g, "VALIDATION_ERROR", "field", "data.idp_entity", "reason", "unknown")

		// Nothing was stored, not even a DEK, and nothing was audited as created.
		if rows := vtRows(t, e, o.TenantID); len(rows) != 0 {
			t.Fatalf("%d credentials stored by invalid requests", len(rows))
		}
		if keys := vtDataKeys(t, e, o.TenantID); len(keys) != 0 {
			t.Fatalf("%d DEKs created by invalid requests", len(keys))
		}
		if a := vtAudits(t, e, o.TenantID, "credential.create"); len(a) != 0 {
			t.Fatalf("%d credential.create entries for invalid requests", len(a))
		}
		// The same bodies, made valid, are accepted: the checks are not
		// refusing everything.
		for _, at := range vtAuthTypes {
			vtStore(t, e, o.Token, map[string]any{"integration_id": "v", "auth_type": at.name, "data": vtData(at.name, tag, true)})
		}
	})
}

// ---------------------------------------------------------------------------
// 3. credentials:decrypt

func TestCredentialDecryptNeedsTheDecryptScope(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Scopes")
		viewer := vtUser(t, e, o, "viewer")
		member := vtUser(t, e, o, "member")
		tag := vtTag()
		integ := "perm-" + tag
		d1, d2 := vtData("api_key", tag+"a", true), vtData("basic_auth", tag+"b", true)
		secrets := append(vtSecretsOf(d1), vtSecretsOf(d2)...)
		c1 := vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "auth_type": "api_key", "data": d1, "name": "one"})
		c2 := vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "auth_type": "basic_auth", "data": d2, "name": "two"})

		// The viewer: no decrypting read, on any route.
		for _, p := range []string{vtPath(integ), vtPath("no-such-integration-" + tag)} {
			r := e.Get(p, viewer.Token)
			vtError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", "credentials:decrypt")
			vtNoSecret(t, "viewer GET", r.Body, secrets)
		}
		g := e.GraphQL(vtGQLRead, map[string]any{"id": integ}, viewer.Token)
		vtGQLError(t, g, "FORBIDDEN", "required_scope", "credentials:decrypt")
		vtNoSecret(t, "viewer GraphQL", g.Data, secrets)
		var partial struct {
			Credential *struct {
				Credentials []struct {
					ID   uuid.UUID       `json:"id"`
					Data json.RawMessage `json:"data"`
				} `json:"credentials"`
			} `json:"credential"`
		}
		if err := json.Unmarshal(g.Data, &partial); err != nil {
			t.Fatal(err)
		}
		if partial.Credential != nil {
			for _, c := range partial.Credential.Credentials {
				if len(c.Data) != 0 && string(c.Data) != "null" {
					t.Fatal("GraphQL gave the viewer a credential's data")
				}
			}
		}
		for _, gerr := range g.Errors {
			if gerr.Extensions["code"] != "FORBIDDEN" {
				t.Fatalf("viewer GraphQL: an error other than FORBIDDEN: %s", vtGQLShow(g))
			}
		}
		// ... nor through node(id) ...
		g = e.GraphQL(`query($id: ID!) { node(id: $id) { id ... on Credential { name data } } }`, map[string]any{"id": c1.ID}, viewer.Token)
		vtGQLError(t, g, "FORBIDDEN", "required_scope", "credentials:decrypt")
		vtNoSecret(t, "viewer node()", g.Data, secrets)
		if !strings.Contains(string(g.Data), `"name":"one"`) {
			t.Fatal("viewer node(): the credential's metadata is missing")
		}
		// ... nor from the list query's nodes.
		g = e.GraphQL(`{ credentials { edges { node { id data } } } }`, nil, viewer.Token)
		vtGQLError(t, g, "FORBIDDEN", "required_scope", "credentials:decrypt")
		vtNoSecret(t, "viewer GraphQL list", g.Data, secrets)

		// But metadata, with credentials:read.
		det := vtDetails(t, e, viewer.Token, integ)
		if len(det.Credentials) != 2 || vtFind(t, det.Credentials, c1.ID).Name != "one" || vtFind(t, det.Credentials, c2.ID).AuthType != "basic_auth" {
			t.Fatalf("viewer details: %d credentials", len(det.Credentials))
		}
		r := e.Get("/api/v1/credentials?integration_id="+url.QueryEscape(integ), viewer.Token)
		vtStatus(t, r, http.StatusOK)
		vtNoDataKeyInList(t, "viewer list", r.Envelope.Data)
		vtNoSecret(t, "viewer list", r.Body, secrets)
		var list []vtCred
		r.Data(t, &list)
		if len(list) != 2 {
			t.Fatalf("viewer list: %d credentials, want 2", len(list))
		}
		if gql := vtGQLCredentials(t, e, viewer.Token, vtGQLDetails, integ); len(gql) != 2 {
			t.Fatalf("viewer GraphQL details: %d credentials", len(gql))
		}
		// No writes either.
		r = vtDo(e, http.MethodPost, "/api/v1/credentials", viewer.Token, map[string]any{"integration_id": integ, "auth_type": "bearer_token", "data": map[string]any{"token": "t"}})
		vtError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", "credentials:write")

		// Each refusal is audited as denied; the viewer decrypted nothing.
		denied := 0
		for _, a := range vtAudits(t, e, o.TenantID, "permission.denied") {
			if a.ActorID == viewer.UserID.String() && a.Outcome == auditlog.OutcomeDenied && a.Details["required_scope"] == "credentials:decrypt" {
				denied++
			}
		}
		if denied < 5 {
			t.Fatalf("%d permission.denied entries for the viewer's decrypt attempts, want at least 5", denied)
		}
		for _, a := range vtAudits(t, e, o.TenantID, "credential.decrypt") {
			if a.ActorID == viewer.UserID.String() {
				t.Fatal("a credential.decrypt entry names the viewer")
			}
		}

		// A member decrypts, over REST and GraphQL.
		got := vtRead(t, e, member.Token, integ)
		if !vtSame(vtFind(t, got.Credentials, c1.ID).Data, d1) || !vtSame(vtFind(t, got.Credentials, c2.ID).Data, d2) {
			t.Fatal("the member's decrypted data differ from what was stored")
		}
		for _, c := range vtGQLCredentials(t, e, member.Token, vtGQLRead, integ) {
			want := map[uuid.UUID]map[string]any{c1.ID: d1, c2.ID: d2}[c.ID]
			if !vtSame(c.Data, want) {
				t.Fatal("the member's GraphQL data differ from what was stored")
			}
		}
		byMember := 0
		for _, a := range vtAudits(t, e, o.TenantID, "credential.decrypt") {
			if a.ActorID == member.UserID.String() {
				byMember++
			}
		}
		if byMember != 4 {
			t.Fatalf("%d credential.decrypt entries by the member, want 4 (2 credentials, REST and GraphQL)", byMember)
		}
		// Anonymous: 401.
		r = e.Get(vtPath(integ), "")
		vtError(t, r, http.StatusUnauthorized, "UNAUTHORIZED")
	})
}

// ---------------------------------------------------------------------------
// 4. Tenant isolation

func TestCredentialTenantIsolation(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a, b := vtRegister(t, e, "Alpha"), vtRegister(t, e, "Beta")
		tag := vtTag()
		only, shared := "a-only-"+tag, "shared-"+tag
		da, das, db := vtData("api_key", tag+"a", true), vtData("jwt", tag+"as", true), vtData("bearer_token", tag+"b", true)
		aSecrets := append(vtSecretsOf(da), vtSecretsOf(das)...)
		ca := vtStore(t, e, a.Token, map[string]any{"integration_id": only, "auth_type": "api_key", "data": da, "name": "a"})
		cas := vtStore(t, e, a.Token, map[string]any{"integration_id": shared, "auth_type": "jwt", "data": das, "name": "as"})
		cb := vtStore(t, e, b.Token, map[string]any{"integration_id": shared, "auth_type": "bearer_token", "data": db, "name": "b"})
		before := map[uuid.UUID]*ent.Credential{ca.ID: vtRow(t, e, ca.ID), cas.ID: vtRow(t, e, cas.ID)}

		// Tenant B on A's credentials: 404, exactly as for what does not exist.
		notFound := func(what string, r *apitest.Response) {
			t.Helper()
			vtError(t, r, http.StatusNotFound, "NOT_FOUND")
			vtNoSecret(t, what, r.Body, aSecrets)
		}
		notFound("GET A's integration", e.Get(vtPath(only), b.Token))
		notFound("GET A's integration details", e.Get(vtPath(only, "details"), b.Token))
		for _, target := range [][2]string{{only, ca.ID.String()}, {shared, cas.ID.String()}, {shared, ca.ID.String()}} {
			notFound("PATCH A's credential", vtDo(e, http.MethodPatch, vtPath(target[0], target[1]), b.Token, map[string]any{"name": "taken"}))
			notFound("PATCH A's secret", vtDo(e, http.MethodPatch, vtPath(target[0], target[1]), b.Token,
				map[string]any{"data": map[string]any{"api_key": "replaced"}, "status": "disabled"}))
			notFound("DELETE A's credential", vtDo(e, http.MethodDelete, vtPath(target[0], target[1]), b.Token, nil))
		}
		g := e.GraphQL(vtGQLRead, map[string]any{"id": only}, b.Token)
		vtGQLError(t, g, "NOT_FOUND")
		g = e.GraphQL(`mutation($i: String!, $id: ID!) { updateCredential(integrationID: $i, id: $id, input: {name: "taken"}) { id } }`,
			map[string]any{"i": only, "id": ca.ID}, b.Token)
		vtGQLError(t, g, "NOT_FOUND")
		g = e.GraphQL(`mutation($i: String!, $id: ID!) { deleteCredential(integrationID: $i, id: $id) }`,
			map[string]any{"i": only, "id": ca.ID}, b.Token)
		vtGQLError(t, g, "NOT_FOUND")
		g = e.GraphQL(`query($id: ID!) { node(id: $id) { id ... on Credential { name data } } }`, map[string]any{"id": ca.ID}, b.Token)
		vtGQLError(t, g, "NOT_FOUND")
		vtNoSecret(t, "node() of A's credential for B", g.Data, aSecrets)
		if strings.Contains(string(g.Data), ca.ID.String()) {
			t.Fatal("node() shows A's credential to B")
		}
		// x-tenantid naming A is refused.
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: vtPath(only), Bearer: b.Token, Header: map[string]string{"x-tenantid": a.TenantID.String()}})
		vtError(t, r, http.StatusForbidden, "TENANT_MISMATCH")

		// B sees its own credential of the shared integration id, alone.
		got := vtRead(t, e, b.Token, shared)
		if len(got.Credentials) != 1 || got.Credentials[0].ID != cb.ID || !vtSame(got.Credentials[0].Data, db) {
			t.Fatalf("B reads %d credentials of %q, want its own alone", len(got.Credentials), shared)
		}
		r = e.Get("/api/v1/credentials", b.Token)
		vtStatus(t, r, http.StatusOK)
		var list []vtCred
		r.Data(t, &list)
		if len(list) != 1 || list[0].ID != cb.ID {
			t.Fatalf("B lists %d credentials, want its own alone", len(list))
		}
		if total := r.Envelope.Meta.Pagination["total"]; fmt.Sprint(total) != "1" {
			t.Fatalf("B's list total %v, want 1", total)
		}

		// What does not exist: the same 404.
		ref := e.Get(vtPath(only), b.Token)
		for what, r := range map[string]*apitest.Response{
			"unknown integration":               e.Get(vtPath("nothing-"+tag), a.Token),
			"unknown integration details":       e.Get(vtPath("nothing-"+tag, "details"), a.Token),
			"unknown credential id":             vtDo(e, http.MethodPatch, vtPath(only, uuid.NewString()), a.Token, map[string]any{"name": "x"}),
			"malformed credential id":           vtDo(e, http.MethodPatch, vtPath(only, "not-a-uuid"), a.Token, map[string]any{"name": "x"}),
			"credential of another integration": vtDo(e, http.MethodPatch, vtPath(shared, ca.ID.String()), a.Token, map[string]any{"name": "x"}),
			"delete unknown":                    vtDo(e, http.MethodDelete, vtPath(only, uuid.NewString()), a.Token, nil),
			"delete of another integration":     vtDo(e, http.MethodDelete, vtPath(shared, ca.ID.String()), a.Token, nil),
		} {
			vtError(t, r, http.StatusNotFound, "NOT_FOUND")
			if r.Envelope.Error.Message != ref.Envelope.Error.Message && strings.HasPrefix(what, "unknown integration") {
				t.Errorf("%s: message %q differs from another tenant's %q", what, r.Envelope.Error.Message, ref.Envelope.Error.Message)
			}
		}
		// A tenant that holds no credentials at all.
		c := vtRegister(t, e, "Empty")
		vtError(t, e.Get(vtPath(shared), c.Token), http.StatusNotFound, "NOT_FOUND")

		// A's rows were not touched, and A still reads its data.
		for id, was := range before {
			now := vtRow(t, e, id)
			if now == nil || now.Name != was.Name || !bytes.Equal(now.Ciphertext, was.Ciphertext) ||
				now.DekVersion != was.DekVersion || now.Status != was.Status || !now.UpdatedAt.Equal(was.UpdatedAt) {
				t.Fatalf("A's credential %s changed through B's requests", id)
			}
		}
		if got := vtRead(t, e, a.Token, only); !vtSame(got.Credentials[0].Data, da) {
			t.Fatal("A's data changed")
		}
		if n := len(vtAudits(t, e, a.TenantID, "credential.update")) + len(vtAudits(t, e, a.TenantID, "credential.delete")); n != 0 {
			t.Fatalf("%d update/delete entries in A for B's refused requests", n)
		}
	})
}

// ---------------------------------------------------------------------------
// 5. No plaintext at rest

// vtTables lists the tables of the database the store is on.
func vtTables(t *testing.T, e *apitest.Env) []string {
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

// vtScan reads every column of every row of every table as text or bytes
// and returns, per needle, where it was found ("table.column"), and how
// many rows each table had.
func vtScan(t *testing.T, e *apitest.Env, needles []string) (found map[string][]string, rowsPer map[string]int) {
	t.Helper()
	found, rowsPer = map[string][]string{}, map[string]int{}
	for _, tbl := range vtTables(t, e) {
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

// vtEncodings are the forms a secret might take if it were stored
// carelessly: as is, hex, base64.
func vtEncodings(s string) []string {
	return []string{s, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawURLEncoding.EncodeToString([]byte(s))}
}

func TestCredentialNoPlaintextAtRest(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "AtRest")
		tag := vtTag()
		visible := "vt-visible-metadata-" + tag // stored in clear on purpose: the scan's control
		var secrets []string
		var ids []uuid.UUID
		for _, at := range vtAuthTypes {
			d := vtData(at.name, tag, true)
			secrets = append(secrets, vtSecretsOf(d)...)
			c := vtStore(t, e, o.Token, map[string]any{"integration_id": "rest-" + at.name, "auth_type": at.name,
				"data": d, "name": "n-" + at.name, "metadata": map[string]any{"label": visible}})
			ids = append(ids, c.ID)
		}
		// A replaced secret, and a deleted credential: their old and new
		// plaintexts are not at rest either.
		nd := vtData("api_key", tag+"-new", true)
		secrets = append(secrets, vtSecretsOf(nd)...)
		r := vtDo(e, http.MethodPatch, vtPath("rest-api_key", ids[2].String()), o.Token, map[string]any{"data": nd})
		vtStatus(t, r, http.StatusOK)
		dd := vtData("basic_auth", tag+"-deleted", true)
		secrets = append(secrets, vtSecretsOf(dd)...)
		gone := vtStore(t, e, o.Token, map[string]any{"integration_id": "rest-gone", "auth_type": "basic_auth", "data": dd})
		vtRead(t, e, o.Token, "rest-gone")
		vtStatus(t, vtDo(e, http.MethodDelete, vtPath("rest-gone", gone.ID.String()), o.Token, nil), http.StatusOK)
		// Every credential decrypted (REST and GraphQL), so decrypt audits exist;
		// a refused and a failed request too.
		for _, at := range vtAuthTypes {
			vtRead(t, e, o.Token, "rest-"+at.name)
			vtGQLCredentials(t, e, o.Token, vtGQLRead, "rest-"+at.name)
		}
		viewer := vtUser(t, e, o, "viewer")
		vtError(t, e.Get(vtPath("rest-jwt"), viewer.Token), http.StatusForbidden, "FORBIDDEN")
		e.Flush()
		if len(secrets) < 17 {
			t.Fatalf("only %d secret strings: the fixture is broken", len(secrets))
		}

		var needles []string
		for _, s := range secrets {
			needles = append(needles, vtEncodings(s)...)
		}
		found, rowsPer := vtScan(t, e, append(needles, visible))
		for _, n := range needles {
			if len(found[n]) > 0 {
				t.Errorf("a secret (%d chars) is stored in %v", len(n), found[n])
			}
		}
		// Controls: the scan reads the credential rows and their JSON, and
		// the audit trail was written.
		if !slices.Contains(found[visible], "credentials.metadata") {
			t.Fatalf("the scan did not find the clear metadata marker in credentials.metadata (found in %v)", found[visible])
		}
		if rowsPer["credentials"] != len(vtAuthTypes) || rowsPer["audit_logs"] < 3*len(vtAuthTypes) || rowsPer["data_keys"] != 1 {
			t.Fatalf("rows scanned: %v", rowsPer)
		}

		// On SQLite, the database file and its write-ahead log, byte for byte.
		if e.Store.Dialect == dialect.SQLite {
			path := strings.TrimPrefix(e.Store.URL, "sqlite://")
			var raw []byte
			for _, p := range []string{path, path + "-wal"} {
				b, err := os.ReadFile(p)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				raw = append(raw, b...)
			}
			if !bytes.Contains(raw, []byte(visible)) {
				t.Fatal("the raw SQLite files do not hold the clear metadata marker: the scan reads the wrong files")
			}
			for _, n := range needles {
				if bytes.Contains(raw, []byte(n)) {
					t.Errorf("a secret (%d chars) is in the SQLite files", len(n))
				}
			}
		}

		// The audit entries of the vault name what happened, never a secret.
		for _, action := range []string{"credential.create", "credential.update", "credential.decrypt", "credential.delete"} {
			entries := vtAudits(t, e, o.TenantID, action)
			if len(entries) == 0 {
				t.Fatalf("no %s entries", action)
			}
			for _, a := range entries {
				raw, err := json.Marshal(a.Details)
				if err != nil {
					t.Fatal(err)
				}
				vtNoSecret(t, action+" details", raw, secrets)
				for k := range a.Details {
					if !slices.Contains([]string{"integration_id", "auth_type", "fields"}, k) {
						t.Errorf("%s details carry %q", action, k)
					}
				}
			}
		}
	})
}

// ---------------------------------------------------------------------------
// 6. A ciphertext copied to another row does not open

func TestCredentialCiphertextCopiedToAnotherRowDoesNotOpen(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a, b := vtRegister(t, e, "Copy A"), vtRegister(t, e, "Copy B")
		tag := vtTag()
		dx, dy, dz := vtData("api_key", tag+"x", true), vtData("api_key", tag+"y", true), vtData("api_key", tag+"z", true)
		secrets := slices.Concat(vtSecretsOf(dx), vtSecretsOf(dy), vtSecretsOf(dz))
		x := vtStore(t, e, a.Token, map[string]any{"integration_id": "x-" + tag, "auth_type": "api_key", "data": dx})
		y := vtStore(t, e, a.Token, map[string]any{"integration_id": "y-" + tag, "auth_type": "api_key", "data": dy})
		z := vtStore(t, e, b.Token, map[string]any{"integration_id": "z-" + tag, "auth_type": "api_key", "data": dz})
		rx, ry, rz := vtRow(t, e, x.ID), vtRow(t, e, y.ID), vtRow(t, e, z.ID)
		if rx.DekVersion != ry.DekVersion || rx.DekVersion != rz.DekVersion {
			t.Fatalf("DEK versions %d %d %d: the copies below would differ in version too", rx.DekVersion, ry.DekVersion, rz.DekVersion)
		}
		cp := func(from, to *ent.Credential) {
			t.Helper()
			err := e.Store.Client.Credential.UpdateOneID(to.ID).SetCiphertext(from.Ciphertext).SetDekVersion(from.DekVersion).
				Exec(store.Unrestricted(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
		}
		failsToOpen := func(who vtPrincipal, integration string) {
			t.Helper()
			decrypts := len(vtAudits(t, e, who.TenantID, "credential.decrypt"))
			r := e.Get(vtPath(integration), who.Token)
			vtError(t, r, http.StatusInternalServerError, "INTERNAL_ERROR")
			vtNoSecret(t, "the 500", r.Body, secrets)
			msg := strings.ToLower(r.Envelope.Error.Message)
			for _, internal := range []string{"vault", "sealed", "cipher", "dek", "gcm", "open", "aes"} {
				if strings.Contains(msg, internal) {
					t.Fatalf("the 500 shows internals: %q", r.Envelope.Error.Message)
				}
			}
			if len(r.Envelope.Error.Details) != 0 {
				t.Fatalf("the 500 has details: %v", r.Envelope.Error.Details)
			}
			g := e.GraphQL(vtGQLRead, map[string]any{"id": integration}, who.Token)
			vtGQLError(t, g, "INTERNAL_ERROR")
			vtNoSecret(t, "the GraphQL error", g.Data, secrets)
			for _, ge := range g.Errors {
				if m := strings.ToLower(ge.Message); strings.Contains(m, "vault") || strings.Contains(m, "cipher") || strings.Contains(m, "dek") {
					t.Fatalf("the GraphQL error shows internals: %q", ge.Message)
				}
			}
			if n := len(vtAudits(t, e, who.TenantID, "credential.decrypt")); n != decrypts {
				t.Fatalf("a failed decrypt was audited as a decrypt (%d entries, were %d)", n, decrypts)
			}
		}

		// X's ciphertext in Y's row (same tenant, same DEK).
		cp(rx, ry)
		failsToOpen(a, "y-"+tag)
		// X itself still opens.
		if got := vtRead(t, e, a.Token, "x-"+tag); !vtSame(got.Credentials[0].Data, dx) {
			t.Fatal("X no longer reads as stored")
		}
		// Y's own ciphertext put back: Y opens again (the failure was the copy).
		cp(ry, ry)
		if got := vtRead(t, e, a.Token, "y-"+tag); !vtSame(got.Credentials[0].Data, dy) {
			t.Fatal("Y does not read after its ciphertext was restored")
		}

		// X's ciphertext in tenant B's row.
		cp(rx, rz)
		failsToOpen(b, "z-"+tag)
		cp(rz, rz)
		if got := vtRead(t, e, b.Token, "z-"+tag); !vtSame(got.Credentials[0].Data, dz) {
			t.Fatal("Z does not read after its ciphertext was restored")
		}

		// After a DEK rotation the binding holds on the new DEK too: X's
		// re-sealed ciphertext copied into Y's row does not open.
		r := vtDo(e, http.MethodPost, "/api/v1/admin/dek/rotate", a.Token, map[string]any{})
		vtStatus(t, r, http.StatusAccepted)
		var rot struct {
			JobID uuid.UUID `json:"job_id"`
		}
		r.Data(t, &rot)
		vtWaitJob(t, e, rot.JobID)
		rx2, ry2 := vtRow(t, e, x.ID), vtRow(t, e, y.ID)
		if rx2.DekVersion != 2 || ry2.DekVersion != 2 {
			t.Fatalf("X and Y are on DEK v%d and v%d after the rotation, want v2", rx2.DekVersion, ry2.DekVersion)
		}
		cp(rx2, ry2)
		failsToOpen(a, "y-"+tag)
		cp(ry2, ry2)
		if got := vtRead(t, e, a.Token, "y-"+tag); !vtSame(got.Credentials[0].Data, dy) {
			t.Fatal("Y does not read after its v2 ciphertext was restored")
		}
	})
}

// ---------------------------------------------------------------------------
// 7. Audit of every decrypt; update; delete

func TestCredentialEveryDecryptIsAudited(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Audit")
		tag := vtTag()
		integ := "audit-" + tag
		var creds []vtCred
		for i, typ := range []string{"api_key", "bearer_token", "saml"} {
			creds = append(creds, vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "auth_type": typ,
				"data": vtData(typ, fmt.Sprint(tag, i), true)}))
		}
		if n := len(vtAudits(t, e, o.TenantID, "credential.decrypt")); n != 0 {
			t.Fatalf("%d decrypt entries before any read", n)
		}
		created := vtAudits(t, e, o.TenantID, "credential.create")
		if len(created) != 3 {
			t.Fatalf("%d credential.create entries, want 3", len(created))
		}
		for _, c := range creds {
			es := vtAuditsOf(created, c.ID)
			if len(es) != 1 || es[0].ActorID != o.UserID.String() || es[0].Outcome != auditlog.OutcomeSuccess ||
				es[0].ResourceType != "credential" || es[0].Details["integration_id"] != integ || es[0].Details["auth_type"] != c.AuthType {
				t.Fatalf("credential.create entry of %s: %d entries", c.ID, len(es))
			}
		}

		// Metadata reads are not decrypts.
		vtDetails(t, e, o.Token, integ)
		vtStatus(t, e.Get("/api/v1/credentials", o.Token), http.StatusOK)
		vtGQLCredentials(t, e, o.Token, vtGQLDetails, integ)
		if n := len(vtAudits(t, e, o.TenantID, "credential.decrypt")); n != 0 {
			t.Fatalf("%d decrypt entries after metadata reads, want 0", n)
		}

		// One REST read of three credentials: three entries, one per credential.
		reqID := "vt-audit-" + tag
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: vtPath(integ), Bearer: o.Token, Header: map[string]string{"X-Request-ID": reqID}})
		vtStatus(t, r, http.StatusOK)
		entries := vtAudits(t, e, o.TenantID, "credential.decrypt")
		if len(entries) != 3 {
			t.Fatalf("%d decrypt entries after one read of 3 credentials, want 3", len(entries))
		}
		for _, c := range creds {
			es := vtAuditsOf(entries, c.ID)
			if len(es) != 1 {
				t.Fatalf("%d decrypt entries for credential %s, want 1", len(es), c.ID)
			}
			a := es[0]
			if a.ActorID != o.UserID.String() || a.ActorType != "user" || a.Outcome != auditlog.OutcomeSuccess ||
				a.ResourceType != "credential" || a.RequestID != reqID || a.Details["integration_id"] != integ ||
				a.Details["auth_type"] != c.AuthType {
				t.Fatalf("decrypt entry of %s: actor %s/%s outcome %s resource %s request %q details %v",
					c.ID, a.ActorType, a.ActorID, a.Outcome, a.ResourceType, a.RequestID, a.Details)
			}
			row := vtRow(t, e, c.ID)
			if row.LastAccessedAt == nil || row.LastAccessedAt.Before(a.OccurredAt.Add(-time.Minute)) {
				t.Fatalf("last_accessed_at of %s not set by the read", c.ID)
			}
		}
		// GraphQL: three more; asking for data twice in one query is two reads.
		vtGQLCredentials(t, e, o.Token, vtGQLRead, integ)
		if n := len(vtAudits(t, e, o.TenantID, "credential.decrypt")); n != 6 {
			t.Fatalf("%d decrypt entries after a GraphQL read, want 6", n)
		}
		g := e.GraphQL(`query($id: String!) { a: credential(integrationID: $id) { credentials { data } }
		  b: credential(integrationID: $id) { credentials { id data } } }`, map[string]any{"id": integ}, o.Token)
		if len(g.Errors) > 0 {
			t.Fatalf("aliased reads: %s", vtGQLShow(g))
		}
		if n := len(vtAudits(t, e, o.TenantID, "credential.decrypt")); n != 12 {
			t.Fatalf("%d decrypt entries after two aliased reads, want 12", n)
		}
	})
}

func TestCredentialUpdate(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Update")
		tag := vtTag()
		integ := "upd-" + tag
		old := vtData("api_key", tag+"old", true)
		c := vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "auth_type": "api_key", "data": old,
			"name": "before", "metadata": map[string]any{"env": "prod"}})
		patch := func(body any) *apitest.Response {
			return vtDo(e, http.MethodPatch, vtPath(integ, c.ID.String()), o.Token, body)
		}
		row0 := vtRow(t, e, c.ID)

		// Metadata only: the secret is untouched, byte for byte.
		exp := time.Date(2032, 1, 2, 3, 4, 5, 0, time.UTC)
		r := patch(map[string]any{"name": "after", "metadata": map[string]any{"env": "staging", "owner": "team-a"},
			"status": "disabled", "expires_at": exp})
		vtStatus(t, r, http.StatusOK)
		vtNoDataKey(t, "PATCH", r.Envelope.Data)
		var u vtCred
		r.Data(t, &u)
		if u.ID != c.ID || u.Name != "after" || u.Status != "disabled" || u.ExpiresAt == nil || !u.ExpiresAt.Equal(exp) ||
			!vtSame(u.Metadata, map[string]any{"env": "staging", "owner": "team-a"}) || u.AuthType != "api_key" {
			t.Fatalf("PATCH answered name %q status %q expires_at %v metadata %v", u.Name, u.Status, u.ExpiresAt, u.Metadata)
		}
		row1 := vtRow(t, e, c.ID)
		if row1.Name != "after" || row1.Status != credential.StatusDisabled || row1.ExpiresAt == nil || !row1.ExpiresAt.Equal(exp) ||
			row1.Metadata["owner"] != "team-a" {
			t.Fatalf("row after PATCH: name %q status %s", row1.Name, row1.Status)
		}
		if !bytes.Equal(row1.Ciphertext, row0.Ciphertext) || row1.DekVersion != row0.DekVersion {
			t.Fatal("a metadata PATCH re-sealed the secret")
		}
		if !row1.UpdatedAt.After(row0.UpdatedAt) && !row1.UpdatedAt.Equal(row0.UpdatedAt) {
			t.Fatal("updated_at went back")
		}
		det := vtDetails(t, e, o.Token, integ)
		if d := det.Credentials[0]; d.Name != "after" || d.Status != "disabled" {
			t.Fatalf("details after PATCH: name %q status %q", d.Name, d.Status)
		}
		got := vtRead(t, e, o.Token, integ)
		if !vtSame(got.Credentials[0].Data, old) {
			t.Fatal("a metadata PATCH changed the data")
		}
		ups := vtAuditsOf(vtAudits(t, e, o.TenantID, "credential.update"), c.ID)
		if len(ups) != 1 || !vtSame(ups[0].Details["fields"], []any{"name", "metadata", "expires_at", "status"}) ||
			ups[0].ActorID != o.UserID.String() {
			t.Fatalf("credential.update entries: %d", len(ups))
		}

		// Invalid patches change nothing.
		for _, bad := range []struct {
			body          map[string]any
			field, reason string
		}{
			{map[string]any{"data": map[string]any{"header_name": "X"}}, "data.api_key", "required"},
			{map[string]any{"data": map[string]any{"api_key": ""}}, "data.api_key", "required"},
			{map[string]any{"data": map[string]any{"api_key": "k", "password": "p"}}, "data.password", "unknown"},
			// Another type's secret: the missing field is named first.
			{map[string]any{"data": map[string]any{"username": "u", "password": "p"}}, "data.api_key", "required"},
			{map[string]any{"data": map[string]any{}}, "data", "required"},
			{map[string]any{"status": "deleted"}, "status", "invalid"},
			{map[string]any{"auth_type": "basic_auth"}, "auth_type", "unknown"},
			{map[string]any{"integration_id": "elsewhere"}, "integration_id", "unknown"},
			{map[string]any{"name": "x", "data": map[string]any{"api_key": 1}}, "data.api_key", ""},
		} {
			r := patch(bad.body)
			if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "VALIDATION_ERROR" ||
				fmt.Sprint(r.Envelope.Error.Details["field"]) != bad.field ||
				(bad.reason != "" && fmt.Sprint(r.Envelope.Error.Details["reason"]) != bad.reason) {
				t.Fatalf("PATCH %v: got %s, want 422 %s %s", slices.Sorted(maps.Keys(bad.body)), vtShow(r), bad.field, bad.reason)
			}
		}
		row2 := vtRow(t, e, c.ID)
		if !bytes.Equal(row2.Ciphertext, row1.Ciphertext) || row2.Name != "after" || row2.Status != credential.StatusDisabled {
			t.Fatal("a refused PATCH changed the row")
		}

		// data replaces the secret, validated against the credential's type.
		nd := map[string]any{"api_key": vtSecret(tag, "api_key", "replaced"), "prefix": "Token "}
		r = patch(map[string]any{"data": nd})
		vtStatus(t, r, http.StatusOK)
		vtNoDataKey(t, "PATCH data", r.Envelope.Data)
		vtNoSecret(t, "PATCH data", r.Body, vtSecretsOf(nd))
		row3 := vtRow(t, e, c.ID)
		if bytes.Equal(row3.Ciphertext, row2.Ciphertext) || row3.Name != "after" {
			t.Fatal("PATCH data did not re-seal the secret, or changed the name")
		}
		got = vtRead(t, e, o.Token, integ)
		if !vtSame(got.Credentials[0].Data, nd) {
			t.Fatal("the replaced secret does not read back as sent (old fields must be gone)")
		}
		vtNoSecret(t, "GET after PATCH data", e.Get(vtPath(integ), o.Token).Body, vtSecretsOf(old))
		ups = vtAuditsOf(vtAudits(t, e, o.TenantID, "credential.update"), c.ID)
		if len(ups) != 2 || !vtSame(ups[1].Details["fields"], []any{"data"}) {
			t.Fatalf("credential.update entries after PATCH data: %d", len(ups))
		}

		// GraphQL updateCredential: the same rules.
		g := e.GraphQL(`mutation($i: String!, $id: ID!, $in: UpdateCredentialInput!) { updateCredential(integrationID: $i, id: $id, input: $in) { id name status } }`,
			map[string]any{"i": integ, "id": c.ID, "in": map[string]any{"name": "gql", "status": "active", "data": map[string]any{"api_key": "gql-key"}}}, o.Token)
		if len(g.Errors) > 0 {
			t.Fatalf("GraphQL updateCredential: %s", vtGQLShow(g))
		}
		if !strings.Contains(string(g.Data), `"name":"gql"`) || !strings.Contains(string(g.Data), `"status":"active"`) {
			t.Fatal("GraphQL updateCredential did not answer the new name and status")
		}
		if got := vtRead(t, e, o.Token, integ); !vtSame(got.Credentials[0].Data, map[string]any{"api_key": "gql-key"}) {
			t.Fatal("GraphQL updateCredential data does not read back")
		}
		g = e.GraphQL(`mutation($i: String!, $id: ID!) { updateCredential(integrationID: $i, id: $id, input: {data: {token: "x"}}) { id } }`,
			map[string]any{"i": integ, "id": c.ID}, o.Token)
		vtGQLError(t, g, "VALIDATION_ERROR", "field", "data.api_key", "reason", "required")
	})
}

func TestCredentialDelete(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Delete")
		member := vtUser(t, e, o, "member")
		tag := vtTag()
		integ := "del-" + tag
		d1, d2 := vtData("oauth2_bearer", tag+"1", true), vtData("oauth2_bearer", tag+"2", true)
		c1 := vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "auth_type": "oauth2_bearer", "data": d1})
		c2 := vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "auth_type": "oauth2_bearer", "data": d2})
		ct1 := vtRow(t, e, c1.ID).Ciphertext

		r := vtDo(e, http.MethodDelete, vtPath(integ, c1.ID.String()), member.Token, nil)
		vtStatus(t, r, http.StatusOK)
		var del struct {
			ID      uuid.UUID `json:"id"`
			Deleted bool      `json:"deleted"`
		}
		r.Data(t, &del)
		if del.ID != c1.ID || !del.Deleted {
			t.Fatalf("DELETE answered id %s deleted %v", del.ID, del.Deleted)
		}
		if vtRow(t, e, c1.ID) != nil {
			t.Fatal("the deleted credential's row is still there")
		}
		// Its ciphertext is nowhere in the database.
		found, _ := vtScan(t, e, []string{string(ct1)})
		if len(found[string(ct1)]) > 0 {
			t.Fatalf("the deleted ciphertext lingers in %v", found[string(ct1)])
		}
		dels := vtAudits(t, e, o.TenantID, "credential.delete")
		if len(dels) != 1 || dels[0].ResourceID != c1.ID.String() || dels[0].ActorID != member.UserID.String() ||
			dels[0].Outcome != auditlog.OutcomeSuccess || dels[0].Details["integration_id"] != integ {
			t.Fatalf("credential.delete entries: %d", len(dels))
		}
		got := vtRead(t, e, o.Token, integ)
		if len(got.Credentials) != 1 || got.Credentials[0].ID != c2.ID || !vtSame(got.Credentials[0].Data, d2) {
			t.Fatalf("after the delete the integration holds %d credentials, want the other one", len(got.Credentials))
		}
		// Twice: 404.
		vtError(t, vtDo(e, http.MethodDelete, vtPath(integ, c1.ID.String()), o.Token, nil), http.StatusNotFound, "NOT_FOUND")

		// GraphQL deleteCredential of the last one: the integration is gone.
		g := e.GraphQL(`mutation($i: String!, $id: ID!) { deleteCredential(integrationID: $i, id: $id) }`,
			map[string]any{"i": integ, "id": c2.ID}, o.Token)
		if len(g.Errors) > 0 || !strings.Contains(string(g.Data), c2.ID.String()) {
			t.Fatalf("GraphQL deleteCredential: %s", vtGQLShow(g))
		}
		if vtRow(t, e, c2.ID) != nil {
			t.Fatal("the credential deleted over GraphQL is still there")
		}
		vtError(t, e.Get(vtPath(integ), o.Token), http.StatusNotFound, "NOT_FOUND")
		vtError(t, e.Get(vtPath(integ, "details"), o.Token), http.StatusNotFound, "NOT_FOUND")
		if n := len(vtAudits(t, e, o.TenantID, "credential.delete")); n != 2 {
			t.Fatalf("%d credential.delete entries, want 2", n)
		}
		// A viewer may not delete.
		viewer := vtUser(t, e, o, "viewer")
		c3 := vtStore(t, e, o.Token, map[string]any{"integration_id": integ, "auth_type": "bearer_token", "data": map[string]any{"token": "t"}})
		vtError(t, vtDo(e, http.MethodDelete, vtPath(integ, c3.ID.String()), viewer.Token, nil), http.StatusForbidden, "FORBIDDEN",
			"required_scope", "credentials:write")
		if vtRow(t, e, c3.ID) == nil {
			t.Fatal("the viewer's refused delete removed the row")
		}
	})
}

// ---------------------------------------------------------------------------
// Reported bugs

// TestCredentialIntegrationIDWithASlash: an integration_id is a path
// segment of the REST routes, so one holding '/', '?', '#' or '%' is refused
// when stored rather than stored unreachable.
func TestCredentialIntegrationIDWithASlash(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Slash")
		for _, integ := range []string{"github/acme", "a?b", "a#b", "a%2Fb"} {
			r := vtDo(e, http.MethodPost, "/api/v1/credentials", o.Token, map[string]any{
				"integration_id": integ, "auth_type": "api_key", "data": vtData("api_key", vtTag(), true)})
			if r.Status != http.StatusUnprocessableEntity || r.Envelope.Error == nil || r.Envelope.Error.Details["field"] != "integration_id" {
				t.Fatalf("integration_id %q: %d %s", integ, r.Status, r.Body)
			}
		}
	})
}

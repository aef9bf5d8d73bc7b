package apitest_test

// The credentials vault over real HTTP, on SQLite and PostgreSQL: the eight
// auth types stored and read back through REST and GraphQL, validation of
// the secret against its type, the credentials:decrypt scope, tenant
// isolation, no plaintext anywhere in the database, ciphertexts that do not
// open once copied to another row, the audit of every decrypt, update and
// delete. DEK and master-key rotation are in credential_rotation_test.go.
//
// The shared helpers are the kit's (kit_test.go); those here are the
// vault's own. Secrets never reach a failure message: a response is shown
// through redact, which hides a credential's data wherever it is nested,
// and decrypted values are compared, never printed.

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
)

// ---------------------------------------------------------------------------
// Harness

// noSecret fails when body holds any of secrets.
func noSecret(t *testing.T, what string, body []byte, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) {
			t.Fatalf("%s shows a secret (%d chars)", what, len(s))
		}
	}
}

// ---------------------------------------------------------------------------
// The auth types of SPEC §7, spelled out rather than taken from the code.

type authType struct {
	name               string
	required, optional []string
}

var authTypes = []authType{
	{"oauth2_bearer", []string{"access_token"}, []string{"refresh_token", "token_type", "expires_at", "scope"}},
	{"oauth2_client_credentials", []string{"client_id", "client_secret", "token_url"}, []string{"scopes", "audience"}},
	{"api_key", []string{"api_key"}, []string{"header_name", "prefix"}},
	{"basic_auth", []string{"username", "password"}, nil},
	{"bearer_token", []string{"token"}, nil},
	{"jwt", []string{"token"}, []string{"signing_key", "algorithm", "claims"}},
	{"saml", []string{"assertion"}, []string{"idp_entity_id", "expires_at"}},
	{"custom", nil, nil},
}

// vaultSecretPrefix marks every secret string, so the database can be
// searched for them.
const vaultSecretPrefix = "vtsecret-"

// vaultSecret is a distinctive secret string.
func vaultSecret(tag, typ, field string) string {
	return vaultSecretPrefix + tag + "-" + typ + "-" + field
}

// secretData is a secret of type typ: its required fields, and with full its
// optional ones too, with values of the JSON types a client would send.
func secretData(typ, tag string, full bool) map[string]any {
	d := map[string]any{}
	var at authType
	for _, a := range authTypes {
		if a.name == typ {
			at = a
		}
	}
	for _, f := range at.required {
		d[f] = vaultSecret(tag, typ, f)
	}
	if typ == "custom" {
		d["hmac_secret"] = vaultSecret(tag, typ, "hmac_secret")
		if full {
			d["endpoint"] = "https://custom.example.test/" + tag
			d["nested"] = map[string]any{"pin": vaultSecret(tag, typ, "pin"), "list": []any{1.5, "two", nil, true}}
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
			d[f] = vaultSecret(tag, typ, f)
		}
	}
	return d
}

// secretsIn lists the secret strings in a value.
func secretsIn(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		if strings.HasPrefix(v, vaultSecretPrefix) {
			out = append(out, v)
		}
	case map[string]any:
		for _, x := range v {
			out = append(out, secretsIn(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, secretsIn(x)...)
		}
	}
	return out
}

// sameJSON reports whether a and b are equal as JSON.
func sameJSON(a, b any) bool {
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

// credJSON is a credential as REST shows it.
type credJSON struct {
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

// integrationJSON is the data of GET /credentials/{integrationId}[/details].
type integrationJSON struct {
	IntegrationID string     `json:"integration_id"`
	Credentials   []credJSON `json:"credentials"`
}

// noDataKey fails when the JSON object raw, or any object in its
// "credentials" array, has a "data" key.
func noDataKey(t *testing.T, what string, raw json.RawMessage) {
	t.Helper()
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("%s: data is not an object: %v", what, err)
	}
	if _, ok := obj["data"]; ok {
		t.Fatalf("%s carries a data key", what)
	}
	if list, ok := obj["credentials"]; ok {
		noDataKeyInList(t, what, list)
	}
}

// noDataKeyInList fails when an object of the JSON array raw has a "data" key.
func noDataKeyInList(t *testing.T, what string, raw json.RawMessage) {
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

// storeCred stores a credential and checks the 201 carries metadata only.
func storeCred(t *testing.T, e *apitest.Env, bearer string, body map[string]any) credJSON {
	t.Helper()
	r := do(e, http.MethodPost, "/api/v1/credentials", bearer, body)
	wantOK(t, r, http.StatusCreated, nil)
	noDataKey(t, "POST /credentials", r.Envelope.Data)
	noSecret(t, "POST /credentials", r.Body, secretsIn(body["data"]))
	var c credJSON
	r.Data(t, &c)
	if c.ID == uuid.Nil {
		t.Fatal("stored credential without id")
	}
	return c
}

func credPath(integration string, rest ...string) string {
	p := "/api/v1/credentials/" + url.PathEscape(integration)
	for _, s := range rest {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// readCreds reads an integration's credentials with their data.
func readCreds(t *testing.T, e *apitest.Env, bearer, integration string) integrationJSON {
	t.Helper()
	r := e.Get(credPath(integration), bearer)
	wantOK(t, r, http.StatusOK, nil)
	var out integrationJSON
	r.Data(t, &out)
	if out.IntegrationID != integration {
		t.Fatalf("integration_id %q, want %q", out.IntegrationID, integration)
	}
	return out
}

// readDetails reads an integration's credentials without data.
func readDetails(t *testing.T, e *apitest.Env, bearer, integration string) integrationJSON {
	t.Helper()
	r := e.Get(credPath(integration, "details"), bearer)
	wantOK(t, r, http.StatusOK, nil)
	noDataKey(t, "GET details", r.Envelope.Data)
	var out integrationJSON
	r.Data(t, &out)
	return out
}

// findCred returns the credential with id in cs.
func findCred(t *testing.T, cs []credJSON, id uuid.UUID) credJSON {
	t.Helper()
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("credential %s is not in the response", id)
	return credJSON{}
}

const gqlCredRead = `query($id: String!) { credential(integrationID: $id) { integrationID
  credentials { id tenantID integrationID name authType metadata status expiresAt data } } }`

const gqlCredDetails = `query($id: String!) { credential(integrationID: $id) { integrationID
  credentials { id name authType metadata status expiresAt } } }`

// gqlCredJSON is a credential as GraphQL shows it.
type gqlCredJSON struct {
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

// gqlCredentials runs query (gqlCredRead or gqlCredDetails) and expects no error.
func gqlCredentials(t *testing.T, e *apitest.Env, bearer, query, integration string) []gqlCredJSON {
	t.Helper()
	g := e.GraphQL(query, map[string]any{"id": integration}, bearer)
	if len(g.Errors) > 0 || g.Status != http.StatusOK {
		t.Fatalf("GraphQL credential(%q): %s", integration, showGQL(g))
	}
	var out struct {
		Credential struct {
			IntegrationID string        `json:"integrationID"`
			Credentials   []gqlCredJSON `json:"credentials"`
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

// ---------------------------------------------------------------------------
// Database

// credRows returns the tenant's credential rows, optionally of one integration.
func credRows(t *testing.T, e *apitest.Env, tenant uuid.UUID, integration ...string) []*ent.Credential {
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

// credRow returns one credential row, or nil when it does not exist.
func credRow(t *testing.T, e *apitest.Env, id uuid.UUID) *ent.Credential {
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

// entriesAbout keeps the entries about resource id.
func entriesAbout(entries []*ent.AuditLog, id uuid.UUID) []*ent.AuditLog {
	var out []*ent.AuditLog
	for _, a := range entries {
		if a.ResourceID == id.String() {
			out = append(out, a)
		}
	}
	return out
}

// dataKeys returns the tenant's data_keys rows by version.
func dataKeys(t *testing.T, e *apitest.Env, tenant uuid.UUID) map[int]*ent.DataKey {
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

// wrappedKeyNull reports whether the data_keys row's wrapped_key column
// is NULL (ent reads NULL bytes as a pointer to a nil slice).
func wrappedKeyNull(t *testing.T, e *apitest.Env, tenant uuid.UUID, version int) bool {
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
		o := register(t, e, "Types")
		tag := randTag()
		expires := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
		for _, at := range authTypes {
			integ := "vt-" + at.name + "-" + tag
			minimal := secretData(at.name, tag+"-min", false)
			full := secretData(at.name, tag+"-full", true)
			md := map[string]any{"team": "payments", "n": 3.0, "tags": []any{"a", "b"}, "nested": map[string]any{"x": false}}

			c1 := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "auth_type": at.name, "data": minimal})
			if c1.IntegrationID != integ || c1.AuthType != at.name || c1.Status != "active" || c1.Name != "" ||
				c1.TenantID != o.TenantID || c1.CreatedBy == nil || *c1.CreatedBy != o.UserID ||
				c1.ExpiresAt != nil || c1.LastAccessedAt != nil || c1.Metadata == nil || len(c1.Metadata) != 0 {
				t.Fatalf("%s: stored metadata %+v", at.name, c1)
			}
			c2 := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "name": "Full " + at.name,
				"auth_type": at.name, "data": full, "metadata": md, "expires_at": expires})
			if c2.Name != "Full "+at.name || !sameJSON(c2.Metadata, md) || c2.ExpiresAt == nil || !c2.ExpiresAt.Equal(expires) {
				t.Fatalf("%s: stored optional metadata: name %q metadata %v expires_at %v", at.name, c2.Name, c2.Metadata, c2.ExpiresAt)
			}

			// REST, decrypting; last_accessed_at follows at the next flush.
			got := readCreds(t, e, o.AccessToken, integ)
			e.Flush()
			if len(got.Credentials) != 2 {
				t.Fatalf("%s: GET returned %d credentials, want 2", at.name, len(got.Credentials))
			}
			for _, want := range []struct {
				c    credJSON
				data map[string]any
			}{{c1, minimal}, {c2, full}} {
				g := findCred(t, got.Credentials, want.c.ID)
				if !sameJSON(g.Data, want.data) {
					t.Fatalf("%s: REST data of %s differs from what was stored (%d fields, want %d)",
						at.name, want.c.ID, len(g.Data), len(want.data))
				}
				if g.AuthType != at.name || g.Name != want.c.Name || !sameJSON(g.Metadata, want.c.Metadata) ||
					g.Status != "active" || !reflect.DeepEqual(g.ExpiresAt, want.c.ExpiresAt) || g.TenantID != o.TenantID {
					t.Fatalf("%s: REST metadata of %s: %+v", at.name, want.c.ID, g.Metadata)
				}
				if row := credRow(t, e, want.c.ID); row.LastAccessedAt == nil {
					t.Fatalf("%s: last_accessed_at not set by a decrypting read", at.name)
				}
			}
			if got.Credentials[0].ID != c1.ID && !got.Credentials[0].CreatedAt.Equal(got.Credentials[1].CreatedAt) {
				t.Errorf("%s: credentials are not in creation order", at.name)
			}

			// GraphQL, decrypting.
			gql := gqlCredentials(t, e, o.AccessToken, gqlCredRead, integ)
			if len(gql) != 2 {
				t.Fatalf("%s: GraphQL returned %d credentials, want 2", at.name, len(gql))
			}
			for _, want := range []struct {
				c    credJSON
				data map[string]any
			}{{c1, minimal}, {c2, full}} {
				var g *gqlCredJSON
				for i := range gql {
					if gql[i].ID == want.c.ID {
						g = &gql[i]
					}
				}
				if g == nil {
					t.Fatalf("%s: GraphQL misses credential %s", at.name, want.c.ID)
				}
				if !sameJSON(g.Data, want.data) {
					t.Fatalf("%s: GraphQL data of %s differs from what was stored", at.name, want.c.ID)
				}
				if g.AuthType != at.name || g.Name != want.c.Name || g.IntegrationID != integ ||
					g.TenantID != o.TenantID || !sameJSON(g.Metadata, want.c.Metadata) || g.Status != "active" {
					t.Fatalf("%s: GraphQL metadata of %s: authType %q name %q", at.name, want.c.ID, g.AuthType, g.Name)
				}
			}

			// In the database: sealed under the tenant's first DEK.
			rows := credRows(t, e, o.TenantID, integ)
			if len(rows) != 2 {
				t.Fatalf("%s: %d rows, want 2", at.name, len(rows))
			}
			for _, row := range rows {
				if row.DekVersion != 1 || len(row.Ciphertext) < 28 || string(row.AuthType) != at.name {
					t.Fatalf("%s: row dek_version %d, %d ciphertext bytes, auth_type %s", at.name, row.DekVersion, len(row.Ciphertext), row.AuthType)
				}
			}
		}
		keys := dataKeys(t, e, o.TenantID)
		if len(keys) != 1 || keys[1] == nil || keys[1].Status != datakey.StatusActive {
			t.Fatalf("the tenant has %d DEKs, want v1 alone and active", len(keys))
		}
		// The list shows every credential, metadata only.
		r := e.Get("/api/v1/credentials?limit=200", o.AccessToken)
		wantOK(t, r, http.StatusOK, nil)
		noDataKeyInList(t, "GET /credentials", r.Envelope.Data)
		var list []credJSON
		r.Data(t, &list)
		if len(list) != 2*len(authTypes) {
			t.Fatalf("the list has %d credentials, want %d", len(list), 2*len(authTypes))
		}
		r = e.Get("/api/v1/credentials?auth_type=jwt", o.AccessToken)
		wantOK(t, r, http.StatusOK, nil)
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
		o := register(t, e, "Validation")
		tag := randTag()
		type tc struct {
			name          string
			body          map[string]any
			field, reason string
		}
		var cases []tc
		for _, at := range authTypes {
			for _, f := range at.required {
				for variant, set := range map[string]func(d map[string]any){
					"missing": func(d map[string]any) { delete(d, f) },
					"empty":   func(d map[string]any) { d[f] = "" },
					"null":    func(d map[string]any) { d[f] = nil },
				} {
					d := secretData(at.name, tag, true)
					set(d)
					// Even with nothing left, the missing field is named.
					cases = append(cases, tc{at.name + " " + f + " " + variant,
						map[string]any{"integration_id": "v", "auth_type": at.name, "data": d}, "data." + f, "required"})
				}
			}
			if at.name != "custom" {
				d := secretData(at.name, tag, false)
				d["not_a_field"] = vaultSecret(tag, at.name, "unknown")
				cases = append(cases, tc{at.name + " unknown field",
					map[string]any{"integration_id": "v", "auth_type": at.name, "data": d}, "data.not_a_field", "unknown"})
				// A field of another type is unknown too.
				d = secretData(at.name, tag, false)
				other := "hmac_secret"
				if at.name != "basic_auth" {
					other = "password"
				}
				d[other] = vaultSecret(tag, at.name, other)
				cases = append(cases, tc{at.name + " field of another type",
					map[string]any{"integration_id": "v", "auth_type": at.name, "data": d}, "data." + other, "unknown"})
			}
			// An empty object names the first field it lacks (custom has none).
			emptyField := "data"
			if len(at.required) > 0 {
				emptyField = "data." + at.required[0]
			}
			cases = append(cases,
				tc{at.name + " empty data", map[string]any{"integration_id": "v", "auth_type": at.name, "data": map[string]any{}}, emptyField, "required"},
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
			r := do(e, http.MethodPost, "/api/v1/credentials", o.AccessToken, c.body)
			if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "VALIDATION_ERROR" {
				t.Fatalf("%s: got %s, want 422 VALIDATION_ERROR", c.name, redact(r.Body))
			}
			if got := fmt.Sprint(r.Envelope.Error.Details["field"]); got != c.field {
				t.Fatalf("%s: details.field %q, want %q", c.name, got, c.field)
			}
			if got := fmt.Sprint(r.Envelope.Error.Details["reason"]); (c.reason != "" && got != c.reason) || got == "" || got == "<nil>" {
				t.Fatalf("%s: details.reason %q, want %q", c.name, got, c.reason)
			}
			noSecret(t, c.name+": the error", r.Body, secretsIn(c.body["data"]))
		}

		// GraphQL validates the same way.
		const store = `mutation($in: StoreCredentialInput!) { storeCredential(input: $in) { id } }`
		d := secretData("oauth2_client_credentials", tag, true)
		delete(d, "client_secret")
		g := e.GraphQL(store, map[string]any{"in": map[string]any{"integrationID": "v", "authType": "oauth2_client_credentials", "data": d}}, o.AccessToken)
		wantGQLError(t, g, "VALIDATION_ERROR", "field", "data.client_secret", "reason", "required")
		g = e.GraphQL(store, map[string]any{"in": map[string]any{"integrationID": "v", "authType": "custom", "data": map[string]any{}}}, o.AccessToken)
		wantGQLError(t, g, "VALIDATION_ERROR", "field", "data", "reason", "required")
		g = e.GraphQL(store, map[string]any{"in": map[string]any{"integrationID": "v", "authType": "bearer_token", "data": map[string]any{}}}, o.AccessToken)
		wantGQLError(t, g, "VALIDATION_ERROR", "field", "data.token", "reason", "required")
		d = secretData("saml", tag, false)
		d["idp_entity"] = "x"
		g = e.GraphQL(store, map[string]any{"in": map[string]any{"integrationID": "v", "authType": "saml", "data": d}}, o.AccessToken)
		wantGQLError(t, g, "VALIDATION_ERROR", "field", "data.idp_entity", "reason", "unknown")

		// Nothing was stored, not even a DEK, and nothing was audited as created.
		if rows := credRows(t, e, o.TenantID); len(rows) != 0 {
			t.Fatalf("%d credentials stored by invalid requests", len(rows))
		}
		if keys := dataKeys(t, e, o.TenantID); len(keys) != 0 {
			t.Fatalf("%d DEKs created by invalid requests", len(keys))
		}
		if a := auditEntries(t, e, o.TenantID, "credential.create", ""); len(a) != 0 {
			t.Fatalf("%d credential.create entries for invalid requests", len(a))
		}
		// The same bodies, made valid, are accepted: the checks are not
		// refusing everything.
		for _, at := range authTypes {
			storeCred(t, e, o.AccessToken, map[string]any{"integration_id": "v", "auth_type": at.name, "data": secretData(at.name, tag, true)})
		}
	})
}

// ---------------------------------------------------------------------------
// 3. credentials:decrypt

func TestCredentialDecryptNeedsTheDecryptScope(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Scopes")
		viewer := o.user(t, "viewer")
		member := o.user(t, "member")
		tag := randTag()
		integ := "perm-" + tag
		d1, d2 := secretData("api_key", tag+"a", true), secretData("basic_auth", tag+"b", true)
		secrets := append(secretsIn(d1), secretsIn(d2)...)
		c1 := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "auth_type": "api_key", "data": d1, "name": "one"})
		c2 := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "auth_type": "basic_auth", "data": d2, "name": "two"})

		// The viewer: no decrypting read, on any route.
		for _, p := range []string{credPath(integ), credPath("no-such-integration-" + tag)} {
			r := e.Get(p, viewer.AccessToken)
			wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", "credentials:decrypt")
			noSecret(t, "viewer GET", r.Body, secrets)
		}
		g := e.GraphQL(gqlCredRead, map[string]any{"id": integ}, viewer.AccessToken)
		wantGQLError(t, g, "FORBIDDEN", "required_scope", "credentials:decrypt")
		noSecret(t, "viewer GraphQL", g.Data, secrets)
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
				t.Fatalf("viewer GraphQL: an error other than FORBIDDEN: %s", showGQL(g))
			}
		}
		// ... nor through node(id) ...
		g = e.GraphQL(`query($id: ID!) { node(id: $id) { id ... on Credential { name data } } }`, map[string]any{"id": c1.ID}, viewer.AccessToken)
		wantGQLError(t, g, "FORBIDDEN", "required_scope", "credentials:decrypt")
		noSecret(t, "viewer node()", g.Data, secrets)
		if !strings.Contains(string(g.Data), `"name":"one"`) {
			t.Fatal("viewer node(): the credential's metadata is missing")
		}
		// ... nor from the list query's nodes.
		g = e.GraphQL(`{ credentials { edges { node { id data } } } }`, nil, viewer.AccessToken)
		wantGQLError(t, g, "FORBIDDEN", "required_scope", "credentials:decrypt")
		noSecret(t, "viewer GraphQL list", g.Data, secrets)

		// But metadata, with credentials:read.
		det := readDetails(t, e, viewer.AccessToken, integ)
		if len(det.Credentials) != 2 || findCred(t, det.Credentials, c1.ID).Name != "one" || findCred(t, det.Credentials, c2.ID).AuthType != "basic_auth" {
			t.Fatalf("viewer details: %d credentials", len(det.Credentials))
		}
		r := e.Get("/api/v1/credentials?integration_id="+url.QueryEscape(integ), viewer.AccessToken)
		wantOK(t, r, http.StatusOK, nil)
		noDataKeyInList(t, "viewer list", r.Envelope.Data)
		noSecret(t, "viewer list", r.Body, secrets)
		var list []credJSON
		r.Data(t, &list)
		if len(list) != 2 {
			t.Fatalf("viewer list: %d credentials, want 2", len(list))
		}
		if gql := gqlCredentials(t, e, viewer.AccessToken, gqlCredDetails, integ); len(gql) != 2 {
			t.Fatalf("viewer GraphQL details: %d credentials", len(gql))
		}
		// No writes either.
		r = do(e, http.MethodPost, "/api/v1/credentials", viewer.AccessToken, map[string]any{"integration_id": integ, "auth_type": "bearer_token", "data": map[string]any{"token": "t"}})
		wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", "credentials:write")

		// Each refusal is audited as denied; the viewer decrypted nothing.
		denied := 0
		for _, a := range auditEntries(t, e, o.TenantID, "permission.denied", "") {
			if a.ActorID == viewer.UserID.String() && a.Outcome == auditlog.OutcomeDenied && a.Details["required_scope"] == "credentials:decrypt" {
				denied++
			}
		}
		if denied < 5 {
			t.Fatalf("%d permission.denied entries for the viewer's decrypt attempts, want at least 5", denied)
		}
		for _, a := range auditEntries(t, e, o.TenantID, "credential.decrypt", "") {
			if a.ActorID == viewer.UserID.String() {
				t.Fatal("a credential.decrypt entry names the viewer")
			}
		}

		// A member decrypts, over REST and GraphQL.
		got := readCreds(t, e, member.AccessToken, integ)
		if !sameJSON(findCred(t, got.Credentials, c1.ID).Data, d1) || !sameJSON(findCred(t, got.Credentials, c2.ID).Data, d2) {
			t.Fatal("the member's decrypted data differ from what was stored")
		}
		for _, c := range gqlCredentials(t, e, member.AccessToken, gqlCredRead, integ) {
			want := map[uuid.UUID]map[string]any{c1.ID: d1, c2.ID: d2}[c.ID]
			if !sameJSON(c.Data, want) {
				t.Fatal("the member's GraphQL data differ from what was stored")
			}
		}
		byMember := 0
		for _, a := range auditEntries(t, e, o.TenantID, "credential.decrypt", "") {
			if a.ActorID == member.UserID.String() {
				byMember++
			}
		}
		if byMember != 4 {
			t.Fatalf("%d credential.decrypt entries by the member, want 4 (2 credentials, REST and GraphQL)", byMember)
		}
		// Anonymous: 401.
		r = e.Get(credPath(integ), "")
		wantError(t, r, http.StatusUnauthorized, "UNAUTHORIZED")
	})
}

// ---------------------------------------------------------------------------
// 4. Tenant isolation

func TestCredentialTenantIsolation(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a, b := register(t, e, "Alpha"), register(t, e, "Beta")
		tag := randTag()
		only, shared := "a-only-"+tag, "shared-"+tag
		da, das, db := secretData("api_key", tag+"a", true), secretData("jwt", tag+"as", true), secretData("bearer_token", tag+"b", true)
		aSecrets := append(secretsIn(da), secretsIn(das)...)
		ca := storeCred(t, e, a.AccessToken, map[string]any{"integration_id": only, "auth_type": "api_key", "data": da, "name": "a"})
		cas := storeCred(t, e, a.AccessToken, map[string]any{"integration_id": shared, "auth_type": "jwt", "data": das, "name": "as"})
		cb := storeCred(t, e, b.AccessToken, map[string]any{"integration_id": shared, "auth_type": "bearer_token", "data": db, "name": "b"})
		before := map[uuid.UUID]*ent.Credential{ca.ID: credRow(t, e, ca.ID), cas.ID: credRow(t, e, cas.ID)}

		// Tenant B on A's credentials: 404, exactly as for what does not exist.
		notFound := func(what string, r *apitest.Response) {
			t.Helper()
			wantError(t, r, http.StatusNotFound, "NOT_FOUND")
			noSecret(t, what, r.Body, aSecrets)
		}
		notFound("GET A's integration", e.Get(credPath(only), b.AccessToken))
		notFound("GET A's integration details", e.Get(credPath(only, "details"), b.AccessToken))
		for _, target := range [][2]string{{only, ca.ID.String()}, {shared, cas.ID.String()}, {shared, ca.ID.String()}} {
			notFound("PATCH A's credential", do(e, http.MethodPatch, credPath(target[0], target[1]), b.AccessToken, map[string]any{"name": "taken"}))
			notFound("PATCH A's secret", do(e, http.MethodPatch, credPath(target[0], target[1]), b.AccessToken,
				map[string]any{"data": map[string]any{"api_key": "replaced"}, "status": "disabled"}))
			notFound("DELETE A's credential", do(e, http.MethodDelete, credPath(target[0], target[1]), b.AccessToken, nil))
		}
		g := e.GraphQL(gqlCredRead, map[string]any{"id": only}, b.AccessToken)
		wantGQLError(t, g, "NOT_FOUND")
		g = e.GraphQL(`mutation($i: String!, $id: ID!) { updateCredential(integrationID: $i, id: $id, input: {name: "taken"}) { id } }`,
			map[string]any{"i": only, "id": ca.ID}, b.AccessToken)
		wantGQLError(t, g, "NOT_FOUND")
		g = e.GraphQL(`mutation($i: String!, $id: ID!) { deleteCredential(integrationID: $i, id: $id) }`,
			map[string]any{"i": only, "id": ca.ID}, b.AccessToken)
		wantGQLError(t, g, "NOT_FOUND")
		g = e.GraphQL(`query($id: ID!) { node(id: $id) { id ... on Credential { name data } } }`, map[string]any{"id": ca.ID}, b.AccessToken)
		wantGQLError(t, g, "NOT_FOUND")
		noSecret(t, "node() of A's credential for B", g.Data, aSecrets)
		if strings.Contains(string(g.Data), ca.ID.String()) {
			t.Fatal("node() shows A's credential to B")
		}
		// x-tenantid naming A is refused.
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: credPath(only), Bearer: b.AccessToken, Header: map[string]string{"x-tenantid": a.TenantID.String()}})
		wantError(t, r, http.StatusForbidden, "TENANT_MISMATCH")

		// B sees its own credential of the shared integration id, alone.
		got := readCreds(t, e, b.AccessToken, shared)
		if len(got.Credentials) != 1 || got.Credentials[0].ID != cb.ID || !sameJSON(got.Credentials[0].Data, db) {
			t.Fatalf("B reads %d credentials of %q, want its own alone", len(got.Credentials), shared)
		}
		r = e.Get("/api/v1/credentials", b.AccessToken)
		wantOK(t, r, http.StatusOK, nil)
		var list []credJSON
		r.Data(t, &list)
		if len(list) != 1 || list[0].ID != cb.ID {
			t.Fatalf("B lists %d credentials, want its own alone", len(list))
		}
		if total := r.Envelope.Meta.Pagination["total"]; fmt.Sprint(total) != "1" {
			t.Fatalf("B's list total %v, want 1", total)
		}

		// What does not exist: the same 404.
		ref := e.Get(credPath(only), b.AccessToken)
		for what, r := range map[string]*apitest.Response{
			"unknown integration":               e.Get(credPath("nothing-"+tag), a.AccessToken),
			"unknown integration details":       e.Get(credPath("nothing-"+tag, "details"), a.AccessToken),
			"unknown credential id":             do(e, http.MethodPatch, credPath(only, uuid.NewString()), a.AccessToken, map[string]any{"name": "x"}),
			"malformed credential id":           do(e, http.MethodPatch, credPath(only, "not-a-uuid"), a.AccessToken, map[string]any{"name": "x"}),
			"credential of another integration": do(e, http.MethodPatch, credPath(shared, ca.ID.String()), a.AccessToken, map[string]any{"name": "x"}),
			"delete unknown":                    do(e, http.MethodDelete, credPath(only, uuid.NewString()), a.AccessToken, nil),
			"delete of another integration":     do(e, http.MethodDelete, credPath(shared, ca.ID.String()), a.AccessToken, nil),
		} {
			wantError(t, r, http.StatusNotFound, "NOT_FOUND")
			if r.Envelope.Error.Message != ref.Envelope.Error.Message && strings.HasPrefix(what, "unknown integration") {
				t.Errorf("%s: message %q differs from another tenant's %q", what, r.Envelope.Error.Message, ref.Envelope.Error.Message)
			}
		}
		// A tenant that holds no credentials at all.
		c := register(t, e, "Empty")
		wantError(t, e.Get(credPath(shared), c.AccessToken), http.StatusNotFound, "NOT_FOUND")

		// A's rows were not touched, and A still reads its data.
		for id, was := range before {
			now := credRow(t, e, id)
			if now == nil || now.Name != was.Name || !bytes.Equal(now.Ciphertext, was.Ciphertext) ||
				now.DekVersion != was.DekVersion || now.Status != was.Status || !now.UpdatedAt.Equal(was.UpdatedAt) {
				t.Fatalf("A's credential %s changed through B's requests", id)
			}
		}
		if got := readCreds(t, e, a.AccessToken, only); !sameJSON(got.Credentials[0].Data, da) {
			t.Fatal("A's data changed")
		}
		if n := len(auditEntries(t, e, a.TenantID, "credential.update", "")) + len(auditEntries(t, e, a.TenantID, "credential.delete", "")); n != 0 {
			t.Fatalf("%d update/delete entries in A for B's refused requests", n)
		}
	})
}

// ---------------------------------------------------------------------------
// 5. No plaintext at rest

// encodings are the forms a secret might take if it were stored
// carelessly: as is, hex, base64.
func encodings(s string) []string {
	return []string{s, hex.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawURLEncoding.EncodeToString([]byte(s))}
}

func TestCredentialNoPlaintextAtRest(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "AtRest")
		tag := randTag()
		visible := "vt-visible-metadata-" + tag // stored in clear on purpose: the scan's control
		var secrets []string
		var ids []uuid.UUID
		for _, at := range authTypes {
			d := secretData(at.name, tag, true)
			secrets = append(secrets, secretsIn(d)...)
			c := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": "rest-" + at.name, "auth_type": at.name,
				"data": d, "name": "n-" + at.name, "metadata": map[string]any{"label": visible}})
			ids = append(ids, c.ID)
		}
		// A replaced secret, and a deleted credential: their old and new
		// plaintexts are not at rest either.
		nd := secretData("api_key", tag+"-new", true)
		secrets = append(secrets, secretsIn(nd)...)
		r := do(e, http.MethodPatch, credPath("rest-api_key", ids[2].String()), o.AccessToken, map[string]any{"data": nd})
		wantOK(t, r, http.StatusOK, nil)
		dd := secretData("basic_auth", tag+"-deleted", true)
		secrets = append(secrets, secretsIn(dd)...)
		gone := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": "rest-gone", "auth_type": "basic_auth", "data": dd})
		readCreds(t, e, o.AccessToken, "rest-gone")
		wantOK(t, do(e, http.MethodDelete, credPath("rest-gone", gone.ID.String()), o.AccessToken, nil), http.StatusOK, nil)
		// Every credential decrypted (REST and GraphQL), so decrypt audits exist;
		// a refused and a failed request too.
		for _, at := range authTypes {
			readCreds(t, e, o.AccessToken, "rest-"+at.name)
			gqlCredentials(t, e, o.AccessToken, gqlCredRead, "rest-"+at.name)
		}
		viewer := o.user(t, "viewer")
		wantError(t, e.Get(credPath("rest-jwt"), viewer.AccessToken), http.StatusForbidden, "FORBIDDEN")
		e.Flush()
		if len(secrets) < 17 {
			t.Fatalf("only %d secret strings: the fixture is broken", len(secrets))
		}

		var needles []string
		for _, s := range secrets {
			needles = append(needles, encodings(s)...)
		}
		found, rowsPer := scanDB(t, e, append(needles, visible))
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
		if rowsPer["credentials"] != len(authTypes) || rowsPer["audit_logs"] < 3*len(authTypes) || rowsPer["data_keys"] != 1 {
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
			entries := auditEntries(t, e, o.TenantID, action, "")
			if len(entries) == 0 {
				t.Fatalf("no %s entries", action)
			}
			for _, a := range entries {
				raw, err := json.Marshal(a.Details)
				if err != nil {
					t.Fatal(err)
				}
				noSecret(t, action+" details", raw, secrets)
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
		a, b := register(t, e, "Copy A"), register(t, e, "Copy B")
		tag := randTag()
		dx, dy, dz := secretData("api_key", tag+"x", true), secretData("api_key", tag+"y", true), secretData("api_key", tag+"z", true)
		secrets := slices.Concat(secretsIn(dx), secretsIn(dy), secretsIn(dz))
		x := storeCred(t, e, a.AccessToken, map[string]any{"integration_id": "x-" + tag, "auth_type": "api_key", "data": dx})
		y := storeCred(t, e, a.AccessToken, map[string]any{"integration_id": "y-" + tag, "auth_type": "api_key", "data": dy})
		z := storeCred(t, e, b.AccessToken, map[string]any{"integration_id": "z-" + tag, "auth_type": "api_key", "data": dz})
		rx, ry, rz := credRow(t, e, x.ID), credRow(t, e, y.ID), credRow(t, e, z.ID)
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
		failsToOpen := func(who *tenantFixture, integration string) {
			t.Helper()
			decrypts := len(auditEntries(t, e, who.TenantID, "credential.decrypt", ""))
			r := e.Get(credPath(integration), who.AccessToken)
			wantError(t, r, http.StatusInternalServerError, "INTERNAL_ERROR")
			noSecret(t, "the 500", r.Body, secrets)
			msg := strings.ToLower(r.Envelope.Error.Message)
			for _, internal := range []string{"vault", "sealed", "cipher", "dek", "gcm", "open", "aes"} {
				if strings.Contains(msg, internal) {
					t.Fatalf("the 500 shows internals: %q", r.Envelope.Error.Message)
				}
			}
			if len(r.Envelope.Error.Details) != 0 {
				t.Fatalf("the 500 has details: %v", r.Envelope.Error.Details)
			}
			g := e.GraphQL(gqlCredRead, map[string]any{"id": integration}, who.AccessToken)
			wantGQLError(t, g, "INTERNAL_ERROR")
			noSecret(t, "the GraphQL error", g.Data, secrets)
			for _, ge := range g.Errors {
				if m := strings.ToLower(ge.Message); strings.Contains(m, "vault") || strings.Contains(m, "cipher") || strings.Contains(m, "dek") {
					t.Fatalf("the GraphQL error shows internals: %q", ge.Message)
				}
			}
			if n := len(auditEntries(t, e, who.TenantID, "credential.decrypt", "")); n != decrypts {
				t.Fatalf("a failed decrypt was audited as a decrypt (%d entries, were %d)", n, decrypts)
			}
		}

		// X's ciphertext in Y's row (same tenant, same DEK).
		cp(rx, ry)
		failsToOpen(a, "y-"+tag)
		// X itself still opens.
		if got := readCreds(t, e, a.AccessToken, "x-"+tag); !sameJSON(got.Credentials[0].Data, dx) {
			t.Fatal("X no longer reads as stored")
		}
		// Y's own ciphertext put back: Y opens again (the failure was the copy).
		cp(ry, ry)
		if got := readCreds(t, e, a.AccessToken, "y-"+tag); !sameJSON(got.Credentials[0].Data, dy) {
			t.Fatal("Y does not read after its ciphertext was restored")
		}

		// X's ciphertext in tenant B's row.
		cp(rx, rz)
		failsToOpen(b, "z-"+tag)
		cp(rz, rz)
		if got := readCreds(t, e, b.AccessToken, "z-"+tag); !sameJSON(got.Credentials[0].Data, dz) {
			t.Fatal("Z does not read after its ciphertext was restored")
		}

		// After a DEK rotation the binding holds on the new DEK too: X's
		// re-sealed ciphertext copied into Y's row does not open.
		r := do(e, http.MethodPost, "/api/v1/admin/dek/rotate", a.AccessToken, map[string]any{})
		wantOK(t, r, http.StatusAccepted, nil)
		var rot struct {
			JobID uuid.UUID `json:"job_id"`
		}
		r.Data(t, &rot)
		waitJob(t, e, rot.JobID, 30*time.Second)
		rx2, ry2 := credRow(t, e, x.ID), credRow(t, e, y.ID)
		if rx2.DekVersion != 2 || ry2.DekVersion != 2 {
			t.Fatalf("X and Y are on DEK v%d and v%d after the rotation, want v2", rx2.DekVersion, ry2.DekVersion)
		}
		cp(rx2, ry2)
		failsToOpen(a, "y-"+tag)
		cp(ry2, ry2)
		if got := readCreds(t, e, a.AccessToken, "y-"+tag); !sameJSON(got.Credentials[0].Data, dy) {
			t.Fatal("Y does not read after its v2 ciphertext was restored")
		}
	})
}

// ---------------------------------------------------------------------------
// 7. Audit of every decrypt; update; delete

func TestCredentialEveryDecryptIsAudited(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Audit")
		tag := randTag()
		integ := "audit-" + tag
		var creds []credJSON
		for i, typ := range []string{"api_key", "bearer_token", "saml"} {
			creds = append(creds, storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "auth_type": typ,
				"data": secretData(typ, fmt.Sprint(tag, i), true)}))
		}
		if n := len(auditEntries(t, e, o.TenantID, "credential.decrypt", "")); n != 0 {
			t.Fatalf("%d decrypt entries before any read", n)
		}
		created := auditEntries(t, e, o.TenantID, "credential.create", "")
		if len(created) != 3 {
			t.Fatalf("%d credential.create entries, want 3", len(created))
		}
		for _, c := range creds {
			es := entriesAbout(created, c.ID)
			if len(es) != 1 || es[0].ActorID != o.UserID.String() || es[0].Outcome != auditlog.OutcomeSuccess ||
				es[0].ResourceType != "credential" || es[0].Details["integration_id"] != integ || es[0].Details["auth_type"] != c.AuthType {
				t.Fatalf("credential.create entry of %s: %d entries", c.ID, len(es))
			}
		}

		// Metadata reads are not decrypts.
		readDetails(t, e, o.AccessToken, integ)
		wantOK(t, e.Get("/api/v1/credentials", o.AccessToken), http.StatusOK, nil)
		gqlCredentials(t, e, o.AccessToken, gqlCredDetails, integ)
		if n := len(auditEntries(t, e, o.TenantID, "credential.decrypt", "")); n != 0 {
			t.Fatalf("%d decrypt entries after metadata reads, want 0", n)
		}

		// One REST read of three credentials: three entries, one per credential.
		reqID := "vt-audit-" + tag
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: credPath(integ), Bearer: o.AccessToken, Header: map[string]string{"X-Request-ID": reqID}})
		wantOK(t, r, http.StatusOK, nil)
		entries := auditEntries(t, e, o.TenantID, "credential.decrypt", "")
		if len(entries) != 3 {
			t.Fatalf("%d decrypt entries after one read of 3 credentials, want 3", len(entries))
		}
		for _, c := range creds {
			es := entriesAbout(entries, c.ID)
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
			row := credRow(t, e, c.ID)
			if row.LastAccessedAt == nil || row.LastAccessedAt.Before(a.OccurredAt.Add(-time.Minute)) {
				t.Fatalf("last_accessed_at of %s not set by the read", c.ID)
			}
		}
		// GraphQL: three more; asking for data twice in one query is two reads.
		gqlCredentials(t, e, o.AccessToken, gqlCredRead, integ)
		if n := len(auditEntries(t, e, o.TenantID, "credential.decrypt", "")); n != 6 {
			t.Fatalf("%d decrypt entries after a GraphQL read, want 6", n)
		}
		g := e.GraphQL(`query($id: String!) { a: credential(integrationID: $id) { credentials { data } }
		  b: credential(integrationID: $id) { credentials { id data } } }`, map[string]any{"id": integ}, o.AccessToken)
		if len(g.Errors) > 0 {
			t.Fatalf("aliased reads: %s", showGQL(g))
		}
		if n := len(auditEntries(t, e, o.TenantID, "credential.decrypt", "")); n != 12 {
			t.Fatalf("%d decrypt entries after two aliased reads, want 12", n)
		}
	})
}

func TestCredentialUpdate(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Update")
		tag := randTag()
		integ := "upd-" + tag
		old := secretData("api_key", tag+"old", true)
		c := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "auth_type": "api_key", "data": old,
			"name": "before", "metadata": map[string]any{"env": "prod"}})
		patch := func(body any) *apitest.Response {
			return do(e, http.MethodPatch, credPath(integ, c.ID.String()), o.AccessToken, body)
		}
		row0 := credRow(t, e, c.ID)

		// Metadata only: the secret is untouched, byte for byte.
		exp := time.Date(2032, 1, 2, 3, 4, 5, 0, time.UTC)
		r := patch(map[string]any{"name": "after", "metadata": map[string]any{"env": "staging", "owner": "team-a"},
			"status": "disabled", "expires_at": exp})
		wantOK(t, r, http.StatusOK, nil)
		noDataKey(t, "PATCH", r.Envelope.Data)
		var u credJSON
		r.Data(t, &u)
		if u.ID != c.ID || u.Name != "after" || u.Status != "disabled" || u.ExpiresAt == nil || !u.ExpiresAt.Equal(exp) ||
			!sameJSON(u.Metadata, map[string]any{"env": "staging", "owner": "team-a"}) || u.AuthType != "api_key" {
			t.Fatalf("PATCH answered name %q status %q expires_at %v metadata %v", u.Name, u.Status, u.ExpiresAt, u.Metadata)
		}
		row1 := credRow(t, e, c.ID)
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
		det := readDetails(t, e, o.AccessToken, integ)
		if d := det.Credentials[0]; d.Name != "after" || d.Status != "disabled" {
			t.Fatalf("details after PATCH: name %q status %q", d.Name, d.Status)
		}
		got := readCreds(t, e, o.AccessToken, integ)
		if !sameJSON(got.Credentials[0].Data, old) {
			t.Fatal("a metadata PATCH changed the data")
		}
		ups := auditEntries(t, e, o.TenantID, "credential.update", c.ID.String())
		if len(ups) != 1 || !sameJSON(ups[0].Details["fields"], []any{"name", "metadata", "expires_at", "status"}) ||
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
			{map[string]any{"data": map[string]any{}}, "data.api_key", "required"},
			{map[string]any{"status": "deleted"}, "status", "invalid"},
			{map[string]any{"auth_type": "basic_auth"}, "auth_type", "unknown"},
			{map[string]any{"integration_id": "elsewhere"}, "integration_id", "unknown"},
			{map[string]any{"name": "x", "data": map[string]any{"api_key": 1}}, "data.api_key", ""},
		} {
			r := patch(bad.body)
			if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "VALIDATION_ERROR" ||
				fmt.Sprint(r.Envelope.Error.Details["field"]) != bad.field ||
				(bad.reason != "" && fmt.Sprint(r.Envelope.Error.Details["reason"]) != bad.reason) {
				t.Fatalf("PATCH %v: got %s, want 422 %s %s", slices.Sorted(maps.Keys(bad.body)), redact(r.Body), bad.field, bad.reason)
			}
		}
		row2 := credRow(t, e, c.ID)
		if !bytes.Equal(row2.Ciphertext, row1.Ciphertext) || row2.Name != "after" || row2.Status != credential.StatusDisabled {
			t.Fatal("a refused PATCH changed the row")
		}

		// data replaces the secret, validated against the credential's type.
		nd := map[string]any{"api_key": vaultSecret(tag, "api_key", "replaced"), "prefix": "Token "}
		r = patch(map[string]any{"data": nd})
		wantOK(t, r, http.StatusOK, nil)
		noDataKey(t, "PATCH data", r.Envelope.Data)
		noSecret(t, "PATCH data", r.Body, secretsIn(nd))
		row3 := credRow(t, e, c.ID)
		if bytes.Equal(row3.Ciphertext, row2.Ciphertext) || row3.Name != "after" {
			t.Fatal("PATCH data did not re-seal the secret, or changed the name")
		}
		got = readCreds(t, e, o.AccessToken, integ)
		if !sameJSON(got.Credentials[0].Data, nd) {
			t.Fatal("the replaced secret does not read back as sent (old fields must be gone)")
		}
		noSecret(t, "GET after PATCH data", e.Get(credPath(integ), o.AccessToken).Body, secretsIn(old))
		ups = auditEntries(t, e, o.TenantID, "credential.update", c.ID.String())
		if len(ups) != 2 || !sameJSON(ups[1].Details["fields"], []any{"data"}) {
			t.Fatalf("credential.update entries after PATCH data: %d", len(ups))
		}

		// GraphQL updateCredential: the same rules.
		g := e.GraphQL(`mutation($i: String!, $id: ID!, $in: UpdateCredentialInput!) { updateCredential(integrationID: $i, id: $id, input: $in) { id name status } }`,
			map[string]any{"i": integ, "id": c.ID, "in": map[string]any{"name": "gql", "status": "active", "data": map[string]any{"api_key": "gql-key"}}}, o.AccessToken)
		if len(g.Errors) > 0 {
			t.Fatalf("GraphQL updateCredential: %s", showGQL(g))
		}
		if !strings.Contains(string(g.Data), `"name":"gql"`) || !strings.Contains(string(g.Data), `"status":"active"`) {
			t.Fatal("GraphQL updateCredential did not answer the new name and status")
		}
		if got := readCreds(t, e, o.AccessToken, integ); !sameJSON(got.Credentials[0].Data, map[string]any{"api_key": "gql-key"}) {
			t.Fatal("GraphQL updateCredential data does not read back")
		}
		g = e.GraphQL(`mutation($i: String!, $id: ID!) { updateCredential(integrationID: $i, id: $id, input: {data: {token: "x"}}) { id } }`,
			map[string]any{"i": integ, "id": c.ID}, o.AccessToken)
		wantGQLError(t, g, "VALIDATION_ERROR", "field", "data.api_key", "reason", "required")
	})
}

func TestCredentialDelete(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Delete")
		member := o.user(t, "member")
		tag := randTag()
		integ := "del-" + tag
		d1, d2 := secretData("oauth2_bearer", tag+"1", true), secretData("oauth2_bearer", tag+"2", true)
		c1 := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "auth_type": "oauth2_bearer", "data": d1})
		c2 := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "auth_type": "oauth2_bearer", "data": d2})
		ct1 := credRow(t, e, c1.ID).Ciphertext

		r := do(e, http.MethodDelete, credPath(integ, c1.ID.String()), member.AccessToken, nil)
		wantOK(t, r, http.StatusOK, nil)
		var del struct {
			ID      uuid.UUID `json:"id"`
			Deleted bool      `json:"deleted"`
		}
		r.Data(t, &del)
		if del.ID != c1.ID || !del.Deleted {
			t.Fatalf("DELETE answered id %s deleted %v", del.ID, del.Deleted)
		}
		if credRow(t, e, c1.ID) != nil {
			t.Fatal("the deleted credential's row is still there")
		}
		// Its ciphertext is nowhere in the database.
		found, _ := scanDB(t, e, []string{string(ct1)})
		if len(found[string(ct1)]) > 0 {
			t.Fatalf("the deleted ciphertext lingers in %v", found[string(ct1)])
		}
		dels := auditEntries(t, e, o.TenantID, "credential.delete", "")
		if len(dels) != 1 || dels[0].ResourceID != c1.ID.String() || dels[0].ActorID != member.UserID.String() ||
			dels[0].Outcome != auditlog.OutcomeSuccess || dels[0].Details["integration_id"] != integ {
			t.Fatalf("credential.delete entries: %d", len(dels))
		}
		got := readCreds(t, e, o.AccessToken, integ)
		if len(got.Credentials) != 1 || got.Credentials[0].ID != c2.ID || !sameJSON(got.Credentials[0].Data, d2) {
			t.Fatalf("after the delete the integration holds %d credentials, want the other one", len(got.Credentials))
		}
		// Twice: 404.
		wantError(t, do(e, http.MethodDelete, credPath(integ, c1.ID.String()), o.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")

		// GraphQL deleteCredential of the last one: the integration is gone.
		g := e.GraphQL(`mutation($i: String!, $id: ID!) { deleteCredential(integrationID: $i, id: $id) }`,
			map[string]any{"i": integ, "id": c2.ID}, o.AccessToken)
		if len(g.Errors) > 0 || !strings.Contains(string(g.Data), c2.ID.String()) {
			t.Fatalf("GraphQL deleteCredential: %s", showGQL(g))
		}
		if credRow(t, e, c2.ID) != nil {
			t.Fatal("the credential deleted over GraphQL is still there")
		}
		wantError(t, e.Get(credPath(integ), o.AccessToken), http.StatusNotFound, "NOT_FOUND")
		wantError(t, e.Get(credPath(integ, "details"), o.AccessToken), http.StatusNotFound, "NOT_FOUND")
		if n := len(auditEntries(t, e, o.TenantID, "credential.delete", "")); n != 2 {
			t.Fatalf("%d credential.delete entries, want 2", n)
		}
		// A viewer may not delete.
		viewer := o.user(t, "viewer")
		c3 := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": integ, "auth_type": "bearer_token", "data": map[string]any{"token": "t"}})
		wantError(t, do(e, http.MethodDelete, credPath(integ, c3.ID.String()), viewer.AccessToken, nil), http.StatusForbidden, "FORBIDDEN",
			"required_scope", "credentials:write")
		if credRow(t, e, c3.ID) == nil {
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
		o := register(t, e, "Slash")
		for _, integ := range []string{"github/acme", "a?b", "a#b", "a%2Fb"} {
			r := do(e, http.MethodPost, "/api/v1/credentials", o.AccessToken, map[string]any{
				"integration_id": integ, "auth_type": "api_key", "data": secretData("api_key", randTag(), true)})
			if r.Status != http.StatusUnprocessableEntity || r.Envelope.Error == nil || r.Envelope.Error.Details["field"] != "integration_id" {
				t.Fatalf("integration_id %q: %d %s", integ, r.Status, r.Body)
			}
		}
	})
}

package apitest_test

// API keys over real HTTP, on SQLite and on PostgreSQL: the header forms,
// the key shown once and stored as a hash, validation, rotation with and
// without a grace period, revocation, expiry, IP allowlists, the scope
// ceiling, tenant isolation, list paging, REST/GraphQL parity, the batched
// last_used_at and the /admin aliases.
//
// The shared helpers are the kit's (kit_test.go); those here are the API
// keys' own. Secrets never reach a failure message: bodies are printed
// through redact, and key strings are never formatted into messages.

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

// ---------------------------------------------------------------------------
// Harness

// ---------------------------------------------------------------------------
// Requests and assertions

// ---------------------------------------------------------------------------
// Resources

func getKey(t *testing.T, e *apitest.Env, cred string, id uuid.UUID) apiKeyJSON {
	t.Helper()
	r := do(e, http.MethodGet, "/api/v1/api-keys/"+id.String(), cred, nil)
	wantOK(t, r, http.StatusOK, nil)
	var k apiKeyJSON
	dataOf(t, r, &k)
	if k.Key != "" {
		t.Fatal("GET shows the key secret")
	}
	return k
}

func rotateKey(t *testing.T, e *apitest.Env, cred string, id uuid.UUID, body any) apiKeyJSON {
	t.Helper()
	r := do(e, http.MethodPost, "/api/v1/api-keys/"+id.String()+"/rotate", cred, body)
	wantOK(t, r, http.StatusOK, nil)
	var k apiKeyJSON
	dataOf(t, r, &k)
	checkIssued(t, k)
	if k.ID != id {
		t.Fatalf("rotation changed the key id to %v", k.ID)
	}
	return k
}

func revokeKey(t *testing.T, e *apitest.Env, cred string, id uuid.UUID) apiKeyJSON {
	t.Helper()
	r := do(e, http.MethodDelete, "/api/v1/api-keys/"+id.String(), cred, nil)
	wantOK(t, r, http.StatusOK, nil)
	var k apiKeyJSON
	dataOf(t, r, &k)
	if k.Status != "revoked" || k.RevokedAt == nil || k.Key != "" {
		t.Fatalf("revoke answered status %q revoked_at %v (key shown: %v)", k.Status, k.RevokedAt, k.Key != "")
	}
	return k
}

// keyWorks checks that key authenticates, as key id.
func keyWorks(t *testing.T, e *apitest.Env, key string, id uuid.UUID) {
	t.Helper()
	r := whoami(e, key)
	wantOK(t, r, http.StatusOK, nil)
	var me meJSON
	dataOf(t, r, &me)
	if me.APIKeyID == nil || *me.APIKeyID != id.String() {
		t.Fatalf("authenticated as api_key_id %v, want %v", me.APIKeyID, id)
	}
}

type validationJSON struct {
	Valid     bool       `json:"valid"`
	Reason    *string    `json:"reason"`
	KeyID     uuid.UUID  `json:"key_id"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

func validateKey(t *testing.T, e *apitest.Env, cred string, id uuid.UUID, key string) validationJSON {
	t.Helper()
	r := do(e, http.MethodPost, "/api/v1/api-keys/"+id.String()+"/validate", cred, map[string]any{"key": key})
	wantOK(t, r, http.StatusOK, nil)
	var v validationJSON
	dataOf(t, r, &v)
	if v.KeyID != id {
		t.Fatalf("validation key_id %v, want %v", v.KeyID, id)
	}
	return v
}

// wantInvalid checks a validation that refused the key for reason.
func wantInvalid(t *testing.T, v validationJSON, reason string) {
	t.Helper()
	if v.Valid || v.Reason == nil || *v.Reason != reason {
		got := "<none>"
		if v.Reason != nil {
			got = *v.Reason
		}
		t.Fatalf("validation valid=%v reason=%s, want valid=false reason=%s", v.Valid, got, reason)
	}
}

func dbKey(t *testing.T, e *apitest.Env, id uuid.UUID) *ent.APIKey {
	t.Helper()
	k, err := e.Store.Client.APIKey.Get(unrestricted(), id)
	if err != nil {
		t.Fatalf("load key %v: %v", id, err)
	}
	return k
}

// keyHasPrevious reports whether a rotated-out secret is stored. (ent loads
// a NULL nillable bytes column as a pointer to a nil slice.)
func keyHasPrevious(k *ent.APIKey) bool {
	return k.PreviousKeyHash != nil && len(*k.PreviousKeyHash) > 0
}

func keyCount(t *testing.T, e *apitest.Env, tenantID uuid.UUID) int {
	t.Helper()
	n, err := e.Store.Client.APIKey.Query().Where(apikey.TenantID(tenantID)).Count(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listKeys gets a list page and returns its items and meta.pagination.
func listKeys(t *testing.T, e *apitest.Env, cred, path string) ([]apiKeyJSON, map[string]any) {
	t.Helper()
	var items []apiKeyJSON
	page := listPage(t, e, cred, path, &items)
	for _, k := range items {
		if k.Key != "" {
			t.Fatal("a list shows a key secret")
		}
	}
	return items, page
}

func keyIDs(ks []apiKeyJSON) []uuid.UUID {
	out := make([]uuid.UUID, len(ks))
	for i, k := range ks {
		out[i] = k.ID
	}
	return out
}

func keyNames(ks []apiKeyJSON) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.Name
	}
	return out
}

// ---------------------------------------------------------------------------
// 1. Header forms and the principal

func TestAPIKeyHeaderFormsAuthenticate(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		scopes := []string{"audit:read", "api_keys:read"}
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "forms", "scopes": scopes})
		forms := func(key string) map[string]map[string]string {
			return map[string]map[string]string{
				"X-API-Key":               {"X-API-Key": key},
				"Authorization: ApiKey":   {"Authorization": "ApiKey " + key},
				"Authorization: Bearer":   {"Authorization": "Bearer " + key},
				"lower-case apikey":       {"Authorization": "apikey " + key},
				"X-API-Key with spaces":   {"X-API-Key": "  " + key + " "},
				"lower-case x-api-key":    {"x-api-key": key},
				"Authorization: BEARER":   {"Authorization": "BEARER " + key},
				"Authorization: ApiKey  ": {"Authorization": "ApiKey   " + key},
			}
		}
		for name, hdr := range forms(k.Key) {
			r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: hdr})
			if r.Status != http.StatusOK {
				t.Fatalf("%s: status %d: %s", name, r.Status, redact(r.Body))
			}
			var me meJSON
			dataOf(t, r, &me)
			if me.PrincipalType != "api_key" || me.ID != k.ID.String() || me.APIKeyID == nil || *me.APIKeyID != k.ID.String() {
				t.Fatalf("%s: principal %s id %v api_key_id %v, want api_key %v", name, me.PrincipalType, me.ID, me.APIKeyID, k.ID)
			}
			if !slices.Equal(sorted(me.Scopes), sorted(scopes)) {
				t.Fatalf("%s: scopes %v, want %v", name, me.Scopes, scopes)
			}
			if me.Tenant.ID != ten.TenantID.String() || me.Tenant.Slug == "" || me.User != nil || me.ClientID != nil {
				t.Fatalf("%s: tenant %v slug %q user %v client %v", name, me.Tenant.ID, me.Tenant.Slug, me.User, me.ClientID)
			}
		}

		// GraphQL reads the same principal from the same headers.
		g := e.GraphQL(`query { me { principalType id apiKeyID scopes tenant { id } } }`, nil, k.Key)
		var gme struct {
			Me struct {
				PrincipalType string
				ID            uuid.UUID
				APIKeyID      *uuid.UUID
				Scopes        []string
				Tenant        struct{ ID uuid.UUID }
			}
		}
		g.Decode(t, &gme)
		if gme.Me.PrincipalType != "api_key" || gme.Me.ID != k.ID || gme.Me.APIKeyID == nil || *gme.Me.APIKeyID != k.ID ||
			gme.Me.Tenant.ID != ten.TenantID || !slices.Equal(sorted(gme.Me.Scopes), sorted(scopes)) {
			t.Fatalf("GraphQL me = %+v", gme.Me)
		}

		// A service account's key authenticates as the account.
		r := do(e, http.MethodPost, "/api/v1/admin/service-account/create", ten.AccessToken, map[string]any{
			"name": "ci-bot", "scopes": []string{"credentials:read", "api_keys:read"}, "create_api_key": true})
		wantOK(t, r, http.StatusCreated, nil)
		var created struct {
			ServiceAccount struct {
				ID     uuid.UUID
				Scopes []string
			} `json:"service_account"`
			APIKey *apiKeyJSON `json:"api_key"`
		}
		dataOf(t, r, &created)
		if created.APIKey == nil {
			t.Fatal("create_api_key: true returned no api_key")
		}
		sak := *created.APIKey
		checkIssued(t, sak)
		if sak.ServiceAccountID == nil || *sak.ServiceAccountID != created.ServiceAccount.ID || sak.UserID != nil {
			t.Fatalf("service account key owned by account %v user %v, want account %v", sak.ServiceAccountID, sak.UserID, created.ServiceAccount.ID)
		}
		for name, hdr := range forms(sak.Key) {
			r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: hdr})
			if r.Status != http.StatusOK {
				t.Fatalf("service account, %s: status %d: %s", name, r.Status, redact(r.Body))
			}
			var me meJSON
			dataOf(t, r, &me)
			if me.PrincipalType != "service_account" || me.ID != created.ServiceAccount.ID.String() ||
				me.APIKeyID == nil || *me.APIKeyID != sak.ID.String() || me.Tenant.ID != ten.TenantID.String() {
				t.Fatalf("service account, %s: principal %s id %v api_key_id %v, want service_account %v key %v",
					name, me.PrincipalType, me.ID, me.APIKeyID, created.ServiceAccount.ID, sak.ID)
			}
			if !slices.Equal(sorted(me.Scopes), sorted(created.ServiceAccount.Scopes)) {
				t.Fatalf("service account, %s: scopes %v, want %v", name, me.Scopes, created.ServiceAccount.Scopes)
			}
		}

		// x-tenantid must name the key's own tenant.
		own := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me",
			Header: map[string]string{"X-API-Key": k.Key, "x-tenantid": ten.TenantID.String()}})
		wantOK(t, own, http.StatusOK, nil)
		for _, tid := range []string{uuid.NewString(), created.ServiceAccount.ID.String(), "not-a-tenant"} {
			r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: map[string]string{"X-API-Key": k.Key, "x-tenantid": tid}})
			wantError(t, r, http.StatusForbidden, "TENANT_MISMATCH")
		}

		// Refusals, with the reason.
		wantUnauthorized(t, e.Get("/api/v1/auth/me", ""), "missing")
		unknown := "cvk_" + strings.Repeat("A1b2", 11)
		for name, hdr := range forms(unknown) {
			r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: hdr})
			if r.Status != http.StatusUnauthorized || r.Envelope.Error.Details["reason"] != "invalid" {
				t.Fatalf("unknown key, %s: %d %s", name, r.Status, redact(r.Body))
			}
		}
		for name, hdr := range map[string]map[string]string{
			"ApiKey without key":  {"Authorization": "ApiKey"},
			"Basic scheme":        {"Authorization": "Basic " + k.Key},
			"key without scheme":  {"Authorization": k.Key},
			"X-API-Key not a key": {"X-API-Key": "hello"},
			"truncated key":       {"X-API-Key": k.Key[:20]},
			"key with a tail":     {"X-API-Key": k.Key + "x"},
		} {
			r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: hdr})
			if r.Status != http.StatusUnauthorized || r.ErrorCode() != "UNAUTHORIZED" {
				t.Fatalf("%s: %d %s", name, r.Status, redact(r.Body))
			}
			if reason := r.Envelope.Error.Details["reason"]; reason != "malformed" && reason != "invalid" {
				t.Fatalf("%s: reason %v, want malformed or invalid", name, reason)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// 2. Shown once, stored as a hash

// scanForKeys reads every column of every row of every table and fails
// when one holds any of the secrets (whole, or the part after cvk_).
func scanForKeys(t *testing.T, e *apitest.Env, secrets ...string) {
	t.Helper()
	var needles []string
	for _, s := range secrets {
		needles = append(needles, s, strings.TrimPrefix(s, "cvk_"))
	}
	found, rowsPer := scanDB(t, e, needles)
	for _, where := range found {
		for _, w := range where {
			t.Errorf("%s holds a key secret", w)
		}
	}
	if len(rowsPer) == 0 {
		t.Fatal("scanned no row at all")
	}
}

func TestAPIKeyIsShownOnceAndStoredAsAHash(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		r := do(e, http.MethodPost, "/api/v1/api-keys", ten.AccessToken, map[string]any{"name": "  shown once  ", "scopes": []string{"api_keys:read"}})
		wantOK(t, r, http.StatusCreated, nil)
		if r.Envelope.Message == "" || r.Envelope.Meta.RequestID == "" || r.Envelope.Timestamp == "" {
			t.Fatalf("create envelope lacks message, request id or timestamp: %s", redact(r.Body))
		}
		var k apiKeyJSON
		dataOf(t, r, &k)
		checkIssued(t, k)
		if k.Name != "shown once" || k.Status != "active" || k.TenantID != ten.TenantID ||
			!slices.Equal(k.Scopes, []string{"api_keys:read"}) || k.UserID == nil || *k.UserID != ten.UserID ||
			k.ExpiresAt != nil || k.LastUsedAt != nil || k.RevokedAt != nil || k.ServiceAccountID != nil {
			t.Fatalf("created key: name %q status %q tenant %v scopes %v user %v expires %v last used %v revoked %v account %v",
				k.Name, k.Status, k.TenantID, k.Scopes, k.UserID, k.ExpiresAt, k.LastUsedAt, k.RevokedAt, k.ServiceAccountID)
		}
		secretPart := strings.TrimPrefix(k.Key, "cvk_")

		// Never again: not in GET, not in either list, not in GraphQL.
		for _, path := range []string{"/api/v1/api-keys/" + k.ID.String(), "/api/v1/api-keys", "/api/v1/admin/api-keys"} {
			r := do(e, http.MethodGet, path, ten.AccessToken, nil)
			wantOK(t, r, http.StatusOK, nil)
			if strings.Contains(string(r.Body), secretPart) {
				t.Fatalf("GET %s shows the key secret", path)
			}
			if strings.Contains(string(r.Envelope.Data), `"key"`) {
				t.Fatalf("GET %s has a key field: %s", path, redact(r.Body))
			}
			if !strings.Contains(string(r.Body), k.Prefix) {
				t.Fatalf("GET %s does not show the prefix", path)
			}
		}
		got := getKey(t, e, ten.AccessToken, k.ID)
		if got.Prefix != k.Prefix || got.Name != k.Name || got.ID != k.ID {
			t.Fatalf("GET shows prefix %q name %q", got.Prefix, got.Name)
		}
		g := e.GraphQL(`query($id: ID!) { apiKey(id: $id) { key } }`, map[string]any{"id": k.ID}, ten.AccessToken)
		if g.Code() != "VALIDATION_ERROR" || strings.Contains(string(g.Data), secretPart) {
			t.Fatalf("GraphQL apiKey { key }: code %q, want a validation error (no such field)", g.Code())
		}

		// The database holds the SHA-256 of the key, never the key.
		row := dbKey(t, e, k.ID)
		if sum := sha256.Sum256([]byte(k.Key)); !slices.Equal(row.KeyHash, sum[:]) {
			t.Fatal("key_hash is not the SHA-256 of the key")
		}
		if row.Prefix != k.Prefix {
			t.Fatalf("stored prefix %q, want %q", row.Prefix, k.Prefix)
		}
		rotated := rotateKey(t, e, ten.AccessToken, k.ID, map[string]any{"grace_period_seconds": 60})
		if strings.Contains(string(do(e, http.MethodGet, "/api/v1/api-keys/"+k.ID.String(), ten.AccessToken, nil).Body),
			strings.TrimPrefix(rotated.Key, "cvk_")) {
			t.Fatal("GET shows the rotated key secret")
		}
		// Use both, refuse one of each kind, validate: everything that
		// writes rows (audit entries included) has run.
		keyWorks(t, e, k.Key, k.ID)
		keyWorks(t, e, rotated.Key, k.ID)
		validateKey(t, e, ten.AccessToken, k.ID, rotated.Key)
		validateKey(t, e, ten.AccessToken, k.ID, k.Key)
		other := createKey(t, e, ten.AccessToken, map[string]any{"name": "other"})
		revokeKey(t, e, ten.AccessToken, other.ID)
		wantUnauthorized(t, whoami(e, other.Key), "revoked")
		scanForKeys(t, e, k.Key, rotated.Key, other.Key)
		if len(auditEntries(t, e, ten.TenantID, "api_key.create", k.ID.String())) != 1 {
			t.Fatal("no api_key.create audit entry")
		}
	})
}

// ---------------------------------------------------------------------------
// 3. Validate

func TestAPIKeyValidate(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		scopes := []string{"api_keys:read", "audit:read"}
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "checked", "scopes": scopes, "expires_at": exp})
		k2 := createKey(t, e, ten.AccessToken, map[string]any{"name": "another"})
		k3 := createKey(t, e, ten.AccessToken, map[string]any{"name": "revoked"})
		revokeKey(t, e, ten.AccessToken, k3.ID)

		// The right key.
		r := do(e, http.MethodPost, "/api/v1/api-keys/"+k.ID.String()+"/validate", ten.AccessToken, map[string]any{"key": k.Key})
		wantOK(t, r, http.StatusOK, nil)
		var raw map[string]any
		dataOf(t, r, &raw)
		if _, ok := raw["reason"]; ok {
			t.Fatalf("a valid key's validation carries a reason: %s", redact(r.Body))
		}
		var v validationJSON
		dataOf(t, r, &v)
		if !v.Valid || v.KeyID != k.ID || !slices.Equal(sorted(v.Scopes), sorted(scopes)) ||
			v.ExpiresAt == nil || !v.ExpiresAt.Equal(exp) {
			t.Fatalf("validation valid=%v key %v scopes %v expires %v; want valid, %v, %v, %v", v.Valid, v.KeyID, v.Scopes, v.ExpiresAt, k.ID, scopes, exp)
		}

		// A bad key is an answer, not an error.
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k.ID, k2.Key), "invalid")
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k.ID, "cvk_"+strings.Repeat("Zz9", 15)), "invalid")
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k.ID, "not-a-key"), "invalid")
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k.ID, ""), "invalid")
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k3.ID, k3.Key), "revoked")
		// A key with api_keys:read may validate.
		reader := createKey(t, e, ten.AccessToken, map[string]any{"name": "reader", "scopes": []string{"api_keys:read"}})
		if v := validateKey(t, e, reader.Key, k.ID, k.Key); !v.Valid {
			t.Fatal("validation by an api_keys:read key: not valid")
		}

		// Ids that are not the tenant's, and bodies that are wrong.
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys/"+uuid.NewString()+"/validate", ten.AccessToken, map[string]any{"key": k.Key}),
			http.StatusNotFound, "NOT_FOUND")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys/not-an-id/validate", ten.AccessToken, map[string]any{"key": k.Key}),
			http.StatusNotFound, "NOT_FOUND")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys/"+k.ID.String()+"/validate", ten.AccessToken, map[string]any{"key": k.Key, "extra": 1}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "extra")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys/"+k.ID.String()+"/validate", ten.AccessToken, map[string]any{"key": 12}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "key")
		auditOnly := createKey(t, e, ten.AccessToken, map[string]any{"name": "auditor", "scopes": []string{"audit:read"}})
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys/"+k.ID.String()+"/validate", auditOnly.Key, map[string]any{"key": k.Key}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "api_keys:read")

		// Each validation of k is audited, with its outcome; identical ones
		// within a flush interval are tallied in one row.
		entries := expandTallies(auditEntries(t, e, ten.TenantID, "api_key.validate", k.ID.String()))
		var outcomes []string
		for _, a := range entries {
			outcomes = append(outcomes, string(a.Outcome))
			if a.ActorType == "" || a.RequestID == "" || a.ResourceType != "api_key" {
				t.Fatalf("validate entry: actor %q request %q resource type %q", a.ActorType, a.RequestID, a.ResourceType)
			}
		}
		want := []string{"success", "failure", "failure", "failure", "failure", "success"}
		if !slices.Equal(outcomes, want) {
			t.Fatalf("api_key.validate outcomes %v, want %v", outcomes, want)
		}
		if entries[1].Details["reason"] != "invalid" || entries[0].ActorID != ten.UserID.String() || entries[5].ActorID != reader.ID.String() {
			t.Fatalf("validate entries: reason %v, actors %q %q", entries[1].Details["reason"], entries[0].ActorID, entries[5].ActorID)
		}
		if n := len(auditEntries(t, e, ten.TenantID, "api_key.validate", k3.ID.String())); n != 1 {
			t.Fatalf("%d validate entries for the revoked key, want 1", n)
		}

		// GraphQL gives the same answers.
		const q = `mutation($id: ID!, $key: String!) { validateAPIKey(id: $id, key: $key) { valid reason keyID scopes expiresAt } }`
		for _, tc := range []struct {
			key    string
			valid  bool
			reason string
		}{{k.Key, true, ""}, {k2.Key, false, "invalid"}} {
			var gv struct {
				ValidateAPIKey struct {
					Valid     bool
					Reason    *string
					KeyID     uuid.UUID
					Scopes    []string
					ExpiresAt *time.Time
				}
			}
			e.GraphQL(q, map[string]any{"id": k.ID, "key": tc.key}, ten.AccessToken).Decode(t, &gv)
			got := gv.ValidateAPIKey
			reason := ""
			if got.Reason != nil {
				reason = *got.Reason
			}
			if got.Valid != tc.valid || reason != tc.reason || got.KeyID != k.ID || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) ||
				!slices.Equal(sorted(got.Scopes), sorted(scopes)) {
				t.Fatalf("GraphQL validation valid=%v reason=%q key %v; want valid=%v reason=%q", got.Valid, reason, got.KeyID, tc.valid, tc.reason)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// 4. Rotation

func TestAPIKeyRotationWithoutGrace(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "rotating", "scopes": []string{"api_keys:read"}})
		keyWorks(t, e, k.Key, k.ID) // in the verifier's cache now

		// No body at all: the defaults, no grace.
		r := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/api-keys/" + k.ID.String() + "/rotate", Bearer: ten.AccessToken})
		if r.Status != http.StatusOK {
			t.Fatalf("rotate: status %d, want 200 (not 201): %s", r.Status, redact(r.Body))
		}
		var n apiKeyJSON
		dataOf(t, r, &n)
		checkIssued(t, n)
		if n.ID != k.ID || n.Key == k.Key || n.Status != "active" || n.Name != k.Name || !slices.Equal(n.Scopes, k.Scopes) {
			t.Fatalf("rotated: id %v status %q name %q scopes %v (same secret: %v)", n.ID, n.Status, n.Name, n.Scopes, n.Key == k.Key)
		}
		wantUnauthorized(t, whoami(e, k.Key), "revoked", "invalid")
		keyWorks(t, e, n.Key, k.ID)
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k.ID, k.Key), "invalid")
		if v := validateKey(t, e, ten.AccessToken, k.ID, n.Key); !v.Valid {
			t.Fatal("the new key does not validate")
		}
		row := dbKey(t, e, k.ID)
		if sum := sha256.Sum256([]byte(n.Key)); !slices.Equal(row.KeyHash, sum[:]) || keyHasPrevious(row) ||
			row.PreviousKeyExpiresAt != nil || row.Prefix != n.Prefix {
			t.Fatalf("stored after rotation: previous hash kept %v, previous expiry %v, prefix %q", keyHasPrevious(row), row.PreviousKeyExpiresAt, row.Prefix)
		}
		if got := getKey(t, e, ten.AccessToken, k.ID); got.Prefix != n.Prefix {
			t.Fatalf("GET after rotation shows prefix %q, want %q", got.Prefix, n.Prefix)
		}
		entries := auditEntries(t, e, ten.TenantID, "api_key.rotate", k.ID.String())
		if len(entries) != 1 || entries[0].Outcome != auditlog.OutcomeSuccess || entries[0].Details["prefix"] != n.Prefix ||
			fmt.Sprint(entries[0].Details["grace_period_seconds"]) != "0" {
			t.Fatalf("api_key.rotate entries: %d", len(entries))
		}

		// An explicit 0 is no grace too.
		n2 := rotateKey(t, e, ten.AccessToken, k.ID, map[string]any{"grace_period_seconds": 0})
		wantUnauthorized(t, whoami(e, n.Key), "revoked", "invalid")
		keyWorks(t, e, n2.Key, k.ID)

		// Rotating during a grace period ends the older secret: only the newest works.
		withGrace := rotateKey(t, e, ten.AccessToken, k.ID, map[string]any{"grace_period_seconds": 3600})
		keyWorks(t, e, n2.Key, k.ID)
		keyWorks(t, e, withGrace.Key, k.ID)
		newest := rotateKey(t, e, ten.AccessToken, k.ID, nil)
		wantUnauthorized(t, whoami(e, n2.Key), "revoked", "invalid")
		wantUnauthorized(t, whoami(e, withGrace.Key), "revoked", "invalid")
		keyWorks(t, e, newest.Key, k.ID)

		// Wrong input, unknown and revoked keys.
		path := "/api/v1/api-keys/" + k.ID.String() + "/rotate"
		for _, body := range []map[string]any{{"grace_period_seconds": -1}, {"grace_period_seconds": 30*24*3600 + 1}} {
			wantError(t, do(e, http.MethodPost, path, ten.AccessToken, body), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "grace_period_seconds")
		}
		wantError(t, do(e, http.MethodPost, path, ten.AccessToken, map[string]any{"grace_period_seconds": "soon"}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "grace_period_seconds")
		wantError(t, do(e, http.MethodPost, path, ten.AccessToken, map[string]any{"grace": 5}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "grace")
		keyWorks(t, e, newest.Key, k.ID) // refused rotations changed nothing
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys/"+uuid.NewString()+"/rotate", ten.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")

		dead := createKey(t, e, ten.AccessToken, map[string]any{"name": "dead"})
		revokeKey(t, e, ten.AccessToken, dead.ID)
		before := dbKey(t, e, dead.ID)
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys/"+dead.ID.String()+"/rotate", ten.AccessToken, nil), http.StatusConflict, "CONFLICT")
		if after := dbKey(t, e, dead.ID); !slices.Equal(after.KeyHash, before.KeyHash) || after.Status != apikey.StatusRevoked {
			t.Fatal("a refused rotation of a revoked key changed it")
		}
		wantUnauthorized(t, whoami(e, dead.Key), "revoked")

		// GraphQL refuses a negative grace with the same code.
		g := e.GraphQL(`mutation($id: ID!) { rotateAPIKey(id: $id, input: {gracePeriodSeconds: -5}) { key } }`, map[string]any{"id": k.ID}, ten.AccessToken)
		if g.Code() != "VALIDATION_ERROR" {
			t.Fatalf("GraphQL negative grace: code %q", g.Code())
		}
	})
}

func TestAPIKeyRotationWithGrace(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "graceful"})
		keyWorks(t, e, k.Key, k.ID)
		start := time.Now()
		n := rotateKey(t, e, ten.AccessToken, k.ID, map[string]any{"grace_period_seconds": 2})
		// Both work right after.
		keyWorks(t, e, k.Key, k.ID)
		keyWorks(t, e, n.Key, k.ID)
		if v := validateKey(t, e, ten.AccessToken, k.ID, k.Key); !v.Valid {
			t.Fatal("the old key does not validate during its grace period")
		}
		row := dbKey(t, e, k.ID)
		if row.PreviousKeyExpiresAt == nil {
			t.Fatal("no end of grace stored")
		}
		if d := row.PreviousKeyExpiresAt.Sub(start); d < 1500*time.Millisecond || d > 3*time.Second {
			t.Fatalf("grace ends %v after the rotation, want about 2 s", d)
		}
		if sum := sha256.Sum256([]byte(k.Key)); row.PreviousKeyHash == nil || !slices.Equal(*row.PreviousKeyHash, sum[:]) {
			t.Fatal("previous_key_hash is not the old key's hash")
		}

		// After the grace the old one is refused, the new one is not.
		var last *apitest.Response
		eventually(t, 5*time.Second, "old key refused after its 2 s grace", func() (bool, string) {
			last = whoami(e, k.Key)
			return last.Status == http.StatusUnauthorized, fmt.Sprint(last.Status)
		})
		if elapsed := time.Since(start); elapsed < 1900*time.Millisecond {
			t.Fatalf("old key refused %v after the rotation, before its 2 s grace ended", elapsed)
		}
		wantUnauthorized(t, last, "revoked")
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k.ID, k.Key), "revoked")
		keyWorks(t, e, n.Key, k.ID)
		entries := auditEntries(t, e, ten.TenantID, "api_key.rotate", k.ID.String())
		if len(entries) != 1 || fmt.Sprint(entries[0].Details["grace_period_seconds"]) != "2" {
			t.Fatalf("api_key.rotate entries: %d", len(entries))
		}
	})
}

// ---------------------------------------------------------------------------
// 5. Revocation

func TestAPIKeyRevocation(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "doomed", "scopes": []string{"api_keys:read"}})
		keyWorks(t, e, k.Key, k.ID) // cached
		r := do(e, http.MethodDelete, "/api/v1/api-keys/"+k.ID.String(), ten.AccessToken, nil)
		wantOK(t, r, http.StatusOK, nil)
		var got apiKeyJSON
		dataOf(t, r, &got)
		if got.ID != k.ID || got.Status != "revoked" || got.RevokedAt == nil || got.Key != "" {
			t.Fatalf("revoke answered id %v status %q revoked_at %v", got.ID, got.Status, got.RevokedAt)
		}
		// At once: no polling.
		wantUnauthorized(t, whoami(e, k.Key), "revoked")
		wantUnauthorized(t, e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: map[string]string{"Authorization": "ApiKey " + k.Key}}), "revoked")
		g := e.GraphQL(`query { me { id } }`, nil, k.Key)
		if g.Status != http.StatusUnauthorized || g.Code() != "UNAUTHORIZED" {
			t.Fatalf("GraphQL with a revoked key: %d %q", g.Status, g.Code())
		}
		if st := getKey(t, e, ten.AccessToken, k.ID); st.Status != "revoked" || st.RevokedAt == nil {
			t.Fatalf("GET after revoke: status %q revoked_at %v", st.Status, st.RevokedAt)
		}
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k.ID, k.Key), "revoked")
		row := dbKey(t, e, k.ID)
		if row.Status != apikey.StatusRevoked || row.RevokedAt == nil {
			t.Fatalf("stored status %s revoked_at %v", row.Status, row.RevokedAt)
		}
		entries := auditEntries(t, e, ten.TenantID, "api_key.revoke", k.ID.String())
		if len(entries) != 1 || entries[0].Outcome != auditlog.OutcomeSuccess || entries[0].ActorType != "user" ||
			entries[0].ActorID != ten.UserID.String() || entries[0].ResourceType != "api_key" {
			t.Fatalf("api_key.revoke entries: %d", len(entries))
		}
		// Refusals are tallied: identical ones within a flush share a row with a count.
		refusals := expandTallies(auditEntries(t, e, ten.TenantID, "api_key.verify", k.ID.String()))
		if len(refusals) < 2 || refusals[0].Outcome != auditlog.OutcomeFailure || refusals[0].Details["reason"] != "revoked" {
			t.Fatalf("refused uses of the revoked key: %d api_key.verify entries", len(refusals))
		}

		// Revoking again is harmless and keeps the first revocation time.
		again := revokeKey(t, e, ten.AccessToken, k.ID)
		if !again.RevokedAt.Equal(*got.RevokedAt) {
			t.Fatalf("second revoke moved revoked_at from %v to %v", got.RevokedAt, again.RevokedAt)
		}
		wantError(t, do(e, http.MethodDelete, "/api/v1/api-keys/"+uuid.NewString(), ten.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")

		// Revoking a key in its grace period stops both secrets.
		g2 := createKey(t, e, ten.AccessToken, map[string]any{"name": "graced"})
		rot := rotateKey(t, e, ten.AccessToken, g2.ID, map[string]any{"grace_period_seconds": 3600})
		keyWorks(t, e, g2.Key, g2.ID)
		keyWorks(t, e, rot.Key, g2.ID)
		revokeKey(t, e, ten.AccessToken, g2.ID)
		wantUnauthorized(t, whoami(e, g2.Key), "revoked", "invalid")
		wantUnauthorized(t, whoami(e, rot.Key), "revoked")

		// A key with api_keys:write may revoke itself, and is then refused.
		self := createKey(t, e, ten.AccessToken, map[string]any{"name": "self", "scopes": []string{"api_keys:write"}})
		revokeKey(t, e, self.Key, self.ID)
		wantUnauthorized(t, whoami(e, self.Key), "revoked")
		if a := auditEntries(t, e, ten.TenantID, "api_key.revoke", self.ID.String()); len(a) != 1 || a[0].ActorType != "api_key" || a[0].ActorID != self.ID.String() {
			t.Fatal("self-revocation not audited with the key as actor")
		}

		// GraphQL revokeAPIKey: the same effect.
		gk := createKey(t, e, ten.AccessToken, map[string]any{"name": "graphql"})
		keyWorks(t, e, gk.Key, gk.ID)
		var gr struct {
			RevokeAPIKey struct {
				ID        uuid.UUID
				Status    string
				RevokedAt *time.Time
			}
		}
		e.GraphQL(`mutation($id: ID!) { revokeAPIKey(id: $id) { id status revokedAt } }`, map[string]any{"id": gk.ID}, ten.AccessToken).Decode(t, &gr)
		if gr.RevokeAPIKey.ID != gk.ID || gr.RevokeAPIKey.Status != "revoked" || gr.RevokeAPIKey.RevokedAt == nil {
			t.Fatalf("GraphQL revoke answered %+v", gr.RevokeAPIKey)
		}
		wantUnauthorized(t, whoami(e, gk.Key), "revoked")
	})
}

// ---------------------------------------------------------------------------
// 6. Expiry

func TestAPIKeyExpiry(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		before := keyCount(t, e, ten.TenantID)
		for name, exp := range map[string]any{
			"in the past": time.Now().Add(-time.Minute),
			"now":         time.Now(),
			"not a time":  "tomorrow",
			"a number":    1767225600,
		} {
			r := do(e, http.MethodPost, "/api/v1/api-keys", ten.AccessToken, map[string]any{"name": "x", "expires_at": exp})
			if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "VALIDATION_ERROR" || r.Envelope.Error.Details["field"] != "expires_at" {
				t.Fatalf("expires_at %s: %d %s", name, r.Status, redact(r.Body))
			}
		}
		if n := keyCount(t, e, ten.TenantID); n != before {
			t.Fatalf("refused creations stored %d keys", n-before)
		}

		exp := time.Now().Add(1500 * time.Millisecond)
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "short-lived", "expires_at": exp, "scopes": []string{"api_keys:read"}})
		if k.ExpiresAt == nil || k.ExpiresAt.Sub(exp).Abs() > time.Millisecond {
			t.Fatalf("expires_at %v, want %v", k.ExpiresAt, exp)
		}
		keyWorks(t, e, k.Key, k.ID)
		if v := validateKey(t, e, ten.AccessToken, k.ID, k.Key); !v.Valid {
			t.Fatal("key does not validate before its expiry")
		}
		var last *apitest.Response
		eventually(t, 6*time.Second, "key refused after its expiry", func() (bool, string) {
			last = whoami(e, k.Key)
			return last.Status == http.StatusUnauthorized, fmt.Sprint(last.Status)
		})
		if time.Now().Before(exp) {
			t.Fatal("key refused before its expiry")
		}
		wantUnauthorized(t, last, "expired")
		wantInvalid(t, validateKey(t, e, ten.AccessToken, k.ID, k.Key), "expired")
		if got := getKey(t, e, ten.AccessToken, k.ID); got.Status != "expired" {
			t.Fatalf("GET of an expired key: status %q", got.Status)
		}
		items, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?status=expired")
		if !slices.Equal(keyIDs(items), []uuid.UUID{k.ID}) {
			t.Fatalf("status=expired lists %v, want only %v", keyIDs(items), k.ID)
		}
		refusals := auditEntries(t, e, ten.TenantID, "api_key.verify", k.ID.String())
		if len(refusals) == 0 || refusals[0].Details["reason"] != "expired" {
			t.Fatal("refused use of the expired key not audited with reason expired")
		}
	})
}

// ---------------------------------------------------------------------------
// 7. IP allowlist

func TestAPIKeyIPAllowlist(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		elsewhere := createKey(t, e, ten.AccessToken, map[string]any{"name": "office", "ip_allowlist": []string{"10.0.0.0/8"}})
		if !slices.Equal(elsewhere.IPAllowlist, []string{"10.0.0.0/8"}) {
			t.Fatalf("ip_allowlist %v", elsewhere.IPAllowlist)
		}
		wantUnauthorized(t, whoami(e, elsewhere.Key), "ip_not_allowed")
		// X-Forwarded-For is not believed without trusted proxies.
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me",
			Header: map[string]string{"X-API-Key": elsewhere.Key, "X-Forwarded-For": "10.1.2.3", "X-Real-IP": "10.1.2.3"}})
		wantUnauthorized(t, r, "ip_not_allowed")
		wantInvalid(t, validateKey(t, e, ten.AccessToken, elsewhere.ID, elsewhere.Key), "ip_not_allowed")
		if a := auditEntries(t, e, ten.TenantID, "api_key.verify", elsewhere.ID.String()); len(a) == 0 || a[0].Details["reason"] != "ip_not_allowed" || a[0].IP != "127.0.0.1" {
			t.Fatal("refusal from outside the allowlist not audited with the reason and the client address")
		}

		here := createKey(t, e, ten.AccessToken, map[string]any{"name": "local", "ip_allowlist": []string{"127.0.0.1/32"}})
		keyWorks(t, e, here.Key, here.ID)
		if v := validateKey(t, e, ten.AccessToken, here.ID, here.Key); !v.Valid {
			t.Fatal("key allowed from 127.0.0.1 does not validate from there")
		}
		// Addresses and unmasked CIDRs are normalised.
		bare := createKey(t, e, ten.AccessToken, map[string]any{"name": "bare", "ip_allowlist": []string{" 127.0.0.1 ", "10.9.8.7/8", "2001:db8::1/32"}})
		if want := []string{"127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32"}; !slices.Equal(bare.IPAllowlist, want) {
			t.Fatalf("ip_allowlist %v, want %v", bare.IPAllowlist, want)
		}
		keyWorks(t, e, bare.Key, bare.ID)
		v6 := createKey(t, e, ten.AccessToken, map[string]any{"name": "v6", "ip_allowlist": []string{"::1/128"}})
		wantUnauthorized(t, whoami(e, v6.Key), "ip_not_allowed")

		before := keyCount(t, e, ten.TenantID)
		for _, bad := range [][]string{{"10.0.0.300/8"}, {"not-an-ip"}, {"10.0.0.0/33"}, {""}, {"127.0.0.1/32", "nope"}} {
			r := do(e, http.MethodPost, "/api/v1/api-keys", ten.AccessToken, map[string]any{"name": "bad", "ip_allowlist": bad})
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "ip_allowlist")
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", ten.AccessToken, map[string]any{"name": "bad", "ip_allowlist": "10.0.0.0/8"}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "ip_allowlist")
		if n := keyCount(t, e, ten.TenantID); n != before {
			t.Fatalf("refused creations stored %d keys", n-before)
		}
	})
}

// ---------------------------------------------------------------------------
// 8. Scope ceiling

func TestAPIKeyScopeCeiling(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		reader := createKey(t, e, ten.AccessToken, map[string]any{"name": "reader", "scopes": []string{"api_keys:read"}})
		writer := createKey(t, e, ten.AccessToken, map[string]any{"name": "writer", "scopes": []string{"api_keys:write", "api_keys:read"}})
		before := keyCount(t, e, ten.TenantID)

		// Without api_keys:write nothing is written.
		for _, path := range []string{"/api/v1/api-keys", "/api/v1/admin/api-keys"} {
			wantError(t, do(e, http.MethodPost, path, reader.Key, map[string]any{"name": "more"}),
				http.StatusForbidden, "FORBIDDEN", "required_scope", "api_keys:write")
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys/"+writer.ID.String()+"/rotate", reader.Key, nil),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "api_keys:write")
		wantError(t, do(e, http.MethodDelete, "/api/v1/api-keys/"+writer.ID.String(), reader.Key, nil),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "api_keys:write")
		listKeys(t, e, reader.Key, "/api/v1/api-keys")
		denied := auditEntries(t, e, ten.TenantID, "permission.denied", "")
		if len(denied) != 4 || denied[0].Outcome != auditlog.OutcomeDenied || denied[0].ActorType != "api_key" ||
			denied[0].ActorID != reader.ID.String() || denied[0].Details["required_scope"] != "api_keys:write" {
			t.Fatalf("%d permission.denied entries, want 4 naming the key and the scope", len(denied))
		}

		// Unknown scopes (more scopes than the creator's: the next test).
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", ten.AccessToken, map[string]any{"name": "odd", "scopes": []string{"api_keys:admin"}}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "scopes")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", writer.Key, map[string]any{"name": "odd", "scopes": []string{"api_keys:read", "everything"}}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "scopes")
		if n := keyCount(t, e, ten.TenantID); n != before {
			t.Fatalf("refused creations stored %d keys", n-before)
		}

		// Within the ceiling: a subset, or by default the creator's own scopes.
		sub := createKey(t, e, writer.Key, map[string]any{"name": "sub", "scopes": []string{"api_keys:read"}})
		if !slices.Equal(sub.Scopes, []string{"api_keys:read"}) {
			t.Fatalf("subset key scopes %v", sub.Scopes)
		}
		keyWorks(t, e, sub.Key, sub.ID)
		def := createKey(t, e, writer.Key, map[string]any{"name": "default"})
		if !slices.Equal(sorted(def.Scopes), []string{"api_keys:read", "api_keys:write"}) {
			t.Fatalf("default scopes %v, want the creating key's", def.Scopes)
		}
		// A key a user's key creates belongs to that user.
		if def.UserID == nil || *def.UserID != ten.UserID {
			t.Fatalf("key created by a user's key belongs to user %v, want %v", def.UserID, ten.UserID)
		}
		r := whoami(e, def.Key)
		wantOK(t, r, http.StatusOK, nil)
		var me meJSON
		dataOf(t, r, &me)
		if !slices.Equal(sorted(me.Scopes), []string{"api_keys:read", "api_keys:write"}) {
			t.Fatalf("default-scoped key authenticates with %v", me.Scopes)
		}

		// A service account's key is capped by its own scopes too.
		rs := do(e, http.MethodPost, "/api/v1/admin/service-account/create", ten.AccessToken, map[string]any{
			"name": "deployer", "scopes": []string{"api_keys:read", "api_keys:write"}, "create_api_key": true})
		wantOK(t, rs, http.StatusCreated, nil)
		var sa struct {
			APIKey apiKeyJSON `json:"api_key"`
		}
		dataOf(t, rs, &sa)
		child := createKey(t, e, sa.APIKey.Key, map[string]any{"name": "child", "scopes": []string{"api_keys:read"}})
		if child.ServiceAccountID == nil || *child.ServiceAccountID != *sa.APIKey.ServiceAccountID || child.UserID != nil {
			t.Fatalf("key created by a service account's key belongs to account %v user %v", child.ServiceAccountID, child.UserID)
		}
	})
}

// Asking for more scopes than the creator holds is 403 FORBIDDEN naming the
// missing scope, audited, and stores nothing.
func TestAPIKeyScopeCeilingRefusesMoreThanTheCreatorHolds(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		if e.Store.Dialect == dialect.SQLite {
			// The denial is audited through a second connection while the
			// creating transaction holds SQLite's write lock: 10 s, then 500.
		}
		ten := register(t, e, "Acme")
		writer := createKey(t, e, ten.AccessToken, map[string]any{"name": "writer", "scopes": []string{"api_keys:write", "api_keys:read"}})
		before := keyCount(t, e, ten.TenantID)
		for _, scopes := range [][]string{{"credentials:decrypt"}, {"api_keys:read", "credentials:decrypt"}} {
			start := time.Now()
			wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", writer.Key, map[string]any{"name": "more", "scopes": scopes}),
				http.StatusForbidden, "FORBIDDEN", "required_scope", "credentials:decrypt")
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("the refusal took %v", d)
			}
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/api-keys", writer.Key, map[string]any{"name": "more", "scopes": []string{"audit:read"}}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "audit:read")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", ten.AccessToken, map[string]any{"name": "admin", "scopes": []string{"platform:admin"}}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "platform:admin")
		g := e.GraphQL(`mutation { createAPIKey(input: {name: "more", scopes: ["credentials:decrypt"]}) { key } }`, nil, writer.Key)
		if g.Code() != "FORBIDDEN" {
			t.Fatalf("GraphQL beyond the ceiling: code %q", g.Code())
		}
		rs := do(e, http.MethodPost, "/api/v1/admin/service-account/create", ten.AccessToken, map[string]any{
			"name": "deployer", "scopes": []string{"api_keys:read", "api_keys:write"}, "create_api_key": true})
		wantOK(t, rs, http.StatusCreated, nil)
		var sa struct {
			APIKey apiKeyJSON `json:"api_key"`
		}
		dataOf(t, rs, &sa)
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", sa.APIKey.Key, map[string]any{"name": "more", "scopes": []string{"credentials:read"}}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "credentials:read")
		if n := keyCount(t, e, ten.TenantID); n != before+1 {
			t.Fatalf("refused creations stored %d keys", n-before-1)
		}
		var scopes []string
		for _, a := range auditEntries(t, e, ten.TenantID, "permission.denied", "") {
			if a.Outcome != auditlog.OutcomeDenied {
				t.Fatalf("permission.denied entry with outcome %s", a.Outcome)
			}
			scopes = append(scopes, fmt.Sprint(a.Details["required_scope"]))
		}
		want := []string{"credentials:decrypt", "credentials:decrypt", "audit:read", "platform:admin", "credentials:decrypt", "credentials:read"}
		if !slices.Equal(scopes, want) {
			t.Fatalf("denials audited for %v, want %v", scopes, want)
		}
	})
}

// ---------------------------------------------------------------------------
// Creation input

func TestAPIKeyCreateValidation(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		before := keyCount(t, e, ten.TenantID)
		for _, tc := range []struct {
			body   map[string]any
			field  string
			reason string
		}{
			{map[string]any{}, "name", "required"},
			{map[string]any{"name": "   "}, "name", "required"},
			{map[string]any{"name": strings.Repeat("n", 201)}, "name", "too_long"},
			{map[string]any{"name": 5}, "name", ""},
			{map[string]any{"name": "x", "scopes": "api_keys:read"}, "scopes", ""},
			{map[string]any{"name": "x", "rate_limit": map[string]any{"requests": 0, "window_seconds": 60}}, "rate_limit.requests", ""},
			{map[string]any{"name": "x", "rate_limit": map[string]any{"requests": 10, "window_seconds": 0}}, "rate_limit.window_seconds", ""},
			{map[string]any{"name": "x", "service_account_id": uuid.NewString()}, "service_account_id", "unknown"},
			{map[string]any{"name": "x", "service_account_id": "nope"}, "service_account_id", ""},
			{map[string]any{"name": "x", "key": "cvk_chosen"}, "key", "unknown"},
			{map[string]any{"name": "x", "status": "revoked"}, "status", "unknown"},
		} {
			r := do(e, http.MethodPost, "/api/v1/api-keys", ten.AccessToken, tc.body)
			if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "VALIDATION_ERROR" || r.Envelope.Error.Details["field"] != tc.field {
				t.Fatalf("body %v: %d %s, want 422 naming %s", tc.body, r.Status, redact(r.Body), tc.field)
			}
			if tc.reason != "" && r.Envelope.Error.Details["reason"] != tc.reason {
				t.Fatalf("body %v: reason %v, want %s", tc.body, r.Envelope.Error.Details["reason"], tc.reason)
			}
		}
		wantError(t, e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/api-keys", Bearer: ten.AccessToken, Body: `{"name":`}),
			http.StatusBadRequest, "INVALID_REQUEST")
		wantError(t, e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/api-keys", Bearer: ten.AccessToken, Body: `name=x`,
			Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}), http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", "", map[string]any{"name": "anon"}), http.StatusUnauthorized, "UNAUTHORIZED", "reason", "missing")
		if n := keyCount(t, e, ten.TenantID); n != before {
			t.Fatalf("refused creations stored %d keys", n-before)
		}

		// Everything a key may carry, stored and shown back.
		exp := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Millisecond)
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "full", "scopes": []string{"api_keys:read"}, "expires_at": exp,
			"ip_allowlist": []string{"127.0.0.0/8"}, "rate_limit": map[string]any{"requests": 100, "window_seconds": 60}})
		got := getKey(t, e, ten.AccessToken, k.ID)
		if got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.RateLimit == nil || got.RateLimit.Requests != 100 ||
			got.RateLimit.WindowSeconds != 60 || !slices.Equal(got.IPAllowlist, []string{"127.0.0.0/8"}) {
			t.Fatalf("stored key: expires %v rate limit %+v allowlist %v", got.ExpiresAt, got.RateLimit, got.IPAllowlist)
		}
		if a := auditEntries(t, e, ten.TenantID, "api_key.create", k.ID.String()); len(a) != 1 || a[0].Details["prefix"] != k.Prefix || a[0].Details["name"] != "full" {
			t.Fatal("api_key.create entry lacks the name or prefix")
		}
		noLimit := createKey(t, e, ten.AccessToken, map[string]any{"name": "plain"})
		if noLimit.RateLimit != nil || noLimit.IPAllowlist == nil || len(noLimit.IPAllowlist) != 0 || noLimit.Scopes == nil {
			t.Fatalf("plain key: rate limit %+v allowlist %v scopes %v (lists must be [], never null)", noLimit.RateLimit, noLimit.IPAllowlist, noLimit.Scopes)
		}
	})
}

// The expires_at a creation answers is the one every later read shows, on
// every database (PostgreSQL keeps microseconds and rounds the rest).
func TestAPIKeyExpiresAtReadsBackAsCreated(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		if e.Store.Dialect == dialect.Postgres {
		}
		ten := register(t, e, "Acme")
		exp := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "precise", "expires_at": exp})
		got := getKey(t, e, ten.AccessToken, k.ID)
		v := validateKey(t, e, ten.AccessToken, k.ID, k.Key)
		if !sameTime(k.ExpiresAt, got.ExpiresAt) || !sameTime(k.ExpiresAt, v.ExpiresAt) {
			t.Fatalf("expires_at: created %v, read %v, validated %v", k.ExpiresAt, got.ExpiresAt, v.ExpiresAt)
		}
	})
}

// Asking twice for a scope grants it once.
func TestAPIKeyDuplicateScopesAreStoredOnce(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "dup", "scopes": []string{"api_keys:read", "api_keys:read"}})
		if !slices.Equal(k.Scopes, []string{"api_keys:read"}) {
			t.Fatalf("scopes %v, want [api_keys:read]", k.Scopes)
		}
	})
}

// ---------------------------------------------------------------------------
// 9. Another tenant's keys

func TestAPIKeyOfAnotherTenantIsNotFound(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a, b := register(t, e, "Acme"), register(t, e, "Acme")
		kb := createKey(t, e, b.AccessToken, map[string]any{"name": "b's key", "scopes": []string{"api_keys:read"}})
		keyWorks(t, e, kb.Key, kb.ID)
		rb := do(e, http.MethodPost, "/api/v1/admin/service-account/create", b.AccessToken, map[string]any{"name": "b-bot", "scopes": []string{"api_keys:read"}})
		wantOK(t, rb, http.StatusCreated, nil)
		var bsa struct {
			ServiceAccount struct{ ID uuid.UUID } `json:"service_account"`
		}
		dataOf(t, rb, &bsa)
		before := dbKey(t, e, kb.ID)
		ka := createKey(t, e, a.AccessToken, map[string]any{"name": "a's writer", "scopes": []string{"api_keys:read", "api_keys:write"}})

		missing := uuid.New()
		type route struct {
			method, path string
			body         any
		}
		routes := func(id uuid.UUID) []route {
			s := id.String()
			return []route{
				{http.MethodGet, "/api/v1/api-keys/" + s, nil},
				{http.MethodPost, "/api/v1/api-keys/" + s + "/validate", map[string]any{"key": kb.Key}},
				{http.MethodPost, "/api/v1/api-keys/" + s + "/rotate", map[string]any{}},
				{http.MethodPost, "/api/v1/api-keys/" + s + "/rotate", map[string]any{"grace_period_seconds": 60}},
				{http.MethodDelete, "/api/v1/api-keys/" + s, nil},
				{http.MethodDelete, "/api/v1/admin/api-keys/" + s, nil},
			}
		}
		for _, cred := range []string{a.AccessToken, ka.Key} {
			theirs, nobodys := routes(kb.ID), routes(missing)
			for i := range theirs {
				rt, rm := do(e, theirs[i].method, theirs[i].path, cred, theirs[i].body), do(e, nobodys[i].method, nobodys[i].path, cred, nobodys[i].body)
				name := theirs[i].method + " " + strings.Replace(theirs[i].path, kb.ID.String(), "{b's key}", 1)
				if rt.Status != http.StatusNotFound || rt.ErrorCode() != "NOT_FOUND" {
					t.Fatalf("%s: %d %s, want 404 NOT_FOUND", name, rt.Status, redact(rt.Body))
				}
				// Exactly as for an id that does not exist.
				if rt.Status != rm.Status || rt.Envelope.Error.Message != rm.Envelope.Error.Message ||
					fmt.Sprint(rt.Envelope.Error.Details) != fmt.Sprint(rm.Envelope.Error.Details) {
					t.Fatalf("%s: answer differs from a missing id's: %s vs %s", name, redact(rt.Body), redact(rm.Body))
				}
			}
		}

		// GraphQL, the same.
		for name, q := range map[string]string{
			"apiKey":         `query($id: ID!) { apiKey(id: $id) { id name } }`,
			"rotateAPIKey":   `mutation($id: ID!) { rotateAPIKey(id: $id) { key apiKey { id } } }`,
			"rotate w/grace": `mutation($id: ID!) { rotateAPIKey(id: $id, input: {gracePeriodSeconds: 60}) { key } }`,
			"revokeAPIKey":   `mutation($id: ID!) { revokeAPIKey(id: $id) { id status } }`,
			"validateAPIKey": `mutation($id: ID!, $key: String!) { validateAPIKey(id: $id, key: $key) { valid } }`,
			"node":           `query($id: ID!) { node(id: $id) { id ... on APIKey { name } } }`,
		} {
			for _, cred := range []string{a.AccessToken, ka.Key} {
				g := e.GraphQL(q, map[string]any{"id": kb.ID, "key": kb.Key}, cred)
				if g.Code() != "NOT_FOUND" || strings.Contains(string(g.Data), "b's key") {
					t.Fatalf("GraphQL %s of b's key: code %q data %s, want NOT_FOUND", name, g.Code(), redact(g.Data))
				}
			}
		}

		// Lists: never b's keys, filtered or not.
		for _, path := range []string{"/api/v1/api-keys", "/api/v1/admin/api-keys", "/api/v1/api-keys?service_account_id=" + bsa.ServiceAccount.ID.String(),
			"/api/v1/api-keys?status=active"} {
			items, page := listKeys(t, e, a.AccessToken, path)
			for _, k := range items {
				if k.TenantID != a.TenantID {
					t.Fatalf("%s lists a key of tenant %v", path, k.TenantID)
				}
			}
			if total := page["total"].(float64); int(total) != len(items) {
				t.Fatalf("%s: total %v counts keys it does not list (%d)", path, total, len(items))
			}
		}
		var conn struct {
			APIKeys struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID uuid.UUID } }
			}
		}
		e.GraphQL(`{ apiKeys(first: 100) { totalCount edges { node { id } } } }`, nil, a.AccessToken).Decode(t, &conn)
		if conn.APIKeys.TotalCount != 1 || len(conn.APIKeys.Edges) != 1 || conn.APIKeys.Edges[0].Node.ID != ka.ID {
			t.Fatalf("GraphQL apiKeys of tenant a: total %d, %d edges", conn.APIKeys.TotalCount, len(conn.APIKeys.Edges))
		}

		// b's key as the secret, a's own id: invalid, revealing nothing of b's key.
		wantInvalid(t, validateKey(t, e, a.AccessToken, ka.ID, kb.Key), "invalid")
		// b's service account is unknown to a.
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", a.AccessToken, map[string]any{"name": "x", "scopes": []string{"api_keys:read"},
			"service_account_id": bsa.ServiceAccount.ID}), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "service_account_id")

		// b's key is untouched, and still works.
		after := dbKey(t, e, kb.ID)
		if after.Status != apikey.StatusActive || !slices.Equal(after.KeyHash, before.KeyHash) || keyHasPrevious(after) ||
			after.RevokedAt != nil || after.PreviousKeyExpiresAt != nil || after.Prefix != before.Prefix || after.Name != before.Name ||
			!slices.Equal(after.Scopes, before.Scopes) || !sameTime(after.ExpiresAt, before.ExpiresAt) {
			t.Fatalf("b's key changed: status %s revoked_at %v previous hash %v", after.Status, after.RevokedAt, keyHasPrevious(after))
		}
		keyWorks(t, e, kb.Key, kb.ID)
		for _, action := range []string{"api_key.rotate", "api_key.revoke", "api_key.validate"} {
			if n := len(auditEntries(t, e, b.TenantID, action, "")); n != 0 {
				t.Fatalf("%d %s entries in tenant b", n, action)
			}
			if n := len(auditEntries(t, e, a.TenantID, action, kb.ID.String())); n != 0 {
				t.Fatalf("%d %s entries about b's key in tenant a", n, action)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// 10. Lists: paging, sorting, filters

func TestAPIKeyList(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		other := register(t, e, "Acme")
		createKey(t, e, other.AccessToken, map[string]any{"name": "k-other"})

		rs := do(e, http.MethodPost, "/api/v1/admin/service-account/create", ten.AccessToken, map[string]any{
			"name": "k-f", "scopes": []string{"api_keys:read"}, "create_api_key": true})
		wantOK(t, rs, http.StatusCreated, nil)
		var sa struct {
			ServiceAccount struct{ ID uuid.UUID } `json:"service_account"`
			APIKey         apiKeyJSON             `json:"api_key"`
		}
		dataOf(t, rs, &sa)
		byName := map[string]apiKeyJSON{"k-f": sa.APIKey}
		for _, n := range []string{"k-c", "k-a", "k-e", "k-b", "k-d"} {
			byName[n] = createKey(t, e, ten.AccessToken, map[string]any{"name": n, "scopes": []string{"api_keys:read"}})
		}
		revokeKey(t, e, ten.AccessToken, byName["k-b"].ID)
		// k-d expired a minute ago (set in the database: lists do not cache).
		if err := e.Store.Client.APIKey.UpdateOneID(byName["k-d"].ID).SetExpiresAt(time.Now().Add(-time.Minute)).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		all := []uuid.UUID{}
		for _, k := range byName {
			all = append(all, k.ID)
		}
		slices.SortFunc(all, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
		sortIDs := func(ids []uuid.UUID) []uuid.UUID {
			c := slices.Clone(ids)
			slices.SortFunc(c, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
			return c
		}

		// limit/offset, then the cursor to the end.
		first, page := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?limit=2&offset=0")
		if len(first) != 2 || page["total"] != 6.0 || page["has_next"] != true || page["limit"] != 2.0 || page["offset"] != 0.0 {
			t.Fatalf("limit=2: %d items, pagination %v", len(first), page)
		}
		seen := keyIDs(first)
		for i := 0; ; i++ {
			cur, ok := page["next_cursor"].(string)
			if !ok || cur == "" {
				t.Fatalf("has_next without next_cursor: %v", page)
			}
			var items []apiKeyJSON
			items, page = listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?cursor="+url.QueryEscape(cur))
			if len(items) != 2 || page["offset"] != float64(2*(i+1)) || page["total"] != 6.0 {
				t.Fatalf("cursor page %d: %d items, pagination %v", i+2, len(items), page)
			}
			seen = append(seen, keyIDs(items)...)
			if page["has_next"] == false {
				if page["next_cursor"] != nil {
					t.Fatalf("last page has a next_cursor: %v", page)
				}
				break
			}
			if i > 3 {
				t.Fatal("cursor paging does not end")
			}
		}
		if !slices.Equal(sortIDs(seen), all) {
			t.Fatalf("pages hold %d ids, want each of the 6 once", len(seen))
		}
		// The default order: newest first.
		whole, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys")
		if !slices.Equal(keyIDs(whole), seen) {
			t.Fatal("paged order differs from the whole list's")
		}
		for i := 1; i < len(whole); i++ {
			if whole[i].CreatedAt.After(whole[i-1].CreatedAt) {
				t.Fatalf("default order is not created_at descending: %v", keyNames(whole))
			}
		}

		// page/per_page.
		p2, page := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?page=2&per_page=2")
		if !slices.Equal(keyIDs(p2), seen[2:4]) {
			t.Fatalf("page 2 holds %v, want %v", keyNames(p2), keyNames(whole[2:4]))
		}
		for k, want := range map[string]any{"page": 2.0, "per_page": 2.0, "total_pages": 3.0, "has_previous": true, "has_next": true, "offset": 2.0, "limit": 2.0, "total": 6.0} {
			if page[k] != want {
				t.Fatalf("page=2: pagination.%s = %v, want %v", k, page[k], want)
			}
		}
		_, page = listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?page=3&per_page=2")
		if page["has_next"] != false || page["has_previous"] != true {
			t.Fatalf("page=3: %v", page)
		}
		empty, page := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?page=9&per_page=2")
		if len(empty) != 0 || page["total"] != 6.0 {
			t.Fatalf("page past the end: %d items, %v", len(empty), page)
		}
		_, page = listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?limit=1000")
		if page["limit"] != 200.0 {
			t.Fatalf("limit=1000 is not clamped to 200: %v", page["limit"])
		}

		// Sorting.
		asc, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?sort=name&order=asc")
		if want := []string{"k-a", "k-b", "k-c", "k-d", "k-e", "k-f"}; !slices.Equal(keyNames(asc), want) {
			t.Fatalf("sort=name asc: %v", keyNames(asc))
		}
		desc, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?sort=name&order=desc")
		if want := []string{"k-f", "k-e", "k-d", "k-c", "k-b", "k-a"}; !slices.Equal(keyNames(desc), want) {
			t.Fatalf("sort=name desc: %v", keyNames(desc))
		}
		ascPage, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?sort=name&order=asc&limit=2&offset=2")
		if want := []string{"k-c", "k-d"}; !slices.Equal(keyNames(ascPage), want) {
			t.Fatalf("sort=name asc, second page: %v", keyNames(ascPage))
		}
		for _, q := range []string{"sort=bogus", "sort=key_hash", "order=sideways", "limit=0", "limit=abc", "offset=-1", "page=0",
			"page=1&offset=2", "cursor=garbage", "status=bogus", "status=ACTIVE", "service_account_id=nope"} {
			r := do(e, http.MethodGet, "/api/v1/api-keys?"+q, ten.AccessToken, nil)
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR")
			field := strings.SplitN(q, "=", 2)[0]
			if q == "page=1&offset=2" {
				field = "page"
			}
			if r.Envelope.Error.Details["field"] != field {
				t.Fatalf("%s: details.field %v, want %s", q, r.Envelope.Error.Details["field"], field)
			}
		}

		// Status filters, judged now: an active key past its expiry is expired.
		for status, want := range map[string][]string{
			"active":  {"k-a", "k-c", "k-e", "k-f"},
			"revoked": {"k-b"},
			"expired": {"k-d"},
		} {
			items, page := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?sort=name&order=asc&status="+status)
			if !slices.Equal(keyNames(items), want) || page["total"] != float64(len(want)) {
				t.Fatalf("status=%s: %v (total %v), want %v", status, keyNames(items), page["total"], want)
			}
			for _, k := range items {
				if k.Status != status {
					t.Fatalf("status=%s lists %s with status %q", status, k.Name, k.Status)
				}
			}
		}
		items, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?status=active&limit=2&sort=name&order=asc")
		if want := []string{"k-a", "k-c"}; !slices.Equal(keyNames(items), want) {
			t.Fatalf("status=active, limit=2: %v", keyNames(items))
		}

		// The service account filter.
		items, page = listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?service_account_id="+sa.ServiceAccount.ID.String())
		if len(items) != 1 || items[0].ID != sa.APIKey.ID || page["total"] != 1.0 {
			t.Fatalf("service_account_id filter: %v", keyNames(items))
		}
		r := do(e, http.MethodGet, "/api/v1/api-keys?service_account_id="+uuid.NewString(), ten.AccessToken, nil)
		wantOK(t, r, http.StatusOK, nil)
		if strings.TrimSpace(string(r.Envelope.Data)) != "[]" {
			t.Fatalf("an empty list's data is %s, want []", r.Envelope.Data)
		}

		// The /admin alias lists the same.
		adminAll, _ := listKeys(t, e, ten.AccessToken, "/api/v1/admin/api-keys")
		if !slices.Equal(keyIDs(adminAll), keyIDs(whole)) {
			t.Fatal("/admin/api-keys lists other keys than /api-keys")
		}
		adminRevoked, _ := listKeys(t, e, ten.AccessToken, "/api/v1/admin/api-keys?status=revoked&limit=1")
		if len(adminRevoked) != 1 || adminRevoked[0].Name != "k-b" {
			t.Fatalf("/admin/api-keys?status=revoked: %v", keyNames(adminRevoked))
		}
		// A cursor belongs to its list.
		_, page = listKeys(t, e, ten.AccessToken, "/api/v1/admin/api-keys?limit=2")
		wantError(t, do(e, http.MethodGet, "/api/v1/api-keys?cursor="+url.QueryEscape(page["next_cursor"].(string)), ten.AccessToken, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "cursor")
	})
}

// Sorting by a column that may be null gives one order on every database:
// a key that never expires (or was never used) sorts after every dated one
// ascending, and first descending (PostgreSQL's default; SQLite's is the
// reverse unless the query says NULLS LAST).
func TestAPIKeySortByNullableFieldIsTheSameOnEveryDatabase(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		if e.Store.Dialect == dialect.SQLite {
		}
		ten := register(t, e, "Acme")
		createKey(t, e, ten.AccessToken, map[string]any{"name": "never"})
		createKey(t, e, ten.AccessToken, map[string]any{"name": "later", "expires_at": time.Now().Add(48 * time.Hour)})
		createKey(t, e, ten.AccessToken, map[string]any{"name": "sooner", "expires_at": time.Now().Add(24 * time.Hour)})
		asc, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?sort=expires_at&order=asc")
		if want := []string{"sooner", "later", "never"}; !slices.Equal(keyNames(asc), want) {
			t.Fatalf("sort=expires_at asc: %v, want %v", keyNames(asc), want)
		}
		desc, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?sort=expires_at&order=desc")
		if want := []string{"never", "later", "sooner"}; !slices.Equal(keyNames(desc), want) {
			t.Fatalf("sort=expires_at desc: %v, want %v", keyNames(desc), want)
		}
	})
}

// ---------------------------------------------------------------------------
// 11. REST and GraphQL show the same keys

const gqlKeyFields = `id name prefix scopes status expiresAt revokedAt lastUsedAt ipAllowlist rateLimitRequests rateLimitWindowSeconds serviceAccountID userID tenantID`

type gqlKeyJSON struct {
	ID                     uuid.UUID
	Name                   string
	Prefix                 string
	Scopes                 []string
	Status                 string
	ExpiresAt              *time.Time
	RevokedAt              *time.Time
	LastUsedAt             *time.Time
	IPAllowlist            []string
	RateLimitRequests      *int
	RateLimitWindowSeconds *int
	ServiceAccountID       *uuid.UUID
	UserID                 *uuid.UUID
	TenantID               uuid.UUID
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func sameKey(t *testing.T, rest apiKeyJSON, g gqlKeyJSON) {
	t.Helper()
	if rest.ID != g.ID || rest.Name != g.Name || rest.Prefix != g.Prefix || !slices.Equal(rest.Scopes, g.Scopes) ||
		rest.Status != g.Status || !sameTime(rest.ExpiresAt, g.ExpiresAt) || !sameTime(rest.RevokedAt, g.RevokedAt) ||
		!sameTime(rest.LastUsedAt, g.LastUsedAt) || !slices.Equal(rest.IPAllowlist, g.IPAllowlist) || rest.TenantID != g.TenantID ||
		fmt.Sprint(rest.UserID) != fmt.Sprint(g.UserID) || fmt.Sprint(rest.ServiceAccountID) != fmt.Sprint(g.ServiceAccountID) {
		t.Fatalf("REST and GraphQL differ:\nREST    id %v name %q prefix %q scopes %v status %q expires %v revoked %v allow %v user %v\nGraphQL id %v name %q prefix %q scopes %v status %q expires %v revoked %v allow %v user %v",
			rest.ID, rest.Name, rest.Prefix, rest.Scopes, rest.Status, rest.ExpiresAt, rest.RevokedAt, rest.IPAllowlist, rest.UserID,
			g.ID, g.Name, g.Prefix, g.Scopes, g.Status, g.ExpiresAt, g.RevokedAt, g.IPAllowlist, g.UserID)
	}
	if (rest.RateLimit == nil) != (g.RateLimitRequests == nil) ||
		(rest.RateLimit != nil && (rest.RateLimit.Requests != *g.RateLimitRequests || rest.RateLimit.WindowSeconds != *g.RateLimitWindowSeconds)) {
		t.Fatalf("rate limits differ: REST %+v, GraphQL %v/%v", rest.RateLimit, g.RateLimitRequests, g.RateLimitWindowSeconds)
	}
}

func gqlGetKey(t *testing.T, e *apitest.Env, cred string, id uuid.UUID) gqlKeyJSON {
	t.Helper()
	var out struct{ APIKey gqlKeyJSON }
	e.GraphQL(`query($id: ID!) { apiKey(id: $id) { `+gqlKeyFields+` } }`, map[string]any{"id": id}, cred).Decode(t, &out)
	return out.APIKey
}

func TestAPIKeyRESTAndGraphQLAgree(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Millisecond)
		made := createKey(t, e, ten.AccessToken, map[string]any{"name": "rest-made", "scopes": []string{"api_keys:read", "audit:read"},
			"expires_at": exp, "ip_allowlist": []string{"127.0.0.1/32"}, "rate_limit": map[string]any{"requests": 5, "window_seconds": 10}})
		revoked := createKey(t, e, ten.AccessToken, map[string]any{"name": "rest-revoked"})
		revokeKey(t, e, ten.AccessToken, revoked.ID)

		// Created with REST, read with GraphQL: one key, then the connection.
		for _, k := range []apiKeyJSON{made, revoked} {
			sameKey(t, getKey(t, e, ten.AccessToken, k.ID), gqlGetKey(t, e, ten.AccessToken, k.ID))
		}
		var conn struct {
			APIKeys struct {
				TotalCount int
				Edges      []struct{ Node gqlKeyJSON }
				PageInfo   struct{ HasNextPage bool }
			}
		}
		e.GraphQL(`{ apiKeys(first: 10, orderBy: {field: NAME, direction: ASC}) { totalCount pageInfo { hasNextPage } edges { node { `+gqlKeyFields+` } } } }`,
			nil, ten.AccessToken).Decode(t, &conn)
		restList, _ := listKeys(t, e, ten.AccessToken, "/api/v1/api-keys?sort=name&order=asc")
		if conn.APIKeys.TotalCount != len(restList) || len(conn.APIKeys.Edges) != len(restList) || conn.APIKeys.PageInfo.HasNextPage {
			t.Fatalf("GraphQL lists %d (total %d), REST %d", len(conn.APIKeys.Edges), conn.APIKeys.TotalCount, len(restList))
		}
		for i := range restList {
			sameKey(t, restList[i], conn.APIKeys.Edges[i].Node)
		}
		var filtered struct {
			APIKeys struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID uuid.UUID } }
			}
		}
		e.GraphQL(`{ apiKeys(where: {status: revoked}) { totalCount edges { node { id } } } }`, nil, ten.AccessToken).Decode(t, &filtered)
		if filtered.APIKeys.TotalCount != 1 || filtered.APIKeys.Edges[0].Node.ID != revoked.ID {
			t.Fatalf("GraphQL where status revoked: %d", filtered.APIKeys.TotalCount)
		}

		// Created with GraphQL, read with REST; the key works on REST.
		var created struct {
			CreateAPIKey struct {
				Key    string
				APIKey gqlKeyJSON
			}
		}
		e.GraphQL(`mutation($in: CreateAPIKeyInput!) { createAPIKey(input: $in) { key apiKey { `+gqlKeyFields+` } } }`,
			map[string]any{"in": map[string]any{"name": "graphql-made", "scopes": []string{"api_keys:read"}, "expiresAt": exp,
				"ipAllowlist": []string{"127.0.0.1"}, "rateLimit": map[string]any{"requests": 7, "windowSeconds": 70}}},
			ten.AccessToken).Decode(t, &created)
		gk := created.CreateAPIKey
		checkIssued(t, apiKeyJSON{ID: gk.APIKey.ID, Key: gk.Key, Prefix: gk.APIKey.Prefix})
		restView := getKey(t, e, ten.AccessToken, gk.APIKey.ID)
		sameKey(t, restView, gk.APIKey)
		if restView.Name != "graphql-made" || !slices.Equal(restView.IPAllowlist, []string{"127.0.0.1/32"}) || restView.RateLimit == nil ||
			restView.RateLimit.Requests != 7 || restView.UserID == nil || *restView.UserID != ten.UserID {
			t.Fatalf("GraphQL-made key as REST shows it: name %q allow %v rate %+v user %v", restView.Name, restView.IPAllowlist, restView.RateLimit, restView.UserID)
		}
		keyWorks(t, e, gk.Key, gk.APIKey.ID)
		if a := auditEntries(t, e, ten.TenantID, "api_key.create", gk.APIKey.ID.String()); len(a) != 1 {
			t.Fatal("GraphQL creation not audited")
		}
		// GraphQL checks input like REST does.
		g := e.GraphQL(`mutation { createAPIKey(input: {name: "x", ipAllowlist: ["nope"]}) { key } }`, nil, ten.AccessToken)
		if g.Code() != "VALIDATION_ERROR" {
			t.Fatalf("GraphQL invalid allowlist: %q", g.Code())
		}

		// Rotated with GraphQL: same id, a new key, the old one refused.
		var rotated struct {
			RotateAPIKey struct {
				Key    string
				APIKey struct {
					ID     uuid.UUID
					Prefix string
				}
			}
		}
		e.GraphQL(`mutation($id: ID!) { rotateAPIKey(id: $id) { key apiKey { id prefix } } }`, map[string]any{"id": gk.APIKey.ID}, ten.AccessToken).Decode(t, &rotated)
		checkIssued(t, apiKeyJSON{ID: rotated.RotateAPIKey.APIKey.ID, Key: rotated.RotateAPIKey.Key, Prefix: rotated.RotateAPIKey.APIKey.Prefix})
		if rotated.RotateAPIKey.APIKey.ID != gk.APIKey.ID || rotated.RotateAPIKey.Key == gk.Key {
			t.Fatal("GraphQL rotation changed the id or kept the secret")
		}
		wantUnauthorized(t, whoami(e, gk.Key), "revoked", "invalid")
		keyWorks(t, e, rotated.RotateAPIKey.Key, gk.APIKey.ID)
		if got := getKey(t, e, ten.AccessToken, gk.APIKey.ID); got.Prefix != rotated.RotateAPIKey.APIKey.Prefix {
			t.Fatal("REST shows another prefix than GraphQL's rotation")
		}
	})
}

// A key past its expiry is "expired" on both APIs.
func TestAPIKeyExpiredStatusAgreesAcrossAPIs(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "old"})
		if err := e.Store.Client.APIKey.UpdateOneID(k.ID).SetExpiresAt(time.Now().Add(-time.Minute)).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		rest := getKey(t, e, ten.AccessToken, k.ID)
		g := gqlGetKey(t, e, ten.AccessToken, k.ID)
		if rest.Status != "expired" || g.Status != rest.Status {
			t.Fatalf("status: REST %q, GraphQL %q; want expired on both", rest.Status, g.Status)
		}
		var filtered struct {
			APIKeys struct{ TotalCount int }
		}
		e.GraphQL(`{ apiKeys(where: {status: expired}) { totalCount } }`, nil, ten.AccessToken).Decode(t, &filtered)
		if filtered.APIKeys.TotalCount != 1 {
			t.Fatalf("GraphQL where status expired counts %d, REST status=expired lists 1", filtered.APIKeys.TotalCount)
		}
	})
}

// A key's own rate_limit overrides the plan's (SPEC §5): past it, 429 with
// the limit headers and details.retry_after. 2 per 120 s is within the free
// plan's 100 per hour, as a key's own limit must be.
func TestAPIKeyOwnRateLimitIsEnforced(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "limited", "rate_limit": map[string]any{"requests": 2, "window_seconds": 120}})
		for i := range 2 {
			r := whoami(e, k.Key)
			wantOK(t, r, http.StatusOK, nil)
			if r.Header.Get("X-RateLimit-Limit") != "2" || r.Header.Get("X-RateLimit-Remaining") != fmt.Sprint(1-i) {
				t.Fatalf("request %d: X-RateLimit-Limit %q remaining %q", i+1, r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"))
			}
		}
		r := whoami(e, k.Key)
		wantError(t, r, http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED")
		if r.Header.Get("Retry-After") == "" || r.Envelope.Error.Details["retry_after"] == nil {
			t.Fatal("429 without Retry-After or details.retry_after")
		}
	}, func(c *config.Config) { c.RateLimits = "free=100/h,pro=1000/h,enterprise=10000/h" })
}

// ---------------------------------------------------------------------------
// 12. last_used_at, written in the background

func TestAPIKeyLastUsedAtIsWrittenInTheBackground(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "used"})
		unused := createKey(t, e, ten.AccessToken, map[string]any{"name": "unused"})
		if k.LastUsedAt != nil || getKey(t, e, ten.AccessToken, k.ID).LastUsedAt != nil {
			t.Fatal("a new key has a last_used_at")
		}
		// Validation is not use, and neither is reading the key.
		validateKey(t, e, ten.AccessToken, unused.ID, unused.Key)
		firstUse := time.Now()
		for range 3 {
			keyWorks(t, e, k.Key, k.ID)
		}
		lastUse := time.Now()
		var stored *time.Time
		eventually(t, 8*time.Second, "last_used_at written within the 5 s flush interval", func() (bool, string) {
			stored = getKey(t, e, ten.AccessToken, k.ID).LastUsedAt
			return stored != nil, "null"
		})
		if stored.Before(firstUse.Add(-time.Second)) || stored.After(lastUse.Add(time.Second)) {
			t.Fatalf("last_used_at %v, want between %v and %v", stored, firstUse, lastUse)
		}
		if db := dbKey(t, e, k.ID).LastUsedAt; db == nil || !db.Equal(*stored) {
			t.Fatalf("database last_used_at %v, REST %v", db, stored)
		}
		// Validating a key is a use of it: the backend that validated it
		// received it from a client.
		eventually(t, 8*time.Second, "a validated key's last_used_at written", func() (bool, string) {
			return getKey(t, e, ten.AccessToken, unused.ID).LastUsedAt != nil, "null"
		})
	})
}

// ---------------------------------------------------------------------------
// 13. The /admin aliases

func TestAPIKeyAdminAliases(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		r := do(e, http.MethodPost, "/api/v1/admin/api-keys", ten.AccessToken, map[string]any{"name": "via admin", "scopes": []string{"api_keys:read"}})
		wantOK(t, r, http.StatusCreated, nil)
		var k apiKeyJSON
		dataOf(t, r, &k)
		checkIssued(t, k)
		if k.Name != "via admin" || k.Status != "active" || !slices.Equal(k.Scopes, []string{"api_keys:read"}) {
			t.Fatalf("admin-created key: name %q status %q scopes %v", k.Name, k.Status, k.Scopes)
		}
		keyWorks(t, e, k.Key, k.ID)
		if a := auditEntries(t, e, ten.TenantID, "api_key.create", k.ID.String()); len(a) != 1 {
			t.Fatal("admin creation not audited")
		}
		// It is the same key on the primary routes.
		if got := getKey(t, e, ten.AccessToken, k.ID); got.Prefix != k.Prefix {
			t.Fatal("GET /api-keys/{id} shows another key")
		}
		items, page := listKeys(t, e, ten.AccessToken, "/api/v1/admin/api-keys")
		if len(items) != 1 || items[0].ID != k.ID || page["total"] != 1.0 {
			t.Fatalf("GET /admin/api-keys: %v", keyNames(items))
		}

		// The same validation and permissions.
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/api-keys", ten.AccessToken, map[string]any{"name": "x", "expires_at": time.Now().Add(-time.Hour)}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "expires_at")
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/api-keys", ten.AccessToken, map[string]any{"name": "x", "scopes": []string{"nope"}}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "scopes")
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/api-keys", "", nil), http.StatusUnauthorized, "UNAUTHORIZED")
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/api-keys/"+k.ID.String(), k.Key, nil),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "api_keys:write")
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/api-keys/"+uuid.NewString(), ten.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/api-keys/"+k.ID.String(), ten.AccessToken, nil), http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")

		// DELETE revokes at once, as on the primary route.
		r = do(e, http.MethodDelete, "/api/v1/admin/api-keys/"+k.ID.String(), ten.AccessToken, nil)
		wantOK(t, r, http.StatusOK, nil)
		var revoked apiKeyJSON
		dataOf(t, r, &revoked)
		if revoked.ID != k.ID || revoked.Status != "revoked" || revoked.RevokedAt == nil {
			t.Fatalf("admin revoke answered status %q revoked_at %v", revoked.Status, revoked.RevokedAt)
		}
		wantUnauthorized(t, whoami(e, k.Key), "revoked")
		if a := auditEntries(t, e, ten.TenantID, "api_key.revoke", k.ID.String()); len(a) != 1 {
			t.Fatal("admin revocation not audited")
		}
		if got := getKey(t, e, ten.AccessToken, k.ID); got.Status != "revoked" {
			t.Fatalf("GET after admin revoke: %q", got.Status)
		}
	})
}

// TestAllowlistsBounded: a key's and a tenant's IP allowlist hold at most
// 1,000 entries (every request of a credential is checked against both);
// one longer is a VALIDATION_ERROR naming it, over REST and GraphQL alike,
// and nothing is stored. They took any length: 20,000 CIDRs were stored
// and checked on every request.
func TestAllowlistsBounded(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Bounded Lists")
		cidrs := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)
			}
			return out
		}
		k := createKey(t, e, ten.AccessToken, map[string]any{"name": "thousand", "ip_allowlist": cidrs(1000)})
		if len(k.IPAllowlist) != 1000 {
			t.Fatalf("%d entries stored, want 1000", len(k.IPAllowlist))
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", ten.AccessToken, map[string]any{"name": "more", "ip_allowlist": cidrs(1001)}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "ip_allowlist", "reason", "too_long", "max_entries", 1000)
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/tenants/"+ten.TenantID.String(), ten.AccessToken,
			map[string]any{"settings": map[string]any{"ip_allowlist": cidrs(1001)}}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "settings.ip_allowlist", "reason", "too_long")
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/tenants/"+ten.TenantID.String(), ten.AccessToken,
			map[string]any{"settings": map[string]any{"ip_allowlist": []string{"10.0.0.0/8", "nonsense"}}}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "settings.ip_allowlist", "reason", "invalid", "value", "nonsense")
		g := gqlDo(e, ten.AccessToken, `mutation($in: CreateAPIKeyInput!) { createAPIKey(input: $in) { key } }`,
			map[string]any{"in": map[string]any{"name": "more", "ipAllowlist": cidrs(1001)}})
		wantGQLError(t, g, "VALIDATION_ERROR")
		var keys []apiKeyJSON
		listPage(t, e, ten.AccessToken, "/api/v1/api-keys?limit=200", &keys)
		for _, k := range keys {
			if k.Name == "more" {
				t.Fatalf("a key with too long an allowlist was stored")
			}
		}
	})
}

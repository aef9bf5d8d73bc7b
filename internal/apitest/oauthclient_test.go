package apitest_test

// The /api/v1/oauth-clients routes and their GraphQL fields: lifecycle,
// validation, scope ceiling, paging, secret handling, audit and tenant
// isolation, on SQLite and PostgreSQL.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
)

func dbClient(t testing.TB, e *apitest.Env, clientID string) *ent.OAuthClient {
	t.Helper()
	c, err := e.Store.Client.OAuthClient.Query().Where(oauthclient.ClientID(clientID)).Only(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatalf("oauth client %s in the DB: %v", clientID, err)
	}
	return c
}

func TestOAuthClientCreate(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Create Co")
		resp := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients", Bearer: tn.AccessToken,
			Body: map[string]any{"name": "  Billing sync  ", "scopes": []string{"oauth_clients:read", "api_keys:read"}}})
		if resp.Status != http.StatusCreated || !resp.Envelope.Success {
			t.Fatalf("create: %d %s", resp.Status, redact(resp.Body))
		}
		var c clientJSON
		resp.Data(t, &c)
		if !strings.HasPrefix(c.ClientID, "cvc_") || len(c.ClientID) < 4+16 {
			t.Errorf("client_id %q: want cvc_ and at least 16 random characters", c.ClientID)
		}
		if !strings.HasPrefix(c.ClientSecret, "cvcs_") || len(c.ClientSecret) < 5+32 {
			t.Errorf("client_secret: want cvcs_ and at least 32 random characters (len %d)", len(c.ClientSecret))
		}
		if c.Name != "Billing sync" {
			t.Errorf("name %q, want it trimmed", c.Name)
		}
		if want := []string{"api_keys:read", "oauth_clients:read"}; !slices.Equal(sorted(c.Scopes), want) {
			t.Errorf("scopes %v, want %v", c.Scopes, want)
		}
		if !slices.Equal(c.GrantTypes, []string{"client_credentials"}) {
			t.Errorf("grant_types %v, want the default [client_credentials]", c.GrantTypes)
		}
		if c.RedirectURIs == nil || len(c.RedirectURIs) != 0 {
			t.Errorf("redirect_uris %v, want []", c.RedirectURIs)
		}
		if c.AccessTokenTTLSeconds != 3600 || c.Status != "active" || c.TenantID != tn.TenantID {
			t.Errorf("ttl %d status %q tenant %s: want 3600, active, %s", c.AccessTokenTTLSeconds, c.Status, c.TenantID, tn.TenantID)
		}
		if c.CreatedBy == nil || *c.CreatedBy != tn.UserID.String() {
			t.Errorf("created_by %v, want the owner %s", c.CreatedBy, tn.UserID)
		}
		if c.CreatedAt.IsZero() || c.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at %v: want RFC 3339 UTC", c.CreatedAt)
		}

		// Explicit values are kept.
		c2 := tn.createClient(t, map[string]any{"name": "web", "scopes": []string{"api_keys:read"},
			"grant_types": []string{"client_credentials"}, "access_token_ttl_seconds": 600,
			"redirect_uris": []string{"http://localhost:3000/cb", "https://app.example.com/cb", "http://127.0.0.1:8080/cb"}})
		if c2.AccessTokenTTLSeconds != 600 || len(c2.RedirectURIs) != 3 || c2.RedirectURIs[0] != "http://localhost:3000/cb" {
			t.Errorf("explicit values not kept: ttl %d redirect_uris %v", c2.AccessTokenTTLSeconds, c2.RedirectURIs)
		}
		if c2.ClientID == c.ClientID || c2.ClientSecret == c.ClientSecret {
			t.Error("two clients share a client_id or a secret")
		}

		// The secret is shown once: never by GET or the list.
		for _, path := range []string{"/api/v1/oauth-clients/" + c.ClientID, "/api/v1/oauth-clients"} {
			got := e.Get(path, tn.AccessToken)
			if got.Status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, got.Status, redact(got.Body))
			}
			if bytes.Contains(got.Body, []byte(c.ClientSecret)) || bytes.Contains(got.Body, []byte("client_secret")) ||
				bytes.Contains(got.Body, []byte("secret_hash")) {
				t.Errorf("GET %s shows the secret or its hash", path)
			}
		}

		// The database holds only the hash.
		row := dbClient(t, e, c.ClientID)
		if !secret.Equal(row.SecretHash, secret.Hash(c.ClientSecret)) {
			t.Error("secret_hash is not the hash of the secret shown")
		}
		if clientHasPrevious(row) {
			t.Error("a new client has a previous secret")
		}
		random := strings.TrimPrefix(c.ClientSecret, "cvcs_")
		if found, _ := scanDB(t, e, []string{random}, "oauth_clients"); len(found) > 0 {
			t.Fatal("a column of oauth_clients holds the plaintext secret")
		}

		// Audited in the tenant, by the owner, without the secret.
		entries := auditEntries(t, e, tn.TenantID, "oauth_client.create", "")
		if len(entries) != 2 {
			t.Fatalf("%d oauth_client.create entries, want 2", len(entries))
		}
		a := entries[0]
		if a.ResourceType != "oauth_client" || a.ResourceID != c.ClientID || a.ActorType != "user" ||
			a.ActorID != tn.UserID.String() || a.Outcome != "success" || a.Details["name"] != "Billing sync" {
			t.Errorf("audit entry %+v", a)
		}
		if a.RequestID == "" || a.RequestID != resp.Envelope.Meta.RequestID {
			t.Errorf("audit request_id %q, envelope %q", a.RequestID, resp.Envelope.Meta.RequestID)
		}
		if strings.Contains(fmt.Sprint(a.Details), random) {
			t.Error("the audit entry holds the secret")
		}
	})
}

// clientHasPrevious tells whether a previous secret is stored (ent gives a
// non-nil pointer to an empty slice for a NULL bytes column).
func clientHasPrevious(c *ent.OAuthClient) bool {
	return c.PreviousSecretHash != nil && len(*c.PreviousSecretHash) > 0
}

func TestOAuthClientValidation(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Valid Co")
		ok := []string{"api_keys:read"}
		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"grant authorization_code", map[string]any{"name": "x", "scopes": ok, "grant_types": []string{"authorization_code"}}, "grant_types"},
			{"grant password", map[string]any{"name": "x", "scopes": ok, "grant_types": []string{"password"}}, "grant_types"},
			{"grant mixed", map[string]any{"name": "x", "scopes": ok, "grant_types": []string{"client_credentials", "refresh_token"}}, "grant_types"},
			{"redirect http remote", map[string]any{"name": "x", "scopes": ok, "redirect_uris": []string{"http://example.com/cb"}}, "redirect_uris"},
			{"redirect relative", map[string]any{"name": "x", "scopes": ok, "redirect_uris": []string{"/cb"}}, "redirect_uris"},
			{"redirect fragment", map[string]any{"name": "x", "scopes": ok, "redirect_uris": []string{"https://app.example.com/cb#x"}}, "redirect_uris"},
			// At most 100 redirect URIs of at most 2,048 bytes: they took any number and length.
			{"redirects 101", map[string]any{"name": "x", "scopes": ok, "redirect_uris": redirects(101, 30)}, "redirect_uris"},
			{"redirect 2,049 bytes", map[string]any{"name": "x", "scopes": ok, "redirect_uris": redirects(1, 2049)}, "redirect_uris"},
			{"ttl too short", map[string]any{"name": "x", "scopes": ok, "access_token_ttl_seconds": 59}, "access_token_ttl_seconds"},
			{"ttl too long", map[string]any{"name": "x", "scopes": ok, "access_token_ttl_seconds": 86401}, "access_token_ttl_seconds"},
			{"ttl zero", map[string]any{"name": "x", "scopes": ok, "access_token_ttl_seconds": 0}, "access_token_ttl_seconds"},
			{"ttl wrong type", map[string]any{"name": "x", "scopes": ok, "access_token_ttl_seconds": "1h"}, "access_token_ttl_seconds"},
			{"scopes missing", map[string]any{"name": "x"}, "scopes"},
			{"scopes empty", map[string]any{"name": "x", "scopes": []string{}}, "scopes"},
			{"scope unknown", map[string]any{"name": "x", "scopes": []string{"nope:read"}}, "scopes"},
			{"name missing", map[string]any{"scopes": ok}, "name"},
			{"name blank", map[string]any{"name": "   ", "scopes": ok}, "name"},
			{"unknown field", map[string]any{"name": "x", "scopes": ok, "client_secret": "mine"}, "client_secret"},
		}
		for _, tc := range cases {
			resp := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients", Bearer: tn.AccessToken, Body: tc.body})
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, resp, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", tc.field)
			})
		}
		if n := clientCount(t, e); n != 0 {
			t.Fatalf("%d clients stored by refused requests", n)
		}

		// Accepted redirect URIs: https anywhere, http on loopback only.
		tn.createClient(t, map[string]any{"name": "ok", "scopes": ok,
			"redirect_uris": []string{"http://localhost:3000/cb", "https://app.example.com/cb"}, "access_token_ttl_seconds": 60})
		if c := tn.createClient(t, map[string]any{"name": "many", "scopes": ok, "redirect_uris": redirects(100, 2048)}); len(c.RedirectURIs) != 100 {
			t.Fatalf("%d redirect URIs kept, want 100", len(c.RedirectURIs))
		}
		c := tn.createClient(t, map[string]any{"name": "ok2", "scopes": ok, "access_token_ttl_seconds": 86400})

		// The same rules on PATCH, which then changes nothing.
		before := dbClient(t, e, c.ClientID)
		patches := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"grant password", map[string]any{"grant_types": []string{"password"}}, "grant_types"},
			{"redirect http remote", map[string]any{"redirect_uris": []string{"http://example.com/cb"}}, "redirect_uris"},
			{"ttl", map[string]any{"access_token_ttl_seconds": 86401}, "access_token_ttl_seconds"},
			{"scopes empty", map[string]any{"scopes": []string{}}, "scopes"},
			{"status", map[string]any{"status": "deleted"}, "status"},
			{"name blank", map[string]any{"name": ""}, "name"},
			{"unknown field", map[string]any{"secret": "x"}, "secret"},
			{"mixed valid and invalid", map[string]any{"name": "renamed", "access_token_ttl_seconds": 1}, "access_token_ttl_seconds"},
		}
		for _, tc := range patches {
			resp := e.Do(apitest.Request{Method: http.MethodPatch, Path: "/api/v1/oauth-clients/" + c.ClientID, Bearer: tn.AccessToken, Body: tc.body})
			t.Run("patch "+tc.name, func(t *testing.T) {
				wantError(t, resp, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", tc.field)
			})
		}
		after := dbClient(t, e, c.ClientID)
		if after.Name != before.Name || after.AccessTokenTTLSeconds != before.AccessTokenTTLSeconds || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Error("a refused PATCH changed the client")
		}
		if n := len(auditEntries(t, e, tn.TenantID, "oauth_client.update", "")); n != 0 {
			t.Errorf("%d oauth_client.update entries for refused PATCHes", n)
		}

		// Body checks of the REST layer.
		resp := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients", Bearer: tn.AccessToken,
			Body: "name=x", Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		wantError(t, resp, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
		resp = e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients", Bearer: tn.AccessToken, Body: "{"})
		wantError(t, resp, http.StatusBadRequest, "INVALID_REQUEST")
	})
}

func clientCount(t testing.TB, e *apitest.Env) int {
	t.Helper()
	n, err := e.Store.Client.OAuthClient.Query().Count(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A client never gets more than its creator holds: a member-role user, an
// API key, an OAuth client.
func TestOAuthClientScopeCeiling(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Ceiling Co")

		// A member user: every :read scope plus oauth_clients:write, never users:write.
		resp := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/admin/users", Bearer: tn.AccessToken,
			Body: map[string]any{"email": "member@example.com", "name": "Member", "role": "member", "password": "member-password-1"}})
		if resp.Status != http.StatusCreated {
			t.Fatalf("create member: %d %s", resp.Status, redact(resp.Body))
		}
		login := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/login",
			Body: map[string]any{"email": "member@example.com", "password": "member-password-1", "tenant": tn.Slug}})
		if login.Status != http.StatusOK {
			t.Fatalf("member login: %d %s", login.Status, redact(login.Body))
		}
		var member struct {
			AccessToken string `json:"access_token"`
		}
		login.Data(t, &member)

		resp = e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients", Bearer: member.AccessToken,
			Body: map[string]any{"name": "too much", "scopes": []string{"api_keys:read", "users:write"}}})
		wantError(t, resp, http.StatusForbidden, "FORBIDDEN")
		if got := resp.Envelope.Error.Details["required_scope"]; got != "users:write" {
			t.Errorf("details.required_scope %v, want users:write", got)
		}
		mc := createClient(t, e, member.AccessToken, map[string]any{"name": "member's", "scopes": []string{"api_keys:read", "oauth_clients:write"}})
		t.Run("patch beyond the caller", func(t *testing.T) {
			if e.Store.Dialect != "postgres" {
				// graph/oauthclient.go UpdateOAuthClient checks the ceiling inside
				// its transaction; the denial's audit entry is written on another
				// connection, which waits for the transaction's write lock for the
				// busy timeout (10 s) and the answer is 500 INTERNAL_ERROR.
			}
			resp := e.Do(apitest.Request{Method: http.MethodPatch, Path: "/api/v1/oauth-clients/" + mc.ClientID, Bearer: member.AccessToken,
				Body: map[string]any{"scopes": []string{"tenant:write"}}})
			wantError(t, resp, http.StatusForbidden, "FORBIDDEN")
			if got := dbClient(t, e, mc.ClientID).Scopes; !slices.Equal(sorted(got), []string{"api_keys:read", "oauth_clients:write"}) {
				t.Errorf("a refused PATCH changed scopes to %v", got)
			}
			if n := len(auditEntries(t, e, tn.TenantID, "oauth_client.update", "")); n != 0 {
				t.Errorf("%d oauth_client.update entries for a refused PATCH", n)
			}
		})

		// An API key with fewer scopes than the owner.
		key := tn.key(t, "oauth_clients:write", "api_keys:read").Key
		resp = e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients", Header: map[string]string{"X-API-Key": key},
			Body: map[string]any{"name": "by key", "scopes": []string{"credentials:read"}}})
		wantError(t, resp, http.StatusForbidden, "FORBIDDEN")
		createClient(t, e, key, map[string]any{"name": "by key", "scopes": []string{"api_keys:read"}})

		// An OAuth client's token: the same ceiling.
		admin := tn.createClient(t, map[string]any{"name": "provisioner", "scopes": []string{"oauth_clients:write", "api_keys:read"}})
		at := issueToken(t, e, admin, "").AccessToken
		resp = e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients", Bearer: at,
			Body: map[string]any{"name": "by client", "scopes": []string{"api_keys:read", "audit:read"}}})
		wantError(t, resp, http.StatusForbidden, "FORBIDDEN")
		if got := resp.Envelope.Error.Details["required_scope"]; got != "audit:read" {
			t.Errorf("details.required_scope %v, want audit:read", got)
		}
		byClient := createClient(t, e, at, map[string]any{"name": "by client", "scopes": []string{"api_keys:read"}})
		if byClient.CreatedBy == nil || *byClient.CreatedBy != dbClient(t, e, admin.ClientID).ID.String() {
			t.Errorf("created_by %v, want the creating client's id", byClient.CreatedBy)
		}

		denied := auditEntries(t, e, tn.TenantID, "permission.denied", "")
		var required []string
		for _, d := range denied {
			if d.Outcome != "denied" {
				t.Errorf("permission.denied outcome %q", d.Outcome)
			}
			required = append(required, fmt.Sprint(d.Details["required_scope"]))
		}
		for _, want := range []string{"users:write", "credentials:read", "audit:read"} {
			if !slices.Contains(required, want) {
				t.Errorf("no permission.denied entry for %s (have %v)", want, required)
			}
		}
		if n := clientCount(t, e); n != 4 {
			t.Errorf("%d clients stored, want 4", n)
		}
	})
}

func TestOAuthClientList(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "List A")
		b := register(t, e, "List B")
		b.createClient(t, map[string]any{"name": "b's", "scopes": []string{"api_keys:read"}})
		var mine []clientJSON
		for i := range 3 {
			mine = append(mine, a.createClient(t, map[string]any{"name": fmt.Sprintf("client %d", i), "scopes": []string{"api_keys:read"}}))
		}
		resp := e.Do(apitest.Request{Method: http.MethodPatch, Path: "/api/v1/oauth-clients/" + mine[1].ClientID, Bearer: a.AccessToken,
			Body: map[string]any{"status": "disabled"}})
		if resp.Status != http.StatusOK {
			t.Fatalf("disable: %d %s", resp.Status, redact(resp.Body))
		}

		list := func(query string) ([]clientJSON, map[string]any) {
			t.Helper()
			resp := e.Get("/api/v1/oauth-clients"+query, a.AccessToken)
			if resp.Status != http.StatusOK || !resp.Envelope.Success {
				t.Fatalf("list %s: %d %s", query, resp.Status, redact(resp.Body))
			}
			if bytes.Contains(resp.Body, []byte("cvcs_")) {
				t.Fatalf("list %s shows a secret", query)
			}
			var out []clientJSON
			resp.Data(t, &out)
			if out == nil {
				t.Fatalf("list %s: data is not an array", query)
			}
			return out, resp.Envelope.Meta.Pagination
		}
		ids := func(cs []clientJSON) []string {
			var out []string
			for _, c := range cs {
				out = append(out, c.ClientID)
			}
			return out
		}

		all, page := list("")
		if len(all) != 3 || page["total"] != float64(3) || page["has_next"] != false || page["limit"] != float64(50) {
			t.Fatalf("list: %d items, pagination %v; want 3 of 3 (B's client hidden), limit 50", len(all), page)
		}
		// Newest first by default.
		if want := []string{mine[2].ClientID, mine[1].ClientID, mine[0].ClientID}; !slices.Equal(ids(all), want) {
			t.Errorf("order %v, want newest first %v", ids(all), want)
		}
		first, page := list("?limit=2&offset=0")
		if len(first) != 2 || page["total"] != float64(3) || page["has_next"] != true || page["limit"] != float64(2) || page["offset"] != float64(0) {
			t.Fatalf("first page: %d items, pagination %v", len(first), page)
		}
		if c, _ := page["next_cursor"].(string); c == "" {
			t.Error("has_next without next_cursor")
		}
		second, page := list("?limit=2&offset=2")
		if len(second) != 1 || page["total"] != float64(3) || page["has_next"] != false || page["offset"] != float64(2) {
			t.Fatalf("second page: %d items, pagination %v", len(second), page)
		}
		if got := append(ids(first), ids(second)...); !slices.Equal(got, ids(all)) {
			t.Errorf("pages %v, want %v", got, ids(all))
		}
		byName, _ := list("?sort=name&order=asc")
		if want := []string{mine[0].ClientID, mine[1].ClientID, mine[2].ClientID}; !slices.Equal(ids(byName), want) {
			t.Errorf("sort=name: %v, want %v", ids(byName), want)
		}
		disabled, page := list("?status=disabled")
		if len(disabled) != 1 || disabled[0].ClientID != mine[1].ClientID || disabled[0].Status != "disabled" || page["total"] != float64(1) {
			t.Errorf("status=disabled: %v, pagination %v", ids(disabled), page)
		}
		active, page := list("?status=active")
		if len(active) != 2 || page["total"] != float64(2) || slices.Contains(ids(active), mine[1].ClientID) {
			t.Errorf("status=active: %v, pagination %v", ids(active), page)
		}
		empty, page := list("?offset=10")
		if len(empty) != 0 || page["total"] != float64(3) {
			t.Errorf("offset past the end: %d items, pagination %v", len(empty), page)
		}
		wantError(t, e.Get("/api/v1/oauth-clients?status=bogus", a.AccessToken), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "status")
		wantError(t, e.Get("/api/v1/oauth-clients?sort=secret_hash", a.AccessToken), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "sort")
		wantError(t, e.Get("/api/v1/oauth-clients?limit=0", a.AccessToken), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "limit")
	})
}

func TestOAuthClientGetAndPatch(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Patch Co")
		c := tn.createClient(t, map[string]any{"name": "before", "scopes": []string{"api_keys:read", "oauth_clients:read"}})
		path := "/api/v1/oauth-clients/" + c.ClientID

		got := e.Get(path, tn.AccessToken)
		if got.Status != http.StatusOK {
			t.Fatalf("GET: %d %s", got.Status, redact(got.Body))
		}
		var g clientJSON
		got.Data(t, &g)
		if g.ClientID != c.ClientID || g.ID != c.ID || g.Name != "before" || g.ClientSecret != "" {
			t.Errorf("GET: %+v", g)
		}
		wantError(t, e.Get("/api/v1/oauth-clients/cvc_doesnotexist", tn.AccessToken), http.StatusNotFound, "NOT_FOUND")

		// A token before the change, to see the change take effect on it.
		before := issueToken(t, e, c, "").AccessToken

		resp := e.Do(apitest.Request{Method: http.MethodPatch, Path: path, Bearer: tn.AccessToken, Body: map[string]any{
			"name": "after", "scopes": []string{"api_keys:read"}, "grant_types": []string{"client_credentials"},
			"redirect_uris": []string{"https://app.example.com/cb"}, "access_token_ttl_seconds": 120}})
		if resp.Status != http.StatusOK || !resp.Envelope.Success {
			t.Fatalf("PATCH: %d %s", resp.Status, redact(resp.Body))
		}
		var p clientJSON
		resp.Data(t, &p)
		if p.Name != "after" || !slices.Equal(p.Scopes, []string{"api_keys:read"}) || p.AccessTokenTTLSeconds != 120 ||
			!slices.Equal(p.RedirectURIs, []string{"https://app.example.com/cb"}) || p.Status != "active" || p.ClientSecret != "" {
			t.Errorf("PATCH answer %+v", p)
		}
		if !p.UpdatedAt.After(g.UpdatedAt) && !p.UpdatedAt.Equal(g.UpdatedAt) {
			t.Errorf("updated_at went back: %v < %v", p.UpdatedAt, g.UpdatedAt)
		}
		row := dbClient(t, e, c.ClientID)
		if row.Name != "after" || !slices.Equal(row.Scopes, []string{"api_keys:read"}) || row.AccessTokenTTLSeconds != 120 ||
			!slices.Equal(row.RedirectUris, []string{"https://app.example.com/cb"}) {
			t.Errorf("DB after PATCH: %+v", row)
		}
		if !secret.Equal(row.SecretHash, secret.Hash(c.ClientSecret)) {
			t.Error("PATCH changed the secret")
		}
		var again clientJSON
		e.Get(path, tn.AccessToken).Data(t, &again)
		if again.Name != "after" || again.AccessTokenTTLSeconds != 120 {
			t.Errorf("GET after PATCH: %+v", again)
		}

		// The token issued before loses the removed scope at once; new tokens
		// have the new lifetime.
		me := me(t, e, before)
		if !slices.Equal(me.Scopes, []string{"api_keys:read"}) {
			t.Errorf("old token's scopes after PATCH: %v, want [api_keys:read]", me.Scopes)
		}
		wantError(t, e.Get("/api/v1/oauth-clients", before), http.StatusForbidden, "FORBIDDEN")
		if tok := issueToken(t, e, c, ""); tok.ExpiresIn != 120 || tok.Scope != "api_keys:read" {
			t.Errorf("new token: expires_in %d scope %q, want 120, api_keys:read", tok.ExpiresIn, tok.Scope)
		}
		wantOAuthError(t, clientCredentials(e, c.ClientID, c.ClientSecret, "oauth_clients:read"), http.StatusBadRequest, "invalid_scope")
		t.Run("introspection agrees with the API on the old token's scopes", func(t *testing.T) {
			// oauth/server.go Introspect answers the token's scope claim as
			// issued, while VerifyAccessToken keeps only the scopes the client
			// still holds: a resource server that introspects grants what the
			// API itself refuses.
			got := introspect(t, e, before, basicAuth(c.ClientID, c.ClientSecret))
			if got["active"] != true || got["scope"] != "api_keys:read" {
				t.Errorf("introspection: active %v scope %v, want true, api_keys:read (as /auth/me)", got["active"], got["scope"])
			}
		})

		// Status alone; a PATCH with no field changes nothing but is fine.
		resp = e.Do(apitest.Request{Method: http.MethodPatch, Path: path, Bearer: tn.AccessToken, Body: map[string]any{"status": "disabled"}})
		resp.Data(t, &p)
		if resp.Status != http.StatusOK || p.Status != "disabled" || p.Name != "after" {
			t.Errorf("PATCH status: %d %+v", resp.Status, p)
		}
		if row := dbClient(t, e, c.ClientID); row.Status != oauthclient.StatusDisabled {
			t.Errorf("DB status %s", row.Status)
		}

		entries := auditEntries(t, e, tn.TenantID, "oauth_client.update", "")
		if len(entries) != 2 {
			t.Fatalf("%d oauth_client.update entries, want 2", len(entries))
		}
		fields := fmt.Sprint(entries[0].Details["fields"])
		for _, f := range []string{"name", "scopes", "grant_types", "redirect_uris", "access_token_ttl_seconds"} {
			if !strings.Contains(fields, f) {
				t.Errorf("audit details.fields %s lacks %s", fields, f)
			}
		}
		if fmt.Sprint(entries[1].Details["fields"]) != "[status]" || entries[1].ResourceID != c.ClientID || entries[1].ActorID != tn.UserID.String() {
			t.Errorf("second update entry: %+v", entries[1])
		}

		wantError(t, e.Do(apitest.Request{Method: http.MethodPatch, Path: "/api/v1/oauth-clients/cvc_doesnotexist",
			Bearer: tn.AccessToken, Body: map[string]any{"name": "x"}}), http.StatusNotFound, "NOT_FOUND")
	})
}

func TestOAuthClientRotateSecret(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Rotate Co")
		c := tn.createClient(t, map[string]any{"name": "rotating", "scopes": []string{"api_keys:read"}})
		rotate := func(body any) clientJSON {
			t.Helper()
			resp := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients/" + c.ClientID + "/rotate-secret",
				Bearer: tn.AccessToken, Body: body})
			if resp.Status != http.StatusOK || !resp.Envelope.Success {
				t.Fatalf("rotate: %d %s", resp.Status, redact(resp.Body))
			}
			var r clientJSON
			resp.Data(t, &r)
			if r.ClientID != c.ClientID || !strings.HasPrefix(r.ClientSecret, "cvcs_") {
				t.Fatalf("rotate: client_id %q, secret prefix ok=%v", r.ClientID, strings.HasPrefix(r.ClientSecret, "cvcs_"))
			}
			return r
		}
		works := func(sec string) bool {
			t.Helper()
			resp := clientCredentials(e, c.ClientID, sec, "")
			if resp.Status == http.StatusOK {
				return true
			}
			wantOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")
			return false
		}
		tok := issueToken(t, e, c, "").AccessToken

		// No grace period (no body at all): the old secret stops at once.
		r1 := rotate(nil)
		if r1.ClientSecret == c.ClientSecret {
			t.Fatal("rotation returned the same secret")
		}
		if works(c.ClientSecret) {
			t.Error("the old secret still works after a rotation without grace")
		}
		if !works(r1.ClientSecret) {
			t.Error("the new secret does not work")
		}
		row := dbClient(t, e, c.ClientID)
		if !secret.Equal(row.SecretHash, secret.Hash(r1.ClientSecret)) || clientHasPrevious(row) {
			t.Error("DB after rotation without grace: want the new hash and no previous secret")
		}
		// A token ends with the secret that obtained it (token_end_test.go).
		wantUnauthorized(t, whoami(e, tok), "revoked")
		// The secret is not shown again.
		if body := e.Get("/api/v1/oauth-clients/"+c.ClientID, tn.AccessToken).Body; bytes.Contains(body, []byte(r1.ClientSecret)) {
			t.Error("GET shows the rotated secret")
		}

		// Explicit 0 is the same as none.
		r2 := rotate(map[string]any{"grace_period_seconds": 0})
		if works(r1.ClientSecret) || !works(r2.ClientSecret) {
			t.Error("grace_period_seconds 0: want the old secret refused and the new one accepted")
		}

		// With a grace period both work until it ends, then only the new one.
		start := time.Now()
		r3 := rotate(map[string]any{"grace_period_seconds": 2})
		if !works(r2.ClientSecret) || !works(r3.ClientSecret) {
			t.Fatal("within the grace period both secrets must work")
		}
		row = dbClient(t, e, c.ClientID)
		if !clientHasPrevious(row) || !secret.Equal(*row.PreviousSecretHash, secret.Hash(r2.ClientSecret)) || row.PreviousSecretExpiresAt == nil {
			t.Fatal("DB: the previous secret's hash and expiry are not kept")
		}
		if d := row.PreviousSecretExpiresAt.Sub(start); d < time.Second || d > 4*time.Second {
			t.Errorf("previous_secret_expires_at is %v after the rotation, want about 2s", d)
		}
		if works(r1.ClientSecret) {
			t.Error("a secret from two rotations ago works")
		}
		deadline := time.Now().Add(15 * time.Second)
		for works(r2.ClientSecret) {
			if time.Now().After(deadline) {
				t.Fatal("the old secret still works long after its grace period")
			}
			time.Sleep(100 * time.Millisecond)
		}
		if time.Since(start) < 1500*time.Millisecond {
			t.Errorf("the old secret stopped after %v, before its 2s grace period", time.Since(start))
		}
		if !works(r3.ClientSecret) {
			t.Error("the new secret stopped working")
		}
		// The failed attempts with stale secrets are audited as client_auth failures.
		awaitAudit(t, e, tn.TenantID, "oauth.client_auth", func(a *ent.AuditLog) bool {
			return a.Outcome == "failure" && a.ResourceID == c.ClientID && a.Details["reason"] == "invalid_secret"
		})

		// Validation.
		for _, g := range []any{-1, 30*24*3600 + 1, "soon"} {
			resp := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients/" + c.ClientID + "/rotate-secret",
				Bearer: tn.AccessToken, Body: map[string]any{"grace_period_seconds": g}})
			wantError(t, resp, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "grace_period_seconds")
		}
		if !works(r3.ClientSecret) {
			t.Error("a refused rotation changed the secret")
		}
		wantError(t, e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients/cvc_doesnotexist/rotate-secret",
			Bearer: tn.AccessToken}), http.StatusNotFound, "NOT_FOUND")

		entries := auditEntries(t, e, tn.TenantID, "oauth_client.rotate_secret", "")
		if len(entries) != 3 {
			t.Fatalf("%d rotate_secret entries, want 3", len(entries))
		}
		if entries[2].Details["grace_period_seconds"] != float64(2) || entries[0].Details["grace_period_seconds"] != float64(0) ||
			entries[0].ResourceID != c.ClientID {
			t.Errorf("rotate_secret entries: %v / %v", entries[0].Details, entries[2].Details)
		}
		for _, en := range entries {
			for _, s := range []string{r1.ClientSecret, r2.ClientSecret, r3.ClientSecret} {
				if strings.Contains(fmt.Sprint(en.Details), strings.TrimPrefix(s, "cvcs_")) {
					t.Fatal("an audit entry holds a secret")
				}
			}
		}
	})
}

func TestOAuthClientDelete(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Delete Co")
		c := tn.createClient(t, map[string]any{"name": "doomed", "scopes": []string{"api_keys:read"}})
		keep := tn.createClient(t, map[string]any{"name": "kept", "scopes": []string{"api_keys:read"}})
		path := "/api/v1/oauth-clients/" + c.ClientID

		resp := e.Do(apitest.Request{Method: http.MethodDelete, Path: path, Bearer: tn.AccessToken})
		if resp.Status != http.StatusOK || !resp.Envelope.Success {
			t.Fatalf("DELETE: %d %s", resp.Status, redact(resp.Body))
		}
		var d struct {
			ClientID string `json:"client_id"`
			Deleted  bool   `json:"deleted"`
		}
		resp.Data(t, &d)
		if d.ClientID != c.ClientID || !d.Deleted {
			t.Errorf("DELETE answer %+v", d)
		}
		wantError(t, e.Get(path, tn.AccessToken), http.StatusNotFound, "NOT_FOUND")
		wantError(t, e.Do(apitest.Request{Method: http.MethodDelete, Path: path, Bearer: tn.AccessToken}), http.StatusNotFound, "NOT_FOUND")
		n, err := e.Store.Client.OAuthClient.Query().Where(oauthclient.ClientID(c.ClientID)).Count(store.Unrestricted(context.Background()))
		if err != nil || n != 0 {
			t.Fatalf("deleted client still in the DB (%d, %v)", n, err)
		}
		dbClient(t, e, keep.ClientID)
		wantOAuthError(t, clientCredentials(e, c.ClientID, c.ClientSecret, ""), http.StatusUnauthorized, "invalid_client")
		issueToken(t, e, keep, "")

		entries := auditEntries(t, e, tn.TenantID, "oauth_client.delete", "")
		if len(entries) != 1 || entries[0].ResourceID != c.ClientID || entries[0].Details["name"] != "doomed" || entries[0].ActorID != tn.UserID.String() {
			t.Fatalf("oauth_client.delete entries: %+v", entries)
		}
	})
}

// Routes need their scopes; anonymous callers get 401.
func TestOAuthClientRouteScopes(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Scopes Co")
		c := tn.createClient(t, map[string]any{"name": "c", "scopes": []string{"api_keys:read"}})
		reader := tn.key(t, "oauth_clients:read").Key
		other := tn.key(t, "api_keys:read").Key
		withKey := func(method, path, key string, body any) *apitest.Response {
			return e.Do(apitest.Request{Method: method, Path: path, Body: body, Header: map[string]string{"X-API-Key": key}})
		}
		base := "/api/v1/oauth-clients"
		for _, r := range []struct {
			method, path string
			body         any
			need         string
		}{
			{http.MethodGet, base, nil, "oauth_clients:read"},
			{http.MethodGet, base + "/" + c.ClientID, nil, "oauth_clients:read"},
			{http.MethodPost, base, map[string]any{"name": "x", "scopes": []string{"api_keys:read"}}, "oauth_clients:write"},
			{http.MethodPatch, base + "/" + c.ClientID, map[string]any{"name": "x"}, "oauth_clients:write"},
			{http.MethodPost, base + "/" + c.ClientID + "/rotate-secret", map[string]any{}, "oauth_clients:write"},
			{http.MethodDelete, base + "/" + c.ClientID, nil, "oauth_clients:write"},
		} {
			key := other
			if r.need == "oauth_clients:write" {
				key = reader
			}
			resp := withKey(r.method, r.path, key, r.body)
			wantError(t, resp, http.StatusForbidden, "FORBIDDEN")
			if got := resp.Envelope.Error.Details["required_scope"]; got != r.need {
				t.Errorf("%s %s: required_scope %v, want %s", r.method, r.path, got, r.need)
			}
			anon := e.Do(apitest.Request{Method: r.method, Path: r.path, Body: r.body})
			wantError(t, anon, http.StatusUnauthorized, "UNAUTHORIZED")
			if anon.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", r.method, r.path)
			}
		}
		if resp := withKey(http.MethodGet, base+"/"+c.ClientID, reader, nil); resp.Status != http.StatusOK {
			t.Errorf("GET with oauth_clients:read: %d", resp.Status)
		}
		// Nothing changed.
		row := dbClient(t, e, c.ClientID)
		if row.Name != "c" || !secret.Equal(row.SecretHash, secret.Hash(c.ClientSecret)) {
			t.Error("a refused request changed the client")
		}
	})
}

// Another tenant's client is 404 NOT_FOUND on every route and GraphQL
// field, exactly like an id that does not exist, and stays unchanged.
func TestOAuthClientTenantIsolation(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Iso A")
		b := register(t, e, "Iso B")
		bc := b.createClient(t, map[string]any{"name": "b's client", "scopes": []string{"api_keys:read"}})
		before := dbClient(t, e, bc.ClientID)
		aKey := a.key(t, "oauth_clients:read", "oauth_clients:write").Key

		for _, id := range []string{bc.ClientID, "cvc_doesnotexist"} {
			path := "/api/v1/oauth-clients/" + id
			for _, auth := range []apitest.Request{{Bearer: a.AccessToken}, {Header: map[string]string{"X-API-Key": aKey}}} {
				for _, r := range []apitest.Request{
					{Method: http.MethodGet, Path: path},
					{Method: http.MethodPatch, Path: path, Body: map[string]any{"name": "hijacked", "status": "disabled"}},
					{Method: http.MethodPost, Path: path + "/rotate-secret", Body: map[string]any{"grace_period_seconds": 60}},
					{Method: http.MethodDelete, Path: path},
				} {
					r.Bearer, r.Header = auth.Bearer, auth.Header
					resp := e.Do(r)
					wantError(t, resp, http.StatusNotFound, "NOT_FOUND")
				}
			}
		}
		var listed []clientJSON
		e.Get("/api/v1/oauth-clients", a.AccessToken).Data(t, &listed)
		if len(listed) != 0 {
			t.Errorf("A lists %d clients, want 0", len(listed))
		}

		for _, q := range []struct {
			name, query string
			vars        map[string]any
		}{
			{"oauthClient", `query($id: String!) { oauthClient(clientID: $id) { clientID name } }`, map[string]any{"id": bc.ClientID}},
			{"updateOAuthClient", `mutation($id: String!) { updateOAuthClient(clientID: $id, input: {name: "hijacked", status: disabled}) { clientID } }`, map[string]any{"id": bc.ClientID}},
			{"rotateOAuthClientSecret", `mutation($id: String!) { rotateOAuthClientSecret(clientID: $id) { clientSecret } }`, map[string]any{"id": bc.ClientID}},
			{"deleteOAuthClient", `mutation($id: String!) { deleteOAuthClient(clientID: $id) }`, map[string]any{"id": bc.ClientID}},
		} {
			g := e.GraphQL(q.query, q.vars, a.AccessToken)
			if g.Code() != "NOT_FOUND" {
				t.Errorf("GraphQL %s on B's client: code %q, errors %d, data %s", q.name, g.Code(), len(g.Errors), redact(g.Data))
			}
			if bytes.Contains(g.Data, []byte("cvcs_")) || bytes.Contains(g.Data, []byte("b's client")) {
				t.Errorf("GraphQL %s leaks B's client", q.name)
			}
		}
		var conn struct {
			OauthClients struct {
				TotalCount int `json:"totalCount"`
			} `json:"oauthClients"`
		}
		e.GraphQL(`{ oauthClients { totalCount } }`, nil, a.AccessToken).Decode(t, &conn)
		if conn.OauthClients.TotalCount != 0 {
			t.Errorf("GraphQL oauthClients counts %d of B's", conn.OauthClients.TotalCount)
		}

		after := dbClient(t, e, bc.ClientID)
		if after.Name != before.Name || after.Status != before.Status || !after.UpdatedAt.Equal(before.UpdatedAt) ||
			!secret.Equal(after.SecretHash, before.SecretHash) || clientHasPrevious(after) {
			t.Error("B's client changed")
		}
		issueToken(t, e, bc, "")
		for _, action := range []string{"oauth_client.update", "oauth_client.rotate_secret", "oauth_client.delete"} {
			if n := len(auditEntries(t, e, a.TenantID, action, "")) + len(auditEntries(t, e, b.TenantID, action, "")); n != 0 {
				t.Errorf("%d %s entries for refused requests", n, action)
			}
		}
	})
}

// GraphQL and REST are two views of the same resolvers.
func TestOAuthClientGraphQLAndREST(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Graph Co")
		var created struct {
			CreateOAuthClient struct {
				ClientSecret string `json:"clientSecret"`
				OauthClient  struct {
					ID                    string   `json:"id"`
					ClientID              string   `json:"clientID"`
					Name                  string   `json:"name"`
					Scopes                []string `json:"scopes"`
					GrantTypes            []string `json:"grantTypes"`
					RedirectUris          []string `json:"redirectUris"`
					AccessTokenTTLSeconds int      `json:"accessTokenTTLSeconds"`
					Status                string   `json:"status"`
				} `json:"oauthClient"`
			} `json:"createOAuthClient"`
		}
		e.GraphQL(`mutation($in: CreateOAuthClientInput!) {
			createOAuthClient(input: $in) { clientSecret oauthClient { id clientID name scopes grantTypes redirectUris accessTokenTTLSeconds status } } }`,
			map[string]any{"in": map[string]any{"name": "from graphql", "scopes": []string{"api_keys:read", "oauth_clients:read"},
				"redirectURIs": []string{"https://app.example.com/cb"}, "accessTokenTTLSeconds": 300}}, tn.AccessToken).Decode(t, &created)
		gc := created.CreateOAuthClient
		if !strings.HasPrefix(gc.OauthClient.ClientID, "cvc_") || !strings.HasPrefix(gc.ClientSecret, "cvcs_") ||
			gc.OauthClient.Status != "active" || gc.OauthClient.AccessTokenTTLSeconds != 300 {
			t.Fatalf("createOAuthClient: client_id %q status %q ttl %d", gc.OauthClient.ClientID, gc.OauthClient.Status, gc.OauthClient.AccessTokenTTLSeconds)
		}

		// Read through REST.
		var rc clientJSON
		resp := e.Get("/api/v1/oauth-clients/"+gc.OauthClient.ClientID, tn.AccessToken)
		if resp.Status != http.StatusOK {
			t.Fatalf("REST GET of a GraphQL client: %d", resp.Status)
		}
		resp.Data(t, &rc)
		if rc.ID.String() != gc.OauthClient.ID || rc.Name != "from graphql" || !slices.Equal(rc.Scopes, gc.OauthClient.Scopes) ||
			!slices.Equal(rc.GrantTypes, gc.OauthClient.GrantTypes) || !slices.Equal(rc.RedirectURIs, gc.OauthClient.RedirectUris) ||
			rc.AccessTokenTTLSeconds != 300 || rc.Status != "active" {
			t.Errorf("REST view %+v differs from GraphQL %+v", rc, gc.OauthClient)
		}
		if tok := issueToken(t, e, clientJSON{ClientID: gc.OauthClient.ClientID, ClientSecret: gc.ClientSecret}, ""); tok.ExpiresIn != 300 {
			t.Errorf("token of the GraphQL client: expires_in %d", tok.ExpiresIn)
		}

		// Created through REST, read through GraphQL.
		r := tn.createClient(t, map[string]any{"name": "from rest", "scopes": []string{"api_keys:read"}})
		var one struct {
			OauthClient struct {
				ID       string   `json:"id"`
				ClientID string   `json:"clientID"`
				Name     string   `json:"name"`
				Scopes   []string `json:"scopes"`
				TenantID string   `json:"tenantID"`
			} `json:"oauthClient"`
		}
		e.GraphQL(`query($id: String!) { oauthClient(clientID: $id) { id clientID name scopes tenantID } }`,
			map[string]any{"id": r.ClientID}, tn.AccessToken).Decode(t, &one)
		if one.OauthClient.ID != r.ID.String() || one.OauthClient.Name != "from rest" || one.OauthClient.TenantID != tn.TenantID.String() ||
			!slices.Equal(one.OauthClient.Scopes, r.Scopes) {
			t.Errorf("GraphQL view %+v differs from REST %+v", one.OauthClient, r)
		}
		var list struct {
			OauthClients struct {
				TotalCount int `json:"totalCount"`
				Edges      []struct {
					Node struct {
						ClientID string `json:"clientID"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"oauthClients"`
		}
		e.GraphQL(`{ oauthClients(first: 10) { totalCount edges { node { clientID } } } }`, nil, tn.AccessToken).Decode(t, &list)
		if list.OauthClients.TotalCount != 2 || len(list.OauthClients.Edges) != 2 {
			t.Errorf("GraphQL list: %d of %d", len(list.OauthClients.Edges), list.OauthClients.TotalCount)
		}

		// Updated through GraphQL, seen through REST; and the REST PATCH seen through GraphQL.
		var upd struct {
			UpdateOAuthClient struct {
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"updateOAuthClient"`
		}
		e.GraphQL(`mutation($id: String!) { updateOAuthClient(clientID: $id, input: {name: "renamed", status: disabled}) { name status } }`,
			map[string]any{"id": r.ClientID}, tn.AccessToken).Decode(t, &upd)
		var after clientJSON
		e.Get("/api/v1/oauth-clients/"+r.ClientID, tn.AccessToken).Data(t, &after)
		if upd.UpdateOAuthClient.Name != "renamed" || after.Name != "renamed" || after.Status != "disabled" {
			t.Errorf("after GraphQL update: GraphQL %+v, REST %s %s", upd.UpdateOAuthClient, after.Name, after.Status)
		}
		// The same validation through GraphQL.
		g := e.GraphQL(`mutation($id: String!) { updateOAuthClient(clientID: $id, input: {grantTypes: ["password"]}) { name } }`,
			map[string]any{"id": r.ClientID}, tn.AccessToken)
		if g.Code() != "VALIDATION_ERROR" {
			t.Errorf("GraphQL grantTypes password: code %q", g.Code())
		}
		g = e.GraphQL(`mutation { createOAuthClient(input: {name: "x", scopes: ["users:write"]}) { clientSecret } }`, nil,
			tn.key(t, "oauth_clients:write", "api_keys:read").Key)
		if g.Code() != "FORBIDDEN" {
			t.Errorf("GraphQL create beyond the caller's scopes: code %q", g.Code())
		}

		// Rotated through GraphQL: the REST-created client's old secret stops.
		var rot struct {
			RotateOAuthClientSecret struct {
				ClientSecret string `json:"clientSecret"`
				OauthClient  struct {
					ClientID string `json:"clientID"`
				} `json:"oauthClient"`
			} `json:"rotateOAuthClientSecret"`
		}
		e.GraphQL(`mutation($id: String!) { rotateOAuthClientSecret(clientID: $id) { clientSecret oauthClient { clientID } } }`,
			map[string]any{"id": gc.OauthClient.ClientID}, tn.AccessToken).Decode(t, &rot)
		if rot.RotateOAuthClientSecret.OauthClient.ClientID != gc.OauthClient.ClientID || rot.RotateOAuthClientSecret.ClientSecret == gc.ClientSecret {
			t.Fatal("rotateOAuthClientSecret: same client, new secret expected")
		}
		wantOAuthError(t, clientCredentials(e, gc.OauthClient.ClientID, gc.ClientSecret, ""), http.StatusUnauthorized, "invalid_client")
		issueToken(t, e, clientJSON{ClientID: gc.OauthClient.ClientID, ClientSecret: rot.RotateOAuthClientSecret.ClientSecret}, "")

		// Deleted through GraphQL, gone from REST.
		var del struct {
			DeleteOAuthClient string `json:"deleteOAuthClient"`
		}
		e.GraphQL(`mutation($id: String!) { deleteOAuthClient(clientID: $id) }`, map[string]any{"id": gc.OauthClient.ClientID}, tn.AccessToken).Decode(t, &del)
		if del.DeleteOAuthClient != gc.OauthClient.ClientID {
			t.Errorf("deleteOAuthClient returned %q", del.DeleteOAuthClient)
		}
		wantError(t, e.Get("/api/v1/oauth-clients/"+gc.OauthClient.ClientID, tn.AccessToken), http.StatusNotFound, "NOT_FOUND")

		// Every change, whichever way it came, is audited the same.
		for action, want := range map[string]int{"oauth_client.create": 2, "oauth_client.update": 1, "oauth_client.rotate_secret": 1, "oauth_client.delete": 1} {
			if n := len(auditEntries(t, e, tn.TenantID, action, "")); n != want {
				t.Errorf("%d %s entries, want %d", n, action, want)
			}
		}
	})
}

// redirects is n distinct https redirect URIs of size bytes each.
func redirects(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		u := fmt.Sprintf("https://app.example.com/cb/%d/", i)
		out[i] = u + strings.Repeat("x", max(0, size-len(u)))
	}
	return out
}

package apitest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// benchEnv is a server on SQLite with one tenant and one client.
func benchEnv(b *testing.B) (*apitest.Env, *tenantFixture, clientJSON) {
	b.Helper()
	e := apitest.New(b, storetest.Open(b, "sqlite"))
	tn := register(b, e, "Bench")
	c := tn.createClient(b, map[string]any{"name": "bench", "scopes": []string{"api_keys:read", "oauth_clients:read"}})
	return e, tn, c
}

func serve(b *testing.B, h http.Handler, path, body string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: status %d", path, rec.Code)
	}
	return rec
}

// BenchmarkTokenIssuance serves POST /oauth/token (client_secret_basic)
// through the whole handler chain without the network.
func BenchmarkTokenIssuance(b *testing.B) {
	e, _, c := benchEnv(b)
	h := e.Handler()
	body := url.Values{"grant_type": {"client_credentials"}}.Encode()
	header := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basicHeader(c.ClientID, c.ClientSecret)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve(b, h, "/oauth/token", body, header)
	}
}

// BenchmarkIntrospection serves POST /oauth/introspect, authenticated by the
// client's Basic credentials, for an active token.
func BenchmarkIntrospection(b *testing.B) {
	e, _, c := benchEnv(b)
	h := e.Handler()
	tok := issueToken(b, e, c, "")
	body := url.Values{"token": {tok.AccessToken}}.Encode()
	header := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basicHeader(c.ClientID, c.ClientSecret)}
	if rec := serve(b, h, "/oauth/introspect", body, header); !strings.Contains(rec.Body.String(), `"active":true`) {
		b.Fatal("introspection: not active")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve(b, h, "/oauth/introspect", body, header)
	}
}

// BenchmarkIntrospectionAPIKey is introspection by a resource server holding
// an API key with oauth_clients:read (the key verification is cached).
func BenchmarkIntrospectionAPIKey(b *testing.B) {
	e, tn, c := benchEnv(b)
	h := e.Handler()
	key := tn.key(b, "oauth_clients:read").Key
	tok := issueToken(b, e, c, "")
	body := url.Values{"token": {tok.AccessToken}}.Encode()
	header := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-API-Key": key}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serve(b, h, "/oauth/introspect", body, header)
	}
}

// BenchmarkAccessTokenRoute serves GET /api/v1/auth/me with an access token:
// the cost of an API call authenticated by OAuth, end to end in process.
func BenchmarkAccessTokenRoute(b *testing.B) {
	e, _, c := benchEnv(b)
	h := e.Handler()
	tok := issueToken(b, e, c, "")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/auth/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

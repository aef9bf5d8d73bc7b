package apitest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// benchGet serves GET path with an X-API-Key through e's whole handler
// chain, without the network, b.N times on each database.
func benchGet(b *testing.B, setup func(b *testing.B, e *apitest.Env, tn *tenantFixture) (path, key string)) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			e := apitest.New(b, storetest.Open(b, backend))
			path, key := setup(b, e, register(b, e, "Bench"))
			h := e.Handler()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("X-API-Key", key)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: status %d", path, rec.Code)
				}
			}
		})
	}
}

// BenchmarkAuthMeAPIKey serves GET /api/v1/auth/me with X-API-Key: the key
// and the tenant come from the caches.
func BenchmarkAuthMeAPIKey(b *testing.B) {
	benchGet(b, func(b *testing.B, e *apitest.Env, tn *tenantFixture) (string, string) {
		return "/api/v1/auth/me", tn.key(b, "api_keys:read").Key
	})
}

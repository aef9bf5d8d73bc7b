package apitest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// BenchmarkDecryptRoute serves GET /api/v1/credentials/{integration} (one
// credential, decrypted and audited) through the whole handler chain
// without the network, from 16 clients per core (32 here, as the load
// harness's wrk -c32), so the decrypts' audit entries share group commits
// as under load.
func BenchmarkDecryptRoute(b *testing.B) {
	e := apitest.New(b, storetest.Open(b, "sqlite"))
	tn := register(b, e, "Bench")
	wantStatus(b, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken,
		map[string]any{"integration_id": "bench", "auth_type": "bearer_token", "data": map[string]any{"token": "bench-token"}}), http.StatusCreated)
	key := tn.key(b, "credentials:decrypt")
	h := e.Handler()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/credentials/bench", nil)
			req.Header.Set("X-API-Key", key.Key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}

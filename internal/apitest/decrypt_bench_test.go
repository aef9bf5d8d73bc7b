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
// without the network, on each database, from 16 clients per core (32
// here, as the load harness's wrk -c32), so the decrypts' audit entries
// share group commits as under load; statements/op is the SQL sent per
// decrypt, their audit inserts shared.
func BenchmarkDecryptRoute(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			st := storetest.Open(b, backend)
			e := apitest.New(b, st)
			tn := register(b, e, "Bench")
			wantStatus(b, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken,
				map[string]any{"integration_id": "bench", "auth_type": "bearer_token", "data": map[string]any{"token": "bench-token"}}), http.StatusCreated)
			key := tn.key(b, "credentials:decrypt")
			h := e.Handler()
			b.ReportAllocs()
			b.SetParallelism(16)
			before := st.Statements()
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
			b.ReportMetric(float64(st.Statements()-before)/float64(b.N), "statements/op")
		})
	}
}

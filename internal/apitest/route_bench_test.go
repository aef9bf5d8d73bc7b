package apitest_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// BenchmarkValidateRoute serves POST /api/v1/api-keys/{id}/validate through
// the whole handler chain (middleware, auth, route table, resolver,
// envelope) without the network: the server-side cost of the hot route.
func BenchmarkValidateRoute(b *testing.B) {
	e := apitest.New(b, storetest.Open(b, "sqlite"))
	key := register(b, e, "Bench").key(b, "api_keys:read")
	body, _ := json.Marshal(map[string]string{"key": key.Key})
	h := e.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/api-keys/"+key.ID.String()+"/validate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", key.Key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

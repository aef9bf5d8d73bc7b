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
	reg := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/register",
		Body: map[string]string{"tenant_name": "Bench", "email": "bench@example.com", "password": "bench-password-1"}})
	var session struct {
		AccessToken string `json:"access_token"`
	}
	reg.Data(b, &session)
	created := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/api-keys", Bearer: session.AccessToken,
		Body: map[string]any{"name": "bench", "scopes": []string{"api_keys:read"}}})
	var key struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	created.Data(b, &key)
	body, _ := json.Marshal(map[string]string{"key": key.Key})
	h := e.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/api-keys/"+key.ID+"/validate", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", key.Key)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

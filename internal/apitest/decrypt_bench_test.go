package apitest_test

import (
	"net/http"
	"testing"
)

// BenchmarkDecryptRoute serves GET /api/v1/credentials/{integration} (one
// credential, decrypted and audited), so the decrypts' audit entries share
// group commits as under load.
func BenchmarkDecryptRoute(b *testing.B) {
	benchRoute(b, http.MethodGet, "/api/v1/credentials/bench", "credentials:decrypt", http.StatusOK, func(b *testing.B, tn *tenantFixture) {
		wantStatus(b, do(tn.e, http.MethodPost, "/api/v1/credentials", tn.AccessToken,
			map[string]any{"integration_id": "bench", "auth_type": "bearer_token", "data": map[string]any{"token": "bench-token"}}), http.StatusCreated)
	}, nil)
}

package apitest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// benchRoute serves method path with an X-API-Key holding scope, and the
// body bodyOf(i) gives the i-th request (none when bodyOf is nil), through
// e's whole handler chain without the network, b.N times on each database,
// from 32 concurrent clients on two processors (the load harness's wrk
// -c32); statements/op is the SQL it sent per request, statements shared
// by requests (a group commit) divided among them.
func benchRoute(b *testing.B, method, path, scope string, want int, setup func(b *testing.B, tn *tenantFixture), bodyOf func(i int) string) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			st := storetest.Open(b, backend)
			e := apitest.New(b, st)
			tn := register(b, e, "Bench")
			key := tn.key(b, scope).Key
			if setup != nil {
				setup(b, tn)
			}
			h := e.Handler()
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16)
			before := st.Statements()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var body io.Reader
					if bodyOf != nil {
						body = bytes.NewBufferString(bodyOf(int(n.Add(1))))
					}
					req := httptest.NewRequest(method, path, body)
					req.Header.Set("X-API-Key", key)
					if body != nil {
						req.Header.Set("Content-Type", "application/json")
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != want || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
						b.Errorf("%s %s: status %d: %.300s", method, path, rec.Code, rec.Body)
						return
					}
				}
			})
			b.ReportMetric(float64(st.Statements()-before)/float64(b.N), "statements/op")
		})
	}
}

// BenchmarkStoreCredentialRoute serves POST /api/v1/credentials, a new
// integration each time: seal, insert and audit in one transaction.
func BenchmarkStoreCredentialRoute(b *testing.B) {
	benchRoute(b, http.MethodPost, "/api/v1/credentials", "credentials:write", http.StatusCreated, nil, func(i int) string {
		return fmt.Sprintf(`{"integration_id":"bench-%d","auth_type":"bearer_token","data":{"token":"t-%d"}}`, i, i)
	})
}

// BenchmarkAPIKeysConnection serves the GraphQL apiKeys(first: 50) page of a
// tenant holding 50 keys.
func BenchmarkAPIKeysConnection(b *testing.B) {
	query := `{"query":"{ apiKeys(first: 50) { edges { node { id name prefix scopes status createdAt lastUsedAt expiresAt } } pageInfo { hasNextPage endCursor } } }"}`
	benchRoute(b, http.MethodPost, "/graphql", "api_keys:read", http.StatusOK, func(b *testing.B, tn *tenantFixture) {
		for range 49 {
			tn.key(b, "api_keys:read")
		}
	}, func(int) string { return query })
}

package server

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/credvault/credvault/rest"
)

// TestTimeoutSparesStreams checks that the request timeout bounds every
// request's context but a streaming route's, which outlasts it.
func TestTimeoutSparesStreams(t *testing.T) {
	t.Parallel()
	h := timeout(time.Minute, (&rest.API{}).Streaming("/api/v1"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, bounded := r.Context().Deadline()
		_, _ = w.Write([]byte(strconv.FormatBool(bounded)))
	}))
	for _, c := range []struct {
		method, path string
		bounded      bool
	}{
		{http.MethodGet, "/api/v1/admin/audit-logs/export", false},
		{http.MethodPost, "/api/v1/admin/audit-logs/export", true},
		{http.MethodGet, "/api/v1/admin/audit-logs", true},
		{http.MethodGet, "/admin/audit-logs/export", true},
		{http.MethodPost, "/graphql", true},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if got := rec.Body.String(); got != strconv.FormatBool(c.bounded) {
			t.Errorf("%s %s: deadline %s, want %v", c.method, c.path, got, c.bounded)
		}
	}
}

package apitest_test

import (
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/credvault/credvault/internal/apitest"
)

// TestMetricsCountStatements: credvault_db_statements_total is a counter of
// the SQL statements the server sent, rising by at least a write's
// begin, insert and commit when a credential is stored.
func TestMetricsCountStatements(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Statements")
		before := scrapeMetrics(t, e)
		wantOK(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{
			"integration_id": "stripe-" + tn.Slug, "auth_type": "api_key", "data": map[string]any{"api_key": "sk_live_x"}}),
			http.StatusCreated, nil)
		after := scrapeMetrics(t, e)
		fam := after["credvault_db_statements_total"]
		if fam == nil {
			t.Fatal("no credvault_db_statements_total on /metrics")
		}
		if fam.GetType() != dto.MetricType_COUNTER {
			t.Fatalf("credvault_db_statements_total is %v, want a counter", fam.GetType())
		}
		d := metricValue(after, "credvault_db_statements_total", nil) - metricValue(before, "credvault_db_statements_total", nil)
		if d < 3 {
			t.Errorf("credvault_db_statements_total rose by %v over a credential write, want at least 3", d)
		}
	})
}

package apitest_test

// Observability over real HTTP, on SQLite and PostgreSQL: /metrics in the
// Prometheus text format (parsed with expfmt), the readiness and admin
// health reports, and the dashboards (stats, usage summary, features).

import (
	"bytes"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

func metricLabels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// findMetric returns the metric of family name whose labels include want, or nil.
func findMetric(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		ls := metricLabels(m)
		match := true
		for k, v := range want {
			if ls[k] != v {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

// metricValue is a counter's or gauge's value (0 when absent).
func metricValue(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	m := findMetric(fams, name, want)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func TestMetrics(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Metered")
		key := newKey(t, e, tn.AccessToken, "api_keys:read", "credentials:read", "credentials:decrypt", "credentials:write")
		client := createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"api_keys:read"}})
		token := issueToken(t, e, client, "").AccessToken
		wantOK(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{
			"integration_id": "stripe-" + tn.Slug, "auth_type": "api_key", "data": map[string]any{"api_key": "sk_live_x"}}),
			http.StatusCreated, nil)

		before := scrapeMetrics(t, e)
		// One of each: a key read by id (session), a decrypt (API key), a
		// call with the access token, a valid and an invalid validation, a
		// bad key, a bad session.
		wantOK(t, do(e, http.MethodGet, "/api/v1/api-keys/"+key.ID.String(), tn.AccessToken, nil), http.StatusOK, nil)
		wantOK(t, do(e, http.MethodGet, "/api/v1/credentials/stripe-"+tn.Slug, key.Key, nil), http.StatusOK, nil)
		me(t, e, token)
		wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys/"+key.ID.String()+"/validate", tn.AccessToken, map[string]any{"key": key.Key}),
			http.StatusOK, nil)
		wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys/"+key.ID.String()+"/validate", tn.AccessToken,
			map[string]any{"key": "cvk_" + strings.Repeat("Z", 43)}), http.StatusOK, nil)
		wantUnauthorized(t, whoami(e, "cvk_"+strings.Repeat("Q", 43)), "invalid")
		wantUnauthorized(t, whoami(e, "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"), "invalid", "malformed")
		after := scrapeMetrics(t, e)

		delta := func(name string, labels map[string]string) float64 {
			return metricValue(after, name, labels) - metricValue(before, name, labels)
		}
		// Requests by route template, method and status.
		keyRoute := map[string]string{"route": "/api/v1/api-keys/{keyId}", "method": "GET", "status": "200"}
		if d := delta("credvault_http_requests_total", keyRoute); d != 1 {
			t.Errorf("credvault_http_requests_total%v rose by %v, want 1", keyRoute, d)
		}
		credRoute := map[string]string{"route": "/api/v1/credentials/{integrationId}", "method": "GET", "status": "200"}
		if d := delta("credvault_http_requests_total", credRoute); d != 1 {
			t.Errorf("credvault_http_requests_total%v rose by %v, want 1", credRoute, d)
		}
		if d := delta("credvault_http_requests_total", map[string]string{"route": "/api/v1/auth/me", "method": "GET", "status": "401"}); d != 2 {
			t.Errorf("401s on /api/v1/auth/me rose by %v, want 2", d)
		}
		reqs := after["credvault_http_requests_total"]
		if reqs.GetType() != dto.MetricType_COUNTER {
			t.Errorf("credvault_http_requests_total is a %v", reqs.GetType())
		}
		for _, m := range reqs.GetMetric() {
			ls := metricLabels(m)
			if ls["route"] == "" || ls["method"] == "" || ls["status"] == "" {
				t.Errorf("request series without route, method or status: %v", ls)
			}
			if uuidRE.MatchString(ls["route"]) || strings.Contains(ls["route"], tn.Slug) {
				t.Errorf("a raw id in a route label: %q", ls["route"])
			}
		}
		// Durations: a histogram by route template and method.
		dur := after["credvault_http_request_duration_seconds"]
		if dur.GetType() != dto.MetricType_HISTOGRAM {
			t.Fatalf("credvault_http_request_duration_seconds is a %v", dur.GetType())
		}
		hm := findMetric(after, "credvault_http_request_duration_seconds", map[string]string{"route": "/api/v1/api-keys/{keyId}", "method": "GET"})
		if hm == nil || hm.GetHistogram().GetSampleCount() < 1 || len(hm.GetHistogram().GetBucket()) == 0 || hm.GetHistogram().GetSampleSum() <= 0 {
			t.Errorf("duration histogram for the key route = %v", hm)
		}
		// Authentication attempts by method and result.
		for _, c := range []struct {
			method, result string
			want           float64
		}{
			{"session", "success", 3}, // the key read and the two validations
			{"api_key", "success", 1}, // the decrypt
			{"access_token", "success", 1},
			{"api_key", "invalid", 1},
		} {
			d := delta("credvault_auth_attempts_total", map[string]string{"method": c.method, "result": c.result})
			if d != c.want {
				t.Errorf("credvault_auth_attempts_total{method=%s,result=%s} rose by %v, want %v", c.method, c.result, d, c.want)
			}
		}
		if findMetric(after, "credvault_auth_attempts_total", map[string]string{"method": "session", "result": "malformed"}) == nil &&
			findMetric(after, "credvault_auth_attempts_total", map[string]string{"method": "session", "result": "invalid"}) == nil {
			t.Error("no failed session attempt counted")
		}
		// Key validations by result: the decrypting call and the valid validation
		// succeeded; the made-up key and the wrong secret were invalid.
		if d := delta("credvault_api_key_validations_total", map[string]string{"result": "success"}); d != 2 {
			t.Errorf("credvault_api_key_validations_total{result=success} rose by %v, want 2", d)
		}
		if d := delta("credvault_api_key_validations_total", map[string]string{"result": "invalid"}); d != 2 {
			t.Errorf("credvault_api_key_validations_total{result=invalid} rose by %v, want 2", d)
		}
		// One decrypt.
		if d := delta("credvault_credential_decrypts_total", nil); d != 1 {
			t.Errorf("credvault_credential_decrypts_total rose by %v, want 1", d)
		}
		// The connection pool, from the DBStats collector.
		pool := map[string]string{"db_name": "credvault"}
		if got, want := metricValue(after, "go_sql_max_open_connections", pool), float64(e.Store.DB.Stats().MaxOpenConnections); got != want || got == 0 {
			t.Errorf("go_sql_max_open_connections = %v, want %v", got, want)
		}
		for _, name := range []string{"go_sql_open_connections", "go_sql_in_use_connections", "go_sql_idle_connections", "go_sql_wait_count_total"} {
			if findMetric(after, name, pool) == nil {
				t.Errorf("no %s", name)
			}
		}
		// Queue depth for each job.
		qd := after["credvault_job_queue_depth"]
		if qd.GetType() != dto.MetricType_GAUGE {
			t.Fatalf("credvault_job_queue_depth is a %v", qd.GetType())
		}
		var jobs []string
		for _, m := range qd.GetMetric() {
			jobs = append(jobs, metricLabels(m)["job"])
		}
		slices.Sort(jobs)
		if !slices.Equal(jobs, jobNames) {
			t.Errorf("credvault_job_queue_depth jobs = %v, want %v", jobs, jobNames)
		}
		// Token endpoint answers, and the runtime collectors.
		if metricValue(after, "credvault_oauth_token_requests_total", map[string]string{"result": "issued"}) < 1 {
			t.Error("no issued token counted")
		}
		if after["go_goroutines"] == nil {
			t.Error("no Go runtime metrics")
		}
		// No secret in the exposition.
		raw := e.Get("/metrics", "").Body
		for _, s := range []string{key.Key, token, client.ClientSecret, tn.AccessToken} {
			if bytes.Contains(raw, []byte(s)) {
				t.Fatal("/metrics shows a secret")
			}
		}
	})
}

// healthJSON is the REST health report.
type healthJSON struct {
	Status            string         `json:"status"`
	Database          string         `json:"database"`
	DatabaseLatencyMs float64        `json:"database_latency_ms"`
	SchemaVersion     string         `json:"schema_version"`
	QueueDepths       map[string]int `json:"queue_depths"`
	Version           string         `json:"version"`
	Commit            string         `json:"commit"`
	UptimeSeconds     int            `json:"uptime_seconds"`
}

func TestAdminHealth(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Healthy")
		// Three rotations waiting an hour: the depth of dek_rotation is exactly 3.
		for range 3 {
			if _, err := e.Store.Client.Job.Create().SetName("dek_rotation").SetRunAt(time.Now().Add(time.Hour)).Save(unrestricted()); err != nil {
				t.Fatal(err)
			}
		}

		var h healthJSON
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/health", tn.AccessToken, nil), http.StatusOK, &h)
		if h.Status != "ok" || h.Database != "ok" || h.DatabaseLatencyMs < 0 || h.Version != "dev" || h.Commit == "" ||
			h.UptimeSeconds < 0 || h.UptimeSeconds > 600 {
			t.Fatalf("admin health = %+v", h)
		}
		if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(h.SchemaVersion) {
			t.Fatalf("schema_version %q is not a 12-digit digest", h.SchemaVersion)
		}
		var names []string
		for n := range h.QueueDepths {
			names = append(names, n)
		}
		slices.Sort(names)
		if !slices.Equal(names, jobNames) || h.QueueDepths["dek_rotation"] != 3 {
			t.Fatalf("queue_depths = %v, want every job and dek_rotation at 3", h.QueueDepths)
		}

		// tenant:read is needed.
		k := newKey(t, e, tn.AccessToken, "api_keys:read")
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/health", k.Key, nil), http.StatusForbidden, "FORBIDDEN",
			"required_scope", "tenant:read")
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/health", "", nil), http.StatusUnauthorized, "UNAUTHORIZED")

		// GraphQL health shows the same.
		var out struct {
			Health struct {
				Status        string `json:"status"`
				SchemaVersion string `json:"schemaVersion"`
				QueueDepths   []struct {
					JobName string `json:"jobName"`
					Depth   int    `json:"depth"`
				} `json:"queueDepths"`
				UptimeSeconds int    `json:"uptimeSeconds"`
				Version       string `json:"version"`
			} `json:"health"`
		}
		gql(t, e, tn.AccessToken, `{ health { status schemaVersion queueDepths { jobName depth } uptimeSeconds version } }`, nil, &out)
		var gnames []string
		for _, q := range out.Health.QueueDepths {
			gnames = append(gnames, q.JobName)
			if q.JobName == "dek_rotation" && q.Depth != 3 {
				t.Errorf("GraphQL depth of dek_rotation = %d, want 3", q.Depth)
			}
		}
		if out.Health.Status != "ok" || out.Health.SchemaVersion != h.SchemaVersion || !slices.Equal(gnames, jobNames) ||
			out.Health.Version != "dev" {
			t.Fatalf("GraphQL health = %+v", out.Health)
		}
		// The metric agrees.
		if d := metricValue(scrapeMetrics(t, e), "credvault_job_queue_depth", map[string]string{"job": "dek_rotation"}); d != 3 {
			t.Fatalf("credvault_job_queue_depth{job=dek_rotation} = %v, want 3", d)
		}

		// With the database down, readiness is 503 and names the check.
		if err := e.Store.DB.Close(); err != nil {
			t.Fatal(err)
		}
		r := e.Get("/api/v1/health", "")
		wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "database", "unavailable")
	})
}

// usageJSON is the data of GET /admin/usage/summary.
type usageJSON struct {
	Days  int `json:"days"`
	Total int `json:"total_requests"`
	Rows  []struct {
		Day           string `json:"day"`
		PrincipalType string `json:"principal_type"`
		PrincipalID   string `json:"principal_id"`
		Requests      int    `json:"requests"`
	} `json:"rows"`
}

func TestDashboards(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Dashboard")
		other := register(t, e, "OtherDash")
		statsFixture(t, e, tn)
		key := newKey(t, e, tn.AccessToken, "tenant:read")
		client := createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"tenant:read"}})
		token := issueToken(t, e, client, "").AccessToken
		otherKey := newKey(t, e, other.AccessToken, "tenant:read")

		// N requests with the key, M with the token, and some of the other tenant's.
		const n, m = 7, 4
		for range n {
			me(t, e, key.Key)
		}
		for range m {
			me(t, e, token)
		}
		me(t, e, otherKey.Key)
		e.Flush()

		// Dashboard stats: counts by kind and status, and the last 24 hours.
		var s statsJSON
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/dashboard/stats", tn.AccessToken, nil), http.StatusOK, &s)
		if s.Counts["api_keys"]["total"] != 4 || s.Counts["api_keys"]["active"] != 2 || s.Counts["oauth_clients"]["total"] != 3 ||
			s.Counts["users"]["total"] != 3 || s.Counts["credentials"]["total"] != 2 || s.Counts["service_accounts"]["total"] != 1 {
			t.Errorf("dashboard counts = %v", s.Counts)
		}
		// The fixture's entries, the key's and the client's creation, and the token issued.
		const audits = fixtureAudits + 3
		if s.RequestsLast24h < n+m || s.AuditEventsLast24h != audits {
			t.Errorf("dashboard: requests %d (want at least %d), audit events %d (want %d)",
				s.RequestsLast24h, n+m, s.AuditEventsLast24h, audits)
		}

		// Usage: per day per API key and client, exact, this tenant's only.
		var u usageJSON
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/usage/summary", tn.AccessToken, nil), http.StatusOK, &u)
		byPrincipal := map[string]int{}
		for _, row := range u.Rows {
			if _, err := time.Parse(time.DateOnly, row.Day); err != nil {
				t.Errorf("row day %q", row.Day)
			}
			byPrincipal[row.PrincipalType+":"+row.PrincipalID] += row.Requests
		}
		want := map[string]int{"api_key:" + key.ID.String(): n, "oauth_client:" + client.ClientID: m}
		if len(byPrincipal) != len(want) || byPrincipal["api_key:"+key.ID.String()] != n || byPrincipal["oauth_client:"+client.ClientID] != m {
			t.Errorf("usage by principal = %v, want %v", byPrincipal, want)
		}
		if u.Days != 30 || u.Total != n+m {
			t.Errorf("usage summary days %d total %d, want 30 and %d", u.Days, u.Total, n+m)
		}
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/usage/summary?days=1", tn.AccessToken, nil), http.StatusOK, &u)
		if u.Days != 1 || u.Total != n+m {
			t.Errorf("usage summary for 1 day: days %d total %d", u.Days, u.Total)
		}
		for _, bad := range []string{"0", "367", "-1", "abc", "1.5"} {
			wantError(t, do(e, http.MethodGet, "/api/v1/admin/usage/summary?days="+bad, tn.AccessToken, nil),
				http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "days")
		}
		// More requests add up after the next flush.
		me(t, e, key.Key)
		e.Flush()
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/usage/summary?days=366", tn.AccessToken, nil), http.StatusOK, &u)
		if u.Total != n+m+1 {
			t.Errorf("usage total after one more request = %d, want %d", u.Total, n+m+1)
		}

		// tenant:read is needed for all three.
		noRead := newKey(t, e, tn.AccessToken, "api_keys:read")
		for _, p := range []string{"/api/v1/admin/dashboard/stats", "/api/v1/admin/usage/summary", "/api/v1/admin/features/status"} {
			wantError(t, do(e, http.MethodGet, p, noRead.Key, nil), http.StatusForbidden, "FORBIDDEN", "required_scope", "tenant:read")
		}

		// GraphQL dashboardStats and usageSummary agree.
		var gq struct {
			DashboardStats struct {
				RequestsLast24h    int `json:"requestsLast24h"`
				AuditEventsLast24h int `json:"auditEventsLast24h"`
			} `json:"dashboardStats"`
			UsageSummary []struct {
				PrincipalType string `json:"principalType"`
				PrincipalID   string `json:"principalID"`
				Requests      int    `json:"requests"`
			} `json:"usageSummary"`
		}
		gql(t, e, tn.AccessToken, `{ dashboardStats { requestsLast24h auditEventsLast24h } usageSummary(days: 7) { day principalType principalID requests } }`, nil, &gq)
		total := 0
		for _, row := range gq.UsageSummary {
			total += row.Requests
		}
		// Since then: noRead's creation and its three refusals.
		if total != n+m+1 || gq.DashboardStats.AuditEventsLast24h != audits+4 || gq.DashboardStats.RequestsLast24h < n+m+1 {
			t.Errorf("GraphQL dashboard = %+v, usage total %d", gq.DashboardStats, total)
		}
		gqlErr(t, e, tn.AccessToken, `{ usageSummary(days: 0) { day } }`, nil, "VALIDATION_ERROR", "field", "days")
	})
}

// featuresJSON is the data of GET /admin/features/status.
type featuresJSON struct {
	Signup        bool     `json:"signup"`
	RateLimits    bool     `json:"rate_limits"`
	TLS           bool     `json:"tls"`
	Introspection bool     `json:"introspection"`
	Environment   string   `json:"environment"`
	CORSOrigins   []string `json:"cors_origins"`
}

func TestFeatureStatus(t *testing.T) {
	t.Parallel()
	t.Run("development defaults", func(t *testing.T) {
		apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
			tn := register(t, e, "Features")
			var f featuresJSON
			wantOK(t, do(e, http.MethodGet, "/api/v1/admin/features/status", tn.AccessToken, nil), http.StatusOK, &f)
			// apitest turns rate limits off.
			want := featuresJSON{Signup: true, RateLimits: false, TLS: false, Introspection: true, Environment: "development", CORSOrigins: []string{}}
			if f.Signup != want.Signup || f.RateLimits != want.RateLimits || f.TLS != want.TLS || f.Introspection != want.Introspection ||
				f.Environment != want.Environment || f.CORSOrigins == nil || len(f.CORSOrigins) != 0 {
				t.Fatalf("features = %+v, want %+v", f, want)
			}
		})
	})
	t.Run("configured", func(t *testing.T) {
		apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
			adm := adminToken(t, e)
			var f featuresJSON
			wantOK(t, do(e, http.MethodGet, "/api/v1/admin/features/status", adm, nil), http.StatusOK, &f)
			if f.Signup || !f.RateLimits || !f.TLS || f.Introspection || f.Environment != "production" ||
				!slices.Equal(f.CORSOrigins, []string{"https://dash.example.com"}) {
				t.Fatalf("features = %+v", f)
			}
			var out struct {
				FeatureStatus struct {
					Signup      bool     `json:"signup"`
					RateLimits  bool     `json:"rateLimits"`
					TLS         bool     `json:"tls"`
					Environment string   `json:"environment"`
					CorsOrigins []string `json:"corsOrigins"`
				} `json:"featureStatus"`
			}
			gql(t, e, adm, `{ featureStatus { signup rateLimits tls environment corsOrigins } }`, nil, &out)
			if out.FeatureStatus.Signup || !out.FeatureStatus.RateLimits || !out.FeatureStatus.TLS || out.FeatureStatus.Environment != "production" {
				t.Fatalf("GraphQL featureStatus = %+v", out.FeatureStatus)
			}
			// Signup is really off.
			wantStatus(t, do(e, http.MethodPost, "/api/v1/auth/register", "", map[string]any{
				"tenant_name": "Nope", "email": "nope-" + uuid.NewString()[:6] + "@x.test", "password": testPassword}),
				http.StatusForbidden)
		}, withAdmin, func(c *config.Config) {
			c.AllowSignup = false
			c.RateLimits = "free=100000/h,pro=100000/h,enterprise=100000/h"
			c.TLSCert, c.TLSKey = "/nonexistent/cert.pem", "/nonexistent/key.pem"
			c.GraphQLIntrospection = false
			c.Env = "production"
			c.CORSOrigins = []string{"https://dash.example.com"}
		})
	})
}

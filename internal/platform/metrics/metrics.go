// Package metrics holds CredVault's Prometheus metrics, served at /metrics.
// Each server has its own registry, so several servers in one process (as
// in tests) do not mix their counts.
package metrics

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's instruments.
type Metrics struct {
	Registry *prometheus.Registry
	// Requests counts HTTP requests by route template, method and status.
	Requests *prometheus.CounterVec
	// Duration observes request durations by route template and method.
	Duration *prometheus.HistogramVec
	// AuthAttempts counts authentications by method (session, api_key,
	// access_token, password, client_credentials) and result.
	AuthAttempts *prometheus.CounterVec
	// KeyValidations counts API key checks by result (valid or the reason).
	KeyValidations *prometheus.CounterVec
	// TokensIssued counts token endpoint answers by result (issued or the error).
	TokensIssued *prometheus.CounterVec
	// Decrypts counts credential decryptions.
	Decrypts prometheus.Counter
	// BatchRetries counts failed writes of batched entries by kind, each
	// retried with backoff.
	BatchRetries *prometheus.CounterVec
	// BatchDropped counts batched entries given up by kind: a row that
	// fails on its own (its tenant purged), or one refused by a full queue.
	BatchDropped *prometheus.CounterVec
	// WebhookDeliveries counts webhook delivery attempts by outcome
	// (succeeded, retrying, failed).
	WebhookDeliveries *prometheus.CounterVec
	// WebhookDuration observes how long endpoints take to answer.
	WebhookDuration prometheus.Histogram
	// GatewayRequests counts AI gateway chat requests by outcome (success,
	// upstream_error, blocked, no_provider, invalid).
	GatewayRequests *prometheus.CounterVec
	// GatewayTokens counts AI gateway tokens by kind (prompt, completion).
	GatewayTokens *prometheus.CounterVec

	series sync.Map // requestKey → *requestSeries
}

// New registers the instruments, plus the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_http_requests_total", Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "credvault_http_request_duration_seconds", Help: "HTTP request duration by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		AuthAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_auth_attempts_total", Help: "Authentication attempts by method and result.",
		}, []string{"method", "result"}),
		KeyValidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_api_key_validations_total", Help: "API key checks by result.",
		}, []string{"result"}),
		TokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_oauth_token_requests_total", Help: "OAuth token endpoint answers by result.",
		}, []string{"result"}),
		Decrypts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "credvault_credential_decrypts_total", Help: "Credential decryptions.",
		}),
		BatchRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_batch_retries_total", Help: "Failed writes of batched entries, retried with backoff, by kind.",
		}, []string{"kind"}),
		BatchDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_batch_dropped_total", Help: "Batched entries given up (a row failing alone, or a full queue) by kind.",
		}, []string{"kind"}),
		WebhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_webhook_deliveries_total", Help: "Webhook delivery attempts by outcome (succeeded, retrying, failed).",
		}, []string{"outcome"}),
		WebhookDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "credvault_webhook_delivery_duration_seconds", Help: "How long webhook endpoints took to answer an attempt.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		GatewayRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_gateway_requests_total", Help: "AI gateway chat requests by outcome.",
		}, []string{"outcome"}),
		GatewayTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "credvault_gateway_tokens_total", Help: "AI gateway tokens by kind (prompt, completion).",
		}, []string{"kind"}),
	}
	m.Registry.MustRegister(m.Requests, m.Duration, m.AuthAttempts, m.KeyValidations, m.TokensIssued, m.Decrypts,
		m.BatchRetries, m.BatchDropped, m.WebhookDeliveries, m.WebhookDuration, m.GatewayRequests, m.GatewayTokens,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// requestKey names one series of the request metrics.
type requestKey struct {
	route, method string
	status        int
}

// requestSeries are a request key's counter and histogram, looked up once:
// label hashing on every request is measurable on the hot path.
type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// ObserveRequest counts one request and its duration.
func (m *Metrics) ObserveRequest(route, method string, status int, seconds float64) {
	k := requestKey{route, method, status}
	s, ok := m.series.Load(k)
	if !ok {
		s, _ = m.series.LoadOrStore(k, &requestSeries{
			count:    m.Requests.WithLabelValues(route, method, strconv.Itoa(status)),
			duration: m.Duration.WithLabelValues(route, method),
		})
	}
	rs := s.(*requestSeries)
	rs.count.Inc()
	rs.duration.Observe(seconds)
}

// WatchDB exports the connection pool statistics of db.
func (m *Metrics) WatchDB(db *sql.DB) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, "credvault"))
}

// WatchStatements exports credvault_db_statements_total, read at every
// scrape from count (the store's statements sent).
func (m *Metrics) WatchStatements(count func() uint64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "credvault_db_statements_total",
		Help: "SQL statements sent to the database, each transaction's begin and end included.",
	}, func() float64 { return float64(count()) }))
}

// WatchQueue exports the runs waiting of each job, read at every scrape.
func (m *Metrics) WatchQueue(depth func(context.Context) (map[string]int, error)) {
	m.Registry.MustRegister(&queueCollector{depth: depth})
}

// WatchRateLimitStore exports credvault_rate_limit_redis_fallback, read at
// every scrape: 1 while limits shared in Redis are counted in memory because
// Redis does not answer, 0 otherwise.
func (m *Metrics) WatchRateLimitStore(fallingBack func() bool) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "credvault_rate_limit_redis_fallback",
		Help: "1 while rate limits are counted in memory because the configured Redis does not answer.",
	}, func() float64 {
		if fallingBack() {
			return 1
		}
		return 0
	}))
}

// SetBuildInfo exports credvault_build_info{version,commit,goversion},
// always 1: the series says which build a scrape came from, and joins onto
// any other to label it with the build.
func (m *Metrics) SetBuildInfo(version, commit, goVersion string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "credvault_build_info", Help: "The running build: 1, labelled with its version, commit and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "goversion": goVersion},
	})
	g.Set(1)
	m.Registry.MustRegister(g)
}

// WatchBatch exports credvault_batch_queue_length{kind}, read at every
// scrape: the entries of a batcher waiting to be written, in flight included.
func (m *Metrics) WatchBatch(kind string, queued func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "credvault_batch_queue_length", Help: "Batched entries waiting to be written, by kind.",
		ConstLabels: prometheus.Labels{"kind": kind},
	}, func() float64 { return float64(queued()) }))
}

var queueDepthDesc = prometheus.NewDesc("credvault_job_queue_depth", "Runs waiting (pending or retrying) by job.", []string{"job"}, nil)

type queueCollector struct {
	depth func(context.Context) (map[string]int, error)
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDepthDesc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	depths, err := c.depth(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	for job, n := range depths {
		ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n), job)
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Result names the outcome of an attempt: "success", or reason when set.
func Result(reason string) string {
	if reason == "" {
		return "success"
	}
	return reason
}

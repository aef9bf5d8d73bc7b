package apitest_test

// Rate limits shared through Redis (CREDVAULT_REDIS_URL): two instances on
// one database and one Redis hold one count per caller; a Redis that does
// not answer leaves each instance counting on its own, says so in the
// detailed health and credvault_rate_limit_redis_fallback, and refuses no
// request for it.

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// envRedisURL names the variable holding the Redis for tests.
const envRedisURL = "CREDVAULT_TEST_REDIS_URL"

// withRedis counts limits in the Redis at url under a prefix of this test's
// own, so that no other test or earlier run shares its counters.
func withRedis(url string) func(*config.Config) {
	prefix := "credvault-test:" + randTag()
	return func(c *config.Config) { c.RedisURL, c.RedisPrefix = url, prefix }
}

// limitStore reads rate_limit_store from the detailed health as cred.
func limitStore(t *testing.T, e *apitest.Env, cred string) string {
	t.Helper()
	var h struct {
		RateLimitStore string `json:"rate_limit_store"`
	}
	wantOK(t, do(e, http.MethodGet, "/api/v1/admin/health", cred, nil), http.StatusOK, &h)
	return h.RateLimitStore
}

// fallbackGauge reads credvault_rate_limit_redis_fallback from e's /metrics.
func fallbackGauge(t *testing.T, e *apitest.Env) float64 {
	t.Helper()
	f := scrapeMetrics(t, e)["credvault_rate_limit_redis_fallback"]
	if f == nil || len(f.Metric) != 1 {
		t.Fatalf("credvault_rate_limit_redis_fallback is not exported")
	}
	return f.Metric[0].GetGauge().GetValue()
}

// closedPort returns a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestRateLimitSharedThroughRedis(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv(envRedisURL)
	if redisURL == "" {
		t.Skip(envRedisURL + " is not set: the shared limits need Redis (.ci/run starts one)")
	}
	// The figures: free=100/h, 300 requests through two instances.
	const limit = 100
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			u := storetest.URL(t, backend)
			master := newMaster(t)
			opts := []func(*config.Config){rlPlans("free=" + strconv.Itoa(limit) + "/h"), withRedis(redisURL),
				func(c *config.Config) { c.DatabaseURL = u }, withMaster(master)}
			a, b := apitest.New(t, openStoreAt(t, u), opts...), apitest.New(t, openStoreAt(t, u), opts...)
			ten := register(t, a, "Shared")
			k := ten.key(t)

			// Three times the limit, at once, half through each instance:
			// exactly the limit gets through.
			req := apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: map[string]string{"X-API-Key": k.Key}}
			var answers [2][]rlAnswer
			var wg sync.WaitGroup
			for i, e := range []*apitest.Env{a, b} {
				wg.Go(func() { answers[i] = rlBurst(t, e, 3*limit/2, req) })
			}
			wg.Wait()
			accepted, limited := 0, 0
			for _, ans := range append(answers[0], answers[1]...) {
				switch ans.status {
				case http.StatusOK:
					accepted++
					rlHeaders(t, ans.header, limit, -1, time.Hour)
				case http.StatusTooManyRequests:
					limited++
					r := &apitest.Response{Status: ans.status, Header: ans.header, Body: ans.body}
					if err := json.Unmarshal(ans.body, &r.Envelope); err != nil {
						t.Fatalf("429 body: %v", err)
					}
					rlLimited(t, r, limit, time.Hour)
				default:
					t.Fatalf("status %d: %s", ans.status, redact(ans.body))
				}
			}
			if accepted != limit || limited != 2*limit {
				t.Fatalf("free=%d/h, %d requests through two instances: %d accepted, %d limited", limit, 3*limit, accepted, limited)
			}
			// Either instance refuses the key now; both count in Redis.
			for _, e := range []*apitest.Env{a, b} {
				rlLimited(t, do(e, http.MethodGet, "/api/v1/auth/me", k.Key, nil), limit, time.Hour)
				if got := limitStore(t, e, ten.AccessToken); got != "redis" {
					t.Errorf("rate_limit_store %q, want redis", got)
				}
				if got := fallbackGauge(t, e); got != 0 {
					t.Errorf("credvault_rate_limit_redis_fallback %v, want 0", got)
				}
			}
		})
	}
}

func TestRateLimitRedisUnreachableCountsLocally(t *testing.T) {
	t.Parallel()
	const limit = 5
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Fallback")
		k := ten.key(t)
		// Requests are served, and limited by this instance's own count.
		for i := range limit {
			r := do(e, http.MethodGet, "/api/v1/auth/me", k.Key, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("request %d with Redis unreachable: %d %s", i+1, r.Status, redact(r.Body))
			}
			rlHeaders(t, r.Header, limit, limit-1-i, time.Hour)
		}
		rlLimited(t, do(e, http.MethodGet, "/api/v1/auth/me", k.Key, nil), limit, time.Hour)
		if got := limitStore(t, e, ten.AccessToken); got != "local (redis unreachable)" {
			t.Errorf("rate_limit_store %q, want local (redis unreachable)", got)
		}
		if got := fallbackGauge(t, e); got != 1 {
			t.Errorf("credvault_rate_limit_redis_fallback %v, want 1", got)
		}
	}, rlPlans("free="+strconv.Itoa(limit)+"/h"), func(c *config.Config) { c.RedisURL = "redis://" + closedPort(t) + "/0" })
}

func TestRateLimitWithoutRedisCountsLocally(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Alone")
		if got := limitStore(t, e, ten.AccessToken); got != "local" {
			t.Errorf("rate_limit_store %q, want local", got)
		}
		if got := fallbackGauge(t, e); got != 0 {
			t.Errorf("credvault_rate_limit_redis_fallback %v, want 0", got)
		}
	}, rlPlans("free=100/h"))
}

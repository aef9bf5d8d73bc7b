package ratelimit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// redisCounters returns counters in the test Redis under a fresh prefix,
// closed when t ends; the test is skipped without CREDVAULT_TEST_REDIS_URL.
func redisCounters(t *testing.T, url, prefix string) *Counters {
	t.Helper()
	c, err := NewRedisCounters(url, prefix, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testRedisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("CREDVAULT_TEST_REDIS_URL")
	if u == "" {
		t.Skip("CREDVAULT_TEST_REDIS_URL is not set: shared counters need Redis")
	}
	return u
}

func freshPrefix(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "credvault-test:" + hex.EncodeToString(b)
}

func TestRedisCountersShareOneCountAmongInstances(t *testing.T) {
	t.Parallel()
	url, prefix := testRedisURL(t), freshPrefix(t)
	limits := map[string]access.RateLimit{"free": {Requests: 10, Window: time.Hour}}
	instances := []*Plans{
		NewPlans(limits, "free", redisCounters(t, url, prefix)),
		NewPlans(limits, "free", redisCounters(t, url, prefix)),
	}
	c := caller{p: user("free")}
	// Concurrent requests on both: never more than the limit passes.
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			switch send(instances[i%2], c).status {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 || refused.Load() != 20 {
		t.Fatalf("limit 10, 30 requests on two instances: %d passed, %d refused", ok.Load(), refused.Load())
	}
	// Another limiter's equal key has a count of its own.
	other := NewLimiter("other", 1, time.Hour, redisCounters(t, url, prefix))
	if err := other.Allow("user:" + c.p.ID.String()); err != nil {
		t.Fatalf("another limiter shares the plans' count: %v", err)
	}
	for _, p := range instances {
		if p.counters.Store() != StoreRedis || p.counters.FallingBack() {
			t.Fatalf("store %q, want redis", p.counters.Store())
		}
	}
}

// Login and token limits (a Limiter's Allow) count and check in one step:
// two instances racing on one address admit exactly the limit, where
// checking first let each instance pass one more on the last slot.
func TestRedisLimitersAdmitExactlyTheLimitAmongInstances(t *testing.T) {
	t.Parallel()
	url, prefix := testRedisURL(t), freshPrefix(t)
	const limit, attempts = 20, 120
	instances := []*Limiter{
		NewLimiter("login-ip", limit, time.Hour, redisCounters(t, url, prefix)),
		NewLimiter("login-ip", limit, time.Hour, redisCounters(t, url, prefix)),
	}
	var ok, refused atomic.Int32
	race := make(chan struct{})
	var wg sync.WaitGroup
	for i := range attempts {
		wg.Go(func() {
			<-race
			err := instances[i%2].Allow("203.0.113.7")
			var e *apperr.Error
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &e) && e.Code == apperr.RateLimited:
				refused.Add(1)
			default:
				t.Errorf("Allow: %v", err)
			}
		})
	}
	close(race)
	wg.Wait()
	if ok.Load() != limit || refused.Load() != attempts-limit {
		t.Fatalf("limit %d, %d racing attempts on two instances: %d admitted, %d refused", limit, attempts, ok.Load(), refused.Load())
	}
	// Refusals were taken back: the address is at its limit, not past it.
	start := time.Now().UTC().Truncate(time.Hour)
	if curr, _, err := instances[0].counter.Get("203.0.113.7", start, start.Add(-time.Hour)); err != nil || curr != limit {
		t.Fatalf("count %d after the race (err %v), want %d", curr, err, limit)
	}
	for _, l := range instances {
		if l.counter.redis == nil || l.counter.redis.IsFallbackActivated() {
			t.Fatal("counted in memory, want redis")
		}
	}
}

func TestRedisCountersFallBackToMemory(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	counters := redisCounters(t, "redis://"+addr+"/0", freshPrefix(t))
	p := NewPlans(map[string]access.RateLimit{"free": {Requests: 3, Window: time.Hour}}, "free", counters)
	if got := accepted(t, p, caller{p: user("free")}, 5, 3); got != 3 {
		t.Fatalf("limit 3 counted in memory: %d passed", got)
	}
	if !counters.FallingBack() || counters.Store() != StoreUnreachable {
		t.Fatalf("FallingBack %v, store %q; want the fallback reported", counters.FallingBack(), counters.Store())
	}
	var none *Counters
	if none.Store() != StoreLocal || none.FallingBack() {
		t.Fatalf("nil counters: store %q", none.Store())
	}
}

func TestNewRedisCountersRefusesAMalformedURL(t *testing.T) {
	t.Parallel()
	_, err := NewRedisCounters("http://user:hunter2@example.com", "p", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("accepted an http:// URL")
	}
	if got := err.Error(); got == "" || strings.Contains(got, "hunter2") {
		t.Fatalf("error %q quotes the URL", got)
	}
}

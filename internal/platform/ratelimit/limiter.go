// Package ratelimit limits requests with github.com/go-chi/httprate's
// sliding-window counters: in memory, each instance limiting on its own, or
// in Redis, shared by every instance (see Counters).
package ratelimit

import (
	"math"
	"time"

	"github.com/credvault/credvault/internal/platform/apperr"
)

// Limiter is an httprate limiter driven by hand, for limits whose key is
// known only inside a handler (an account from a login body, a client).
type Limiter struct {
	counter *counter
	limit   int
	window  time.Duration
}

// NewLimiter allows limit events per key within a sliding window, counted
// in counters (nil: in memory) under name, which no other limiter may use.
func NewLimiter(name string, limit int, window time.Duration, counters *Counters) *Limiter {
	return &Limiter{counter: counters.counter(name, window), limit: limit, window: window}
}

// Check returns 429 RATE_LIMIT_EXCEEDED, with details.retry_after in
// seconds, when key has used its limit; it counts nothing.
func (l *Limiter) Check(key string) error {
	now := time.Now().UTC()
	start := now.Truncate(l.window)
	curr, prev, err := l.counter.Get(key, start, start.Add(-l.window))
	if err != nil {
		return err
	}
	if wait := retryAfter(prev, curr, float64(l.limit), l.window, now.Sub(start)); wait > 0 {
		return refused(wait)
	}
	return nil
}

func refused(wait int) error {
	return apperr.New(apperr.RateLimited, "too many requests; try again later").With("retry_after", wait)
}

// retryAfter returns how many whole seconds must pass, with nothing more
// counted, before a sliding-window rate is below threshold; 0 when it is
// already. The rate is httprate's: prev weighted by the share of the
// previous window still inside the sliding window, plus curr; elapsed is
// the time since the current window began.
func retryAfter(prev, curr int, threshold float64, window, elapsed time.Duration) int {
	w, d := float64(window), float64(elapsed)
	var wait float64
	switch {
	case float64(prev)*(w-d)/w+float64(curr) < threshold:
		return 0
	case float64(curr) < threshold:
		// The previous window's share fades within this one: prev*(w-t)/w + curr
		// reaches threshold at t, and prev > 0 here.
		wait = w - (threshold-float64(curr))*w/float64(prev) - d
	default:
		// Only once this window has become the previous one: curr*(w-x)/w
		// reaches threshold x into the next window.
		wait = w - d + w*(1-threshold/float64(curr))
	}
	// Strictly past the instant the rate reaches the threshold.
	return int(math.Floor(wait/float64(time.Second))) + 1
}

// Add counts one event for key.
func (l *Limiter) Add(key string) {
	_ = l.counter.Increment(key, time.Now().UTC().Truncate(l.window))
}

// Allow counts one event for key when key is under its limit (as Check
// decides), in one step: of concurrent events, on this instance or another
// sharing the counters, no more than the limit pass.
func (l *Limiter) Allow(key string) error {
	now := time.Now().UTC()
	elapsed := now.Sub(now.Truncate(l.window))
	curr, prev, ok := l.counter.take(key, now, func(curr, prev int) bool {
		return retryAfter(prev, curr-1, float64(l.limit), l.window, elapsed) == 0
	})
	if ok {
		return nil
	}
	// At least a second: the window may have turned since it was counted.
	return refused(max(1, retryAfter(prev, curr, float64(l.limit), l.window, elapsed)))
}

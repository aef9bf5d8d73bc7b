// Package ratelimit limits requests with github.com/go-chi/httprate's
// sliding-window counters. Counters are in memory: each instance limits on
// its own.
package ratelimit

import (
	"math"
	"time"

	"github.com/go-chi/httprate"

	"github.com/credvault/credvault/apperr"
)

// Limiter is an httprate limiter driven by hand, for limits whose key is
// known only inside a handler (an account from a login body, a client).
type Limiter struct {
	rl     *httprate.RateLimiter
	limit  int
	window time.Duration
}

// NewLimiter allows limit events per key within a sliding window.
func NewLimiter(limit int, window time.Duration) *Limiter {
	// An explicit counter keeps windows aligned to the clock, as Add assumes.
	rl := httprate.NewRateLimiter(limit, window, httprate.WithLimitCounter(httprate.NewLocalLimitCounter(window)))
	return &Limiter{rl: rl, limit: limit, window: window}
}

// Check returns 429 RATE_LIMIT_EXCEEDED, with details.retry_after in
// seconds, when key has used its limit; it counts nothing.
func (l *Limiter) Check(key string) error {
	_, rate, err := l.rl.Status(key)
	if err != nil || rate < float64(l.limit) {
		return err
	}
	now := time.Now().UTC()
	retry := int(math.Ceil(now.Truncate(l.window).Add(l.window).Sub(now).Seconds()))
	return apperr.New(apperr.RateLimited, "too many requests; try again later").With("retry_after", max(retry, 1))
}

// Add counts one event for key.
func (l *Limiter) Add(key string) {
	_ = l.rl.Counter().Increment(key, time.Now().UTC().Truncate(l.window))
}

// Allow checks key and, when it is under its limit, counts one event.
func (l *Limiter) Allow(key string) error {
	if err := l.Check(key); err != nil {
		return err
	}
	l.Add(key)
	return nil
}

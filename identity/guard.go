package identity

import (
	"math"
	"time"

	"github.com/go-chi/httprate"

	"github.com/credvault/credvault/apperr"
)

// LoginGuard limits password logins: every attempt per client address, and
// failed attempts per account, each over a sliding window. Counters are in
// memory, so each instance limits on its own.
type LoginGuard struct {
	perIP      *limiter
	perAccount *limiter
}

// NewLoginGuard limits ipLimit attempts per address and accountFailures
// failed attempts per account within window.
func NewLoginGuard(ipLimit, accountFailures int, window time.Duration) *LoginGuard {
	return &LoginGuard{perIP: newLimiter(ipLimit, window), perAccount: newLimiter(accountFailures, window)}
}

// limiter is an httprate limiter driven by hand: the login resolvers count
// attempts themselves, since an account is known only from the body.
type limiter struct {
	rl     *httprate.RateLimiter
	limit  int
	window time.Duration
}

func newLimiter(limit int, window time.Duration) *limiter {
	// An explicit counter keeps windows aligned to the clock, as add assumes.
	rl := httprate.NewRateLimiter(limit, window, httprate.WithLimitCounter(httprate.NewLocalLimitCounter(window)))
	return &limiter{rl: rl, limit: limit, window: window}
}

func (l *limiter) check(key string) error {
	_, rate, err := l.rl.Status(key)
	if err != nil || rate < float64(l.limit) {
		return err
	}
	now := time.Now().UTC()
	retry := int(math.Ceil(now.Truncate(l.window).Add(l.window).Sub(now).Seconds()))
	return apperr.New(apperr.RateLimited, "too many login attempts; try again later").
		With("retry_after", max(retry, 1))
}

func (l *limiter) add(key string) {
	_ = l.rl.Counter().Increment(key, time.Now().UTC().Truncate(l.window))
}

// Attempt counts one login attempt from ip and refuses it when the address
// is over its limit.
func (g *LoginGuard) Attempt(ip string) error {
	if g == nil {
		return nil
	}
	if err := g.perIP.check(ip); err != nil {
		return err
	}
	g.perIP.add(ip)
	return nil
}

// CheckAccount refuses a login to an account with too many recent failures.
func (g *LoginGuard) CheckAccount(account string) error {
	if g == nil {
		return nil
	}
	return g.perAccount.check(account)
}

// Failed counts a failed login to account.
func (g *LoginGuard) Failed(account string) {
	if g != nil {
		g.perAccount.add(account)
	}
}

package identity

import (
	"time"

	"github.com/credvault/credvault/internal/platform/ratelimit"
)

// LoginGuard limits password logins: every attempt per client address, and
// failed attempts per account, each over a sliding window. A nil guard
// limits nothing.
type LoginGuard struct {
	perIP      *ratelimit.Limiter
	perAccount *ratelimit.Limiter
}

// NewLoginGuard limits ipLimit attempts per address and accountFailures
// failed attempts per account within window, counted in counters (nil: in
// memory).
func NewLoginGuard(ipLimit, accountFailures int, window time.Duration, counters *ratelimit.Counters) *LoginGuard {
	return &LoginGuard{perIP: ratelimit.NewLimiter("login-ip", ipLimit, window, counters),
		perAccount: ratelimit.NewLimiter("login-account", accountFailures, window, counters)}
}

// Attempt counts one login attempt from ip and refuses it when the address
// is over its limit.
func (g *LoginGuard) Attempt(ip string) error {
	if g == nil {
		return nil
	}
	return g.perIP.Allow(ip)
}

// CheckAccount refuses a login to an account with too many recent failures.
func (g *LoginGuard) CheckAccount(account string) error {
	if g == nil {
		return nil
	}
	return g.perAccount.Check(account)
}

// Failed counts a failed login to account.
func (g *LoginGuard) Failed(account string) {
	if g != nil {
		g.perAccount.Add(account)
	}
}

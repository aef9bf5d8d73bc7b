package identity_test

import (
	"testing"
	"time"

	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// awayFromWindowEdge waits, when the clock is within margin of the next
// multiple of window, until that boundary has passed: the guard counts in
// clock-aligned windows, and a boundary crossed mid-test would weigh the
// earlier attempts down. Outside that margin it returns at once.
func awayFromWindowEdge(window, margin time.Duration) {
	now := time.Now().UTC()
	next := now.Truncate(window).Add(window)
	if d := next.Sub(now); d < margin {
		time.Sleep(d + 50*time.Millisecond)
	}
}

// retryAfter checks a RATE_LIMIT_EXCEEDED error and returns details.retry_after.
func retryAfter(t *testing.T, err error) int {
	t.Helper()
	if !apperr.Is(err, apperr.RateLimited) {
		t.Fatalf("err = %v, want RATE_LIMIT_EXCEEDED", err)
	}
	r, ok := apperr.From(err).Details["retry_after"].(int)
	if !ok {
		t.Fatalf("retry_after = %v, want an int", apperr.From(err).Details["retry_after"])
	}
	return r
}

func TestLoginGuardPerAddress(t *testing.T) {
	t.Parallel()
	const window = time.Hour
	awayFromWindowEdge(window, 5*time.Second)
	g := identity.NewLoginGuard(3, 2, window, nil)
	for i := range 3 {
		if err := g.Attempt("203.0.113.7"); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	r := retryAfter(t, g.Attempt("203.0.113.7"))
	if r < 1 || r > int(window.Seconds()) {
		t.Fatalf("retry_after %d, want 1..%d", r, int(window.Seconds()))
	}
	// Refused attempts do not extend the block beyond the window.
	if r2 := retryAfter(t, g.Attempt("203.0.113.7")); r2 > r {
		t.Fatalf("retry_after grew from %d to %d", r, r2)
	}
	// Another address has its own budget.
	if err := g.Attempt("198.51.100.1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	// Addresses and accounts are counted apart.
	if err := g.CheckAccount("203.0.113.7"); err != nil {
		t.Fatalf("an address's attempts counted against an account: %v", err)
	}
}

func TestLoginGuardPerAccount(t *testing.T) {
	t.Parallel()
	const window = time.Hour
	awayFromWindowEdge(window, 5*time.Second)
	g := identity.NewLoginGuard(100, 2, window, nil)
	if err := g.CheckAccount("acme|a@acme.test"); err != nil {
		t.Fatal(err)
	}
	g.Failed("acme|a@acme.test")
	if err := g.CheckAccount("acme|a@acme.test"); err != nil {
		t.Fatalf("one failure of two allowed: %v", err)
	}
	g.Failed("acme|a@acme.test")
	if r := retryAfter(t, g.CheckAccount("acme|a@acme.test")); r < 1 || r > int(window.Seconds()) {
		t.Fatalf("retry_after %d", r)
	}
	if err := g.CheckAccount("acme|b@acme.test"); err != nil {
		t.Fatalf("another account: %v", err)
	}
	if err := g.Attempt("203.0.113.7"); err != nil {
		t.Fatalf("account failures counted against an address: %v", err)
	}
}

func TestNilLoginGuardAllowsEverything(t *testing.T) {
	t.Parallel()
	var g *identity.LoginGuard
	for range 100 {
		g.Failed("a")
		if err := g.Attempt("203.0.113.7"); err != nil {
			t.Fatal(err)
		}
		if err := g.CheckAccount("a"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"a@b.test":           "a@b.test",
		"  Ann@Example.COM ": "ann@example.com",
		"first.last+tag@x.y": "first.last+tag@x.y",
	} {
		got, err := identity.NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	long := make([]byte, 320)
	for i := range long {
		long[i] = 'a'
	}
	for in, reason := range map[string]string{
		"":                       "required",
		"   ":                    "required",
		"no-at-sign":             "invalid",
		"Ann <ann@example.com>":  "invalid",
		"a@b.test, c@d.test":     "invalid",
		"@b.test":                "invalid",
		string(long) + "@x.test": "invalid",
	} {
		_, err := identity.NormalizeEmail(in)
		e := apperr.From(err)
		if !apperr.Is(err, apperr.Validation) || e.Details["field"] != "email" || e.Details["reason"] != reason {
			t.Errorf("NormalizeEmail(%.30q) = %v, want email %s", in, err, reason)
		}
	}
}

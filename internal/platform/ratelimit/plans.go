package ratelimit

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/httprate"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// Plans limits API requests (REST and GraphQL) per caller, as SPEC §5 has
// it: an API key, an OAuth client or a user is limited by its tenant's plan,
// or by the key's own rate_limit when it has one; an anonymous caller by its
// client address, at the default plan's limit. A nil Plans limits nothing.
//
// Counters are httprate's sliding windows, in memory: each instance counts
// on its own (see the README for sharing them).
type Plans struct {
	plans       map[string]access.RateLimit
	defaultPlan string

	mu sync.Mutex
	// byWindow holds one httprate limiter per window length; the request
	// limit is given per request, so plans and keys of one window share it.
	byWindow map[time.Duration]*httprate.RateLimiter
}

// NewPlans limits requests by the limits of plans; a principal whose plan is
// not listed gets the limit of defaultPlan, and so do anonymous callers. When
// defaultPlan is not listed either, such callers are not limited.
func NewPlans(plans map[string]access.RateLimit, defaultPlan string) *Plans {
	return &Plans{plans: plans, defaultPlan: defaultPlan, byWindow: map[time.Duration]*httprate.RateLimiter{}}
}

// Middleware limits each request after authentication, so it runs after the
// auth middleware. Every limited response carries X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset (the Unix time the current
// window ends); a request over the limit gets Retry-After and fail is called
// with 429 RATE_LIMIT_EXCEEDED and details.retry_after in seconds, to answer
// in the caller's format (the REST envelope or a GraphQL error).
func (p *Plans) Middleware(fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if p == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rate, key, ok := p.limitOf(r)
			if !ok {
				next.ServeHTTP(w, r)
				return
			}
			rl := p.limiter(rate.Window)
			ctx := httprate.WithRequestLimit(r.Context(), rate.Requests)
			// OnLimit also reports a counter error as limited, but the local
			// counter never fails.
			if !rl.OnLimit(w, r.WithContext(ctx), key) {
				next.ServeHTTP(w, r)
				return
			}
			now := time.Now().UTC()
			start := now.Truncate(rate.Window)
			curr, prev, _ := rl.Counter().Get(key, start, start.Add(-rate.Window))
			// httprate admits a request while round(rate)+1 <= limit. At least
			// a second: the window may have turned since OnLimit counted.
			wait := max(1, retryAfter(prev, curr, float64(rate.Requests)-0.5, rate.Window, now.Sub(start)))
			seconds := strconv.Itoa(wait)
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("Retry-After", seconds)
			fail(w, r, apperr.New(apperr.RateLimited, "too many requests; try again later").With("retry_after", wait))
		})
	}
}

// limitOf returns the limit of r's caller and the key its requests are
// counted under; ok is false when the caller is not limited.
func (p *Plans) limitOf(r *http.Request) (rate access.RateLimit, key string, ok bool) {
	who, authenticated := access.FromContext(r.Context())
	if !authenticated {
		rate, ok = p.plans[p.defaultPlan]
		return rate, "ip:" + reqinfo.FromContext(r.Context()).IP, ok
	}
	switch {
	case who.APIKeyID != uuid.Nil:
		key = "key:" + who.APIKeyID.String()
	case who.ClientID != "":
		key = "client:" + who.ClientID
	default:
		key = string(who.Kind) + ":" + who.ID.String()
	}
	if who.RateLimit != nil {
		return *who.RateLimit, key, true
	}
	rate, ok = p.Of(who.Plan)
	return rate, key, ok
}

// Of returns the limit of plan (the default plan's when plan is not listed);
// ok is false when neither is limited, as with a nil Plans.
func (p *Plans) Of(plan string) (rate access.RateLimit, ok bool) {
	if p == nil {
		return rate, false
	}
	if rate, ok = p.plans[plan]; ok {
		return rate, true
	}
	rate, ok = p.plans[p.defaultPlan]
	return rate, ok
}

// limiter returns the httprate limiter of window, making it on first use.
// Its counter is given explicitly so windows align to the clock
// (now.Truncate(window)), which retryAfter relies on.
func (p *Plans) limiter(window time.Duration) *httprate.RateLimiter {
	p.mu.Lock()
	defer p.mu.Unlock()
	rl := p.byWindow[window]
	if rl == nil {
		rl = httprate.NewRateLimiter(1, window, httprate.WithLimitCounter(httprate.NewLocalLimitCounter(window)))
		p.byWindow[window] = rl
	}
	return rl
}

package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// Plans limits API requests (REST and GraphQL) per caller, as SPEC §5 has
// it: an API key, an OAuth client or a user is limited by its tenant's plan,
// or by the key's own rate_limit when it has one; an anonymous caller by its
// client address, at the default plan's limit. A nil Plans limits nothing,
// and a sandbox tenant's callers are never limited.
//
// Counts are httprate's sliding windows, kept in Counters: in memory, each
// instance counting on its own, or in Redis, shared by all.
type Plans struct {
	plans       map[string]access.RateLimit
	defaultPlan string
	counters    *Counters

	mu sync.Mutex
	// byWindow holds one counter per window length; the request limit is
	// given per request, so plans and keys of one window share it.
	byWindow map[time.Duration]*counter
}

// NewPlans limits requests by the limits of plans, counted in counters (nil:
// in memory); a principal whose plan is not listed gets the limit of
// defaultPlan, and so do anonymous callers. When defaultPlan is not listed
// either, such callers are not limited.
func NewPlans(plans map[string]access.RateLimit, defaultPlan string, counters *Counters) *Plans {
	return &Plans{plans: plans, defaultPlan: defaultPlan, counters: counters, byWindow: map[time.Duration]*counter{}}
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
			now := time.Now().UTC()
			start := now.Truncate(rate.Window)
			share := float64(rate.Window-now.Sub(start)) / float64(rate.Window)
			var used int
			curr, prev, ok := p.counter(rate.Window).take(key, now, func(curr, prev int) bool {
				// httprate's sliding rate, this request included, rounded as
				// httprate rounds it.
				used = int(math.Round(float64(prev)*share + float64(curr)))
				return used <= rate.Requests
			})
			h := w.Header()
			h.Set("X-RateLimit-Limit", strconv.Itoa(rate.Requests))
			h.Set("X-RateLimit-Reset", strconv.FormatInt(start.Add(rate.Window).Unix(), 10))
			if ok {
				h.Set("X-RateLimit-Remaining", strconv.Itoa(rate.Requests-used))
				next.ServeHTTP(w, r)
				return
			}
			// A request is admitted while round(rate)+1 <= limit. At least a
			// second: the window may have turned since it was counted.
			wait := max(1, retryAfter(prev, curr, float64(rate.Requests)-0.5, rate.Window, now.Sub(start)))
			seconds := strconv.Itoa(wait)
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("Retry-After", seconds)
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
	if who.Plan == access.PlanSandbox {
		// A sandbox is for testing against: nothing limits it, not even a
		// key's own rate_limit.
		return rate, key, false
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

// counter returns the counter of window, making it on first use. Its
// windows align to the clock (now.Truncate(window)), which retryAfter
// relies on and instances sharing Redis agree on.
func (p *Plans) counter(window time.Duration) *counter {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.byWindow[window]
	if c == nil {
		c = p.counters.counter("plan:"+window.String(), window)
		p.byWindow[window] = c
	}
	return c
}

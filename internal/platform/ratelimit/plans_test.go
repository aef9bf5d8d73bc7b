package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	const w = 100 * time.Second
	for _, tc := range []struct {
		name       string
		prev, curr int
		threshold  float64
		elapsed    time.Duration
		want       int
	}{
		{"under the threshold", 0, 4, 5, 10 * time.Second, 0},
		// 10*(100-60)/100 = 4 < 5.
		{"previous window's share has faded enough", 10, 0, 5, 60 * time.Second, 0},
		// 10*(100-t)/100 < 5 from t = 50 s: 40 s after t = 10 s.
		{"previous window fades", 10, 0, 5, 10 * time.Second, 41},
		// 5 counted now: wait for the window's end (75 s), then 5*(100-x)/100 < 4.5 from x = 10 s.
		{"current window full", 0, 5, 4.5, 25 * time.Second, 86},
		{"exactly at the threshold", 0, 5, 5, 25 * time.Second, 76},
	} {
		if got := retryAfter(tc.prev, tc.curr, tc.threshold, w, tc.elapsed); got != tc.want {
			t.Errorf("%s: retryAfter(%d, %d, %v, %v) = %d, want %d", tc.name, tc.prev, tc.curr, tc.threshold, tc.elapsed, got, tc.want)
		}
	}
}

// caller is who sends a test request: a principal, or nobody from ip.
type caller struct {
	p  *access.Principal
	ip string
}

type answer struct {
	status int
	header http.Header
	err    *apperr.Error
}

// send runs one request from c through p's middleware.
func send(p *Plans, c caller) answer {
	var failed *apperr.Error
	h := p.Middleware(func(w http.ResponseWriter, _ *http.Request, err error) {
		failed = apperr.From(err)
		w.WriteHeader(failed.Code.Status())
	})(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	ctx := reqinfo.NewContext(r.Context(), &reqinfo.Info{IP: c.ip})
	if c.p != nil {
		ctx = access.NewContext(ctx, c.p)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r.WithContext(ctx))
	return answer{status: rec.Code, header: rec.Header(), err: failed}
}

func testPlans() *Plans {
	return NewPlans(map[string]access.RateLimit{
		"free": {Requests: 3, Window: time.Hour},
		"pro":  {Requests: 5, Window: time.Hour},
	}, "free", nil)
}

func user(plan string) *access.Principal {
	id := uuid.New()
	return &access.Principal{Kind: access.KindUser, ID: id, UserID: id, Plan: plan}
}

// accepted sends n requests from c and returns how many passed, checking
// the headers of each.
func accepted(t *testing.T, p *Plans, c caller, n, limit int) int {
	t.Helper()
	ok := 0
	for i := range n {
		a := send(p, c)
		if a.header.Get("X-RateLimit-Limit") != strconv.Itoa(limit) || a.header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("request %d: X-RateLimit-Limit %q, Reset %q; want limit %d", i+1,
				a.header.Get("X-RateLimit-Limit"), a.header.Get("X-RateLimit-Reset"), limit)
		}
		remaining, _ := strconv.Atoi(a.header.Get("X-RateLimit-Remaining"))
		switch a.status {
		case http.StatusOK:
			ok++
			if remaining != limit-ok {
				t.Fatalf("request %d: X-RateLimit-Remaining %d, want %d", i+1, remaining, limit-ok)
			}
		case http.StatusTooManyRequests:
			retry, _ := strconv.Atoi(a.header.Get("Retry-After"))
			if a.err.Code != apperr.RateLimited || retry < 1 || a.err.Details["retry_after"] != retry || remaining != 0 {
				t.Fatalf("request %d: 429 with %+v, Retry-After %q, remaining %d", i+1, a.err, a.header.Get("Retry-After"), remaining)
			}
		default:
			t.Fatalf("request %d: status %d", i+1, a.status)
		}
	}
	return ok
}

func TestPlansLimitByPlan(t *testing.T) {
	t.Parallel()
	p := testPlans()
	if n := accepted(t, p, caller{p: user("free")}, 6, 3); n != 3 {
		t.Errorf("free user: %d accepted, want 3", n)
	}
	if n := accepted(t, p, caller{p: user("pro")}, 8, 5); n != 5 {
		t.Errorf("pro user: %d accepted, want 5", n)
	}
	// A plan with no limit of its own gets the default plan's.
	if n := accepted(t, p, caller{p: user("legacy")}, 5, 3); n != 3 {
		t.Errorf("unknown plan: %d accepted, want 3", n)
	}
}

// A sandbox tenant's callers are not limited, not even a key whose own
// limit is one request, nor when the plan is listed: no headers, no 429.
func TestPlansSandboxIsUnlimited(t *testing.T) {
	t.Parallel()
	p := NewPlans(map[string]access.RateLimit{
		"free":             {Requests: 1, Window: time.Hour},
		access.PlanSandbox: {Requests: 1, Window: time.Hour},
	}, "free", nil)
	key := &access.Principal{Kind: access.KindAPIKey, ID: uuid.New(), APIKeyID: uuid.New(), Plan: access.PlanSandbox,
		RateLimit: &access.RateLimit{Requests: 1, Window: time.Hour}}
	for name, c := range map[string]caller{"user": {p: user(access.PlanSandbox)}, "key with its own limit": {p: key}} {
		for i := range 5 {
			if a := send(p, c); a.status != http.StatusOK || a.header.Get("X-RateLimit-Limit") != "" {
				t.Fatalf("%s request %d: %d, X-RateLimit-Limit %q", name, i+1, a.status, a.header.Get("X-RateLimit-Limit"))
			}
		}
	}
	if n := accepted(t, p, caller{p: user("free")}, 3, 1); n != 1 {
		t.Errorf("free user beside the sandbox: %d accepted, want 1", n)
	}
}

func TestPlansCountPerCaller(t *testing.T) {
	t.Parallel()
	p := testPlans()
	keyID := uuid.New()
	// A key and the service account it belongs to are one caller: the key.
	key := &access.Principal{Kind: access.KindServiceAccount, ID: uuid.New(), APIKeyID: keyID, Plan: "free"}
	client := &access.Principal{Kind: access.KindOAuthClient, ID: uuid.New(), ClientID: "cvc_test", Plan: "free"}
	for name, c := range map[string]caller{
		"key": {p: key}, "client": {p: client}, "user": {p: user("free")}, "anonymous": {ip: "192.0.2.1"},
	} {
		if n := accepted(t, p, c, 4, 3); n != 3 {
			t.Errorf("%s: %d accepted, want 3", name, n)
		}
	}
	// The key's count is the key's, whatever principal it authenticated as.
	again := &access.Principal{Kind: access.KindAPIKey, ID: keyID, APIKeyID: keyID, Plan: "free"}
	if a := send(p, caller{p: again}); a.status != http.StatusTooManyRequests {
		t.Errorf("the same key as another principal kind: %d, want 429", a.status)
	}
	// Another address is another anonymous caller.
	if n := accepted(t, p, caller{ip: "192.0.2.2"}, 1, 3); n != 1 {
		t.Error("a second address shares the first one's count")
	}
}

func TestPlansKeyOwnLimitOverridesPlan(t *testing.T) {
	t.Parallel()
	p := testPlans()
	id := uuid.New()
	key := &access.Principal{Kind: access.KindAPIKey, ID: id, APIKeyID: id, Plan: "pro",
		RateLimit: &access.RateLimit{Requests: 2, Window: time.Minute}}
	if n := accepted(t, p, caller{p: key}, 4, 2); n != 2 {
		t.Errorf("key with its own limit: %d accepted, want 2", n)
	}
	id = uuid.New()
	generous := &access.Principal{Kind: access.KindAPIKey, ID: id, APIKeyID: id, Plan: "free",
		RateLimit: &access.RateLimit{Requests: 7, Window: time.Hour}}
	if n := accepted(t, p, caller{p: generous}, 9, 7); n != 7 {
		t.Errorf("key above its plan: %d accepted, want 7", n)
	}
}

func TestPlansHoldUnderABurst(t *testing.T) {
	t.Parallel()
	p := testPlans()
	c := caller{p: user("pro")}
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			switch send(p, c).status {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusTooManyRequests:
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 5 || limited.Load() != 45 {
		t.Fatalf("50 concurrent requests at 5/h: %d accepted, %d limited", ok.Load(), limited.Load())
	}
}

func TestNilPlansLimitNothing(t *testing.T) {
	t.Parallel()
	var p *Plans
	for range 5 {
		a := send(p, caller{ip: "192.0.2.1"})
		if a.status != http.StatusOK || a.header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("nil Plans: %d, X-RateLimit-Limit %q", a.status, a.header.Get("X-RateLimit-Limit"))
		}
	}
	// No default plan limit: anonymous callers are not limited.
	open := NewPlans(map[string]access.RateLimit{"pro": {Requests: 1, Window: time.Hour}}, "free", nil)
	for range 3 {
		if a := send(open, caller{ip: "192.0.2.1"}); a.status != http.StatusOK || a.header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("anonymous without a default plan limit: %d, X-RateLimit-Limit %q", a.status, a.header.Get("X-RateLimit-Limit"))
		}
	}
}

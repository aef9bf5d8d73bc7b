package apitest_test

// Rate limits (SPEC §5): by plan, per API key, OAuth client or user, per
// address when anonymous; a key's own rate_limit over its plan; the per-IP
// login and token limits; and CREDVAULT_RATE_LIMITS=off.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

// rlAnswer is one response of a burst.
type rlAnswer struct {
	status int
	header http.Header
	body   []byte
}

// rlBurst sends n copies of req at once (ten at a time) and returns the answers.
func rlBurst(t *testing.T, e *apitest.Env, n int, req apitest.Request) []rlAnswer {
	t.Helper()
	out := make([]rlAnswer, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for i := range jobs {
				resp, err := e.Server.Client().Do(e.HTTPRequest(req))
				if err != nil {
					t.Error(err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Error(err)
				}
				out[i] = rlAnswer{status: resp.StatusCode, header: resp.Header, body: body}
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return out
}

// rlHeaders checks the rate limit headers of a response: the limit, the
// requests remaining, and a reset time within the window ahead.
func rlHeaders(t *testing.T, h http.Header, limit, remaining int, window time.Duration) {
	t.Helper()
	if h.Get("X-RateLimit-Limit") != strconv.Itoa(limit) {
		t.Errorf("X-RateLimit-Limit %q, want %d", h.Get("X-RateLimit-Limit"), limit)
	}
	if remaining >= 0 && h.Get("X-RateLimit-Remaining") != strconv.Itoa(remaining) {
		t.Errorf("X-RateLimit-Remaining %q, want %d", h.Get("X-RateLimit-Remaining"), remaining)
	}
	reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	now := time.Now().Unix()
	if err != nil || reset < now || reset > now+int64(window.Seconds())+1 {
		t.Errorf("X-RateLimit-Reset %q, want a Unix time within %v", h.Get("X-RateLimit-Reset"), window)
	}
}

// rlRetry checks what a 429 tells to wait: Retry-After, and the same number
// of seconds in details.retry_after, at most max.
func rlRetry(t *testing.T, h http.Header, details map[string]any, max time.Duration) {
	t.Helper()
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || retry < 1 || retry > int(max.Seconds())+1 {
		t.Errorf("Retry-After %q, want 1..%v seconds", h.Get("Retry-After"), max)
	}
	if fmt.Sprint(details["retry_after"]) != strconv.Itoa(retry) {
		t.Errorf("details.retry_after %v, Retry-After %d", details["retry_after"], retry)
	}
}

// rlLimited checks a 429 in the REST envelope.
func rlLimited(t *testing.T, r *apitest.Response, limit int, window time.Duration) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != "RATE_LIMIT_EXCEEDED" {
		t.Fatalf("%d %s, want 429 RATE_LIMIT_EXCEEDED: %s", r.Status, r.ErrorCode(), redact(r.Body))
	}
	rlHeaders(t, r.Header, limit, 0, window)
	rlRetry(t, r.Header, r.Envelope.Error.Details, 2*window)
}

// rlGraphQLLimited checks a 429 in the GraphQL error format.
func rlGraphQLLimited(t *testing.T, e *apitest.Env, bearer string, limit int, window time.Duration) {
	t.Helper()
	r := e.Do(apitest.Request{Method: http.MethodPost, Path: "/graphql", Bearer: bearer, Body: map[string]any{"query": "{ health { status } }"}})
	var g struct {
		Data   any `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Code    string         `json:"code"`
				Details map[string]any `json:"details"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &g); err != nil || r.Status != http.StatusTooManyRequests || len(g.Errors) != 1 ||
		g.Errors[0].Extensions.Code != "RATE_LIMIT_EXCEEDED" || g.Data != nil {
		t.Fatalf("GraphQL over the limit: %d %s", r.Status, redact(r.Body))
	}
	rlHeaders(t, r.Header, limit, 0, window)
	rlRetry(t, r.Header, g.Errors[0].Extensions.Details, 2*window)
}

func rlPlans(limits string) func(*config.Config) {
	return func(c *config.Config) { c.RateLimits = limits }
}

func TestRateLimitPlanHoldsUnderABurst(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		c := ctLoad(t, e)
		owner := register(t, e, "Burst", ownedBy("burst@rl.test")).AccessToken
		// Ten times the plan's limit at once: exactly the limit gets through.
		me := apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Bearer: owner}
		accepted, limited := 0, 0
		for _, a := range rlBurst(t, e, 50, me) {
			r := &apitest.Response{Status: a.status, Header: a.header, Body: a.body}
			_ = json.Unmarshal(a.body, &r.Envelope)
			switch a.status {
			case http.StatusOK:
				accepted++
				rlHeaders(t, a.header, 5, -1, time.Minute)
			case http.StatusTooManyRequests:
				limited++
				rlLimited(t, r, 5, time.Minute)
			default:
				t.Fatalf("status %d: %s", a.status, redact(a.body))
			}
			c.check(t, e, me, r, false)
		}
		if accepted != 5 || limited != 45 {
			t.Fatalf("free=5/m, 50 requests at once: %d accepted, %d limited", accepted, limited)
		}
		// GraphQL counts against the same limit, and answers in its own format.
		rlGraphQLLimited(t, e, owner, 5, time.Minute)

		// Another tenant's user has a count of its own: successes and errors,
		// REST and GraphQL, all carry the headers.
		other := register(t, e, "Calm", ownedBy("calm@rl.test")).AccessToken
		g := e.Do(apitest.Request{Method: http.MethodPost, Path: "/graphql", Bearer: other, Body: map[string]any{"query": "{ me { id } }"}})
		if g.Status != http.StatusOK {
			t.Fatalf("GraphQL under the limit: %d %s", g.Status, redact(g.Body))
		}
		rlHeaders(t, g.Header, 5, 4, time.Minute)
		missing := apitest.Request{Method: http.MethodGet, Path: "/api/v1/api-keys/" + randomID, Bearer: other}
		r := e.Do(missing)
		if r.Status != http.StatusNotFound {
			t.Fatalf("unknown key: %d", r.Status)
		}
		rlHeaders(t, r.Header, 5, 3, time.Minute)
		c.check(t, e, missing, r, true)
	}, rlPlans("free=5/m"))
}

func TestRateLimitAnonymousByAddress(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		c := ctLoad(t, e)
		refresh := apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/refresh", Body: map[string]any{"refresh_token": "nope"}}
		for i := range 3 {
			r := e.Do(refresh)
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("refresh %d: %d %s", i+1, r.Status, redact(r.Body))
			}
			rlHeaders(t, r.Header, 3, 2-i, time.Minute)
		}
		r := e.Do(refresh)
		rlLimited(t, r, 3, time.Minute)
		c.check(t, e, refresh, r, false)
		// The address's count is shared by GraphQL.
		rlGraphQLLimited(t, e, "", 3, time.Minute)
		// Health checks, the document and its UI are not limited.
		for _, path := range []string{"/api/v1/health", "/health", "/api/v1/openapi.json", "/api-docs/"} {
			r := e.Get(path, "")
			if r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "" {
				t.Errorf("GET %s: %d, X-RateLimit-Limit %q", path, r.Status, r.Header.Get("X-RateLimit-Limit"))
			}
		}
	}, rlPlans("free=3/m"))
}

func TestRateLimitKeyOwnLimitOverridesPlan(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		owner := register(t, e, "Keys", ownedBy("keys@rl.test")).AccessToken
		create := func(path string, body map[string]any, v any) {
			t.Helper()
			r := e.Do(apitest.Request{Method: http.MethodPost, Path: path, Bearer: owner, Body: body})
			if r.Status != http.StatusCreated {
				t.Fatalf("POST %s: %d %s", path, r.Status, redact(r.Body))
			}
			r.Data(t, v)
		}
		var own, plain struct{ Key string }
		create("/api/v1/api-keys", map[string]any{"name": "own", "rate_limit": map[string]any{"requests": 6, "window_seconds": 3600}}, &own)
		create("/api/v1/api-keys", map[string]any{"name": "plain"}, &plain)
		var client struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		create("/api/v1/oauth-clients", map[string]any{"name": "app", "scopes": []string{"api_keys:read"}}, &client)
		count := func(name string, n, limit int, window time.Duration, req apitest.Request) {
			t.Helper()
			accepted := 0
			for range n {
				r := e.Do(req)
				switch r.Status {
				case http.StatusOK:
					accepted++
					rlHeaders(t, r.Header, limit, limit-accepted, window)
				case http.StatusTooManyRequests:
					rlLimited(t, r, limit, window)
				default:
					t.Fatalf("%s: %d %s", name, r.Status, redact(r.Body))
				}
			}
			if accepted != limit {
				t.Errorf("%s: %d of %d accepted, want %d", name, accepted, n, limit)
			}
		}
		// The key's own limit, above the plan's 3 per minute, wins.
		count("key with its own limit", 10, 6, time.Hour, apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me",
			Header: map[string]string{"X-API-Key": own.Key}})
		count("key on the plan", 5, 3, time.Minute, apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me",
			Header: map[string]string{"Authorization": "ApiKey " + plain.Key}})
		// An OAuth client is limited by its tenant's plan too.
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ClientID}, "client_secret": {client.ClientSecret}}
		tr := e.Do(apitest.Request{Method: http.MethodPost, Path: "/oauth/token", Body: form.Encode(),
			Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
		var token struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(tr.Body, &token); err != nil || tr.Status != http.StatusOK {
			t.Fatalf("token: %d %s", tr.Status, redact(tr.Body))
		}
		count("OAuth client", 5, 3, time.Minute, apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Bearer: token.AccessToken})
		// The keys' and the client's requests were their own: the owner has
		// used three, its whole plan.
		rlLimited(t, e.Get("/api/v1/auth/me", owner), 3, time.Minute)
	}, rlPlans("free=3/m"))
}

func TestRateLimitLoginAndTokenPerAddress(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		// 30 login attempts per address in 15 minutes, REST and GraphQL together.
		awayFromWindowEdge(15*time.Minute, 5*time.Second)
		for i := range 30 {
			r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": fmt.Sprintf("u%d@ip.test", i), "password": ""})
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR")
		}
		g := e.GraphQL(`mutation { login(input: {email: "x@ip.test", password: "whatever-password"}) { accessToken } }`, nil, "")
		wantGQLError(t, g, "RATE_LIMIT_EXCEEDED")
		r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "x@ip.test", "password": "whatever-password"})
		wantError(t, r, http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED")
		rlRetry(t, r.Header, r.Envelope.Error.Details, 15*time.Minute)

		// 600 token requests per address a minute, in the RFC's error format.
		awayFromWindowEdge(time.Minute, 10*time.Second)
		token := apitest.Request{Method: http.MethodPost, Path: "/oauth/token", Body: "grant_type=password",
			Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}
		for i, a := range rlBurst(t, e, 600, token) {
			if a.status != http.StatusBadRequest {
				t.Fatalf("token request %d: %d %s", i+1, a.status, a.body)
			}
		}
		tr := e.Do(token)
		if tr.Status != http.StatusTooManyRequests || !strings.Contains(string(tr.Body), `"slow_down"`) || tr.Header.Get("Retry-After") == "" {
			t.Fatalf("token request 601: %d %s, Retry-After %q", tr.Status, tr.Body, tr.Header.Get("Retry-After"))
		}
	}, rlPlans("free=10000/h"))
}

func TestRateLimitsOff(t *testing.T) {
	t.Parallel()
	// The harness's default is off.
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		if e.Config.RateLimits != "off" {
			t.Fatalf("RateLimits %q", e.Config.RateLimits)
		}
		owner := register(t, e, "Unlimited", ownedBy("free@rl.test")).AccessToken
		requests := map[string]apitest.Request{
			"user":    {Method: http.MethodGet, Path: "/api/v1/auth/me", Bearer: owner},
			"graphql": {Method: http.MethodPost, Path: "/graphql", Body: map[string]any{"query": "{ health { status } }"}},
			"login":   {Method: http.MethodPost, Path: "/api/v1/auth/login", Body: map[string]any{"email": "a@b.test", "password": ""}},
			"token": {Method: http.MethodPost, Path: "/oauth/token", Body: "grant_type=password",
				Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		}
		for name, req := range requests {
			n := 120
			if name == "token" {
				n = 700 // over the 600 per minute of the token endpoint
			}
			for _, a := range rlBurst(t, e, n, req) {
				if a.status == http.StatusTooManyRequests || a.header.Get("X-RateLimit-Limit") != "" {
					t.Fatalf("%s with limits off: %d, X-RateLimit-Limit %q: %s", name, a.status, a.header.Get("X-RateLimit-Limit"), a.body)
				}
			}
		}
	})
}

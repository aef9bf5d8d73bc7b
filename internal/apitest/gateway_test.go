package apitest_test

// The AI gateway (SPEC §14) through the official OpenAI Go SDK pointed at
// CredVault, with local OpenAI-compatible upstreams recording what they
// receive: a completion, a stream, fallback, the circuit opening, the vault
// key reaching the upstream, guardrails (redaction and a block in OpenAI's
// error shape), usage, audit entries without message content and another
// tenant's providers never used, on SQLite and PostgreSQL.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/gatewayusage"
	"github.com/credvault/credvault/ent/routerconfig"
	"github.com/credvault/credvault/internal/apitest"
)

// upstream is a local OpenAI-compatible provider recording each request.
type upstream struct {
	*httptest.Server
	name string
	// fail, when non-zero, is the status every request is answered with.
	fail atomic.Int32
	// delay holds every answer back this long.
	delay atomic.Int64
	mu    sync.Mutex
	got   []upstreamCall
}

type upstreamCall struct {
	Auth string
	Body map[string]any
	Raw  string
}

func newUpstream(t testing.TB, name string) *upstream {
	u := &upstream{name: name}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) calls() []upstreamCall {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]upstreamCall(nil), u.got...)
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	u.mu.Lock()
	u.got = append(u.got, upstreamCall{Auth: r.Header.Get("Authorization"), Body: body, Raw: string(raw)})
	u.mu.Unlock()
	if d := time.Duration(u.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	if s := u.fail.Load(); s != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(s))
		_, _ = fmt.Fprintf(w, `{"error":{"message":"%s is failing","type":"server_error","code":null,"param":null}}`, u.name)
		return
	}
	model, _ := body["model"].(string)
	if stream, _ := body["stream"].(bool); stream {
		w.Header().Set("Content-Type", "text/event-stream")
		for i, piece := range []string{"Hello", " from ", u.name} {
			chunk := map[string]any{"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1, "model": model,
				"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": piece}, "finish_reason": nil}}}
			if i == 0 {
				chunk["choices"] = []any{map[string]any{"index": 0, "delta": map[string]any{"role": "assistant", "content": piece}, "finish_reason": nil}}
			}
			b, _ := json.Marshal(chunk)
			_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
			w.(http.Flusher).Flush()
		}
		_, _ = fmt.Fprintf(w, `data: {"id":"chatcmpl-s","object":"chat.completion.chunk","created":1,"model":%q,"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`+"\n\n", model)
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"system_fingerprint":"fp_test",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello from %s","refusal":null},"logprobs":null,"finish_reason":"stop"}],`+
		`"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}`, model, u.name)
}

// gwTenant is a tenant with an owner session and a gateway:invoke key.
type gwTenant struct {
	*tenantFixture
	invoke string
}

func newGWTenant(t *testing.T, e *apitest.Env, name string) *gwTenant {
	tn := register(t, e, name)
	return &gwTenant{tenantFixture: tn, invoke: tn.key(t, "gateway:invoke").Key}
}

// provider stores key as an api_key credential under integration and adds
// a provider serving models at u.
func (g *gwTenant) provider(t testing.TB, u *upstream, integration, key string, models ...string) uuid.UUID {
	t.Helper()
	wantStatus(t, do(g.e, http.MethodPost, "/api/v1/credentials", g.AccessToken, map[string]any{
		"integration_id": integration, "name": u.name, "auth_type": "api_key", "data": map[string]any{"api_key": key}}), http.StatusCreated)
	var p struct {
		ID uuid.UUID `json:"id"`
	}
	wantOK(t, do(g.e, http.MethodPost, "/api/v1/admin/router/providers", g.AccessToken, map[string]any{
		"name": u.name, "base_url": u.URL + "/v1", "credential_integration_id": integration, "models": models}), http.StatusCreated, &p)
	return p.ID
}

func (g *gwTenant) client(key string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(g.e.Server.URL+"/api/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	return &c
}

func chatParams(model, text string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("You are terse."), openai.UserMessage(text)}}
}

// wantOpenAIError checks err is OpenAI's error shape with status and code.
func wantOpenAIError(t *testing.T, err error, status int, typ, code string) *openai.Error {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an OpenAI API error", err)
	}
	if apiErr.StatusCode != status || apiErr.Type != typ || apiErr.Code != code || apiErr.Message == "" {
		t.Fatalf("error = %d type %q code %q message %q, want %d %q %q", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message, status, typ, code)
	}
	return apiErr
}

func TestGatewayChatThroughTheOpenAISDK(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		g := newGWTenant(t, e, "Gateway")
		up := newUpstream(t, "alpha")
		const secretKey = "sk-upstream-alpha-0123456789"
		g.provider(t, up, "openai-alpha", secretKey, "gpt-test")
		c := g.client(g.invoke)

		// A completion: the SDK's types parse the answer, the upstream got
		// the vault key and the messages.
		resp, err := c.Chat.Completions.New(ctx, chatParams("gpt-test", "Say hello"))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != "Hello from alpha" || resp.Usage.PromptTokens != 11 || resp.Usage.CompletionTokens != 7 {
			t.Fatalf("completion = %q usage %d/%d", got, resp.Usage.PromptTokens, resp.Usage.CompletionTokens)
		}
		calls := up.calls()
		if len(calls) != 1 || calls[0].Auth != "Bearer "+secretKey {
			t.Fatalf("upstream calls = %d, authorization is the vault key: %v", len(calls), len(calls) == 1 && calls[0].Auth == "Bearer "+secretKey)
		}
		if !strings.Contains(calls[0].Raw, "Say hello") || calls[0].Body["model"] != "gpt-test" {
			t.Fatalf("upstream body = %s", calls[0].Raw)
		}

		// A stream, chunk by chunk, its usage included.
		params := chatParams("gpt-test", "Stream please")
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := c.Chat.Completions.NewStreaming(ctx, params)
		var acc openai.ChatCompletionAccumulator
		chunks := 0
		for stream.Next() {
			acc.AddChunk(stream.Current())
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if got := acc.Choices[0].Message.Content; got != "Hello from alpha" || chunks != 4 || acc.Usage.CompletionTokens != 3 {
			t.Fatalf("stream = %q in %d chunks, usage %d", got, chunks, acc.Usage.CompletionTokens)
		}

		// The models the router serves.
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != "gpt-test" || page.Data[0].OwnedBy != "alpha" {
			t.Fatalf("models = %+v", page.Data)
		}

		// An unknown model, a wrong key and a key without gateway:invoke
		// are OpenAI errors too.
		_, err = c.Chat.Completions.New(ctx, chatParams("no-such-model", "hi"))
		wantOpenAIError(t, err, http.StatusNotFound, "invalid_request_error", "model_not_found")
		_, err = g.client("cvk_"+strings.Repeat("x", 43)).Chat.Completions.New(ctx, chatParams("gpt-test", "hi"))
		wantOpenAIError(t, err, http.StatusUnauthorized, "authentication_error", "invalid_api_key")
		_, err = g.client(g.key(t, "gateway:read").Key).Chat.Completions.New(ctx, chatParams("gpt-test", "hi"))
		wantOpenAIError(t, err, http.StatusForbidden, "permission_error", "insufficient_scope")
		if n := len(up.calls()); n != 2 {
			t.Fatalf("upstream calls = %d, want 2 (refused requests never leave)", n)
		}

		// Usage: tokens by key, model and provider. A stream's usage and
		// audit entry are counted once its handler returns, which may be
		// just after the client read [DONE].
		eventually(t, 5*time.Second, "the usage and audit entries of the requests", func() (bool, string) {
			e.Flush()
			n, err := e.Store.Client.AuditLog.Query().Where(auditlog.TenantID(g.TenantID), auditlog.Action("gateway.chat")).Count(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			used, err := e.Store.Client.GatewayUsage.Query().Where(gatewayusage.TenantID(g.TenantID)).All(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			return n == 3 && len(used) == 1 && used[0].Requests == 2, fmt.Sprintf("%d entries, usage %+v", n, used)
		})
		rows, err := e.Store.Client.GatewayUsage.Query().Where(gatewayusage.TenantID(g.TenantID)).All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Model != "gpt-test" || rows[0].Provider != "alpha" || rows[0].PrincipalType != "api_key" ||
			rows[0].Requests != 2 || rows[0].PromptTokens != 16 || rows[0].CompletionTokens != 10 {
			t.Fatalf("usage rows = %+v", rows)
		}

		var summary struct {
			Gateway struct {
				Requests         int `json:"total_requests"`
				PromptTokens     int `json:"total_prompt_tokens"`
				CompletionTokens int `json:"total_completion_tokens"`
				Rows             []struct {
					PrincipalID string `json:"principal_id"`
					Model       string `json:"model"`
					Provider    string `json:"provider"`
				} `json:"rows"`
			} `json:"gateway"`
		}
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/usage/summary", g.AccessToken, nil), http.StatusOK, &summary)
		if gw := summary.Gateway; gw.Requests != 2 || gw.PromptTokens != 16 || gw.CompletionTokens != 10 || len(gw.Rows) != 1 ||
			gw.Rows[0].PrincipalID != rows[0].PrincipalID || gw.Rows[0].Provider != "alpha" {
			t.Fatalf("usage summary = %+v", gw)
		}
		var stats struct {
			GatewayToday struct {
				Requests         int `json:"requests"`
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			} `json:"gateway_today"`
		}
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/dashboard/stats", g.AccessToken, nil), http.StatusOK, &stats)
		if stats.GatewayToday.Requests != 2 || stats.GatewayToday.PromptTokens != 16 || stats.GatewayToday.CompletionTokens != 10 {
			t.Fatalf("dashboard gateway = %+v", stats.GatewayToday)
		}
		var features struct{ Gateway, Router, Guardrails bool }
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/features/status", g.AccessToken, nil), http.StatusOK, &features)
		if !features.Gateway || !features.Router || features.Guardrails {
			t.Fatalf("features = %+v, want gateway and router, no guardrails", features)
		}

		// Audit: one gateway.chat entry per request, model, provider,
		// tokens and outcome, never the messages.
		entries, err := e.Store.Client.AuditLog.Query().Where(auditlog.TenantID(g.TenantID), auditlog.Action("gateway.chat")).All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		outcomes := map[string]int{}
		for _, a := range entries {
			b, _ := json.Marshal(a.Details)
			for _, secret := range []string{"Say hello", "Stream please", "Hello from", "You are terse", secretKey} {
				if strings.Contains(string(b), secret) {
					t.Fatalf("audit entry holds %q: %s", secret, b)
				}
			}
			o, _ := a.Details["outcome"].(string)
			outcomes[o]++
			if o == "success" && (a.Details["model"] != "gpt-test" || a.Details["provider"] != "alpha" ||
				a.Details["prompt_tokens"] == nil || a.Details["completion_tokens"] == nil || a.ResourceID == "") {
				t.Fatalf("audit details = %s", b)
			}
		}
		var prompt, completion float64
		for _, a := range entries {
			if a.Details["outcome"] == "success" {
				p, _ := a.Details["prompt_tokens"].(float64)
				c, _ := a.Details["completion_tokens"].(float64)
				prompt, completion = prompt+p, completion+c
			}
		}
		if outcomes["success"] != 2 || outcomes["no_provider"] != 1 || prompt != 16 || completion != 10 {
			t.Fatalf("audit outcomes = %v, tokens %v/%v", outcomes, prompt, completion)
		}
		fams := scrapeMetrics(t, e)
		if fams["credvault_gateway_requests_total"] == nil || fams["credvault_gateway_tokens_total"] == nil {
			t.Fatal("gateway metrics missing")
		}
	})
}

func TestGatewayFallbackAndCircuit(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		g := newGWTenant(t, e, "Fallback")
		bad, good := newUpstream(t, "bad"), newUpstream(t, "good")
		badID := g.provider(t, bad, "bad-key", "sk-bad", "gpt-test")
		g.provider(t, good, "good-key", "sk-good", "gpt-test")
		bad.fail.Store(http.StatusServiceUnavailable)
		wantStatus(t, do(e, http.MethodPut, "/api/v1/admin/router/config", g.AccessToken, map[string]any{
			"routes": []any{map[string]any{"model": "gpt-test", "providers": []string{"bad", "good"}}}, "fallback": true, "max_attempts": 2, "timeout_ms": 5000}), http.StatusOK)
		c := g.client(g.invoke)
		for i := range 5 {
			resp, err := c.Chat.Completions.New(ctx, chatParams("gpt-test", "hi"))
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if got := resp.Choices[0].Message.Content; got != "Hello from good" {
				t.Fatalf("request %d answered by %q", i, got)
			}
		}
		if n, m := len(bad.calls()), len(good.calls()); n != 5 || m != 5 {
			t.Fatalf("calls: bad %d good %d, want 5 and 5", n, m)
		}
		var health []struct {
			ProviderID  uuid.UUID `json:"provider_id"`
			Name        string    `json:"name"`
			Status      string    `json:"status"`
			Circuit     string    `json:"circuit"`
			SuccessRate float64   `json:"success_rate"`
			LastError   *string   `json:"last_error"`
		}
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/router/health", g.AccessToken, nil), http.StatusOK, &health)
		if len(health) != 2 || health[0].ProviderID != badID || health[0].Circuit != "open" || health[0].Status != "down" ||
			health[0].SuccessRate != 0 || health[0].LastError == nil || *health[0].LastError != "status 503" ||
			health[1].Circuit != "closed" || health[1].Status != "healthy" {
			t.Fatalf("health = %+v", health)
		}
		// The circuit is open: the bad provider is not called.
		if _, err := c.Chat.Completions.New(ctx, chatParams("gpt-test", "hi")); err != nil {
			t.Fatal(err)
		}
		if n := len(bad.calls()); n != 5 {
			t.Fatalf("bad provider called %d times with its circuit open", n)
		}
		// A provider slower than timeout_ms, and one that refuses the
		// connection, both fall back to the next.
		slow := newUpstream(t, "slow")
		slow.delay.Store(int64(2 * time.Second))
		g.provider(t, slow, "slow-key", "sk-slow", "gpt-slow")
		down := newUpstream(t, "down")
		g.provider(t, down, "down-key", "sk-down", "gpt-slow")
		down.Close()
		good2 := newUpstream(t, "good2")
		g.provider(t, good2, "good2-key", "sk-good2", "gpt-slow")
		wantStatus(t, do(e, http.MethodPatch, "/api/v1/admin/router/providers/"+badID.String(), g.AccessToken,
			map[string]any{"enabled": false}), http.StatusOK)
		wantStatus(t, do(e, http.MethodPut, "/api/v1/admin/router/config", g.AccessToken, map[string]any{
			"routes": []any{map[string]any{"model": "gpt-slow", "providers": []string{"slow", "down", "good2"}}}, "max_attempts": 3, "timeout_ms": 200}), http.StatusOK)
		start := time.Now()
		resp, err := c.Chat.Completions.New(ctx, chatParams("gpt-slow", "hi"))
		if err != nil || resp.Choices[0].Message.Content != "Hello from good2" {
			t.Fatalf("after a timeout and a refused connection: %v", err)
		}
		if took := time.Since(start); took > 1500*time.Millisecond || len(slow.calls()) != 1 {
			t.Fatalf("took %v, slow provider called %d times", took, len(slow.calls()))
		}
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/router/health", g.AccessToken, nil), http.StatusOK, &health)
		errs := map[string]string{}
		for _, h := range health {
			if h.LastError != nil {
				errs[h.Name] = *h.LastError
			}
		}
		if errs["slow"] != "timeout" || errs["down"] != "connection error" {
			t.Fatalf("last errors = %v", errs)
		}

		// Without fallback, a failing first provider is a 502 in OpenAI's shape.
		wantStatus(t, do(e, http.MethodPut, "/api/v1/admin/router/config", g.AccessToken, map[string]any{
			"routes": []any{map[string]any{"model": "gpt-test", "providers": []string{"good"}}}, "fallback": false}), http.StatusOK)
		good.fail.Store(http.StatusTooManyRequests)
		_, err = c.Chat.Completions.New(ctx, chatParams("gpt-test", "hi"))
		wantOpenAIError(t, err, http.StatusBadGateway, "api_error", "upstream_error")
	})
}

func TestGatewayGuardrails(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		g := newGWTenant(t, e, "Guarded")
		up := newUpstream(t, "guarded")
		g.provider(t, up, "guarded-key", "sk-guarded", "gpt-test")
		wantStatus(t, do(e, http.MethodPost, "/api/v1/admin/guardrails", g.AccessToken, map[string]any{
			"name": "no pii", "kind": "pii", "action": "redact", "applies_to": "input"}), http.StatusCreated)
		wantStatus(t, do(e, http.MethodPost, "/api/v1/admin/guardrails", g.AccessToken, map[string]any{
			"name": "no secrets project", "kind": "blocked_terms", "config": map[string]any{"terms": []string{"project nightingale"}},
			"action": "block", "applies_to": "input"}), http.StatusCreated)
		c := g.client(g.invoke)

		const email = "jane.doe@example.com"
		if _, err := c.Chat.Completions.New(ctx, chatParams("gpt-test", "Write to "+email+" today")); err != nil {
			t.Fatal(err)
		}
		calls := up.calls()
		if len(calls) != 1 || strings.Contains(calls[0].Raw, email) || !strings.Contains(calls[0].Raw, "[REDACTED:") {
			t.Fatalf("upstream received %s", calls[0].Raw)
		}

		_, err := c.Chat.Completions.New(ctx, chatParams("gpt-test", "Tell me about Project Nightingale"))
		wantOpenAIError(t, err, http.StatusBadRequest, "invalid_request_error", "guardrail_violation")
		if n := len(up.calls()); n != 1 {
			t.Fatalf("a blocked request reached the upstream (%d calls)", n)
		}
		e.Flush()
		blocked := awaitAudit(t, e, g.TenantID, "gateway.chat", func(a *ent.AuditLog) bool { return a.Details["outcome"] == "blocked" })
		b, _ := json.Marshal(blocked.Details)
		if strings.Contains(strings.ToLower(string(b)), "nightingale") || blocked.Outcome != auditlog.OutcomeDenied {
			t.Fatalf("blocked entry = %s, outcome %s", b, blocked.Outcome)
		}
	})
}

func TestGatewayTenantsStayApart(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		a, b := newGWTenant(t, e, "Tenant A"), newGWTenant(t, e, "Tenant B")
		upA, upB := newUpstream(t, "a-up"), newUpstream(t, "b-up")
		a.provider(t, upA, "shared-name", "sk-a", "model-a")
		bID := b.provider(t, upB, "shared-name", "sk-b", "model-b", "model-a")

		// A's model goes to A's provider with A's key, even though B's serves it too.
		for range 3 {
			if _, err := a.client(a.invoke).Chat.Completions.New(ctx, chatParams("model-a", "hi")); err != nil {
				t.Fatal(err)
			}
		}
		// A model only B serves is unknown to A.
		_, err := a.client(a.invoke).Chat.Completions.New(ctx, chatParams("model-b", "hi"))
		wantOpenAIError(t, err, http.StatusNotFound, "invalid_request_error", "model_not_found")
		for _, c := range upA.calls() {
			if c.Auth != "Bearer sk-a" {
				t.Fatal("tenant A's upstream got another key")
			}
		}
		if n := len(upB.calls()); n != 0 {
			t.Fatalf("tenant B's provider was called %d times by tenant A", n)
		}
		// A cannot see, change or delete B's provider, nor name B's credential.
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/router/providers/"+bID.String(), a.AccessToken, map[string]any{"enabled": false}), http.StatusNotFound, "NOT_FOUND")
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/router/providers/"+bID.String(), a.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		var list []map[string]any
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/router/providers", a.AccessToken, nil), http.StatusOK, &list)
		if len(list) != 1 || list[0]["name"] != "a-up" {
			t.Fatalf("A's providers = %v", list)
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/router/providers", a.AccessToken, map[string]any{
			"name": "steal", "base_url": upB.URL + "/v1", "credential_integration_id": "b-only", "models": []string{"x"}}), http.StatusUnprocessableEntity, "VALIDATION_ERROR")
		wantStatus(t, do(e, http.MethodPost, "/api/v1/credentials", b.AccessToken, map[string]any{
			"integration_id": "b-only", "auth_type": "api_key", "data": map[string]any{"api_key": "sk-b-only"}}), http.StatusCreated)
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/router/providers", a.AccessToken, map[string]any{
			"name": "steal", "base_url": upB.URL + "/v1", "credential_integration_id": "b-only", "models": []string{"x"}}), http.StatusUnprocessableEntity, "VALIDATION_ERROR")
	})
}

func TestGatewayRouterOverGraphQL(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Router GQL")
		id := createRouterProviderGQL(t, e, tn.AccessToken)
		var out struct {
			UpdateRouterProvider struct {
				Name   string
				Models []string
			}
		}
		gql(t, e, tn.AccessToken, `mutation($id: ID!) { updateRouterProvider(id: $id, input: {name: "primary", models: ["m1", "m2"]}) { name models } }`,
			map[string]any{"id": id}, &out)
		if out.UpdateRouterProvider.Name != "primary" || len(out.UpdateRouterProvider.Models) != 2 {
			t.Fatalf("updated = %+v", out.UpdateRouterProvider)
		}
		var cfg struct {
			UpdateRouterConfig struct {
				Routes []struct {
					Model     string
					Providers []string
				}
				Fallback    bool
				TimeoutMS   int
				MaxAttempts int
			}
		}
		gql(t, e, tn.AccessToken, `mutation { updateRouterConfig(input: {routes: [{model: "m1", providers: ["primary"]}], fallback: false, maxAttempts: 4}) {
			routes { model providers } fallback timeoutMS maxAttempts } }`, nil, &cfg)
		c := cfg.UpdateRouterConfig
		if len(c.Routes) != 1 || c.Routes[0].Providers[0] != "primary" || c.Fallback || c.TimeoutMS != 30000 || c.MaxAttempts != 4 {
			t.Fatalf("config = %+v", c)
		}
		var q struct {
			RouterConfig struct {
				Routes []struct{ Providers []string }
			}
			RouterProviders []struct{ ID, Name, BaseURL, CredentialIntegrationID string }
			RouterHealth    []struct {
				Name, Status, Circuit string
				SuccessRate           float64
			}
		}
		gql(t, e, tn.AccessToken, `{ routerConfig { routes { providers } } routerProviders { id name baseURL credentialIntegrationID }
			routerHealth { name status circuit successRate } }`, nil, &q)
		if len(q.RouterProviders) != 1 || q.RouterProviders[0].ID != id || len(q.RouterHealth) != 1 ||
			q.RouterHealth[0].Status != "healthy" || q.RouterHealth[0].Circuit != "closed" || q.RouterHealth[0].SuccessRate != 1 {
			t.Fatalf("queries = %+v", q)
		}
		// Deleting the provider drops it from the route, and the route with it.
		gql(t, e, tn.AccessToken, `mutation($id: ID!) { deleteRouterProvider(id: $id) }`, map[string]any{"id": id}, nil)
		gql(t, e, tn.AccessToken, `{ routerConfig { routes { providers } } }`, nil, &q)
		if len(q.RouterConfig.Routes) != 0 {
			t.Fatalf("routes after the deletion = %+v", q.RouterConfig.Routes)
		}
	})
}

// TestGatewayConfigSavedAtOnce: a tenant's first router configurations
// sent together all succeed (each saw no row and inserted its own: 409 on
// both databases), leaving one, as the last one wrote it.
func TestGatewayConfigSavedAtOnce(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		for range 4 {
			g := newGWTenant(t, e, "Config At Once")
			answers := atOnce(6, func(i int) *apitest.Response {
				return do(e, http.MethodPut, "/api/v1/admin/router/config", g.AccessToken, map[string]any{"timeout_ms": 1000 + i})
			})
			for _, r := range answers {
				wantStatus(t, r, http.StatusOK)
			}
			rows, err := e.Store.Client.RouterConfig.Query().Where(routerconfig.TenantID(g.TenantID)).All(unrestricted())
			if err != nil || len(rows) != 1 || rows[0].TimeoutMs < 1000 || rows[0].TimeoutMs > 1005 {
				t.Fatalf("router configs after saves at once: %v %v, want one of them", rows, err)
			}
		}
	})
}

// TestGatewayRateLimitInOpenAIShape: the gateway routes are limited like
// any route, and the SDK reads the 429 as OpenAI's rate_limit_error.
func TestGatewayRateLimitInOpenAIShape(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		g := newGWTenant(t, e, "Limited")
		c := g.client(g.invoke)
		var err error
		for range 4 {
			if _, err = c.Models.List(context.Background()); err != nil {
				break
			}
		}
		apiErr := wantOpenAIError(t, err, http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded")
		if apiErr.Response.Header.Get("Retry-After") == "" {
			t.Fatal("a 429 without Retry-After")
		}
	}, rlPlans("free=3/m"))
}

package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/routerprovider"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/guardrails"
	"github.com/credvault/credvault/internal/platform/invalidate"
)

// dialTimeout bounds connecting to a provider.
const dialTimeout = 10 * time.Second

// maxUpstreamBody bounds a non-streamed answer read from a provider.
const maxUpstreamBody = 32 << 20

// routing is a tenant's enabled providers and config, cached until a
// change of either (the bus) drops it.
type routing struct {
	providers []*ent.RouterProvider
	cfg       *Config
}

func (s *Service) routingFor(ctx context.Context, tenant uuid.UUID) (*routing, error) {
	s.subOnce.Do(func() {
		s.Bus.Subscribe(func(t invalidate.Topic) {
			kind, id := t.Split()
			if kind != invalidateKind {
				return
			}
			s.generation.Add(1)
			if u, err := uuid.Parse(id); err == nil {
				s.routing.Delete(u)
			}
		})
	})
	if v, ok := s.routing.Load(tenant); ok {
		return v.(*routing), nil
	}
	gen := s.generation.Load()
	ps, err := s.Client.RouterProvider.Query().Where(routerprovider.Enabled(true)).
		Order(ent.Asc(routerprovider.FieldCreatedAt), ent.Asc(routerprovider.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.Client.RouterConfig.Query().Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	r := &routing{providers: ps, cfg: toConfig(c)}
	if s.generation.Load() == gen {
		s.routing.Store(tenant, r)
	}
	return r, nil
}

// candidates are the providers that may serve model, in the order to try
// them: the model's route, or else every provider listing the model.
func (r *routing) candidates(model string) []*ent.RouterProvider {
	for _, rt := range r.cfg.Routes {
		if rt.Model != model {
			continue
		}
		var out []*ent.RouterProvider
		for _, name := range rt.Providers {
			for _, p := range r.providers {
				if p.Name == name {
					out = append(out, p)
				}
			}
		}
		return out
	}
	var out []*ent.RouterProvider
	for _, p := range r.providers {
		if slices.Contains(p.Models, model) {
			out = append(out, p)
		}
	}
	return out
}

// models is every model the tenant's router can serve, with the first
// provider serving it.
func (r *routing) models() []modelJSON {
	seen := map[string]string{}
	for _, rt := range r.cfg.Routes {
		if c := r.candidates(rt.Model); len(c) > 0 {
			seen[rt.Model] = c[0].Name
		}
	}
	for _, p := range r.providers {
		for _, m := range p.Models {
			if _, ok := seen[m]; !ok {
				seen[m] = p.Name
			}
		}
	}
	out := make([]modelJSON, 0, len(seen))
	for m, owner := range seen {
		out = append(out, modelJSON{ID: m, Object: "model", Created: 0, OwnedBy: owner})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is GET /models's answer.
type ModelList struct {
	Object string      `json:"object"`
	Data   []modelJSON `json:"data"`
}

// ChatRequest is the part of a chat completion request the gateway reads;
// the rest of the body is passed through untouched.
type ChatRequest struct {
	Model    string    `json:"model"`
	Stream   bool      `json:"stream,omitempty"`
	Messages []Message `json:"messages"`
}

// Message is a chat message as far as guardrails read it: its content is
// a string or a list of parts.
type Message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content,omitempty"`
}

// gwError is an error the gateway answers itself, in OpenAI's shape.
type gwError struct {
	status             int
	typ, code, message string
	param              string
	outcome            string
}

func (e *gwError) write(w http.ResponseWriter) {
	oe := OpenAIError{Message: e.message, Type: e.typ}
	if e.code != "" {
		oe.Code = &e.code
	}
	if e.param != "" {
		oe.Param = &e.param
	}
	writeOpenAI(w, e.status, oe)
}

func invalid(param, msg string) *gwError {
	return &gwError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "invalid_request", message: msg, param: param, outcome: "invalid"}
}

// Models answers GET /models.
func (s *Service) Models(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.Guard.Require(ctx, access.ListModels)
	if err != nil {
		WriteOpenAIError(w, r, err)
		return
	}
	rt, err := s.routingFor(ctx, p.TenantID)
	if err != nil {
		WriteOpenAIError(w, r, err)
		return
	}
	body, _ := json.Marshal(ModelList{Object: "list", Data: rt.models()})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// exchange is one chat request's course, for its usage, metrics and audit
// entry.
type exchange struct {
	p                  *access.Principal
	model, provider    string
	providerID         uuid.UUID
	stream             bool
	attempts           int
	prompt, completion int64
	outcome            string
	violations         []guardrails.Violation
}

// ChatCompletions answers POST /chat/completions: input guardrails, the
// route of the model, the first provider that answers (fallback on 5xx,
// 429, timeout or connection error), output guardrails, the answer.
// Streams are passed through chunk by chunk; the output guardrails do not
// apply to them, since their chunks have left before the completion is
// whole.
func (s *Service) ChatCompletions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.Guard.Require(ctx, access.ChatCompletion)
	if err != nil {
		WriteOpenAIError(w, r, err)
		return
	}
	x := &exchange{p: p}
	if gerr := s.chat(ctx, w, r, x); gerr != nil {
		x.outcome = gerr.outcome
		gerr.write(w)
	}
	s.finish(ctx, x)
}

func (s *Service) chat(ctx context.Context, w http.ResponseWriter, r *http.Request, x *exchange) *gwError {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return &gwError{status: http.StatusUnsupportedMediaType, typ: "invalid_request_error", code: "unsupported_media_type",
			message: "the request body must be application/json", outcome: "invalid"}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &gwError{status: http.StatusRequestEntityTooLarge, typ: "invalid_request_error", code: "payload_too_large",
				message: "the request body is too large", outcome: "invalid"}
		}
		return invalid("", "the request body could not be read")
	}
	var req ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return invalid("", "the request body is not a JSON chat completion request")
	}
	x.model, x.stream = req.Model, req.Stream
	if req.Model == "" {
		return invalid("model", "model is required")
	}
	if len(req.Messages) == 0 {
		return invalid("messages", "messages is required")
	}
	if body, err = s.guardInput(ctx, body, req.Messages, x); err != nil {
		var ge *gwError
		if errors.As(err, &ge) {
			return ge
		}
		return &gwError{status: http.StatusServiceUnavailable, typ: "api_error", code: "guardrails_unavailable",
			message: "the guardrails could not be checked", outcome: "error"}
	}
	rt, err := s.routingFor(ctx, x.p.TenantID)
	if err != nil {
		return &gwError{status: http.StatusServiceUnavailable, typ: "api_error", code: "router_unavailable", message: "the router could not be read", outcome: "error"}
	}
	cands := rt.candidates(req.Model)
	if len(cands) == 0 {
		return &gwError{status: http.StatusNotFound, typ: "invalid_request_error", code: "model_not_found", param: "model",
			message: fmt.Sprintf("The model %q is not served by any provider of this router.", req.Model), outcome: "no_provider"}
	}
	limit := rt.cfg.MaxAttempts
	if !rt.cfg.Fallback {
		limit = 1
	}
	timeout := time.Duration(rt.cfg.TimeoutMS) * time.Millisecond
	last := "no provider is available: every circuit is open"
	for _, prov := range cands {
		if x.attempts >= limit {
			break
		}
		if !s.Health.Allow(prov.ID) {
			continue
		}
		x.attempts++
		x.provider, x.providerID = prov.Name, prov.ID
		done, failure := s.attempt(ctx, w, prov, body, timeout, x)
		if done {
			return nil
		}
		last = failure
		if ctx.Err() != nil {
			break
		}
	}
	if x.attempts == 0 {
		return &gwError{status: http.StatusServiceUnavailable, typ: "api_error", code: "no_healthy_provider", message: last, outcome: "no_provider"}
	}
	return &gwError{status: http.StatusBadGateway, typ: "api_error", code: "upstream_error",
		message: "no provider answered: " + last, outcome: "upstream_error"}
}

// attempt sends the request to prov. done means an answer went to the
// caller (the provider's, success or a 4xx it owns); otherwise failure says
// why the provider failed, in words free of the call's content.
func (s *Service) attempt(ctx context.Context, w http.ResponseWriter, prov *ent.RouterProvider, body []byte, timeout time.Duration, x *exchange) (done bool, failure string) {
	start := time.Now()
	fail := func(msg string) (bool, string) {
		s.Health.Record(prov.ID, false, time.Since(start), msg)
		return false, prov.Name + ": " + msg
	}
	key, err := s.Vault.OpenProviderKey(ctx, prov.CredentialIntegrationID)
	if err != nil {
		return fail("its credential could not be opened")
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() { timedOut.Store(true); cancel() })
	defer timer.Stop()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, prov.BaseURL+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		clear(key.Secret)
		return fail("invalid base URL")
	}
	req.Header.Set("Authorization", "Bearer "+string(key.Secret))
	clear(key.Secret)
	req.Header.Set("Content-Type", "application/json")
	if x.stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := s.HTTP.Do(req)
	if err != nil {
		if timedOut.Load() {
			return fail("timeout")
		}
		return fail("connection error")
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return fail(fmt.Sprintf("status %d", resp.StatusCode))
	}
	if x.stream && resp.StatusCode < 300 {
		timer.Stop()
		s.Health.Record(prov.ID, true, time.Since(start), "")
		s.relayStream(w, resp, x)
		return true, ""
	}
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		if timedOut.Load() {
			return fail("timeout")
		}
		return fail("connection error")
	}
	timer.Stop()
	s.Health.Record(prov.ID, true, time.Since(start), "")
	if resp.StatusCode >= 300 {
		x.outcome = "upstream_rejected"
		relay(w, resp.StatusCode, resp.Header.Get("Content-Type"), out)
		return true, ""
	}
	var parsed struct {
		Usage *struct {
			PromptTokens     int64 `json:"prompt_tokens"`
			CompletionTokens int64 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if json.Unmarshal(out, &parsed) == nil && parsed.Usage != nil {
		x.prompt, x.completion = parsed.Usage.PromptTokens, parsed.Usage.CompletionTokens
	}
	out, gerr := s.guardOutput(ctx, out, x)
	if gerr != nil {
		x.outcome = gerr.outcome
		gerr.write(w)
		return true, ""
	}
	x.outcome = "success"
	relay(w, resp.StatusCode, resp.Header.Get("Content-Type"), out)
	return true, ""
}

func relay(w http.ResponseWriter, status int, contentType string, body []byte) {
	if contentType == "" {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// relayStream passes the provider's Server-Sent Events through, flushing
// at the end of each event, and reads the usage a chunk may carry.
func (s *Service) relayStream(w http.ResponseWriter, resp *http.Response, x *exchange) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	br := bufio.NewReaderSize(resp.Body, 16<<10)
	x.outcome = "success"
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				x.outcome = "client_gone"
				return
			}
			if data, ok := bytes.CutPrefix(line, []byte("data:")); ok && bytes.Contains(data, []byte(`"usage"`)) {
				var chunk struct {
					Usage *struct {
						PromptTokens     int64 `json:"prompt_tokens"`
						CompletionTokens int64 `json:"completion_tokens"`
					} `json:"usage"`
				}
				if json.Unmarshal(bytes.TrimSpace(data), &chunk) == nil && chunk.Usage != nil {
					x.prompt, x.completion = chunk.Usage.PromptTokens, chunk.Usage.CompletionTokens
				}
			}
			if len(bytes.TrimSpace(line)) == 0 {
				_ = rc.Flush()
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				x.outcome = "upstream_error"
			}
			_ = rc.Flush()
			return
		}
	}
}

// finish counts the request's usage and metrics and queues its audit entry:
// model, provider, tokens and outcome, never a message's content.
func (s *Service) finish(ctx context.Context, x *exchange) {
	if x.outcome == "" {
		x.outcome = "error"
	}
	s.Metrics.GatewayRequests.WithLabelValues(x.outcome).Inc()
	if x.prompt > 0 {
		s.Metrics.GatewayTokens.WithLabelValues("prompt").Add(float64(x.prompt))
	}
	if x.completion > 0 {
		s.Metrics.GatewayTokens.WithLabelValues("completion").Add(float64(x.completion))
	}
	if x.provider != "" && x.outcome != "upstream_error" {
		s.Usage.Count(x.p, x.model, x.provider, x.prompt, x.completion)
	}
	details := map[string]any{"model": x.model, "provider": x.provider, "prompt_tokens": x.prompt,
		"completion_tokens": x.completion, "outcome": x.outcome, "attempts": x.attempts, "stream": x.stream}
	if len(x.violations) > 0 {
		details["violations"] = x.violations
	}
	e := audit.Entry{Action: "gateway.chat", ResourceType: "router_provider", Details: details, Outcome: audit.Success}
	if x.providerID != uuid.Nil {
		e.ResourceID = x.providerID.String()
	}
	switch x.outcome {
	case "success":
	case "blocked":
		e.Outcome = audit.Denied
	default:
		e.Outcome = audit.Failure
	}
	_ = s.Audit.Add(context.WithoutCancel(ctx), e)
}

func (e *gwError) Error() string { return e.code + ": " + e.message }

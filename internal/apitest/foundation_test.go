package apitest_test

// The foundation over real HTTP on every backend: health, the envelope,
// request ids, routing errors, body limits and the GraphQL endpoint.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

const timestampLayout = "2006-01-02T15:04:05.000Z"

func TestMain(m *testing.M) {
	// The server logs internal errors through slog's default logger; keep
	// test output clean (responses are what the tests check).
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	os.Exit(m.Run())
}

// on returns e reporting to t, so parallel subtests fail their own test.
func on(t *testing.T, e *apitest.Env) *apitest.Env {
	c := *e
	c.T = t
	return &c
}

// checkEnvelope asserts the shape every /api/v1 response shares and its
// status and error code ("" for success).
func checkEnvelope(t *testing.T, r *apitest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, redact(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	env := r.Envelope
	if env.Success != (code == "") {
		t.Errorf("success = %v: %s", env.Success, redact(r.Body))
	}
	if r.ErrorCode() != code {
		t.Errorf("error code %q, want %q: %s", r.ErrorCode(), code, redact(r.Body))
	}
	if code != "" && (env.Error == nil || env.Error.Message == "") {
		t.Errorf("error without a message: %s", redact(r.Body))
	}
	if code != "" && len(env.Data) > 0 {
		t.Errorf("error envelope carries data: %s", redact(r.Body))
	}
	if env.Meta.RequestID == "" || env.Meta.RequestID != r.Header.Get("X-Request-ID") {
		t.Errorf("meta.request_id %q, X-Request-ID header %q", env.Meta.RequestID, r.Header.Get("X-Request-ID"))
	}
	ts, err := time.Parse(timestampLayout, env.Timestamp)
	if err != nil {
		t.Errorf("timestamp %q is not %s: %v", env.Timestamp, timestampLayout, err)
	} else if d := time.Since(ts); d < -time.Minute || d > time.Minute {
		t.Errorf("timestamp %s is not now", env.Timestamp)
	}
}

// send posts body (any reader: one of unknown length goes chunked) to path.
func send(t *testing.T, e *apitest.Env, method, path string, body io.Reader, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.Server.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

// unsized hides the length of a reader, so the request is sent chunked.
type unsized struct{ r io.Reader }

func (u unsized) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestFoundation(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, env *apitest.Env) {
		t.Parallel()

		t.Run("liveness", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			r := e.Get("/health", "")
			checkEnvelope(t, r, 200, "")
			var data map[string]any
			r.Data(t, &data)
			if data["status"] != "ok" {
				t.Errorf("data = %v", data)
			}
		})

		t.Run("readiness", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			r := e.Get("/api/v1/health", "")
			checkEnvelope(t, r, 200, "")
			if r.Envelope.Message == "" {
				t.Error("no message")
			}
			var data struct {
				Status            string   `json:"status"`
				Database          string   `json:"database"`
				DatabaseLatencyMs *float64 `json:"database_latency_ms"`
				Version           string   `json:"version"`
				UptimeSeconds     *int     `json:"uptime_seconds"`
			}
			r.Data(t, &data)
			if data.Status != "ok" || data.Database != "ok" {
				t.Errorf("status %q database %q, want ok", data.Status, data.Database)
			}
			if data.DatabaseLatencyMs == nil || *data.DatabaseLatencyMs < 0 || data.Version == "" || data.UptimeSeconds == nil {
				t.Errorf("incomplete report: %s", r.Envelope.Data)
			}
		})

		t.Run("unknown routes", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			for _, p := range []string{"/api/v1/nope", "/api/v1/", "/api/v1/health/extra", "/nope", "/api/v2/health", "/graphqlx"} {
				r := e.Get(p, "")
				checkEnvelope(t, r, 404, "NOT_FOUND")
			}
			r := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/does-not-exist", Body: map[string]any{"a": 1}})
			checkEnvelope(t, r, 404, "NOT_FOUND")
		})

		t.Run("wrong method", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			for _, req := range []apitest.Request{
				{Method: http.MethodPost, Path: "/api/v1/health", Body: map[string]any{}},
				{Method: http.MethodDelete, Path: "/api/v1/health"},
				{Method: http.MethodDelete, Path: "/health"},
				{Method: http.MethodPut, Path: "/health", Body: "{}"},
			} {
				r := e.Do(req)
				checkEnvelope(t, r, 405, "METHOD_NOT_ALLOWED")
			}
		})

		t.Run("request id", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			for _, path := range []string{"/health", "/api/v1/health", "/api/v1/nope"} {
				sent := "client-req-" + uuid.NewString()[:8]
				r := e.Do(apitest.Request{Method: http.MethodGet, Path: path, Header: map[string]string{"X-Request-ID": sent}})
				if got := r.Header.Get("X-Request-ID"); got != sent {
					t.Errorf("%s: X-Request-ID %q, want %q", path, got, sent)
				}
				if r.Envelope.Meta.RequestID != sent {
					t.Errorf("%s: meta.request_id %q, want %q", path, r.Envelope.Meta.RequestID, sent)
				}
			}

			// Without one, each request gets a new UUID.
			a, b := e.Get("/api/v1/health", ""), e.Get("/api/v1/health", "")
			for _, r := range []*apitest.Response{a, b} {
				id, err := uuid.Parse(r.Header.Get("X-Request-ID"))
				if err != nil || id.Version() != 4 {
					t.Errorf("generated id %q is not a UUID v4 (%v)", r.Header.Get("X-Request-ID"), err)
				}
				if r.Envelope.Meta.RequestID != r.Header.Get("X-Request-ID") {
					t.Errorf("meta.request_id %q differs from the header", r.Envelope.Meta.RequestID)
				}
			}
			if a.Header.Get("X-Request-ID") == b.Header.Get("X-Request-ID") {
				t.Error("two requests got the same generated id")
			}

			// An unsafe one is replaced, never echoed.
			for name, bad := range map[string]string{
				"space":     "has a space",
				"too long":  strings.Repeat("x", 129),
				"non-ASCII": "ïd",
			} {
				r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/health", Header: map[string]string{"X-Request-ID": bad}})
				got := r.Header.Get("X-Request-ID")
				if got == bad || strings.Contains(string(r.Body), bad) {
					t.Errorf("%s: the invalid id was echoed", name)
				}
				if _, err := uuid.Parse(got); err != nil || r.Envelope.Meta.RequestID != got {
					t.Errorf("%s: replacement %q / %q is not a UUID", name, got, r.Envelope.Meta.RequestID)
				}
			}
			// 128 characters is still fine.
			ok := strings.Repeat("y", 128)
			if r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/health", Header: map[string]string{"X-Request-ID": ok}}); r.Envelope.Meta.RequestID != ok {
				t.Error("a 128-character id was replaced")
			}
			// GraphQL responses carry the header too.
			sent := "gql-" + uuid.NewString()[:8]
			status, header, _ := send(t, e, http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ health { status } }"}`),
				map[string]string{"Content-Type": "application/json", "X-Request-ID": sent})
			if status != 200 || header.Get("X-Request-ID") != sent {
				t.Errorf("graphql: status %d, X-Request-ID %q", status, header.Get("X-Request-ID"))
			}
		})

		t.Run("body over 1 MiB with Content-Length", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			big := bytes.Repeat([]byte("a"), 1<<20+1)
			for _, path := range []string{"/graphql", "/api/v1/health", "/api/v1/nope"} {
				r := e.Do(apitest.Request{Method: http.MethodPost, Path: path, Body: big})
				checkEnvelope(t, r, 413, "PAYLOAD_TOO_LARGE")
			}
		})

		t.Run("body over 1 MiB without Content-Length", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			// A valid query padded past the limit with white space, sent chunked.
			body := `{"query":"{ health { status } }"` + strings.Repeat(" ", 1<<20) + `}`
			status, _, raw := send(t, e, http.MethodPost, "/graphql", unsized{strings.NewReader(body)},
				map[string]string{"Content-Type": "application/json"})
			var g apitest.GraphQLResponse
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatalf("status %d, body %.200s: %v", status, raw, err)
			}
			// The query is not run: no data, an error instead.
			if len(g.Errors) == 0 || (len(g.Data) > 0 && string(g.Data) != "null") {
				t.Errorf("an oversized chunked body was executed: status %d %.300s", status, raw)
			}
			if bytes.Contains(raw, []byte(strings.Repeat(" ", 64))) {
				t.Error("the response echoes the body")
			}
			// Under the limit, a chunked body is fine.
			small := `{"query":"{ health { status } }"}`
			status, _, raw = send(t, e, http.MethodPost, "/graphql", unsized{strings.NewReader(small)},
				map[string]string{"Content-Type": "application/json"})
			if status != 200 || !strings.Contains(string(raw), `"status":"ok"`) {
				t.Errorf("chunked small body: %d %s", status, raw)
			}
		})

		t.Run("graphql health", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			g := e.GraphQL(`{ health { status database databaseLatencyMs version uptimeSeconds } }`, nil, "")
			if g.Status != 200 {
				t.Fatalf("status %d", g.Status)
			}
			var data struct {
				Health struct {
					Status, Database, Version string
				}
			}
			g.Decode(t, &data)
			if data.Health.Status != "ok" || data.Health.Database != "ok" || data.Health.Version == "" {
				t.Errorf("health = %+v", data.Health)
			}
			// GET works for queries too.
			status, _, raw := send(t, e, http.MethodGet, "/graphql?query=%7B%20health%20%7B%20status%20%7D%20%7D", nil, nil)
			if status != 200 || !strings.Contains(string(raw), `{"data":{"health":{"status":"ok"}}}`) {
				t.Errorf("GET /graphql: %d %s", status, raw)
			}
		})

		t.Run("graphql introspection", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			g := e.GraphQL(`{ __schema { types { name fields { name } inputFields { name } } } }`, nil, "")
			var data struct {
				Schema struct {
					Types []struct {
						Name        string
						Fields      []struct{ Name string }
						InputFields []struct{ Name string }
					}
				} `json:"__schema"`
			}
			g.Decode(t, &data)
			names := map[string]bool{}
			for _, ty := range data.Schema.Types {
				names[ty.Name] = true
			}
			for _, base := range []string{"Tenant", "User", "ServiceAccount", "APIKey", "OAuthClient", "Credential", "AuditLog"} {
				for _, suffix := range []string{"", "Connection", "Edge", "WhereInput", "Order"} {
					if !names[base+suffix] {
						t.Errorf("type %s%s is missing", base, suffix)
					}
				}
			}
			for _, n := range []string{"Node", "PageInfo", "Health", "Query"} {
				if !names[n] {
					t.Errorf("type %s is missing", n)
				}
			}
			// Key material, session secrets and signing keys stay out of the graph,
			// and so do the secret columns of the types that are in it.
			hidden := []string{"datakey", "refreshtoken", "signingkey"}
			secretFields := []string{"keyhash", "passwordhash", "ciphertext", "secrethash", "wrappedkey", "tokenhash", "sealedprivatekey"}
			for _, ty := range data.Schema.Types {
				lower := strings.ToLower(ty.Name)
				for _, h := range hidden {
					if strings.Contains(lower, h) {
						t.Errorf("type %s is in the graph", ty.Name)
					}
				}
				for _, f := range append(ty.Fields, ty.InputFields...) {
					lf := strings.ToLower(f.Name)
					for _, s := range secretFields {
						if strings.Contains(lf, s) {
							t.Errorf("%s.%s exposes a secret column", ty.Name, f.Name)
						}
					}
				}
			}
		})

		t.Run("graphql errors", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			for _, tc := range []struct {
				name, query, code string
			}{
				{"syntax error", `{ health { status }`, "INVALID_REQUEST"},
				{"not a query", `this is not graphql`, "INVALID_REQUEST"},
				{"unknown field", `{ nope }`, "VALIDATION_ERROR"},
				{"unknown subfield", `{ health { status password } }`, "VALIDATION_ERROR"},
				{"missing argument", `{ node { id } }`, "VALIDATION_ERROR"},
				{"node without credentials", `{ node(id: "` + uuid.NewString() + `") { id } }`, "UNAUTHORIZED"},
				{"nodes without credentials", `{ nodes(ids: ["` + uuid.NewString() + `"]) { id } }`, "UNAUTHORIZED"},
			} {
				g := e.GraphQL(tc.query, nil, "")
				if g.Code() != tc.code {
					t.Errorf("%s: code %q, want %q (%+v)", tc.name, g.Code(), tc.code, g.Errors)
				}
				if len(g.Errors) > 0 && g.Errors[0].Message == "" {
					t.Errorf("%s: error without a message", tc.name)
				}
			}
			// An UNAUTHORIZED error says why, like REST's details.reason.
			g := e.GraphQL(`{ node(id: "`+uuid.NewString()+`") { id } }`, nil, "")
			if d, _ := g.Errors[0].Extensions["details"].(map[string]any); d["reason"] != "missing" {
				t.Errorf("details = %v", g.Errors[0].Extensions["details"])
			}
		})

		t.Run("graphql malformed JSON is not echoed", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			body := `{"query": "{ health { status } }", "variables": {"password": "s3cr3t-value"`
			status, _, raw := send(t, e, http.MethodPost, "/graphql", strings.NewReader(body),
				map[string]string{"Content-Type": "application/json"})
			if bytes.Contains(raw, []byte("s3cr3t-value")) {
				t.Fatal("the response echoes the malformed body")
			}
			if status != 400 {
				t.Errorf("status %d, want 400", status)
			}
			var g apitest.GraphQLResponse
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if g.Code() != "INVALID_REQUEST" {
				t.Errorf("code %q: %s", g.Code(), raw)
			}
		})

		t.Run("graphql depth limit", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			id := uuid.NewString()
			// 12 levels: node, apiKeys, edges, node, serviceAccount, apiKeys,
			// edges, node, serviceAccount, apiKeys, edges, cursor.
			const nest = `apiKeys(first: 1) { edges { node { serviceAccount { apiKeys(first: 1) { edges { node { serviceAccount { apiKeys(first: 1) { edges { %s } } } } } } } } } }`
			atLimit := `{ node(id: "` + id + `") { ... on ServiceAccount { ` + fmt.Sprintf(nest, "cursor") + ` } } }`
			overLimit := `{ node(id: "` + id + `") { ... on ServiceAccount { ` + fmt.Sprintf(nest, "node { id }") + ` } } }`

			// At the limit the operation runs (and the resolver asks for credentials).
			if g := e.GraphQL(atLimit, nil, ""); g.Code() != "UNAUTHORIZED" {
				t.Errorf("depth 12: code %q (%+v), want the resolver's UNAUTHORIZED", g.Code(), g.Errors)
			}
			g := e.GraphQL(overLimit, nil, "")
			if g.Code() != "VALIDATION_ERROR" || !strings.Contains(g.Errors[0].Message, "depth") {
				t.Errorf("depth 13: %+v, want a VALIDATION_ERROR about depth", g.Errors)
			}
			if len(g.Data) > 0 && string(g.Data) != "null" {
				t.Errorf("depth 13 ran: %s", g.Data)
			}
			// Introspection's own nesting is not counted.
			deep := `{ __schema { types { fields { type { ` + strings.Repeat("ofType { ", 10) + "name" + strings.Repeat(" }", 15)
			if g := e.GraphQL(deep, nil, ""); len(g.Errors) > 0 || !bytes.Contains(g.Data, []byte(`"ofType"`)) {
				t.Errorf("deep introspection refused: %+v", g.Errors)
			}
		})

		t.Run("playground", func(t *testing.T) {
			t.Parallel()
			e := on(t, env)
			status, header, raw := send(t, e, http.MethodGet, "/playground", nil, nil)
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q", ct)
			}
			if !bytes.Contains(raw, []byte(`data-endpoint="/graphql"`)) {
				t.Error("the page does not point at /graphql")
			}
		})
	})
}

func TestReadinessWhenDatabaseIsDown(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		t.Parallel()
		checkEnvelope(t, e.Get("/api/v1/health", ""), 200, "")
		if err := e.Store.DB.Close(); err != nil {
			t.Fatal(err)
		}
		r := e.Get("/api/v1/health", "")
		checkEnvelope(t, r, 503, "SERVICE_UNAVAILABLE")
		if d := r.Envelope.Error.Details; d["database"] != "unavailable" {
			t.Errorf("details = %v, want the failed check named", d)
		}
		if strings.Contains(string(r.Body), "sql:") || strings.Contains(string(r.Body), "closed") {
			t.Errorf("the response shows the driver's error: %s", r.Body)
		}
		// Liveness does not depend on the database.
		checkEnvelope(t, e.Get("/health", ""), 200, "")

		g := e.GraphQL(`{ health { status database } }`, nil, "")
		var data struct {
			Health struct{ Status, Database string }
		}
		g.Decode(t, &data)
		if data.Health.Status != "unavailable" || data.Health.Database != "unavailable" {
			t.Errorf("graphql health = %+v", data.Health)
		}
	})
}

func TestIntrospectionDisabled(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		t.Parallel()
		for _, q := range []string{
			`{ __schema { types { name } } }`,
			`{ __type(name: "APIKey") { name fields { name } } }`,
		} {
			g := e.GraphQL(q, nil, "")
			if len(g.Errors) == 0 {
				t.Errorf("%s: introspection answered: %s", q, g.Data)
				continue
			}
			if bytes.Contains(g.Data, []byte("APIKey")) || bytes.Contains(g.Data, []byte("Tenant")) {
				t.Errorf("%s: types leaked: %s", q, g.Data)
			}
		}
		// Ordinary queries still work.
		g := e.GraphQL(`{ health { status } __typename }`, nil, "")
		var data struct {
			Health   struct{ Status string }
			Typename string `json:"__typename"`
		}
		g.Decode(t, &data)
		if data.Health.Status != "ok" || data.Typename != "Query" {
			t.Errorf("data = %+v", data)
		}
	}, func(cfg *config.Config) { cfg.GraphQLIntrospection = false })
}

// TestEnvelopeFieldsAreSnakeCase checks the raw JSON keys of both envelopes.
func TestEnvelopeFieldsAreSnakeCase(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		t.Parallel()
		for path, want := range map[string][]string{
			"/api/v1/health": {"data", "message", "meta", "success", "timestamp"},
			"/api/v1/nope":   {"error", "meta", "success", "timestamp"},
		} {
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(e.Get(path, "").Body, &raw); err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range raw {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, want) {
				t.Errorf("%s: keys %v, want %v", path, keys, want)
			}
		}
	})
}

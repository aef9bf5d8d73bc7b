// Package apitest runs the real CredVault server over HTTP for tests: the
// real router, resolvers and database, reached with a real HTTP client.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/server"
)

// Env is one running server on one database.
type Env struct {
	T      testing.TB
	Store  *store.Store
	Config *config.Config
	Server *httptest.Server
	srv    *server.Server
}

// Handler is the server's root handler, for benchmarks that skip the network.
func (e *Env) Handler() http.Handler { return e.srv.Handler() }

// Flush writes the server's batched audit entries and key usage now, so a
// test can read them from the database.
func (e *Env) Flush() {
	e.T.Helper()
	if err := e.srv.Flush(context.Background()); err != nil {
		e.T.Fatal(err)
	}
}

// Each runs fn against a fresh server on every backend of storetest.
func Each(t *testing.T, fn func(t *testing.T, e *Env), opts ...func(*config.Config)) {
	t.Helper()
	storetest.Each(t, func(t *testing.T, st *store.Store) { fn(t, New(t, st, opts...)) })
}

// EachParallel is Each with the backends' subtests running in parallel,
// each opening its database only once it runs: a subtest paused by
// t.Parallel holds no PostgreSQL connection, whose number is limited.
func EachParallel(t *testing.T, fn func(t *testing.T, e *Env), opts ...func(*config.Config)) {
	t.Helper()
	for _, b := range storetest.Backends() {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, New(t, storetest.Open(t, b), opts...))
		})
	}
}

// Config is the configuration New starts a server with: the defaults with
// rate limits off and passwords hashed at a test's cost, then opts.
func Config(t testing.TB, opts ...func(*config.Config)) *config.Config {
	t.Helper()
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RateLimits = "off"
	// Still argon2id, at 256 KiB and one pass: OWASP's cost spent a third
	// of the suite's CPU on the passwords of its thousands of test users.
	cfg.Argon2 = password.Params{Memory: 256, Time: 1, Threads: 1}
	for _, o := range opts {
		o(cfg)
	}
	return cfg
}

// New starts a server on st; opts adjust the configuration first. The
// master key is a new one, or cfg.MasterKey when a test sets it to share
// one key between instances.
func New(t testing.TB, st *store.Store, opts ...func(*config.Config)) *Env {
	t.Helper()
	cfg := Config(t, opts...)
	master, err := crypt.GenerateMasterKey()
	if cfg.MasterKey != "" {
		master, err = crypt.ParseMasterKey(cfg.MasterKey)
	}
	if err != nil {
		t.Fatal(err)
	}
	return Start(t, st, cfg, server.Keys{Master: master})
}

// Start starts a server on st with cfg and keys, as New does once it has
// them: for a test that holds the keys itself (a previous master key, a
// keyring signing tokens the server accepts).
func Start(t testing.TB, st *store.Store, cfg *config.Config, keys server.Keys) *Env {
	t.Helper()
	if err := server.Bootstrap(context.Background(), st, cfg.AdminEmail, cfg.AdminPassword, cfg.Argon2); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(context.Background(), cfg, st, keys, logger)
	if err != nil {
		t.Fatal(err)
	}
	stop := srv.Start()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		stop()
	})
	return &Env{T: t, Store: st, Config: cfg, Server: ts, srv: srv}
}

// Response is an HTTP response with its body read and, when it is an
// envelope, decoded.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Envelope is the decoded /api/v1 envelope (zero when the body is not one).
	Envelope Envelope
}

// Envelope is the REST response envelope, with data kept raw.
type Envelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	Meta struct {
		RequestID  string         `json:"request_id"`
		Pagination map[string]any `json:"pagination"`
	} `json:"meta"`
	Timestamp string `json:"timestamp"`
}

// Request is a request to send; Body is JSON-encoded unless it is []byte or a string.
type Request struct {
	Method  string
	Path    string
	Body    any
	Header  map[string]string
	Bearer  string
	NoCType bool
	// NoFollow answers a redirect as it is, not the page it leads to.
	NoFollow bool
}

// HTTPRequest is the *http.Request Do sends for req.
func (e *Env) HTTPRequest(req Request) *http.Request {
	e.T.Helper()
	var body io.Reader
	ctype := "application/json"
	switch b := req.Body.(type) {
	case nil:
		ctype = ""
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	r, err := http.NewRequest(req.Method, e.Server.URL+req.Path, body)
	if err != nil {
		e.T.Fatal(err)
	}
	if ctype != "" && !req.NoCType {
		r.Header.Set("Content-Type", ctype)
	}
	if req.Bearer != "" {
		r.Header.Set("Authorization", "Bearer "+req.Bearer)
	}
	for k, v := range req.Header {
		r.Header.Set(k, v)
	}
	return r
}

// Do sends req and reads the response.
func (e *Env) Do(req Request) *Response {
	e.T.Helper()
	r := e.HTTPRequest(req)
	client := e.Server.Client()
	if req.NoFollow {
		c := *client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		client = &c
	}
	resp, err := client.Do(r)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	_ = json.Unmarshal(raw, &out.Envelope)
	return out
}

// Get is Do with GET and no body.
func (e *Env) Get(path, bearer string) *Response {
	e.T.Helper()
	return e.Do(Request{Method: http.MethodGet, Path: path, Bearer: bearer})
}

// Data decodes the envelope's data into v.
func (r *Response) Data(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Envelope.Data, v); err != nil {
		t.Fatalf("decode data %s: %v", r.Envelope.Data, err)
	}
}

// ErrorCode returns the envelope's error code, or "".
func (r *Response) ErrorCode() string {
	if r.Envelope.Error == nil {
		return ""
	}
	return r.Envelope.Error.Code
}

// GraphQLResponse is a GraphQL response.
type GraphQLResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// GraphQL posts a query with variables, authenticated with bearer when set.
func (e *Env) GraphQL(query string, vars map[string]any, bearer string, header ...map[string]string) *GraphQLResponse {
	e.T.Helper()
	req := Request{Method: http.MethodPost, Path: "/graphql", Bearer: bearer,
		Body: map[string]any{"query": query, "variables": vars}}
	if len(header) > 0 {
		req.Header = header[0]
	}
	resp := e.Do(req)
	out := &GraphQLResponse{Status: resp.Status}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		e.T.Fatalf("graphql response %s: %v", resp.Body, err)
	}
	return out
}

// Code returns the extensions.code of the first error, or "".
func (g *GraphQLResponse) Code() string {
	if len(g.Errors) == 0 {
		return ""
	}
	c, _ := g.Errors[0].Extensions["code"].(string)
	return c
}

// Decode decodes data into v.
func (g *GraphQLResponse) Decode(t testing.TB, v any) {
	t.Helper()
	if len(g.Errors) > 0 {
		t.Fatalf("graphql errors: %+v", g.Errors)
	}
	if err := json.Unmarshal(g.Data, v); err != nil {
		t.Fatalf("decode %s: %v", g.Data, err)
	}
}

// Eventually polls cond every 20 ms until it holds and returns how long it
// took; it fails the test when cond does not hold within, with cond's last
// description of the state.
func Eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v (last: %s)", what, within, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

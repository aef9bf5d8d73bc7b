package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// logBuf collects what the code under test logs through slog's default
// logger, so tests can check that causes reach the log and not the client.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

var defaultLog = &logBuf{}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(defaultLog, nil)))
	os.Exit(m.Run())
}

type envelope struct {
	Success bool `json:"success"`
	Error   *struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	Meta struct {
		RequestID string `json:"request_id"`
	} `json:"meta"`
}

func decodeEnvelope(t *testing.T, body []byte) envelope {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("not an envelope: %v\n%s", err, body)
	}
	return env
}

func TestRecoverPanics(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		value any
		// secret is part of the panic value and must stay out of the response.
		secret string
	}{
		{"string", "database password=hunter2", "hunter2"},
		{"error", fmt.Errorf("dial tcp: token=%s", "tok-s3cr3t"), "tok-s3cr3t"},
		{"runtime error", nil, "index out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := requestInfo(recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				if tc.value == nil {
					var s []int
					_ = s[3] // a real runtime panic
				}
				panic(tc.value)
			})))
			rid := "rp-" + uuid.NewString()
			req := httptest.NewRequest(http.MethodGet, "/boom", nil)
			req.Header.Set("X-Request-ID", rid)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", rec.Code)
			}
			env := decodeEnvelope(t, rec.Body.Bytes())
			if env.Success || env.Error == nil || env.Error.Code != "INTERNAL_ERROR" || env.Error.Message != "internal server error" {
				t.Errorf("body %s", rec.Body)
			}
			if env.Meta.RequestID != rid {
				t.Errorf("meta.request_id = %q, want %q", env.Meta.RequestID, rid)
			}
			body := rec.Body.String()
			for _, leak := range []string{tc.secret, "goroutine", "panic", ".go:", "runtime/debug"} {
				if strings.Contains(body, leak) {
					t.Errorf("response contains %q", leak)
				}
			}
			// The cause and the stack went to the log instead.
			logged := false
			for _, l := range strings.Split(defaultLog.String(), "\n") {
				if strings.Contains(l, rid) && strings.Contains(l, tc.secret) && strings.Contains(l, "goroutine") {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no log line of %s holds the panic value and the stack", rid)
			}
		})
	}
}

func TestRecoverPanicsRepanicsAbort(t *testing.T) {
	t.Parallel()
	h := recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	rec := httptest.NewRecorder()
	var got any
	func() {
		defer func() { got = recover() }()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	}()
	if got != http.ErrAbortHandler {
		t.Fatalf("recovered %v, want http.ErrAbortHandler to propagate", got)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("an aborted response has a body: %s", rec.Body)
	}
}

func TestRecoverPanicsPassesThrough(t *testing.T) {
	t.Parallel()
	h := recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "fine")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusTeapot || rec.Body.String() != "fine" {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
}

func TestPresentError(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, "sqlite")
	ctx := context.Background()
	all := store.Unrestricted(ctx)

	_, notFound := st.Client.Tenant.Get(all, uuid.New())
	if !ent.IsNotFound(notFound) {
		t.Fatalf("setup: %v", notFound)
	}
	if _, err := st.Client.Tenant.Create().SetName("T").SetSlug("taken").Save(all); err != nil {
		t.Fatal(err)
	}
	_, conflict := st.Client.Tenant.Create().SetName("T2").SetSlug("taken").Save(all)
	if !ent.IsConstraintError(conflict) {
		t.Fatalf("setup: %v", conflict)
	}
	_, invalid := st.Client.Tenant.Create().SetName("").SetSlug("empty-name").Save(all)
	if !ent.IsValidationError(invalid) {
		t.Fatalf("setup: %v", invalid)
	}
	_, missing := st.Client.Tenant.Create().SetSlug("no-name").Save(all)
	if !ent.IsValidationError(missing) {
		t.Fatalf("setup: %v", missing)
	}
	_, tooLong := st.Client.Tenant.Create().SetName(strings.Repeat("é", 101)).SetSlug("long-name").Save(all)
	if !ent.IsValidationError(tooLong) {
		t.Fatalf("setup: %v", tooLong)
	}
	_, badEnum := st.Client.Tenant.Create().SetName("T3").SetSlug("bad-status").SetStatus("gone").Save(all)
	if !ent.IsValidationError(badEnum) {
		t.Fatalf("setup: %v", badEnum)
	}
	_, denied := st.Client.Tenant.Query().All(ctx)
	if denied == nil {
		t.Fatal("setup: query without a principal succeeded")
	}

	parseErr := gqlerror.Errorf("Unexpected Name \"quer\"")
	parseErr.Extensions = map[string]any{"code": "GRAPHQL_PARSE_FAILED"}
	validationErr := gqlerror.Errorf("Cannot query field \"nope\" on type \"Query\".")
	validationErr.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}
	bodyErr := gqlerror.Errorf("json request body could not be decoded: invalid character body:{\"password\":\"s3cr3t-value\"")

	for _, tc := range []struct {
		name    string
		err     error
		code    string
		message string
		details map[string]any
		// hidden must not appear in the message.
		hidden string
	}{
		{name: "apperr", err: apperr.Invalid("name", "required"), code: "VALIDATION_ERROR",
			message: "name is required", details: map[string]any{"field": "name", "reason": "required"}},
		{name: "wrapped apperr", err: fmt.Errorf("resolver: %w", apperr.Denied("vault:admin")), code: "FORBIDDEN",
			details: map[string]any{"required_scope": "vault:admin"}},
		{name: "apperr.Wrap", err: apperr.Wrap(errors.New("pq: secret detail")), code: "INTERNAL_ERROR",
			message: "internal server error", hidden: "secret"},
		{name: "ent not found", err: notFound, code: "NOT_FOUND", hidden: "tenant"},
		{name: "wrapped ent not found", err: fmt.Errorf("load: %w", notFound), code: "NOT_FOUND"},
		{name: "ent constraint", err: conflict, code: "CONFLICT", hidden: "UNIQUE"},
		{name: "ent validation: missing", err: missing, code: "VALIDATION_ERROR", details: map[string]any{"field": "name", "reason": "required"}},
		{name: "ent validation: empty", err: invalid, code: "VALIDATION_ERROR", details: map[string]any{"field": "name", "reason": "required"}},
		{name: "ent validation: longer than the column", err: tooLong, code: "VALIDATION_ERROR", details: map[string]any{"field": "name", "reason": "too_long"}},
		{name: "ent validation: another rule", err: badEnum, code: "VALIDATION_ERROR", details: map[string]any{"field": "status", "reason": "invalid"}},
		{name: "privacy deny", err: denied, code: "FORBIDDEN", hidden: "no tenant"},
		{name: "deadline", err: context.DeadlineExceeded, code: "SERVICE_UNAVAILABLE",
			details: map[string]any{"retry_after": apperr.RetryAfterSeconds}},
		{name: "database unavailable", err: fmt.Errorf("query: %w", sql.ErrConnDone), code: "SERVICE_UNAVAILABLE",
			details: map[string]any{"retry_after": apperr.RetryAfterSeconds}, hidden: "sql"},
		{name: "plain error", err: errors.New("boom secret"), code: "INTERNAL_ERROR",
			message: "internal server error", hidden: "secret"},
		{name: "parse error", err: parseErr, code: "INVALID_REQUEST", message: parseErr.Message},
		{name: "validation error", err: validationErr, code: "VALIDATION_ERROR", message: validationErr.Message},
		{name: "undecodable body", err: bodyErr, code: "INVALID_REQUEST", message: "request body is not valid JSON", hidden: "s3cr3t"},
		{name: "resolver error with a path", err: gqlerror.WrapPath(ast.Path{ast.PathName("me")}, errors.New("sql: secret")),
			code: "INTERNAL_ERROR", hidden: "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := presentError(ctx, tc.err)
			if got == nil {
				t.Fatal("nil error")
			}
			if code := fmt.Sprint(got.Extensions["code"]); code != tc.code {
				t.Errorf("extensions.code = %s, want %s (message %q)", code, tc.code, got.Message)
			}
			if tc.message != "" && got.Message != tc.message {
				t.Errorf("message = %q, want %q", got.Message, tc.message)
			}
			if tc.hidden != "" && strings.Contains(got.Message, tc.hidden) {
				t.Errorf("message %q reveals %q", got.Message, tc.hidden)
			}
			if tc.details != nil {
				d, _ := got.Extensions["details"].(map[string]any)
				for k, v := range tc.details {
					if d[k] != v {
						t.Errorf("details.%s = %v, want %v", k, d[k], v)
					}
				}
			} else if _, ok := got.Extensions["details"]; ok {
				t.Errorf("unexpected details %v", got.Extensions["details"])
			}
			if len(got.Extensions) > 2 {
				t.Errorf("extensions carry more than code and details: %v", got.Extensions)
			}
		})
	}
}

func TestRecoverResolver(t *testing.T) {
	t.Parallel()
	rid := "resolver-" + uuid.NewString()
	ctx := reqinfo.NewContext(context.Background(), &reqinfo.Info{RequestID: rid})
	err := recoverResolver(ctx, "nil map write with password=hunter2")
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Code != apperr.Internal {
		t.Fatalf("err = %v, want INTERNAL_ERROR", err)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(ae.Message, "goroutine") {
		t.Errorf("error %q reveals the panic", err)
	}
	presented := presentError(ctx, err)
	if presented.Extensions["code"] != apperr.Internal || strings.Contains(presented.Message, "hunter2") {
		t.Errorf("presented as %v %q", presented.Extensions, presented.Message)
	}
	if log := defaultLog.String(); !strings.Contains(log, rid) || !strings.Contains(log, "hunter2") {
		t.Error("the panic is not logged with its request id")
	}
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"":                         false,
		"abc":                      true,
		"a-b_c.d:e/f=g+h~!":        true,
		uuid.NewString():           true,
		strings.Repeat("a", 128):   true,
		strings.Repeat("a", 129):   false,
		"with space":               false,
		"tab\there":                false,
		"line\nbreak":              false,
		"cr\rlf":                   false,
		"ünïcode":                  false,
		"nul\x00":                  false,
		"del\x7f":                  false,
		strings.Repeat("b", 10000): false,
	} {
		if got := validRequestID(id); got != want {
			t.Errorf("validRequestID(%.40q) = %v, want %v", id, got, want)
		}
	}
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	var read int64
	var readErr error
	h := limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		read, readErr = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))

	// Declared too large: refused before the handler runs.
	read, readErr = -1, nil
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	req.ContentLength = maxBodyBytes + 1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || decodeEnvelope(t, rec.Body.Bytes()).Error.Code != "PAYLOAD_TOO_LARGE" {
		t.Errorf("declared length: %d %s", rec.Code, rec.Body)
	}
	if read != -1 {
		t.Error("the handler ran for a body declared too large")
	}

	// Undeclared: the handler reads at most the limit and gets an error.
	req = httptest.NewRequest(http.MethodPost, "/", io.LimitReader(zeros{}, 2*maxBodyBytes))
	req.ContentLength = -1
	h.ServeHTTP(httptest.NewRecorder(), req)
	var mbe *http.MaxBytesError
	if !errors.As(readErr, &mbe) || read > maxBodyBytes {
		t.Errorf("undeclared length: read %d bytes, err %v", read, readErr)
	}

	// Exactly the limit passes.
	req = httptest.NewRequest(http.MethodPost, "/", io.LimitReader(zeros{}, maxBodyBytes))
	req.ContentLength = maxBodyBytes
	h.ServeHTTP(httptest.NewRecorder(), req)
	if readErr != nil || read != maxBodyBytes {
		t.Errorf("at the limit: read %d, err %v", read, readErr)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	var got string
	capture := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = reqinfo.FromContext(r.Context()).IP })
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     string
		want    string
	}{
		{"no proxies: the peer", nil, "192.0.2.1:5555", "203.0.113.7", "192.0.2.1"},
		{"untrusted peer cannot spoof", trusted, "192.0.2.1:5555", "203.0.113.7", "192.0.2.1"},
		{"trusted proxy: the forwarded client", trusted, "10.1.2.3:5555", "203.0.113.7", "203.0.113.7"},
		{"trusted chain: rightmost untrusted", trusted, "10.1.2.3:5555", "198.51.100.1, 203.0.113.7, 10.9.9.9", "203.0.113.7"},
	} {
		got = ""
		h := clientIP(tc.trusted)(requestInfo(capture))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = tc.peer
		req.Header.Set("X-Forwarded-For", tc.xff)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if got != tc.want {
			t.Errorf("%s: ip %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestAccessLogOmitsQuery(t *testing.T) {
	t.Parallel()
	var logged logBuf
	st := storetest.Open(t, "sqlite")
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	master, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(context.Background(), cfg, st, Keys{Master: master}, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Start()()
	h := srv.Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/health?api_key=cvk_querysecret", nil)
	req.Header.Set("X-Request-ID", "log-check-1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d %s", rec.Code, rec.Body)
	}
	line := logged.String()
	if strings.Contains(line, "querysecret") {
		t.Errorf("the access log holds the query string: %s", line)
	}
	for _, want := range []string{"request_id=log-check-1", "method=GET", "status=200", "route=/api/v1/health"} {
		if !strings.Contains(line, want) {
			t.Errorf("access log lacks %q: %s", want, line)
		}
	}
}

func loadConfig(t *testing.T, vars map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(nil, func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLoadKeys(t *testing.T) {
	t.Parallel()
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	good, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	prev, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	short := "c2hvcnQ=" // base64 of "short"

	t.Run("production without a key", func(t *testing.T) {
		t.Parallel()
		cfg := loadConfig(t, map[string]string{"CREDVAULT_ENV": "production"})
		// Even an existing development key file is not used in production.
		cfg.MasterKeyFile = filepath.Join(t.TempDir(), "master.key")
		if _, _, err := crypt.LoadOrCreateKeyFile(cfg.MasterKeyFile); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKeys(cfg, discard)
		if err == nil || !strings.Contains(err.Error(), "CREDVAULT_MASTER_KEY") {
			t.Errorf("err = %v, want one naming CREDVAULT_MASTER_KEY", err)
		}
	})
	for _, tc := range []struct {
		name, key, previous, wantErr string
	}{
		{"bad base64", "not base64 !!", "", "CREDVAULT_MASTER_KEY"},
		{"wrong length", short, "", "CREDVAULT_MASTER_KEY"},
		{"bad previous key", good.Encode(), short, "CREDVAULT_MASTER_KEY_PREVIOUS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, env := range []string{"development", "production"} {
				cfg := loadConfig(t, map[string]string{"CREDVAULT_ENV": env,
					"CREDVAULT_MASTER_KEY": tc.key, "CREDVAULT_MASTER_KEY_PREVIOUS": tc.previous})
				cfg.MasterKeyFile = filepath.Join(t.TempDir(), "master.key")
				_, err := LoadKeys(cfg, discard)
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("%s: err = %v, want one naming %s", env, err, tc.wantErr)
				}
				if err != nil && tc.key != "" && strings.Contains(err.Error(), tc.key) {
					t.Errorf("%s: the error repeats the key", env)
				}
				if _, statErr := os.Stat(cfg.MasterKeyFile); !errors.Is(statErr, os.ErrNotExist) {
					t.Errorf("%s: a key file was created despite a configured key", env)
				}
			}
		})
	}
	t.Run("production with keys", func(t *testing.T) {
		t.Parallel()
		cfg := loadConfig(t, map[string]string{"CREDVAULT_ENV": "production",
			"CREDVAULT_MASTER_KEY": good.Encode(), "CREDVAULT_MASTER_KEY_PREVIOUS": prev.Encode()})
		keys, err := LoadKeys(cfg, discard)
		if err != nil {
			t.Fatal(err)
		}
		if keys.Master == nil || keys.Master.Encode() != good.Encode() {
			t.Error("master key not loaded")
		}
		if keys.Previous == nil || keys.Previous.Encode() != prev.Encode() {
			t.Error("previous key not loaded")
		}
	})
	t.Run("development creates a key file once", func(t *testing.T) {
		t.Parallel()
		var logged logBuf
		logger := slog.New(slog.NewTextHandler(&logged, nil))
		cfg := loadConfig(t, nil)
		cfg.MasterKeyFile = filepath.Join(t.TempDir(), "master.key")
		first, err := LoadKeys(cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(cfg.MasterKeyFile)
		if err != nil {
			t.Fatalf("no key file: %v", err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("key file mode %o, want 600", mode)
		}
		if first.Previous != nil {
			t.Error("a previous key appeared from nowhere")
		}
		second, err := LoadKeys(cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		if first.Master == nil || second.Master == nil || first.Master.Encode() != second.Master.Encode() {
			t.Error("the second load returned a different key")
		}
		log := logged.String()
		if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "generated") || !strings.Contains(log, "using the development master key") {
			t.Errorf("warnings missing: %s", log)
		}
		if strings.Contains(log, first.Master.Encode()) {
			t.Error("the key was logged")
		}
	})
}

func TestBootstrap(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := context.Background()
		all := store.Unrestricted(ctx)
		const pw = "a long admin password"
		for i := range 2 {
			if err := Bootstrap(ctx, st, "  Admin@Example.COM ", pw, password.OWASP); err != nil {
				t.Fatalf("bootstrap %d: %v", i+1, err)
			}
		}
		tenants, err := st.Client.Tenant.Query().All(all)
		if err != nil {
			t.Fatal(err)
		}
		if len(tenants) != 1 {
			t.Fatalf("%d tenants, want 1", len(tenants))
		}
		pt := tenants[0]
		if !pt.Platform || pt.Slug != PlatformSlug || pt.Plan != "enterprise" || pt.Status != tenant.StatusActive {
			t.Errorf("platform tenant = %+v", pt)
		}
		users, err := st.Client.User.Query().All(all)
		if err != nil {
			t.Fatal(err)
		}
		if len(users) != 1 {
			t.Fatalf("%d users, want 1", len(users))
		}
		admin := users[0]
		if admin.TenantID != pt.ID || admin.Email != "admin@example.com" || admin.Role != user.RoleOwner || admin.Status != user.StatusActive {
			t.Errorf("admin = %+v", admin)
		}
		if admin.PasswordHash == pw || password.Verify(admin.PasswordHash, pw) != nil {
			t.Error("the admin's password is not stored as a verifiable hash")
		}
		entries, err := st.Client.AuditLog.Query().All(all)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("%d audit entries, want 1", len(entries))
		}
		e := entries[0]
		if e.Action != "user.create" || e.TenantID != pt.ID || e.ResourceType != "user" || e.ResourceID != admin.ID.String() ||
			e.ActorType != "system" || e.Outcome != auditlog.OutcomeSuccess || e.Details["source"] != "bootstrap" {
			t.Errorf("audit entry = %+v", e)
		}

		// A different email later adds a second owner, without a second tenant.
		if err := Bootstrap(ctx, st, "second@example.com", pw, password.OWASP); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.Client.Tenant.Query().Count(all); n != 1 {
			t.Errorf("%d tenants after another bootstrap", n)
		}
		if n, _ := st.Client.User.Query().Count(all); n != 2 {
			t.Errorf("%d users after bootstrapping a second email, want 2", n)
		}
	})
}

func TestBootstrapWithoutAdmin(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		all := store.Unrestricted(context.Background())
		for range 2 {
			if err := Bootstrap(context.Background(), st, "", "", password.OWASP); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := st.Client.Tenant.Query().Where(tenant.Platform(true)).Count(all); err != nil || n != 1 {
			t.Errorf("%d platform tenants (%v), want 1", n, err)
		}
		if n, _ := st.Client.User.Query().Count(all); n != 0 {
			t.Errorf("%d users without an admin email", n)
		}
		if n, _ := st.Client.AuditLog.Query().Count(all); n != 0 {
			t.Errorf("%d audit entries without an admin", n)
		}
	})
}

func TestBootstrapRejectsShortOrLongPassword(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		all := store.Unrestricted(context.Background())
		for pw, why := range map[string]string{"short-pw": "too short", strings.Repeat("long-pw ", 40): "too long"} {
			err := Bootstrap(context.Background(), st, "admin@example.com", pw, password.OWASP)
			if err == nil || !strings.Contains(err.Error(), "CREDVAULT_ADMIN_PASSWORD is "+why+": a password has 10 to 256 characters") {
				t.Fatalf("err = %v, want one saying CREDVAULT_ADMIN_PASSWORD is %s and what a password has", err, why)
			}
			if strings.Contains(err.Error(), pw) {
				t.Error("the error repeats the password")
			}
		}
		// One transaction: nothing of the failed bootstrap stays.
		if n, _ := st.Client.Tenant.Query().Count(all); n != 0 {
			t.Errorf("%d tenants after a failed bootstrap", n)
		}
		if n, _ := st.Client.User.Query().Count(all); n != 0 {
			t.Errorf("%d users after a failed bootstrap", n)
		}
	})
}

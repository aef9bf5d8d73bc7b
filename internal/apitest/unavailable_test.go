package apitest_test

// Database unavailability over real HTTP: with the server's pool closed,
// every way in answers 503 SERVICE_UNAVAILABLE with Retry-After (GraphQL:
// extensions.code and details.retry_after; /oauth/token: the RFC body),
// and nothing is logged at ERROR. On PostgreSQL, connections terminated
// under the server are replaced without a restart.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// unavailablePrefix starts the request ids of this file's requests, whose
// log records the recorder keeps.
const unavailablePrefix = "unavail-"

// loggedRecord is one WARN-or-worse record of a request of this file.
type loggedRecord struct {
	level     slog.Level
	message   string
	requestID string
	stack     bool
}

// logRecorder is slog's default handler while these tests run (the server
// logs request errors there): it keeps the WARN-or-worse records of
// requests whose id starts with unavailablePrefix and drops the rest.
type logRecorder struct {
	mu   sync.Mutex
	recs []loggedRecord
}

func (l *logRecorder) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) Handle(ctx context.Context, r slog.Record) error {
	rec := loggedRecord{level: r.Level, message: r.Message, requestID: reqinfo.FromContext(ctx).RequestID}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "request_id":
			rec.requestID = a.Value.String()
		case "stack":
			rec.stack = true
		}
		return true
	})
	if !strings.HasPrefix(rec.requestID, unavailablePrefix) {
		return nil
	}
	l.mu.Lock()
	l.recs = append(l.recs, rec)
	l.mu.Unlock()
	return nil
}

// of returns the records of the requests whose ids start with prefix.
func (l *logRecorder) of(prefix string) []loggedRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loggedRecord
	for _, r := range l.recs {
		if strings.HasPrefix(r.requestID, prefix) {
			out = append(out, r)
		}
	}
	return out
}

var (
	recorderOnce sync.Once
	recorder     = &logRecorder{}
)

// recordLogs makes the recorder slog's default handler, once.
func recordLogs() *logRecorder {
	recorderOnce.Do(func() { slog.SetDefault(slog.New(recorder)) })
	return recorder
}

// requestIDs hands out request ids under one prefix per test.
type requestIDs struct {
	prefix string
	n      int
}

func newRequestIDs() *requestIDs {
	return &requestIDs{prefix: unavailablePrefix + uuid.NewString()[:8] + "-"}
}

// header is an X-Request-ID header with the next id.
func (ids *requestIDs) header() map[string]string {
	ids.n++
	return map[string]string{"X-Request-ID": ids.prefix + strconv.Itoa(ids.n)}
}

// wantRetryAfter fails unless the answer says when to retry.
func wantRetryAfter(t testing.TB, what string, h http.Header) {
	t.Helper()
	if got := h.Get("Retry-After"); got != strconv.Itoa(apperr.RetryAfterSeconds) {
		t.Errorf("%s: Retry-After %q, want %d", what, got, apperr.RetryAfterSeconds)
	}
}

// wantUnavailableREST checks a 503 SERVICE_UNAVAILABLE envelope with
// Retry-After and details.retry_after, showing nothing of the driver.
func wantUnavailableREST(t *testing.T, what string, r *apitest.Response) {
	t.Helper()
	t.Run(what, func(t *testing.T) {
		wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "retry_after", apperr.RetryAfterSeconds)
		wantRetryAfter(t, what, r.Header)
		for _, leak := range []string{"sql:", "closed", "pq:", "dial"} {
			if strings.Contains(string(r.Body), leak) {
				t.Errorf("the answer shows the driver's error (%q): %s", leak, redact(r.Body))
			}
		}
	})
}

// wantUnavailableGQL checks a GraphQL answer whose first error is
// SERVICE_UNAVAILABLE with details.retry_after, at HTTP status.
func wantUnavailableGQL(t *testing.T, what string, g *apitest.GraphQLResponse, status int) {
	t.Helper()
	t.Run(what, func(t *testing.T) {
		if g.Status != status {
			t.Errorf("HTTP %d, want %d: %s", g.Status, status, showGQL(g))
		}
		wantGQLError(t, g, "SERVICE_UNAVAILABLE", "retry_after", apperr.RetryAfterSeconds)
	})
}

func TestDatabaseUnavailableIs503Everywhere(t *testing.T) {
	t.Parallel()
	logs := recordLogs()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ids := newRequestIDs()
		tn := register(t, e, "Unavailable")
		cached := tn.key(t)
		uncached := tn.key(t)
		client := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read"}})
		token := issueToken(t, e, client, "")
		// Never used: its state is not cached.
		fresh := tn.createClient(t, map[string]any{"name": "fresh", "scopes": []string{"api_keys:read"}})
		// The cached key has been verified once, so only the work behind
		// authentication needs the database.
		me(t, e, cached.Key)

		if err := e.Store.DB.Close(); err != nil {
			t.Fatal(err)
		}

		wantUnavailableREST(t, "REST read with a cached key",
			do(e, http.MethodGet, "/api/v1/api-keys", cached.Key, nil, ids.header()))
		wantUnavailableREST(t, "REST write with a cached key",
			do(e, http.MethodPost, "/api/v1/api-keys", cached.Key, map[string]any{"name": "during the outage"}, ids.header()))
		wantUnavailableREST(t, "REST read with a key not cached yet",
			do(e, http.MethodGet, "/api/v1/api-keys", uncached.Key, nil, ids.header()))
		wantUnavailableREST(t, "REST read with a session",
			do(e, http.MethodGet, "/api/v1/auth/me", tn.AccessToken, nil, ids.header()))
		wantUnavailableREST(t, "REST read with an OAuth access token",
			do(e, http.MethodGet, "/api/v1/api-keys", token.AccessToken, nil, ids.header()))
		wantUnavailableREST(t, "login",
			do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": tn.Email, "password": tn.Password, "tenant": tn.Slug}, ids.header()))

		// GraphQL: refused before execution, the HTTP status is the error's;
		// failing in a resolver, it stays 200 (GraphQL over HTTP).
		g := gqlDo(e, cached.Key, `{ apiKeys(first: 5) { totalCount } }`, nil, ids.header())
		wantUnavailableGQL(t, "GraphQL query with a cached key", g, http.StatusOK)
		g = gqlDo(e, uncached.Key, `{ apiKeys(first: 5) { totalCount } }`, nil, ids.header())
		wantUnavailableGQL(t, "GraphQL query with a key not cached yet", g, http.StatusServiceUnavailable)
		g = gqlDo(e, "", `mutation($in: LoginInput!) { login(input: $in) { accessToken } }`,
			map[string]any{"in": map[string]any{"email": tn.Email, "password": tn.Password, "tenant": tn.Slug}}, ids.header())
		wantUnavailableGQL(t, "GraphQL login", g, http.StatusOK)

		// The token endpoint needs the database for a client it has not
		// cached; a cached client is served from memory.
		t.Run("POST /oauth/token", func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}}
			r := postForm(e, "/oauth/token", form, formAuth{basicID: fresh.ClientID, basicSecret: fresh.ClientSecret, header: ids.header()})
			wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			wantRetryAfter(t, "/oauth/token", r.Header)
			issueToken(t, e, client, "")
		})
		t.Run("POST /oauth/introspect", func(t *testing.T) {
			h := ids.header()
			h["X-API-Key"] = uncached.Key
			r := postForm(e, "/oauth/introspect", url.Values{"token": {token.AccessToken}}, formAuth{header: h})
			wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			wantRetryAfter(t, "/oauth/introspect", r.Header)
		})

		// The readiness check says when to come back too.
		wantRetryAfter(t, "readiness", e.Get("/api/v1/health", "").Header)

		recs := logs.of(ids.prefix)
		warned := 0
		for _, r := range recs {
			if r.level >= slog.LevelError || r.stack {
				t.Errorf("request %s logged %s %q (stack: %v), want at most a WARN line", r.requestID, r.level, r.message, r.stack)
			}
			if r.level == slog.LevelWarn {
				warned++
			}
		}
		if warned == 0 {
			t.Errorf("no WARN line for %d requests answered 503", ids.n)
		}
	})
}

// TestTerminatedConnectionsRecover terminates every PostgreSQL connection
// of a running server, as a database restart or failover does: the next
// requests are served on new connections, without a restart.
func TestTerminatedConnectionsRecover(t *testing.T) {
	t.Parallel()
	if !slices.Contains(storetest.Backends(), "postgres") {
		t.Skip(storetest.EnvURL + " is not set")
	}
	app := "cvtest_unavail_" + randHex(t)
	u, err := url.Parse(storetest.URL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app) // so the test terminates this server's connections only
	u.RawQuery = q.Encode()
	st, err := store.Open(u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := apitest.New(t, st)
	tn := register(t, e, "Recover")
	client := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read"}})
	// Fill the pool with several connections, each soon to be dead.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { do(e, http.MethodGet, "/api/v1/api-keys", tn.AccessToken, nil) })
	}
	wg.Wait()

	admin, err := sql.Open("pgx", os.Getenv(storetest.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	terminated := terminate(t, admin, app)
	if terminated == 0 {
		t.Fatal("the server holds no connection to terminate")
	}
	t.Logf("terminated %d connections", terminated)

	// The next requests, each needing the database, succeed.
	for i := range 3 {
		key := tn.key(t) // a REST write with a session
		wantStatus(t, do(e, http.MethodGet, "/api/v1/api-keys", key.Key, nil), http.StatusOK)
		var data struct{ APIKeys struct{ TotalCount int } }
		gql(t, e, tn.AccessToken, `{ apiKeys(first: 5) { totalCount } }`, nil, &data)
		if data.APIKeys.TotalCount != i+1 {
			t.Errorf("GraphQL totalCount %d, want %d", data.APIKeys.TotalCount, i+1)
		}
		login(t, e, tn.Email, tn.Password, tn.Slug)
		issueToken(t, e, client, "")
		if i == 0 {
			// And once more, with the pool's replacements terminated too.
			terminate(t, admin, app)
		}
	}
	checkEnvelope(t, e.Get("/api/v1/health", ""), http.StatusOK, "")
}

// terminate ends every connection named app and waits until they are
// gone; it returns how many there were.
func terminate(t *testing.T, admin *sql.DB, app string) int {
	t.Helper()
	rows, err := admin.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for {
			var alive bool
			if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, pid).Scan(&alive); err != nil {
				t.Fatal(err)
			}
			if !alive {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("connection %d still alive after termination", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return len(pids)
}

func randHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

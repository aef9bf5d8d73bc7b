package apitest_test

// The command line's client commands (internal/cli) against the live
// server, on every database: each command's happy path, a usage error
// (exit 2) and a server error (exit 1 with the code and message on
// stderr); the session file; `credvault run` with a real child process.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	credvault "github.com/credvault/credvault/sdk/go"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/cli"
)

// cliEnv runs cli.Execute against one server, with its own environment.
type cliEnv struct {
	t   *testing.T
	env map[string]string
}

// cliResult is one run: exit status and output.
type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return "exit " + itoa(r.code) + "\nstdout: " + r.stdout + "\nstderr: " + r.stderr
}

func itoa(n int) string { return strconv.Itoa(n) }

func (c *cliEnv) getenv(k string) string { return c.env[k] }

// run runs args with stdin, returning what it did.
func (c *cliEnv) run(stdin string, args ...string) cliResult {
	c.t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Execute(context.Background(), args, strings.NewReader(stdin), &out, &errOut, c.getenv)
	return cliResult{code, out.String(), errOut.String()}
}

// ok runs args and fails unless they exit 0.
func (c *cliEnv) ok(args ...string) cliResult {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != 0 {
		c.t.Fatalf("credvault %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// okJSON runs args with -o json and decodes stdout into v.
func (c *cliEnv) okJSON(v any, args ...string) {
	c.t.Helper()
	r := c.ok(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		c.t.Fatalf("credvault %s -o json: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

// usage checks args are refused as a usage error: exit 2, a message and
// the pointer to --help, nothing on stdout.
func (c *cliEnv) usage(args ...string) {
	c.t.Helper()
	r := c.run("", args...)
	if r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, "credvault") || !strings.Contains(r.stderr, "--help' for usage") {
		c.t.Fatalf("credvault %s: want a usage error (exit 2), got %s", strings.Join(args, " "), r)
	}
}

var serverErrLine = regexp.MustCompile(`^credvault: ([A-Z_]+): (.+) \(HTTP (\d{3}), request [^)]+\)\n`)

// fails checks args fail with the server's error code: exit 1, the code
// and the server's message on stderr.
func (c *cliEnv) fails(code string, args ...string) cliResult {
	c.t.Helper()
	r := c.run("", args...)
	m := serverErrLine.FindStringSubmatch(r.stderr)
	if r.code != 1 || m == nil || m[1] != code || m[2] == "" {
		c.t.Fatalf("credvault %s: want exit 1 with %s on stderr, got %s", strings.Join(args, " "), code, r)
	}
	return r
}

// with is a copy of c with more environment.
func (c *cliEnv) with(kv ...string) *cliEnv {
	env := map[string]string{}
	for k, v := range c.env {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return &cliEnv{t: c.t, env: env}
}

// cliTenant registers a tenant and returns its owner's email and slug.
func cliTenant(t *testing.T, baseURL string) (email, slug string) {
	t.Helper()
	anon, err := credvault.NewClient(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	tag := randTag()
	email = "owner-" + tag + "@cli.test"
	s, err := anon.Auth.Register(context.Background(), &credvault.RegisterRequest{TenantName: "CLI " + tag, Email: email, Password: testPassword})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return email, s.Tenant.Slug
}

func TestCLI(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		email, slug := cliTenant(t, e.Server.URL)
		cfgDir := filepath.Join(t.TempDir(), "config", "credvault")
		c := &cliEnv{t: t, env: map[string]string{"CREDVAULT_URL": e.Server.URL, "CREDVAULT_CONFIG_DIR": cfgDir}}
		missing := uuid.NewString()

		// Help, on the root and on every command.
		if r := c.ok("help"); !strings.Contains(r.stdout, "keys") || !strings.Contains(r.stdout, "Server commands") {
			t.Fatalf("help: %s", r)
		}
		for _, cmd := range [][]string{{"login"}, {"keys", "create"}, {"creds", "put"}, {"run"}, {"audit", "list"}, {"webhooks", "test"}} {
			if r := c.ok(append(cmd, "--help")...); !strings.Contains(r.stdout, "Usage:") {
				t.Fatalf("%v --help: %s", cmd, r)
			}
		}
		if r := c.ok("completion", "bash"); !strings.Contains(r.stdout, "__start_credvault") {
			t.Fatalf("completion bash: %.200s", r.stdout)
		}
		c.usage("keys")
		c.usage("keys", "frobnicate")
		c.usage("keys", "list", "--bogus")
		c.usage("keys", "list", "-o", "yaml")

		// Not logged in: a failure, not a usage error.
		if r := c.run("", "whoami"); r.code != 1 || !strings.Contains(r.stderr, "not logged in") {
			t.Fatalf("whoami before login: %s", r)
		}

		// login: usage, a server error, then the session, 0600 in a 0700 directory.
		c.usage("login", "extra")
		c.usage("login", "--password-stdin") // no --email off a terminal
		if r := c.run("wrong-password\n", "login", "--email", email, "--tenant", slug, "--password-stdin"); r.code != 1 ||
			!serverErrLine.MatchString(r.stderr) || !strings.Contains(r.stderr, "UNAUTHORIZED") {
			t.Fatalf("login with a wrong password: %s", r)
		}
		if r := c.run(testPassword+"\n", "login", "--email", email, "--tenant", slug, "--password-stdin"); r.code != 0 ||
			!strings.Contains(r.stdout, "Logged in to "+e.Server.URL+" as "+email) || strings.Contains(r.stdout+r.stderr, testPassword) {
			t.Fatalf("login: %s", r)
		}
		sessionPath := filepath.Join(cfgDir, "session.json")
		fi, err := os.Stat(sessionPath)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("session file: %v, %v", fi, err)
		}
		if di, err := os.Stat(cfgDir); err != nil || di.Mode().Perm() != 0o700 {
			t.Fatalf("session directory: %v, %v", di, err)
		}
		raw, _ := os.ReadFile(sessionPath)
		if strings.Contains(string(raw), testPassword) || !strings.Contains(string(raw), `"access_token"`) {
			t.Fatalf("session file holds %s", raw)
		}
		// Without CREDVAULT_URL, the session's server is used; a session is
		// never sent to another server.
		noURL := c.with("CREDVAULT_URL", "")
		if r := noURL.ok("whoami"); !strings.Contains(r.stdout, email) {
			t.Fatalf("whoami on the session's server: %s", r)
		}
		if r := c.run("", "whoami", "--url", "http://127.0.0.1:1"); r.code != 1 || !strings.Contains(r.stderr, "not logged in to http://127.0.0.1:1") {
			t.Fatalf("whoami elsewhere: %s", r)
		}

		// An expired session is refreshed, and stored again (still 0600).
		var stored map[string]any
		_ = json.Unmarshal(raw, &stored)
		stored["expires_at"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		expired, _ := json.Marshal(stored)
		if err := os.WriteFile(sessionPath, expired, 0o600); err != nil {
			t.Fatal(err)
		}
		if r := c.ok("whoami"); !strings.Contains(r.stdout, email) {
			t.Fatalf("whoami on an expired session: %s", r)
		}
		refreshed, _ := os.ReadFile(sessionPath)
		var after map[string]any
		if json.Unmarshal(refreshed, &after) != nil || after["access_token"] == stored["access_token"] || after["tenant"] != slug {
			t.Fatalf("the refreshed session: %s", refreshed)
		}
		if fi, err := os.Stat(sessionPath); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("refreshed session file: %v, %v", fi, err)
		}

		// whoami: the session, then an API key, a usage error, a server error.
		if r := c.ok("whoami"); !strings.Contains(r.stdout, email) || !strings.Contains(r.stdout, "session") {
			t.Fatalf("whoami: %s", r)
		}
		var me credvault.Me
		c.okJSON(&me, "whoami")
		if me.User == nil || me.User.Email != email || me.Tenant.Slug != slug {
			t.Fatalf("whoami -o json = %+v", me)
		}
		c.usage("whoami", "extra")
		c.fails("UNAUTHORIZED", "whoami", "--api-key", "cvk_live_notakey")

		// keys.
		var k credvault.APIKey
		c.okJSON(&k, "keys", "create", "ci", "--scope", "credentials:read,credentials:decrypt", "--expires-in", "30d")
		if !strings.HasPrefix(k.Key, "cvk_") || k.Name != "ci" || len(k.Scopes) != 2 || k.ExpiresAt == nil {
			t.Fatalf("keys create = %+v", k)
		}
		if r := c.ok("keys", "create", "people"); !strings.Contains(r.stdout, "cvk_") || !strings.Contains(r.stderr, "not shown again") {
			t.Fatalf("keys create (table): %s", r)
		}
		c.usage("keys", "create")
		c.fails("VALIDATION_ERROR", "keys", "create", "bad", "--scope", "no-such:scope")
		if r := c.ok("keys", "list"); !strings.Contains(r.stdout, k.ID) || !strings.HasPrefix(r.stdout, "ID ") || strings.Contains(r.stdout, k.Key) {
			t.Fatalf("keys list: %s", r)
		}
		var keys []credvault.APIKey
		c.okJSON(&keys, "keys", "list", "--limit", "1")
		if len(keys) != 1 {
			t.Fatalf("keys list --limit 1 = %d keys", len(keys))
		}
		c.usage("keys", "list", "extra")
		c.fails("UNAUTHORIZED", "keys", "list", "--api-key", "cvk_live_notakey")
		var got credvault.APIKey
		c.okJSON(&got, "keys", "get", k.ID)
		if got.ID != k.ID || got.Key != "" {
			t.Fatalf("keys get = %+v", got)
		}
		c.usage("keys", "get")
		c.fails("NOT_FOUND", "keys", "get", missing)
		// The new key works as CREDVAULT_API_KEY (it beats the session).
		withKey := c.with("CREDVAULT_API_KEY", k.Key)
		if r := withKey.ok("whoami"); !strings.Contains(r.stdout, "api key") {
			t.Fatalf("whoami with the key: %s", r)
		}
		var rot credvault.APIKey
		c.okJSON(&rot, "keys", "rotate", k.ID, "--grace", "0s")
		if rot.ID != k.ID || rot.Key == "" || rot.Key == k.Key {
			t.Fatalf("keys rotate = %+v", rot)
		}
		c.usage("keys", "rotate", k.ID, "--grace", "soon")
		c.fails("NOT_FOUND", "keys", "rotate", missing)
		c.fails("UNAUTHORIZED", "whoami", "--api-key", k.Key) // the old secret, no grace
		if r := c.ok("keys", "revoke", k.ID); !strings.Contains(r.stdout, "Revoked key "+k.ID) {
			t.Fatalf("keys revoke: %s", r)
		}
		c.usage("keys", "revoke", k.ID, "extra")
		c.fails("NOT_FOUND", "keys", "revoke", missing)

		// clients.
		var oc credvault.OAuthClient
		c.okJSON(&oc, "clients", "create", "svc", "--grant-type", "client_credentials", "--scope", "credentials:read", "--token-ttl", "10m")
		if oc.ClientID == "" || oc.ClientSecret == "" || oc.AccessTokenTTLSeconds != 600 {
			t.Fatalf("clients create = %+v", oc)
		}
		c.usage("clients", "create")
		c.fails("VALIDATION_ERROR", "clients", "create", "bad", "--grant-type", "no_such_grant")
		if r := c.ok("clients", "list"); !strings.Contains(r.stdout, oc.ClientID) || strings.Contains(r.stdout, oc.ClientSecret) {
			t.Fatalf("clients list: %s", r)
		}
		c.usage("clients", "list", "extra")
		c.fails("UNAUTHORIZED", "clients", "list", "--api-key", "cvk_live_notakey")
		if r := c.ok("clients", "get", oc.ClientID); !strings.Contains(r.stdout, "svc") || strings.Contains(r.stdout, oc.ClientSecret) {
			t.Fatalf("clients get: %s", r)
		}
		c.usage("clients", "get")
		c.fails("NOT_FOUND", "clients", "get", "cvc_missing")
		var roc credvault.OAuthClient
		c.okJSON(&roc, "clients", "rotate-secret", oc.ClientID)
		if roc.ClientSecret == "" || roc.ClientSecret == oc.ClientSecret {
			t.Fatalf("clients rotate-secret = %+v", roc)
		}
		c.usage("clients", "rotate-secret")
		c.fails("NOT_FOUND", "clients", "rotate-secret", "cvc_missing")
		if r := c.ok("clients", "delete", oc.ClientID); !strings.Contains(r.stdout, "Deleted OAuth client "+oc.ClientID) {
			t.Fatalf("clients delete: %s", r)
		}
		c.usage("clients", "delete")
		c.fails("NOT_FOUND", "clients", "delete", oc.ClientID)

		// creds.
		var cr credvault.Credential
		c.okJSON(&cr, "creds", "put", "stripe", "--type", "api_key", "--set", "api_key=sk_test_123", "--set", "header_name=Authorization")
		if cr.ID == "" || cr.IntegrationID != "stripe" || cr.Data != nil {
			t.Fatalf("creds put = %+v", cr)
		}
		if r := c.run(`{"username":"app","password":"p@ss w0rd"}`, "creds", "put", "postgres", "--type", "basic_auth", "--data-stdin"); r.code != 0 {
			t.Fatalf("creds put --data-stdin: %s", r)
		}
		c.usage("creds", "put", "stripe", "--set", "api_key=x") // no --type
		c.usage("creds", "put", "stripe", "--type", "api_key", "--set", "novalue")
		if r := c.fails("VALIDATION_ERROR", "creds", "put", "stripe", "--type", "api_key", "--set", "token=sk_test_999"); strings.Contains(r.stderr, "sk_test_999") {
			t.Fatalf("a secret in the error: %s", r)
		}
		if r := c.ok("creds", "get", "stripe"); !strings.Contains(r.stdout, "sk_test_123") || !strings.Contains(r.stdout, "api_key") {
			t.Fatalf("creds get: %s", r)
		}
		if r := c.ok("creds", "get", "stripe", "--field", "api_key"); r.stdout != "sk_test_123\n" {
			t.Fatalf("creds get --field: %q", r.stdout)
		}
		var in credvault.Integration
		c.okJSON(&in, "creds", "get", "postgres")
		if len(in.Credentials) != 1 || in.Credentials[0].Data["password"] != "p@ss w0rd" {
			t.Fatalf("creds get -o json = %+v", in)
		}
		c.usage("creds", "get")
		c.fails("NOT_FOUND", "creds", "get", "nope")
		if r := c.ok("creds", "list"); !strings.Contains(r.stdout, "stripe") || !strings.Contains(r.stdout, "postgres") || strings.Contains(r.stdout, "sk_test_123") {
			t.Fatalf("creds list: %s", r)
		}
		var creds []credvault.Credential
		c.okJSON(&creds, "creds", "list", "--integration", "stripe")
		if len(creds) != 1 || creds[0].ID != cr.ID {
			t.Fatalf("creds list --integration = %+v", creds)
		}
		c.usage("creds", "list", "extra")
		c.fails("UNAUTHORIZED", "creds", "list", "--api-key", "cvk_live_notakey")

		// run: the credential's fields in a real child's environment, and
		// the child's exit status passed through.
		if r := c.ok("run", "--integration", "stripe", "--", "sh", "-c", `printf %s "$STRIPE_API_KEY|$STRIPE_HEADER_NAME"`); r.stdout != "sk_test_123|Authorization" || r.stderr != "" {
			t.Fatalf("run: %s", r)
		}
		if r := c.ok("run", "--integration", "stripe", "--integration", "postgres", "sh", "-c", `printf %s "$POSTGRES_USERNAME:$POSTGRES_PASSWORD"`); r.stdout != "app:p@ss w0rd" {
			t.Fatalf("run with two integrations: %s", r)
		}
		if r := c.run("", "run", "--integration", "stripe", "--", "sh", "-c", "echo failing >&2; exit 7"); r.code != 7 || r.stderr != "failing\n" {
			t.Fatalf("run of a failing command: %s", r)
		}
		if r := c.run("", "run", "--integration", "stripe", "--", "sh", "-c", "kill -TERM $$"); r.code != 128+15 {
			t.Fatalf("run of a killed command: %s", r)
		}
		c.usage("run", "--integration", "stripe")
		c.usage("run", "--", "true")
		c.fails("NOT_FOUND", "run", "--integration", "nope", "--", "true")
		if cli.EnvName("my-api.v2", "client secret") != "MY_API_V2_CLIENT_SECRET" {
			t.Fatalf("EnvName = %s", cli.EnvName("my-api.v2", "client secret"))
		}

		// creds delete.
		if r := c.ok("creds", "delete", "stripe"); !strings.Contains(r.stdout, "Deleted credential "+cr.ID) {
			t.Fatalf("creds delete: %s", r)
		}
		c.usage("creds", "delete")
		c.fails("NOT_FOUND", "creds", "delete", "stripe", missing)

		// webhooks: a receiver on this machine (private addresses are allowed
		// outside production).
		var received atomic.Int32
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			received.Add(1)
		}))
		defer hook.Close()
		var wh credvault.Webhook
		c.okJSON(&wh, "webhooks", "create", hook.URL+"/hook", "--event", "api_key.revoked", "--description", "cli")
		if wh.ID == "" || !strings.HasPrefix(wh.Secret, "whsec_") {
			t.Fatalf("webhooks create = %+v", wh)
		}
		c.usage("webhooks", "create", hook.URL) // no --event
		c.fails("VALIDATION_ERROR", "webhooks", "create", "not a url", "--event", "api_key.revoked")
		if r := c.ok("webhooks", "list"); !strings.Contains(r.stdout, wh.ID) || strings.Contains(r.stdout, wh.Secret) {
			t.Fatalf("webhooks list: %s", r)
		}
		c.usage("webhooks", "list", "extra")
		c.fails("UNAUTHORIZED", "webhooks", "list", "--api-key", "cvk_live_notakey")
		var wt credvault.WebhookTest
		c.okJSON(&wt, "webhooks", "test", wh.ID)
		if wt.EventID == "" || wt.DeliveryID == "" {
			t.Fatalf("webhooks test = %+v", wt)
		}
		apitest.Eventually(t, 10*time.Second, "the test delivery", func() (bool, string) {
			return received.Load() > 0, "no request yet"
		})
		c.usage("webhooks", "test")
		c.fails("NOT_FOUND", "webhooks", "test", missing)
		if r := c.ok("webhooks", "delete", wh.ID); !strings.Contains(r.stdout, "Deleted webhook "+wh.ID) {
			t.Fatalf("webhooks delete: %s", r)
		}
		c.usage("webhooks", "delete")
		c.fails("NOT_FOUND", "webhooks", "delete", wh.ID)

		// audit list, then --follow.
		e.Flush()
		var entries []credvault.AuditLog
		c.okJSON(&entries, "audit", "list", "--action", "api_key.revoke", "--since", "1h")
		if len(entries) != 1 || entries[0].ResourceID != k.ID {
			t.Fatalf("audit list = %+v", entries)
		}
		if r := c.ok("audit", "list", "-n", "5"); !strings.HasPrefix(r.stdout, "TIME ") || strings.Count(r.stdout, "\n") != 6 {
			t.Fatalf("audit list -n 5: %s", r)
		}
		c.usage("audit", "list", "--since", "whenever")
		c.usage("audit", "list", "--follow", "--until", "1h")
		c.fails("UNAUTHORIZED", "audit", "list", "--api-key", "cvk_live_notakey")

		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- cli.Execute(ctx, []string{"audit", "list", "--follow", "--interval", "100ms", "-n", "1", "--action", "api_key.create", "-o", "json"},
				strings.NewReader(""), out, io.Discard, c.getenv)
		}()
		apitest.Eventually(t, 10*time.Second, "the latest entry", func() (bool, string) {
			return strings.Count(out.String(), "\n") == 1, out.String()
		})
		var fresh credvault.APIKey
		c.okJSON(&fresh, "keys", "create", "followed")
		e.Flush()
		apitest.Eventually(t, 10*time.Second, "the followed entry", func() (bool, string) {
			return strings.Contains(out.String(), fresh.ID), out.String()
		})
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("audit list --follow exited %d", code)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var last credvault.AuditLog
		if len(lines) != 2 || json.Unmarshal([]byte(lines[1]), &last) != nil || last.ResourceID != fresh.ID {
			t.Fatalf("audit list --follow printed %q", lines)
		}

		// logout.
		c.usage("logout", "extra")
		if r := c.ok("logout"); !strings.Contains(r.stderr, "Logged out") {
			t.Fatalf("logout: %s", r)
		}
		if _, err := os.Stat(sessionPath); !os.IsNotExist(err) {
			t.Fatalf("session file after logout: %v", err)
		}
		if r := c.run("", "keys", "list"); r.code != 1 || !strings.Contains(r.stderr, "not logged in") {
			t.Fatalf("keys list after logout: %s", r)
		}
	})
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

package cli

// What needs no server: routing, help on every command, usage errors and
// their exit status, names and durations. The commands against a live
// server are internal/apitest/cli_test.go.

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func execute(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), args, strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

func TestHandles(t *testing.T) {
	for args, want := range map[string]bool{
		"": false, "serve": false, "migrate": false, "rotate-master-key": false, "version": false,
		"healthcheck": false, "backup": false, "restore": false, "-addr :9090": false, "--help": false,
		"audit": false, "audit export --since 1h": false, "audit list": true, "audit --help": true,
		"login": true, "logout": true, "whoami": true, "keys list": true, "clients": true, "creds get x": true,
		"webhooks": true, "run": true, "help": true, "completion bash": true, "__complete keys": true,
	} {
		if got := Handles(strings.Fields(args)); got != want {
			t.Errorf("Handles(%q) = %v, want %v", args, got, want)
		}
	}
}

// TestHelpEveryCommand: `--help` on every command, and `help COMMAND`,
// exit 0 with its usage on stdout.
func TestHelpEveryCommand(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }}
	var walk func(c *cobra.Command, path []string)
	n := 0
	walk = func(c *cobra.Command, path []string) {
		for _, sub := range c.Commands() {
			if sub.Hidden {
				continue
			}
			p := append(append([]string(nil), path...), sub.Name())
			code, out, errOut := execute(t, nil, append(p, "--help")...)
			if code != 0 || !strings.Contains(out, "credvault "+strings.Join(p, " ")) || errOut != "" {
				t.Errorf("%v --help: exit %d\n%s%s", p, code, out, errOut)
			}
			if code, out, _ := execute(t, nil, append([]string{"help"}, p...)...); code != 0 || out == "" {
				t.Errorf("help %v: exit %d", p, code)
			}
			n++
			walk(sub, p)
		}
	}
	walk(a.root(), nil)
	if n < 30 {
		t.Fatalf("walked %d commands", n)
	}
}

// TestUsageErrors: cobra's refusals and the commands' own are exit 2,
// before any request (the server here does not exist).
func TestUsageErrors(t *testing.T) {
	env := map[string]string{"CREDVAULT_URL": "http://127.0.0.1:1", "CREDVAULT_API_KEY": "cvk_x"}
	for _, args := range [][]string{
		{"keys"}, {"keys", "nope"}, {"keys", "list", "--nope"}, {"keys", "get"}, {"keys", "get", "a", "b"},
		{"keys", "list", "-o", "xml"}, {"clients", "delete"}, {"creds", "put", "x"}, {"creds", "delete"},
		{"webhooks", "create"}, {"audit", "list", "--limit", "many"}, {"run"}, {"run", "--integration", "x"},
		{"run", "--", "true"}, {"whoami", "extra"}, {"login", "--password-stdin"}, {"logout", "x"},
		{"keys", "create", "ci", "--expires-in", "soon"}, {"audit", "list", "--since", "then"},
	} {
		code, out, errOut := execute(t, env, args...)
		if code != ExitUsage || out != "" || !strings.Contains(errOut, "--help' for usage") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want a usage error", args, code, out, errOut)
		}
	}
	// A server that does not answer is a failure, not a usage error.
	if code, _, errOut := execute(t, env, "keys", "list"); code != ExitFailure || !strings.Contains(errOut, "connection refused") {
		t.Errorf("keys list against no server: exit %d, %s", code, errOut)
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"stripe", "api_key"}: "STRIPE_API_KEY", {"my-api.v2", "client secret"}: "MY_API_V2_CLIENT_SECRET",
		{"GitHub", "token"}: "GITHUB_TOKEN", {"café", "clé"}: "CAF__CL_",
	} {
		if got := EnvName(in[0], in[1]); got != want {
			t.Errorf("EnvName(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "24h": 24 * time.Hour, "30d": 30 * 24 * time.Hour, "0s": 0} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "soon", "-1h", "1.5d", "d"} {
		if _, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) succeeded", in)
		}
	}
}

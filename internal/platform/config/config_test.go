package config_test

import (
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/platform/config"
)

// envOf returns a getenv over vars, so tests never read or change the
// process environment and can run in parallel.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func load(t *testing.T, args []string, vars map[string]string) *config.Config {
	t.Helper()
	c, err := config.Load(args, envOf(vars))
	if err != nil {
		t.Fatalf("Load(%q, %v): %v", args, vars, err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c := load(t, nil, nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, ":8080"},
		{"DatabaseURL", c.DatabaseURL, "sqlite://./data/credvault.db"},
		{"Env", c.Env, "development"},
		{"Production()", c.Production(), false},
		{"MasterKey", c.MasterKey, ""},
		{"MasterKeyPrevious", c.MasterKeyPrevious, ""},
		{"MasterKeyFile", c.MasterKeyFile, "./data/master.key"},
		{"AdminEmail", c.AdminEmail, ""},
		{"AdminPassword", c.AdminPassword, ""},
		{"AllowSignup", c.AllowSignup, true},
		{"RateLimits", c.RateLimits, "free=100/h,pro=1000/h,enterprise=10000/h"},
		{"DefaultPlan", c.DefaultPlan, "free"},
		{"len(CORSOrigins)", len(c.CORSOrigins), 0},
		{"len(TrustedProxies)", len(c.TrustedProxies), 0},
		{"TLSCert", c.TLSCert, ""},
		{"TLSKey", c.TLSKey, ""},
		{"LogLevel", c.LogLevel, slog.LevelInfo},
		{"LogFormat", c.LogFormat, "text"},
		{"GraphQLIntrospection", c.GraphQLIntrospection, true},
		{"PublicURL", c.PublicURL, "http://localhost:8080"},
		{"Argon2", c.Argon2, password.OWASP},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestProductionDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
	}{
		{"env", nil, map[string]string{"CREDVAULT_ENV": "production"}},
		{"flag", []string{"--env", "production"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := load(t, tc.args, tc.vars)
			if !c.Production() {
				t.Fatalf("Production() = false, Env = %q", c.Env)
			}
			if c.AllowSignup {
				t.Error("AllowSignup defaults to true in production")
			}
			if c.GraphQLIntrospection {
				t.Error("GraphQLIntrospection defaults to true in production")
			}
			if c.LogFormat != "json" {
				t.Errorf("LogFormat = %q, want json", c.LogFormat)
			}
		})
	}
}

func TestProductionExplicitSettingsWin(t *testing.T) {
	t.Parallel()
	c := load(t, nil, map[string]string{
		"CREDVAULT_ENV":                   "production",
		"CREDVAULT_ALLOW_SIGNUP":          "true",
		"CREDVAULT_GRAPHQL_INTROSPECTION": "1",
		"CREDVAULT_LOG_FORMAT":            "text",
	})
	if !c.AllowSignup || !c.GraphQLIntrospection || c.LogFormat != "text" {
		t.Errorf("explicit settings lost: signup %v, introspection %v, log format %q",
			c.AllowSignup, c.GraphQLIntrospection, c.LogFormat)
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	c := load(t, nil, map[string]string{
		"CREDVAULT_ADDR":                  "127.0.0.1:9000",
		"CREDVAULT_DATABASE_URL":          "postgres://db/credvault",
		"CREDVAULT_MASTER_KEY":            "mk",
		"CREDVAULT_MASTER_KEY_PREVIOUS":   "mkp",
		"CREDVAULT_MASTER_KEY_FILE":       "/tmp/k",
		"CREDVAULT_ADMIN_EMAIL":           "root@example.com",
		"CREDVAULT_ADMIN_PASSWORD":        "correct horse battery",
		"CREDVAULT_ALLOW_SIGNUP":          "false",
		"CREDVAULT_RATE_LIMITS":           "off",
		"CREDVAULT_DEFAULT_PLAN":          "pro",
		"CREDVAULT_CORS_ORIGINS":          " https://a.example , ,https://b.example",
		"CREDVAULT_TRUSTED_PROXIES":       "10.0.0.0/8, 192.168.1.7, ::1",
		"CREDVAULT_TLS_CERT":              "cert.pem",
		"CREDVAULT_TLS_KEY":               "key.pem",
		"CREDVAULT_LOG_LEVEL":             "debug",
		"CREDVAULT_LOG_FORMAT":            "json",
		"CREDVAULT_GRAPHQL_INTROSPECTION": "false",
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "127.0.0.1:9000"},
		{"DatabaseURL", c.DatabaseURL, "postgres://db/credvault"},
		{"MasterKey", c.MasterKey, "mk"},
		{"MasterKeyPrevious", c.MasterKeyPrevious, "mkp"},
		{"MasterKeyFile", c.MasterKeyFile, "/tmp/k"},
		{"AdminEmail", c.AdminEmail, "root@example.com"},
		{"AdminPassword", c.AdminPassword, "correct horse battery"},
		{"AllowSignup", c.AllowSignup, false},
		{"RateLimits", c.RateLimits, "off"},
		{"DefaultPlan", c.DefaultPlan, "pro"},
		{"TLSCert", c.TLSCert, "cert.pem"},
		{"TLSKey", c.TLSKey, "key.pem"},
		{"LogLevel", c.LogLevel, slog.LevelDebug},
		{"LogFormat", c.LogFormat, "json"},
		{"GraphQLIntrospection", c.GraphQLIntrospection, false},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if want := []string{"https://a.example", "https://b.example"}; !slices.Equal(c.CORSOrigins, want) {
		t.Errorf("CORSOrigins = %q, want %q", c.CORSOrigins, want)
	}
	wantProxies := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("::1/128"),
	}
	if !slices.Equal(c.TrustedProxies, wantProxies) {
		t.Errorf("TrustedProxies = %v, want %v", c.TrustedProxies, wantProxies)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"CREDVAULT_ADDR":                  ":7070",
		"CREDVAULT_DATABASE_URL":          "sqlite://env.db",
		"CREDVAULT_ALLOW_SIGNUP":          "true",
		"CREDVAULT_GRAPHQL_INTROSPECTION": "true",
		"CREDVAULT_LOG_FORMAT":            "text",
		"CREDVAULT_LOG_LEVEL":             "info",
		"CREDVAULT_CORS_ORIGINS":          "https://env.example",
		"CREDVAULT_DEFAULT_PLAN":          "free",
	}
	c := load(t, []string{
		"--addr", ":9090",
		"--database-url=sqlite://flag.db",
		"--allow-signup=false",
		"--graphql-introspection", "false",
		"--log-format", "json",
		"--log-level", "warn",
		"--cors-origins", "https://flag.example",
		"-default-plan", "enterprise",
	}, vars)
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, ":9090"},
		{"DatabaseURL", c.DatabaseURL, "sqlite://flag.db"},
		{"AllowSignup", c.AllowSignup, false},
		{"GraphQLIntrospection", c.GraphQLIntrospection, false},
		{"LogFormat", c.LogFormat, "json"},
		{"LogLevel", c.LogLevel, slog.LevelWarn},
		{"DefaultPlan", c.DefaultPlan, "enterprise"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if !slices.Equal(c.CORSOrigins, []string{"https://flag.example"}) {
		t.Errorf("CORSOrigins = %q", c.CORSOrigins)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		// want is a substring of the error, naming what is wrong.
		want string
	}{
		{"bad env", nil, map[string]string{"CREDVAULT_ENV": "staging"}, "CREDVAULT_ENV"},
		{"bad env flag", []string{"--env", "prod"}, nil, "CREDVAULT_ENV"},
		{"bad signup bool", nil, map[string]string{"CREDVAULT_ALLOW_SIGNUP": "yes please"}, "CREDVAULT_ALLOW_SIGNUP"},
		{"bad introspection bool", nil, map[string]string{"CREDVAULT_GRAPHQL_INTROSPECTION": "maybe"}, "CREDVAULT_GRAPHQL_INTROSPECTION"},
		{"bad signup flag", []string{"--allow-signup", "nope"}, nil, "CREDVAULT_ALLOW_SIGNUP"},
		{"bad CIDR", nil, map[string]string{"CREDVAULT_TRUSTED_PROXIES": "10.0.0.0/33"}, "CREDVAULT_TRUSTED_PROXIES"},
		{"bad address", nil, map[string]string{"CREDVAULT_TRUSTED_PROXIES": "10.0.0.1, not-an-ip"}, "CREDVAULT_TRUSTED_PROXIES"},
		{"TLS cert without key", nil, map[string]string{"CREDVAULT_TLS_CERT": "cert.pem"}, "CREDVAULT_TLS_KEY"},
		{"TLS key without cert", []string{"--tls-key", "key.pem"}, nil, "CREDVAULT_TLS_CERT"},
		{"admin email without password", nil, map[string]string{"CREDVAULT_ADMIN_EMAIL": "a@example.com"}, "CREDVAULT_ADMIN_PASSWORD"},
		{"admin password without email", nil, map[string]string{"CREDVAULT_ADMIN_PASSWORD": "long enough password"}, "CREDVAULT_ADMIN_EMAIL"},
		{"bad log level", nil, map[string]string{"CREDVAULT_LOG_LEVEL": "loud"}, "CREDVAULT_LOG_LEVEL"},
		{"bad log format", nil, map[string]string{"CREDVAULT_LOG_FORMAT": "xml"}, "CREDVAULT_LOG_FORMAT"},
		{"unknown flag", []string{"--no-such-flag"}, nil, "no-such-flag"},
		{"stray argument", []string{"extra"}, nil, "extra"},
		{"address without a port", nil, map[string]string{"CREDVAULT_ADDR": "localhost"}, "CREDVAULT_ADDR"},
		{"webhook timeout not a duration", nil, map[string]string{"CREDVAULT_WEBHOOK_TIMEOUT": "ten seconds"}, "CREDVAULT_WEBHOOK_TIMEOUT"},
		{"webhook timeout without a unit", nil, map[string]string{"CREDVAULT_WEBHOOK_TIMEOUT": "10"}, "CREDVAULT_WEBHOOK_TIMEOUT"},
		{"zero webhook timeout", nil, map[string]string{"CREDVAULT_WEBHOOK_TIMEOUT": "0s"}, "CREDVAULT_WEBHOOK_TIMEOUT"},
		{"negative webhook timeout", []string{"--webhook-timeout", "-1s"}, nil, "CREDVAULT_WEBHOOK_TIMEOUT"},
		{"webhook retry not a duration", nil, map[string]string{"CREDVAULT_WEBHOOK_RETRY_SCHEDULE": "5s,soon,1h"}, "CREDVAULT_WEBHOOK_RETRY_SCHEDULE"},
		{"zero webhook retry", nil, map[string]string{"CREDVAULT_WEBHOOK_RETRY_SCHEDULE": "5s,0s"}, "CREDVAULT_WEBHOOK_RETRY_SCHEDULE"},
		{"negative webhook retry", []string{"--webhook-retry-schedule", "-5s"}, nil, "CREDVAULT_WEBHOOK_RETRY_SCHEDULE"},
		{"none among webhook retries", nil, map[string]string{"CREDVAULT_WEBHOOK_RETRY_SCHEDULE": "5s,none"}, "CREDVAULT_WEBHOOK_RETRY_SCHEDULE"},
		{"bad webhook allow-private bool", nil, map[string]string{"CREDVAULT_WEBHOOK_ALLOW_PRIVATE": "sometimes"}, "CREDVAULT_WEBHOOK_ALLOW_PRIVATE"},
		{"argon2 parameters out of order", nil, map[string]string{"CREDVAULT_ARGON2_PARAMS": "t=2,m=19456,p=1"}, "CREDVAULT_ARGON2_PARAMS"},
		{"argon2 memory over 1 GiB", []string{"--argon2-params", "m=2000000,t=1,p=1"}, nil, "CREDVAULT_ARGON2_PARAMS"},
		{"argon2 below OWASP in production", nil, map[string]string{"CREDVAULT_ENV": "production", "CREDVAULT_MASTER_KEY": "k",
			"CREDVAULT_ARGON2_PARAMS": "m=19456,t=1,p=1"}, "OWASP"},
		{"bad webhook allow-private flag", []string{"--webhook-allow-private", "yes please"}, nil, "CREDVAULT_WEBHOOK_ALLOW_PRIVATE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(tc.args, envOf(tc.vars))
			if err == nil {
				t.Fatalf("Load succeeded: %+v", c)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestArgon2Params checks that the cost of new password hashes is set by
// the variable or the flag, and that development allows any cost in
// bounds (tests hash with less).
func TestArgon2Params(t *testing.T) {
	t.Parallel()
	if c := load(t, nil, map[string]string{"CREDVAULT_ARGON2_PARAMS": "m=64,t=1,p=1"}); c.Argon2 != (password.Params{Memory: 64, Time: 1, Threads: 1}) {
		t.Errorf("from the environment: %v", c.Argon2)
	}
	c := load(t, []string{"--argon2-params", "m=47104,t=1,p=2"}, map[string]string{"CREDVAULT_ENV": "production",
		"CREDVAULT_MASTER_KEY": "k", "CREDVAULT_ARGON2_PARAMS": "m=64,t=1,p=1"})
	if c.Argon2 != (password.Params{Memory: 47104, Time: 1, Threads: 2}) {
		t.Errorf("from the flag in production: %v", c.Argon2)
	}
}

// TestPublicURLFromAddr checks the issuer a server has when no public URL
// is set: the URL a client on this machine reaches its listen address at.
func TestPublicURLFromAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"CREDVAULT_ADDR": ":9090"}, "http://localhost:9090"},
		{map[string]string{"CREDVAULT_ADDR": "0.0.0.0:9090"}, "http://localhost:9090"},
		{map[string]string{"CREDVAULT_ADDR": "[::]:9090"}, "http://localhost:9090"},
		{map[string]string{"CREDVAULT_ADDR": "127.0.0.1:9090"}, "http://127.0.0.1:9090"},
		{map[string]string{"CREDVAULT_ADDR": "[::1]:9090"}, "http://[::1]:9090"},
		{map[string]string{"CREDVAULT_ADDR": "vault.internal:9090"}, "http://vault.internal:9090"},
		{map[string]string{"CREDVAULT_ADDR": ":8443", "CREDVAULT_TLS_CERT": "c.pem", "CREDVAULT_TLS_KEY": "k.pem"}, "https://localhost:8443"},
		{map[string]string{"CREDVAULT_ADDR": ":9090", "CREDVAULT_PUBLIC_URL": "https://vault.example.com/"}, "https://vault.example.com"},
	} {
		if got := load(t, nil, tc.vars).PublicURL; got != tc.want {
			t.Errorf("%v: PublicURL = %q, want %q", tc.vars, got, tc.want)
		}
	}
	if got := load(t, []string{"--addr", ":7070"}, nil).PublicURL; got != "http://localhost:7070" {
		t.Errorf("--addr :7070: PublicURL = %q", got)
	}
}

// TestListeningNamesTheChosenPort checks that a derived public URL takes
// the port the listener got, as for port 0, and that a set one stays.
func TestListeningNamesTheChosenPort(t *testing.T) {
	t.Parallel()
	chosen := &net.TCPAddr{IP: net.IPv6unspecified, Port: 43210}
	c := load(t, nil, map[string]string{"CREDVAULT_ADDR": ":0"})
	c.Listening(chosen)
	if c.PublicURL != "http://localhost:43210" {
		t.Errorf("derived from :0, PublicURL = %q, want http://localhost:43210", c.PublicURL)
	}
	c = load(t, nil, map[string]string{"CREDVAULT_ADDR": "127.0.0.1:0"})
	c.Listening(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 43210})
	if c.PublicURL != "http://127.0.0.1:43210" {
		t.Errorf("derived from 127.0.0.1:0, PublicURL = %q", c.PublicURL)
	}
	c = load(t, nil, map[string]string{"CREDVAULT_ADDR": ":0", "CREDVAULT_PUBLIC_URL": "https://vault.example.com"})
	c.Listening(chosen)
	if c.PublicURL != "https://vault.example.com" {
		t.Errorf("a set public URL became %q", c.PublicURL)
	}
}

// TestWebhookSettings checks the three webhook variables: a 10 s timeout
// and the schedule 5s,5m,30m,2h,5h,10h,10h by default, private endpoints
// allowed in development only unless set, each settable by variable or
// flag, and "none" as no retry at all.
func TestWebhookSettings(t *testing.T) {
	t.Parallel()
	defaultSchedule := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
		5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	for _, tc := range []struct {
		name         string
		args         []string
		vars         map[string]string
		timeout      time.Duration
		schedule     []time.Duration
		allowPrivate bool
	}{
		{"development defaults", nil, nil, 10 * time.Second, defaultSchedule, true},
		{"production defaults", nil, map[string]string{"CREDVAULT_ENV": "production"}, 10 * time.Second, defaultSchedule, false},
		{"production allowing private endpoints", nil,
			map[string]string{"CREDVAULT_ENV": "production", "CREDVAULT_WEBHOOK_ALLOW_PRIVATE": "true"}, 10 * time.Second, defaultSchedule, true},
		{"development refusing private endpoints", nil,
			map[string]string{"CREDVAULT_WEBHOOK_ALLOW_PRIVATE": "false"}, 10 * time.Second, defaultSchedule, false},
		{"environment", nil, map[string]string{
			"CREDVAULT_WEBHOOK_TIMEOUT":        "2500ms",
			"CREDVAULT_WEBHOOK_RETRY_SCHEDULE": " 1s, 90s ,, 1h30m",
			"CREDVAULT_WEBHOOK_ALLOW_PRIVATE":  "0",
		}, 2500 * time.Millisecond, []time.Duration{time.Second, 90 * time.Second, 90 * time.Minute}, false},
		{"flags over the environment", []string{"--webhook-timeout", "1m", "--webhook-retry-schedule=30s", "--webhook-allow-private", "true"},
			map[string]string{"CREDVAULT_ENV": "production", "CREDVAULT_WEBHOOK_TIMEOUT": "5s",
				"CREDVAULT_WEBHOOK_RETRY_SCHEDULE": "1s,2s", "CREDVAULT_WEBHOOK_ALLOW_PRIVATE": "false"},
			time.Minute, []time.Duration{30 * time.Second}, true},
		{"no retry", nil, map[string]string{"CREDVAULT_WEBHOOK_RETRY_SCHEDULE": "none"}, 10 * time.Second, nil, true},
		{"no retry by flag", []string{"--webhook-retry-schedule", " none "}, nil, 10 * time.Second, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := load(t, tc.args, tc.vars)
			if c.WebhookTimeout != tc.timeout {
				t.Errorf("WebhookTimeout = %v, want %v", c.WebhookTimeout, tc.timeout)
			}
			if !slices.Equal(c.WebhookRetrySchedule, tc.schedule) {
				t.Errorf("WebhookRetrySchedule = %v, want %v", c.WebhookRetrySchedule, tc.schedule)
			}
			if c.WebhookAllowPrivate != tc.allowPrivate {
				t.Errorf("WebhookAllowPrivate = %v, want %v", c.WebhookAllowPrivate, tc.allowPrivate)
			}
		})
	}
	if s, err := config.ParseRetrySchedule(config.DefaultWebhookRetrySchedule); err != nil || !slices.Equal(s, defaultSchedule) {
		t.Errorf("DefaultWebhookRetrySchedule parses to %v (%v), want %v", s, err, defaultSchedule)
	}
}

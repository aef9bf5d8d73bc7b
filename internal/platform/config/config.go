// Package config reads CredVault's settings from CREDVAULT_* variables and
// the flags of `credvault serve`, flags taking precedence.
package config

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/credvault/credvault/internal/identity/password"
)

// Config is every setting of SPEC §1.
type Config struct {
	Addr                 string
	DatabaseURL          string
	Env                  string
	MasterKey            string
	MasterKeyPrevious    string
	MasterKeyFile        string
	AdminEmail           string
	AdminPassword        string
	AllowSignup          bool
	RateLimits           string
	DefaultPlan          string
	CORSOrigins          []string
	TrustedProxies       []netip.Prefix
	TLSCert              string
	TLSKey               string
	LogLevel             slog.Level
	LogFormat            string
	GraphQLIntrospection bool
	// PublicURL is where clients reach the server: the issuer of tokens and
	// of the OAuth metadata. Unset, it is derived from the listen address
	// (Listening).
	PublicURL string
	// RedisURL, when set, is where rate limits are counted, shared by every
	// instance; RedisPrefix starts their keys.
	RedisURL    string
	RedisPrefix string
	// WebhookTimeout bounds one delivery attempt; WebhookRetrySchedule is
	// the wait before each retry; WebhookAllowPrivate lets endpoints resolve
	// to loopback and private addresses (SPEC §11).
	WebhookTimeout       time.Duration
	WebhookRetrySchedule []time.Duration
	WebhookAllowPrivate  bool
	// SSORedirectOrigins are the origins, besides PublicURL's, that a
	// single sign-on may send its session to (SPEC §15).
	SSORedirectOrigins []string
	// Argon2 is the cost of hashing a new password (argon2id); a stored
	// hash keeps the cost it was made with.
	Argon2 password.Params
	// AuditFile, when set, is a file every audit entry is appended to as
	// it is written, as a line of JSON.
	AuditFile string
	// derivedURL is whether PublicURL was derived from Addr.
	derivedURL bool
}

// Listening tells the configuration the address the server listens on,
// once it does: a public URL derived from Addr takes the port chosen for a
// port 0.
func (c *Config) Listening(addr net.Addr) {
	tcp, ok := addr.(*net.TCPAddr)
	if !c.derivedURL || !ok {
		return
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	c.PublicURL, _ = c.localURL(net.JoinHostPort(host, strconv.Itoa(tcp.Port)))
}

// localURL is the URL a client on this machine reaches a server listening
// on addr at: localhost when addr names no host or every interface.
func (c *Config) localURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("config: CREDVAULT_ADDR: %w", err)
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// Production reports whether CREDVAULT_ENV is production.
func (c *Config) Production() bool { return c.Env == "production" }

// Load parses args (the flags after `serve`) over the environment.
func Load(args []string, getenv func(string) string) (*Config, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c := &Config{}
	fs.StringVar(&c.Addr, "addr", env("CREDVAULT_ADDR", ":8080"), "listen address")
	fs.StringVar(&c.DatabaseURL, "database-url", env("CREDVAULT_DATABASE_URL", "sqlite://./data/credvault.db"), "sqlite://PATH, sqlite://:memory: or postgres://…")
	databaseURLFile := fs.String("database-url-file", getenv("CREDVAULT_DATABASE_URL_FILE"), "file holding the database URL, instead of --database-url")
	fs.StringVar(&c.Env, "env", env("CREDVAULT_ENV", "development"), "development or production")
	fs.StringVar(&c.MasterKey, "master-key", getenv("CREDVAULT_MASTER_KEY"), "base64 of 32 bytes: the key-encryption key")
	fs.StringVar(&c.MasterKeyPrevious, "master-key-previous", getenv("CREDVAULT_MASTER_KEY_PREVIOUS"), "the previous master key while DEKs are rewrapped")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", env("CREDVAULT_MASTER_KEY_FILE", "./data/master.key"), "production: file holding the master key (mode 600 or 400); development: where the generated master key is kept")
	fs.StringVar(&c.AdminEmail, "admin-email", getenv("CREDVAULT_ADMIN_EMAIL"), "platform admin created at start-up")
	fs.StringVar(&c.AdminPassword, "admin-password", getenv("CREDVAULT_ADMIN_PASSWORD"), "password of the platform admin")
	adminPasswordFile := fs.String("admin-password-file", getenv("CREDVAULT_ADMIN_PASSWORD_FILE"), "file holding the platform admin's password, instead of --admin-password")
	signup := fs.String("allow-signup", getenv("CREDVAULT_ALLOW_SIGNUP"), "allow POST /api/v1/auth/register (default: true in development)")
	fs.StringVar(&c.RateLimits, "rate-limits", env("CREDVAULT_RATE_LIMITS", "free=100/h,pro=1000/h,enterprise=10000/h"), "per-plan limits, or off")
	fs.StringVar(&c.RedisURL, "redis-url", getenv("CREDVAULT_REDIS_URL"), "redis://… where rate limits are counted for every instance (default: in memory, per instance)")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", env("CREDVAULT_REDIS_PREFIX", "credvault:ratelimit"), "start of the Redis keys of rate limits")
	fs.StringVar(&c.DefaultPlan, "default-plan", env("CREDVAULT_DEFAULT_PLAN", "free"), "plan of a newly registered tenant")
	cors := fs.String("cors-origins", getenv("CREDVAULT_CORS_ORIGINS"), "comma-separated origins allowed by CORS")
	proxies := fs.String("trusted-proxies", getenv("CREDVAULT_TRUSTED_PROXIES"), "comma-separated CIDRs whose X-Forwarded-For is believed")
	fs.StringVar(&c.PublicURL, "public-url", getenv("CREDVAULT_PUBLIC_URL"), "the server's external URL, the iss of its tokens (default: http://localhost:PORT of --addr, https with TLS)")
	fs.StringVar(&c.TLSCert, "tls-cert", getenv("CREDVAULT_TLS_CERT"), "TLS certificate file")
	fs.StringVar(&c.TLSKey, "tls-key", getenv("CREDVAULT_TLS_KEY"), "TLS key file")
	level := fs.String("log-level", env("CREDVAULT_LOG_LEVEL", "info"), "debug, info, warn or error")
	format := fs.String("log-format", getenv("CREDVAULT_LOG_FORMAT"), "text or json (default: text in development, json in production)")
	webhookTimeout := fs.String("webhook-timeout", env("CREDVAULT_WEBHOOK_TIMEOUT", "10s"), "how long a webhook endpoint has to answer")
	webhookSchedule := fs.String("webhook-retry-schedule", env("CREDVAULT_WEBHOOK_RETRY_SCHEDULE", DefaultWebhookRetrySchedule), "waits before each retry of a failed webhook delivery")
	webhookPrivate := fs.String("webhook-allow-private", getenv("CREDVAULT_WEBHOOK_ALLOW_PRIVATE"), "allow webhook endpoints on loopback and private addresses (default: true in development)")
	ssoOrigins := fs.String("sso-redirect-origins", getenv("CREDVAULT_SSO_REDIRECT_ORIGINS"), "comma-separated origins, besides the public URL's, a single sign-on may redirect its session to")
	fs.StringVar(&c.AuditFile, "audit-file", getenv("CREDVAULT_AUDIT_FILE"), "append every audit entry, as written, to this file as a line of JSON")
	introspection := fs.String("graphql-introspection", getenv("CREDVAULT_GRAPHQL_INTROSPECTION"), "allow GraphQL introspection (default: true in development)")
	argon2 := fs.String("argon2-params", env("CREDVAULT_ARGON2_PARAMS", password.OWASP.String()), "argon2id cost of a new password hash: memory in KiB, passes, lanes (production refuses less than OWASP's)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("config: unexpected argument %q", fs.Arg(0))
	}
	if c.Env != "development" && c.Env != "production" {
		return nil, fmt.Errorf("config: CREDVAULT_ENV must be development or production, not %q", c.Env)
	}
	// In development the master key file is where a generated key is kept;
	// production reads a key from it only when it is set.
	masterKeyFile := ""
	if c.Production() && (getenv("CREDVAULT_MASTER_KEY_FILE") != "" || isSet(fs, "master-key-file")) {
		masterKeyFile = c.MasterKeyFile
	}
	if err := readSecretFiles(fs, getenv, []secretFile{
		{name: "CREDVAULT_MASTER_KEY", flag: "master-key", value: &c.MasterKey, path: masterKeyFile, private: true},
		{name: "CREDVAULT_ADMIN_PASSWORD", flag: "admin-password", value: &c.AdminPassword, path: *adminPasswordFile},
		{name: "CREDVAULT_DATABASE_URL", flag: "database-url", value: &c.DatabaseURL, path: *databaseURLFile},
	}); err != nil {
		return nil, err
	}
	var err error
	if c.AllowSignup, err = boolOr("CREDVAULT_ALLOW_SIGNUP", *signup, !c.Production()); err != nil {
		return nil, err
	}
	if c.GraphQLIntrospection, err = boolOr("CREDVAULT_GRAPHQL_INTROSPECTION", *introspection, !c.Production()); err != nil {
		return nil, err
	}
	if c.WebhookAllowPrivate, err = boolOr("CREDVAULT_WEBHOOK_ALLOW_PRIVATE", *webhookPrivate, !c.Production()); err != nil {
		return nil, err
	}
	if c.WebhookTimeout, err = time.ParseDuration(*webhookTimeout); err != nil || c.WebhookTimeout <= 0 {
		return nil, fmt.Errorf("config: CREDVAULT_WEBHOOK_TIMEOUT must be a positive duration such as 10s, not %q", *webhookTimeout)
	}
	if c.WebhookRetrySchedule, err = ParseRetrySchedule(*webhookSchedule); err != nil {
		return nil, fmt.Errorf("config: CREDVAULT_WEBHOOK_RETRY_SCHEDULE: %w", err)
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return nil, fmt.Errorf("config: CREDVAULT_LOG_LEVEL: %w", err)
	}
	c.LogFormat = *format
	if c.LogFormat == "" {
		c.LogFormat = map[bool]string{true: "json", false: "text"}[c.Production()]
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return nil, fmt.Errorf("config: CREDVAULT_LOG_FORMAT must be text or json, not %q", c.LogFormat)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PublicURL == "" {
		if c.PublicURL, err = c.localURL(c.Addr); err != nil {
			return nil, err
		}
		c.derivedURL = true
	}
	c.CORSOrigins = splitList(*cors)
	for _, o := range splitList(*ssoOrigins) {
		origin, err := parseOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("config: CREDVAULT_SSO_REDIRECT_ORIGINS: %w", err)
		}
		c.SSORedirectOrigins = append(c.SSORedirectOrigins, origin)
	}
	for _, p := range splitList(*proxies) {
		prefix, err := parsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("config: CREDVAULT_TRUSTED_PROXIES: %w", err)
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix)
	}
	if _, err := ParseRateLimits(c.RateLimits); err != nil {
		return nil, fmt.Errorf("config: CREDVAULT_RATE_LIMITS: %w", err)
	}
	// Not quoted back: a Redis URL may hold a password.
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		return nil, fmt.Errorf("config: CREDVAULT_REDIS_URL must be a redis:// or rediss:// URL")
	}
	if c.Argon2, err = password.ParseParams(*argon2); err != nil {
		return nil, fmt.Errorf("config: CREDVAULT_ARGON2_PARAMS: %w", err)
	}
	if c.Production() && c.Argon2.BelowOWASP() {
		return nil, fmt.Errorf("config: CREDVAULT_ARGON2_PARAMS %s costs less than OWASP's weakest argon2id setting (m=7168,t=5,p=1 or m=47104,t=1,p=1 and the like)", c.Argon2)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, fmt.Errorf("config: CREDVAULT_TLS_CERT and CREDVAULT_TLS_KEY go together")
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return nil, fmt.Errorf("config: CREDVAULT_ADMIN_EMAIL and CREDVAULT_ADMIN_PASSWORD go together")
	}
	return c, nil
}

// DefaultWebhookRetrySchedule is the wait before each retry of a failed
// webhook delivery: eight attempts over about 28 hours.
const DefaultWebhookRetrySchedule = "5s,5m,30m,2h,5h,10h,10h"

// ParseRetrySchedule reads comma-separated positive durations; "" or
// "none" is no retry at all.
func ParseRetrySchedule(s string) ([]time.Duration, error) {
	if strings.TrimSpace(s) == "none" {
		return nil, nil
	}
	var out []time.Duration
	for _, part := range splitList(s) {
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("%q is not a positive duration such as 5s or 2h", part)
		}
		out = append(out, d)
	}
	return out, nil
}

// FromEnv loads the configuration from the process environment alone.
func FromEnv() (*Config, error) { return Load(nil, os.Getenv) }

func boolOr(name, v string, def bool) (bool, error) {
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("config: %s must be true or false, not %q", name, v)
	}
	return b, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// parseOrigin reads an origin, scheme://host[:port], and returns it in
// lower case.
func parseOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q is not an origin such as https://app.example.com", s)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// parsePrefix accepts a CIDR or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

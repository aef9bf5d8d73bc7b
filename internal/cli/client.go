package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	credvault "github.com/credvault/credvault/sdk/go"
)

// userAgent names the command line to the server.
const userAgent = "credvault-cli"

// session is what `credvault login` keeps in the user's config directory:
// the server it signed in to and the session's tokens.
type session struct {
	URL          string    `json:"url"`
	Email        string    `json:"email"`
	Tenant       string    `json:"tenant,omitempty"`
	TenantID     string    `json:"tenant_id,omitempty"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// sessionFile is the file `login` writes: CREDVAULT_CONFIG_DIR/session.json
// when that is set, else os.UserConfigDir()/credvault/session.json.
func (a *app) sessionFile() (string, error) {
	if dir := a.getenv("CREDVAULT_CONFIG_DIR"); dir != "" {
		return filepath.Join(dir, "session.json"), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("config directory: %w", err)
	}
	return filepath.Join(dir, "credvault", "session.json"), nil
}

// loadSession reads the stored session; nil when there is none.
func (a *app) loadSession() (*session, error) {
	path, err := a.sessionFile()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	s := new(session)
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("session %s: %w (run 'credvault logout' then 'credvault login')", path, err)
	}
	return s, nil
}

// saveSession writes s for the user alone: the directory 0700, the file
// 0600, replaced atomically.
func (a *app) saveSession(s *session) (string, error) {
	path, err := a.sessionFile()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("save session: %w", err)
	}
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".session-*.json")
	if err != nil {
		return "", fmt.Errorf("save session: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save session: %w", err)
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return "", fmt.Errorf("save session: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("save session: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("save session: %w", err)
	}
	return path, nil
}

// baseURL is the server: --url, CREDVAULT_URL, the session's, or DefaultURL.
func (a *app) baseURL(s *session) string {
	u := cmp.Or(a.url, a.getenv("CREDVAULT_URL"))
	if u == "" && s != nil {
		u = s.URL
	}
	return strings.TrimRight(cmp.Or(u, DefaultURL), "/")
}

// anonymous is a client of the server without credentials.
func (a *app) anonymous(s *session) (*credvault.Client, error) {
	return credvault.NewClient(a.baseURL(s), credvault.WithUserAgent(userAgent))
}

// authSource says where the client's credentials come from.
type authSource string

const (
	authAPIKey  authSource = "api key"
	authSession authSource = "session"
)

// client is an authenticated client: by --api-key or CREDVAULT_API_KEY,
// else by the stored session, refreshed when it has expired. A session is
// only ever sent to the server it was opened on.
func (a *app) client(ctx context.Context) (*credvault.Client, authSource, error) {
	if key := cmp.Or(a.apiKey, a.getenv("CREDVAULT_API_KEY")); key != "" {
		c, err := credvault.NewClient(a.baseURL(nil), credvault.WithAPIKey(key), credvault.WithUserAgent(userAgent))
		return c, authAPIKey, err
	}
	s, err := a.loadSession()
	if err != nil {
		return nil, "", err
	}
	base := a.baseURL(s)
	if s == nil || s.AccessToken == "" {
		return nil, "", errors.New("not logged in: run 'credvault login', or set CREDVAULT_API_KEY")
	}
	if strings.TrimRight(s.URL, "/") != base {
		return nil, "", fmt.Errorf("not logged in to %s (the session is %s's): run 'credvault login --url %s', or set CREDVAULT_API_KEY", base, s.URL, base)
	}
	if !s.ExpiresAt.IsZero() && time.Now().After(s.ExpiresAt.Add(-30*time.Second)) {
		if err := a.refresh(ctx, s); err != nil {
			return nil, "", err
		}
	}
	c, err := credvault.NewClient(base, credvault.WithToken(s.AccessToken), credvault.WithUserAgent(userAgent))
	return c, authSession, err
}

// refresh exchanges the session's refresh token for a new session, stored.
func (a *app) refresh(ctx context.Context, s *session) error {
	anon, err := a.anonymous(s)
	if err != nil {
		return err
	}
	fresh, err := anon.Auth.Refresh(ctx, s.RefreshToken)
	if err != nil {
		var ce *credvault.Error
		if errors.As(err, &ce) && (ce.Status == 400 || ce.Status == 401) {
			return errors.New("the session has expired: run 'credvault login'")
		}
		return fmt.Errorf("refresh the session: %w", err)
	}
	s.AccessToken, s.ExpiresAt = fresh.AccessToken, expiry(fresh.ExpiresIn)
	if fresh.RefreshToken != "" {
		s.RefreshToken = fresh.RefreshToken
	}
	_, err = a.saveSession(s)
	return err
}

// expiry is when a session of expiresIn seconds ends; zero when unknown.
func expiry(expiresIn int) time.Time {
	if expiresIn <= 0 {
		return time.Time{}
	}
	return time.Now().Add(time.Duration(expiresIn) * time.Second).UTC().Truncate(time.Second)
}

// json reports whether the output is for scripts.
func (a *app) json() bool { return a.output == "json" }

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printCompactJSON writes v as JSON on one line.
func (a *app) printCompactJSON(v any) error {
	_, err := fmt.Fprintln(a.stdout, compactJSON(v))
	return err
}

// printTable writes rows under header, aligned.
func (a *app) printTable(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// printFields writes name/value pairs, one a line, aligned.
func (a *app) printFields(pairs ...string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(tw, "%s:\t%s\n", pairs[i], pairs[i+1])
	}
	return tw.Flush()
}

// show writes v as JSON, or as a table of rows for people.
func (a *app) show(v any, header []string, rows [][]string) error {
	if a.json() {
		return a.printJSON(v)
	}
	return a.printTable(header, rows)
}

// say writes a command's result for people to stdout.
func (a *app) say(format string, args ...any) {
	fmt.Fprintf(a.stdout, format+"\n", args...)
}

// note writes a remark for people to stderr (never in the way of -o json).
func (a *app) note(format string, args ...any) {
	fmt.Fprintf(a.stderr, format+"\n", args...)
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func fmtTimeV(t time.Time) string { return fmtTime(&t) }

func fmtStr(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

func fmtList(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ",")
}

func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSpace(buf.String())
}

// parseWhen reads a time: RFC 3339, a date, or a duration ago ("15m", "24h", "7d").
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := parseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, usagef("time %q: want RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or a duration ago (15m, 24h, 7d)", s)
}

// parseDuration is time.ParseDuration with days ("7d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n && days >= 0 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, usagef("duration %q: want e.g. 90s, 15m, 24h or 30d", s)
	}
	return d, nil
}

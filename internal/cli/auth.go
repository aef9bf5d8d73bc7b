package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	credvault "github.com/credvault/credvault/sdk/go"
)

func (a *app) loginCmd() *cobra.Command {
	var email, tenant string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "sign in with email and password, and keep the session",
		Long: `Sign in to the server with an email and password and keep the session
in the user's config directory (os.UserConfigDir()/credvault/session.json,
or $CREDVAULT_CONFIG_DIR/session.json), readable by the user alone (0600).
Later commands use it unless an API key is given; it is refreshed as it
expires and only ever sent to the server it was opened on.

The password is read from a prompt without echo on a terminal, otherwise
from the first line of standard input (--password-stdin forces that).`,
		Example: `  credvault login --url https://vault.example.com --email ada@example.com --tenant acme
  printf '%s\n' "$PASSWORD" | credvault login --email ada@example.com --password-stdin`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in := bufio.NewReader(a.stdin)
			tty := isTerminal(a.stdin)
			if email == "" {
				if !tty || passwordStdin {
					return usagef("login: --email is required when standard input is not a terminal")
				}
				fmt.Fprint(a.stderr, "Email: ")
				line, err := readLine(in)
				if err != nil {
					return err
				}
				email = line
			}
			password, err := a.readPassword(in, tty && !passwordStdin)
			if err != nil {
				return err
			}
			if password == "" {
				return usagef("login: empty password")
			}
			anon, err := a.anonymous(nil)
			if err != nil {
				return err
			}
			req := &credvault.LoginRequest{Email: email, Password: password}
			if tenant != "" {
				req.Tenant = &tenant
			}
			s, err := anon.Auth.Login(cmd.Context(), req)
			if err != nil {
				return err
			}
			stored := &session{URL: anon.BaseURL(), Email: email, AccessToken: s.AccessToken,
				RefreshToken: s.RefreshToken, ExpiresAt: expiry(s.ExpiresIn)}
			if s.User != nil {
				stored.Email = s.User.Email
			}
			if s.Tenant != nil {
				stored.Tenant, stored.TenantID = s.Tenant.Slug, s.Tenant.ID
			} else {
				// The login answer names the user; the session's principal names its tenant.
				c, err := credvault.NewClient(stored.URL, credvault.WithToken(s.AccessToken), credvault.WithUserAgent(userAgent))
				if err != nil {
					return err
				}
				me, err := c.Auth.Me(cmd.Context())
				if err != nil {
					return err
				}
				stored.Tenant, stored.TenantID = me.Tenant.Slug, me.Tenant.ID
			}
			path, err := a.saveSession(stored)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(map[string]any{"url": stored.URL, "email": stored.Email, "tenant": stored.Tenant,
					"tenant_id": stored.TenantID, "expires_at": stored.ExpiresAt, "session_file": path})
			}
			fmt.Fprintf(a.stdout, "Logged in to %s as %s (tenant %s).\n", stored.URL, stored.Email, stored.Tenant)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&email, "email", "", "the account's email (prompted for on a terminal)")
	f.StringVar(&tenant, "tenant", "", "the tenant's slug, when the email has accounts in several")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	return cmd
}

// readPassword reads the password: from a prompt without echo when prompt
// (standard input is a terminal), else the first line of in.
func (a *app) readPassword(in *bufio.Reader, prompt bool) (string, error) {
	if !prompt {
		return readLine(in)
	}
	fmt.Fprint(a.stderr, "Password: ")
	raw, err := term.ReadPassword(int(a.stdin.(*os.File).Fd()))
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(raw), nil
}

// readLine reads one line, without its line ending.
func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		if errors.Is(err, io.EOF) {
			return "", nil
		}
		return "", fmt.Errorf("read standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "forget the session 'credvault login' stored",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			path, err := a.sessionFile()
			if err != nil {
				return err
			}
			if err := os.Remove(path); errors.Is(err, fs.ErrNotExist) {
				a.note("Not logged in.")
				return nil
			} else if err != nil {
				return fmt.Errorf("logout: %w", err)
			}
			a.note("Logged out: removed %s.", path)
			return nil
		},
	}
}

func (a *app) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "show who the credentials in use are: principal, tenant and scopes",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, src, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			me, err := c.Auth.Me(cmd.Context())
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(me)
			}
			user := "-"
			if me.User != nil {
				user = me.User.Email + " (" + me.User.Role + ")"
			}
			return a.printFields("Server", c.BaseURL(), "Auth", string(src), "Principal", me.PrincipalType+" "+me.ID,
				"User", user, "Tenant", me.Tenant.Name+" ("+me.Tenant.Slug+", "+me.Tenant.ID+")",
				"API key", fmtStr(me.APIKeyID), "Scopes", fmtList(me.Scopes))
		},
	}
}

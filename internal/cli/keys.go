package cli

import (
	"context"
	"iter"
	"time"

	"github.com/spf13/cobra"

	credvault "github.com/credvault/credvault/sdk/go"
)

// listFlags are a list command's paging: how many items at most.
type listFlags struct{ limit int }

func (l *listFlags) add(cmd *cobra.Command) {
	cmd.Flags().IntVar(&l.limit, "limit", 0, "list at most this many (default: all, page after page)")
}

func (l *listFlags) options() credvault.ListOptions {
	o := credvault.ListOptions{Limit: 100}
	if l.limit > 0 && l.limit < 100 {
		o.Limit = l.limit
	}
	return o
}

// collect gathers seq's items, at most limit of them (0: all).
func collect[T any](seq iter.Seq2[T, error], limit int) ([]T, error) {
	out := []T{}
	for item, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, item)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// withClient runs fn with an authenticated client.
func (a *app) withClient(fn func(ctx context.Context, c *credvault.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, _, err := a.client(cmd.Context())
		if err != nil {
			return err
		}
		return fn(cmd.Context(), c, args)
	}
}

func (a *app) keysCmd() *cobra.Command {
	return group("keys", "create, list, read, rotate and revoke API keys",
		a.keysCreateCmd(), a.keysListCmd(), a.keysGetCmd(), a.keysRotateCmd(), a.keysRevokeCmd())
}

func keyRows(keys ...*credvault.APIKey) [][]string {
	rows := make([][]string, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, []string{k.ID, k.Name, k.Prefix, k.Status, fmtList(k.Scopes), fmtTime(k.ExpiresAt), fmtTime(k.LastUsedAt), fmtTimeV(k.CreatedAt)})
	}
	return rows
}

var keyHeader = []string{"ID", "NAME", "PREFIX", "STATUS", "SCOPES", "EXPIRES", "LAST USED", "CREATED"}

// showSecretKey prints a key with its secret, which the server shows once.
func (a *app) showSecretKey(k *credvault.APIKey) error {
	if a.json() {
		return a.printJSON(k)
	}
	if err := a.printFields("ID", k.ID, "Name", k.Name, "Status", k.Status, "Scopes", fmtList(k.Scopes),
		"Expires", fmtTime(k.ExpiresAt), "Key", k.Key); err != nil {
		return err
	}
	a.note("Store the key now: it is not shown again.")
	return nil
}

func (a *app) keysCreateCmd() *cobra.Command {
	var scopes, ips []string
	var expiresIn string
	var rateRequests, rateWindow int
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "issue an API key (its secret is shown once)",
		Example: `  credvault keys create ci --scope credentials:read --scope credentials:decrypt --expires-in 90d
  KEY=$(credvault keys create deploy -o json | jq -r .key)`,
		Args: exactArgs("NAME"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			req := &credvault.CreateAPIKeyRequest{Name: args[0], Scopes: scopes, IPAllowlist: ips}
			if expiresIn != "" {
				d, err := parseDuration(expiresIn)
				if err != nil {
					return err
				}
				t := time.Now().Add(d).UTC()
				req.ExpiresAt = &t
			}
			if rateRequests > 0 {
				req.RateLimit = &credvault.RateLimit{Requests: rateRequests, WindowSeconds: max(rateWindow, 1)}
			}
			k, err := c.APIKeys.Create(ctx, req)
			if err != nil {
				return err
			}
			return a.showSecretKey(k)
		}),
	}
	f := cmd.Flags()
	f.StringSliceVar(&scopes, "scope", nil, "a scope of the key, repeated or comma separated (default: the creator's)")
	f.StringVar(&expiresIn, "expires-in", "", "the key expires after this long (90s, 24h, 30d; default: never)")
	f.StringSliceVar(&ips, "ip-allow", nil, "only requests from this IP address or CIDR range (repeated)")
	f.IntVar(&rateRequests, "rate-limit", 0, "at most this many requests a window")
	f.IntVar(&rateWindow, "rate-window", 60, "the rate limit's window, in seconds")
	return cmd
}

func (a *app) keysListCmd() *cobra.Command {
	var lf listFlags
	var status, serviceAccount string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the tenant's API keys, newest first",
		Args:  noArgs,
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, _ []string) error {
			keys, err := collect(c.APIKeys.List(ctx, &credvault.APIKeyListOptions{ListOptions: lf.options(),
				Status: status, ServiceAccountID: serviceAccount}), lf.limit)
			if err != nil {
				return err
			}
			return a.show(keys, keyHeader, keyRows(keys...))
		}),
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&status, "status", "", "only keys of this status (active, revoked, expired)")
	cmd.Flags().StringVar(&serviceAccount, "service-account", "", "only this service account's keys")
	return cmd
}

func (a *app) keysGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "show an API key (never its secret)",
		Args:  exactArgs("ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			k, err := c.APIKeys.Get(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(k)
			}
			return a.printFields("ID", k.ID, "Name", k.Name, "Prefix", k.Prefix, "Status", k.Status,
				"Scopes", fmtList(k.Scopes), "IP allowlist", fmtList(k.IPAllowlist), "Service account", fmtStr(k.ServiceAccountID),
				"Expires", fmtTime(k.ExpiresAt), "Last used", fmtTime(k.LastUsedAt), "Revoked", fmtTime(k.RevokedAt),
				"Created", fmtTimeV(k.CreatedAt), "Updated", fmtTimeV(k.UpdatedAt))
		}),
	}
}

// graceFlag is a rotation's grace period, during which the old secret
// still works.
type graceFlag struct{ grace string }

func (g *graceFlag) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&g.grace, "grace", "", "keep the old "+what+" working this long (0s ends it now; default: the server's)")
}

func (g *graceFlag) request() (*credvault.RotateRequest, error) {
	if g.grace == "" {
		return nil, nil
	}
	d, err := parseDuration(g.grace)
	if err != nil {
		return nil, err
	}
	s := int(d / time.Second)
	return &credvault.RotateRequest{GracePeriodSeconds: &s}, nil
}

func (a *app) keysRotateCmd() *cobra.Command {
	var g graceFlag
	cmd := &cobra.Command{
		Use:     "rotate ID",
		Short:   "give an API key a new secret (shown once)",
		Example: `  credvault keys rotate 0193e7c1-… --grace 1h`,
		Args:    exactArgs("ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			req, err := g.request()
			if err != nil {
				return err
			}
			k, err := c.APIKeys.Rotate(ctx, args[0], req)
			if err != nil {
				return err
			}
			return a.showSecretKey(k)
		}),
	}
	g.add(cmd, "secret")
	return cmd
}

func (a *app) keysRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "revoke an API key, at once",
		Args:  exactArgs("ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			k, err := c.APIKeys.Revoke(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(k)
			}
			a.say("Revoked key %s (%s).", k.ID, k.Name)
			return nil
		}),
	}
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	credvault "github.com/credvault/credvault/sdk/go"
)

func (a *app) credsCmd() *cobra.Command {
	return group("creds", "store, read, list and delete the vault's credentials",
		a.credsPutCmd(), a.credsGetCmd(), a.credsListCmd(), a.credsDeleteCmd())
}

var credHeader = []string{"INTEGRATION", "ID", "NAME", "TYPE", "STATUS", "EXPIRES", "LAST ACCESSED", "UPDATED"}

func credRows(cs ...*credvault.Credential) [][]string {
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, []string{c.IntegrationID, c.ID, orDash(c.Name), c.AuthType, c.Status, fmtTime(c.ExpiresAt),
			fmtTime(c.LastAccessedAt), fmtTimeV(c.UpdatedAt)})
	}
	return rows
}

func (a *app) credsPutCmd() *cobra.Command {
	var authType, name, expiresIn string
	var fields, meta []string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "put INTEGRATION",
		Short: "store an integration's secret, encrypted",
		Long: `Store a credential of an integration (such as "stripe"), encrypted by the
server. Its data are FIELD=VALUE pairs (--set), or a JSON object read from
standard input (--data-stdin), which keeps secrets out of the shell's
history and the process list. The auth type says which fields it needs:
api_key (api_key), bearer_token (token), basic_auth (username, password),
oauth2_bearer (access_token), oauth2_client_credentials (client_id,
client_secret, token_url), jwt (token), saml (assertion), custom (any).`,
		Example: `  credvault creds put stripe --type api_key --set api_key=sk_live_…
  echo '{"username":"app","password":"…"}' | credvault creds put postgres --type basic_auth --data-stdin`,
		Args: exactArgs("INTEGRATION"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			data, err := a.credData(fields, fromStdin)
			if err != nil {
				return err
			}
			req := &credvault.StoreCredentialRequest{IntegrationID: args[0], AuthType: authType, Data: data}
			if name != "" {
				req.Name = &name
			}
			if len(meta) > 0 {
				m, err := pairs(meta, "--meta")
				if err != nil {
					return err
				}
				req.Metadata = m
			}
			if expiresIn != "" {
				d, err := parseDuration(expiresIn)
				if err != nil {
					return err
				}
				t := time.Now().Add(d).UTC()
				req.ExpiresAt = &t
			}
			cr, err := c.Credentials.Store(ctx, req)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(cr)
			}
			a.say("Stored credential %s of %s (%s).", cr.ID, cr.IntegrationID, cr.AuthType)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&authType, "type", "", "the auth type: api_key, bearer_token, basic_auth, oauth2_bearer, oauth2_client_credentials, jwt, saml or custom (required)")
	f.StringArrayVar(&fields, "set", nil, "a data field, FIELD=VALUE (repeated)")
	f.BoolVar(&fromStdin, "data-stdin", false, "read the data as a JSON object from standard input")
	f.StringVar(&name, "name", "", "the credential's name (default: the server's)")
	f.StringArrayVar(&meta, "meta", nil, "a metadata field, KEY=VALUE (repeated; not secret)")
	f.StringVar(&expiresIn, "expires-in", "", "the credential expires after this long (e.g. 90d)")
	_ = cmd.MarkFlagRequired("type")
	_ = cmd.RegisterFlagCompletionFunc("type", cobra.FixedCompletions([]string{"api_key", "bearer_token", "basic_auth",
		"oauth2_bearer", "oauth2_client_credentials", "jwt", "saml", "custom"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// credData is a credential's data: the --set pairs, or standard input's
// JSON object.
func (a *app) credData(fields []string, fromStdin bool) (map[string]any, error) {
	switch {
	case fromStdin && len(fields) > 0:
		return nil, usagef("creds put: --set and --data-stdin exclude each other")
	case fromStdin:
		raw, err := io.ReadAll(io.LimitReader(a.stdin, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		var data map[string]any
		if err := json.Unmarshal(raw, &data); err != nil {
			return nil, usagef("creds put: standard input is not a JSON object: %v", err)
		}
		return data, nil
	case len(fields) == 0:
		return nil, usagef("creds put: no data: give --set FIELD=VALUE or --data-stdin")
	}
	return pairs(fields, "--set")
}

// pairs reads KEY=VALUE arguments.
func pairs(args []string, flag string) (map[string]any, error) {
	out := make(map[string]any, len(args))
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("%s %q: want KEY=VALUE", flag, redactValue(kv))
		}
		out[k] = v
	}
	return out, nil
}

// redactValue keeps a malformed argument's secret part out of messages.
func redactValue(s string) string {
	if len(s) > 4 {
		return s[:4] + "…"
	}
	return s
}

func (a *app) credsGetCmd() *cobra.Command {
	var field string
	cmd := &cobra.Command{
		Use:   "get INTEGRATION",
		Short: "read an integration's credentials, decrypted (the read is audited)",
		Example: `  credvault creds get stripe
  export STRIPE_KEY=$(credvault creds get stripe --field api_key)`,
		Args: exactArgs("INTEGRATION"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			in, err := c.Credentials.Get(ctx, args[0])
			if err != nil {
				return err
			}
			if field != "" {
				cr := active(in)
				if cr == nil {
					return fmt.Errorf("%s has no active credential", args[0])
				}
				v, ok := cr.Data[field]
				if !ok {
					return fmt.Errorf("%s's credential %s has no field %q (it has %s)", args[0], cr.ID, field,
						strings.Join(slices.Sorted(maps.Keys(cr.Data)), ", "))
				}
				_, err := fmt.Fprintln(a.stdout, envValue(v))
				return err
			}
			if a.json() {
				return a.printJSON(in)
			}
			var rows [][]string
			for _, cr := range in.Credentials {
				for _, k := range slices.Sorted(maps.Keys(cr.Data)) {
					rows = append(rows, []string{cr.ID, orDash(cr.Name), cr.AuthType, cr.Status, k, envValue(cr.Data[k])})
				}
			}
			return a.printTable([]string{"ID", "NAME", "TYPE", "STATUS", "FIELD", "VALUE"}, rows)
		}),
	}
	cmd.Flags().StringVar(&field, "field", "", "print this data field of the active credential alone, raw (for scripts)")
	return cmd
}

// active is the integration's credential `run` and `get --field` use: the
// first active one, as the server orders them.
func active(in *credvault.Integration) *credvault.Credential {
	for i := range in.Credentials {
		if in.Credentials[i].Status == "" || in.Credentials[i].Status == "active" {
			return &in.Credentials[i]
		}
	}
	return nil
}

// envValue is a data field as text: a string as is, anything else as JSON.
func envValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return compactJSON(v)
}

func (a *app) credsListCmd() *cobra.Command {
	var lf listFlags
	var integration, authType, status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list credentials, metadata only",
		Args:  noArgs,
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, _ []string) error {
			cs, err := collect(c.Credentials.List(ctx, &credvault.CredentialListOptions{ListOptions: lf.options(),
				IntegrationID: integration, AuthType: authType, Status: status}), lf.limit)
			if err != nil {
				return err
			}
			return a.show(cs, credHeader, credRows(cs...))
		}),
	}
	lf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&integration, "integration", "", "only this integration's credentials")
	f.StringVar(&authType, "type", "", "only credentials of this auth type")
	f.StringVar(&status, "status", "", "only credentials of this status")
	return cmd
}

func (a *app) credsDeleteCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "delete INTEGRATION [CREDENTIAL_ID]",
		Short: "delete a credential; its ciphertext is destroyed",
		Long: `Delete a credential of an integration. Without CREDENTIAL_ID, the
integration's only credential; --all deletes every one of them.`,
		Args: rangeArgs(1, "INTEGRATION", "CREDENTIAL_ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			ids := args[1:]
			if len(ids) > 0 && all {
				return usagef("creds delete: CREDENTIAL_ID and --all exclude each other")
			}
			if len(ids) == 0 {
				in, err := c.Credentials.Details(ctx, args[0])
				if err != nil {
					return err
				}
				for _, cr := range in.Credentials {
					ids = append(ids, cr.ID)
				}
				if len(ids) > 1 && !all {
					return usagef("creds delete: %s has %d credentials (%s): name one, or give --all",
						args[0], len(ids), strings.Join(ids, ", "))
				}
			}
			var out []*credvault.Deleted
			for _, id := range ids {
				d, err := c.Credentials.Delete(ctx, args[0], id)
				if err != nil {
					return err
				}
				out = append(out, d)
				if !a.json() {
					a.say("Deleted credential %s of %s.", d.ID, args[0])
				}
			}
			if a.json() {
				return a.printJSON(out)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&all, "all", false, "delete every credential of the integration")
	return cmd
}

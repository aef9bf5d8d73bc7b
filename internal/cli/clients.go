package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	credvault "github.com/credvault/credvault/sdk/go"
)

func (a *app) clientsCmd() *cobra.Command {
	return group("clients", "create, list, read, rotate and delete OAuth clients",
		a.clientsCreateCmd(), a.clientsListCmd(), a.clientsGetCmd(), a.clientsRotateCmd(), a.clientsDeleteCmd())
}

var clientHeader = []string{"CLIENT ID", "NAME", "STATUS", "GRANT TYPES", "SCOPES", "TOKEN TTL", "CREATED"}

func clientRows(cs ...*credvault.OAuthClient) [][]string {
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, []string{c.ClientID, c.Name, c.Status, fmtList(c.GrantTypes), fmtList(c.Scopes),
			strconv.Itoa(c.AccessTokenTTLSeconds) + "s", fmtTimeV(c.CreatedAt)})
	}
	return rows
}

// showClientSecret prints a client with its secret, which the server shows once.
func (a *app) showClientSecret(c *credvault.OAuthClient) error {
	if a.json() {
		return a.printJSON(c)
	}
	if err := a.printFields("Client ID", c.ClientID, "Name", c.Name, "Status", c.Status,
		"Grant types", fmtList(c.GrantTypes), "Scopes", fmtList(c.Scopes), "Redirect URIs", fmtList(c.RedirectURIs),
		"Client secret", c.ClientSecret); err != nil {
		return err
	}
	a.note("Store the client secret now: it is not shown again.")
	return nil
}

func (a *app) clientsCreateCmd() *cobra.Command {
	var redirects, grants, scopes []string
	var ttl string
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "create an OAuth client (its secret is shown once)",
		Example: `  credvault clients create billing-worker --grant-type client_credentials --scope credentials:read`,
		Args:    exactArgs("NAME"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			req := &credvault.CreateOAuthClientRequest{Name: args[0], RedirectURIs: redirects, GrantTypes: grants, Scopes: scopes}
			if ttl != "" {
				d, err := parseDuration(ttl)
				if err != nil {
					return err
				}
				s := int(d.Seconds())
				req.AccessTokenTTLSeconds = &s
			}
			oc, err := c.OAuthClients.Create(ctx, req)
			if err != nil {
				return err
			}
			return a.showClientSecret(oc)
		}),
	}
	f := cmd.Flags()
	f.StringSliceVar(&redirects, "redirect-uri", nil, "a redirect URI (repeated; authorization_code clients)")
	f.StringSliceVar(&grants, "grant-type", nil, "a grant type: client_credentials, authorization_code, refresh_token (repeated; default: the server's)")
	f.StringSliceVar(&scopes, "scope", nil, "a scope the client may request (repeated or comma separated)")
	f.StringVar(&ttl, "token-ttl", "", "its access tokens' lifetime (e.g. 15m; default: the server's)")
	return cmd
}

func (a *app) clientsListCmd() *cobra.Command {
	var lf listFlags
	var status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the tenant's OAuth clients",
		Args:  noArgs,
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, _ []string) error {
			cs, err := collect(c.OAuthClients.List(ctx, &credvault.OAuthClientListOptions{ListOptions: lf.options(), Status: status}), lf.limit)
			if err != nil {
				return err
			}
			return a.show(cs, clientHeader, clientRows(cs...))
		}),
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&status, "status", "", "only clients of this status (active, disabled)")
	return cmd
}

func (a *app) clientsGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get CLIENT_ID",
		Short: "show an OAuth client (never its secret)",
		Args:  exactArgs("CLIENT_ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			oc, err := c.OAuthClients.Get(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(oc)
			}
			return a.printFields("Client ID", oc.ClientID, "ID", oc.ID, "Name", oc.Name, "Status", oc.Status,
				"Grant types", fmtList(oc.GrantTypes), "Scopes", fmtList(oc.Scopes), "Redirect URIs", fmtList(oc.RedirectURIs),
				"Token TTL", strconv.Itoa(oc.AccessTokenTTLSeconds)+"s", "Created", fmtTimeV(oc.CreatedAt), "Updated", fmtTimeV(oc.UpdatedAt))
		}),
	}
}

func (a *app) clientsRotateCmd() *cobra.Command {
	var g graceFlag
	cmd := &cobra.Command{
		Use:   "rotate-secret CLIENT_ID",
		Short: "issue an OAuth client a new secret (shown once)",
		Args:  exactArgs("CLIENT_ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			req, err := g.request()
			if err != nil {
				return err
			}
			oc, err := c.OAuthClients.RotateSecret(ctx, args[0], req)
			if err != nil {
				return err
			}
			return a.showClientSecret(oc)
		}),
	}
	g.add(cmd, "secret")
	return cmd
}

func (a *app) clientsDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "delete an OAuth client; its tokens stop working at once",
		Args:  exactArgs("CLIENT_ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			d, err := c.OAuthClients.Delete(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(d)
			}
			a.say("Deleted OAuth client %s.", d.ClientID)
			return nil
		}),
	}
}

package cli

import (
	"context"
	"strconv"

	"github.com/spf13/cobra"

	credvault "github.com/credvault/credvault/sdk/go"
)

func (a *app) webhooksCmd() *cobra.Command {
	return group("webhooks", "create, list, delete and test webhook endpoints",
		a.webhooksCreateCmd(), a.webhooksListCmd(), a.webhooksDeleteCmd(), a.webhooksTestCmd())
}

var webhookHeader = []string{"ID", "URL", "EVENTS", "ENABLED", "DESCRIPTION", "CREATED"}

func webhookRows(ws ...*credvault.Webhook) [][]string {
	rows := make([][]string, 0, len(ws))
	for _, w := range ws {
		enabled := strconv.FormatBool(w.Enabled)
		if !w.Enabled && w.DisabledReason != nil {
			enabled += " (" + *w.DisabledReason + ")"
		}
		rows = append(rows, []string{w.ID, w.URL, fmtList(w.Events), enabled, orDash(w.Description), fmtTimeV(w.CreatedAt)})
	}
	return rows
}

func (a *app) webhooksCreateCmd() *cobra.Command {
	var events []string
	var description string
	var disabled bool
	cmd := &cobra.Command{
		Use:   "create URL",
		Short: "create a webhook endpoint (its signing secret is shown once)",
		Example: `  credvault webhooks create https://hooks.example.com/credvault --event api_key.revoked --event credential.updated
  credvault webhooks create https://hooks.example.com/all --event '*'`,
		Args: exactArgs("URL"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			if len(events) == 0 {
				return usagef("webhooks create: give at least one --event (or --event '*')")
			}
			req := &credvault.CreateWebhookRequest{URL: args[0], Events: events}
			if description != "" {
				req.Description = &description
			}
			if disabled {
				f := false
				req.Enabled = &f
			}
			w, err := c.Webhooks.Create(ctx, req)
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(w)
			}
			if err := a.printFields("ID", w.ID, "URL", w.URL, "Events", fmtList(w.Events),
				"Enabled", strconv.FormatBool(w.Enabled), "Secret", w.Secret); err != nil {
				return err
			}
			a.note("Store the signing secret now: it is not shown again.")
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringSliceVar(&events, "event", nil, "an event type to deliver, repeated or comma separated ('*': every event)")
	f.StringVar(&description, "description", "", "what the endpoint is for")
	f.BoolVar(&disabled, "disabled", false, "create it disabled")
	return cmd
}

func (a *app) webhooksListCmd() *cobra.Command {
	var lf listFlags
	var event string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the tenant's webhook endpoints",
		Args:  noArgs,
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, _ []string) error {
			ws, err := collect(c.Webhooks.List(ctx, &credvault.WebhookListOptions{ListOptions: lf.options(), Event: event}), lf.limit)
			if err != nil {
				return err
			}
			return a.show(ws, webhookHeader, webhookRows(ws...))
		}),
	}
	lf.add(cmd)
	cmd.Flags().StringVar(&event, "event", "", "only endpoints subscribed to this event type")
	return cmd
}

func (a *app) webhooksDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "delete a webhook endpoint; its pending deliveries are dropped",
		Args:  exactArgs("ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			d, err := c.Webhooks.Delete(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(d)
			}
			a.say("Deleted webhook %s.", d.ID)
			return nil
		}),
	}
}

func (a *app) webhooksTestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "test ID",
		Short: "send a webhook.test event to an endpoint and show the delivery",
		Args:  exactArgs("ID"),
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, args []string) error {
			t, err := c.Webhooks.Test(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return a.printJSON(t)
			}
			pairs := []string{"Event", t.EventID, "Delivery", t.DeliveryID}
			if d := t.Delivery; d != nil {
				status := "-"
				if d.ResponseStatus != nil {
					status = strconv.Itoa(*d.ResponseStatus)
				}
				pairs = append(pairs, "Status", d.Status, "Response", status, "Attempt", strconv.Itoa(d.Attempt),
					"Error", fmtStr(d.Error), "Next attempt", fmtTime(d.NextAttemptAt))
			}
			return a.printFields(pairs...)
		}),
	}
}

package cli

import (
	"context"
	"slices"
	"time"

	"github.com/spf13/cobra"

	credvault "github.com/credvault/credvault/sdk/go"
)

func (a *app) auditCmd() *cobra.Command {
	export := &cobra.Command{
		Use:   "export --since TIME [--until TIME] [--format ndjson|csv] [--tenant ID] [--out FILE]",
		Short: "stream the audit trail from the database (a server command: needs the database, not the API)",
		Long: `Stream the audit trail straight from the database, as an operator: the
server's configuration (CREDVAULT_DATABASE_URL or --database-url) and no
API credentials. Flags: --since TIME (required), --until TIME,
--format ndjson|csv, --tenant ID, --out FILE, --actor-id, --actor-type,
--action, --resource-type, --resource-id, --outcome.`,
		DisableFlagParsing: true,
		RunE:               serverStub,
	}
	return group("audit", "read the audit trail: list (over the API) or export (from the database)", a.auditListCmd(), export)
}

var auditHeader = []string{"TIME", "ACTION", "OUTCOME", "ACTOR", "RESOURCE", "IP", "REQUEST"}

func auditRows(entries ...*credvault.AuditLog) [][]string {
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, auditRow(e))
	}
	return rows
}

func auditRow(e *credvault.AuditLog) []string {
	resource := e.ResourceType
	if e.ResourceID != "" {
		resource += " " + e.ResourceID
	}
	return []string{e.OccurredAt.UTC().Format(time.RFC3339), e.Action, e.Outcome, e.ActorType + " " + e.ActorID,
		resource, orDash(e.IP), orDash(e.RequestID)}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) auditListCmd() *cobra.Command {
	var limit int
	var follow bool
	var interval time.Duration
	var since, until string
	f := credvault.AuditListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the tenant's audit trail, newest first; --follow keeps printing new entries",
		Long: `List the audit trail of the tenant, newest first, over the API (scope
audit:read). With --follow, print the latest entries oldest first, then
every new entry as it is recorded, until interrupted; -o json then writes
one JSON object a line (NDJSON).`,
		Example: `  credvault audit list --action credential.read --since 24h
  credvault audit list --follow -o json | jq .action`,
		Args: noArgs,
		RunE: a.withClient(func(ctx context.Context, c *credvault.Client, _ []string) error {
			opts := f
			opts.ListOptions = credvault.ListOptions{Limit: min(max(limit, 1), 200)}
			if since != "" {
				t, err := parseWhen(since)
				if err != nil {
					return err
				}
				opts.Since = &t
			}
			if until != "" {
				t, err := parseWhen(until)
				if err != nil {
					return err
				}
				opts.Until = &t
			}
			if follow {
				if opts.Until != nil {
					return usagef("audit list: --follow and --until exclude each other")
				}
				return a.followAudit(ctx, c, opts, limit, interval)
			}
			entries, err := collect(c.Audit.List(ctx, &opts), limit)
			if err != nil {
				return err
			}
			return a.show(entries, auditHeader, auditRows(entries...))
		}),
	}
	fl := cmd.Flags()
	fl.IntVarP(&limit, "limit", "n", 50, "list at most this many entries (0: all)")
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new entries until interrupted")
	fl.DurationVar(&interval, "interval", 2*time.Second, "with --follow, how often to ask for new entries")
	fl.StringVar(&since, "since", "", "entries at or after this time (RFC 3339, a date, or a duration ago: 15m, 24h, 7d)")
	fl.StringVar(&until, "until", "", "entries before this time")
	fl.StringVar(&f.Action, "action", "", "only this action (e.g. credential.read)")
	fl.StringVar(&f.ActorID, "actor-id", "", "only this actor's entries")
	fl.StringVar(&f.ActorType, "actor-type", "", "only this actor type (user, api_key, oauth_client, service_account, system)")
	fl.StringVar(&f.ResourceType, "resource-type", "", "only this resource type")
	fl.StringVar(&f.ResourceID, "resource-id", "", "only this resource")
	fl.StringVar(&f.Outcome, "outcome", "", "only this outcome (success, failure, denied)")
	return cmd
}

// followAudit prints the latest limit entries oldest first, then polls
// every interval for entries since the newest seen, until ctx ends.
func (a *app) followAudit(ctx context.Context, c *credvault.Client, opts credvault.AuditListOptions, limit int, interval time.Duration) error {
	if interval <= 0 {
		return usagef("audit list: --interval must be positive")
	}
	// seen holds the ids printed at or after the newest instant: a poll
	// since that instant (inclusive) answers them again.
	seen := map[string]time.Time{}
	var newest time.Time
	tw := newRowWriter(a, auditHeader)
	emit := func(batch []*credvault.AuditLog) error {
		tw.fit(auditRows(batch...))
		// The API answers newest first: print oldest first.
		for _, e := range slices.Backward(batch) {
			if _, ok := seen[e.ID]; ok {
				continue
			}
			seen[e.ID] = e.OccurredAt
			if e.OccurredAt.After(newest) {
				newest = e.OccurredAt
			}
			if err := tw.write(e, auditRow(e)); err != nil {
				return err
			}
		}
		return nil
	}
	first, err := collect(c.Audit.List(ctx, &opts), limit)
	if err != nil {
		return ignoreCancel(ctx, err)
	}
	if err := emit(first); err != nil {
		return err
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		next := opts
		if !newest.IsZero() {
			// Since is inclusive: entries of the same instant are told apart by id.
			s := newest
			next.Since = &s
		}
		batch, err := collect(c.Audit.List(ctx, &next), 0)
		if err != nil {
			return ignoreCancel(ctx, err)
		}
		if err := emit(batch); err != nil {
			return err
		}
		// Entries older than the newest instant are never answered again.
		for id, at := range seen {
			if at.Before(newest) {
				delete(seen, id)
			}
		}
	}
}

// ignoreCancel is nil when ctx ended (an interrupted follow succeeds).
func ignoreCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// rowWriter prints rows one at a time as they come: a table line (the
// header first) or, with -o json, one JSON object a line.
type rowWriter struct {
	a      *app
	header []string
	widths []int
	wrote  bool
}

func newRowWriter(a *app, header []string) *rowWriter {
	w := &rowWriter{a: a, header: header, widths: make([]int, len(header))}
	for i, h := range header {
		w.widths[i] = len(h)
	}
	return w
}

// fit widens the columns to rows, before they are written.
func (w *rowWriter) fit(rows [][]string) {
	for _, r := range rows {
		for i, c := range r {
			if i < len(w.widths) {
				w.widths[i] = max(w.widths[i], len(c))
			}
		}
	}
}

func (w *rowWriter) write(v any, row []string) error {
	if w.a.json() {
		return w.a.printCompactJSON(v)
	}
	if !w.wrote {
		w.wrote = true
		if err := w.line(w.header); err != nil {
			return err
		}
	}
	return w.line(row)
}

// line writes cells padded to the widths seen so far (a stream cannot
// align on rows yet to come).
func (w *rowWriter) line(cells []string) error {
	var b []byte
	for i, c := range cells {
		if i > 0 {
			b = append(b, "  "...)
		}
		b = append(b, c...)
		if i < len(cells)-1 {
			w.widths[i] = max(w.widths[i], len(c))
			for n := len(c); n < w.widths[i]; n++ {
				b = append(b, ' ')
			}
		}
	}
	b = append(b, '\n')
	_, err := w.a.stdout.Write(b)
	return err
}

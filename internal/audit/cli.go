package audit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
)

// Command runs `credvault audit export`: an operator's export of the
// trail, read from the database directly (no server, no credentials but
// the database's), with the same streaming code as the API's export. The
// summary goes to stderr; the entries to --out, or to stdout.
func Command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		return errors.New("usage: credvault audit export --since TIME [--until TIME] [--format ndjson|csv] [--tenant ID] [--out FILE] [filters]")
	}
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", "", "the database (default: CREDVAULT_DATABASE_URL, as the server reads it)")
	since := fs.String("since", "", "RFC 3339 time: entries that occurred at or after it (required)")
	until := fs.String("until", "", "RFC 3339 time: entries that occurred before it (default: now)")
	format := fs.String("format", string(NDJSON), "ndjson or csv")
	tenant := fs.String("tenant", "", "only this tenant's entries (default: every tenant's)")
	out := fs.String("out", "", "write to this file, created with mode 0600 (default: standard output)")
	filters := map[string]*string{}
	for _, name := range []string{"actor-id", "actor-type", "action", "resource-type", "resource-id", "outcome"} {
		filters[name] = fs.String(name, "", "only entries whose "+name+" is this value")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit export: unexpected argument %q", fs.Arg(0))
	}
	f, err := ParseFormat(*format)
	if err != nil {
		return err
	}
	where, err := exportWhere(*since, *until, *tenant, filters)
	if err != nil {
		return err
	}
	var cfgArgs []string
	if *dbURL != "" {
		cfgArgs = []string{"-database-url", *dbURL}
	}
	cfg, err := config.Load(cfgArgs, getenv)
	if err != nil {
		return err
	}
	st, err := store.Open(cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx = store.Unrestricted(ctx)
	var n int
	if *out == "" {
		n, err = Export(ctx, st.Client, where, f, stdout)
	} else {
		n, err = exportFile(ctx, st.Client, where, f, *out)
	}
	if err != nil {
		return fmt.Errorf("audit export: %w", err)
	}
	to := *out
	if to == "" {
		to = "standard output"
	}
	fmt.Fprintf(stderr, "exported %d audit entries to %s\n", n, to)
	return nil
}

// exportWhere is the where input of the CLI's flags.
func exportWhere(since, until, tenant string, filters map[string]*string) (*ent.AuditLogWhereInput, error) {
	where := &ent.AuditLogWhereInput{}
	if since == "" {
		return nil, errors.New("audit export: --since is required")
	}
	from, err := time.Parse(time.RFC3339Nano, since)
	if err != nil {
		return nil, fmt.Errorf("audit export: --since must be an RFC 3339 time: %w", err)
	}
	to := time.Now()
	if until != "" {
		if to, err = time.Parse(time.RFC3339Nano, until); err != nil {
			return nil, fmt.Errorf("audit export: --until must be an RFC 3339 time: %w", err)
		}
	}
	if !from.Before(to) {
		return nil, errors.New("audit export: --since must be before --until")
	}
	where.OccurredAtGTE, where.OccurredAtLT = &from, &to
	if tenant != "" {
		id, err := uuid.Parse(tenant)
		if err != nil {
			return nil, errors.New("audit export: --tenant must be a tenant's UUID")
		}
		where.TenantID = &id
	}
	for name, field := range map[string]**string{"actor-id": &where.ActorID, "actor-type": &where.ActorType,
		"action": &where.Action, "resource-type": &where.ResourceType, "resource-id": &where.ResourceID} {
		if v := *filters[name]; v != "" {
			*field = &v
		}
	}
	if v := auditlog.Outcome(*filters["outcome"]); v != "" {
		if err := auditlog.OutcomeValidator(v); err != nil {
			return nil, fmt.Errorf("audit export: --outcome must be success, failure or denied, not %q", v)
		}
		where.Outcome = &v
	}
	return where, nil
}

// exportFile exports to path through a temporary file beside it, renamed
// into place once complete: a failed export leaves no partial file behind.
func exportFile(ctx context.Context, client *ent.Client, where *ent.AuditLogWhereInput, f Format, path string) (n int, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if n, err = Export(ctx, client, where, f, tmp); err != nil {
		return n, err
	}
	if err = tmp.Sync(); err != nil {
		return n, err
	}
	if err = tmp.Close(); err != nil {
		return n, err
	}
	return n, os.Rename(tmp.Name(), path)
}

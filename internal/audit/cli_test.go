package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// seedTrail inserts n entries of tenant, one a second from base, with the
// action "cli.test" or, every fourth, "cli.other".
func seedTrail(t *testing.T, c *ent.Client, tenant uuid.UUID, base time.Time, n int) {
	t.Helper()
	bulk := make([]*ent.AuditLogCreate, n)
	for i := range bulk {
		action := "cli.test"
		if i%4 == 3 {
			action = "cli.other"
		}
		bulk[i] = c.AuditLog.Create().SetTenantID(tenant).SetOccurredAt(base.Add(time.Duration(i) * time.Second)).
			SetActorType("user").SetAction(action).SetOutcome(auditlog.OutcomeSuccess).
			SetResourceID(fmt.Sprintf("r%d", i)).SetDetails(map[string]any{"i": i, "text": "a,b\n\"c\""})
	}
	if err := c.AuditLog.CreateBulk(bulk...).Exec(store.Unrestricted(context.Background())); err != nil {
		t.Fatal(err)
	}
}

// runExport runs `credvault audit export` with args and returns its
// standard output and error.
func runExport(st *store.Store, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := audit.Command(context.Background(), append([]string{"export", "--database-url", st.URL}, args...),
		func(string) string { return "" }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// TestExportCommand runs the operator's export against the database:
// every tenant's entries by default, one tenant's with --tenant, in the
// window and filters given, to stdout or to a private file, and refuses
// bad flags before touching anything.
func TestExportCommand(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
		a, b := newTenant(t, st.Client, "CliA"), newTenant(t, st.Client, "CliB")
		seedTrail(t, st.Client, a, base, 40)
		seedTrail(t, st.Client, b, base.Add(500*time.Millisecond), 20)
		since, until := base.Format(time.RFC3339), base.Add(time.Hour).Format(time.RFC3339)

		// Every tenant, oldest first, as NDJSON on stdout.
		out, summary, err := runExport(st, "--since", since, "--until", until)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != 60 || !strings.Contains(summary, "exported 60 audit entries to standard output") {
			t.Fatalf("%d lines, summary %q", len(lines), summary)
		}
		var prev time.Time
		tenants := map[uuid.UUID]int{}
		for i, l := range lines {
			var v audit.View
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			if v.OccurredAt.Before(prev) {
				t.Fatalf("line %d at %v comes before line %d at %v", i+1, v.OccurredAt, i, prev)
			}
			prev = v.OccurredAt
			tenants[v.TenantID]++
		}
		if tenants[a] != 40 || tenants[b] != 20 {
			t.Errorf("entries by tenant %v", tenants)
		}

		// One tenant, filtered and narrowed, as CSV into a 0600 file.
		path := filepath.Join(t.TempDir(), "a.csv")
		_, summary, err = runExport(st, "--since", since, "--until", base.Add(20*time.Second).Format(time.RFC3339),
			"--tenant", a.String(), "--action", "cli.test", "--format", "csv", "--out", path)
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("the export file: %v, %v", info, err)
		}
		f, _ := os.Open(path)
		defer f.Close()
		records, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// Seconds 0 to 19, less every fourth (cli.other): 15 entries.
		if len(records) != 16 || !slices.Equal(records[0], audit.Columns) || !strings.Contains(summary, "exported 15 audit entries to "+path) {
			t.Fatalf("%d records (header %v), summary %q", len(records), records[0], summary)
		}
		for _, r := range records[1:] {
			if r[1] != a.String() || r[5] != "cli.test" || r[12] != `{"i":`+strings.TrimPrefix(r[7], "r")+`,"text":"a,b\n\"c\""}` {
				t.Errorf("record %v", r)
			}
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Errorf("the export left %d files behind, want only its own", len(entries))
		}

		// Refused before anything is written.
		missing := filepath.Join(t.TempDir(), "none", "x.ndjson")
		for _, args := range [][]string{
			{"--until", until},
			{"--since", "yesterday"},
			{"--since", until, "--until", since},
			{"--since", since, "--format", "xml"},
			{"--since", since, "--tenant", "acme"},
			{"--since", since, "--outcome", "maybe"},
			{"--since", since, "extra"},
			{"--since", since, "--out", missing},
		} {
			out, _, err := runExport(st, args...)
			if err == nil || out != "" {
				t.Errorf("export %v: %v, %d bytes out; want an error and nothing", args, err, len(out))
			}
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Errorf("a failed export left %s: %v", missing, err)
		}
		var stdout, stderr bytes.Buffer
		if err := audit.Command(context.Background(), []string{"import"}, func(string) string { return "" }, &stdout, &stderr); err == nil {
			t.Error("credvault audit import: no error")
		}
	})
}

package apitest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/server"
)

// TestAuditFileHoldsEveryEntry writes entries every way the server writes
// them (in a mutation's transaction, batched refusals, group-committed
// decrypts, a transaction rolled back) with CREDVAULT_AUDIT_FILE set: the
// file holds exactly the database's entries, each line equal to its row.
func TestAuditFileHoldsEveryEntry(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		path := filepath.Join(t.TempDir(), "audit.ndjson")
		e := apitest.New(t, st, func(c *config.Config) { c.AuditFile = path })
		a := register(t, e, "Sink")
		k := a.key(t, "api_keys:read")
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/audit-logs", k.Key, nil), http.StatusForbidden, "FORBIDDEN")
		wantOK(t, do(e, http.MethodPost, "/api/v1/credentials", a.AccessToken, map[string]any{"integration_id": "github",
			"auth_type": "bearer_token", "data": map[string]any{"token": "sink-secret"}}), http.StatusCreated, nil)
		wantOK(t, do(e, http.MethodGet, "/api/v1/credentials/github", a.AccessToken, nil), http.StatusOK, nil)
		record := func(action string, fail error) {
			err := store.WithTx(context.Background(), st.Client, func(ctx context.Context, tx *ent.Client) error {
				if err := audit.Record(ctx, tx, audit.Entry{Action: action, TenantID: a.TenantID}); err != nil {
					return err
				}
				return fail
			})
			if !errors.Is(err, fail) {
				t.Fatalf("%s: %v", action, err)
			}
		}
		rollback := errors.New("rolled back")
		record("sink.rolled_back", rollback)
		record("sink.committed", nil)
		e.Flush()

		rows, err := st.Client.AuditLog.Query().All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		want := map[uuid.UUID][32]byte{}
		actions := map[string]bool{}
		for _, r := range rows {
			want[r.ID] = viewDigest(audit.NewView(r))
			actions[r.Action] = true
		}
		for _, action := range []string{"auth.register", "api_key.create", "permission.denied", "credential.decrypt", "sink.committed"} {
			if !actions[action] {
				t.Errorf("no %s entry in the database: the test does not write what it means to (%v)", action, actions)
			}
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if info, _ := f.Stat(); info.Mode().Perm() != 0o600 {
			t.Errorf("the audit file's mode is %v, want 0600", info.Mode().Perm())
		}
		lines := 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines++
			var v audit.View
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("line %d: %v", lines, err)
			}
			if v.Action == "sink.rolled_back" {
				t.Errorf("line %d is the rolled back entry", lines)
			}
			if d, ok := want[v.ID]; !ok || d != viewDigest(&v) {
				t.Errorf("line %d (%s %s): in the database %v, but not equal to its row", lines, v.Action, v.ID, ok)
			}
		}
		if lines != len(rows) {
			t.Errorf("the file has %d lines, the database %d entries", lines, len(rows))
		}

		// A file that cannot be opened stops the start-up, naming the setting.
		cfg := apitest.Config(t, func(c *config.Config) { c.AuditFile = filepath.Join(t.TempDir(), "missing", "audit.ndjson") })
		if _, err := server.New(context.Background(), cfg, st, server.Keys{Master: newMaster(t)}, slog.New(slog.DiscardHandler)); err == nil ||
			!strings.Contains(err.Error(), "CREDVAULT_AUDIT_FILE") {
			t.Errorf("a server with an audit file in a missing directory: %v", err)
		}
	})
}

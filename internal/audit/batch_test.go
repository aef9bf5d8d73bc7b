package audit_test

// The audit batcher on SQLite and PostgreSQL: entries wait in memory until a
// flush, identical tallied entries merge into one row with their count,
// added ones keep a row each, and a flush never loses one tenant's entries
// because of another's.

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func byAction(t *testing.T, c *ent.Client, tid uuid.UUID, action string) []*ent.AuditLog {
	t.Helper()
	es, err := c.AuditLog.Query().Where(auditlog.TenantID(tid), auditlog.Action(action)).All(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestBatcherTallyMergesAndAddKeepsRows(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		b := newTenant(t, c, "B")
		keyID := uuid.New()
		actor := &access.Principal{Kind: access.KindUser, ID: uuid.New(), TenantID: a, HomeTenantID: a, Scopes: access.NewSet(access.APIKeysRead)}
		ctx := reqinfo.NewContext(access.NewContext(context.Background(), actor),
			&reqinfo.Info{RequestID: "req-1", IP: "192.0.2.7", UserAgent: "test"})
		bt := audit.NewBatcher(c, quiet)

		for range 3 {
			bt.Tally(ctx, audit.Entry{Action: "api_key.validate", ResourceType: "api_key", ResourceID: keyID.String(),
				Details: map[string]any{"reason": "", "api_key": "cvk_secret"}})
		}
		bt.Tally(ctx, audit.Entry{Action: "api_key.validate", ResourceType: "api_key", ResourceID: keyID.String(),
			Outcome: audit.Failure, Details: map[string]any{"reason": "revoked"}})
		bt.Add(ctx, audit.Entry{Action: "permission.denied", Outcome: audit.Denied})
		bt.Add(ctx, audit.Entry{Action: "permission.denied", Outcome: audit.Denied})
		// Another tenant named explicitly; and one with no tenant at all, dropped.
		bt.Tally(ctx, audit.Entry{Action: "api_key.verify", TenantID: b, Outcome: audit.Failure})
		bt.Tally(context.Background(), audit.Entry{Action: "orphan"})

		if es := byAction(t, c, a, "api_key.validate"); len(es) != 0 {
			t.Fatalf("%d entries written before the flush", len(es))
		}
		if err := bt.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}

		counts := map[string]float64{}
		for _, e := range byAction(t, c, a, "api_key.validate") {
			counts[string(e.Outcome)] = e.Details["count"].(float64)
			if e.ActorID != actor.ID.String() || e.RequestID != "req-1" || e.IP != "192.0.2.7" || e.ResourceID != keyID.String() {
				t.Errorf("tallied entry = %+v", e)
			}
			if _, ok := e.Details["api_key"]; ok {
				t.Error("a secret detail was stored")
			}
			if e.Details["last_seen_at"] == nil {
				t.Error("a tallied entry without last_seen_at")
			}
		}
		if len(counts) != 2 || counts["success"] != 3 || counts["failure"] != 1 {
			t.Fatalf("tallied counts by outcome = %v, want success 3 and failure 1", counts)
		}
		denied := byAction(t, c, a, "permission.denied")
		if len(denied) != 2 || denied[0].Details["count"] != nil {
			t.Fatalf("added entries = %d (count %v), want 2 rows of their own", len(denied), denied)
		}
		if es := byAction(t, c, b, "api_key.verify"); len(es) != 1 || es[0].ActorID != actor.ID.String() {
			t.Fatalf("entry for the named tenant = %+v", es)
		}
		n, err := c.AuditLog.Query().Where(auditlog.Action("orphan")).Count(store.Unrestricted(context.Background()))
		if err != nil || n != 0 {
			t.Fatalf("%d entries without a tenant written (%v)", n, err)
		}
		// Flushed once: a second flush writes nothing more.
		if err := bt.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if es := byAction(t, c, a, "api_key.validate"); len(es) != 2 {
			t.Fatalf("%d rows after a second flush, want still 2", len(es))
		}
	})
}

// TestBatcherFlushKeepsEntriesWhenAnotherTenantIsGone: refusals of a
// deleted tenant's key are tallied in that tenant; when the purge removes
// the tenant before the flush, the other tenants' entries in the same batch
// must still be written.
func TestBatcherFlushKeepsEntriesWhenAnotherTenantIsGone(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		gone := uuid.New() // purged: no such tenant any more
		ctx := access.NewContext(context.Background(), access.System(a))
		bt := audit.NewBatcher(c, quiet)
		bt.Add(ctx, audit.Entry{Action: "kept.entry"})
		bt.Tally(context.Background(), audit.Entry{Action: "api_key.verify", TenantID: gone, Outcome: audit.Failure})
		err := bt.Flush(context.Background())
		kept := byAction(t, c, a, "kept.entry")
		if len(kept) != 1 {
			t.Fatalf("%d entries of tenant A written (flush error: %v), want 1", len(kept), err)
		}
	})
}

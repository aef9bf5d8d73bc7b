package audit_test

// The audit batcher on SQLite and PostgreSQL: entries wait in memory until a
// flush, identical tallied entries merge into one row with their count,
// added ones keep a row each, a flush never loses one tenant's entries
// because of another's, an entry leaves the queue only once written, and a
// full queue fails Add closed.

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/metrics"
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
		mustAdd(t, bt, ctx, audit.Entry{Action: "permission.denied", Outcome: audit.Denied})
		mustAdd(t, bt, ctx, audit.Entry{Action: "permission.denied", Outcome: audit.Denied})
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
// must still be written, and only the purged tenant's are dropped, counted.
func TestBatcherFlushKeepsEntriesWhenAnotherTenantIsGone(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		gone := uuid.New() // purged: no such tenant any more
		ctx := access.NewContext(context.Background(), access.System(a))
		bt := audit.NewBatcher(c, quiet)
		m := metrics.New()
		bt.Instrument(m)
		for range 5 {
			mustAdd(t, bt, ctx, audit.Entry{Action: "kept.entry"})
		}
		bt.Tally(context.Background(), audit.Entry{Action: "api_key.verify", TenantID: gone, Outcome: audit.Failure})
		bt.Tally(context.Background(), audit.Entry{Action: "api_key.verify", TenantID: gone, Outcome: audit.Failure})
		mustAdd(t, bt, ctx, audit.Entry{Action: "permission.denied", TenantID: gone})
		if err := bt.Flush(context.Background()); err != nil {
			t.Fatalf("flush with a purged tenant's entries: %v", err)
		}
		if kept := byAction(t, c, a, "kept.entry"); len(kept) != 5 {
			t.Fatalf("%d entries of tenant A written, want 5", len(kept))
		}
		if n := counted(t, m.BatchDropped.WithLabelValues("audit")); n != 3 {
			t.Fatalf("credvault_batch_dropped_total{kind=audit} = %v, want 3 (the purged tenant's entries)", n)
		}
		if n := bt.Queued(); n != 0 {
			t.Fatalf("%d entries still queued after the flush", n)
		}
	})
}

// counted reads a counter.
func counted(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func mustAdd(t *testing.T, bt *audit.Batcher, ctx context.Context, e audit.Entry) {
	t.Helper()
	if err := bt.Add(ctx, e); err != nil {
		t.Fatal(err)
	}
}

// TestBatcherKeepsEntriesUntilTheirWriteCommits: while the database refuses
// the inserts, a flush fails and keeps every entry (more than one
// statement's worth, and tallies still merging); Run retries with backoff,
// counted, and once the database accepts them again every entry is written
// exactly once.
func TestBatcherKeepsEntriesUntilTheirWriteCommits(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		refusal := storetest.RefuseInserts(t, st, "audit_logs")
		ctx := access.NewContext(context.Background(), access.System(a))
		bt := audit.NewBatcher(c, quiet)
		m := metrics.New()
		bt.Instrument(m)
		const added = 1200 // more than two statements' worth
		for range added {
			mustAdd(t, bt, ctx, audit.Entry{Action: "kept.entry"})
		}
		for range 5 {
			bt.Tally(ctx, audit.Entry{Action: "kept.tally"})
		}
		refusal.On()
		if err := bt.Flush(context.Background()); err == nil {
			t.Fatal("a flush the database refused returned no error")
		}
		if n := bt.Queued(); n != added+1 {
			t.Fatalf("%d entries queued after a failed flush, want %d", n, added+1)
		}
		bt.Tally(ctx, audit.Entry{Action: "kept.tally"})
		bt.Tally(ctx, audit.Entry{Action: "kept.tally"})

		runCtx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { bt.Run(runCtx, 20*time.Millisecond); close(done) }()
		defer func() { stop(); <-done }()
		retries := func() float64 { return counted(t, m.BatchRetries.WithLabelValues("audit")) }
		for deadline := time.Now().Add(10 * time.Second); retries() < 2; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%v retries within 10 s, want 2", retries())
			}
		}
		if es := byAction(t, c, a, "kept.entry"); len(es) != 0 {
			t.Fatalf("%d entries written while the database refused them", len(es))
		}
		refusal.Off()
		for deadline := time.Now().Add(10 * time.Second); bt.Queued() > 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d entries still queued 10 s after the database came back", bt.Queued())
			}
		}
		if es := byAction(t, c, a, "kept.entry"); len(es) != added {
			t.Fatalf("%d entries written, want %d", len(es), added)
		}
		tally := byAction(t, c, a, "kept.tally")
		if len(tally) != 1 || tally[0].Details["count"] != float64(7) {
			t.Fatalf("tallied rows = %d (%v), want one counting 7", len(tally), tally)
		}
		if n := counted(t, m.BatchDropped.WithLabelValues("audit")); n != 0 {
			t.Fatalf("%v entries dropped, want none", n)
		}
	})
}

// TestBatcherFullQueueWaitsThenFailsClosed: with the queue full, Add waits
// for a flush to make room and fails with 503 when none does within its
// bound; a tally merging with a queued entry still counts, a new one is
// dropped and counted.
func TestBatcherFullQueueWaitsThenFailsClosed(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		ctx := access.NewContext(context.Background(), access.System(a))
		bt := audit.NewBatcher(c, quiet)
		m := metrics.New()
		bt.Instrument(m)
		audit.SetMaxQueued(bt, 3)
		mustAdd(t, bt, ctx, audit.Entry{Action: "queued.entry"})
		mustAdd(t, bt, ctx, audit.Entry{Action: "queued.entry"})
		bt.Tally(ctx, audit.Entry{Action: "queued.tally"})

		start := time.Now()
		err := bt.Add(ctx, audit.Entry{Action: "queued.entry"})
		if !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("Add to a full queue = %v, want SERVICE_UNAVAILABLE", err)
		}
		if waited := time.Since(start); waited < 900*time.Millisecond {
			t.Fatalf("Add to a full queue failed after %v, want it to wait about a second first", waited)
		}
		bt.Tally(ctx, audit.Entry{Action: "queued.tally"})
		bt.Tally(ctx, audit.Entry{Action: "other.tally"})
		if n := counted(t, m.BatchDropped.WithLabelValues("audit")); n != 1 {
			t.Fatalf("dropped = %v, want 1 (the new tally)", n)
		}

		// A flush while Add waits makes room: the Add succeeds.
		go func() {
			time.Sleep(200 * time.Millisecond)
			if err := bt.Flush(context.Background()); err != nil {
				t.Error(err)
			}
		}()
		mustAdd(t, bt, ctx, audit.Entry{Action: "queued.entry"})
		if err := bt.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if es := byAction(t, c, a, "queued.entry"); len(es) != 3 {
			t.Fatalf("%d entries written, want 3 (the one refused is not)", len(es))
		}
		if es := byAction(t, c, a, "queued.tally"); len(es) != 1 || es[0].Details["count"] != float64(2) {
			t.Fatalf("tallied rows = %v, want one counting 2", es)
		}
	})
}

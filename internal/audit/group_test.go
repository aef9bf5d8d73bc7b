package audit_test

// The group commit on SQLite and PostgreSQL: concurrent writers' entries
// share statements and each returns once its own has committed; a writer
// whose entry cannot commit gets an error (and never before a retry had its
// chance), and a row refused on its own fails alone.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// TestCommitterGroupsConcurrentEntries: while the first insert is held,
// the other concurrent writers queue behind it, and then share one insert.
func TestCommitterGroupsConcurrentEntries(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		statements := storetest.CountStatements(st)
		c := st.Client
		a := newTenant(t, c, "A")
		ctx := access.NewContext(context.Background(), access.System(a))
		gc := audit.NewCommitter(c, quiet)
		release := statements.HoldNext(isAuditInsert)
		defer release()
		const n = 32
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				errs[i] = gc.Write(ctx, audit.Entry{Action: "credential.decrypt", ResourceID: uuid.NewString()})
			})
		}
		deadline := time.Now().Add(audit.CommitWait / 2)
		for gc.Queued() != n && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if q := gc.Queued(); q != n {
			t.Fatalf("%d entries queued or held, want %d", q, n)
		}
		release()
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		if es := byAction(t, c, a, "credential.decrypt"); len(es) != n {
			t.Fatalf("%d entries, want %d", len(es), n)
		}
		inserts := 0
		_, all := statements.Of("")
		for _, s := range all {
			if isAuditInsert(s) {
				inserts++
			}
		}
		if inserts != 2 {
			t.Fatalf("%d concurrent entries took %d inserts, want 2 (the held one, then the others together)", n, inserts)
		}
	})
}

func isAuditInsert(sql string) bool {
	return strings.HasPrefix(sql, "INSERT INTO") && strings.Contains(sql, "audit_logs")
}

func TestCommitterFailsClosedAndRetries(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		refusal := storetest.RefuseInserts(t, st, "audit_logs")
		ctx := access.NewContext(context.Background(), access.System(a))
		gc := audit.NewCommitter(c, quiet)
		m := metrics.New()
		gc.Instrument(m)

		// Refused until the caller's deadline: an error, and no entry.
		refusal.On()
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := gc.Write(short, audit.Entry{Action: "refused.entry"})
		if !apperr.Is(err, apperr.Unavailable) {
			t.Fatalf("write the database refuses = %v, want SERVICE_UNAVAILABLE", err)
		}
		if waited := time.Since(start); waited < 400*time.Millisecond {
			t.Fatalf("gave up after %v, before its deadline", waited)
		}
		if counted(t, m.BatchRetries.WithLabelValues("audit_commit")) < 1 {
			t.Fatal("no retry counted")
		}

		// Refused for a moment: retried, and written once.
		done := make(chan error, 1)
		go func() { done <- gc.Write(ctx, audit.Entry{Action: "retried.entry"}) }()
		time.Sleep(300 * time.Millisecond)
		refusal.Off()
		if err := <-done; err != nil {
			t.Fatalf("write retried after the refusal ended: %v", err)
		}
		if es := byAction(t, c, a, "retried.entry"); len(es) != 1 {
			t.Fatalf("%d retried entries, want 1", len(es))
		}

		// A purged tenant's entry fails alone; the others written with it land.
		gone := uuid.New()
		var wg sync.WaitGroup
		var goneErr error
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = gc.Write(ctx, audit.Entry{Action: "kept.entry"}) })
		}
		wg.Go(func() { goneErr = gc.Write(ctx, audit.Entry{Action: "gone.entry", TenantID: gone}) })
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("an entry written with a purged tenant's: %v", err)
			}
		}
		if goneErr == nil {
			t.Fatal("a purged tenant's entry was reported written")
		}
		if es := byAction(t, c, a, "kept.entry"); len(es) != len(errs) {
			t.Fatalf("%d entries of tenant A, want %d", len(es), len(errs))
		}
	})
}

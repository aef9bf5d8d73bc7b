package audit_test

// The group commit on SQLite and PostgreSQL: concurrent writers' entries
// share statements and each returns once its own has committed; a writer
// whose entry cannot commit gets an error (and never before a retry had its
// chance), and a row refused on its own fails alone.

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// TestCommitterGroupsConcurrentEntries: while the two groups being written
// are held, the other concurrent writers queue behind them, and then share
// one insert.
func TestCommitterGroupsConcurrentEntries(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		statements := storetest.CountStatements(st)
		c := st.Client
		a := newTenant(t, c, "A")
		ctx := access.NewContext(context.Background(), access.System(a))
		gc := audit.NewCommitter(c, st.Dialect, quiet)
		const n = 32
		var wg sync.WaitGroup
		errs := make([]error, n)
		write := func(i int) {
			wg.Go(func() {
				errs[i] = gc.Write(ctx, audit.Entry{Action: "credential.decrypt", ResourceID: uuid.NewString()})
			})
		}
		release := statements.HoldNext(isAuditInsert)
		defer release()
		write(0)
		waitFor(t, "the first group's insert", func() bool { return auditInserts(statements) == 1 })
		// The second group's insert is held too; on SQLite it waits for the
		// first group's transaction before it gets there.
		releaseSecond := statements.HoldNext(isAuditInsert)
		defer releaseSecond()
		write(1)
		if st.Dialect == dialect.Postgres {
			waitFor(t, "the second group's insert", func() bool { return auditInserts(statements) == 2 })
		}
		for i := 2; i < n; i++ {
			write(i)
		}
		waitFor(t, "every entry queued or held", func() bool { return gc.Queued() == n })
		release()
		releaseSecond()
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		if es := byAction(t, c, a, "credential.decrypt"); len(es) != n {
			t.Fatalf("%d entries, want %d", len(es), n)
		}
		if inserts := auditInserts(statements); inserts > 3 {
			t.Fatalf("%d concurrent entries took %d inserts, want at most 3 (the two held groups, then the others together)", n, inserts)
		}
		// On PostgreSQL an INSERT commits by itself: a transaction around
		// it would cost a BEGIN and a COMMIT round trip per group.
		if _, all := statements.Of(""); st.Dialect == dialect.Postgres && slices.Contains(all, "COMMIT") {
			t.Fatal("a group's INSERT ran in a transaction of its own on PostgreSQL")
		}
	})
}

// TestCommitterWritesWhileAGroupCommits: on PostgreSQL an entry arriving
// while a group commits is written without waiting for it; on SQLite, one
// writer at a time, right after it.
func TestCommitterWritesWhileAGroupCommits(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		statements := storetest.CountStatements(st)
		c := st.Client
		a := newTenant(t, c, "A")
		ctx := access.NewContext(context.Background(), access.System(a))
		gc := audit.NewCommitter(c, st.Dialect, quiet)
		release := statements.HoldNext(isAuditInsert)
		defer release()
		first := make(chan error, 1)
		go func() { first <- gc.Write(ctx, audit.Entry{Action: "held.entry"}) }()
		waitFor(t, "the first group's insert", func() bool { return auditInserts(statements) == 1 })
		second := make(chan error, 1)
		go func() { second <- gc.Write(ctx, audit.Entry{Action: "next.entry"}) }()
		select {
		case err := <-second:
			if st.Dialect != dialect.Postgres {
				t.Fatalf("on SQLite an entry committed (%v) inside another group's open transaction", err)
			}
			if err != nil {
				t.Fatalf("entry written beside a held group: %v", err)
			}
		case <-time.After(time.Second):
			if st.Dialect == dialect.Postgres {
				t.Fatal("an entry waited for the group before it to commit")
			}
		}
		release()
		if err := <-first; err != nil {
			t.Fatalf("held entry: %v", err)
		}
		if st.Dialect != dialect.Postgres {
			if err := <-second; err != nil {
				t.Fatalf("entry after the held group: %v", err)
			}
		}
		for _, action := range []string{"held.entry", "next.entry"} {
			if es := byAction(t, c, a, action); len(es) != 1 {
				t.Fatalf("%d %s entries, want 1", len(es), action)
			}
		}
	})
}

func auditInserts(statements *storetest.Statements) int {
	inserts := 0
	_, all := statements.Of("")
	for _, s := range all {
		if isAuditInsert(s) {
			inserts++
		}
	}
	return inserts
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(audit.CommitWait / 2)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
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
		gc := audit.NewCommitter(c, st.Dialect, quiet)
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

package jobs

// Periodic jobs on SQLite and PostgreSQL: two queues (two instances, each
// with a pool of its own) on one database enqueue one run per period,
// thanks to the run's unique dedupe key, and neither reports an error when
// the other got there first.

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// lockedBuffer is a log sink safe for the workers' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// twoInstances opens two stores on one fresh database of backend, migrated once.
func twoInstances(t *testing.T, backend string) (a, b *store.Store) {
	t.Helper()
	u := storetest.URL(t, backend)
	open := func() *store.Store {
		st, err := store.Open(u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a = open()
	if err := a.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a, open()
}

// periodicQueue returns a queue whose errors are written to logs.
func periodicQueue(st *store.Store, logs *lockedBuffer, name string, every time.Duration, h Handler) *Queue {
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q := New(st.Client, st.Dialect, Options{Workers: 1, Poll: 10 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Hour }}, logger)
	q.Register(name, h)
	q.Every(name, every)
	return q
}

// lastPeriod is the period q last enqueued (or saw enqueued) for its first periodic job.
func lastPeriod(q *Queue) time.Time {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.periodic[0].last
}

// clearOfBoundary waits, when the next multiple of every is less than
// margin away, until it has passed, so that the calls that follow fall in
// one period.
func clearOfBoundary(every, margin time.Duration) {
	now := store.Now()
	if next := now.Truncate(every).Add(every); next.Sub(now) < margin {
		time.Sleep(next.Sub(now) + 20*time.Millisecond)
	}
}

func periodicRows(t *testing.T, st *store.Store, name string) []*ent.Job {
	t.Helper()
	rows, err := st.Client.Job.Query().Where(job.Name(name)).Order(ent.Asc(job.FieldRunAt)).All(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestEveryEnqueuesOneRunPerPeriodAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a, b := twoInstances(t, backend)
			var logs lockedBuffer
			noop := func(context.Context, *ent.Job) error { return nil }
			const every = time.Second
			qa := periodicQueue(a, &logs, "tick", every, noop)
			qb := periodicQueue(b, &logs, "tick", every, noop)
			ctx := context.Background()

			clearOfBoundary(every, 500*time.Millisecond)
			first := store.Now().Truncate(every)
			qa.enqueueDue(ctx)
			qb.enqueueDue(ctx)
			qa.enqueueDue(ctx) // again within the period: nothing new
			qb.enqueueDue(ctx)
			rows := periodicRows(t, a, "tick")
			if len(rows) != 1 {
				t.Fatalf("%d runs enqueued for one period by two instances, want 1", len(rows))
			}
			wantKey := "tick@" + first.Format(time.RFC3339)
			if rows[0].DedupeKey == nil || *rows[0].DedupeKey != wantKey || !rows[0].RunAt.Equal(first) ||
				rows[0].Status != job.StatusPending {
				t.Fatalf("periodic run: dedupe key %v run_at %v status %s, want %s at %v pending",
					rows[0].DedupeKey, rows[0].RunAt, rows[0].Status, wantKey, first)
			}
			// The instance that lost the race knows the period is taken care of.
			if !lastPeriod(qa).Equal(first) || !lastPeriod(qb).Equal(first) {
				t.Fatalf("last periods %v and %v, want %v", lastPeriod(qa), lastPeriod(qb), first)
			}

			// The next period gets one run of its own.
			deadline := time.Now().Add(2 * every)
			for !store.Now().Truncate(every).After(first) {
				if time.Now().After(deadline) {
					t.Fatal("the next period never came")
				}
				time.Sleep(20 * time.Millisecond)
			}
			second := store.Now().Truncate(every)
			qb.enqueueDue(ctx)
			qa.enqueueDue(ctx)
			rows = periodicRows(t, a, "tick")
			if len(rows) != 2 || !rows[1].RunAt.Equal(second) || *rows[1].DedupeKey != "tick@"+second.Format(time.RFC3339) {
				t.Fatalf("after the second period: %d runs (want 2, the second at %v)", len(rows), second)
			}
			if logs.String() != "" {
				t.Errorf("scheduling logged problems:\n%s", logs.String())
			}
		})
	}
}

// TestPeriodicRunRunsOnceWithTwoRunningQueues lets both queues' schedulers
// and workers run: the period's run is enqueued once and handled once.
func TestPeriodicRunRunsOnceWithTwoRunningQueues(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			a, b := twoInstances(t, backend)
			var logs lockedBuffer
			var calls atomic.Int32
			count := func(context.Context, *ent.Job) error { calls.Add(1); return nil }
			const every = time.Hour
			clearOfBoundary(every, 5*time.Second)
			period := store.Now().Truncate(every)
			qa := periodicQueue(a, &logs, "sweep", every, count)
			qb := periodicQueue(b, &logs, "sweep", every, count)

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { qa.Run(ctx) })
			wg.Go(func() { qb.Run(ctx) })
			defer func() { cancel(); wg.Wait() }()

			deadline := time.Now().Add(20 * time.Second)
			for {
				rows := periodicRows(t, a, "sweep")
				done := len(rows) == 1 && rows[0].Status == job.StatusCompleted
				if done && lastPeriod(qa).Equal(period) && lastPeriod(qb).Equal(period) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the period's run did not complete with both schedulers done: %d rows, last periods %v %v",
						len(rows), lastPeriod(qa), lastPeriod(qb))
				}
				time.Sleep(10 * time.Millisecond)
			}
			// Give both workers every chance to pick up a duplicate, then stop.
			for _, q := range []*Queue{qa, qb} {
				if ran, err := q.RunOne(context.Background()); ran || err != nil {
					t.Fatalf("RunOne after the period's run: ran %v err %v", ran, err)
				}
			}
			cancel()
			wg.Wait()
			rows := periodicRows(t, a, "sweep")
			if len(rows) != 1 {
				t.Fatalf("%d runs in one period, want 1", len(rows))
			}
			if rows[0].Attempts != 1 {
				t.Fatalf("the period's run took %d attempts, want 1", rows[0].Attempts)
			}
			if calls.Load() != 1 {
				t.Fatalf("the periodic handler ran %d times in one period, want 1", calls.Load())
			}
			if logs.String() != "" {
				t.Errorf("queues logged problems:\n%s", logs.String())
			}
		})
	}
}

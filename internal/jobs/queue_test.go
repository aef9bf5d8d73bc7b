package jobs_test

// The durable job queue on SQLite and PostgreSQL: enqueue and claim,
// retries with backoff until max_attempts, panics, expired leases
// (at-least-once), exact stats and depths, and two queues on one database
// never running a job twice.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func bg() context.Context { return store.Unrestricted(context.Background()) }

// hourBackoff waits n hours before retry n: far enough that a retry is
// never due by itself during a test, and easy to see in run_at.
func hourBackoff(n int) time.Duration { return time.Duration(n) * time.Hour }

func newQueue(st *store.Store, opts jobs.Options) *jobs.Queue {
	if opts.Backoff == nil {
		opts.Backoff = hourBackoff
	}
	return jobs.New(st.Client, st.Dialect, opts, quiet)
}

func getJob(t *testing.T, st *store.Store, id uuid.UUID) *ent.Job {
	t.Helper()
	j, err := st.Client.Job.Get(bg(), id)
	if err != nil {
		t.Fatalf("load job %s: %v", id, err)
	}
	return j
}

func runOne(t *testing.T, q *jobs.Queue, wantRan bool) {
	t.Helper()
	ran, err := q.RunOne(context.Background())
	if err != nil {
		t.Fatalf("RunOne: %v", err)
	}
	if ran != wantRan {
		t.Fatalf("RunOne ran = %v, want %v", ran, wantRan)
	}
}

// eventually polls cond every 10 ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, within, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEnqueueRunsAndCompletes(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		q := newQueue(st, jobs.Options{})
		var got map[string]any
		q.Register("echo", func(_ context.Context, j *ent.Job) error { got = j.Args; return nil })
		q.Register("other", func(context.Context, *ent.Job) error { return nil })
		if names := q.Names(); strings.Join(names, ",") != "echo,other" {
			t.Fatalf("Names = %v", names)
		}

		// An unknown name is a 422 naming job_name.
		_, err := q.Enqueue(bg(), st.Client, "nope", nil)
		if e, ok := apperr.Known(err); !ok || e.Code != apperr.Validation || e.Details["field"] != "job_name" {
			t.Fatalf("Enqueue(unknown) = %v, want VALIDATION_ERROR on job_name", err)
		}
		if n, _ := st.Client.Job.Query().Count(bg()); n != 0 {
			t.Fatalf("%d job rows after a refused enqueue", n)
		}

		runOne(t, q, false) // nothing due
		j, err := q.Enqueue(bg(), st.Client, "echo", map[string]any{"tenant_id": "t1"})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != job.StatusPending || j.Attempts != 0 || j.MaxAttempts != 5 {
			t.Fatalf("enqueued job: status %s attempts %d max %d", j.Status, j.Attempts, j.MaxAttempts)
		}
		runOne(t, q, true)
		if got["tenant_id"] != "t1" {
			t.Fatalf("handler saw args %v", got)
		}
		j = getJob(t, st, j.ID)
		if j.Status != job.StatusCompleted || j.Attempts != 1 || j.FinishedAt == nil || j.StartedAt == nil ||
			j.LockedUntil != nil || j.LockedBy != "" || j.LastError != "" {
			t.Fatalf("completed job = %+v", j)
		}
		runOne(t, q, false) // a completed job is not claimed again

		// A queue claims only the jobs it has handlers for.
		other := newQueue(st, jobs.Options{})
		other.Register("other", func(context.Context, *ent.Job) error { return nil })
		if _, err := q.Enqueue(bg(), st.Client, "echo", nil); err != nil {
			t.Fatal(err)
		}
		runOne(t, other, false)
		runOne(t, q, true)
	})
}

func TestEnqueueJoinsTheCallersTransaction(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		q := newQueue(st, jobs.Options{})
		q.Register("x", func(context.Context, *ent.Job) error { return nil })
		abort := errors.New("abort")
		err := store.WithTx(bg(), st.Client, func(ctx context.Context, tx *ent.Client) error {
			if _, err := q.Enqueue(ctx, tx, "x", nil); err != nil {
				return err
			}
			return abort
		})
		if !errors.Is(err, abort) {
			t.Fatalf("WithTx = %v", err)
		}
		if n, _ := st.Client.Job.Query().Count(bg()); n != 0 {
			t.Fatalf("a job enqueued in a rolled-back transaction survived (%d rows)", n)
		}
	})
}

func TestFailingJobRetriesWithBackoffThenFails(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		q := newQueue(st, jobs.Options{Backoff: hourBackoff})
		var calls atomic.Int32
		q.Register("flaky", func(context.Context, *ent.Job) error {
			return fmt.Errorf("upstream said no #%d", calls.Add(1))
		})
		j, err := q.Enqueue(bg(), st.Client, "flaky", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Client.Job.UpdateOneID(j.ID).SetMaxAttempts(3).Exec(bg()); err != nil {
			t.Fatal(err)
		}

		for attempt := 1; attempt <= 2; attempt++ {
			before := store.Now()
			runOne(t, q, true)
			after := store.Now()
			j = getJob(t, st, j.ID)
			if j.Status != job.StatusRetrying || j.Attempts != attempt {
				t.Fatalf("after attempt %d: status %s attempts %d, want retrying %d", attempt, j.Status, j.Attempts, attempt)
			}
			// run_at moved by the backoff of this attempt.
			lo, hi := before.Add(hourBackoff(attempt)), after.Add(hourBackoff(attempt))
			if j.RunAt.Before(lo) || j.RunAt.After(hi) {
				t.Fatalf("after attempt %d: run_at %v, want within [%v, %v]", attempt, j.RunAt, lo, hi)
			}
			if !strings.Contains(j.LastError, "upstream said no") || j.FinishedAt != nil || j.LockedBy != "" || j.LockedUntil != nil {
				t.Fatalf("after attempt %d: last_error %q finished %v locked_by %q until %v",
					attempt, j.LastError, j.FinishedAt, j.LockedBy, j.LockedUntil)
			}
			// Not due until the backoff has passed.
			runOne(t, q, false)
			st2, err := q.Stats(bg(), "flaky")
			if err != nil {
				t.Fatal(err)
			}
			if st2.Retrying != 1 || st2.Pending+st2.Running+st2.Completed+st2.Failed != 0 {
				t.Fatalf("stats while retrying: %+v", st2)
			}
			// Pretend the backoff has passed.
			if err := st.Client.Job.UpdateOneID(j.ID).SetRunAt(store.Now().Add(-time.Second)).Exec(bg()); err != nil {
				t.Fatal(err)
			}
		}

		runOne(t, q, true)
		j = getJob(t, st, j.ID)
		if j.Status != job.StatusFailed || j.Attempts != 3 || j.FinishedAt == nil || !strings.Contains(j.LastError, "#3") {
			t.Fatalf("after the last attempt: status %s attempts %d finished %v last_error %q, want failed after 3",
				j.Status, j.Attempts, j.FinishedAt, j.LastError)
		}
		if calls.Load() != 3 {
			t.Fatalf("handler ran %d times, want 3", calls.Load())
		}
		// A failed job is never claimed again, even when its run_at is past.
		if err := st.Client.Job.UpdateOneID(j.ID).SetRunAt(store.Now().Add(-time.Hour)).Exec(bg()); err != nil {
			t.Fatal(err)
		}
		runOne(t, q, false)
		s, err := q.Stats(bg(), "flaky")
		if err != nil {
			t.Fatal(err)
		}
		if s.Failed != 1 || s.Retrying != 0 || s.LastRunAt == nil {
			t.Fatalf("stats after failing: %+v", s)
		}
	})
}

// TestRetriesRunByThemselvesWithAFastBackoff lets the workers do it all:
// with a backoff of milliseconds, a job failing twice then succeeding
// completes after three attempts, and one always failing ends failed.
func TestRetriesRunByThemselvesWithAFastBackoff(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		var backoffs []int
		var mu sync.Mutex
		q := jobs.New(st.Client, st.Dialect, jobs.Options{Workers: 2, Poll: 10 * time.Millisecond,
			Backoff: func(n int) time.Duration {
				mu.Lock()
				backoffs = append(backoffs, n)
				mu.Unlock()
				return time.Duration(n) * 20 * time.Millisecond
			}}, quiet)
		var healCalls, doomedCalls atomic.Int32
		q.Register("heals", func(context.Context, *ent.Job) error {
			if healCalls.Add(1) < 3 {
				return errors.New("not yet")
			}
			return nil
		})
		q.Register("doomed", func(context.Context, *ent.Job) error {
			doomedCalls.Add(1)
			return errors.New("never")
		})
		heals, err := q.Enqueue(bg(), st.Client, "heals", nil)
		if err != nil {
			t.Fatal(err)
		}
		doomed, err := st.Client.Job.Create().SetName("doomed").SetMaxAttempts(2).Save(bg())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { q.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()

		eventually(t, 20*time.Second, "both jobs settle", func() (bool, string) {
			h, d := getJob(t, st, heals.ID), getJob(t, st, doomed.ID)
			return h.Status == job.StatusCompleted && d.Status == job.StatusFailed,
				"heals " + h.Status.String() + ", doomed " + d.Status.String()
		})
		cancel()
		<-done
		if h := getJob(t, st, heals.ID); h.Attempts != 3 || healCalls.Load() != 3 {
			t.Errorf("heals: %d attempts, %d calls, want 3", h.Attempts, healCalls.Load())
		}
		if d := getJob(t, st, doomed.ID); d.Attempts != 2 || doomedCalls.Load() != 2 || d.LastError != "never" {
			t.Errorf("doomed: %d attempts, %d calls, last_error %q, want 2 and never", d.Attempts, doomedCalls.Load(), d.LastError)
		}
		// The backoff was asked for retries 1 and 2 of heals and 1 of doomed.
		mu.Lock()
		defer mu.Unlock()
		count := map[int]int{}
		for _, n := range backoffs {
			count[n]++
		}
		if count[1] != 2 || count[2] != 1 || len(backoffs) != 3 {
			t.Errorf("backoff asked for attempts %v, want [1 1 2] in some order", backoffs)
		}
	})
}

func TestPanickingHandlerFailsTheAttempt(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		q := newQueue(st, jobs.Options{})
		q.Register("boom", func(context.Context, *ent.Job) error { panic("kaboom") })
		j, err := q.Enqueue(bg(), st.Client, "boom", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Client.Job.UpdateOneID(j.ID).SetMaxAttempts(2).Exec(bg()); err != nil {
			t.Fatal(err)
		}
		runOne(t, q, true) // the panic does not escape
		j = getJob(t, st, j.ID)
		if j.Status != job.StatusRetrying || j.Attempts != 1 || !strings.Contains(j.LastError, "kaboom") || j.LockedBy != "" {
			t.Fatalf("after a panic: status %s attempts %d last_error %q locked_by %q", j.Status, j.Attempts, j.LastError, j.LockedBy)
		}
		if err := st.Client.Job.UpdateOneID(j.ID).SetRunAt(store.Now().Add(-time.Second)).Exec(bg()); err != nil {
			t.Fatal(err)
		}
		runOne(t, q, true)
		if j = getJob(t, st, j.ID); j.Status != job.StatusFailed || j.Attempts != 2 {
			t.Fatalf("after the second panic: status %s attempts %d, want failed 2", j.Status, j.Attempts)
		}
	})
}

func TestExpiredLeaseIsClaimedAgain(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		q := newQueue(st, jobs.Options{})
		var ran []uuid.UUID
		q.Register("work", func(_ context.Context, j *ent.Job) error { ran = append(ran, j.ID); return nil })
		now := store.Now()
		// A worker died holding this job: running, its lease over.
		dead, err := st.Client.Job.Create().SetName("work").SetStatus(job.StatusRunning).SetAttempts(1).
			SetLockedBy("dead-worker").SetLockedUntil(now.Add(-time.Second)).SetStartedAt(now.Add(-time.Minute)).
			SetRunAt(now.Add(-time.Minute)).Save(bg())
		if err != nil {
			t.Fatal(err)
		}
		// Another worker is alive and holds this one: not to be touched.
		held, err := st.Client.Job.Create().SetName("work").SetStatus(job.StatusRunning).SetAttempts(1).
			SetLockedBy("live-worker").SetLockedUntil(now.Add(time.Hour)).SetStartedAt(now).
			SetRunAt(now.Add(-2 * time.Minute)).Save(bg())
		if err != nil {
			t.Fatal(err)
		}
		runOne(t, q, true)
		runOne(t, q, false)
		if len(ran) != 1 || ran[0] != dead.ID {
			t.Fatalf("ran %v, want only the job with the expired lease %s", ran, dead.ID)
		}
		if j := getJob(t, st, dead.ID); j.Status != job.StatusCompleted || j.Attempts != 2 || j.LockedBy != "" {
			t.Fatalf("reclaimed job: status %s attempts %d locked_by %q, want completed 2", j.Status, j.Attempts, j.LockedBy)
		}
		if j := getJob(t, st, held.ID); j.Status != job.StatusRunning || j.LockedBy != "live-worker" || j.Attempts != 1 {
			t.Fatalf("a job under a live lease changed: %+v", j)
		}
	})
}

func TestLeaseIsRenewedWhileAJobRuns(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		lease := time.Second
		q := newQueue(st, jobs.Options{Lease: lease})
		release := make(chan struct{})
		started := make(chan uuid.UUID, 1)
		q.Register("slow", func(_ context.Context, j *ent.Job) error {
			started <- j.ID
			<-release
			return nil
		})
		other := newQueue(st, jobs.Options{Lease: lease})
		var stolen atomic.Int32
		other.Register("slow", func(context.Context, *ent.Job) error { stolen.Add(1); return nil })
		if _, err := q.Enqueue(bg(), st.Client, "slow", nil); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := q.RunOne(context.Background()); done <- err }()
		id := <-started
		first := getJob(t, st, id).LockedUntil
		// Well past the first lease, the job is still held: it was renewed,
		// and another queue finds nothing to claim.
		eventually(t, 10*time.Second, "the lease is renewed", func() (bool, string) {
			j := getJob(t, st, id)
			return j.LockedUntil != nil && first != nil && j.LockedUntil.After(first.Add(lease)), "locked_until " + j.LockedUntil.String()
		})
		runOne(t, other, false)
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if j := getJob(t, st, id); j.Status != job.StatusCompleted || j.Attempts != 1 || stolen.Load() != 0 {
			t.Fatalf("slow job: status %s attempts %d, run by the other queue %d times", j.Status, j.Attempts, stolen.Load())
		}
	})
}

func TestStatsAndDepthCountExactly(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		q := newQueue(st, jobs.Options{})
		for _, n := range []string{"alpha", "beta", "gamma"} {
			q.Register(n, func(context.Context, *ent.Job) error { return nil })
		}
		now := store.Now()
		latest := now.Add(-time.Minute)
		mk := func(name string, status job.Status, n int, started *time.Time) {
			for range n {
				c := st.Client.Job.Create().SetName(name).SetStatus(status).SetRunAt(now.Add(time.Hour))
				if started != nil {
					c.SetStartedAt(*started)
				}
				if _, err := c.Save(bg()); err != nil {
					t.Fatal(err)
				}
			}
		}
		older := now.Add(-time.Hour)
		mk("alpha", job.StatusPending, 2, nil)
		mk("alpha", job.StatusRunning, 1, &older)
		mk("alpha", job.StatusCompleted, 3, &older)
		mk("alpha", job.StatusCompleted, 1, &latest)
		mk("alpha", job.StatusFailed, 1, &older)
		mk("alpha", job.StatusRetrying, 2, &older)
		mk("beta", job.StatusPending, 4, nil)
		mk("beta", job.StatusRetrying, 1, nil)
		mk("unregistered", job.StatusPending, 7, nil)

		s, err := q.Stats(bg(), "alpha")
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != "alpha" || s.Pending != 2 || s.Running != 1 || s.Completed != 4 || s.Failed != 1 || s.Retrying != 2 {
			t.Fatalf("alpha stats = %+v, want pending 2 running 1 completed 4 failed 1 retrying 2", s)
		}
		if s.LastRunAt == nil || !s.LastRunAt.Equal(latest) {
			t.Fatalf("alpha last_run_at = %v, want %v", s.LastRunAt, latest)
		}
		s, err = q.Stats(bg(), "gamma")
		if err != nil {
			t.Fatal(err)
		}
		if *s != (jobs.Stats{Name: "gamma"}) {
			t.Fatalf("gamma (never run) stats = %+v, want zeros and no last run", s)
		}
		if _, err := q.Stats(bg(), "unregistered"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("Stats(unknown) = %v, want NOT_FOUND", err)
		}

		d, err := q.Depth(bg())
		if err != nil {
			t.Fatal(err)
		}
		// Waiting runs are pending or retrying; every registered job is listed.
		if d["alpha"] != 4 || d["beta"] != 5 || d["gamma"] != 0 {
			t.Fatalf("depth = %v, want alpha 4, beta 5, gamma 0", d)
		}
		if _, ok := d["gamma"]; !ok {
			t.Fatalf("depth = %v leaves out a registered job with nothing waiting", d)
		}
	})
}

// TestTwoQueuesNeverRunAJobTwice runs two queues, each on a store of its
// own (two connection pools, as two instances) over one database, and
// checks that every job ran exactly once and never concurrently.
func TestTwoQueuesNeverRunAJobTwice(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			u := storetest.URL(t, backend)
			a := openURL(t, u)
			if err := a.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			b := openURL(t, u)

			const n = 60
			var (
				mu      sync.Mutex
				running = map[uuid.UUID]int{}
				runs    = map[uuid.UUID]int{}
				byQueue = map[string]int{}
				overlap []uuid.UUID
			)
			handler := func(queue string) jobs.Handler {
				return func(_ context.Context, j *ent.Job) error {
					mu.Lock()
					running[j.ID]++
					if running[j.ID] > 1 {
						overlap = append(overlap, j.ID)
					}
					runs[j.ID]++
					byQueue[queue]++
					mu.Unlock()
					time.Sleep(5 * time.Millisecond)
					mu.Lock()
					running[j.ID]--
					mu.Unlock()
					return nil
				}
			}
			opts := jobs.Options{Workers: 3, Poll: 5 * time.Millisecond, Lease: 30 * time.Second, Backoff: hourBackoff}
			qa := jobs.New(a.Client, a.Dialect, opts, quiet)
			qb := jobs.New(b.Client, b.Dialect, opts, quiet)
			qa.Register("work", handler("a"))
			qb.Register("work", handler("b"))
			ids := map[uuid.UUID]bool{}
			for range n {
				j, err := qa.Enqueue(bg(), a.Client, "work", nil)
				if err != nil {
					t.Fatal(err)
				}
				ids[j.ID] = true
			}

			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Go(func() { qa.Run(ctx) })
			wg.Go(func() { qb.Run(ctx) })
			defer func() { cancel(); wg.Wait() }()
			eventually(t, 60*time.Second, "every job completes", func() (bool, string) {
				s, err := qa.Stats(bg(), "work")
				if err != nil {
					return false, err.Error()
				}
				return s.Completed == n, "completed " + strconv.Itoa(s.Completed)
			})
			cancel()
			wg.Wait()

			mu.Lock()
			defer mu.Unlock()
			if len(overlap) > 0 {
				t.Errorf("%d jobs ran concurrently on two workers: %v", len(overlap), overlap)
			}
			if len(runs) != n {
				t.Errorf("%d distinct jobs ran, want %d", len(runs), n)
			}
			for id, c := range runs {
				if !ids[id] {
					t.Errorf("ran unknown job %s", id)
				}
				if c != 1 {
					t.Errorf("job %s ran %d times, want once", id, c)
				}
			}
			if byQueue["a"] == 0 || byQueue["b"] == 0 {
				t.Errorf("jobs run by queue: %v; both queues should have taken part", byQueue)
			}
			rows, err := a.Client.Job.Query().All(bg())
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range rows {
				if j.Status != job.StatusCompleted || j.Attempts != 1 {
					t.Errorf("job %s: status %s attempts %d, want completed after one attempt", j.ID, j.Status, j.Attempts)
				}
			}
			t.Logf("%s: %d jobs, queue a ran %d, queue b ran %d", backend, n, byQueue["a"], byQueue["b"])
		})
	}
}

func openURL(t *testing.T, u string) *store.Store {
	t.Helper()
	st, err := store.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

package jobs_test

// A job whose worker is gone is taken over promptly: with the default
// timings, a second queue runs a dead worker's job within 10 s. A worker
// that cannot renew its lease, or finds its job claimed by another (or by
// itself again), stops its handler and leaves the job to its new owner.

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// TestDeadWorkersJobIsTakenOverWithinTenSeconds: queue A, on a connection
// pool of its own, claims a job and loses its database mid-job (its pool
// closed: no renewal, no finish — the row stays running under A's lease,
// as after a crash). Queue B, with the default timings, completes the job
// within 10 s of A's death; A, still alive but unable to renew, has
// stopped its handler before B starts it.
func TestDeadWorkersJobIsTakenOverWithinTenSeconds(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		dying := openURL(t, st.URL)
		qa := jobs.New(dying.Client, dying.Dialect, jobs.Options{Backoff: hourBackoff}, quiet)
		qb := newQueue(st, jobs.Options{})

		var mu sync.Mutex
		var aStopped, bStarted time.Time
		var aCause string
		started := make(chan struct{})
		qa.Register("rotate", func(ctx context.Context, _ *ent.Job) error {
			close(started)
			<-ctx.Done()
			mu.Lock()
			aStopped, aCause = time.Now(), context.Cause(ctx).Error()
			mu.Unlock()
			return ctx.Err()
		})
		var bRuns atomic.Int32
		qb.Register("rotate", func(context.Context, *ent.Job) error {
			mu.Lock()
			bStarted = time.Now()
			mu.Unlock()
			bRuns.Add(1)
			return nil
		})
		j, err := qb.Enqueue(bg(), st.Client, "rotate", nil)
		if err != nil {
			t.Fatal(err)
		}

		ctxA, stopA := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { qa.Run(ctxA) })
		defer func() { stopA(); wg.Wait() }()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("queue A did not start the job")
		}
		if err := dying.Close(); err != nil {
			t.Fatal(err)
		}
		died := time.Now()
		if j = getJob(t, st, j.ID); j.Status != job.StatusRunning || j.LockedUntil == nil || !j.LockedUntil.After(store.Now()) {
			t.Fatalf("after A's death the job is %s until %v, want running under A's lease", j.Status, j.LockedUntil)
		}

		ctxB, stopB := context.WithCancel(context.Background())
		wg.Go(func() { qb.Run(ctxB) })
		defer stopB()
		eventually(t, 10*time.Second, "the dead worker's job completes on queue B", func() (bool, string) {
			j := getJob(t, st, j.ID)
			return j.Status == job.StatusCompleted, "status " + j.Status.String()
		})
		took := time.Since(died)

		j = getJob(t, st, j.ID)
		if j.Attempts != 2 || bRuns.Load() != 1 || j.LockedBy != "" {
			t.Fatalf("taken-over job: attempts %d, run by B %d times, locked_by %q; want 2, 1, none", j.Attempts, bRuns.Load(), j.LockedBy)
		}
		mu.Lock()
		defer mu.Unlock()
		if aStopped.IsZero() || !aStopped.Before(bStarted) {
			t.Fatalf("A's handler stopped at %v, B started at %v: the job ran on two workers at once", aStopped, bStarted)
		}
		if !strings.Contains(aCause, "lease") {
			t.Errorf("A's handler was stopped by %q, want its lapsing lease", aCause)
		}
		t.Logf("taken over %v after the worker died; A's handler stopped %v before B started",
			took.Round(time.Millisecond), bStarted.Sub(aStopped).Round(time.Millisecond))
	})
}

// TestRenewalFindingTheJobTakenStopsTheHandler: a running job is claimed
// anew behind its worker's back — by another worker, or by the same one in
// a later attempt. The worker's next renewal notices, its handler's
// context ends, and the row stays as the new claim left it.
func TestRenewalFindingTheJobTakenStopsTheHandler(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, by string }{{"another worker", "other-worker"}, {"this worker again", ""}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
				q := newQueue(st, jobs.Options{Lease: 2 * time.Second, Renew: 200 * time.Millisecond})
				started := make(chan struct{})
				stopped := make(chan string, 1)
				q.Register("slow", func(ctx context.Context, _ *ent.Job) error {
					close(started)
					select {
					case <-ctx.Done():
						stopped <- context.Cause(ctx).Error()
						return ctx.Err()
					case <-time.After(10 * time.Second):
						stopped <- "never stopped"
						return nil
					}
				})
				j, err := q.Enqueue(bg(), st.Client, "slow", nil)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { _, err := q.RunOne(context.Background()); done <- err }()
				<-started

				by := c.by
				if by == "" {
					by = getJob(t, st, j.ID).LockedBy
				}
				until := store.Now().Add(time.Hour)
				if err := st.Client.Job.UpdateOneID(j.ID).SetLockedBy(by).AddAttempts(1).SetLockedUntil(until).Exec(bg()); err != nil {
					t.Fatal(err)
				}
				taken := time.Now()
				if cause := <-stopped; !strings.Contains(cause, "taken over") {
					t.Fatalf("the handler ended with %q, want the lease taken over", cause)
				}
				if d := time.Since(taken); d > 2*time.Second {
					t.Errorf("the handler stopped %v after its job was taken over, want within a renewal or two", d)
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				j = getJob(t, st, j.ID)
				if j.Status != job.StatusRunning || j.LockedBy != by || j.Attempts != 2 || j.LockedUntil == nil || !j.LockedUntil.Equal(until) {
					t.Fatalf("the new claim was overwritten: status %s locked_by %q attempts %d until %v", j.Status, j.LockedBy, j.Attempts, j.LockedUntil)
				}
			})
		})
	}
}

// Package jobs is CredVault's durable background job queue, kept in the
// database so that no extra service is needed. Workers run in the server
// process; on PostgreSQL several instances share the queue safely (jobs are
// claimed with FOR UPDATE SKIP LOCKED), on SQLite one instance serialises
// claims through the database's write lock. A claimed job holds a short
// lease that its worker renews while the handler runs; a job whose worker
// died is claimed again once the lease lapses, so delivery is at least once
// and handlers must be idempotent. A worker that cannot renew, or finds the
// job claimed by another, cancels its handler before the lease lapses: two
// live workers never run one job at once.
//
// River was considered: its SQLite driver is early-stage and wants a single
// connection, enqueuing inside an ent transaction needs the *sql.Tx that ent
// does not hand out, and it brings migrations of its own beside ent's.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
)

// Handler runs one job. A returned error makes the job retry with backoff
// until its attempts are spent.
type Handler func(ctx context.Context, j *ent.Job) error

// Options tune a queue.
type Options struct {
	// Workers is how many jobs run at once in this process.
	Workers int
	// Poll is how often an idle worker looks for due jobs, so also how
	// long after its lease lapsed a dead worker's job may wait.
	Poll time.Duration
	// Lease is how long a claim lasts without renewal: a dead worker's job
	// is taken over within Lease + Poll.
	Lease time.Duration
	// Renew is how often a running job's lease is renewed: a quarter of
	// Lease by default, and never more than half of it, so that a renewal
	// or two may fail without the job being lost.
	Renew time.Duration
	// Backoff is the delay before retry n (1-based).
	Backoff func(attempt int) time.Duration
}

// The default timings: a job whose worker died is running again within
// DefaultLease + DefaultPoll (7 s); its lease is renewed every 1.5 s.
const (
	DefaultPoll  = time.Second
	DefaultLease = 6 * time.Second
)

// ExponentialBackoff waits 2^attempt seconds, at most an hour.
func ExponentialBackoff(attempt int) time.Duration {
	return time.Duration(math.Min(math.Pow(2, float64(attempt)), 3600)) * time.Second
}

// Queue runs registered jobs.
type Queue struct {
	db       *ent.Client
	postgres bool
	opts     Options
	logger   *slog.Logger
	worker   string
	handlers map[string]Handler
	wake     chan struct{}
	mu       sync.Mutex
	periodic []periodic
}

// New returns a queue on db, whose dialect is dia.
func New(db *ent.Client, dia string, opts Options, logger *slog.Logger) *Queue {
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Renew <= 0 || opts.Renew > opts.Lease/2 {
		opts.Renew = opts.Lease / 4
	}
	if opts.Backoff == nil {
		opts.Backoff = ExponentialBackoff
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	return &Queue{db: db, postgres: dia == dialect.Postgres, opts: opts, logger: logger,
		worker: hex.EncodeToString(id), handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
}

// Register names a job and its handler.
func (q *Queue) Register(name string, h Handler) { q.handlers[name] = h }

// Names lists the registered jobs.
func (q *Queue) Names() []string {
	out := make([]string, 0, len(q.handlers))
	for n := range q.handlers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Known reports whether a job of that name is registered.
func (q *Queue) Known(name string) bool { _, ok := q.handlers[name]; return ok }

// Enqueue adds a job with client — a transaction's client to enqueue in
// the same transaction as the change that calls for it. An unknown name is
// a 422 naming job_name.
func (q *Queue) Enqueue(ctx context.Context, client *ent.Client, name string, args map[string]any) (*ent.Job, error) {
	if !q.Known(name) {
		return nil, apperr.Invalid("job_name", "unknown").With("allowed", q.Names())
	}
	if args == nil {
		args = map[string]any{}
	}
	j, err := client.Job.Create().SetName(name).SetArgs(args).SetRunAt(store.Now()).Save(store.Unrestricted(ctx))
	if err != nil {
		return nil, err
	}
	q.Kick()
	return j, nil
}

// Kick wakes a worker to look for due jobs now.
func (q *Queue) Kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run runs the workers and the periodic scheduler until ctx ends, then
// waits for the jobs in hand.
func (q *Queue) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range q.opts.Workers {
		wg.Go(func() { q.work(ctx) })
	}
	wg.Go(func() { q.schedule(ctx) })
	wg.Wait()
}

func (q *Queue) work(ctx context.Context) {
	t := time.NewTicker(q.opts.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			ran, err := q.RunOne(ctx)
			if err != nil && ctx.Err() == nil {
				q.logger.Error("job queue", "err", err)
			}
			if !ran || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-q.wake:
		}
	}
}

// RunOne claims one due job and runs it; ran is false when none was due.
func (q *Queue) RunOne(ctx context.Context) (ran bool, err error) {
	j, err := q.claim(ctx)
	if err != nil || j == nil {
		return false, err
	}
	h := q.handlers[j.Name]
	runErr := q.runWithLease(ctx, j, h)
	return true, q.finish(context.WithoutCancel(ctx), j, runErr)
}

// claim takes the oldest due job: pending, retrying, or running with an
// expired lease (its worker died).
func (q *Queue) claim(ctx context.Context) (*ent.Job, error) {
	ctx = store.Unrestricted(ctx)
	var claimed *ent.Job
	err := store.WithTx(ctx, q.db, func(ctx context.Context, tx *ent.Client) error {
		now := store.Now()
		query := tx.Job.Query().Where(job.Or(
			job.And(job.StatusIn(job.StatusPending, job.StatusRetrying), job.RunAtLTE(now)),
			job.And(job.StatusEQ(job.StatusRunning), job.LockedUntilLT(now)),
		), job.NameIn(q.Names()...)).Order(ent.Asc(job.FieldRunAt))
		if q.postgres {
			query = query.ForUpdate(sql.WithLockAction(sql.SkipLocked))
		}
		j, err := query.First(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		claimed, err = tx.Job.UpdateOne(j).SetStatus(job.StatusRunning).SetLockedBy(q.worker).
			SetLockedUntil(now.Add(q.opts.Lease)).SetStartedAt(now).AddAttempts(1).Save(ctx)
		return err
	})
	return claimed, err
}

// Why a handler's context ends when the claim is no longer surely its own.
var (
	errLeaseTaken  = errors.New("job lease taken over by another worker")
	errLeaseLapsed = errors.New("job lease not renewed in time")
)

// runWithLease runs h, renewing the job's lease while it works. A panic in
// a handler fails the attempt rather than the process.
func (q *Queue) runWithLease(ctx context.Context, j *ent.Job, h Handler) (err error) {
	hctx, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	done := make(chan struct{})
	var renewing sync.WaitGroup
	renewing.Go(func() { q.keepLease(ctx, j, lose, done) })
	defer func() {
		close(done)
		renewing.Wait()
		if v := recover(); v != nil {
			err = fmt.Errorf("job panicked: %v", v)
		}
		// While the queue runs, only a lost lease ends the handler's context.
		if cause := context.Cause(hctx); err != nil && ctx.Err() == nil && cause != nil {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}()
	return h(hctx, j)
}

// keepLease renews j's lease every Renew until done. It cancels the
// handler (lose) as soon as the job may not be this worker's: a renewal
// found it claimed by another (or gone), or no renewal succeeded and the
// lease lapses within one renewal period — another worker may claim it at
// the lapse, and the handler needs that period to stop.
func (q *Queue) keepLease(ctx context.Context, j *ent.Job, lose context.CancelCauseFunc, done <-chan struct{}) {
	ctx = store.Unrestricted(ctx)
	giveUpAt := j.LockedUntil.Add(-q.opts.Renew)
	giveUp := time.NewTimer(time.Until(giveUpAt))
	defer giveUp.Stop()
	tick := time.NewTicker(q.opts.Renew)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-giveUp.C:
			q.logger.Warn("job stopped: its lease could not be renewed", "job", j.Name, "id", j.ID)
			lose(errLeaseLapsed)
			return
		case <-tick.C:
		}
		until := store.Now().Add(q.opts.Lease)
		// A renewal stuck past the give-up time is abandoned, so that the
		// give-up is never late.
		rctx, cancel := context.WithDeadline(ctx, giveUpAt)
		n, err := q.db.Job.Update().Where(job.ID(j.ID), job.StatusEQ(job.StatusRunning),
			job.LockedBy(q.worker), job.Attempts(j.Attempts)).SetLockedUntil(until).Save(rctx)
		cancel()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				q.logger.Warn("job lease renewal", "job", j.Name, "id", j.ID, "err", err)
			}
		case n == 0:
			q.logger.Warn("job stopped: another worker took it over", "job", j.Name, "id", j.ID)
			lose(errLeaseTaken)
			return
		default:
			giveUpAt = until.Add(-q.opts.Renew)
			giveUp.Reset(time.Until(giveUpAt))
		}
	}
}

// finish records the outcome: completed, retrying after backoff, or failed
// once the attempts are spent.
func (q *Queue) finish(ctx context.Context, j *ent.Job, runErr error) error {
	ctx = store.Unrestricted(ctx)
	now := store.Now()
	// The claim is this worker's and this attempt's: not one taken over,
	// even by this worker again.
	upd := q.db.Job.UpdateOneID(j.ID).Where(job.StatusEQ(job.StatusRunning), job.LockedBy(q.worker), job.Attempts(j.Attempts)).
		ClearLockedUntil().SetLockedBy("")
	switch {
	case runErr == nil:
		upd.SetStatus(job.StatusCompleted).SetFinishedAt(now).SetLastError("")
	case j.Attempts >= j.MaxAttempts:
		upd.SetStatus(job.StatusFailed).SetFinishedAt(now).SetLastError(store.Text(runErr.Error(), 2000))
		q.logger.Error("job failed", "job", j.Name, "id", j.ID, "attempts", j.Attempts, "err", runErr)
	default:
		upd.SetStatus(job.StatusRetrying).SetRunAt(now.Add(q.opts.Backoff(j.Attempts))).SetLastError(store.Text(runErr.Error(), 2000))
		q.logger.Warn("job will retry", "job", j.Name, "id", j.ID, "attempts", j.Attempts, "err", runErr)
	}
	err := upd.Exec(ctx)
	if ent.IsNotFound(err) {
		// The lease was lost and another worker took the job over.
		return nil
	}
	return err
}

// Stats are the counts of one job's runs by status.
type Stats struct {
	Name      string
	Pending   int
	Running   int
	Completed int
	Failed    int
	Retrying  int
	LastRunAt *time.Time
}

// Stats counts the runs of the job called name that match where (all of
// them when none is given).
func (q *Queue) Stats(ctx context.Context, name string, where ...predicate.Job) (*Stats, error) {
	if !q.Known(name) {
		return nil, apperr.NotFoundf("job")
	}
	ctx = store.Unrestricted(ctx)
	var rows []struct {
		Status string `json:"status"`
		Count  int    `json:"count"`
	}
	where = append([]predicate.Job{job.Name(name)}, where...)
	err := q.db.Job.Query().Where(where...).GroupBy(job.FieldStatus).Aggregate(ent.Count()).Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	s := &Stats{Name: name}
	for _, r := range rows {
		switch job.Status(r.Status) {
		case job.StatusPending:
			s.Pending = r.Count
		case job.StatusRunning:
			s.Running = r.Count
		case job.StatusCompleted:
			s.Completed = r.Count
		case job.StatusFailed:
			s.Failed = r.Count
		case job.StatusRetrying:
			s.Retrying = r.Count
		}
	}
	last, err := q.db.Job.Query().Where(append(where, job.StartedAtNotNil())...).Order(ent.Desc(job.FieldStartedAt)).First(ctx)
	switch {
	case ent.IsNotFound(err):
	case err != nil:
		return nil, err
	default:
		s.LastRunAt = last.StartedAt
	}
	return s, nil
}

// Depth counts the runs waiting of every job, for metrics and health.
func (q *Queue) Depth(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	err := q.db.Job.Query().Where(job.StatusIn(job.StatusPending, job.StatusRetrying)).
		GroupBy(job.FieldName).Aggregate(ent.Count()).Scan(store.Unrestricted(ctx), &rows)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, n := range q.Names() {
		out[n] = 0
	}
	for _, r := range rows {
		out[r.Name] = r.Count
	}
	return out, nil
}

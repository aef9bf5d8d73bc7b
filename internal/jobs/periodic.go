package jobs

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/platform/store"
)

// periodic is a job enqueued once per interval.
type periodic struct {
	name  string
	every time.Duration
	// last is the period this instance last enqueued.
	last time.Time
}

// Every schedules name to run once per interval. With several instances,
// the run of each period is enqueued once: its dedupe key is unique.
func (q *Queue) Every(name string, every time.Duration) {
	q.mu.Lock()
	q.periodic = append(q.periodic, periodic{name: name, every: every})
	q.mu.Unlock()
}

// PeriodKey is the dedupe key of periodic job name's run for the period
// starting at period: one run per period, whichever instance enqueues it.
func PeriodKey(name string, period time.Time) string {
	return name + "@" + period.UTC().Format(time.RFC3339)
}

func (q *Queue) schedule(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		q.enqueueDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// enqueueDue enqueues the current period's run of each periodic job,
// unless some instance already has.
func (q *Queue) enqueueDue(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := store.Now()
	for i := range q.periodic {
		p := &q.periodic[i]
		period := now.Truncate(p.every)
		if !period.After(p.last) {
			continue
		}
		key := PeriodKey(p.name, period)
		err := q.db.Job.Create().SetName(p.name).SetRunAt(period).SetDedupeKey(key).
			OnConflictColumns(job.FieldDedupeKey).DoNothing().Exec(store.Unrestricted(ctx))
		// ON CONFLICT DO NOTHING reports a skipped insert as no rows.
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			if ctx.Err() == nil {
				q.logger.Error("schedule periodic job", "job", p.name, "err", err)
			}
			continue
		}
		p.last = period
		q.Kick()
	}
}

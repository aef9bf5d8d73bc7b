package audit

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"entgo.io/ent/dialect"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/flush"
	"github.com/credvault/credvault/internal/platform/store"
)

// Committer writes the entries a request must not answer without, such as
// a decrypt's, by group commit: the entries of concurrent requests are
// written together, flush.Chunk at most in one statement, and each caller
// waits until the statement holding its entry has committed. At most two
// groups are written at once: while they run, the entries arriving
// meanwhile gather for the next, so the statements per request fall as
// concurrency grows, and no request runs a transaction of its own or takes
// a row lock.
type Committer struct {
	flush.Batch
	client *ent.Client
	// alone says that a group's statement commits by itself: on
	// PostgreSQL one INSERT is atomic, and a transaction around it would
	// cost a BEGIN and a COMMIT round trip per group.
	alone   bool
	mu      sync.Mutex
	waiting []*waiter
	// writers counts the goroutines draining waiting; inflight counts
	// the entries of the groups being written.
	writers  int
	inflight int
}

// waiter is one caller's entry and where its outcome goes.
type waiter struct {
	key      batchKey
	entry    *batched
	ctx      context.Context
	deadline time.Time
	done     chan error
}

// CommitWait bounds how long Write waits for its entry, retries included.
const CommitWait = 3 * time.Second

// NewCommitter returns a committer writing with client, whose dialect is
// dia.
func NewCommitter(client *ent.Client, dia string, logger *slog.Logger) *Committer {
	c := &Committer{client: client, alone: dia == dialect.Postgres}
	c.Batch = flush.Batch{Kind: "audit_commit", Logger: logger, Queued: c.queued}
	return c
}

// queued counts the entries waiting, those being written included.
func (c *Committer) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiting) + c.inflight
}

// Write records e, taking the actor and request from ctx, and returns once
// it has committed: nil, or a 503 when it could not be written within
// CommitWait (or ctx's end), so the caller refuses its answer.
func (c *Committer) Write(ctx context.Context, e Entry) error {
	k, e, ok := pendingKey(ctx, e, true)
	if !ok {
		return apperr.New(apperr.Internal, "audit entry without a tenant")
	}
	k.seq = 1
	w := &waiter{key: k, entry: newBatched(ctx, e, store.Now()), ctx: ctx, deadline: time.Now().Add(CommitWait), done: make(chan error, 1)}
	c.mu.Lock()
	c.waiting = append(c.waiting, w)
	start := c.writers < maxWriters
	if start {
		c.writers++
	}
	c.mu.Unlock()
	if start {
		go c.drain()
	}
	select {
	case err := <-w.done:
		if err != nil {
			return apperr.ServiceUnavailable("the audit trail cannot be written now; try again later")
		}
		return nil
	case <-ctx.Done():
		return apperr.ServiceUnavailable("the audit trail cannot be written now; try again later")
	}
}

// maxWriters bounds the groups written at once: while one commits (a WAL
// flush), the entries arriving meanwhile go out in the next group without
// waiting for it, and the database merges their flushes.
const maxWriters = 2

// drain writes the waiting entries, a group at a time, until none wait.
func (c *Committer) drain() {
	for {
		c.mu.Lock()
		if len(c.waiting) == 0 {
			c.writers--
			c.mu.Unlock()
			return
		}
		n := min(len(c.waiting), flush.Chunk)
		group := c.waiting[:n:n]
		c.waiting = append([]*waiter(nil), c.waiting[n:]...)
		c.inflight += n
		c.mu.Unlock()
		c.commit(group)
		c.mu.Lock()
		c.inflight -= n
		c.mu.Unlock()
	}
}

// commit writes group and tells each waiter: a failed statement is retried
// with backoff while its waiters still wait; an entry refused on its own
// fails alone.
func (c *Committer) commit(group []*waiter) {
	var backoff time.Duration
	for {
		group = c.expire(group)
		if len(group) == 0 {
			return
		}
		ctx, cancel := context.WithDeadline(store.Unrestricted(context.Background()), lastDeadline(group))
		dropped, unwritten, err := flush.Isolate(group, func(ws []*waiter) error {
			insert := func(ctx context.Context, tx *ent.Client) error {
				rows := make([]*ent.AuditLogCreate, len(ws))
				for i, w := range ws {
					rows[i] = w.entry.create(tx, w.key)
				}
				return tx.AuditLog.CreateBulk(rows...).Exec(ctx)
			}
			if c.alone {
				return insert(ctx, c.client)
			}
			// A transaction of its own, so that on SQLite the statement
			// joins the group commit of concurrent writes (store.Open).
			return store.WithTx(ctx, c.client, insert)
		}, flush.RowsOwn)
		cancel()
		failed := map[*waiter]bool{}
		for _, w := range dropped {
			failed[w] = true
			w.done <- errRefused
		}
		c.Drop(len(dropped), "refused by the database")
		for _, w := range unwritten {
			failed[w] = true
		}
		for _, w := range group {
			if !failed[w] {
				w.done <- nil
			}
		}
		if err == nil {
			return
		}
		backoff = flush.Backoff(backoff)
		c.Retrying(err, backoff)
		time.Sleep(min(backoff, time.Until(lastDeadline(unwritten))))
		group = unwritten
	}
}

var errRefused = apperr.New(apperr.Internal, "audit entry refused by the database")

// expire fails the waiters whose time is up and returns the others.
func (c *Committer) expire(group []*waiter) []*waiter {
	now := time.Now()
	live := group[:0]
	for _, w := range group {
		if now.After(w.deadline) || w.ctx.Err() != nil {
			w.done <- context.DeadlineExceeded
			continue
		}
		live = append(live, w)
	}
	return live
}

func lastDeadline(group []*waiter) time.Time {
	var last time.Time
	for _, w := range group {
		if w.deadline.After(last) {
			last = w.deadline
		}
	}
	return last
}

// Package flush runs the background loops that write what the server
// batches in memory (audit entries of reads, key usage, request counts), and
// holds what makes those writes durable: an entry leaves its queue only once
// the write holding it has committed, a failed write is retried with
// backoff, a row that fails on its own is dropped alone, and every queue is
// bounded.
package flush

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/metrics"
)

const (
	// MaxQueued bounds the entries a batcher holds, those being written
	// included.
	MaxQueued = 100_000
	// Chunk is the most rows one statement writes: PostgreSQL takes at most
	// 65,535 parameters in a statement.
	Chunk = 500
)

// Retries of a failed write wait FirstRetry, then twice as long each time,
// up to MaxRetry.
const (
	FirstRetry = 100 * time.Millisecond
	MaxRetry   = 5 * time.Second
)

// shutdownRetries bounds how long the last flush, at shutdown, retries.
const shutdownRetries = 10 * time.Second

// Backoff is the wait before the retry that follows a wait of prev (0 before
// the first retry).
func Backoff(prev time.Duration) time.Duration {
	if prev <= 0 {
		return FirstRetry
	}
	return min(2*prev, MaxRetry)
}

// Batch is what every batcher shares: its kind, which labels its metrics
// and log lines, its logger, and its instruments once Instrument is called.
type Batch struct {
	Kind   string
	Logger *slog.Logger
	// Queued returns how many entries wait, those being written included.
	Queued  func() int
	metrics *metrics.Metrics
	// flushing lets one flush run at a time (see Hold).
	flushing sync.Mutex
}

// Hold makes the batcher's flushes run one at a time, until release: a
// Flush called while Run's is writing waits for it, then writes what it
// put back, so that everything queued before the call has been tried.
func (b *Batch) Hold() (release func()) {
	b.flushing.Lock()
	return b.flushing.Unlock
}

// Instrument exports the batcher's queue length, retries and dropped
// entries in m. Call it before the batcher is used.
func (b *Batch) Instrument(m *metrics.Metrics) {
	b.metrics = m
	m.WatchBatch(b.Kind, b.Queued)
}

// Drop counts n entries given up, and why.
func (b *Batch) Drop(n int, why string) {
	if n == 0 {
		return
	}
	if b.metrics != nil {
		b.metrics.BatchDropped.WithLabelValues(b.Kind).Add(float64(n))
	}
	b.Logger.Warn("batched entries dropped", "kind", b.Kind, "count", n, "reason", why)
}

// Retrying counts a failed write, retried after wait.
func (b *Batch) Retrying(err error, wait time.Duration) {
	if b.metrics != nil {
		b.metrics.BatchRetries.WithLabelValues(b.Kind).Inc()
	}
	b.Logger.Warn("batched write failed; retrying", "kind", b.Kind, "err", err, "retry_in", wait)
}

// Run calls fn every interval, and whenever kick fires (kick may be nil),
// until ctx ends; then once more, retrying for a while, so that nothing
// batched is lost on shutdown. fn keeps what it could not write; after a
// failure the next call waits Backoff instead of the interval, and a kick
// does not cut that wait short.
func (b *Batch) Run(ctx context.Context, interval time.Duration, kick <-chan struct{}, fn func(context.Context) error) {
	var backoff time.Duration
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		trigger := kick
		if backoff > 0 {
			trigger = nil
		}
		select {
		case <-ctx.Done():
			b.last(context.WithoutCancel(ctx), fn)
			return
		case <-timer.C:
		case <-trigger:
			timer.Stop()
		}
		if err := fn(ctx); err != nil {
			backoff = Backoff(backoff)
			b.Retrying(err, backoff)
			timer.Reset(backoff)
			continue
		}
		backoff = 0
		timer.Reset(interval)
	}
}

// last is the flush at shutdown: retried with backoff for shutdownRetries.
func (b *Batch) last(ctx context.Context, fn func(context.Context) error) {
	deadline := time.Now().Add(shutdownRetries)
	for backoff := FirstRetry; ; backoff = Backoff(backoff) {
		err := fn(ctx)
		if err == nil {
			return
		}
		if time.Now().Add(backoff).After(deadline) {
			b.Logger.Error("batched entries lost at shutdown", "kind", b.Kind, "count", b.Queued(), "err", err)
			return
		}
		b.Retrying(err, backoff)
		time.Sleep(backoff)
	}
}

// Isolate writes items with write. When a write fails with an error that
// bad says is the rows' own (a constraint, such as a row of a tenant purged
// meanwhile), it halves the batch until each failing item stands alone:
// those come back as dropped, and every other item is written. Any other
// error stops it: unwritten holds the items not written, the failed part
// first.
func Isolate[T any](items []T, write func([]T) error, bad func(error) bool) (dropped, unwritten []T, err error) {
	if len(items) == 0 {
		return nil, nil, nil
	}
	stack := [][]T{items}
	for len(stack) > 0 {
		part := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		werr := write(part)
		switch {
		case werr == nil:
		case bad(werr) && len(part) == 1:
			dropped = append(dropped, part[0])
		case bad(werr):
			half := len(part) / 2
			stack = append(stack, part[half:], part[:half])
		default:
			unwritten = append(unwritten, part...)
			for i := len(stack) - 1; i >= 0; i-- {
				unwritten = append(unwritten, stack[i]...)
			}
			return dropped, unwritten, werr
		}
	}
	return dropped, nil, nil
}

// RowsOwn reports whether err is the written rows' own, so that writing
// them again fails again: a constraint (a row of a tenant purged meanwhile)
// or, on PostgreSQL, a data exception (class 22). Any other error, such as
// the database being unreachable, is worth a retry.
func RowsOwn(err error) bool {
	var pgErr *pgconn.PgError
	return ent.IsConstraintError(err) || errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22")
}

package flush

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/store"
)

// Latest keeps the latest time noted per row, such as when a key was last
// used or a credential last read, and writes them in batches: one update
// per row with its latest time, never one per request, so no request takes
// a row lock for it.
type Latest struct {
	Batch
	client *ent.Client
	update Update
	mu     sync.Mutex
	seen   map[uuid.UUID]time.Time
	// writing counts the times taken by a flush not yet committed.
	writing int
}

// Update sets row id's time to t in tx, unless it is later already.
type Update func(ctx context.Context, tx *ent.Client, id uuid.UUID, t time.Time) error

// NewLatest returns a Latest of kind writing with client through update.
func NewLatest(kind string, client *ent.Client, logger *slog.Logger, update Update) *Latest {
	l := &Latest{client: client, update: update, seen: map[uuid.UUID]time.Time{}}
	l.Batch = Batch{Kind: kind, Logger: logger, Queued: l.queued}
	return l
}

func (l *Latest) queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen) + l.writing
}

// Touch notes that row id was used at t. A row new to a full queue is
// dropped (and counted) rather than making the request wait.
func (l *Latest) Touch(id uuid.UUID, t time.Time) {
	l.mu.Lock()
	prev, ok := l.seen[id]
	if !ok && len(l.seen)+l.writing >= MaxQueued {
		l.mu.Unlock()
		l.Drop(1, "queue full")
		return
	}
	if t.After(prev) {
		l.seen[id] = t
	}
	l.mu.Unlock()
}

type touched struct {
	id uuid.UUID
	t  time.Time
}

// Flush writes the pending times, Chunk rows per transaction. What a failed
// transaction held waits for the next flush.
func (l *Latest) Flush(ctx context.Context) error {
	defer l.Hold()()
	l.mu.Lock()
	pending := make([]touched, 0, len(l.seen))
	for id, t := range l.seen {
		pending = append(pending, touched{id, t})
	}
	l.seen = map[uuid.UUID]time.Time{}
	l.writing += len(pending)
	l.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	ctx = store.Unrestricted(ctx)
	var err error
	var unwritten []touched
	for start := 0; start < len(pending); start += Chunk {
		part := pending[start:min(start+Chunk, len(pending))]
		err = store.WithTx(ctx, l.client, func(ctx context.Context, tx *ent.Client) error {
			for _, p := range part {
				if err := l.update(ctx, tx, p.id, p.t.UTC().Truncate(time.Microsecond)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			unwritten = pending[start:]
			break
		}
	}
	l.mu.Lock()
	l.writing -= len(pending)
	for _, p := range unwritten {
		if p.t.After(l.seen[p.id]) {
			l.seen[p.id] = p.t
		}
	}
	l.mu.Unlock()
	return err
}

// Run flushes every interval until ctx ends, then once more.
func (l *Latest) Run(ctx context.Context, interval time.Duration) {
	l.Batch.Run(ctx, interval, nil, l.Flush)
}

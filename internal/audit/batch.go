package audit

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/flush"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
)

// Batcher writes entries off the request path, many in one statement. Add
// queues one row per entry; Tally, for high-volume entries that change
// nothing (key validations, refused keys), merges identical entries (same
// tenant, actor, action, resource, outcome and details) arriving within one
// flush interval into one row whose details carry their count. Changes are
// never batched: their entries are written with Record, in the change's own
// transaction.
//
// An entry leaves the queue only once the statement holding it has
// committed: a failed flush keeps it for the next, retried with backoff by
// Run, and a row the database refuses on its own (its tenant purged) is
// dropped alone. The queue holds at most flush.MaxQueued rows: when it is
// full, Add waits up to roomWait for a flush to make room, then fails
// closed; Tally, whose entries no rule requires, drops its entry instead.
type Batcher struct {
	flush.Batch
	client  *ent.Client
	mu      sync.Mutex
	pending map[batchKey]*batched
	seq     uint64
	// writing counts the rows taken by a flush not yet committed.
	writing int
	// room is closed, and replaced, when a flush ends, waking the Adds
	// waiting for room.
	room chan struct{}
	max  int
	kick chan struct{}
}

// batchKey is what makes two entries the same.
type batchKey struct {
	tenant                       uuid.UUID
	actorType, actorID           string
	action, resType, resID, note string
	outcome                      string
	// seq keeps entries queued with Add apart.
	seq uint64
}

type batched struct {
	entry     Entry
	info      reqinfo.Info
	count     int
	firstSeen time.Time
	lastSeen  time.Time
}

// batchSize flushes early once this many distinct entries wait.
const batchSize = 500

// roomWait bounds how long Add waits for room in a full queue.
const roomWait = time.Second

// NewBatcher returns a batcher writing with client.
func NewBatcher(client *ent.Client, logger *slog.Logger) *Batcher {
	b := &Batcher{client: client, pending: map[batchKey]*batched{}, room: make(chan struct{}),
		max: flush.MaxQueued, kick: make(chan struct{}, 1)}
	b.Batch = flush.Batch{Kind: "audit", Logger: logger, Queued: b.queued}
	return b
}

func (b *Batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending) + b.writing
}

// Add queues e as a row of its own, taking the actor and request from ctx.
// The entry belongs to the context's tenant unless e names one. It fails
// (503) when the queue stays full: the entry is required, so the request
// must not succeed without it.
func (b *Batcher) Add(ctx context.Context, e Entry) error {
	if !b.queue(ctx, e, true) {
		return apperr.ServiceUnavailable("the audit trail cannot be written now; try again later")
	}
	return nil
}

// Tally counts e with the identical entries of the current interval. Its
// details should be few-valued (a reason, not a timestamp), or nothing merges.
func (b *Batcher) Tally(ctx context.Context, e Entry) {
	if !b.queue(ctx, e, false) {
		b.Drop(1, "queue full")
	}
}

// pendingKey is e's key, with e's tenant (from ctx unless e names one)
// and outcome filled in, the actor taken from ctx. A single entry merges
// with no other, so its key leaves its details out. ok is false for an
// entry with no tenant, which has nowhere to go.
func pendingKey(ctx context.Context, e Entry, single bool) (k batchKey, _ Entry, ok bool) {
	if e.TenantID == uuid.Nil {
		e.TenantID, _ = access.TenantFromContext(ctx)
	}
	if e.TenantID == uuid.Nil {
		return k, e, false
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	actorType, actorID := actorOf(ctx)
	k = batchKey{tenant: e.TenantID, actorType: actorType, actorID: actorID, action: e.Action,
		resType: e.ResourceType, resID: e.ResourceID, outcome: string(e.Outcome)}
	if !single {
		k.note = fmt.Sprint(e.Details)
	}
	return k, e, true
}

// newBatched is e's row, first seen at now, with the request's details
// from ctx.
func newBatched(ctx context.Context, e Entry, now time.Time) *batched {
	return &batched{entry: e, info: *reqinfo.FromContext(ctx), count: 1, firstSeen: now, lastSeen: now}
}

// queue adds e to the pending entries, waiting for room while the queue is
// full; false when it stayed full. An entry merging into a pending one
// costs no row of its own.
func (b *Batcher) queue(ctx context.Context, e Entry, single bool) bool {
	k, e, ok := pendingKey(ctx, e, single)
	if !ok {
		return true
	}
	now := store.Now()
	deadline := time.Now().Add(roomWait)
	b.mu.Lock()
	if single {
		b.seq++
		k.seq = b.seq
	}
	for len(b.pending)+b.writing >= b.max && b.pending[k] == nil {
		room := b.room
		b.mu.Unlock()
		b.nudge()
		if !waitForRoom(ctx, room, deadline) {
			return false
		}
		b.mu.Lock()
	}
	if cur := b.pending[k]; cur != nil {
		cur.count++
		cur.lastSeen = now
	} else {
		b.pending[k] = newBatched(ctx, e, now)
	}
	full := len(b.pending) >= batchSize
	b.mu.Unlock()
	if full {
		b.nudge()
	}
	return true
}

// nudge asks Run for a flush now.
func (b *Batcher) nudge() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

func waitForRoom(ctx context.Context, room <-chan struct{}, deadline time.Time) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-room:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// Flush writes the pending entries, one row each, flush.Chunk rows per
// statement. The rows of a failed statement, and those after it, wait for
// the next flush; rows refused on their own are dropped and counted.
func (b *Batcher) Flush(ctx context.Context) error {
	defer b.Hold()()
	b.mu.Lock()
	pending := b.pending
	b.pending = map[batchKey]*batched{}
	b.writing += len(pending)
	b.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	keys := slices.Collect(maps.Keys(pending))
	ctx = store.Unrestricted(ctx)
	var unwritten []batchKey
	var err error
	for start := 0; start < len(keys); start += flush.Chunk {
		end := min(start+flush.Chunk, len(keys))
		var dropped []batchKey
		dropped, unwritten, err = flush.Isolate(keys[start:end], func(ks []batchKey) error {
			rows := make([]*ent.AuditLogCreate, len(ks))
			for i, k := range ks {
				rows[i] = pending[k].create(b.client, k)
			}
			return b.client.AuditLog.CreateBulk(rows...).Exec(ctx)
		}, flush.RowsOwn)
		n := 0
		for _, k := range dropped {
			n += pending[k].count
		}
		b.Drop(n, "refused by the database (tenant purged)")
		if err != nil {
			unwritten = append(unwritten, keys[end:]...)
			break
		}
	}
	b.mu.Lock()
	b.writing -= len(pending)
	for _, k := range unwritten {
		b.requeue(k, pending[k])
	}
	close(b.room)
	b.room = make(chan struct{})
	b.mu.Unlock()
	return err
}

// requeue puts back an entry a flush could not write, merged with the
// identical ones tallied meanwhile. b.mu is held.
func (b *Batcher) requeue(k batchKey, agg *batched) {
	cur := b.pending[k]
	if cur == nil {
		b.pending[k] = agg
		return
	}
	cur.count += agg.count
	cur.firstSeen = agg.firstSeen
}

// create is the insert of the entry, in its tenant at its first sighting;
// a tallied entry's details carry its count and last sighting.
func (agg *batched) create(client *ent.Client, k batchKey) *ent.AuditLogCreate {
	c := newCreate(client, k.actorType, k.actorID, &agg.info, agg.entry).
		SetTenantID(k.tenant).SetOccurredAt(agg.firstSeen)
	if k.seq == 0 {
		details := scrub(agg.entry.Details)
		details["count"] = agg.count
		details["last_seen_at"] = agg.lastSeen
		c.SetDetails(details)
	}
	return c
}

// Run flushes every interval, or sooner when many entries wait, until ctx
// ends; then it flushes once more.
func (b *Batcher) Run(ctx context.Context, interval time.Duration) {
	b.Batch.Run(ctx, interval, b.kick, b.Flush)
}

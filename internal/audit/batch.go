package audit

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
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
type Batcher struct {
	client  *ent.Client
	logger  *slog.Logger
	mu      sync.Mutex
	pending map[batchKey]*batched
	seq     uint64
	kick    chan struct{}
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

// NewBatcher returns a batcher writing with client.
func NewBatcher(client *ent.Client, logger *slog.Logger) *Batcher {
	return &Batcher{client: client, logger: logger, pending: map[batchKey]*batched{}, kick: make(chan struct{}, 1)}
}

// Add queues e as a row of its own, taking the actor and request from ctx.
// The entry belongs to the context's tenant unless e names one.
func (b *Batcher) Add(ctx context.Context, e Entry) { b.queue(ctx, e, true) }

// Tally counts e with the identical entries of the current interval. Its
// details should be few-valued (a reason, not a timestamp), or nothing merges.
func (b *Batcher) Tally(ctx context.Context, e Entry) { b.queue(ctx, e, false) }

func (b *Batcher) queue(ctx context.Context, e Entry, single bool) {
	if e.TenantID == uuid.Nil {
		e.TenantID, _ = access.TenantFromContext(ctx)
	}
	if e.TenantID == uuid.Nil {
		return
	}
	if e.Outcome == "" {
		e.Outcome = Success
	}
	actorType, actorID := actorOf(ctx)
	k := batchKey{tenant: e.TenantID, actorType: actorType, actorID: actorID, action: e.Action,
		resType: e.ResourceType, resID: e.ResourceID, note: fmt.Sprint(e.Details), outcome: string(e.Outcome)}
	now := store.Now()
	b.mu.Lock()
	if single {
		b.seq++
		k.seq = b.seq
	}
	agg := b.pending[k]
	if agg == nil {
		agg = &batched{entry: e, info: *reqinfo.FromContext(ctx), firstSeen: now}
		b.pending[k] = agg
	}
	agg.count++
	agg.lastSeen = now
	full := len(b.pending) >= batchSize
	b.mu.Unlock()
	if full {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// Flush writes the pending entries, one row each, in one statement.
func (b *Batcher) Flush(ctx context.Context) error {
	b.mu.Lock()
	pending := b.pending
	b.pending = map[batchKey]*batched{}
	b.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	err := b.write(ctx, pending)
	if ent.IsConstraintError(err) {
		// A tenant was purged between the check and the write: check again.
		err = b.write(ctx, pending)
	}
	return err
}

// write inserts the pending entries of the tenants still there.
func (b *Batcher) write(ctx context.Context, pending map[batchKey]*batched) error {
	tenants := make([]uuid.UUID, 0, len(pending))
	for k := range pending {
		tenants = append(tenants, k.tenant)
	}
	live, err := store.LiveTenants(ctx, b.client, tenants)
	if err != nil {
		return err
	}
	rows := make([]*ent.AuditLogCreate, 0, len(pending))
	for k, agg := range pending {
		if !live[k.tenant] {
			continue // purged meanwhile: its entries went with it
		}
		details := scrub(agg.entry.Details)
		if k.seq == 0 {
			details["count"] = agg.count
			details["last_seen_at"] = agg.lastSeen
		}
		rows = append(rows, b.client.AuditLog.Create().SetTenantID(k.tenant).SetOccurredAt(agg.firstSeen).
			SetAction(k.action).SetResourceType(k.resType).SetResourceID(k.resID).SetOutcome(agg.entry.Outcome).
			SetActorType(k.actorType).SetActorID(k.actorID).SetRequestID(agg.info.RequestID).SetIP(agg.info.IP).
			SetUserAgent(truncate(agg.info.UserAgent, 512)).SetDetails(details))
	}
	if len(rows) == 0 {
		return nil
	}
	return b.client.AuditLog.CreateBulk(rows...).Exec(store.Unrestricted(ctx))
}

// Run flushes every interval, or sooner when many entries wait, until ctx
// ends; then it flushes once more.
func (b *Batcher) Run(ctx context.Context, interval time.Duration) {
	flush.Every(ctx, interval, b.kick, b.logger, "audit batch", b.Flush)
}

// Package usage counts requests per principal per day, in memory, and adds
// the counts to the database in batches: the dashboards read them, and no
// request pays for a write.
package usage

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/usagecounter"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/flush"
	"github.com/credvault/credvault/internal/platform/store"
)

type key struct {
	tenant uuid.UUID
	day    string
	kind   string
	id     string
}

// Counter counts requests. A count leaves memory only once the transaction
// adding it has committed (see package flush): a failed flush keeps it for
// the next, and the counts of a tenant purged meanwhile are dropped alone.
type Counter struct {
	flush.Batch
	db      *ent.Client
	mu      sync.Mutex
	pending map[key]int64
	// writing counts the rows taken by a flush not yet committed.
	writing int
}

// New returns a counter writing with db.
func New(db *ent.Client, logger *slog.Logger) *Counter {
	c := &Counter{db: db, pending: map[key]int64{}}
	c.Batch = flush.Batch{Kind: "usage_counts", Logger: logger, Queued: c.queued}
	return c
}

func (c *Counter) queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) + c.writing
}

// Count notes one request by p, in its home tenant. A principal new to a
// full queue is not counted (and the drop is) rather than making the
// request wait.
func (c *Counter) Count(p *access.Principal) {
	k := key{tenant: p.HomeTenantID, day: time.Now().UTC().Format(time.DateOnly), kind: string(p.Kind), id: p.ID.String()}
	if p.APIKeyID != uuid.Nil {
		k.kind, k.id = string(access.KindAPIKey), p.APIKeyID.String()
	}
	if p.ClientID != "" {
		k.id = p.ClientID
	}
	c.mu.Lock()
	if _, ok := c.pending[k]; !ok && len(c.pending)+c.writing >= flush.MaxQueued {
		c.mu.Unlock()
		c.Drop(1, "queue full")
		return
	}
	c.pending[k]++
	c.mu.Unlock()
}

// Flush adds the pending counts to the database, flush.Chunk rows per
// transaction. The counts of a failed transaction, and those after it, wait
// for the next flush.
func (c *Counter) Flush(ctx context.Context) error {
	defer c.Hold()()
	c.mu.Lock()
	pending := c.pending
	c.pending = map[key]int64{}
	c.writing += len(pending)
	c.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	keys := slices.Collect(maps.Keys(pending))
	ctx = store.Unrestricted(ctx)
	var unwritten []key
	var err error
	for start := 0; start < len(keys); start += flush.Chunk {
		end := min(start+flush.Chunk, len(keys))
		var dropped []key
		dropped, unwritten, err = flush.Isolate(keys[start:end], func(ks []key) error {
			return c.write(ctx, ks, pending)
		}, flush.RowsOwn)
		var n int64
		for _, k := range dropped {
			n += pending[k]
		}
		c.Drop(int(n), "refused by the database (tenant purged)")
		if err != nil {
			unwritten = append(unwritten, keys[end:]...)
			break
		}
	}
	c.mu.Lock()
	c.writing -= len(pending)
	for _, k := range unwritten {
		c.pending[k] += pending[k]
	}
	c.mu.Unlock()
	return err
}

// write adds the counts of keys in one transaction.
func (c *Counter) write(ctx context.Context, keys []key, counts map[key]int64) error {
	return store.WithTx(ctx, c.db, func(ctx context.Context, tx *ent.Client) error {
		for _, k := range keys {
			n := counts[k]
			err := tx.UsageCounter.Create().SetTenantID(k.tenant).SetDay(k.day).SetPrincipalType(k.kind).
				SetPrincipalID(k.id).SetCount(n).
				OnConflictColumns(usagecounter.FieldTenantID, usagecounter.FieldDay, usagecounter.FieldPrincipalType, usagecounter.FieldPrincipalID).
				Update(func(u *ent.UsageCounterUpsert) { u.AddCount(n).UpdateUpdatedAt() }).
				Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Run flushes every interval until ctx ends, then once more.
func (c *Counter) Run(ctx context.Context, interval time.Duration) {
	c.Batch.Run(ctx, interval, nil, c.Flush)
}

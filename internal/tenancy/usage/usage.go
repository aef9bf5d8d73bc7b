// Package usage counts requests per principal per day, in memory, and adds
// the counts to the database in batches: the dashboards read them, and no
// request pays for a write.
package usage

import (
	"context"
	"log/slog"
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

// Counter counts requests.
type Counter struct {
	db      *ent.Client
	logger  *slog.Logger
	mu      sync.Mutex
	pending map[key]int64
}

// New returns a counter writing with db.
func New(db *ent.Client, logger *slog.Logger) *Counter {
	return &Counter{db: db, logger: logger, pending: map[key]int64{}}
}

// Count notes one request by p, in its home tenant.
func (c *Counter) Count(p *access.Principal) {
	k := key{tenant: p.HomeTenantID, day: time.Now().UTC().Format(time.DateOnly), kind: string(p.Kind), id: p.ID.String()}
	if p.APIKeyID != uuid.Nil {
		k.kind, k.id = string(access.KindAPIKey), p.APIKeyID.String()
	}
	if p.ClientID != "" {
		k.id = p.ClientID
	}
	c.mu.Lock()
	c.pending[k]++
	c.mu.Unlock()
}

// Flush adds the pending counts to the database in one transaction.
func (c *Counter) Flush(ctx context.Context) error {
	c.mu.Lock()
	pending := c.pending
	c.pending = map[key]int64{}
	c.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	ctx = store.Unrestricted(ctx)
	err := c.write(ctx, pending)
	if ent.IsConstraintError(err) {
		// A tenant was purged between the check and the write: check again.
		err = c.write(ctx, pending)
	}
	return err
}

// write adds the pending counts of the tenants still there.
func (c *Counter) write(ctx context.Context, pending map[key]int64) error {
	tenants := make([]uuid.UUID, 0, len(pending))
	for k := range pending {
		tenants = append(tenants, k.tenant)
	}
	live, err := store.LiveTenants(ctx, c.db, tenants)
	if err != nil {
		return err
	}
	return store.WithTx(ctx, c.db, func(ctx context.Context, tx *ent.Client) error {
		for k, n := range pending {
			if !live[k.tenant] {
				continue // purged meanwhile
			}
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
	flush.Every(ctx, interval, nil, c.logger, "usage counts", c.Flush)
}

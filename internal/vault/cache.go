package vault

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/invalidate"
)

// Cache bounds: every credential change, and the end of a DEK rotation,
// drops its tenant's rows on every instance through the bus (a stored
// credential just after its commit, see added), so the TTL only bounds
// staleness should a notification be lost (rows re-sealed meanwhile still
// open under the old DEK until it is destroyed).
const (
	credentialTTL     = time.Minute
	maxCachedRowCount = 10_000
)

// Cache keeps the credential rows (ciphertext and metadata) of the
// integrations read lately, by tenant, so a hot read of an integration's
// credentials costs no database round trip. Plaintext is never cached.
type Cache struct {
	bus  *invalidate.Bus
	mu   sync.RWMutex
	m    map[integrationKey]cachedRows
	size int
	// gen counts drops: a read that began before one may have seen the rows
	// as they were, and is not kept.
	gen uint64
}

type integrationKey struct {
	tenant      uuid.UUID
	integration string
}

type cachedRows struct {
	rows   []*ent.Credential
	loaded time.Time
}

// NewCache returns a credential cache that drops what the bus says changed.
func NewCache(bus *invalidate.Bus) *Cache {
	c := &Cache{bus: bus, m: map[integrationKey]cachedRows{}}
	bus.Subscribe(c.invalidate)
	return c
}

func (c *Cache) invalidate(t invalidate.Topic) {
	kind, id := t.Split()
	switch kind {
	case invalidate.Credential, invalidate.Tenant, invalidate.DEK:
		if u, err := uuid.Parse(id); err == nil {
			c.drop(u)
		}
	case invalidate.All:
		c.mu.Lock()
		c.gen++
		c.m, c.size = map[integrationKey]cachedRows{}, 0
		c.mu.Unlock()
	}
}

// drop forgets every cached row of tenant.
func (c *Cache) drop(tenant uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if k.tenant == tenant {
			delete(c.m, k)
			c.size -= len(e.rows)
		}
	}
}

// changed announces, with the transaction of ctx, that tenant's
// credentials change: every instance drops them when it commits.
func (c *Cache) changed(ctx context.Context, tx *ent.Client, tenant uuid.UUID) error {
	return c.bus.Publish(ctx, tx, invalidate.For(invalidate.Credential, tenant.String()))
}

// added announces that tenant's credentials gained a row once the
// transaction of ctx commits. No cached row changed and an integration
// without rows is never cached, so a cache that misses the row only serves
// what it served a moment before: other instances hear of it just after the
// commit (PublishSoon), and the write does not queue for the commit of
// every other notifying transaction.
func (c *Cache) added(ctx context.Context, tenant uuid.UUID) {
	c.bus.PublishSoon(ctx, invalidate.For(invalidate.Credential, tenant.String()))
}

// integration returns the rows of tenant's integration, from the cache or
// from load, which reads them as ctx may. The slice is the caller's own;
// the rows are shared and read only. Inside a transaction load's rows are
// not kept.
func (c *Cache) integration(ctx context.Context, tenant uuid.UUID, integration string, load func() ([]*ent.Credential, error)) ([]*ent.Credential, error) {
	if ent.TxFromContext(ctx) != nil {
		return load()
	}
	key := integrationKey{tenant, integration}
	c.mu.RLock()
	e, gen := c.m[key], c.gen
	c.mu.RUnlock()
	if e.rows == nil || time.Since(e.loaded) > credentialTTL {
		rows, err := load()
		if err != nil || len(rows) == 0 {
			return rows, err
		}
		e = cachedRows{rows: rows, loaded: time.Now()}
		c.mu.Lock()
		if gen == c.gen {
			if old, ok := c.m[key]; ok {
				c.size -= len(old.rows)
			}
			if c.size+len(rows) > maxCachedRowCount {
				// Full: start over rather than track recency on the hot path.
				c.m, c.size = map[integrationKey]cachedRows{}, 0
			}
			c.m[key] = e
			c.size += len(rows)
		}
		c.mu.Unlock()
	}
	return append([]*ent.Credential(nil), e.rows...), nil
}

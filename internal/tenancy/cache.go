package tenancy

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/invalidate"
)

// Cache bounds: every change of a tenant drops it on every instance through
// the bus, so the TTL only bounds staleness should a notification be lost.
const (
	tenantTTL        = time.Minute
	maxCachedTenants = 10_000
)

// Cache keeps tenant rows in memory, so a request reading its own tenant
// (GET /auth/me) costs no database round trip.
type Cache struct {
	client *ent.Client
	mu     sync.RWMutex
	m      map[uuid.UUID]cachedTenant
	// gen counts drops: a read that began before one may have seen the row
	// as it was, and is not kept.
	gen uint64
}

type cachedTenant struct {
	t      *ent.Tenant
	loaded time.Time
}

// NewCache returns a tenant cache that drops what the bus says changed.
func NewCache(client *ent.Client, bus *invalidate.Bus) *Cache {
	c := &Cache{client: client, m: map[uuid.UUID]cachedTenant{}}
	bus.Subscribe(c.invalidate)
	return c
}

func (c *Cache) invalidate(t invalidate.Topic) {
	kind, id := t.Split()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch kind {
	case invalidate.Tenant:
		if u, err := uuid.Parse(id); err == nil {
			c.gen++
			delete(c.m, u)
		}
	case invalidate.All:
		c.gen++
		c.m = map[uuid.UUID]cachedTenant{}
	}
}

// Of returns the tenant that principal p (ctx's) acts in; the copy is the
// caller's own. Inside a transaction the row is read with it and not kept.
func (c *Cache) Of(ctx context.Context, p *access.Principal) (*ent.Tenant, error) {
	id := p.TenantID
	if ent.TxFromContext(ctx) != nil {
		return c.client.Tenant.Get(ctx, id)
	}
	c.mu.RLock()
	e, gen := c.m[id], c.gen
	c.mu.RUnlock()
	if e.t == nil || time.Since(e.loaded) > tenantTTL {
		t, err := c.client.Tenant.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		e = cachedTenant{t: t, loaded: time.Now()}
		c.mu.Lock()
		if gen == c.gen {
			if len(c.m) >= maxCachedTenants {
				// Full: start over rather than track recency on the hot path.
				c.m = map[uuid.UUID]cachedTenant{}
			}
			c.m[id] = e
		}
		c.mu.Unlock()
	}
	cp := *e.t
	return &cp, nil
}

package invalidate

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// TenantCache keeps one value per tenant, such as its webhook subscriptions
// or its compiled guardrails, so that a request reads them without a
// statement. The bus drops a tenant's value on every instance when it
// announces kind for that tenant, a change of the tenant itself, or All;
// the TTL bounds staleness should an announcement be lost.
type TenantCache[V any] struct {
	kind string
	ttl  time.Duration
	max  int

	mu sync.RWMutex
	m  map[uuid.UUID]tenantEntry[V]
	// gen counts drops: a load begun before one is not kept.
	gen uint64
}

type tenantEntry[V any] struct {
	v      V
	loaded time.Time
}

// NewTenantCache returns a cache of at most max tenants that follows bus
// for topics of kind.
func NewTenantCache[V any](bus *Bus, kind string, ttl time.Duration, max int) *TenantCache[V] {
	c := &TenantCache[V]{kind: kind, ttl: ttl, max: max, m: map[uuid.UUID]tenantEntry[V]{}}
	bus.Subscribe(c.invalidate)
	return c
}

// Get returns tenant's value, calling load when it is not cached (or is
// older than the TTL) and keeping what load returns unless a drop happened
// meanwhile.
func (c *TenantCache[V]) Get(tenant uuid.UUID, load func() (V, error)) (V, error) {
	c.mu.RLock()
	e, ok := c.m[tenant]
	gen := c.gen
	c.mu.RUnlock()
	if ok && time.Since(e.loaded) < c.ttl {
		return e.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		if len(c.m) >= c.max {
			c.m = map[uuid.UUID]tenantEntry[V]{}
		}
		c.m[tenant] = tenantEntry[V]{v: v, loaded: time.Now()}
	}
	return v, nil
}

func (c *TenantCache[V]) invalidate(t Topic) {
	kind, id := t.Split()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch kind {
	case c.kind, Tenant:
		if u, err := uuid.Parse(id); err == nil {
			c.gen++
			delete(c.m, u)
		}
	case All:
		c.gen++
		c.m = map[uuid.UUID]tenantEntry[V]{}
	}
}

package apikeys

import (
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/ipallow"
)

// entry is what the verifier knows of one key secret's hash: a snapshot of
// the key row and its tenant, or the fact that no key has this hash.
type entry struct {
	found    bool
	id       uuid.UUID
	tenantID uuid.UUID
	revoked  bool
	// expiresAt is the key's expiry; graceUntil ends a rotated-out secret.
	expiresAt  *time.Time
	graceUntil *time.Time
	scopes     access.Set
	allow      ipallow.List
	// tenantAllow is the tenant's own allowlist, applied to every credential.
	tenantAllow      ipallow.List
	tenantActive     bool
	userID           uuid.UUID
	serviceAccountID uuid.UUID
	rateLimit        *RateLimit
	// plan is the tenant's plan, which limits the key's requests unless it
	// has a rateLimit of its own.
	plan   string
	loaded time.Time
}

// RateLimit is a key's own request limit.
type RateLimit = access.RateLimit

// Cache lifetimes: invalidations make changes visible at once, so the TTL
// only bounds staleness should a notification ever be lost.
const (
	positiveTTL = time.Minute
	negativeTTL = 10 * time.Second
	maxEntries  = 100_000
)

// cache maps secret hashes to entries; byKey finds every hash of a key,
// so that revoking or rotating it drops them all.
type cache struct {
	mu      sync.RWMutex
	entries map[string]*entry
	byKey   map[uuid.UUID][]string
	// gen counts drops. A load that began before a drop may have read the
	// row as it was before the change: it is not cached.
	gen uint64
}

// generation is read before a load, and handed back to put.
func (c *cache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

func newCache() *cache {
	return &cache{entries: map[string]*entry{}, byKey: map[uuid.UUID][]string{}}
}

func (c *cache) get(hash string, now time.Time) *entry {
	c.mu.RLock()
	e := c.entries[hash]
	c.mu.RUnlock()
	if e == nil {
		return nil
	}
	ttl := positiveTTL
	if !e.found {
		ttl = negativeTTL
	}
	if now.Sub(e.loaded) > ttl {
		return nil
	}
	return e
}

// put caches e, loaded since generation gen, unless a drop came meanwhile.
func (c *cache) put(hash string, e *entry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= maxEntries {
		// Full: start over rather than track recency on the hot path.
		c.entries, c.byKey = map[string]*entry{}, map[uuid.UUID][]string{}
	}
	c.entries[hash] = e
	if e.found && !slices.Contains(c.byKey[e.id], hash) {
		c.byKey[e.id] = append(c.byKey[e.id], hash)
	}
}

// dropKey forgets every hash of key id.
func (c *cache) dropKey(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, h := range c.byKey[id] {
		delete(c.entries, h)
	}
	delete(c.byKey, id)
}

// dropTenant forgets every key of a tenant.
func (c *cache) dropTenant(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.entries {
		if e.tenantID == id {
			delete(c.entries, h)
			delete(c.byKey, e.id)
		}
	}
}

// dropAll forgets everything.
func (c *cache) dropAll() {
	c.mu.Lock()
	c.gen++
	c.entries, c.byKey = map[string]*entry{}, map[uuid.UUID][]string{}
	c.mu.Unlock()
}

package dek

import (
	"context"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// maxCachedDEKs bounds the unwrapped DEKs kept in memory (32 bytes each).
const maxCachedDEKs = 100_000

// Listen makes the manager announce the DEKs it destroys on bus, and drop
// the DEKs that every instance destroys: a destroyed key leaves every
// instance's memory, not only the one that destroyed it.
func (m *Manager) Listen(bus *invalidate.Bus) *Manager {
	m.bus = bus
	bus.Subscribe(m.invalidate)
	return m
}

func (m *Manager) invalidate(t invalidate.Topic) {
	kind, id := t.Split()
	switch kind {
	case invalidate.DEK, invalidate.Tenant:
		if u, err := uuid.Parse(id); err == nil {
			m.dropTenant(u)
		}
	case invalidate.All:
		m.mu.Lock()
		m.cache = map[cacheKey]crypt.DEK{}
		m.mu.Unlock()
	}
}

// dropTenant forgets the tenant's unwrapped DEKs; those still in use are
// read again.
func (m *Manager) dropTenant(tenant uuid.UUID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.cache {
		if k.tenant == tenant {
			delete(m.cache, k)
		}
	}
}

// destroyed announces, with tx, that some of tenant's DEKs are destroyed.
func (m *Manager) destroyed(ctx context.Context, tx *ent.Client, tenant uuid.UUID) error {
	if m.bus == nil {
		return nil
	}
	return m.bus.Publish(ctx, tx, invalidate.For(invalidate.DEK, tenant.String()))
}

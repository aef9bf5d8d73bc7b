package oauth

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/ipallow"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
)

// client is what client authentication, token issuance and token
// verification need of a client, cached.
type client struct {
	found        bool
	id           uuid.UUID
	clientID     string
	tenantID     uuid.UUID
	active       bool
	tenantActive bool
	// secretHash is the current secret's hash; previousHash, when set, the
	// rotated-out secret's, which authenticates until previousUntil.
	secretHash   []byte
	previousHash []byte
	grantTypes   []string
	tokenTTL     time.Duration
	// tenantAllow is the tenant's allowlist, applied to every credential.
	tenantAllow ipallow.List
	scopes      access.Set
	// plan is the tenant's plan, which limits the client's requests.
	plan string
	// secretVersion is the current secret's; tokens of the previous secret
	// live until previousUntil (zero when it has none).
	secretVersion int
	previousUntil time.Time
	// notBefore refuses tokens issued before it, in microseconds since the
	// epoch (0: none): set when the client is disabled.
	notBefore int64
	// loaded is when the row was read, at the latest.
	loaded time.Time
}

// Cache bounds: every change of a client or its tenant drops it on every
// instance, so the TTL only bounds staleness should an invalidation be
// lost; an unknown client_id is remembered briefly.
const (
	clientTTL        = time.Minute
	unknownClientTTL = 10 * time.Second
	maxCachedClients = 10_000
)

// clientCache maps client_id to the client's state; the bus drops entries
// when a client or its tenant changes.
type clientCache struct {
	db *ent.Client
	mu sync.RWMutex
	m  map[string]*client
	// gen counts invalidations: a read that began before one may have seen
	// the client as it was, and is not cached.
	gen uint64
}

func newClientCache(db *ent.Client, bus *invalidate.Bus) *clientCache {
	c := &clientCache{db: db, m: map[string]*client{}}
	bus.Subscribe(c.invalidate)
	return c
}

func (c *clientCache) invalidate(t invalidate.Topic) {
	kind, id := t.Split()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	switch kind {
	case invalidate.OAuthClient:
		delete(c.m, id)
	case invalidate.Tenant, invalidate.All:
		c.m = map[string]*client{}
	}
}

// get returns the state of clientID, reading it on a miss.
func (c *clientCache) get(ctx context.Context, clientID string) (*client, error) {
	c.mu.RLock()
	cl, gen := c.m[clientID], c.gen
	c.mu.RUnlock()
	if cl != nil && time.Since(cl.loaded) < cl.ttl() {
		return cl, nil
	}
	// Taken before the read: no change committed after it is in the row.
	cl = &client{loaded: store.Now()}
	row, err := c.db.OAuthClient.Query().Where(oauthclient.ClientID(clientID)).WithTenant().Only(store.Unrestricted(ctx))
	switch {
	case ent.IsNotFound(err), err == nil && row.Edges.Tenant == nil:
	case err != nil:
		return nil, err
	default:
		cl.found, cl.id, cl.clientID, cl.tenantID = true, row.ID, row.ClientID, row.TenantID
		cl.secretHash, cl.grantTypes = row.SecretHash, row.GrantTypes
		cl.tokenTTL = time.Duration(row.AccessTokenTTLSeconds) * time.Second
		cl.active = row.Status == oauthclient.StatusActive
		cl.tenantActive = row.Edges.Tenant.Status == tenant.StatusActive
		cl.tenantAllow = ipallow.Parse(row.Edges.Tenant.Settings.IPAllowlist)
		cl.scopes = access.NewSet(row.Scopes...)
		cl.plan = row.Edges.Tenant.Plan
		cl.secretVersion = row.SecretVersion
		if row.PreviousSecretHash != nil && row.PreviousSecretExpiresAt != nil {
			cl.previousHash, cl.previousUntil = *row.PreviousSecretHash, *row.PreviousSecretExpiresAt
		}
		if row.TokensNotBefore != nil {
			cl.notBefore = row.TokensNotBefore.UnixMicro()
		}
	}
	c.mu.Lock()
	if gen == c.gen {
		if len(c.m) >= maxCachedClients {
			// Full: start over rather than track recency on the hot path.
			c.m = map[string]*client{}
		}
		c.m[clientID] = cl
	}
	c.mu.Unlock()
	return cl, nil
}

func (cl *client) ttl() time.Duration {
	if cl.found {
		return clientTTL
	}
	return unknownClientTTL
}

// secretVersionOf returns the version of the client secret whose hash is
// h, the rotated-out one only within its grace period; ok is false when h
// is neither.
func (cl *client) secretVersionOf(h []byte, now time.Time) (version int, ok bool) {
	switch {
	case secret.Equal(h, cl.secretHash):
		return cl.secretVersion, true
	case cl.previousHash != nil && now.Before(cl.previousUntil) && secret.Equal(h, cl.previousHash):
		return cl.secretVersion - 1, true
	}
	return 0, false
}

// ended tells whether the token of claims c has ended with its cause: the
// secret that obtained it was rotated out (at once, or when its grace
// ended), or the client was disabled after issuing it.
func (cl *client) ended(c *AccessClaims, now time.Time) bool {
	iat := c.IssuedAtMicros
	if iat == 0 && c.IssuedAt != nil {
		iat = c.IssuedAt.UnixMicro()
	}
	if iat < cl.notBefore {
		return true
	}
	switch c.SecretVersion {
	case cl.secretVersion:
		return false
	case cl.secretVersion - 1:
		return !now.Before(cl.previousUntil)
	}
	return true
}

// current is the part of a token's scope the client still holds: a scope
// taken from the client leaves its tokens at once.
func (cl *client) current(tokenScope string) access.Set {
	var granted []string
	for _, sc := range strings.Fields(tokenScope) {
		if cl.scopes.Has(sc) {
			granted = append(granted, sc)
		}
	}
	return access.NewSet(granted...)
}

// Package apikeys verifies API keys: CredVault's hot path. A verified key is
// cached in memory, negative answers too, so a hot key costs no database
// round trip; revocation, rotation and tenant changes drop cache entries on
// every instance through the invalidation bus. last_used_at is written in
// batches in the background, never once per request.
package apikeys

import (
	"context"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/ipallow"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
)

// Prefix starts every API key; TestPrefix, which extends it, every key of
// a sandbox tenant.
const (
	Prefix     = "cvk_"
	TestPrefix = "cvk_test_"
)

// The reasons a key is refused, as validate and a 401 name them.
const (
	ReasonInvalid      = "invalid"
	ReasonExpired      = "expired"
	ReasonRevoked      = "revoked"
	ReasonIPNotAllowed = "ip_not_allowed"
)

// Verifier checks API keys.
type Verifier struct {
	client  *ent.Client
	cache   *cache
	usage   *Usage
	refused *audit.Batcher
	metrics *metrics.Metrics
	now     func() time.Time
}

// NewVerifier returns a verifier whose cache listens on bus; refusals of
// known keys are audited through refused.
func NewVerifier(client *ent.Client, bus *invalidate.Bus, usage *Usage, refused *audit.Batcher, m *metrics.Metrics) *Verifier {
	v := &Verifier{client: client, cache: newCache(), usage: usage, refused: refused, metrics: m, now: time.Now}
	bus.Subscribe(v.invalidate)
	return v
}

func (v *Verifier) invalidate(t invalidate.Topic) {
	kind, id := t.Split()
	switch kind {
	case invalidate.APIKey:
		if u, err := uuid.Parse(id); err == nil {
			v.cache.dropKey(u)
		}
	case invalidate.Tenant:
		if u, err := uuid.Parse(id); err == nil {
			v.cache.dropTenant(u)
		}
	case invalidate.All:
		v.cache.dropAll()
	}
}

// Result is the outcome of checking a key.
type Result struct {
	// Reason is "" for a valid key, else why it is refused.
	Reason string
	// KeyID and TenantID are set when the key exists, valid or not.
	KeyID    uuid.UUID
	TenantID uuid.UUID
	Scopes   []string
	// ExpiresAt is the key's expiry, if it has one.
	ExpiresAt *time.Time
	RateLimit *RateLimit

	userID, serviceAccountID uuid.UUID
	plan                     string
}

// Valid reports whether the key may be used.
func (r *Result) Valid() bool { return r.Reason == "" }

// Check verifies key for a client at ip (the zero Addr skips allowlists),
// counting the result in the key validation metric.
func (v *Verifier) Check(ctx context.Context, key string, ip netip.Addr) (*Result, error) {
	res, err := v.check(ctx, key, ip)
	if err == nil {
		v.metrics.KeyValidations.WithLabelValues(metrics.Result(res.Reason)).Inc()
	}
	return res, err
}

func (v *Verifier) check(ctx context.Context, key string, ip netip.Addr) (*Result, error) {
	if !strings.HasPrefix(key, Prefix) || len(key) < len(Prefix)+32 || len(key) > 128 {
		return &Result{Reason: ReasonInvalid}, nil
	}
	sum := secret.Hash(key)
	hash := hex.EncodeToString(sum)
	now := v.now()
	e := v.cache.get(hash, now)
	if e == nil {
		gen := v.cache.generation()
		var err error
		if e, err = v.load(ctx, sum); err != nil {
			return nil, err
		}
		e.loaded = now
		v.cache.put(hash, e, gen)
	}
	if !e.found || strings.HasPrefix(key, TestPrefix) != (e.plan == access.PlanSandbox) {
		// A test key never opens a live tenant, nor a live key a sandbox:
		// such a key is no key of the tenant at all.
		return &Result{Reason: ReasonInvalid}, nil
	}
	res := &Result{KeyID: e.id, TenantID: e.tenantID, Scopes: e.scopes.List(), ExpiresAt: e.expiresAt,
		RateLimit: e.rateLimit, userID: e.userID, serviceAccountID: e.serviceAccountID, plan: e.plan}
	switch {
	case e.revoked || !e.tenantActive:
		res.Reason = ReasonRevoked
	case e.expiresAt != nil && !now.Before(*e.expiresAt):
		res.Reason = ReasonExpired
	case e.graceUntil != nil && !now.Before(*e.graceUntil):
		res.Reason = ReasonRevoked
	case !e.allow.Allows(ip) || !e.tenantAllow.Allows(ip):
		res.Reason = ReasonIPNotAllowed
	}
	return res, nil
}

// load reads the key whose current or rotated-out secret has hash sum.
func (v *Verifier) load(ctx context.Context, sum []byte) (*entry, error) {
	ctx = store.Unrestricted(ctx)
	k, err := v.client.APIKey.Query().
		Where(apikey.Or(apikey.KeyHash(sum), apikey.PreviousKeyHash(sum))).
		WithTenant().WithServiceAccount().Only(ctx)
	if ent.IsNotFound(err) {
		return &entry{}, nil
	}
	if err != nil {
		return nil, err
	}
	t := k.Edges.Tenant
	if t == nil { // the tenant was purged between the two reads
		return &entry{}, nil
	}
	e := &entry{
		found: true, id: k.ID, tenantID: k.TenantID,
		revoked:      k.Status == apikey.StatusRevoked,
		expiresAt:    k.ExpiresAt,
		scopes:       access.NewSet(k.Scopes...),
		allow:        ipallow.Parse(k.IPAllowlist),
		tenantAllow:  ipallow.Parse(t.Settings.IPAllowlist),
		tenantActive: t.Status == tenant.StatusActive,
		plan:         t.Plan,
	}
	if !secret.Equal(k.KeyHash, sum) {
		// A rotated-out secret: valid only through its grace period.
		grace := k.PreviousKeyExpiresAt
		if grace == nil {
			grace = &time.Time{}
		}
		e.graceUntil = grace
	}
	if k.UserID != nil {
		e.userID = *k.UserID
	}
	if sa := k.Edges.ServiceAccount; sa != nil {
		e.serviceAccountID = sa.ID
		if sa.Status != serviceaccount.StatusActive {
			e.revoked = true
		}
	}
	if k.RateLimitRequests != nil && k.RateLimitWindowSeconds != nil {
		e.rateLimit = &RateLimit{Requests: *k.RateLimitRequests, Window: time.Duration(*k.RateLimitWindowSeconds) * time.Second}
	}
	return e, nil
}

// Verify authenticates a request's API key: the auth middleware's verifier.
// A key owned by a service account authenticates as that account.
func (v *Verifier) Verify(ctx context.Context, key string) (*access.Principal, error) {
	res, err := v.Check(ctx, key, ipallow.ClientIP(ctx))
	if err != nil {
		return nil, err
	}
	if !res.Valid() {
		if res.TenantID != uuid.Nil {
			v.auditRefusal(ctx, res)
		}
		return nil, apperr.Unauthenticated(res.Reason)
	}
	v.usage.Touch(res.KeyID, v.now())
	p := &access.Principal{
		Kind: access.KindAPIKey, ID: res.KeyID, APIKeyID: res.KeyID,
		TenantID: res.TenantID, HomeTenantID: res.TenantID, Scopes: access.NewSet(res.Scopes...),
		UserID: res.userID, ServiceAccountID: res.serviceAccountID, Plan: res.plan, RateLimit: res.RateLimit,
	}
	if res.serviceAccountID != uuid.Nil {
		p.Kind, p.ID = access.KindServiceAccount, res.serviceAccountID
	}
	return p, nil
}

// auditRefusal records a refused key in its tenant, batched: refusals come
// in floods when a leaked or revoked key is replayed.
func (v *Verifier) auditRefusal(ctx context.Context, res *Result) {
	v.refused.Tally(ctx, audit.Entry{Action: "api_key.verify", ResourceType: "api_key",
		ResourceID: res.KeyID.String(), Outcome: audit.Failure, TenantID: res.TenantID,
		Details: map[string]any{"reason": res.Reason}})
}

// Used notes that key id was used just now; last_used_at follows in a batch.
func (v *Verifier) Used(id uuid.UUID) { v.usage.Touch(id, v.now()) }

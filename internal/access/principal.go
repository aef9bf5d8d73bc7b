// Package access says who is calling and what they may do: the principal of a
// request (who, in which tenant, with which scopes) carried through a context,
// the scopes, the roles that hold them and the operations that need them. The
// data layer reads the tenant from here.
package access

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Kind is the sort of credential a principal authenticated with.
type Kind string

// The principal kinds of SPEC §3, plus System for work the server does itself.
const (
	KindUser           Kind = "user"
	KindAPIKey         Kind = "api_key"
	KindOAuthClient    Kind = "oauth_client"
	KindServiceAccount Kind = "service_account"
	KindSystem         Kind = "system"
)

// Principal is an authenticated caller.
type Principal struct {
	Kind Kind
	// ID is the user's, key's, client's or service account's id.
	ID uuid.UUID
	// TenantID is the tenant the request acts in: the home tenant, or the one a
	// platform admin selected with x-tenantid.
	TenantID uuid.UUID
	// HomeTenantID is the tenant the credential belongs to.
	HomeTenantID uuid.UUID
	Scopes       Set
	// APIKeyID is set when the principal authenticated with an API key.
	APIKeyID uuid.UUID
	// ClientID is the OAuth client_id when the principal is an OAuth client.
	ClientID string
	// UserID is the user behind the principal: the user itself, or the user
	// owning the API key.
	UserID uuid.UUID
	// ServiceAccountID is set when a service account's key authenticated.
	ServiceAccountID uuid.UUID
	// Plan is the plan of the credential's tenant, which sets its request
	// limit; RateLimit, when set, is an API key's own limit and overrides it.
	Plan      string
	RateLimit *RateLimit
}

// RateLimit is a number of requests allowed per window.
type RateLimit struct {
	Requests int
	Window   time.Duration
}

// System returns the principal the server acts as for background work in one tenant.
func System(tenantID uuid.UUID) *Principal {
	return &Principal{Kind: KindSystem, TenantID: tenantID, HomeTenantID: tenantID, Scopes: NewSet(All...)}
}

type ctxKey struct{}

// NewContext returns a context carrying p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of ctx, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
}

// TenantFromContext returns the tenant the request acts in, if a principal is present.
func TenantFromContext(ctx context.Context) (uuid.UUID, bool) {
	p, ok := FromContext(ctx)
	if !ok || p.TenantID == uuid.Nil {
		return uuid.Nil, false
	}
	return p.TenantID, true
}

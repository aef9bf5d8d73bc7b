// Package identity signs users up and in: registration of a tenant and its
// owner, password login, session tokens and their rotating refresh tokens,
// and the verification of a session token on every request.
package identity

import (
	"context"
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"entgo.io/ent/dialect/sql"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/ent/refreshtoken"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/ipallow"
	"github.com/credvault/credvault/internal/platform/store"
)

// Lifetimes of a session.
const (
	SessionTTL = 15 * time.Minute
	RefreshTTL = 30 * 24 * time.Hour
)

// Audience is the aud of session tokens.
const Audience = "credvault"

// Service is the identity domain.
type Service struct {
	Client *ent.Client
	Keys   *tokens.Keyring
	// AllowSignup enables Register; DefaultPlan is a new tenant's plan.
	AllowSignup bool
	DefaultPlan string
	Guard       *LoginGuard
	// Argon2 is the cost of a new password hash; dummyHash, made with it,
	// is verified when a login names no user, to spend the same time.
	Argon2    password.Params
	dummyHash string
	// now is the clock, replaceable in tests of expiry.
	now func() time.Time
}

// New returns the identity service, hashing new passwords with argon2.
func New(client *ent.Client, keys *tokens.Keyring, allowSignup bool, defaultPlan string, guard *LoginGuard, argon2 password.Params) (*Service, error) {
	dummy, err := argon2.Hash("credvault-no-such-user")
	if err != nil {
		return nil, err
	}
	return &Service{Client: client, Keys: keys, AllowSignup: allowSignup, DefaultPlan: defaultPlan, Guard: guard,
		Argon2: argon2, dummyHash: dummy, now: func() time.Time { return store.Now() }}, nil
}

// SetClock replaces the clock; tests use it to make sessions expire.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// SessionClaims are the claims of a session token.
type SessionClaims struct {
	jwt.RegisteredClaims
	// TenantID is the user's tenant.
	TenantID string `json:"tid"`
	// SessionID is the refresh-token family the session belongs to.
	SessionID string `json:"sid"`
	// IssuedAtMicros is iat to the microsecond: a session revoked in the same
	// second as a new one is issued must tell the two apart.
	IssuedAtMicros int64 `json:"iat_us"`
}

// VerifySession checks a session token and returns its principal. The user
// and its tenant are read on every request, so a deleted or disabled user, a
// suspended tenant, or a revoked session family stops working at once, on
// every instance.
func (s *Service) VerifySession(ctx context.Context, token string) (*access.Principal, error) {
	var claims SessionClaims
	if err := s.Keys.Parse(ctx, token, &claims, tokens.TypeSession, Audience); err != nil {
		return nil, tokenError(err)
	}
	uid, err := uuid.Parse(claims.Subject)
	if err != nil {
		return nil, apperr.Unauthenticated("invalid")
	}
	family, err := uuid.Parse(claims.SessionID)
	if err != nil {
		return nil, apperr.Unauthenticated("invalid")
	}
	u, err := s.Client.User.Query().Where(user.ID(uid), familyLive(family)).WithTenant().Only(store.Unrestricted(ctx))
	switch {
	case ent.IsNotFound(err), err == nil && u.Edges.Tenant == nil:
		return nil, apperr.Unauthenticated("revoked")
	case err != nil:
		return nil, err
	case u.Status != user.StatusActive || u.Edges.Tenant.Status != tenant.StatusActive:
		return nil, apperr.Unauthenticated("revoked")
	case u.TenantID.String() != claims.TenantID:
		return nil, apperr.Unauthenticated("invalid")
	case u.SessionsNotBefore != nil && claims.IssuedAtMicros < u.SessionsNotBefore.UnixMicro():
		return nil, apperr.Unauthenticated("revoked")
	case !ipallow.Parse(u.Edges.Tenant.Settings.IPAllowlist).Allows(ipallow.ClientIP(ctx)):
		return nil, apperr.Unauthenticated("ip_not_allowed")
	}
	return userPrincipal(u, u.Edges.Tenant), nil
}

// familyLive holds while no refresh token of the session family is revoked.
// A family is revoked whole (reuse detected, sessions ended), and its
// session tokens with it: read in the query that reads the user, a revoked
// family is no user, answered "revoked".
func familyLive(family uuid.UUID) predicate.User {
	return func(s *sql.Selector) {
		t := sql.Table(refreshtoken.Table)
		s.Where(sql.NotExists(sql.Select(t.C(refreshtoken.FieldID)).From(t).Where(sql.And(
			sql.EQ(t.C(refreshtoken.FieldFamilyID), family), sql.NotNull(t.C(refreshtoken.FieldRevokedAt))))))
	}
}

// userPrincipal is the principal of a signed-in user.
func userPrincipal(u *ent.User, t *ent.Tenant) *access.Principal {
	return &access.Principal{
		Kind: access.KindUser, ID: u.ID, UserID: u.ID, TenantID: u.TenantID, HomeTenantID: u.TenantID,
		Scopes: access.ForRole(u.Role.String(), t.Platform), Plan: t.Plan,
	}
}

// tokenError maps a token verification failure to a 401 reason.
func tokenError(err error) error {
	switch {
	case errors.Is(err, tokens.ErrExpired):
		return apperr.Unauthenticated("expired")
	case errors.Is(err, tokens.ErrMalformed):
		return apperr.Unauthenticated("malformed")
	}
	return apperr.Unauthenticated("invalid")
}

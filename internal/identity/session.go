package identity

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/ent/refreshtoken"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
)

// Session is what a successful register, login or refresh hands back.
type Session struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    int
	User         *ent.User
	Tenant       *ent.Tenant
}

// TokenType is the token_type of every session.
const TokenType = "Bearer"

// Payload is the session as the graph shows it; nil stays nil.
func (s *Session) Payload() *AuthPayload {
	if s == nil {
		return nil
	}
	return &AuthPayload{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, TokenType: TokenType,
		ExpiresIn: s.ExpiresIn, User: s.User, Tenant: s.Tenant}
}

// RegisterInput is a new tenant and its owner.
type RegisterInput struct {
	TenantName string
	Email      string
	Password   string
	Name       string
	// Sandbox puts the tenant on plan sandbox instead of the default plan.
	Sandbox bool
}

// Register creates a tenant with a unique slug and its owner, and signs the
// owner in.
func (s *Service) Register(ctx context.Context, in RegisterInput) (*Session, error) {
	if !s.AllowSignup {
		return nil, apperr.New(apperr.Forbidden, "sign-up is disabled on this server")
	}
	name := strings.TrimSpace(in.TenantName)
	switch {
	case name == "":
		return nil, apperr.Invalid("tenant_name", "required")
	case len(name) > 200:
		return nil, apperr.Invalid("tenant_name", "too_long")
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, apperr.Invalid("password", "required")
	}
	hash, err := hashNewPassword(s.Argon2, in.Password)
	if err != nil {
		return nil, err
	}
	ctx = store.Unrestricted(ctx)
	// A registration of the same name committed meanwhile took the slug this
	// one saw free (PostgreSQL; SQLite serialises writers): the next attempt
	// sees it taken and draws another.
	var sess *Session
	err = store.RetryTaken(slugAttempts, func() (err error) {
		sess, err = s.register(ctx, in, name, email, hash)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess.detach(ctx), nil
}

// slugAttempts bounds Register's retries of a slug taken concurrently.
const slugAttempts = 3

// register is one attempt of Register, in its own transaction.
func (s *Service) register(ctx context.Context, in RegisterInput, name, email, hash string) (sess *Session, err error) {
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		slug, err := uniqueSlug(ctx, tx, name)
		if err != nil {
			return err
		}
		plan := s.DefaultPlan
		if in.Sandbox {
			plan = access.PlanSandbox
		}
		t, err := tx.Tenant.Create().SetName(name).SetSlug(slug).SetPlan(plan).Save(ctx)
		if err != nil {
			return err
		}
		u, err := tx.User.Create().SetTenantID(t.ID).SetEmail(email).SetName(strings.TrimSpace(in.Name)).
			SetRole(user.RoleOwner).SetPasswordHash(hash).SetLastLoginAt(s.now()).Save(ctx)
		if err != nil {
			return err
		}
		actx := access.NewContext(ctx, userPrincipal(u, t))
		if err := audit.Record(actx, tx, audit.Entry{Action: "auth.register", ResourceType: "tenant",
			ResourceID: t.ID.String(), Details: map[string]any{"slug": slug, "user_id": u.ID.String(), "plan": plan}}); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, u, t, uuid.New())
		return err
	})
	return sess, err
}

// LoginInput is a password login; Tenant is the tenant's slug, or "" to
// look the email up across tenants (a platform admin names none).
type LoginInput struct {
	Email    string
	Password string
	Tenant   string
}

// Login checks a password and signs the user in. Failures are audited and
// limited per client address and per account.
func (s *Service) Login(ctx context.Context, in LoginInput) (*Session, error) {
	ip := reqinfo.FromContext(ctx).IP
	if err := s.Guard.Attempt(ip); err != nil {
		return nil, err
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if email == "" {
		return nil, apperr.Invalid("email", "required")
	}
	if in.Password == "" {
		return nil, apperr.Invalid("password", "required")
	}
	slug := strings.ToLower(strings.TrimSpace(in.Tenant))
	if slug == "" {
		slug = strings.ToLower(strings.TrimSpace(reqinfo.FromContext(ctx).Realm))
	}
	ctx = store.Unrestricted(ctx)
	u, err := s.findLoginUser(ctx, email, slug)
	if err != nil {
		return nil, err
	}
	// Failures count per account however the tenant was named.
	account := "|" + email
	if u != nil {
		account = u.ID.String()
	}
	if err := s.Guard.CheckAccount(account); err != nil {
		return nil, err
	}
	hash := s.dummyHash
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	// Verify even without a user or a password, so timing does not tell.
	verr := password.Verify(hash, in.Password)
	if u == nil || u.PasswordHash == "" || verr != nil || u.Status != user.StatusActive || u.Edges.Tenant.Status != tenant.StatusActive {
		s.Guard.Failed(account)
		return nil, s.loginFailed(ctx, u, slug)
	}
	var sess *Session
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		if err := tx.User.UpdateOneID(u.ID).SetLastLoginAt(s.now()).Exec(ctx); err != nil {
			return err
		}
		actx := access.NewContext(ctx, userPrincipal(u, u.Edges.Tenant))
		if err := audit.Record(actx, tx, audit.Entry{Action: "auth.login", ResourceType: "user",
			ResourceID: u.ID.String()}); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, u, u.Edges.Tenant, uuid.New())
		return err
	})
	return sess, err
}

// findLoginUser finds the user to sign in, or nil when there is none.
func (s *Service) findLoginUser(ctx context.Context, email, slug string) (*ent.User, error) {
	q := s.Client.User.Query().Where(user.Email(email)).WithTenant()
	if slug != "" {
		q = q.Where(user.HasTenantWith(tenant.Slug(slug)))
	}
	users, err := q.Limit(10).All(ctx)
	if err != nil {
		return nil, err
	}
	// A user whose tenant was purged between the two reads is no user.
	users = slices.DeleteFunc(users, func(u *ent.User) bool { return u.Edges.Tenant == nil })
	if len(users) == 0 {
		return nil, nil
	}
	if len(users) == 1 {
		return users[0], nil
	}
	for _, u := range users {
		if u.Edges.Tenant.Platform {
			return u, nil
		}
	}
	return nil, apperr.Invalid("tenant", "required").With("hint", "the email belongs to several tenants: name one with tenant or the realmname header")
}

// loginFailed audits a failed login in the user's tenant (the named tenant,
// or the platform tenant when neither is known) and returns the 401.
func (s *Service) loginFailed(ctx context.Context, u *ent.User, slug string) error {
	e := audit.Entry{Action: "auth.login", ResourceType: "user", Outcome: audit.Failure,
		Details: map[string]any{"reason": "invalid_credentials"}}
	if u != nil {
		e.TenantID, e.ResourceID = u.TenantID, u.ID.String()
	} else {
		q := s.Client.Tenant.Query().Where(tenant.Platform(true))
		if slug != "" {
			q = s.Client.Tenant.Query().Where(tenant.Slug(slug))
		}
		if t, err := q.First(ctx); err == nil {
			e.TenantID = t.ID
		}
	}
	if e.TenantID != uuid.Nil {
		if err := audit.Record(ctx, s.Client, e); err != nil {
			return err
		}
	}
	return apperr.New(apperr.Unauthorized, "invalid email or password").With("reason", "invalid")
}

// Refresh exchanges a refresh token for a new session and a new refresh
// token. A token used twice means it leaked: its whole family is revoked.
func (s *Service) Refresh(ctx context.Context, token string) (*Session, error) {
	if token == "" {
		return nil, apperr.Invalid("refresh_token", "required")
	}
	ctx = store.Unrestricted(ctx)
	var (
		sess  *Session
		reuse *ent.RefreshToken
	)
	err := store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		rt, err := tx.RefreshToken.Query().Where(refreshtoken.TokenHash(secret.Hash(token))).Only(ctx)
		if ent.IsNotFound(err) {
			return apperr.Unauthenticated("invalid")
		}
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case rt.UsedAt != nil:
			reuse = rt
			return nil
		case rt.RevokedAt != nil:
			return apperr.Unauthenticated("revoked")
		case !now.Before(rt.ExpiresAt):
			return apperr.Unauthenticated("expired")
		}
		n, err := tx.RefreshToken.Update().Where(refreshtoken.ID(rt.ID), refreshtoken.UsedAtIsNil()).SetUsedAt(now).Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 { // a concurrent refresh won the race with the same token
			reuse = rt
			return nil
		}
		u, err := tx.User.Query().Where(user.ID(rt.UserID)).WithTenant().Only(ctx)
		if ent.IsNotFound(err) || (err == nil && u.Edges.Tenant == nil) {
			return apperr.Unauthenticated("revoked")
		}
		if err != nil {
			return err
		}
		if u.Status != user.StatusActive || u.Edges.Tenant.Status != tenant.StatusActive {
			return apperr.Unauthenticated("revoked")
		}
		actx := access.NewContext(ctx, userPrincipal(u, u.Edges.Tenant))
		if err := audit.Record(actx, tx, audit.Entry{Action: "auth.refresh", ResourceType: "user",
			ResourceID: u.ID.String()}); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, u, u.Edges.Tenant, rt.FamilyID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if reuse != nil {
		return nil, s.revokeFamily(ctx, reuse)
	}
	return sess.detach(ctx), nil
}

// detach rebinds the session's user and tenant, read in the transaction
// that started it, once that transaction has committed (see store.Detach).
func (s *Session) detach(ctx context.Context) *Session {
	s.User, s.Tenant = store.Detach(ctx, s.User), store.Detach(ctx, s.Tenant)
	return s
}

// revokeFamily ends every session of the family of a reused token.
func (s *Service) revokeFamily(ctx context.Context, rt *ent.RefreshToken) error {
	err := store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		if err := tx.RefreshToken.Update().Where(refreshtoken.FamilyID(rt.FamilyID), refreshtoken.RevokedAtIsNil()).
			SetRevokedAt(s.now()).Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "auth.refresh_reuse", ResourceType: "user",
			ResourceID: rt.UserID.String(), Outcome: audit.Denied, TenantID: rt.TenantID,
			Details: map[string]any{"session_id": rt.FamilyID.String()}})
	})
	if err != nil {
		return err
	}
	return apperr.Unauthenticated("revoked")
}

// RevokeSessions ends every session of a user, with tx: its refresh tokens
// are revoked and its session tokens issued until now are refused.
func RevokeSessions(ctx context.Context, tx *ent.Client, userID uuid.UUID, now time.Time) error {
	return revokeSessions(ctx, tx, refreshtoken.UserID(userID), user.ID(userID), now)
}

// RevokeTenantSessions ends every session of every user of a tenant, with
// tx, as RevokeSessions does: none comes back when the tenant is active
// again.
func RevokeTenantSessions(ctx context.Context, tx *ent.Client, tenantID uuid.UUID, now time.Time) error {
	return revokeSessions(ctx, tx, refreshtoken.TenantID(tenantID), user.TenantID(tenantID), now)
}

func revokeSessions(ctx context.Context, tx *ent.Client, tokens predicate.RefreshToken, users predicate.User, now time.Time) error {
	if err := tx.RefreshToken.Update().Where(tokens, refreshtoken.RevokedAtIsNil()).SetRevokedAt(now).Exec(ctx); err != nil {
		return err
	}
	return tx.User.Update().Where(users).SetSessionsNotBefore(now).Exec(ctx)
}

// startSession signs a session token and stores a new refresh token of family.
func (s *Service) startSession(ctx context.Context, tx *ent.Client, u *ent.User, t *ent.Tenant, family uuid.UUID) (*Session, error) {
	now := s.now()
	claims := SessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.Keys.Issuer(), Subject: u.ID.String(), Audience: jwt.ClaimStrings{Audience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(SessionTTL)),
			ID: uuid.NewString(),
		},
		TenantID: t.ID.String(), SessionID: family.String(), IssuedAtMicros: now.UnixMicro(),
	}
	access, err := s.Keys.Sign(claims, tokens.TypeSession)
	if err != nil {
		return nil, err
	}
	refresh, err := secret.New("cvr_", 32)
	if err != nil {
		return nil, err
	}
	err = tx.RefreshToken.Create().SetTenantID(t.ID).SetUserID(u.ID).SetFamilyID(family).
		SetTokenHash(secret.Hash(refresh)).SetExpiresAt(now.Add(RefreshTTL)).Exec(ctx)
	if err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: refresh, ExpiresIn: int(SessionTTL.Seconds()), User: u, Tenant: t}, nil
}

// NormalizeEmail checks and lower-cases an email address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", apperr.Invalid("email", "required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 320 {
		return "", apperr.Invalid("email", "invalid")
	}
	return s, nil
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueSlug derives a slug from name, with a random suffix when taken.
func uniqueSlug(ctx context.Context, tx *ent.Client, name string) (string, error) {
	base := strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	if base == "" {
		base = "tenant"
	}
	slug := base
	for range 5 {
		taken, err := tx.Tenant.Query().Where(tenant.Slug(slug)).Exist(ctx)
		if err != nil || !taken {
			return slug, err
		}
		suffix := make([]byte, 3)
		if _, err := rand.Read(suffix); err != nil {
			return "", err
		}
		slug = base + "-" + hex.EncodeToString(suffix)
	}
	return "", apperr.New(apperr.Conflict, "could not find a free slug for the tenant")
}

package graph

import (
	"context"

	"github.com/credvault/credvault/internal/platform/paging"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
)

// UsersQuery is the tenant's users, for a principal holding users:read.
func (r *Resolver) UsersQuery(ctx context.Context) (*ent.UserQuery, error) {
	if _, err := r.require(ctx, access.UsersRead); err != nil {
		return nil, err
	}
	return r.Store.Client.User.Query(), nil
}

// ListUsers is one offset page of the tenant's users, as REST lists them.
func (r *Resolver) ListUsers(ctx context.Context, where *ent.UserWhereInput, w paging.Window) ([]*ent.User, int, error) {
	q, err := r.UsersQuery(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.UserQuery) *ent.UserQuery { return q.Order(w.Term(), w.Tie()) })
}

// roleCeiling refuses a role holding scopes the principal lacks, so an admin
// can neither create nor manage an owner.
func (r *Resolver) roleCeiling(ctx context.Context, p *access.Principal, role user.Role) error {
	if role == "" {
		return apperr.Invalid("role", "required")
	}
	if err := user.RoleValidator(role); err != nil {
		return apperr.Invalid("role", "invalid").With("allowed", access.Roles)
	}
	t, err := r.Store.Client.Tenant.Get(ctx, p.TenantID)
	if err != nil {
		return err
	}
	return r.ceiling(ctx, p, access.ForRole(role.String(), t.Platform).List())
}

// hashNewPassword checks and hashes a password being set.
func hashNewPassword(pw string) (string, error) {
	if reason := password.Check(pw); reason != "" {
		return "", apperr.Invalid("password", reason).With("min_length", password.MinLength)
	}
	return password.Hash(pw)
}

// keepAnOwner refuses a change that would leave the tenant without an active
// owner: u is losing its owner role, or its active status, or its existence.
func keepAnOwner(ctx context.Context, tx *ent.Client, u *ent.User) error {
	if u.Role != user.RoleOwner || u.Status != user.StatusActive {
		return nil
	}
	others, err := tx.User.Query().Where(user.RoleEQ(user.RoleOwner), user.StatusEQ(user.StatusActive), user.IDNEQ(u.ID)).Exist(ctx)
	if err != nil {
		return err
	}
	if !others {
		return apperr.New(apperr.Conflict, "the tenant must keep at least one active owner")
	}
	return nil
}

// endUserAccess revokes everything a user signed in with: its refresh
// tokens and its API keys. Session tokens stop by themselves, since every
// request rereads the user.
func (r *Resolver) endUserAccess(ctx context.Context, tx *ent.Client, id uuid.UUID) error {
	now := store.Now()
	if err := identity.RevokeSessions(ctx, tx, id, now); err != nil {
		return err
	}
	keys, err := tx.APIKey.Query().Where(apikey.UserID(id), apikey.StatusNEQ(apikey.StatusRevoked)).IDs(ctx)
	if err != nil || len(keys) == 0 {
		return err
	}
	if err := tx.APIKey.Update().Where(apikey.IDIn(keys...)).SetStatus(apikey.StatusRevoked).SetRevokedAt(now).Exec(ctx); err != nil {
		return err
	}
	for _, k := range keys {
		if err := r.Bus.Publish(ctx, tx, invalidate.For(invalidate.APIKey, k.String())); err != nil {
			return err
		}
	}
	return nil
}

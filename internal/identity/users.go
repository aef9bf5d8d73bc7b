package identity

import (
	"context"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/webhooks"
)

// Query is the tenant's users, for a principal holding users:read: the
// GraphQL connection pages it.
func (s *Users) Query(ctx context.Context) (*ent.UserQuery, error) {
	if _, err := s.Guard.Require(ctx, access.ListUsers); err != nil {
		return nil, err
	}
	return s.Client.User.Query(), nil
}

// Page is one connection page of the tenant's users, as GraphQL lists them.
func (s *Users) Page(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.UserOrder, where *ent.UserWhereInput) (*ent.UserConnection, error) {
	q, err := s.Query(ctx)
	if err != nil {
		return nil, err
	}
	return paging.Connection(ctx, q, where.Filter, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.UserQuery, first, last *int) (*ent.UserConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithUserOrder(orderBy))
		}, func(c *ent.UserConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

// List is one offset page of the tenant's users, as REST lists them.
func (s *Users) List(ctx context.Context, where *ent.UserWhereInput, w paging.Window) ([]*ent.User, int, error) {
	q, err := s.Query(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.UserQuery) *ent.UserQuery { return q.Order(w.Term(), w.Tie()) })
}

// Create adds a user to the tenant. Its role may not hold a scope the
// caller lacks, so an admin cannot create an owner; the caller's own role
// is read in the transaction (see authz.Guard.Ceiling), so one being
// demoted meanwhile cannot leave an admin behind.
func (s *Users) Create(ctx context.Context, in CreateUserInput) (*ent.User, error) {
	p, err := s.Guard.Require(ctx, access.CreateUser)
	if err != nil {
		return nil, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	hash := ""
	if in.Password != nil {
		if hash, err = hashNewPassword(s.Argon2, *in.Password); err != nil {
			return nil, err
		}
	}
	var u *ent.User
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		if _, err := s.roleScopes(ctx, tx, p, in.Role); err != nil {
			return err
		}
		taken, err := tx.User.Query().Where(user.Email(email)).Exist(ctx)
		if err != nil {
			return err
		}
		if taken {
			return apperr.New(apperr.Conflict, "a user with this email already exists").With("field", "email")
		}
		u, err = tx.User.Create().SetEmail(email).SetName(deref(in.Name)).SetRole(in.Role).
			SetPasswordHash(hash).Save(ctx)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "user.create", ResourceType: "user", ResourceID: u.ID.String(),
			Details: map[string]any{"email": email, "role": in.Role}}); err != nil {
			return err
		}
		return s.Events.Emit(ctx, tx, u.TenantID, webhooks.UserCreated, u)
	})
	if err != nil {
		return nil, err
	}
	return store.Detach(ctx, u), nil
}

// Update changes a user's name, role, status or password. The caller must
// hold every scope of both the user's current and its new role. A lowered
// role cuts the credentials the user created to what the new role holds;
// disabling the user or setting its password ends its sessions and keys.
func (s *Users) Update(ctx context.Context, id uuid.UUID, in UpdateUserInput) (*ent.User, error) {
	p, err := s.Guard.Require(ctx, access.UpdateUser)
	if err != nil {
		return nil, err
	}
	var u *ent.User
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		if err := s.Guard.HoldUsers(ctx, tx, p.UserID, id); err != nil {
			return err
		}
		if u, err = tx.User.Get(ctx, id); err != nil {
			return err
		}
		if _, err := s.roleScopes(ctx, tx, p, u.Role); err != nil {
			return err
		}
		upd := tx.User.UpdateOne(u)
		var (
			changed   []string
			endAccess bool
			held      *access.Set
		)
		if in.Name != nil {
			upd.SetName(*in.Name)
			changed = append(changed, "name")
		}
		if in.Role != nil && *in.Role != u.Role {
			scopes, err := s.roleScopes(ctx, tx, p, *in.Role)
			if err != nil {
				return err
			}
			if err := keepAnOwner(ctx, tx, u); err != nil {
				return err
			}
			upd.SetRole(*in.Role)
			changed = append(changed, "role")
			held = &scopes
		}
		if in.Status != nil && *in.Status != u.Status {
			if err := user.StatusValidator(*in.Status); err != nil {
				return apperr.Invalid("status", "invalid")
			}
			if *in.Status == user.StatusDisabled {
				if err := keepAnOwner(ctx, tx, u); err != nil {
					return err
				}
				endAccess = true
			}
			upd.SetStatus(*in.Status)
			changed = append(changed, "status")
		}
		if in.Password != nil {
			hash, err := hashNewPassword(s.Argon2, *in.Password)
			if err != nil {
				return err
			}
			upd.SetPasswordHash(hash)
			changed = append(changed, "password")
			endAccess = true
		}
		if u, err = upd.Save(ctx); err != nil {
			return err
		}
		details := map[string]any{"fields": changed}
		if held != nil {
			cut, err := s.cutCredentials(ctx, tx, u, *held, creatorRoleLowered)
			if err != nil {
				return err
			}
			details["role"], details["credentials_cut"] = u.Role, cut
		}
		if endAccess {
			if err := s.endUserAccess(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "user.update", ResourceType: "user", ResourceID: u.ID.String(),
			Details: details}); err != nil {
			return err
		}
		return s.Events.Emit(ctx, tx, u.TenantID, webhooks.UserUpdated, u)
	})
	if err != nil {
		return nil, err
	}
	return store.Detach(ctx, u), nil
}

// Delete removes a user; its sessions stop at once, and what it created (its
// keys, clients, service accounts and theirs: cutCredentials) keeps no scope.
// Nobody deletes
// themselves, a user whose role outranks them, or the last active owner.
func (s *Users) Delete(ctx context.Context, id uuid.UUID) (uuid.UUID, error) {
	p, err := s.Guard.Require(ctx, access.DeleteUser)
	if err != nil {
		return uuid.Nil, err
	}
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		if err := s.Guard.HoldUsers(ctx, tx, p.UserID, id); err != nil {
			return err
		}
		u, err := tx.User.Get(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.roleScopes(ctx, tx, p, u.Role); err != nil {
			return err
		}
		if u.ID == p.ID {
			return apperr.New(apperr.Conflict, "you cannot delete yourself")
		}
		if err := keepAnOwner(ctx, tx, u); err != nil {
			return err
		}
		if err := RevokeSessions(ctx, tx, u.ID, store.Now()); err != nil {
			return err
		}
		// A deleted user holds no scope, so what it created keeps none.
		cut, err := s.cutCredentials(ctx, tx, u, access.Set{}, creatorDeleted)
		if err != nil {
			return err
		}
		if err := tx.User.DeleteOne(u).Exec(ctx); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "user.delete", ResourceType: "user", ResourceID: u.ID.String(),
			Details: map[string]any{"email": u.Email, "credentials_cut": cut}}); err != nil {
			return err
		}
		return s.Events.Emit(ctx, tx, u.TenantID, webhooks.UserDeleted, u)
	})
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// roleScopes returns the scopes role holds in the tenant p acts in, and
// refuses a role holding a scope p lacks: the ceiling of every role change.
func (s *Users) roleScopes(ctx context.Context, client *ent.Client, p *access.Principal, role user.Role) (access.Set, error) {
	if role == "" {
		return access.Set{}, apperr.Invalid("role", "required")
	}
	if err := user.RoleValidator(role); err != nil {
		return access.Set{}, apperr.Invalid("role", "invalid").With("allowed", access.Roles)
	}
	t, err := client.Tenant.Get(ctx, p.TenantID)
	if err != nil {
		return access.Set{}, err
	}
	held := access.ForRole(role.String(), t.Platform)
	return held, s.Guard.Ceiling(ctx, p, held.List())
}

// hashNewPassword checks a password being set, at sign-up or on a user,
// and hashes it at cost.
func hashNewPassword(cost password.Params, pw string) (string, error) {
	if reason := password.Check(pw); reason != "" {
		return "", apperr.Invalid("password", reason).With("min_length", password.MinLength)
	}
	return cost.Hash(pw)
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
// tokens and its API keys, on every instance at once. Session tokens stop
// by themselves, since every request rereads the user.
func (s *Users) endUserAccess(ctx context.Context, tx *ent.Client, id uuid.UUID) error {
	now := store.Now()
	if err := RevokeSessions(ctx, tx, id, now); err != nil {
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
		if err := s.Bus.Publish(ctx, tx, invalidate.For(invalidate.APIKey, k.String())); err != nil {
			return err
		}
	}
	return nil
}

// deref returns *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

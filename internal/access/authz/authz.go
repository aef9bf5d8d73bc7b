// Package authz enforces the operations declared in package access: the
// operation's scope, the scope ceiling, and the act-in-another-tenant rule,
// each written once here, with every refusal audited in the caller's tenant.
// The domain services call it; GraphQL and REST only reach it through them.
package authz

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
)

// Guard checks principals against operations.
type Guard struct {
	Client *ent.Client
	// Batch records denials that happen inside a transaction, which the
	// refusal rolls back.
	Batch *audit.Batcher
	// LockRows makes Ceiling hold the acting user's row, or the rows of the
	// users heading the acting credential's lineage, FOR SHARE, for
	// PostgreSQL, where writers run concurrently (see heldNow).
	LockRows bool
}

// Require returns the principal of ctx when it may perform op: 401 when
// nobody is authenticated, 403 naming the scope when the principal lacks it.
func (g *Guard) Require(ctx context.Context, op access.Operation) (*access.Principal, error) {
	return g.RequireScope(ctx, op.Scope)
}

// RequireScope is Require for a bare scope; "" is any authenticated principal.
func (g *Guard) RequireScope(ctx context.Context, sc access.Scope) (*access.Principal, error) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return nil, apperr.Unauthenticated("missing")
	}
	if sc == "" || p.Scopes.Has(sc) {
		return p, nil
	}
	return nil, g.Deny(ctx, sc)
}

// Deny audits a refused permission and returns the 403 naming the scope.
// Inside a transaction, which the refusal rolls back, the entry goes
// through the batcher instead: it must outlive the rollback, and on SQLite
// a second writer would wait on the transaction's own lock.
func (g *Guard) Deny(ctx context.Context, sc access.Scope) error {
	e := audit.Entry{
		Action:  "permission.denied",
		Outcome: audit.Denied,
		Details: map[string]any{"required_scope": sc},
	}
	if ent.TxFromContext(ctx) != nil {
		if err := g.Batch.Add(ctx, e); err != nil {
			return err
		}
		return apperr.Denied(sc)
	}
	if err := audit.Record(ctx, g.Client, e); err != nil {
		return apperr.Wrap(err)
	}
	return apperr.Denied(sc)
}

// Ceiling refuses to hand out scopes the principal does not hold: a key,
// client or service account — created, updated or rotated — or a user's
// role, is never more than the principal acting on it. Called in the
// transaction that writes them, it holds the principal to what it holds
// as that transaction sees it: its user's role, or its own key's or
// client's scopes (see heldNow).
func (g *Guard) Ceiling(ctx context.Context, p *access.Principal, scopes []access.Scope) error {
	for _, s := range scopes {
		if !access.Valid(s) {
			return apperr.Invalid("scopes", "unknown").With("scope", s)
		}
	}
	held := p.Scopes
	if tx := ent.TxFromContext(ctx); tx != nil {
		var err error
		if held, err = g.heldNow(store.Unrestricted(ctx), tx.Client(), p); err != nil {
			return err
		}
	}
	if missing, ok := held.Covers(scopes); !ok {
		return g.Deny(ctx, missing)
	}
	return nil
}

// heldNow is what p holds as tx sees it. p was authenticated before tx
// began: a demotion committed since then would otherwise let the write hand
// out scopes the user lost, after the demotion cut what the user's lineage
// created. A principal acting for a user is held to the user's role and
// status; a key or client of no user (one a client or service account
// made, or a service account's) to its own row's scopes, which the cut
// lowers, behind the users at the head of its lineage. On PostgreSQL those
// users' rows are held FOR SHARE until tx ends, so a role change (which
// holds them first, see HoldUsers) waits for this write and its cut then
// sees what it wrote, or this write waits for the cut and reads its result;
// SQLite runs writers one at a time.
func (g *Guard) heldNow(ctx context.Context, tx *ent.Client, p *access.Principal) (access.Set, error) {
	if p.UserID != uuid.Nil {
		return g.heldByUser(ctx, tx, p)
	}
	var own uuid.UUID
	switch {
	case p.APIKeyID != uuid.Nil:
		own = p.APIKeyID
	case p.Kind == access.KindOAuthClient:
		own = p.ID
	default:
		return p.Scopes, nil
	}
	heads, err := headsOf(ctx, tx, own)
	if err != nil {
		return access.Set{}, err
	}
	if g.LockRows && len(heads) > 0 {
		if _, err := tx.User.Query().Where(user.IDIn(heads...)).Order(ent.Asc(user.FieldID)).ForShare().IDs(ctx); err != nil {
			return access.Set{}, err
		}
	}
	scopes, live, err := currentScopes(ctx, tx, p, own)
	if err != nil {
		return access.Set{}, err
	}
	if !live {
		return access.Set{}, apperr.Unauthenticated("revoked")
	}
	return p.Scopes.Intersect(access.NewSet(scopes...)), nil
}

// heldByUser is p's scopes within its user's role; a disabled or deleted
// user holds none. The user's row is held FOR SHARE with LockRows.
func (g *Guard) heldByUser(ctx context.Context, tx *ent.Client, p *access.Principal) (access.Set, error) {
	q := tx.User.Query().Where(user.ID(p.UserID))
	if g.LockRows {
		q = q.ForShare()
	}
	u, err := q.Only(ctx)
	if ent.IsNotFound(err) {
		return access.Set{}, apperr.Unauthenticated("revoked")
	}
	if err != nil {
		return access.Set{}, err
	}
	if u.Status != user.StatusActive {
		return access.Set{}, apperr.Unauthenticated("revoked")
	}
	return p.Scopes.Intersect(access.ForRole(u.Role.String(), true)), nil
}

// currentScopes reads the scopes p's own key or client holds now, and
// whether it still authenticates.
func currentScopes(ctx context.Context, tx *ent.Client, p *access.Principal, own uuid.UUID) ([]string, bool, error) {
	if p.APIKeyID != uuid.Nil {
		k, err := tx.APIKey.Get(ctx, own)
		if ent.IsNotFound(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return k.Scopes, k.Status != apikey.StatusRevoked, nil
	}
	c, err := tx.OAuthClient.Get(ctx, own)
	if ent.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return c.Scopes, c.Status == oauthclient.StatusActive, nil
}

// HoldUsers holds the rows of the users ids (the acting user and the one a
// write changes) in id order until tx ends (store.ForUpdate, PostgreSQL):
// the ceiling share-locks the acting user's row (see heldNow), so two users
// changing each other at once would each hold their own row and wait for
// the other's — a deadlock. Taken in one order, they take turns instead, and
// the second sees what the first did (the last active owner stays one).
func (g *Guard) HoldUsers(ctx context.Context, tx *ent.Client, ids ...uuid.UUID) error {
	if !g.LockRows {
		return nil
	}
	ids = slices.DeleteFunc(slices.Clone(ids), func(id uuid.UUID) bool { return id == uuid.Nil })
	_, err := tx.User.Query().Where(user.IDIn(ids...), store.ForUpdate).Order(ent.Asc(user.FieldID)).IDs(store.Unrestricted(ctx))
	return err
}

// InTenant checks op and returns a context acting in tenant id: the
// principal's own, or any existing, undeleted one for a platform admin.
// Another tenant's id is a 404, exactly as one that does not exist.
func (g *Guard) InTenant(ctx context.Context, op access.Operation, id uuid.UUID) (context.Context, *access.Principal, error) {
	p, err := g.Require(ctx, op)
	if err != nil {
		return nil, nil, err
	}
	if id == p.TenantID {
		return ctx, p, nil
	}
	if !p.Scopes.Has(access.PlatformAdmin) {
		return nil, nil, apperr.NotFoundf("tenant")
	}
	exists, err := g.Client.Tenant.Query().Where(tenant.ID(id), tenant.StatusNEQ(tenant.StatusDeleted)).Exist(store.Unrestricted(ctx))
	if err != nil {
		return nil, nil, err
	}
	if !exists {
		return nil, nil, apperr.NotFoundf("tenant")
	}
	acting := *p
	acting.TenantID = id
	return access.NewContext(ctx, &acting), &acting, nil
}

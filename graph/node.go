package graph

import (
	"context"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// nodeKind is one type reachable through node(id): its table, the scope that
// reads it, and how to tell whether an id is one of its rows.
type nodeKind struct {
	table  string
	scope  access.Scope
	exists func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error)
}

// nodeKinds are probed in order. Ids are random UUIDs, unique across tables,
// so at most one answers; the tenant policy hides other tenants' rows.
var nodeKinds = []nodeKind{
	{apikey.Table, access.APIKeysRead, func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.APIKey.Query().Where(apikey.ID(id)).Exist(ctx)
	}},
	{credential.Table, access.CredentialsRead, func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.Credential.Query().Where(credential.ID(id)).Exist(ctx)
	}},
	{oauthclient.Table, access.OAuthClientsRead, func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.OAuthClient.Query().Where(oauthclient.ID(id)).Exist(ctx)
	}},
	{user.Table, access.UsersRead, func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.User.Query().Where(user.ID(id)).Exist(ctx)
	}},
	{serviceaccount.Table, access.ServiceAccountsRead, func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.ServiceAccount.Query().Where(serviceaccount.ID(id)).Exist(ctx)
	}},
	{tenant.Table, access.TenantRead, func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.Tenant.Query().Where(tenant.ID(id)).Exist(ctx)
	}},
	{auditlog.Table, access.AuditRead, func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.AuditLog.Query().Where(auditlog.ID(id)).Exist(ctx)
	}},
}

// nodeType finds the table of id and checks that the principal may read it,
// so node(id) is never a way around a list's scope.
func (r *Resolver) nodeType(ctx context.Context, id uuid.UUID) (string, error) {
	if _, ok := access.FromContext(ctx); !ok {
		return "", apperr.Unauthenticated("missing")
	}
	for _, k := range nodeKinds {
		ok, err := k.exists(ctx, r.Store.Client, id)
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		if _, err := r.require(ctx, k.scope); err != nil {
			return "", err
		}
		return k.table, nil
	}
	return "", apperr.NotFoundf("node")
}

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
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// nodeKind is one type reachable through node(id): its table, its GraphQL
// type (whose read scope, access.ReadScope, node(id) needs as its root list
// does), and how to tell whether an id is one of its rows.
type nodeKind struct {
	table    string
	typeName string
	exists   func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error)
}

// nodeKinds are probed in order. Ids are random UUIDs, unique across tables,
// so at most one answers; the tenant policy hides other tenants' rows.
var nodeKinds = []nodeKind{
	{apikey.Table, "APIKey", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.APIKey.Query().Where(apikey.ID(id)).Exist(ctx)
	}},
	{credential.Table, "Credential", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.Credential.Query().Where(credential.ID(id)).Exist(ctx)
	}},
	{oauthclient.Table, "OAuthClient", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.OAuthClient.Query().Where(oauthclient.ID(id)).Exist(ctx)
	}},
	{user.Table, "User", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.User.Query().Where(user.ID(id)).Exist(ctx)
	}},
	{serviceaccount.Table, "ServiceAccount", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.ServiceAccount.Query().Where(serviceaccount.ID(id)).Exist(ctx)
	}},
	{tenant.Table, "Tenant", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.Tenant.Query().Where(tenant.ID(id)).Exist(ctx)
	}},
	{auditlog.Table, "AuditLog", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.AuditLog.Query().Where(auditlog.ID(id)).Exist(ctx)
	}},
	{webhook.Table, "Webhook", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.Webhook.Query().Where(webhook.ID(id)).Exist(ctx)
	}},
	{webhookdelivery.Table, "WebhookDelivery", func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
		return c.WebhookDelivery.Query().Where(webhookdelivery.ID(id)).Exist(ctx)
	}},
}

// noder loads id for node(id), for an authenticated principal only, under
// the read scope of its type.
func (r *Resolver) noder(ctx context.Context, id uuid.UUID) (ent.Noder, error) {
	if _, err := r.Guard.Require(ctx, access.Node); err != nil {
		return nil, err
	}
	return r.Store.Client.Noder(ctx, id, ent.WithNodeType(r.nodeType))
}

// maxNodeIDs bounds nodes(ids): each id probes up to one table per node
// kind.
const maxNodeIDs = 100

// nodesComplexity counts nodes(ids) per id as a look-up in each kind of
// node it may probe plus what it selects, so the complexity limit refuses a
// long list before anything runs.
func nodesComplexity(childComplexity int, ids []uuid.UUID) int {
	return len(ids) * (len(nodeKinds) + childComplexity)
}

// noders loads ids for nodes(ids), at most maxNodeIDs, for an authenticated
// principal only, each under the read scope of its type.
func (r *Resolver) noders(ctx context.Context, ids []uuid.UUID) ([]ent.Noder, error) {
	if _, err := r.Guard.Require(ctx, access.Nodes); err != nil {
		return nil, err
	}
	if len(ids) > maxNodeIDs {
		return nil, apperr.Invalid("ids", "too_long").With("max", maxNodeIDs)
	}
	return r.Store.Client.Noders(ctx, ids, ent.WithNodeType(r.nodeType))
}

// nodeType finds the table of id and checks that the principal may read it,
// so node(id) is never a way around a list's scope.
func (r *Resolver) nodeType(ctx context.Context, id uuid.UUID) (string, error) {
	for _, k := range nodeKinds {
		ok, err := k.exists(ctx, r.Store.Client, id)
		if err != nil {
			return "", err
		}
		if !ok {
			continue
		}
		sc, _ := access.ReadScope(k.typeName)
		if _, err := r.Guard.RequireScope(ctx, sc); err != nil {
			return "", err
		}
		return k.table, nil
	}
	return "", apperr.NotFoundf("node")
}

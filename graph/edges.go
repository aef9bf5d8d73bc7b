package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// GuardEdges is the field middleware that holds every edge of the graph to
// the scope of its root list (SPEC §10): a field of a tenant-owned type that
// leads to another tenant-owned type (APIKey.user, Tenant.apiKeys,
// User.auditLogs, …) needs the read scope of the type it leads to, as
// access.ReadScope declares it. Refused, the field is a FORBIDDEN error and
// no data. An edge added to the schema tomorrow is covered the same day.
// Tenant isolation needs nothing here: the data layer filters every query.
func (r *Resolver) GuardEdges(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || (!fc.IsMethod && !fc.IsResolver) {
		return next(ctx)
	}
	if _, owned := access.ReadScope(fc.Object); !owned {
		return next(ctx)
	}
	sc, owned := access.ReadScope(fc.Field.Definition.Type.Name())
	if !owned {
		return next(ctx)
	}
	p, ok := access.FromContext(ctx)
	if ok && p.Scopes.Has(sc) {
		return next(ctx)
	}
	// One audit entry per refused scope and operation, not one per row.
	if seen, ok := ctx.Value(deniedKey{}).(*sync.Map); ok {
		if _, dup := seen.LoadOrStore(sc, true); dup {
			return nil, apperr.Denied(sc)
		}
	}
	return nil, r.Guard.Deny(ctx, sc)
}

type deniedKey struct{}

// TrackEdgeDenials gives each operation the set of scopes its edges were
// refused, so a list of fifty rows audits one refusal, not fifty.
func TrackEdgeDenials(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, deniedKey{}, &sync.Map{}))
}

// SignedIn is the field middleware that reads a sign-up, login or refresh
// answer as the user it signed in: the request carried no credentials, and
// the payload's edges (user.tenant, tenant.stats, …) are read as that user.
func SignedIn(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Object == "AuthPayload" && fc.Parent != nil {
		if ap, ok := fc.Parent.Result.(*identity.AuthPayload); ok && ap.User != nil && ap.Tenant != nil {
			ctx = access.NewContext(ctx, ap.Principal())
		}
	}
	return next(ctx)
}

package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// FieldGuards is the graph's field middleware: signedIn, then guardEdge, on
// every resolved field. It is set as each operation's resolver middleware,
// not with AroundFields, which allocates a closure per middleware for every
// field, the hundreds of scalar leaves of a page included.
type FieldGuards struct{ Resolver *Resolver }

var (
	_ graphql.HandlerExtension        = FieldGuards{}
	_ graphql.OperationContextMutator = FieldGuards{}
)

func (FieldGuards) ExtensionName() string { return "FieldGuards" }

func (FieldGuards) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext puts the guards around the operation's field
// middleware (any installed with AroundFields).
func (g FieldGuards) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	inner := oc.ResolverMiddleware
	oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
		ctx = signedIn(ctx)
		if err := g.Resolver.guardEdge(ctx); err != nil {
			return nil, err
		}
		return inner(ctx, next)
	}
	return nil
}

// guardEdge holds every edge of the graph to the scope of its root list
// (SPEC §10): a field of a tenant-owned type that leads to another
// tenant-owned type (APIKey.user, Tenant.apiKeys, User.auditLogs, …) needs
// the read scope of the type it leads to, as access.ReadScope declares it.
// Refused, the field is a FORBIDDEN error and no data. An edge added to the
// schema tomorrow is covered the same day. Tenant isolation needs nothing
// here: the data layer filters every query.
func (r *Resolver) guardEdge(ctx context.Context) error {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || (!fc.IsMethod && !fc.IsResolver) {
		return nil
	}
	if _, owned := access.ReadScope(fc.Object); !owned {
		return nil
	}
	sc, owned := access.ReadScope(fc.Field.Definition.Type.Name())
	if !owned {
		return nil
	}
	p, ok := access.FromContext(ctx)
	if ok && p.Scopes.Has(sc) {
		return nil
	}
	// One audit entry per refused scope and operation, not one per row.
	if seen, ok := ctx.Value(deniedKey{}).(*sync.Map); ok {
		if _, dup := seen.LoadOrStore(sc, true); dup {
			return apperr.Denied(sc)
		}
	}
	return r.Guard.Deny(ctx, sc)
}

type deniedKey struct{}

// TrackEdgeDenials gives each operation the set of scopes its edges were
// refused, so a list of fifty rows audits one refusal, not fifty.
func TrackEdgeDenials(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, deniedKey{}, &sync.Map{}))
}

// signedIn reads a sign-up, login or refresh answer as the user it signed
// in: the request carried no credentials, and the payload's edges
// (user.tenant, tenant.stats, …) are read as that user.
func signedIn(ctx context.Context) context.Context {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Object == "AuthPayload" && fc.Parent != nil {
		if ap, ok := fc.Parent.Result.(*identity.AuthPayload); ok && ap.User != nil && ap.Tenant != nil {
			return access.NewContext(ctx, ap.Principal())
		}
	}
	return ctx
}

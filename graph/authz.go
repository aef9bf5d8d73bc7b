package graph

import (
	"context"

	"github.com/credvault/credvault/apperr"
	"github.com/credvault/credvault/audit"
	"github.com/credvault/credvault/principal"
	"github.com/credvault/credvault/scope"
)

// require is the one permission check of every resolver: it returns 401 when
// nobody is authenticated and 403 naming the scope when the principal lacks
// it. A denial is audited in the principal's tenant.
func (r *Resolver) require(ctx context.Context, sc scope.Scope) (*principal.Principal, error) {
	p, ok := principal.FromContext(ctx)
	if !ok {
		return nil, apperr.Unauthenticated("missing")
	}
	if p.Scopes.Has(sc) {
		return p, nil
	}
	err := audit.Record(ctx, r.Store.Client, audit.Entry{
		Action:  "permission.denied",
		Outcome: audit.Denied,
		Details: map[string]any{"required_scope": sc},
	})
	if err != nil {
		return nil, apperr.Wrap(err)
	}
	return nil, apperr.Denied(sc)
}

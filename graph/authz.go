package graph

import (
	"context"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// require is the one permission check of every resolver: it returns 401 when
// nobody is authenticated and 403 naming the scope when the principal lacks
// it. A denial is audited in the principal's tenant.
func (r *Resolver) require(ctx context.Context, sc access.Scope) (*access.Principal, error) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return nil, apperr.Unauthenticated("missing")
	}
	if p.Scopes.Has(sc) {
		return p, nil
	}
	return nil, r.deny(ctx, sc)
}

// deny audits a refused permission and returns the 403 naming the scope.
// Inside a transaction, which the refusal rolls back, the entry goes
// through the batcher instead: it must outlive the rollback, and on SQLite
// a second writer would wait on the transaction's own lock.
func (r *Resolver) deny(ctx context.Context, sc access.Scope) error {
	e := audit.Entry{
		Action:  "permission.denied",
		Outcome: audit.Denied,
		Details: map[string]any{"required_scope": sc},
	}
	if ent.TxFromContext(ctx) != nil {
		r.AuditBatch.Add(ctx, e)
		return apperr.Denied(sc)
	}
	if err := audit.Record(ctx, r.Store.Client, e); err != nil {
		return apperr.Wrap(err)
	}
	return apperr.Denied(sc)
}

// ceiling refuses to grant scopes the principal does not hold: a key, client
// or service account, or a user's role, is never more than its creator.
func (r *Resolver) ceiling(ctx context.Context, p *access.Principal, scopes []access.Scope) error {
	for _, s := range scopes {
		if !access.Valid(s) {
			return apperr.Invalid("scopes", "unknown").With("scope", s)
		}
	}
	if missing, ok := p.Scopes.Covers(scopes); !ok {
		return r.deny(ctx, missing)
	}
	return nil
}

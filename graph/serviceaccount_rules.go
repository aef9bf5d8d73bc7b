package graph

import (
	"context"

	"github.com/credvault/credvault/internal/platform/paging"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
)

// ServiceAccountsQuery is the tenant's service accounts, for a principal
// holding service_accounts:read.
func (r *Resolver) ServiceAccountsQuery(ctx context.Context) (*ent.ServiceAccountQuery, error) {
	if _, err := r.require(ctx, access.ServiceAccountsRead); err != nil {
		return nil, err
	}
	return r.Store.Client.ServiceAccount.Query(), nil
}

// ListServiceAccounts is one offset page of the tenant's service accounts.
func (r *Resolver) ListServiceAccounts(ctx context.Context, where *ent.ServiceAccountWhereInput, w paging.Window) ([]*ent.ServiceAccount, int, error) {
	q, err := r.ServiceAccountsQuery(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.ServiceAccountQuery) *ent.ServiceAccountQuery { return q.Order(w.Term(), w.Tie()) })
}

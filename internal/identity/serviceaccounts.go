package identity

import (
	"context"
	"strings"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apikeys"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/webhooks"
)

// CreateServiceAccount creates a service account holding no scope the
// caller lacks and, when asked, its first API key (shown once) in the same
// transaction: neither exists without the other.
func (s *Users) CreateServiceAccount(ctx context.Context, in CreateServiceAccountInput) (*CreateServiceAccountPayload, error) {
	p, err := s.Guard.Require(ctx, access.CreateServiceAccount)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return nil, apperr.Invalid("name", "required")
	}
	out := &CreateServiceAccountPayload{}
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		if err := s.Guard.Ceiling(ctx, p, in.Scopes); err != nil {
			return err
		}
		sa, err := tx.ServiceAccount.Create().SetName(name).SetDescription(deref(in.Description)).
			SetScopes(access.NewSet(in.Scopes...).List()).SetCreatedBy(p.ID).Save(ctx)
		if err != nil {
			return err
		}
		out.ServiceAccount = sa
		if err := audit.Record(ctx, tx, audit.Entry{Action: "service_account.create", ResourceType: "service_account",
			ResourceID: sa.ID.String(), Details: map[string]any{"name": name, "scopes": sa.Scopes}}); err != nil {
			return err
		}
		if err := s.Events.Emit(ctx, tx, sa.TenantID, webhooks.ServiceAccountCreated, sa); err != nil {
			return err
		}
		if in.CreateAPIKey == nil || !*in.CreateAPIKey {
			return nil
		}
		out.APIKey, err = s.Keys.Issue(ctx, tx, p, apikeys.Spec{Name: name, Scopes: sa.Scopes, ServiceAccountID: &sa.ID})
		return err
	})
	if err != nil {
		return nil, err
	}
	out.ServiceAccount = store.Detach(ctx, out.ServiceAccount)
	if out.APIKey != nil {
		out.APIKey.APIKey = store.Detach(ctx, out.APIKey.APIKey)
	}
	return out, nil
}

// ServiceAccountsQuery is the tenant's service accounts, for a principal
// holding service_accounts:read: the GraphQL connection pages it.
func (s *Users) ServiceAccountsQuery(ctx context.Context) (*ent.ServiceAccountQuery, error) {
	if _, err := s.Guard.Require(ctx, access.ListServiceAccounts); err != nil {
		return nil, err
	}
	return s.Client.ServiceAccount.Query(), nil
}

// ServiceAccountsPage is one connection page of the tenant's service
// accounts, as GraphQL lists them.
func (s *Users) ServiceAccountsPage(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.ServiceAccountOrder, where *ent.ServiceAccountWhereInput) (*ent.ServiceAccountConnection, error) {
	q, err := s.ServiceAccountsQuery(ctx)
	if err != nil {
		return nil, err
	}
	return paging.Connection(ctx, q, where.Filter, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.ServiceAccountQuery, first, last *int) (*ent.ServiceAccountConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithServiceAccountOrder(orderBy))
		}, func(c *ent.ServiceAccountConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

package schema

import (
	"context"
	"fmt"

	"entgo.io/ent"
	"entgo.io/ent/entql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/privacy"
	"github.com/credvault/credvault/internal/access"
)

// Tenant isolation lives here, in the data layer: every query and mutation of a
// tenant-owned table is filtered by the tenant of the principal in the context,
// and fails closed when there is none. Work that must cross tenants (bootstrap,
// looking a key up by its hash, background jobs) says so explicitly with
// privacy.DecisionContext(ctx, privacy.Allow), which skips these policies.

// tenantFilter is implemented by the entql filter of every tenant-owned schema.
type tenantFilter interface{ WhereTenantID(entql.ValueP) }

// idFilter is implemented by the entql filter of the Tenant schema.
type idFilter interface{ WhereID(entql.ValueP) }

// filterTenant restricts a query or mutation to the rows of the context's tenant.
func filterTenant() privacy.QueryMutationRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		tid, ok := access.TenantFromContext(ctx)
		if !ok {
			return privacy.Denyf("no tenant in context")
		}
		tf, ok := f.(tenantFilter)
		if !ok {
			return privacy.Denyf("unexpected filter type %T", f)
		}
		tf.WhereTenantID(entql.ValueEQ(tid))
		return privacy.Skip
	})
}

// filterOwnTenant restricts the tenants table to the context's own tenant.
func filterOwnTenant() privacy.QueryMutationRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		tid, ok := access.TenantFromContext(ctx)
		if !ok {
			return privacy.Denyf("no tenant in context")
		}
		tf, ok := f.(idFilter)
		if !ok {
			return privacy.Denyf("unexpected filter type %T", f)
		}
		tf.WhereID(entql.ValueEQ(tid))
		return privacy.Skip
	})
}

// denyOps refuses the given operations; only an explicit Allow decision passes.
func denyOps(op ent.Op, reason string) privacy.MutationRule {
	return privacy.MutationRuleFunc(func(_ context.Context, m ent.Mutation) error {
		if m.Op().Is(op) {
			return privacy.Denyf("%s", reason)
		}
		return privacy.Skip
	})
}

// tenantMutation is implemented by the mutation of every tenant-owned schema.
type tenantMutation interface {
	TenantID() (uuid.UUID, bool)
	SetTenantID(uuid.UUID)
}

// stampTenant sets a new row's tenant from the context, and refuses a row
// created for another tenant unless the caller is explicitly unrestricted.
func stampTenant(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if !m.Op().Is(ent.OpCreate) {
			return next.Mutate(ctx, m)
		}
		tm, ok := m.(tenantMutation)
		if !ok {
			return nil, fmt.Errorf("schema: unexpected mutation type %T", m)
		}
		ctxTenant, hasCtx := access.TenantFromContext(ctx)
		rowTenant, hasRow := tm.TenantID()
		// DecisionFromContext reports an Allow decision as (nil, true).
		decision, decided := privacy.DecisionFromContext(ctx)
		unrestricted := decided && decision == nil
		switch {
		case hasRow && hasCtx && rowTenant != ctxTenant && !unrestricted:
			return nil, privacy.Denyf("row belongs to another tenant")
		case !hasRow && hasCtx:
			tm.SetTenantID(ctxTenant)
		case !hasRow:
			return nil, privacy.Denyf("no tenant in context")
		}
		return next.Mutate(ctx, m)
	})
}

// Policy of the TenantMixin.
func (TenantMixin) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{filterTenant()},
		Mutation: privacy.MutationPolicy{filterTenant()},
	}
}

// Hooks of the TenantMixin.
func (TenantMixin) Hooks() []ent.Hook { return []ent.Hook{stampTenant} }

// Policy of the Tenant: a principal sees only its own tenant, and tenants
// are created only by unrestricted code (registration, bootstrap).
func (Tenant) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{filterOwnTenant()},
		Mutation: privacy.MutationPolicy{
			denyOps(ent.OpCreate, "tenants are created by registration or bootstrap"),
			filterOwnTenant(),
		},
	}
}

// Policy of the AuditLog: entries are append-only; only the retention job,
// running unrestricted, removes them.
func (AuditLog) Policy() ent.Policy {
	return privacy.Policy{
		Mutation: privacy.MutationPolicy{
			denyOps(ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne, "audit entries are append-only"),
		},
	}
}

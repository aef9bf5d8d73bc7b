package tenancy

import (
	"context"
	"slices"
	"strings"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/oauth"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/ipallow"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/webhooks"
)

// Plans a tenant may be on.
var Plans = []string{"free", "pro", "enterprise"}

// maxRetentionDays bounds audit_retention_days: ten years.
const maxRetentionDays = 3650

// Get returns tenant id: the caller's own, or any for a platform admin.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*ent.Tenant, error) {
	ctx, _, err := s.Guard.InTenant(ctx, access.ReadTenant, id)
	if err != nil {
		return nil, err
	}
	return s.Client.Tenant.Get(ctx, id)
}

// query is every tenant, for a platform admin; the context it returns
// reads across tenants.
func (s *Service) query(ctx context.Context) (context.Context, *ent.TenantQuery, error) {
	if _, err := s.Guard.Require(ctx, access.ListTenants); err != nil {
		return nil, nil, err
	}
	return store.Unrestricted(ctx), s.Client.Tenant.Query(), nil
}

// List is one offset page of every tenant, filtered by where, for a
// platform admin.
func (s *Service) List(ctx context.Context, where *ent.TenantWhereInput, w paging.Window) ([]*ent.Tenant, int, error) {
	ctx, q, err := s.query(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.TenantQuery) *ent.TenantQuery { return q.Order(w.Term(), w.Tie()) })
}

// Page is one connection page of every tenant, for a platform admin.
func (s *Service) Page(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.TenantOrder, where *ent.TenantWhereInput) (*ent.TenantConnection, error) {
	ctx, q, err := s.query(ctx)
	if err != nil {
		return nil, err
	}
	return paging.Connection(ctx, q, where.Filter, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.TenantQuery, first, last *int) (*ent.TenantConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithTenantOrder(orderBy))
		}, func(c *ent.TenantConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

// Update changes tenant id's name, plan, status and settings. Plan and
// status are the owner's to change (a platform admin's for any tenant);
// any change drops the tenant and every cached credential of it, on every
// instance.
func (s *Service) Update(ctx context.Context, id uuid.UUID, input UpdateTenantInput) (*ent.Tenant, error) {
	ctx, p, err := s.Guard.InTenant(ctx, access.UpdateTenant, id)
	if err != nil {
		return nil, err
	}
	if err := s.ownerOnly(ctx, p, input); err != nil {
		return nil, err
	}
	opened := ent.TxFromContext(ctx) == nil
	var t *ent.Tenant
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		if t, err = tx.Tenant.Query().Where(tenant.ID(id), store.ForUpdate).Only(ctx); err != nil {
			return err
		}
		upd := tx.Tenant.UpdateOne(t)
		var changed []string
		if input.Name != nil {
			name := strings.TrimSpace(*input.Name)
			if name == "" || len(name) > 200 {
				return apperr.Invalid("name", map[bool]string{true: "required", false: "too_long"}[name == ""])
			}
			upd.SetName(name)
			changed = append(changed, "name")
		}
		if input.Plan != nil {
			// A sandbox's data is reset daily and its test keys refused by
			// live tenants: the plan is chosen at registration, for good.
			sandbox := *input.Plan == access.PlanSandbox
			switch {
			case t.Plan == access.PlanSandbox && !sandbox:
				return apperr.Invalid("plan", "fixed for a sandbox tenant")
			case sandbox && t.Plan != access.PlanSandbox:
				return apperr.Invalid("plan", "sandbox only at registration").With("allowed", Plans)
			case !sandbox && !slices.Contains(Plans, *input.Plan):
				return apperr.Invalid("plan", "invalid").With("allowed", Plans)
			}
			upd.SetPlan(*input.Plan)
			changed = append(changed, "plan")
		}
		if input.Status != nil && *input.Status != t.Status {
			switch {
			case *input.Status == tenant.StatusDeleted:
				return apperr.Invalid("status", "invalid").With("allowed", []string{"active", "suspended"}).With("hint", "delete a tenant with DELETE")
			case tenant.StatusValidator(*input.Status) != nil:
				return apperr.Invalid("status", "invalid").With("allowed", []string{"active", "suspended"})
			case t.Platform:
				return apperr.New(apperr.Conflict, "the platform tenant cannot be suspended")
			}
			upd.SetStatus(*input.Status)
			changed = append(changed, "status")
			if *input.Status == tenant.StatusSuspended {
				if err := endTokens(ctx, tx, id); err != nil {
					return err
				}
			}
		}
		if in := input.Settings; in != nil {
			settings := t.Settings
			if in.IPAllowlist != nil {
				allow, err := ipallow.Normalize("settings.ip_allowlist", in.IPAllowlist)
				if err != nil {
					return err
				}
				settings.IPAllowlist = allow
			}
			if in.AuditRetentionDays != nil {
				if d := *in.AuditRetentionDays; d < 1 || d > maxRetentionDays {
					return apperr.Invalid("settings.audit_retention_days", "out of range").With("min", 1).With("max", maxRetentionDays)
				}
				settings.AuditRetentionDays = *in.AuditRetentionDays
			}
			upd.SetSettings(settings)
			changed = append(changed, "settings")
		}
		if t, err = upd.Save(ctx); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "tenant.update", ResourceType: "tenant", ResourceID: id.String(),
			Details: map[string]any{"fields": changed}}); err != nil {
			return err
		}
		if err := s.Events.Emit(ctx, tx, id, webhooks.TenantUpdated, t); err != nil {
			return err
		}
		// The tenant is cached, and its status, plan and allowlist with every
		// key and client: drop them everywhere.
		return s.Bus.Publish(ctx, tx, invalidate.For(invalidate.Tenant, id.String()))
	})
	if err != nil {
		return nil, err
	}
	if opened {
		// Saved with the committed transaction's client: the payload's
		// edges load with the root client.
		t = t.Unwrap()
	}
	return t, nil
}

// endTokens ends every session and OAuth access token of tenant id issued
// until now, so that reactivating the tenant does not revive them; API
// keys, long-lived credentials the tenant manages, work again.
func endTokens(ctx context.Context, tx *ent.Client, id uuid.UUID) error {
	now := store.Now()
	if err := identity.RevokeTenantSessions(ctx, tx, id, now); err != nil {
		return err
	}
	return oauth.EndTenantTokens(ctx, tx, id, now)
}

// ownerOnly refuses a plan or status in input unless the principal is the
// tenant's owner — a signed-in owner, or an API key of one — or a platform
// admin. The role is read now, so a demoted owner's keys lose the right at
// once. A refusal is audited in the tenant and names the field.
func (s *Service) ownerOnly(ctx context.Context, p *access.Principal, input UpdateTenantInput) error {
	field := ""
	switch {
	case input.Plan != nil:
		field = "plan"
	case input.Status != nil:
		field = "status"
	default:
		return nil
	}
	if p.Scopes.Has(access.PlatformAdmin) {
		return nil
	}
	if p.UserID != uuid.Nil {
		owner, err := s.Client.User.Query().
			Where(user.ID(p.UserID), user.RoleEQ(user.RoleOwner), user.StatusEQ(user.StatusActive)).Exist(ctx)
		if err != nil || owner {
			return err
		}
	}
	if err := audit.Record(ctx, s.Client, audit.Entry{Action: "permission.denied", Outcome: audit.Denied,
		ResourceType: "tenant", ResourceID: p.TenantID.String(),
		Details: map[string]any{"field": field, "required_role": user.RoleOwner.String()}}); err != nil {
		return apperr.Wrap(err)
	}
	return apperr.New(apperr.Forbidden, "only the tenant's owner changes its "+field).
		With("field", field).With("required_role", user.RoleOwner.String())
}

// Delete marks tenant id deleted: every session, key and token of it
// stops at once, and a job purges its data. The tenant's trail goes with
// it, so the platform tenant keeps a copy of the entry.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) (uuid.UUID, error) {
	ctx, _, err := s.Guard.InTenant(ctx, access.DeleteTenant, id)
	if err != nil {
		return uuid.Nil, err
	}
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		t, err := tx.Tenant.Get(ctx, id)
		if err != nil {
			return err
		}
		if t.Platform {
			return apperr.New(apperr.Conflict, "the platform tenant cannot be deleted")
		}
		if err := tx.Tenant.UpdateOne(t).SetStatus(tenant.StatusDeleted).SetDeletedAt(store.Now()).Exec(ctx); err != nil {
			return err
		}
		entry := audit.Entry{Action: "tenant.delete", ResourceType: "tenant", ResourceID: id.String(),
			Details: map[string]any{"slug": t.Slug}}
		if err := audit.Record(ctx, tx, entry); err != nil {
			return err
		}
		pt, err := tx.Tenant.Query().Where(tenant.Platform(true)).Only(store.Unrestricted(ctx))
		if err == nil {
			entry.TenantID = pt.ID
			err = audit.Record(ctx, tx, entry)
		}
		if err != nil {
			return err
		}
		if _, err := s.Jobs.Enqueue(ctx, tx, jobs.PurgeDeletedTenants, map[string]any{jobs.TenantArg: id.String()}); err != nil {
			return err
		}
		return s.Bus.Publish(ctx, tx, invalidate.For(invalidate.Tenant, id.String()))
	})
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

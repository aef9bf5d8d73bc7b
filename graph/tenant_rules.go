package graph

import (
	"context"
	"slices"
	"time"

	"github.com/credvault/credvault/internal/platform/paging"

	"github.com/credvault/credvault/internal/tenancy"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/usagecounter"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
)

// Plans a tenant may be on.
var Plans = []string{"free", "pro", "enterprise"}

// maxRetentionDays bounds audit_retention_days: ten years.
const maxRetentionDays = 3650

// maxUsageRows bounds one usage summary.
const maxUsageRows = 1000

// TenantsQuery is every tenant, for a platform admin.
func (r *Resolver) TenantsQuery(ctx context.Context) (*ent.TenantQuery, error) {
	if _, err := r.require(ctx, access.PlatformAdmin); err != nil {
		return nil, err
	}
	return r.Store.Client.Tenant.Query(), nil
}

// ListTenants is one offset page of every tenant, for a platform admin.
func (r *Resolver) ListTenants(ctx context.Context, where *ent.TenantWhereInput, w paging.Window) ([]*ent.Tenant, int, error) {
	q, err := r.TenantsQuery(ctx)
	return paging.List(store.Unrestricted(ctx), q, err, where, w, func(q *ent.TenantQuery) *ent.TenantQuery { return q.Order(w.Term(), w.Tie()) })
}

// inTenant checks sc and returns a context acting in tenant id: the
// principal's own, or any existing one for a platform admin. Another
// tenant's id is a 404, exactly as one that does not exist.
func (r *Resolver) inTenant(ctx context.Context, id uuid.UUID, sc access.Scope) (context.Context, *access.Principal, error) {
	p, err := r.require(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	if id == p.TenantID {
		return ctx, p, nil
	}
	if !p.Scopes.Has(access.PlatformAdmin) {
		return nil, nil, apperr.NotFoundf("tenant")
	}
	exists, err := r.Store.Client.Tenant.Query().Where(tenant.ID(id), tenant.StatusNEQ(tenant.StatusDeleted)).Exist(store.Unrestricted(ctx))
	if err != nil {
		return nil, nil, err
	}
	if !exists {
		return nil, nil, apperr.NotFoundf("tenant")
	}
	acting := *p
	acting.TenantID = id
	return access.NewContext(ctx, &acting), &acting, nil
}

// tenantCounts counts a tenant's users, service accounts, API keys, OAuth
// clients and credentials by status, in ctx's tenant.
func (r *Resolver) tenantCounts(ctx context.Context) ([]*tenancy.KindCount, error) {
	c := r.Store.Client
	now := time.Now()
	kinds := []struct {
		kind  string
		count func(v any) error
	}{
		{"users", func(v any) error { return c.User.Query().GroupBy(user.FieldStatus).Aggregate(ent.Count()).Scan(ctx, v) }},
		{"service_accounts", func(v any) error {
			return c.ServiceAccount.Query().GroupBy(serviceaccount.FieldStatus).Aggregate(ent.Count()).Scan(ctx, v)
		}},
		{"api_keys", func(v any) error {
			return c.APIKey.Query().Where(apikey.Or(apikey.ExpiresAtIsNil(), apikey.ExpiresAtGT(now), apikey.StatusNEQ(apikey.StatusActive))).
				GroupBy(apikey.FieldStatus).Aggregate(ent.Count()).Scan(ctx, v)
		}},
		{"oauth_clients", func(v any) error {
			return c.OAuthClient.Query().GroupBy(oauthclient.FieldStatus).Aggregate(ent.Count()).Scan(ctx, v)
		}},
		{"credentials", func(v any) error {
			return c.Credential.Query().GroupBy(credential.FieldStatus).Aggregate(ent.Count()).Scan(ctx, v)
		}},
	}
	out := make([]*tenancy.KindCount, 0, len(kinds))
	for _, k := range kinds {
		var rows []struct {
			Status string `json:"status"`
			Count  int    `json:"count"`
		}
		if err := k.count(&rows); err != nil {
			return nil, err
		}
		kc := &tenancy.KindCount{Kind: k.kind, ByStatus: []*tenancy.StatusCount{}}
		for _, row := range rows {
			kc.Total += row.Count
			kc.ByStatus = append(kc.ByStatus, &tenancy.StatusCount{Status: row.Status, Count: row.Count})
		}
		out = append(out, kc)
	}
	// Active keys past their expiry count as expired, as the keys show it.
	lapsed, err := c.APIKey.Query().Where(apikey.StatusEQ(apikey.StatusActive), apikey.ExpiresAtLTE(now)).Count(ctx)
	if err != nil {
		return nil, err
	}
	if lapsed > 0 {
		addCount(out[2], "expired", lapsed)
	}
	return out, nil
}

func addCount(kc *tenancy.KindCount, status string, n int) {
	kc.Total += n
	i := slices.IndexFunc(kc.ByStatus, func(s *tenancy.StatusCount) bool { return s.Status == status })
	if i < 0 {
		kc.ByStatus = append(kc.ByStatus, &tenancy.StatusCount{Status: status, Count: n})
		return
	}
	kc.ByStatus[i].Count += n
}

// activity counts ctx's tenant's requests and audit events in the last 24
// hours, and finds its last audited activity.
func (r *Resolver) activity(ctx context.Context) (requests, events int, last *time.Time, err error) {
	since := store.Now().Add(-24 * time.Hour)
	var sums []struct {
		Sum int `json:"sum"`
	}
	err = r.Store.Client.UsageCounter.Query().Where(usagecounter.UpdatedAtGTE(since)).
		Aggregate(ent.Sum(usagecounter.FieldCount)).Scan(ctx, &sums)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(sums) > 0 {
		requests = sums[0].Sum
	}
	if events, err = r.Store.Client.AuditLog.Query().Where(auditlog.OccurredAtGTE(since)).Count(ctx); err != nil {
		return 0, 0, nil, err
	}
	latest, err := r.Store.Client.AuditLog.Query().Order(ent.Desc(auditlog.FieldOccurredAt)).First(ctx)
	switch {
	case ent.IsNotFound(err):
		err = nil
	case err == nil:
		last = &latest.OccurredAt
	}
	return requests, events, last, err
}

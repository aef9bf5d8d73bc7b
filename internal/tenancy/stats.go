package tenancy

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/gatewayusage"
	"github.com/credvault/credvault/ent/guardrail"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/routerprovider"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/usagecounter"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
)

// maxUsageRows bounds one usage summary.
const maxUsageRows = 1000

// Stats counts what tenant id holds, by kind and status, and what it did
// in the last 24 hours: tenantStats, and the stats edge of a Tenant.
func (s *Service) Stats(ctx context.Context, id uuid.UUID) (*TenantStats, error) {
	ctx, _, err := s.Guard.InTenant(ctx, access.ReadTenantStats, id)
	if err != nil {
		return nil, err
	}
	counts, err := s.counts(ctx)
	if err != nil {
		return nil, err
	}
	requests, events, last, err := s.activity(ctx)
	if err != nil {
		return nil, err
	}
	return &TenantStats{TenantID: id, Counts: counts, RequestsLast24h: requests, AuditEventsLast24h: events, LastActivityAt: last}, nil
}

// DashboardStats is Stats of the request's tenant, as a dashboard shows it.
func (s *Service) DashboardStats(ctx context.Context) (*DashboardStats, error) {
	if _, err := s.Guard.Require(ctx, access.DashboardStats); err != nil {
		return nil, err
	}
	counts, err := s.counts(ctx)
	if err != nil {
		return nil, err
	}
	requests, events, _, err := s.activity(ctx)
	if err != nil {
		return nil, err
	}
	today, err := s.gatewayRows(ctx, time.Now().UTC().Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	gw := &GatewayTotals{}
	for _, r := range today {
		gw.Requests += r.Requests
		gw.PromptTokens += r.PromptTokens
		gw.CompletionTokens += r.CompletionTokens
	}
	return &DashboardStats{Counts: counts, RequestsLast24h: requests, AuditEventsLast24h: events, GatewayToday: gw}, nil
}

// GatewayUsage is the AI gateway's requests and tokens per day by key,
// model and provider over the last days (as UsageSummary counts them),
// newest day first.
func (s *Service) GatewayUsage(ctx context.Context, days *int) ([]*GatewayUsageRow, error) {
	if _, err := s.Guard.Require(ctx, access.GatewayUsage); err != nil {
		return nil, err
	}
	since, err := sinceDay(days)
	if err != nil {
		return nil, err
	}
	return s.gatewayRows(ctx, since)
}

func (s *Service) gatewayRows(ctx context.Context, since string) ([]*GatewayUsageRow, error) {
	rows, err := s.Client.GatewayUsage.Query().Where(gatewayusage.DayGTE(since)).
		Order(ent.Desc(gatewayusage.FieldDay), ent.Desc(gatewayusage.FieldRequests), ent.Asc(gatewayusage.FieldID)).
		Limit(maxUsageRows).All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*GatewayUsageRow, len(rows))
	for i, u := range rows {
		out[i] = &GatewayUsageRow{Day: u.Day, PrincipalType: u.PrincipalType, PrincipalID: u.PrincipalID, Model: u.Model,
			Provider: u.Provider, Requests: int(u.Requests), PromptTokens: int(u.PromptTokens), CompletionTokens: int(u.CompletionTokens)}
	}
	return out, nil
}

// sinceDay is the first day of a summary of the last days (default 30,
// at most 366).
func sinceDay(days *int) (string, error) {
	n := 30
	if days != nil {
		n = *days
	}
	if n < 1 || n > 366 {
		return "", apperr.Invalid("days", "out of range").With("min", 1).With("max", 366)
	}
	return time.Now().UTC().AddDate(0, 0, -(n - 1)).Format(time.DateOnly), nil
}

// UsageSummary is the requests per day of each API key and OAuth client of
// the request's tenant over the last days (default 30, at most 366), newest
// day first.
func (s *Service) UsageSummary(ctx context.Context, days *int) ([]*UsageRow, error) {
	if _, err := s.Guard.Require(ctx, access.UsageSummary); err != nil {
		return nil, err
	}
	since, err := sinceDay(days)
	if err != nil {
		return nil, err
	}
	rows, err := s.Client.UsageCounter.Query().
		Where(usagecounter.DayGTE(since), usagecounter.PrincipalTypeIn(string(access.KindAPIKey), string(access.KindOAuthClient))).
		Order(ent.Desc(usagecounter.FieldDay), ent.Desc(usagecounter.FieldCount), ent.Asc(usagecounter.FieldPrincipalID)).
		Limit(maxUsageRows).All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*UsageRow, len(rows))
	for i, u := range rows {
		out[i] = &UsageRow{Day: u.Day, PrincipalType: u.PrincipalType, PrincipalID: u.PrincipalID, Requests: int(u.Count)}
	}
	return out, nil
}

// FeatureStatus is what this server has enabled.
func (s *Service) FeatureStatus(ctx context.Context) (*FeatureStatus, error) {
	if _, err := s.Guard.Require(ctx, access.FeatureStatus); err != nil {
		return nil, err
	}
	f := s.Features
	f.CorsOrigins = append([]string{}, f.CorsOrigins...)
	f.Gateway = true
	var err error
	if f.Router, err = s.Client.RouterProvider.Query().Where(routerprovider.Enabled(true)).Exist(ctx); err != nil {
		return nil, err
	}
	if f.Guardrails, err = s.Client.Guardrail.Query().Where(guardrail.Enabled(true)).Exist(ctx); err != nil {
		return nil, err
	}
	return &f, nil
}

// counts counts a tenant's users, service accounts, API keys, OAuth
// clients and credentials by status, in ctx's tenant.
func (s *Service) counts(ctx context.Context) ([]*KindCount, error) {
	c := s.Client
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
	out := make([]*KindCount, 0, len(kinds))
	for _, k := range kinds {
		var rows []struct {
			Status string `json:"status"`
			Count  int    `json:"count"`
		}
		if err := k.count(&rows); err != nil {
			return nil, err
		}
		kc := &KindCount{Kind: k.kind, ByStatus: []*StatusCount{}}
		for _, row := range rows {
			kc.Total += row.Count
			kc.ByStatus = append(kc.ByStatus, &StatusCount{Status: row.Status, Count: row.Count})
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

func addCount(kc *KindCount, status string, n int) {
	kc.Total += n
	i := slices.IndexFunc(kc.ByStatus, func(s *StatusCount) bool { return s.Status == status })
	if i < 0 {
		kc.ByStatus = append(kc.ByStatus, &StatusCount{Status: status, Count: n})
		return
	}
	kc.ByStatus[i].Count += n
}

// activity counts ctx's tenant's requests and audit events in the last 24
// hours, and finds its last audited activity.
func (s *Service) activity(ctx context.Context) (requests, events int, last *time.Time, err error) {
	since := store.Now().Add(-24 * time.Hour)
	var sums []struct {
		Sum int `json:"sum"`
	}
	err = s.Client.UsageCounter.Query().Where(usagecounter.UpdatedAtGTE(since)).
		Aggregate(ent.Sum(usagecounter.FieldCount)).Scan(ctx, &sums)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(sums) > 0 {
		requests = sums[0].Sum
	}
	if events, err = s.Client.AuditLog.Query().Where(auditlog.OccurredAtGTE(since)).Count(ctx); err != nil {
		return 0, 0, nil, err
	}
	latest, err := s.Client.AuditLog.Query().Order(ent.Desc(auditlog.FieldOccurredAt)).First(ctx)
	switch {
	case ent.IsNotFound(err):
		err = nil
	case err == nil:
		last = &latest.OccurredAt
	}
	return requests, events, last, err
}

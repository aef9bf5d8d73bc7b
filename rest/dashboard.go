package rest

import (
	"context"
	"net/http"
	"strconv"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
)

type usageJSON struct {
	Day           string `json:"day"`
	PrincipalType string `json:"principal_type"`
	PrincipalID   string `json:"principal_id"`
	Requests      int    `json:"requests"`
}

type usageSummaryJSON struct {
	Days  int          `json:"days"`
	Total int          `json:"total_requests"`
	Rows  []*usageJSON `json:"rows"`
}

type featuresJSON struct {
	Signup        bool     `json:"signup"`
	RateLimits    bool     `json:"rate_limits"`
	TLS           bool     `json:"tls"`
	Introspection bool     `json:"introspection"`
	Environment   string   `json:"environment"`
	CORSOrigins   []string `json:"cors_origins"`
}

func (a *API) dashboardRoutes() []Route {
	return []Route{
		Handle(Route{Method: http.MethodGet, Path: "/admin/dashboard/stats", Op: access.DashboardStats,
			Summary: "Counts by kind and status; requests and audit events in the last 24 h", Status: http.StatusOK, Message: "dashboard stats"},
			func(ctx context.Context, _ *Call) (*statsJSON, error) {
				s, err := a.Resolver.Tenants.DashboardStats(ctx)
				if err != nil {
					return nil, err
				}
				return &statsJSON{Counts: countsJSON(s.Counts), RequestsLast24h: s.RequestsLast24h, AuditEventsLast24h: s.AuditEventsLast24h}, nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/usage/summary", Op: access.UsageSummary,
			Summary: "Requests per day per API key and OAuth client; days (default 30)", Status: http.StatusOK, Message: "usage summary"},
			func(ctx context.Context, c *Call) (*usageSummaryJSON, error) {
				days := 30
				if v := c.Query("days"); v != "" {
					n, err := strconv.Atoi(v)
					if err != nil {
						return nil, apperr.Invalid("days", "must be an integer")
					}
					days = n
				}
				rows, err := a.Resolver.Tenants.UsageSummary(ctx, &days)
				if err != nil {
					return nil, err
				}
				out := &usageSummaryJSON{Days: days, Rows: make([]*usageJSON, len(rows))}
				for i, r := range rows {
					out.Rows[i] = &usageJSON{Day: r.Day, PrincipalType: r.PrincipalType, PrincipalID: r.PrincipalID, Requests: r.Requests}
					out.Total += r.Requests
				}
				return out, nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/features/status", Op: access.FeatureStatus,
			Summary: "What this server has enabled", Status: http.StatusOK, Message: "feature status"},
			func(ctx context.Context, _ *Call) (*featuresJSON, error) {
				f, err := a.Resolver.Tenants.FeatureStatus(ctx)
				if err != nil {
					return nil, err
				}
				return &featuresJSON{Signup: f.Signup, RateLimits: f.RateLimits, TLS: f.TLS, Introspection: f.Introspection,
					Environment: f.Environment, CORSOrigins: orEmpty(f.CorsOrigins)}, nil
			}),
	}
}

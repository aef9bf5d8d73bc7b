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
	// Gateway is the AI gateway's requests and tokens by key, model and
	// provider per day.
	Gateway *gatewayUsageJSON `json:"gateway"`
}

type gatewayUsageJSON struct {
	Requests         int                    `json:"total_requests"`
	PromptTokens     int                    `json:"total_prompt_tokens"`
	CompletionTokens int                    `json:"total_completion_tokens"`
	Rows             []*gatewayUsageRowJSON `json:"rows"`
}

type gatewayUsageRowJSON struct {
	Day              string `json:"day"`
	PrincipalType    string `json:"principal_type"`
	PrincipalID      string `json:"principal_id"`
	Model            string `json:"model"`
	Provider         string `json:"provider"`
	Requests         int    `json:"requests"`
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
}

type gatewayTotalsJSON struct {
	Requests         int `json:"requests"`
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

type featuresJSON struct {
	Signup        bool     `json:"signup"`
	RateLimits    bool     `json:"rate_limits"`
	TLS           bool     `json:"tls"`
	Introspection bool     `json:"introspection"`
	Environment   string   `json:"environment"`
	CORSOrigins   []string `json:"cors_origins"`
	Gateway       bool     `json:"gateway"`
	Router        bool     `json:"router"`
	Guardrails    bool     `json:"guardrails"`
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
				g := s.GatewayToday
				return &statsJSON{Counts: countsJSON(s.Counts), RequestsLast24h: s.RequestsLast24h, AuditEventsLast24h: s.AuditEventsLast24h,
					GatewayToday: &gatewayTotalsJSON{Requests: g.Requests, PromptTokens: g.PromptTokens, CompletionTokens: g.CompletionTokens}}, nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/usage/summary", Op: access.UsageSummary,
			Summary: "Requests per day per API key and OAuth client, and AI gateway tokens by key, model and provider; days (default 30)",
			Status:  http.StatusOK, Message: "usage summary"},
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
				gw, err := a.Resolver.Query().GatewayUsage(ctx, &days)
				if err != nil {
					return nil, err
				}
				out.Gateway = &gatewayUsageJSON{Rows: make([]*gatewayUsageRowJSON, len(gw))}
				for i, r := range gw {
					out.Gateway.Rows[i] = &gatewayUsageRowJSON{Day: r.Day, PrincipalType: r.PrincipalType, PrincipalID: r.PrincipalID,
						Model: r.Model, Provider: r.Provider, Requests: r.Requests, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens}
					out.Gateway.Requests += r.Requests
					out.Gateway.PromptTokens += r.PromptTokens
					out.Gateway.CompletionTokens += r.CompletionTokens
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
					Environment: f.Environment, CORSOrigins: orEmpty(f.CorsOrigins), Gateway: f.Gateway, Router: f.Router, Guardrails: f.Guardrails}, nil
			}),
	}
}

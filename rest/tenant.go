package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/credvault/credvault/internal/tenancy"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/access"
)

type tenantSettingsJSON struct {
	IPAllowlist        []string `json:"ip_allowlist"`
	AuditRetentionDays int      `json:"audit_retention_days"`
}

type tenantJSON struct {
	ID        uuid.UUID          `json:"id"`
	Name      string             `json:"name"`
	Slug      string             `json:"slug"`
	Plan      string             `json:"plan"`
	Status    string             `json:"status"`
	Platform  bool               `json:"platform"`
	Settings  tenantSettingsJSON `json:"settings"`
	DeletedAt *time.Time         `json:"deleted_at"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
}

type updateTenantBody struct {
	Name     *string `json:"name,omitempty"`
	Plan     *string `json:"plan,omitempty"`
	Status   *string `json:"status,omitempty"`
	Settings *struct {
		IPAllowlist        []string `json:"ip_allowlist,omitempty"`
		AuditRetentionDays *int     `json:"audit_retention_days,omitempty"`
	} `json:"settings,omitempty"`
}

// statsJSON is a tenant's counts: per kind, the total and each status.
type statsJSON struct {
	TenantID           *uuid.UUID                `json:"tenant_id,omitempty"`
	Counts             map[string]map[string]int `json:"counts"`
	RequestsLast24h    int                       `json:"requests_last_24h"`
	AuditEventsLast24h int                       `json:"audit_events_last_24h"`
	LastActivityAt     *time.Time                `json:"last_activity_at,omitempty"`
	// GatewayToday is on the dashboard's stats only.
	GatewayToday *gatewayTotalsJSON `json:"gateway_today,omitempty"`
}

func toTenantJSON(t *ent.Tenant) *tenantJSON {
	return &tenantJSON{ID: t.ID, Name: t.Name, Slug: t.Slug, Plan: t.Plan, Status: t.Status.String(), Platform: t.Platform,
		Settings:  tenantSettingsJSON{IPAllowlist: orEmpty(t.Settings.IPAllowlist), AuditRetentionDays: t.Settings.AuditRetentionDays},
		DeletedAt: t.DeletedAt, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// countsJSON turns kind counts into {kind: {total, <status>: n}}.
func countsJSON(kinds []*tenancy.KindCount) map[string]map[string]int {
	out := make(map[string]map[string]int, len(kinds))
	for _, k := range kinds {
		m := map[string]int{"total": k.Total}
		for _, s := range k.ByStatus {
			m[s.Status] = s.Count
		}
		out[k.Kind] = m
	}
	return out
}

func (a *API) tenantRoutes() []Route {
	return []Route{
		HandleWhere(Route{Method: http.MethodGet, Path: "/admin/tenants", Op: access.ListTenants,
			Summary: "List every tenant; filters status, plan", Status: http.StatusOK, Message: "tenants",
			Sort:    []string{"created_at", "updated_at", "name", "slug", "plan", "status"},
			Filters: []Filter{{Name: "status", Field: "Status", Enum: enumOf(migrate.TenantsTable, tenant.FieldStatus)}, {Name: "plan", Field: "Plan"}}},
			a.Resolver.Tenants.List, toTenantJSON),
		Handle(Route{Method: http.MethodGet, Path: "/admin/tenants/{tenantId}", Op: access.ReadTenant,
			Summary: "Get a tenant: your own, or any for a platform admin", Status: http.StatusOK, Message: "tenant"},
			func(ctx context.Context, c *Call) (*tenantJSON, error) {
				id, err := c.IDParam("tenantId")
				if err != nil {
					return nil, err
				}
				t, err := a.Resolver.Tenants.Get(ctx, id)
				if err != nil {
					return nil, err
				}
				return toTenantJSON(t), nil
			}),
		HandleBody(Route{Method: http.MethodPatch, Path: "/admin/tenants/{tenantId}", Op: access.UpdateTenant,
			Summary: "Update name, plan, status (active/suspended) and settings", Status: http.StatusOK, Message: "tenant updated"},
			func(ctx context.Context, c *Call, in *updateTenantBody) (*tenantJSON, error) {
				id, err := c.IDParam("tenantId")
				if err != nil {
					return nil, err
				}
				input := tenancy.UpdateTenantInput{Name: in.Name, Plan: in.Plan}
				if in.Status != nil {
					s := tenant.Status(*in.Status)
					input.Status = &s
				}
				if in.Settings != nil {
					input.Settings = &tenancy.TenantSettingsInput{IPAllowlist: in.Settings.IPAllowlist, AuditRetentionDays: in.Settings.AuditRetentionDays}
				}
				t, err := a.Resolver.Tenants.Update(ctx, id, input)
				if err != nil {
					return nil, err
				}
				return toTenantJSON(t), nil
			}),
		Handle(Route{Method: http.MethodDelete, Path: "/admin/tenants/{tenantId}", Op: access.DeleteTenant,
			Summary: "Delete a tenant: its sessions, keys and tokens stop at once; a job purges its data", Status: http.StatusOK, Message: "tenant deleted"},
			func(ctx context.Context, c *Call) (*deleted, error) {
				id, err := c.IDParam("tenantId")
				if err != nil {
					return nil, err
				}
				if _, err := a.Resolver.Tenants.Delete(ctx, id); err != nil {
					return nil, err
				}
				return &deleted{ID: id, Deleted: true}, nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/tenants/{tenantId}/stats", Op: access.ReadTenantStats,
			Summary: "Counts by kind and status, requests and audit events in the last 24 h, last activity", Status: http.StatusOK, Message: "tenant stats"},
			func(ctx context.Context, c *Call) (*statsJSON, error) {
				id, err := c.IDParam("tenantId")
				if err != nil {
					return nil, err
				}
				s, err := a.Resolver.Tenants.Stats(ctx, id)
				if err != nil {
					return nil, err
				}
				return &statsJSON{TenantID: &s.TenantID, Counts: countsJSON(s.Counts), RequestsLast24h: s.RequestsLast24h,
					AuditEventsLast24h: s.AuditEventsLast24h, LastActivityAt: s.LastActivityAt}, nil
			}),
	}
}

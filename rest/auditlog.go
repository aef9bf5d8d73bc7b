package rest

import (
	"net/http"
	"time"

	"entgo.io/ent/dialect/sql/schema"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/internal/access"
)

type auditLogJSON struct {
	ID           uuid.UUID      `json:"id"`
	TenantID     uuid.UUID      `json:"tenant_id"`
	OccurredAt   time.Time      `json:"occurred_at"`
	ActorType    string         `json:"actor_type"`
	ActorID      string         `json:"actor_id"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Outcome      string         `json:"outcome"`
	RequestID    string         `json:"request_id"`
	IP           string         `json:"ip"`
	UserAgent    string         `json:"user_agent"`
	Details      map[string]any `json:"details"`
}

func toAuditLogJSON(a *ent.AuditLog) *auditLogJSON {
	d := a.Details
	if d == nil {
		d = map[string]any{}
	}
	return &auditLogJSON{ID: a.ID, TenantID: a.TenantID, OccurredAt: a.OccurredAt, ActorType: a.ActorType, ActorID: a.ActorID,
		Action: a.Action, ResourceType: a.ResourceType, ResourceID: a.ResourceID, Outcome: a.Outcome.String(),
		RequestID: a.RequestID, IP: a.IP, UserAgent: a.UserAgent, Details: d}
}

// enumOf returns the values ent declares for the enum column of table, so
// a filter documents exactly what the column holds.
func enumOf(table *schema.Table, column string) []string {
	for _, c := range table.Columns {
		if c.Name == column && len(c.Enums) > 0 {
			return c.Enums
		}
	}
	panic("rest: " + table.Name + "." + column + " is not an enum column")
}

func (a *API) auditLogRoutes() []Route {
	return []Route{
		HandleWhere(Route{Method: http.MethodGet, Path: "/admin/audit-logs", Op: access.ListAuditLogs,
			Summary: "The audit trail, newest first; filters actor_id, actor_type, action, resource_type, resource_id, outcome, since, until",
			Status:  http.StatusOK, Message: "audit logs", Sort: []string{"occurred_at", "action"},
			Filters: []Filter{{Name: "actor_id", Field: "ActorID"}, {Name: "actor_type", Field: "ActorType"}, {Name: "action", Field: "Action"},
				{Name: "resource_type", Field: "ResourceType"}, {Name: "resource_id", Field: "ResourceID"},
				{Name: "outcome", Field: "Outcome", Enum: enumOf(migrate.AuditLogsTable, auditlog.FieldOutcome)},
				{Name: "since", Field: "OccurredAtGTE", Format: "date-time", Doc: "Only entries that occurred at or after this time."},
				{Name: "until", Field: "OccurredAtLT", Format: "date-time", Doc: "Only entries that occurred before this time."}}},
			a.Resolver.Audit.List, toAuditLogJSON),
	}
}

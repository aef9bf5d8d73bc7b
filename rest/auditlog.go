package rest

import (
	"context"
	"net/http"
	"time"

	"entgo.io/ent/dialect/sql/schema"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
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

// timeParam parses an RFC 3339 query parameter, or nil when absent.
func timeParam(c *Call, name string) (*time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, apperr.Invalid(name, "must be an RFC 3339 time")
	}
	return &t, nil
}

func (a *API) auditLogRoutes() []Route {
	return []Route{
		HandleList(Route{Method: http.MethodGet, Path: "/admin/audit-logs", Op: access.ListAuditLogs,
			Summary: "The audit trail, newest first; filters actor_id, actor_type, action, resource_type, resource_id, outcome, since, until",
			Status:  http.StatusOK, Message: "audit logs", Sort: []string{"occurred_at", "action"},
			Filters: []Filter{{Name: "actor_id"}, {Name: "actor_type"}, {Name: "action"}, {Name: "resource_type"}, {Name: "resource_id"},
				{Name: "outcome", Enum: enumOf(migrate.AuditLogsTable, auditlog.FieldOutcome)},
				{Name: "since", Format: "date-time"}, {Name: "until", Format: "date-time"}}},
			func(ctx context.Context, c *Call) ([]*auditLogJSON, int, error) {
				where := &ent.AuditLogWhereInput{}
				for name, dst := range map[string]**string{"actor_id": &where.ActorID, "actor_type": &where.ActorType,
					"action": &where.Action, "resource_type": &where.ResourceType, "resource_id": &where.ResourceID} {
					if v := c.Query(name); v != "" {
						*dst = &v
					}
				}
				if v := c.Query("outcome"); v != "" {
					o := auditlog.Outcome(v)
					if auditlog.OutcomeValidator(o) != nil {
						return nil, 0, invalidFilter("outcome")
					}
					where.Outcome = &o
				}
				var err error
				if where.OccurredAtGTE, err = timeParam(c, "since"); err != nil {
					return nil, 0, err
				}
				if where.OccurredAtLT, err = timeParam(c, "until"); err != nil {
					return nil, 0, err
				}
				rows, total, err := a.Resolver.Audit.List(ctx, where, c.Window())
				return mapSlice(rows, toAuditLogJSON), total, err
			}),
	}
}

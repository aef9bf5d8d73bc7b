package rest

import (
	"context"
	"io"
	"net/http"

	"entgo.io/ent/dialect/sql/schema"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
)

// auditLogJSON is an entry as the API shows it, named for the document.
type auditLogJSON audit.View

func toAuditLogJSON(a *ent.AuditLog) *auditLogJSON { return (*auditLogJSON)(audit.NewView(a)) }

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

// auditLogFilters are the filters of the trail, listed or exported.
var auditLogFilters = []Filter{{Name: "actor_id", Field: "ActorID"}, {Name: "actor_type", Field: "ActorType"}, {Name: "action", Field: "Action"},
	{Name: "resource_type", Field: "ResourceType"}, {Name: "resource_id", Field: "ResourceID"},
	{Name: "outcome", Field: "Outcome", Enum: enumOf(migrate.AuditLogsTable, auditlog.FieldOutcome)},
	{Name: "since", Field: "OccurredAtGTE", Format: "date-time", Doc: "Only entries that occurred at or after this time."},
	{Name: "until", Field: "OccurredAtLT", Format: "date-time", Doc: "Only entries that occurred before this time."}}

func (a *API) auditLogRoutes() []Route {
	return []Route{
		HandleWhere(Route{Method: http.MethodGet, Path: "/admin/audit-logs", Op: access.ListAuditLogs,
			Summary: "The audit trail, newest first; filters actor_id, actor_type, action, resource_type, resource_id, outcome, since, until",
			Status:  http.StatusOK, Message: "audit logs", Sort: []string{"occurred_at", "action"}, Filters: auditLogFilters},
			a.Resolver.Audit.List, toAuditLogJSON),
		HandleStream[*auditLogJSON](Route{Method: http.MethodGet, Path: "/admin/audit-logs/export", Op: access.ExportAuditLogs,
			Summary: "The whole audit trail, oldest first, streamed without paging: NDJSON, or CSV with Accept: text/csv; " +
				"the list's filters",
			Secret: true, Status: http.StatusOK, Message: "audit log export", Filters: auditLogFilters,
			Streams: []string{audit.NDJSONType, audit.CSVType}},
			func(ctx context.Context, c *Call, w io.Writer) error {
				where, err := Where[ent.AuditLogWhereInput](c)
				if err != nil {
					return err
				}
				_, err = a.Resolver.Audit.Export(ctx, where, audit.FormatOf(c.MediaType), w)
				return err
			}),
	}
}

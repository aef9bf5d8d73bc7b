package graph

import (
	"context"

	"github.com/credvault/credvault/internal/platform/paging"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/internal/access"
)

// AuditLogsQuery is the tenant's audit trail, for a principal holding audit:read.
func (r *Resolver) AuditLogsQuery(ctx context.Context) (*ent.AuditLogQuery, error) {
	if _, err := r.require(ctx, access.AuditRead); err != nil {
		return nil, err
	}
	return r.Store.Client.AuditLog.Query(), nil
}

// ListAuditLogs is one offset page of the tenant's audit trail.
func (r *Resolver) ListAuditLogs(ctx context.Context, where *ent.AuditLogWhereInput, w paging.Window) ([]*ent.AuditLog, int, error) {
	q, err := r.AuditLogsQuery(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.AuditLogQuery) *ent.AuditLogQuery { return q.Order(w.Term(), w.Tie()) })
}

// auditLogPage is one connection page of the tenant's audit trail narrowed
// by preds, newest first unless ordered otherwise: the root list and every
// audit-log edge (SPEC §10) page alike, under audit:read.
func (r *Resolver) auditLogPage(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.AuditLogOrder, where *ent.AuditLogWhereInput, preds ...predicate.AuditLog) (*ent.AuditLogConnection, error) {
	q, err := r.AuditLogsQuery(ctx)
	if err != nil {
		return nil, err
	}
	if orderBy == nil {
		orderBy = &ent.AuditLogOrder{Field: ent.AuditLogOrderFieldOccurredAt, Direction: entgql.OrderDirectionDesc}
	}
	first, last = paging.Size(first, last)
	return q.Where(preds...).Paginate(ctx, after, first, before, last, ent.WithAuditLogOrder(orderBy), ent.WithAuditLogFilter(where.Filter))
}

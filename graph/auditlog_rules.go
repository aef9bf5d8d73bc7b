package graph

import (
	"context"

	"github.com/credvault/credvault/ent"
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
func (r *Resolver) ListAuditLogs(ctx context.Context, where *ent.AuditLogWhereInput, w Window) ([]*ent.AuditLog, int, error) {
	q, err := r.AuditLogsQuery(ctx)
	return listWindow(ctx, q, err, where, w, func(q *ent.AuditLogQuery) *ent.AuditLogQuery { return q.Order(w.Term(), w.Tie()) })
}

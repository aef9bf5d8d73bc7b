package audit

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/schema/schematype"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/platform/store"
)

// Prune removes each tenant's entries older than its audit_retention_days,
// or only tenant only's unless it is uuid.Nil; the audit_retention job runs
// it. It is the one deletion of entries.
func Prune(ctx context.Context, db *ent.Client, only uuid.UUID) (int, error) {
	ctx = store.Unrestricted(ctx)
	q := db.Tenant.Query()
	if only != uuid.Nil {
		q.Where(tenant.ID(only))
	}
	tenants, err := q.All(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, t := range tenants {
		days := t.Settings.AuditRetentionDays
		if days <= 0 {
			days = schematype.DefaultAuditRetentionDays
		}
		cutoff := store.Now().Add(-time.Duration(days) * 24 * time.Hour)
		n, err := db.AuditLog.Delete().Where(auditlog.TenantID(t.ID), auditlog.OccurredAtLT(cutoff)).Exec(ctx)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

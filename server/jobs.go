package server

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/internal/apikeys"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/tenancy"
	"github.com/credvault/credvault/internal/vault/dek"
)

// How often the periodic jobs run.
const (
	expireKeysEvery     = time.Minute
	auditRetentionEvery = time.Hour
	purgeTenantsEvery   = time.Hour
)

// registerJobs names the jobs of SPEC §9 and schedules the periodic ones.
func registerJobs(q *jobs.Queue, db *ent.Client, deks *dek.Manager) {
	q.Register(jobs.DEKRotation, func(ctx context.Context, j *ent.Job) error {
		return rotateDEKs(ctx, db, deks, j.Args)
	})
	q.Register(jobs.ExpireAPIKeys, func(ctx context.Context, _ *ent.Job) error {
		_, err := apikeys.ExpireKeys(ctx, db)
		return err
	})
	q.Register(jobs.AuditRetention, func(ctx context.Context, _ *ent.Job) error {
		_, err := audit.Prune(ctx, db)
		return err
	})
	q.Register(jobs.PurgeDeletedTenants, func(ctx context.Context, _ *ent.Job) error {
		_, err := tenancy.PurgeDeleted(ctx, db)
		return err
	})
	q.Every(jobs.ExpireAPIKeys, expireKeysEvery)
	q.Every(jobs.AuditRetention, auditRetentionEvery)
	q.Every(jobs.PurgeDeletedTenants, purgeTenantsEvery)
}

// rotateDEKs re-encrypts the credentials of the tenant named in args, or of
// every tenant with credentials on a retired DEK when none is named.
func rotateDEKs(ctx context.Context, db *ent.Client, deks *dek.Manager, args map[string]any) error {
	var tenants []uuid.UUID
	if s, ok := args["tenant_id"].(string); ok && s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return fmt.Errorf("dek_rotation: tenant_id: %w", err)
		}
		tenants = []uuid.UUID{id}
	} else {
		err := db.Credential.Query().Unique(true).Select(credential.FieldTenantID).Scan(store.Unrestricted(ctx), &tenants)
		if err != nil {
			return err
		}
	}
	for _, t := range tenants {
		remaining, err := deks.Reencrypt(ctx, t, dek.BatchSize, 0)
		if err != nil {
			return err
		}
		if remaining > 0 {
			return fmt.Errorf("dek_rotation: %d credentials of tenant %s still on an old DEK", remaining, t)
		}
	}
	return nil
}

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
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/tenancy"
	"github.com/credvault/credvault/internal/vault/dek"
	"github.com/credvault/credvault/internal/webhooks"
)

// How often the periodic jobs run.
const (
	expireKeysEvery     = time.Minute
	auditRetentionEvery = time.Hour
	purgeTenantsEvery   = time.Hour
	// Periods are whole multiples of their length since Go's zero time, a
	// midnight UTC: a day's period starts at 00:00 UTC.
	resetSandboxesEvery = 24 * time.Hour
)

// registerJobs names the jobs of SPEC §9 and the sandbox reset of §15, and
// schedules the periodic ones.
func registerJobs(q *jobs.Queue, db *ent.Client, deks *dek.Manager, events *webhooks.Outbox, bus *invalidate.Bus) {
	q.Register(jobs.DEKRotation, func(ctx context.Context, j *ent.Job) error {
		return rotateDEKs(ctx, db, deks, events, j)
	})
	q.Register(jobs.ExpireAPIKeys, func(ctx context.Context, _ *ent.Job) error {
		_, err := apikeys.ExpireKeys(ctx, db)
		return err
	})
	q.Register(jobs.AuditRetention, func(ctx context.Context, _ *ent.Job) error {
		if _, err := audit.Prune(ctx, db); err != nil {
			return err
		}
		_, err := webhooks.Prune(ctx, db, time.Now())
		return err
	})
	q.Register(jobs.PurgeDeletedTenants, func(ctx context.Context, _ *ent.Job) error {
		_, err := tenancy.PurgeDeleted(ctx, db)
		return err
	})
	q.Register(jobs.ResetSandboxTenants, func(ctx context.Context, j *ent.Job) error {
		return resetSandboxes(ctx, db, bus, j)
	})
	q.Every(jobs.ExpireAPIKeys, expireKeysEvery)
	q.Every(jobs.AuditRetention, auditRetentionEvery)
	q.Every(jobs.PurgeDeletedTenants, purgeTenantsEvery)
	q.Every(jobs.ResetSandboxTenants, resetSandboxesEvery)
}

// resetSandboxes resets the tenant named in the job's args, if it is a
// sandbox, or every sandbox when none is named (the daily run): a tenant
// triggering the job resets itself, never another.
func resetSandboxes(ctx context.Context, db *ent.Client, bus *invalidate.Bus, j *ent.Job) error {
	var only uuid.UUID
	if s, _ := j.Args[jobs.TenantArg].(string); s != "" {
		id, err := uuid.Parse(s)
		if err != nil {
			return fmt.Errorf("reset_sandbox_tenants: tenant_id: %w", err)
		}
		only = id
	}
	_, err := tenancy.ResetSandboxes(ctx, db, bus, only)
	return err
}

// rotateDEKs re-encrypts the credentials of the tenant named in the job's
// args, or of every tenant with credentials on a retired DEK when none is
// named; a named tenant hears of the end by a dek.rotation_completed event.
func rotateDEKs(ctx context.Context, db *ent.Client, deks *dek.Manager, events *webhooks.Outbox, j *ent.Job) error {
	var tenants []uuid.UUID
	s, named := j.Args["tenant_id"].(string)
	if named = named && s != ""; named {
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
		if !named {
			continue
		}
		err = store.WithTx(store.Unrestricted(ctx), db, func(ctx context.Context, tx *ent.Client) error {
			version, _, err := deks.Active(ctx, tx, t)
			if err != nil {
				return err
			}
			return events.Emit(ctx, tx, t, webhooks.DEKRotationCompleted,
				map[string]any{"tenant_id": t, "dek_version": version, "job_id": j.ID})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

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
	q.Register(jobs.ExpireAPIKeys, forTenant(func(ctx context.Context, only uuid.UUID) error {
		_, err := apikeys.ExpireKeys(ctx, db, only)
		return err
	}))
	q.Register(jobs.AuditRetention, forTenant(func(ctx context.Context, only uuid.UUID) error {
		if _, err := audit.Prune(ctx, db, only); err != nil {
			return err
		}
		_, err := webhooks.Prune(ctx, db, time.Now(), only)
		return err
	}))
	q.Register(jobs.PurgeDeletedTenants, forTenant(func(ctx context.Context, only uuid.UUID) error {
		_, err := tenancy.PurgeDeleted(ctx, db, only)
		return err
	}))
	q.Register(jobs.ResetSandboxTenants, forTenant(func(ctx context.Context, only uuid.UUID) error {
		_, err := tenancy.ResetSandboxes(ctx, db, bus, only)
		return err
	}))
	q.Every(jobs.ExpireAPIKeys, expireKeysEvery)
	q.Every(jobs.AuditRetention, auditRetentionEvery)
	q.Every(jobs.PurgeDeletedTenants, purgeTenantsEvery)
	q.Every(jobs.ResetSandboxTenants, resetSandboxesEvery)
}

// forTenant runs a maintenance job for the tenant named in its args — a
// tenant triggering it (jobs.Service.Trigger) acts on itself, never on
// another — or for every tenant when none is named (the periodic runs).
func forTenant(run func(ctx context.Context, only uuid.UUID) error) jobs.Handler {
	return func(ctx context.Context, j *ent.Job) error {
		only, err := jobTenant(j)
		if err != nil {
			return err
		}
		return run(ctx, only)
	}
}

// jobTenant is the tenant named in j's args, or uuid.Nil when none is.
func jobTenant(j *ent.Job) (uuid.UUID, error) {
	s, _ := j.Args[jobs.TenantArg].(string)
	if s == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%s: %s: %w", j.Name, jobs.TenantArg, err)
	}
	return id, nil
}

// rotateDEKs re-encrypts the credentials of the tenant named in the job's
// args, or of every tenant with credentials on a retired DEK when none is
// named; a named tenant hears of the end by a dek.rotation_completed event.
func rotateDEKs(ctx context.Context, db *ent.Client, deks *dek.Manager, events *webhooks.Outbox, j *ent.Job) error {
	var tenants []uuid.UUID
	id, err := jobTenant(j)
	if err != nil {
		return err
	}
	named := id != uuid.Nil
	if named {
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

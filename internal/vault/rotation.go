package vault

import (
	"context"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/store"
)

// RotateDEK makes a new DEK the tenant's active one, for new writes at
// once, and enqueues the job that re-encrypts the rest. tenantID nil is the
// caller's tenant; another tenant only as access.RotateDEK's tenant rule
// allows it (authz.Guard.InTenant), the audit entry then written in that
// tenant.
func (s *Service) RotateDEK(ctx context.Context, tenantID *uuid.UUID) (*DEKRotation, error) {
	var target uuid.UUID
	if tenantID != nil {
		target = *tenantID
	} else if p, ok := access.FromContext(ctx); ok {
		target = p.TenantID
	}
	ctx, _, err := s.Guard.InTenant(ctx, access.RotateDEK, target)
	if err != nil {
		return nil, err
	}
	out := &DEKRotation{}
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		var err error
		if out.DekVersion, err = s.DEKs.Rotate(ctx, tx, target); err != nil {
			return err
		}
		j, err := s.Jobs.Enqueue(ctx, tx, jobs.DEKRotation, map[string]any{"tenant_id": target.String()})
		if err != nil {
			return err
		}
		out.JobID = j.ID
		return audit.Record(ctx, tx, audit.Entry{Action: "dek.rotate", ResourceType: "data_key", ResourceID: target.String(),
			Details: map[string]any{"dek_version": out.DekVersion, "job_id": j.ID.String()}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

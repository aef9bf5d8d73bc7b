package jobs

import (
	"context"
	"maps"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
)

// Service triggers jobs and reports their stats, per tenant.
// It owns the rules of its operations — authorisation (see package
// access), validation, the transaction, the audit entry and the change's
// event — so GraphQL and REST both call it and neither repeats a rule.
type Service struct {
	Client *ent.Client
	Guard  *authz.Guard
	Queue  *Queue
}

// Trigger enqueues a run of the job called name now. The run is for the
// caller's tenant (args.tenant_id, see TenantArg); naming another tenant —
// a DEK rotation of it — needs platform:admin.
func (s *Service) Trigger(ctx context.Context, name string, args map[string]any) (*TriggeredJob, error) {
	p, err := s.Guard.Require(ctx, access.TriggerJob)
	if err != nil {
		return nil, err
	}
	if err := s.known(name); err != nil {
		return nil, err
	}
	args = maps.Clone(args)
	if args == nil {
		args = map[string]any{}
	}
	if v, named := args[TenantArg]; !named {
		args[TenantArg] = p.TenantID.String()
	} else if v != p.TenantID.String() && !p.Scopes.Has(access.PlatformAdmin) {
		return nil, s.Guard.Deny(ctx, access.PlatformAdmin)
	}
	var out *TriggeredJob
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		j, err := s.Queue.Enqueue(ctx, tx, name, args)
		if err != nil {
			return err
		}
		out = &TriggeredJob{JobID: j.ID}
		return audit.Record(ctx, tx, audit.Entry{Action: "job.trigger", ResourceType: "job", ResourceID: j.ID.String(),
			Details: map[string]any{"job_name": name}})
	})
	return out, err
}

// Stats counts the runs of the job called name in the caller's tenant. A
// platform admin counts every tenant's runs (periodic ones included), or
// one tenant's once it selects that tenant with x-tenantid.
func (s *Service) Stats(ctx context.Context, name string) (*JobStats, error) {
	p, err := s.Guard.Require(ctx, access.ReadJobStats)
	if err != nil {
		return nil, err
	}
	if err := s.known(name); err != nil {
		return nil, err
	}
	var where []predicate.Job
	if !p.Scopes.Has(access.PlatformAdmin) || p.TenantID != p.HomeTenantID {
		where = append(where, forTenant(p.TenantID))
	}
	st, err := s.Queue.Stats(ctx, name, where...)
	if err != nil {
		return nil, err
	}
	return &JobStats{JobName: st.Name, Pending: st.Pending, Running: st.Running, Completed: st.Completed,
		Failed: st.Failed, Retrying: st.Retrying, LastRunAt: st.LastRunAt}, nil
}

// known refuses a job name nobody registered: 422 naming job_name.
func (s *Service) known(name string) error {
	if !s.Queue.Known(name) {
		return apperr.Invalid("job_name", "unknown").With("allowed", s.Queue.Names())
	}
	return nil
}

// forTenant matches the runs whose args name tenant id.
func forTenant(id uuid.UUID) predicate.Job {
	return func(sel *sql.Selector) {
		sel.Where(sqljson.ValueEQ(sel.C(job.FieldArgs), id.String(), sqljson.Path(TenantArg)))
	}
}

package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
)

type triggerJobBody struct {
	JobName string         `json:"job_name"`
	Args    map[string]any `json:"args,omitempty"`
}

type triggeredJSON struct {
	JobID uuid.UUID `json:"job_id"`
}

type jobStatsJSON struct {
	JobName   string     `json:"job_name"`
	Pending   int        `json:"pending"`
	Running   int        `json:"running"`
	Completed int        `json:"completed"`
	Failed    int        `json:"failed"`
	Retrying  int        `json:"retrying"`
	LastRunAt *time.Time `json:"last_run_at"`
}

func (a *API) jobRoutes() []Route {
	return []Route{
		HandleBody(Route{Method: http.MethodPost, Path: "/admin/jobs/trigger", Op: access.TriggerJob,
			Summary: "Run a background job now", Status: http.StatusAccepted, Message: "job enqueued"},
			func(ctx context.Context, _ *Call, in *triggerJobBody) (*triggeredJSON, error) {
				j, err := a.Resolver.JobRuns.Trigger(ctx, in.JobName, in.Args)
				if err != nil {
					return nil, err
				}
				return &triggeredJSON{JobID: j.JobID}, nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/jobs/{jobName}/stats", Op: access.ReadJobStats,
			Summary: "Runs of a job by status, and when it last ran", Status: http.StatusOK, Message: "job stats"},
			func(ctx context.Context, c *Call) (*jobStatsJSON, error) {
				s, err := a.Resolver.JobRuns.Stats(ctx, c.Param("jobName"))
				if err != nil {
					return nil, err
				}
				return &jobStatsJSON{JobName: s.JobName, Pending: s.Pending, Running: s.Running, Completed: s.Completed,
					Failed: s.Failed, Retrying: s.Retrying, LastRunAt: s.LastRunAt}, nil
			}),
	}
}

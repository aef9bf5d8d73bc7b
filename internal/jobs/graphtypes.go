package jobs

// The types of this package that the GraphQL schema names (bound in
// gqlgen.yml): the service takes and returns them, the resolvers pass them on.

import (
	"time"

	"github.com/google/uuid"
)

// Runs of one background job by status.
type JobStats struct {
	JobName   string     `json:"jobName"`
	Pending   int        `json:"pending"`
	Running   int        `json:"running"`
	Completed int        `json:"completed"`
	Failed    int        `json:"failed"`
	Retrying  int        `json:"retrying"`
	LastRunAt *time.Time `json:"lastRunAt,omitempty"`
}

type TriggeredJob struct {
	JobID uuid.UUID `json:"jobID"`
}

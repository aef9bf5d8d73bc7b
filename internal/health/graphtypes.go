package health

import "context"

// The types of this package that the GraphQL schema names (bound in
// gqlgen.yml): the service takes and returns them, the resolvers pass them on.

// How the server and its database are doing.
type Health struct {
	// ok when every check passes, unavailable otherwise.
	Status string `json:"status"`
	// ok, or unavailable when the database does not answer.
	Database string `json:"database"`
	// Round trip of a database ping, in milliseconds.
	DatabaseLatencyMs float64 `json:"databaseLatencyMs"`
	// A digest of the database schema this build migrates to.
	SchemaVersion string `json:"schemaVersion"`
	// Runs waiting, by job.
	QueueDepths   []*QueueDepth `json:"queueDepths"`
	Version       string        `json:"version"`
	Commit        string        `json:"commit"`
	UptimeSeconds int           `json:"uptimeSeconds"`
	// Where rate limits are counted: local, redis, or local (redis
	// unreachable); set by Detailed alone, for REST (GraphQL asks
	// RateLimitStoreOf, which checks the caller's scope).
	RateLimitStore string `json:"rateLimitStore,omitempty"`

	// service made the report.
	service *Service
}

// RateLimitStoreOf is the GraphQL field rateLimitStore: where rate limits
// are counted, for a principal holding tenant:read (see Service.RateLimitStoreOf).
func (h *Health) RateLimitStoreOf(ctx context.Context) (*string, error) {
	return h.service.RateLimitStoreOf(ctx)
}

type QueueDepth struct {
	JobName string `json:"jobName"`
	Depth   int    `json:"depth"`
}

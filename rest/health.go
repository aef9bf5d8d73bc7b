package rest

import (
	"context"
	"net/http"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/health"
	"github.com/credvault/credvault/internal/platform/apperr"
)

func (a *API) healthRoutes() []Route {
	return []Route{
		Handle(Route{
			Method: http.MethodGet, Path: "/health", Op: access.Health, Unlimited: true,
			Summary: "Readiness: the server answers and its database too",
			Status:  http.StatusOK, Message: "service is healthy",
		}, a.readiness),
		Handle(Route{
			Method: http.MethodGet, Path: "/admin/health", Op: access.AdminHealth,
			Summary: "Detailed health: database latency, schema version, queue depths, uptime, version",
			Status:  http.StatusOK, Message: "service health",
		}, func(ctx context.Context, _ *Call) (*healthJSON, error) {
			h, err := a.Resolver.Health.Detailed(ctx)
			if err != nil {
				return nil, err
			}
			return toHealth(h), nil
		}),
	}
}

// healthJSON is the REST shape of the health report.
type healthJSON struct {
	Status            string         `json:"status"`
	Database          string         `json:"database"`
	DatabaseLatencyMs float64        `json:"database_latency_ms"`
	SchemaVersion     string         `json:"schema_version"`
	QueueDepths       map[string]int `json:"queue_depths"`
	Version           string         `json:"version"`
	Commit            string         `json:"commit"`
	UptimeSeconds     int            `json:"uptime_seconds"`
	// RateLimitStore is in the detailed report only: local, redis, or
	// local (redis unreachable).
	RateLimitStore string `json:"rate_limit_store,omitempty"`
}

func toHealth(h *health.Health) *healthJSON {
	out := &healthJSON{Status: h.Status, Database: h.Database, DatabaseLatencyMs: h.DatabaseLatencyMs, SchemaVersion: h.SchemaVersion,
		QueueDepths: map[string]int{}, Version: h.Version, Commit: h.Commit, UptimeSeconds: h.UptimeSeconds,
		RateLimitStore: h.RateLimitStore}
	for _, q := range h.QueueDepths {
		out.QueueDepths[q.JobName] = q.Depth
	}
	return out
}

// readiness is 200 with the health report, or 503 SERVICE_UNAVAILABLE naming
// the failed check, with Retry-After, when the database does not answer.
func (a *API) readiness(ctx context.Context, _ *Call) (*healthJSON, error) {
	h, err := a.Resolver.Health.Public(ctx)
	if err != nil {
		return nil, err
	}
	if h.Status != "ok" {
		return nil, apperr.ServiceUnavailable("service is not ready").With("database", h.Database)
	}
	return toHealth(h), nil
}

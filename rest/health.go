package rest

import (
	"context"
	"net/http"

	"github.com/credvault/credvault/apperr"
)

func (a *API) healthRoutes() []Route {
	return []Route{
		Handle(Route{
			Method: http.MethodGet, Path: "/health", Open: true, Unlimited: true, Field: "health",
			Summary: "Readiness: the server answers and its database too",
			Status:  http.StatusOK, Message: "service is healthy",
		}, a.readiness),
	}
}

// health is the REST shape of the health report.
type health struct {
	Status            string  `json:"status"`
	Database          string  `json:"database"`
	DatabaseLatencyMs float64 `json:"database_latency_ms"`
	Version           string  `json:"version"`
	UptimeSeconds     int     `json:"uptime_seconds"`
}

// readiness is 200 with the health report, or 503 SERVICE_UNAVAILABLE naming
// the failed check when the database does not answer.
func (a *API) readiness(ctx context.Context, _ *Call) (*health, error) {
	h, err := a.Resolver.Query().Health(ctx)
	if err != nil {
		return nil, err
	}
	if h.Status != "ok" {
		return nil, apperr.New(apperr.Unavailable, "service is not ready").With("database", h.Database)
	}
	return &health{
		Status: h.Status, Database: h.Database, DatabaseLatencyMs: h.DatabaseLatencyMs,
		Version: h.Version, UptimeSeconds: h.UptimeSeconds,
	}, nil
}

package health

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/store"
)

// Service reports how the server and its database are doing.
// It owns the rules of its operations — authorisation (see package
// access), validation, the transaction, the audit entry and the change's
// event — so GraphQL and REST both call it and neither repeats a rule.
type Service struct {
	Client *ent.Client
	Guard  *authz.Guard
	Store  *store.Store
	Queue  *jobs.Queue
	// Version and Commit name the build; Started is when the server started.
	Version string
	Commit  string
	Started time.Time
	// RateLimitStore says where rate limits are counted (see
	// ratelimit.Counters.Store); nil when they are off.
	RateLimitStore func() string
}

// Public is the health report anyone may read: readiness for load
// balancers. A database that does not answer is reported, not an error.
func (s *Service) Public(ctx context.Context) (*Health, error) {
	start := time.Now()
	pingErr := s.Store.Ping(ctx)
	h := &Health{
		Status:            "ok",
		Database:          "ok",
		DatabaseLatencyMs: float64(time.Since(start).Microseconds()) / 1000,
		SchemaVersion:     schemaVersion,
		QueueDepths:       []*QueueDepth{},
		Version:           s.Version,
		Commit:            s.Commit,
		UptimeSeconds:     int(time.Since(s.Started).Seconds()),
		service:           s,
	}
	if pingErr != nil {
		h.Status, h.Database = "unavailable", "unavailable"
		return h, nil
	}
	depths, err := s.Queue.Depth(ctx)
	if err != nil {
		return nil, err
	}
	for _, name := range s.Queue.Names() {
		h.QueueDepths = append(h.QueueDepths, &QueueDepth{JobName: name, Depth: depths[name]})
	}
	return h, nil
}

// Detailed is the health report for a principal holding tenant:read, as
// GET /api/v1/admin/health serves it.
func (s *Service) Detailed(ctx context.Context) (*Health, error) {
	if _, err := s.Guard.Require(ctx, access.AdminHealth); err != nil {
		return nil, err
	}
	h, err := s.Public(ctx)
	if err == nil && s.RateLimitStore != nil {
		h.RateLimitStore = s.RateLimitStore()
	}
	return h, err
}

// RateLimitStoreOf is where rate limits are counted, for a principal
// holding tenant:read, as Detailed reports it; nil when rate limits are off.
func (s *Service) RateLimitStoreOf(ctx context.Context) (*string, error) {
	if _, err := s.Guard.Require(ctx, access.AdminHealth); err != nil {
		return nil, err
	}
	if s.RateLimitStore == nil {
		return nil, nil
	}
	store := s.RateLimitStore()
	return &store, nil
}

// schemaVersion digests the tables and columns this build migrates to: two
// instances with the same value agree on the schema.
var schemaVersion = func() string {
	h := sha256.New()
	for _, t := range migrate.Tables {
		fmt.Fprintf(h, "%s(", t.Name)
		for _, c := range t.Columns {
			fmt.Fprintf(h, "%s %s %v,", c.Name, c.Type, c.Nullable)
		}
		fmt.Fprint(h, ")")
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}()

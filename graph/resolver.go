// Package graph is CredVault's GraphQL graph: gqlgen resolvers over the ent
// data layer. Every business rule lives here or beneath; the REST shim calls
// these same resolvers.
package graph

import (
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/credvault/credvault/graph/model"
	"github.com/credvault/credvault/internal/apikeys"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/dek"
)

// Resolver holds what every resolver needs.
type Resolver struct {
	Store    *store.Store
	Identity *identity.Service
	Keys     *apikeys.Verifier
	Bus      *invalidate.Bus
	// AuditBatch records high-volume entries of reads, such as validations.
	AuditBatch *audit.Batcher
	DEKs       *dek.Manager
	Jobs       *jobs.Queue
	Metrics    *metrics.Metrics
	// Features is what this server has enabled, as featureStatus shows it.
	Features model.FeatureStatus
	Version  string
	Started  time.Time
}

// NewSchema returns the executable schema served at /graphql.
func NewSchema(r *Resolver) graphql.ExecutableSchema {
	return NewExecutableSchema(Config{Resolvers: r})
}

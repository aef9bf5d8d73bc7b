// Package graph is CredVault's GraphQL graph: gqlgen resolvers, each a call
// into the domain service that owns its rules (internal/...). The REST shim
// calls these same resolvers or services.
package graph

import (
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/gateway"
	"github.com/credvault/credvault/internal/guardrails"
	"github.com/credvault/credvault/internal/health"
	"github.com/credvault/credvault/internal/oauth"
	"github.com/credvault/credvault/internal/sso"
	"github.com/credvault/credvault/internal/tenancy"
	"github.com/credvault/credvault/internal/vault"
	"github.com/credvault/credvault/internal/webhooks"

	"github.com/99designs/gqlgen/graphql"

	"github.com/credvault/credvault/internal/apikeys"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/store"
)

// Resolver holds what every resolver needs: the domain services first.
type Resolver struct {
	APIKeys      *apikeys.Service
	OAuthClients *oauth.Clients
	Users        *identity.Users
	Vault        *vault.Service
	Tenants      *tenancy.Service
	Audit        *audit.Trail
	JobRuns      *jobs.Service
	Health       *health.Service
	Webhooks     *webhooks.Service
	// Gateway is the AI gateway's router and providers (SPEC §14).
	Gateway *gateway.Service
	// Guardrails checks the AI gateway's messages (SPEC §14).
	Guardrails *guardrails.Service
	// SSO is single sign-on: its configuration here, its browser legs in REST.
	SSO   *sso.Service
	Guard *authz.Guard
	// Identity signs up, logs in and refreshes sessions.
	Identity *identity.Service
	// Store is read by node(id), which looks an id up in every table.
	Store *store.Store
	// Version is the build's, for the OpenAPI document.
	Version string
}

// NewSchema returns the executable schema served at /graphql.
func NewSchema(r *Resolver) graphql.ExecutableSchema {
	c := Config{Resolvers: r}
	countPages(&c.Complexity)
	c.Complexity.Query.Nodes = nodesComplexity
	return NewExecutableSchema(c)
}

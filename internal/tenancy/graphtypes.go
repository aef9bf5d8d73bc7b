package tenancy

// The types of this package that the GraphQL schema names (bound in
// gqlgen.yml): the service takes and returns them, the resolvers pass them on.

import (
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/tenant"
)

// What a dashboard shows of a tenant over the last 24 hours.
type DashboardStats struct {
	Counts             []*KindCount `json:"counts"`
	RequestsLast24h    int          `json:"requestsLast24h"`
	AuditEventsLast24h int          `json:"auditEventsLast24h"`
	// GatewayToday is the AI gateway's chat requests and tokens of the
	// current UTC day.
	GatewayToday *GatewayTotals `json:"gatewayToday"`
}

// GatewayTotals are AI gateway chat requests and their tokens.
type GatewayTotals struct {
	Requests         int `json:"requests"`
	PromptTokens     int `json:"promptTokens"`
	CompletionTokens int `json:"completionTokens"`
}

// GatewayUsageRow is one API key's chat requests and tokens for one model
// and provider on one day.
type GatewayUsageRow struct {
	Day              string `json:"day"`
	PrincipalType    string `json:"principalType"`
	PrincipalID      string `json:"principalID"`
	Model            string `json:"model"`
	Provider         string `json:"provider"`
	Requests         int    `json:"requests"`
	PromptTokens     int    `json:"promptTokens"`
	CompletionTokens int    `json:"completionTokens"`
}

// What this server has enabled.
type FeatureStatus struct {
	Signup        bool     `json:"signup"`
	RateLimits    bool     `json:"rateLimits"`
	TLS           bool     `json:"tls"`
	Introspection bool     `json:"introspection"`
	Environment   string   `json:"environment"`
	CorsOrigins   []string `json:"corsOrigins"`
	// Gateway is the AI gateway's OpenAI-compatible routes, which this
	// server serves; Router and Guardrails whether the tenant has an
	// enabled provider and an enabled guardrail.
	Gateway    bool `json:"gateway"`
	Router     bool `json:"router"`
	Guardrails bool `json:"guardrails"`
}

// How many of one kind of resource a tenant holds, in total and by status.
type KindCount struct {
	Kind     string         `json:"kind"`
	Total    int            `json:"total"`
	ByStatus []*StatusCount `json:"byStatus"`
}

type StatusCount struct {
	Status string `json:"status"`
	Count  int    `json:"count"`
}

type TenantSettingsInput struct {
	IPAllowlist        []string `json:"ipAllowlist,omitempty"`
	AuditRetentionDays *int     `json:"auditRetentionDays,omitempty"`
}

type TenantStats struct {
	TenantID uuid.UUID    `json:"tenantID"`
	Counts   []*KindCount `json:"counts"`
	// Requests of the tenant's principals in the last 24 hours (counted in batches).
	RequestsLast24h    int        `json:"requestsLast24h"`
	AuditEventsLast24h int        `json:"auditEventsLast24h"`
	LastActivityAt     *time.Time `json:"lastActivityAt,omitempty"`
}

type UpdateTenantInput struct {
	Name *string `json:"name,omitempty"`
	// free, pro or enterprise.
	Plan *string `json:"plan,omitempty"`
	// active or suspended; suspending stops every session, key and token of the tenant at once.
	Status   *tenant.Status       `json:"status,omitempty"`
	Settings *TenantSettingsInput `json:"settings,omitempty"`
}

// Requests of one API key or OAuth client on one day.
type UsageRow struct {
	Day           string `json:"day"`
	PrincipalType string `json:"principalType"`
	PrincipalID   string `json:"principalID"`
	Requests      int    `json:"requests"`
}

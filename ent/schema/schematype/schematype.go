// Package schematype holds the Go types of JSON columns, apart from the schema
// package so that generated code can import them without a cycle.
package schematype

import "time"

// TenantSettings are a tenant's own settings.
type TenantSettings struct {
	// IPAllowlist lists CIDRs every credential of the tenant must come from; empty allows all.
	IPAllowlist []string `json:"ip_allowlist"`
	// AuditRetentionDays is how long audit entries are kept.
	AuditRetentionDays int `json:"audit_retention_days"`
}

// DefaultAuditRetentionDays is the retention of a tenant that set none.
const DefaultAuditRetentionDays = 365

// DefaultTenantSettings returns the settings of a new tenant.
func DefaultTenantSettings() TenantSettings {
	return TenantSettings{IPAllowlist: []string{}, AuditRetentionDays: DefaultAuditRetentionDays}
}

// WebhookAttempt is one attempt of a webhook delivery.
type WebhookAttempt struct {
	Attempt        int       `json:"attempt"`
	At             time.Time `json:"at"`
	ResponseStatus *int      `json:"response_status,omitempty"`
	DurationMS     int       `json:"duration_ms"`
	Error          string    `json:"error,omitempty"`
}

// RouterRoute sends a model's chat requests to providers, tried in order.
type RouterRoute struct {
	Model     string   `json:"model"`
	Providers []string `json:"providers"`
}

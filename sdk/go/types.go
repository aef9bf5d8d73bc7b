package credvault

import "time"

// RateLimit is a key's own rate limit.
type RateLimit struct {
	Requests      int `json:"requests"`
	WindowSeconds int `json:"window_seconds"`
}

// APIKey is an API key. Key is set only in the answer of Create and Rotate,
// the one time the secret is shown.
type APIKey struct {
	ID               string     `json:"id"`
	TenantID         string     `json:"tenant_id"`
	Name             string     `json:"name"`
	Key              string     `json:"key,omitempty"`
	Prefix           string     `json:"prefix"`
	Scopes           []string   `json:"scopes"`
	Status           string     `json:"status"`
	ExpiresAt        *time.Time `json:"expires_at"`
	LastUsedAt       *time.Time `json:"last_used_at"`
	RevokedAt        *time.Time `json:"revoked_at"`
	IPAllowlist      []string   `json:"ip_allowlist"`
	RateLimit        *RateLimit `json:"rate_limit"`
	ServiceAccountID *string    `json:"service_account_id"`
	UserID           *string    `json:"user_id"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// CreateAPIKeyRequest creates a key; Scopes nil means the caller's own.
type CreateAPIKeyRequest struct {
	Name             string     `json:"name"`
	Scopes           []string   `json:"scopes,omitempty"`
	ExpiresAt        *time.Time `json:"expires_at,omitempty"`
	ServiceAccountID *string    `json:"service_account_id,omitempty"`
	IPAllowlist      []string   `json:"ip_allowlist,omitempty"`
	RateLimit        *RateLimit `json:"rate_limit,omitempty"`
}

// RotateRequest rotates a secret; the old one keeps working for
// GracePeriodSeconds (the server's default when nil).
type RotateRequest struct {
	GracePeriodSeconds *int `json:"grace_period_seconds,omitempty"`
}

// KeyValidation is the outcome of validating a key's secret.
type KeyValidation struct {
	Valid     bool       `json:"valid"`
	Reason    *string    `json:"reason,omitempty"`
	KeyID     string     `json:"key_id"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// APIKeyListOptions filter and page a list of keys.
type APIKeyListOptions struct {
	ListOptions
	// Status is active, expired or revoked.
	Status           string
	ServiceAccountID string
}

// OAuthClient is an OAuth client; ClientSecret is set only when created or
// rotated.
type OAuthClient struct {
	ID                    string    `json:"id"`
	TenantID              string    `json:"tenant_id"`
	ClientID              string    `json:"client_id"`
	ClientSecret          string    `json:"client_secret,omitempty"`
	Name                  string    `json:"name"`
	RedirectURIs          []string  `json:"redirect_uris"`
	GrantTypes            []string  `json:"grant_types"`
	Scopes                []string  `json:"scopes"`
	AccessTokenTTLSeconds int       `json:"access_token_ttl_seconds"`
	Status                string    `json:"status"`
	CreatedBy             *string   `json:"created_by"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
}

// CreateOAuthClientRequest creates an OAuth client.
type CreateOAuthClientRequest struct {
	Name                  string   `json:"name"`
	RedirectURIs          []string `json:"redirect_uris,omitempty"`
	GrantTypes            []string `json:"grant_types,omitempty"`
	Scopes                []string `json:"scopes,omitempty"`
	AccessTokenTTLSeconds *int     `json:"access_token_ttl_seconds,omitempty"`
}

// UpdateOAuthClientRequest changes the fields it sets.
type UpdateOAuthClientRequest struct {
	Name                  *string  `json:"name,omitempty"`
	RedirectURIs          []string `json:"redirect_uris,omitempty"`
	GrantTypes            []string `json:"grant_types,omitempty"`
	Scopes                []string `json:"scopes,omitempty"`
	AccessTokenTTLSeconds *int     `json:"access_token_ttl_seconds,omitempty"`
	// Status is active or disabled; disabled stops the client's tokens at once.
	Status *string `json:"status,omitempty"`
}

// OAuthClientListOptions filter and page a list of OAuth clients.
type OAuthClientListOptions struct {
	ListOptions
	Status string
}

// DeletedClient answers the deletion of an OAuth client.
type DeletedClient struct {
	ClientID string `json:"client_id"`
	Deleted  bool   `json:"deleted"`
}

// Deleted answers a deletion.
type Deleted struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// Credential is a stored credential; Data is set only where the read
// decrypts it (CredentialsService.Get).
type Credential struct {
	ID             string         `json:"id"`
	TenantID       string         `json:"tenant_id"`
	IntegrationID  string         `json:"integration_id"`
	Name           string         `json:"name"`
	AuthType       string         `json:"auth_type"`
	Status         string         `json:"status"`
	Data           map[string]any `json:"data,omitempty"`
	Metadata       map[string]any `json:"metadata"`
	ExpiresAt      *time.Time     `json:"expires_at"`
	LastAccessedAt *time.Time     `json:"last_accessed_at"`
	CreatedBy      *string        `json:"created_by"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

// Integration is an integration's credentials.
type Integration struct {
	IntegrationID string       `json:"integration_id"`
	Credentials   []Credential `json:"credentials"`
}

// StoreCredentialRequest stores an integration's secret, encrypted.
type StoreCredentialRequest struct {
	IntegrationID string  `json:"integration_id"`
	Name          *string `json:"name,omitempty"`
	// AuthType is api_key, oauth2, basic_auth or custom.
	AuthType  string         `json:"auth_type"`
	Data      map[string]any `json:"data"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
}

// UpdateCredentialRequest changes the fields it sets; Data replaces the secret.
type UpdateCredentialRequest struct {
	Name      *string        `json:"name,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
	Status    *string        `json:"status,omitempty"`
}

// CredentialListOptions filter and page a list of credentials.
type CredentialListOptions struct {
	ListOptions
	IntegrationID string
	AuthType      string
	Status        string
}

// User is a user of the tenant.
type User struct {
	ID          string     `json:"id"`
	TenantID    string     `json:"tenant_id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	Status      string     `json:"status"`
	LastLoginAt *time.Time `json:"last_login_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// CreateUserRequest creates a user.
type CreateUserRequest struct {
	Email    string  `json:"email"`
	Name     *string `json:"name,omitempty"`
	Password *string `json:"password,omitempty"`
	// Role is owner, admin, member or viewer.
	Role string `json:"role"`
}

// UpdateUserRequest changes the fields it sets.
type UpdateUserRequest struct {
	Name     *string `json:"name,omitempty"`
	Password *string `json:"password,omitempty"`
	Role     *string `json:"role,omitempty"`
	Status   *string `json:"status,omitempty"`
}

// UserListOptions filter and page a list of users.
type UserListOptions struct {
	ListOptions
	Role   string
	Status string
	Email  string
}

// ServiceAccount is a service account.
type ServiceAccount struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Scopes      []string  `json:"scopes"`
	Status      string    `json:"status"`
	CreatedBy   *string   `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CreateServiceAccountRequest creates a service account, with its first key
// when CreateAPIKey is set.
type CreateServiceAccountRequest struct {
	Name         string   `json:"name"`
	Description  *string  `json:"description,omitempty"`
	Scopes       []string `json:"scopes"`
	CreateAPIKey *bool    `json:"create_api_key,omitempty"`
}

// CreatedServiceAccount answers the creation of a service account; APIKey
// (with its secret, shown once) when one was asked for.
type CreatedServiceAccount struct {
	ServiceAccount *ServiceAccount `json:"service_account"`
	APIKey         *APIKey         `json:"api_key"`
}

// Webhook is a webhook endpoint; Secret is set only when created or rotated.
type Webhook struct {
	ID             string    `json:"id"`
	TenantID       string    `json:"tenant_id"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"`
	Description    string    `json:"description"`
	Enabled        bool      `json:"enabled"`
	DisabledReason *string   `json:"disabled_reason"`
	Secret         string    `json:"secret,omitempty"`
	CreatedBy      *string   `json:"created_by"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// CreateWebhookRequest creates a webhook endpoint.
type CreateWebhookRequest struct {
	URL string `json:"url"`
	// Events are event types, or ["*"] for all.
	Events      []string `json:"events"`
	Description *string  `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// UpdateWebhookRequest changes the fields it sets.
type UpdateWebhookRequest struct {
	URL         *string  `json:"url,omitempty"`
	Events      []string `json:"events,omitempty"`
	Description *string  `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// WebhookListOptions filter and page a list of webhooks.
type WebhookListOptions struct {
	ListOptions
	// Enabled is "true" or "false"; Event an event type.
	Enabled string
	Event   string
}

// EventType is an event type a webhook may subscribe to.
type EventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

// WebhookAttempt is one delivery attempt.
type WebhookAttempt struct {
	Attempt        int       `json:"attempt"`
	At             time.Time `json:"at"`
	ResponseStatus *int      `json:"response_status"`
	DurationMS     int       `json:"duration_ms"`
	Error          string    `json:"error"`
}

// WebhookDelivery is the delivery of an event to an endpoint.
type WebhookDelivery struct {
	ID             string           `json:"id"`
	WebhookID      string           `json:"webhook_id"`
	EventID        string           `json:"event_id"`
	EventType      string           `json:"event_type"`
	Attempt        int              `json:"attempt"`
	Attempts       []WebhookAttempt `json:"attempts"`
	Status         string           `json:"status"`
	ResponseStatus *int             `json:"response_status"`
	DurationMS     *int             `json:"duration_ms"`
	Error          *string          `json:"error"`
	NextAttemptAt  *time.Time       `json:"next_attempt_at"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
}

// DeliveryListOptions filter and page a webhook's deliveries.
type DeliveryListOptions struct {
	ListOptions
	Status    string
	EventType string
}

// WebhookTest answers a test event.
type WebhookTest struct {
	EventID    string           `json:"event_id"`
	DeliveryID string           `json:"delivery_id"`
	Delivery   *WebhookDelivery `json:"delivery"`
}

// DeletedWebhook answers the deletion of a webhook.
type DeletedWebhook struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// AuditLog is an audit entry.
type AuditLog struct {
	ID           string         `json:"id"`
	TenantID     string         `json:"tenant_id"`
	ActorID      string         `json:"actor_id"`
	ActorType    string         `json:"actor_type"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resource_type"`
	ResourceID   string         `json:"resource_id"`
	Outcome      string         `json:"outcome"`
	Details      map[string]any `json:"details"`
	IP           string         `json:"ip"`
	UserAgent    string         `json:"user_agent"`
	RequestID    string         `json:"request_id"`
	OccurredAt   time.Time      `json:"occurred_at"`
}

// AuditListOptions filter and page the audit trail.
type AuditListOptions struct {
	ListOptions
	ActorID      string
	ActorType    string
	Action       string
	ResourceType string
	ResourceID   string
	Outcome      string
	Since        *time.Time
	Until        *time.Time
}

// TenantSettings are a tenant's settings.
type TenantSettings struct {
	AuditRetentionDays int      `json:"audit_retention_days"`
	IPAllowlist        []string `json:"ip_allowlist"`
}

// Tenant is a tenant.
type Tenant struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Slug      string         `json:"slug"`
	Plan      string         `json:"plan"`
	Status    string         `json:"status"`
	Platform  bool           `json:"platform"`
	Settings  TenantSettings `json:"settings"`
	DeletedAt *time.Time     `json:"deleted_at"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// UpdateTenantRequest changes the fields it sets.
type UpdateTenantRequest struct {
	Name     *string               `json:"name,omitempty"`
	Plan     *string               `json:"plan,omitempty"`
	Status   *string               `json:"status,omitempty"`
	Settings *UpdateTenantSettings `json:"settings,omitempty"`
}

// UpdateTenantSettings changes the settings it sets.
type UpdateTenantSettings struct {
	AuditRetentionDays *int     `json:"audit_retention_days,omitempty"`
	IPAllowlist        []string `json:"ip_allowlist,omitempty"`
}

// TenantListOptions filter and page the list of tenants.
type TenantListOptions struct {
	ListOptions
	Status string
	Plan   string
}

// Stats are counts of a tenant's things and activity.
type Stats struct {
	TenantID           *string        `json:"tenant_id"`
	Counts             map[string]any `json:"counts"`
	RequestsLast24h    int            `json:"requests_last_24h"`
	AuditEventsLast24h int            `json:"audit_events_last_24h"`
	LastActivityAt     *time.Time     `json:"last_activity_at"`
}

// Features are what the server has enabled.
type Features struct {
	Signup        bool     `json:"signup"`
	RateLimits    bool     `json:"rate_limits"`
	TLS           bool     `json:"tls"`
	Introspection bool     `json:"introspection"`
	Environment   string   `json:"environment"`
	CORSOrigins   []string `json:"cors_origins"`
}

// Health is the server's health; the detailed fields only from Admin.Health.
type Health struct {
	Status            string         `json:"status"`
	Database          string         `json:"database,omitempty"`
	DatabaseLatencyMS float64        `json:"database_latency_ms,omitempty"`
	SchemaVersion     string         `json:"schema_version,omitempty"`
	QueueDepths       map[string]any `json:"queue_depths,omitempty"`
	RateLimitStore    string         `json:"rate_limit_store,omitempty"`
	UptimeSeconds     int64          `json:"uptime_seconds,omitempty"`
	Version           string         `json:"version,omitempty"`
	Commit            string         `json:"commit,omitempty"`
}

// Usage is one day's requests of a principal.
type Usage struct {
	Day           string `json:"day"`
	PrincipalID   string `json:"principal_id"`
	PrincipalType string `json:"principal_type"`
	Requests      int    `json:"requests"`
}

// UsageSummary is requests per day per API key and OAuth client.
type UsageSummary struct {
	Days          int     `json:"days"`
	TotalRequests int     `json:"total_requests"`
	Rows          []Usage `json:"rows"`
}

// JobStats are the runs of a job by status.
type JobStats struct {
	JobName   string     `json:"job_name"`
	Pending   int        `json:"pending"`
	Running   int        `json:"running"`
	Completed int        `json:"completed"`
	Failed    int        `json:"failed"`
	Retrying  int        `json:"retrying"`
	LastRunAt *time.Time `json:"last_run_at"`
}

// TriggerJobRequest runs a background job now.
type TriggerJobRequest struct {
	JobName string         `json:"job_name"`
	Args    map[string]any `json:"args,omitempty"`
}

// TriggeredJob answers a triggered job.
type TriggeredJob struct {
	JobID string `json:"job_id"`
}

// DEKRotation answers a DEK rotation: the re-encryption job.
type DEKRotation struct {
	DEKVersion int    `json:"dek_version"`
	JobID      string `json:"job_id"`
}

// TenantRef names a tenant.
type TenantRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// UserRef names a user.
type UserRef struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

// Me is the authenticated principal.
type Me struct {
	ID string `json:"id"`
	// PrincipalType is user, service_account, api_key or oauth_client.
	PrincipalType string    `json:"principal_type"`
	Scopes        []string  `json:"scopes"`
	Tenant        TenantRef `json:"tenant"`
	User          *UserRef  `json:"user"`
	APIKeyID      *string   `json:"api_key_id"`
	ClientID      *string   `json:"client_id"`
}

// Session is a signed-in session.
type Session struct {
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token"`
	TokenType    string     `json:"token_type"`
	ExpiresIn    int        `json:"expires_in"`
	User         *User      `json:"user"`
	Tenant       *TenantRef `json:"tenant"`
}

// RegisterRequest creates a tenant and its owner.
type RegisterRequest struct {
	TenantName string  `json:"tenant_name"`
	Email      string  `json:"email"`
	Password   string  `json:"password"`
	Name       *string `json:"name,omitempty"`
	// Sandbox registers a sandbox tenant, whose keys start cvk_test_.
	Sandbox *bool `json:"sandbox,omitempty"`
}

// LoginRequest signs in; Tenant picks the tenant (its slug) when the email
// has accounts in several.
type LoginRequest struct {
	Email    string  `json:"email"`
	Password string  `json:"password"`
	Tenant   *string `json:"tenant,omitempty"`
}

// SSOConfig is a tenant's single sign-on (OpenID Connect) configuration,
// without its client secret.
type SSOConfig struct {
	ID             string   `json:"id"`
	TenantID       string   `json:"tenant_id"`
	Issuer         string   `json:"issuer"`
	ClientID       string   `json:"client_id"`
	AllowedDomains []string `json:"allowed_domains"`
	DefaultRole    string   `json:"default_role"`
	Enabled        bool     `json:"enabled"`
	// RedirectURI is the callback to register at the provider.
	RedirectURI string    `json:"redirect_uri"`
	UpdatedBy   *string   `json:"updated_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// UpdateSSOConfigRequest configures single sign-on.
type UpdateSSOConfigRequest struct {
	Issuer         string   `json:"issuer"`
	ClientID       string   `json:"client_id"`
	ClientSecret   *string  `json:"client_secret,omitempty"`
	AllowedDomains []string `json:"allowed_domains,omitempty"`
	DefaultRole    *string  `json:"default_role,omitempty"`
	Enabled        *bool    `json:"enabled,omitempty"`
}

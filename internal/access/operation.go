package access

import (
	"maps"
	"strings"
)

// Operation is one thing a principal can do, declared once: the service
// checks it, the REST route documents it, the GraphQL field is named by it
// and the authorisation matrix test reads it.
type Operation struct {
	// Field is the GraphQL field of the operation, such as "createAPIKey",
	// or, RESTOnly, the name of its REST operation.
	Field string
	// Scope is the scope the operation needs; "" is any authenticated
	// principal, or nobody at all when Open.
	Scope Scope
	// Open operations need no credentials.
	Open bool
	// Tenant is how the operation picks its tenant.
	Tenant TenantRule
	// RESTOnly operations have no GraphQL field: a streamed export, which
	// a GraphQL answer (one JSON document) cannot carry.
	RESTOnly bool
}

// TenantRule is how an operation picks the tenant it acts in.
type TenantRule int

const (
	// OwnTenant operations act in the request's tenant: the principal's
	// own, or the one a platform admin selected with x-tenantid.
	OwnTenant TenantRule = iota
	// NamedTenant operations take a tenant id: the principal's own tenant,
	// or any existing one for a platform admin (another tenant's id is 404
	// otherwise).
	NamedTenant
	// EveryTenant operations see every tenant: platform admins only.
	EveryTenant
	// NoTenant operations come before there is a tenant: sign-up and login.
	NoTenant
)

// The operations of CredVault, one per GraphQL root field.
var (
	Register        = Operation{Field: "register", Open: true, Tenant: NoTenant}
	Login           = Operation{Field: "login", Open: true, Tenant: NoTenant}
	RefreshSession  = Operation{Field: "refreshSession", Open: true, Tenant: NoTenant}
	Me              = Operation{Field: "me"}
	Health          = Operation{Field: "health", Open: true, Tenant: NoTenant}
	AdminHealth     = Operation{Field: "health", Scope: TenantRead}
	Node            = Operation{Field: "node"}
	Nodes           = Operation{Field: "nodes"}
	ReadTenant      = Operation{Field: "tenant", Scope: TenantRead, Tenant: NamedTenant}
	ListTenants     = Operation{Field: "tenants", Scope: PlatformAdmin, Tenant: EveryTenant}
	ReadTenantStats = Operation{Field: "tenantStats", Scope: TenantRead, Tenant: NamedTenant}
	UpdateTenant    = Operation{Field: "updateTenant", Scope: TenantWrite, Tenant: NamedTenant}
	DeleteTenant    = Operation{Field: "deleteTenant", Scope: TenantDelete, Tenant: NamedTenant}
	UsageSummary    = Operation{Field: "usageSummary", Scope: TenantRead}
	GatewayUsage    = Operation{Field: "gatewayUsage", Scope: TenantRead}
	DashboardStats  = Operation{Field: "dashboardStats", Scope: TenantRead}
	FeatureStatus   = Operation{Field: "featureStatus", Scope: TenantRead}

	ListUsers  = Operation{Field: "users", Scope: UsersRead}
	CreateUser = Operation{Field: "createUser", Scope: UsersWrite}
	UpdateUser = Operation{Field: "updateUser", Scope: UsersWrite}
	DeleteUser = Operation{Field: "deleteUser", Scope: UsersWrite}

	ListServiceAccounts  = Operation{Field: "serviceAccounts", Scope: ServiceAccountsRead}
	CreateServiceAccount = Operation{Field: "createServiceAccount", Scope: ServiceAccountsWrite}

	ListAPIKeys    = Operation{Field: "apiKeys", Scope: APIKeysRead}
	ReadAPIKey     = Operation{Field: "apiKey", Scope: APIKeysRead}
	CreateAPIKey   = Operation{Field: "createAPIKey", Scope: APIKeysWrite}
	ValidateAPIKey = Operation{Field: "validateAPIKey", Scope: APIKeysRead}
	RotateAPIKey   = Operation{Field: "rotateAPIKey", Scope: APIKeysWrite}
	RevokeAPIKey   = Operation{Field: "revokeAPIKey", Scope: APIKeysWrite}
	// StreamAPIKeys streams the usable keys for local verification (SSE).
	StreamAPIKeys = Operation{Field: "streamAPIKeys", Scope: APIKeysRead, RESTOnly: true}

	ListOAuthClients        = Operation{Field: "oauthClients", Scope: OAuthClientsRead}
	ReadOAuthClient         = Operation{Field: "oauthClient", Scope: OAuthClientsRead}
	CreateOAuthClient       = Operation{Field: "createOAuthClient", Scope: OAuthClientsWrite}
	UpdateOAuthClient       = Operation{Field: "updateOAuthClient", Scope: OAuthClientsWrite}
	RotateOAuthClientSecret = Operation{Field: "rotateOAuthClientSecret", Scope: OAuthClientsWrite}
	DeleteOAuthClient       = Operation{Field: "deleteOAuthClient", Scope: OAuthClientsWrite}

	ListCredentials   = Operation{Field: "credentials", Scope: CredentialsRead}
	ReadCredential    = Operation{Field: "credential", Scope: CredentialsRead}
	DecryptCredential = Operation{Field: "credential", Scope: CredentialsDecrypt}
	StoreCredential   = Operation{Field: "storeCredential", Scope: CredentialsWrite}
	UpdateCredential  = Operation{Field: "updateCredential", Scope: CredentialsWrite}
	DeleteCredential  = Operation{Field: "deleteCredential", Scope: CredentialsWrite}
	RotateDEK         = Operation{Field: "rotateDEK", Scope: VaultAdmin, Tenant: NamedTenant}
	ListAuditLogs     = Operation{Field: "auditLogs", Scope: AuditRead}
	ExportAuditLogs   = Operation{Field: "exportAuditLogs", Scope: AuditRead, RESTOnly: true}
	TriggerJob        = Operation{Field: "triggerJob", Scope: JobsWrite}
	ReadJobStats      = Operation{Field: "jobStats", Scope: JobsRead}

	ListWebhooks          = Operation{Field: "webhooks", Scope: WebhooksRead}
	ReadWebhook           = Operation{Field: "webhook", Scope: WebhooksRead}
	ListWebhookEventTypes = Operation{Field: "webhookEventTypes", Scope: WebhooksRead}
	CreateWebhook         = Operation{Field: "createWebhook", Scope: WebhooksWrite}
	UpdateWebhook         = Operation{Field: "updateWebhook", Scope: WebhooksWrite}
	DeleteWebhook         = Operation{Field: "deleteWebhook", Scope: WebhooksWrite}
	RotateWebhookSecret   = Operation{Field: "rotateWebhookSecret", Scope: WebhooksWrite}
	TestWebhook           = Operation{Field: "testWebhook", Scope: WebhooksWrite}
	ListWebhookDeliveries = Operation{Field: "webhookDeliveries", Scope: WebhooksRead}
	RetryWebhookDelivery  = Operation{Field: "retryWebhookDelivery", Scope: WebhooksWrite}

	// ChatCompletion and ListModels are the OpenAI-compatible routes of the
	// AI gateway (SPEC §14), REST only: the OpenAI wire format.
	ChatCompletion       = Operation{Field: "createChatCompletion", Scope: GatewayInvoke, RESTOnly: true}
	ListModels           = Operation{Field: "listModels", Scope: GatewayInvoke, RESTOnly: true}
	ReadRouterConfig     = Operation{Field: "routerConfig", Scope: GatewayRead}
	UpdateRouterConfig   = Operation{Field: "updateRouterConfig", Scope: GatewayWrite}
	ListRouterProviders  = Operation{Field: "routerProviders", Scope: GatewayRead}
	CreateRouterProvider = Operation{Field: "createRouterProvider", Scope: GatewayWrite}
	UpdateRouterProvider = Operation{Field: "updateRouterProvider", Scope: GatewayWrite}
	DeleteRouterProvider = Operation{Field: "deleteRouterProvider", Scope: GatewayWrite}
	ReadRouterHealth     = Operation{Field: "routerHealth", Scope: GatewayRead}

	ListGuardrails        = Operation{Field: "guardrails", Scope: GatewayRead}
	ListGuardrailPolicies = Operation{Field: "guardrailPolicies", Scope: GatewayRead}
	TestGuardrails        = Operation{Field: "testGuardrails", Scope: GatewayRead}
	CreateGuardrail       = Operation{Field: "createGuardrail", Scope: GatewayWrite}
	UpdateGuardrail       = Operation{Field: "updateGuardrail", Scope: GatewayWrite}
	DeleteGuardrail       = Operation{Field: "deleteGuardrail", Scope: GatewayWrite}

	ReadSSOConfig   = Operation{Field: "ssoConfig", Scope: TenantRead}
	UpdateSSOConfig = Operation{Field: "updateSSOConfig", Scope: TenantWrite}
	// StartSSO and FinishSSO are the browser's legs of a single sign-on,
	// REST only: redirects, not graph fields.
	StartSSO  = Operation{Open: true, Tenant: NoTenant}
	FinishSSO = Operation{Open: true, Tenant: NoTenant}
)

// Operations maps each GraphQL root field, and each RESTOnly operation, to
// its operation. A field with two (credential reads metadata or decrypts;
// health is open or detailed) maps to the one its root needs; the other is
// checked where it applies.
var Operations = func() map[string]Operation {
	m := map[string]Operation{}
	for _, op := range []Operation{
		Register, Login, RefreshSession, Me, Health, Node, Nodes,
		ReadTenant, ListTenants, ReadTenantStats, UpdateTenant, DeleteTenant, UsageSummary, GatewayUsage, DashboardStats, FeatureStatus,
		ListUsers, CreateUser, UpdateUser, DeleteUser, ListServiceAccounts, CreateServiceAccount,
		ListAPIKeys, ReadAPIKey, CreateAPIKey, ValidateAPIKey, RotateAPIKey, RevokeAPIKey, StreamAPIKeys,
		ListOAuthClients, ReadOAuthClient, CreateOAuthClient, UpdateOAuthClient, RotateOAuthClientSecret, DeleteOAuthClient,
		ListCredentials, ReadCredential, StoreCredential, UpdateCredential, DeleteCredential, RotateDEK,
		ListAuditLogs, ExportAuditLogs, TriggerJob, ReadJobStats,
		ListWebhooks, ReadWebhook, ListWebhookEventTypes, CreateWebhook, UpdateWebhook, DeleteWebhook,
		RotateWebhookSecret, TestWebhook, ListWebhookDeliveries, RetryWebhookDelivery,
		ChatCompletion, ListModels, ReadRouterConfig, UpdateRouterConfig, ListRouterProviders,
		CreateRouterProvider, UpdateRouterProvider, DeleteRouterProvider, ReadRouterHealth,
		ListGuardrails, ListGuardrailPolicies, TestGuardrails, CreateGuardrail, UpdateGuardrail, DeleteGuardrail,
		ReadSSOConfig, UpdateSSOConfig,
	} {
		m[op.Field] = op
	}
	return m
}()

// typeScopes is the scope that reads each tenant-owned GraphQL type: a root
// list, node(id) and every edge leading to the type need it alike.
var typeScopes = map[string]Scope{
	"Tenant":          TenantRead,
	"TenantStats":     TenantRead,
	"User":            UsersRead,
	"ServiceAccount":  ServiceAccountsRead,
	"APIKey":          APIKeysRead,
	"OAuthClient":     OAuthClientsRead,
	"Credential":      CredentialsRead,
	"AuditLog":        AuditRead,
	"Webhook":         WebhooksRead,
	"WebhookDelivery": WebhooksRead,
	"RouterProvider":  GatewayRead,
	"Guardrail":       GatewayRead,
}

// ReadScope returns the scope that reads GraphQL type name (a type, or its
// connection), and false for a type that is not tenant-owned.
func ReadScope(name string) (Scope, bool) {
	if s, ok := typeScopes[name]; ok {
		return s, true
	}
	if base, ok := strings.CutSuffix(name, "Connection"); ok {
		s, ok := typeScopes[base]
		return s, ok
	}
	return "", false
}

// TypeScopes returns a copy of the scope of every tenant-owned type.
func TypeScopes() map[string]Scope { return maps.Clone(typeScopes) }

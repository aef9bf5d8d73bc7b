package credvault

// Operations maps each operationId of the server's OpenAPI document
// (/api/v1/openapi.json) to the SDK method that performs it, as
// "Service.Method" on Client (or a package function). A test checks the
// live document against it: an operation with neither a method here nor a
// reason in Omitted fails it.
var Operations = map[string]string{
	// Auth
	"register":       "Auth.Register",
	"login":          "Auth.Login",
	"refreshSession": "Auth.Refresh",
	"me":             "Auth.Me",

	// API keys
	"createAPIKey":   "APIKeys.Create",
	"apiKeys":        "APIKeys.List",
	"apiKey":         "APIKeys.Get",
	"rotateAPIKey":   "APIKeys.Rotate",
	"revokeAPIKey":   "APIKeys.Revoke",
	"validateAPIKey": "APIKeys.Validate",
	"streamAPIKeys":  "NewVerifier",

	// OAuth clients
	"createOAuthClient":       "OAuthClients.Create",
	"oauthClients":            "OAuthClients.List",
	"oauthClient":             "OAuthClients.Get",
	"updateOAuthClient":       "OAuthClients.Update",
	"rotateOAuthClientSecret": "OAuthClients.RotateSecret",
	"deleteOAuthClient":       "OAuthClients.Delete",

	// Credentials
	"storeCredential":   "Credentials.Store",
	"credentials":       "Credentials.List",
	"credential":        "Credentials.Get",
	"credentialDetails": "Credentials.Details",
	"updateCredential":  "Credentials.Update",
	"deleteCredential":  "Credentials.Delete",

	// Users and service accounts
	"users":                "Users.List",
	"createUser":           "Users.Create",
	"updateUser":           "Users.Update",
	"deleteUser":           "Users.Delete",
	"createServiceAccount": "ServiceAccounts.Create",

	// Webhooks
	"createWebhook":        "Webhooks.Create",
	"webhooks":             "Webhooks.List",
	"webhookEventTypes":    "Webhooks.EventTypes",
	"webhook":              "Webhooks.Get",
	"updateWebhook":        "Webhooks.Update",
	"deleteWebhook":        "Webhooks.Delete",
	"rotateWebhookSecret":  "Webhooks.RotateSecret",
	"testWebhook":          "Webhooks.Test",
	"webhookDeliveries":    "Webhooks.Deliveries",
	"retryWebhookDelivery": "Webhooks.RetryDelivery",

	// Audit
	"auditLogs":       "Audit.List",
	"exportAuditLogs": "Audit.Export",

	// Tenants
	"tenants":      "Tenants.List",
	"tenant":       "Tenants.Get",
	"updateTenant": "Tenants.Update",
	"deleteTenant": "Tenants.Delete",
	"tenantStats":  "Tenants.Stats",

	// Operations
	"health":         "Admin.Health",
	"healthAdmin":    "Admin.DetailedHealth",
	"dashboardStats": "Admin.DashboardStats",
	"featureStatus":  "Admin.Features",
	"usageSummary":   "Admin.UsageSummary",
	"triggerJob":     "Admin.TriggerJob",
	"jobStats":       "Admin.JobStats",
	"rotateDEK":      "Admin.RotateDEK",

	// Single sign-on
	"ssoConfig":       "SSO.Get",
	"updateSSOConfig": "SSO.Update",
}

// Omitted lists the operations the SDK deliberately has no method for, with
// the reason.
var Omitted = map[string]string{
	"apiKeysAdmin":         "alias of apiKeys under /admin/api-keys for seed 002 clients: APIKeys.List does the same",
	"createAPIKeyAdmin":    "alias of createAPIKey under /admin/api-keys: APIKeys.Create does the same",
	"revokeAPIKeyAdmin":    "alias of revokeAPIKey under /admin/api-keys: APIKeys.Revoke does the same",
	"getAuthSsoStart":      "a browser's leg of single sign-on: a redirect to the provider, not an API call",
	"getAuthSsoCallback":   "a browser's leg of single sign-on: the provider's redirect back, not an API call",
	"createChatCompletion": "the OpenAI-compatible route: call it with the official openai SDK, base URL set to CredVault's /api/v1",
	"listModels":           "the OpenAI-compatible route: call it with the official openai SDK, base URL set to CredVault's /api/v1",
	"routerConfig":         "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
	"updateRouterConfig":   "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
	"routerProviders":      "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
	"createRouterProvider": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
	"updateRouterProvider": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
	"deleteRouterProvider": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
	"routerHealth":         "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
	"guardrails":           "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
	"createGuardrail":      "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
	"updateGuardrail":      "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
	"deleteGuardrail":      "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
	"testGuardrails":       "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
	"guardrailPolicies":    "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
}

"""Which SDK method calls each operation of the server's OpenAPI document.

The keys are the ``operationId`` values of ``GET /api/v1/openapi.json``; the
values are paths of attributes of a :class:`~credvault.CredVault` client. The
test suite checks this table against the live document: an operation the
server has and this table does not name (in OPERATIONS or OMITTED) fails it,
and so does an entry naming a method the client lacks.
"""

from typing import Dict

OPERATIONS: Dict[str, str] = {
    # /auth
    "register": "auth.register",
    "login": "auth.login",
    "refreshSession": "auth.refresh",
    "me": "auth.me",
    # /api-keys
    "createAPIKey": "api_keys.create",
    "apiKeys": "api_keys.list",
    "apiKey": "api_keys.get",
    "rotateAPIKey": "api_keys.rotate",
    "revokeAPIKey": "api_keys.revoke",
    "validateAPIKey": "api_keys.validate",
    "streamAPIKeys": "api_keys.stream",
    # /oauth-clients
    "createOAuthClient": "oauth_clients.create",
    "oauthClients": "oauth_clients.list",
    "oauthClient": "oauth_clients.get",
    "updateOAuthClient": "oauth_clients.update",
    "rotateOAuthClientSecret": "oauth_clients.rotate_secret",
    "deleteOAuthClient": "oauth_clients.delete",
    # /credentials
    "storeCredential": "credentials.store",
    "credentials": "credentials.list",
    "credential": "credentials.get",
    "credentialDetails": "credentials.details",
    "updateCredential": "credentials.update",
    "deleteCredential": "credentials.delete",
    # /admin/users
    "users": "users.list",
    "createUser": "users.create",
    "updateUser": "users.update",
    "deleteUser": "users.delete",
    # /admin/service-account
    "createServiceAccount": "service_accounts.create",
    # /webhooks
    "createWebhook": "webhooks.create",
    "webhooks": "webhooks.list",
    "webhook": "webhooks.get",
    "updateWebhook": "webhooks.update",
    "deleteWebhook": "webhooks.delete",
    "rotateWebhookSecret": "webhooks.rotate_secret",
    "testWebhook": "webhooks.test",
    "webhookDeliveries": "webhooks.deliveries",
    "retryWebhookDelivery": "webhooks.retry_delivery",
    "webhookEventTypes": "webhooks.event_types",
    # /admin/audit-logs
    "auditLogs": "audit.list",
    "exportAuditLogs": "audit.export",
    # /admin/tenants
    "tenants": "tenants.list",
    "tenant": "tenants.get",
    "updateTenant": "tenants.update",
    "deleteTenant": "tenants.delete",
    "tenantStats": "tenants.stats",
    # /admin (operations)
    "healthAdmin": "admin.health",
    "dashboardStats": "admin.dashboard_stats",
    "usageSummary": "admin.usage_summary",
    "featureStatus": "admin.feature_status",
    "rotateDEK": "admin.rotate_dek",
    "triggerJob": "admin.trigger_job",
    "jobStats": "admin.job_stats",
    # /admin/sso
    "ssoConfig": "sso.config",
    "updateSSOConfig": "sso.update_config",
    # /health
    "health": "health",
}

#: Operations deliberately left out, with the reason.
OMITTED: Dict[str, str] = {
    "apiKeysAdmin": "alias of GET /api-keys kept for seed 002 clients: use api_keys.list",
    "createAPIKeyAdmin": "alias of POST /api-keys kept for seed 002 clients: use api_keys.create",
    "revokeAPIKeyAdmin": "alias of DELETE /api-keys/{keyId} kept for seed 002 clients: use api_keys.revoke",
    "getAuthSsoStart": "a browser's leg of single sign-on (a redirect to the identity provider), not an API call",
    "getAuthSsoCallback": "a browser's leg of single sign-on (where the identity provider sends the browser back)",
    "createChatCompletion": "the OpenAI-compatible route: call it with the official openai SDK, base URL set to CredVault's /api/v1",
    "listModels": "the OpenAI-compatible route: call it with the official openai SDK, base URL set to CredVault's /api/v1",
    "routerConfig": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    "updateRouterConfig": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    "routerProviders": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    "createRouterProvider": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    "updateRouterProvider": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    "deleteRouterProvider": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    "routerHealth": "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    "guardrails": "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    "createGuardrail": "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    "updateGuardrail": "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    "deleteGuardrail": "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    "testGuardrails": "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    "guardrailPolicies": "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
}

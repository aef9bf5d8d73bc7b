/**
 * The SDK's map of the server's REST operations: each operationId of `/api/v1/openapi.json`,
 * its method and path, and the SDK method that calls it. The resources build their requests
 * from this table, and a test checks it against the live document of a running server: an
 * operation the SDK neither maps nor lists in {@link OMITTED_OPERATIONS} fails it, and so does
 * an entry whose method or path no longer matches.
 *
 * @module
 */
const op = (method, path, sdk) => ({ method, path, sdk });
/** operationId → operation, for every operation the SDK calls. */
export const OPERATIONS = {
    // Authentication
    register: op('POST', '/auth/register', 'auth.register'),
    login: op('POST', '/auth/login', 'auth.login'),
    refreshSession: op('POST', '/auth/refresh', 'auth.refresh'),
    me: op('GET', '/auth/me', 'auth.me'),
    // API keys
    apiKeys: op('GET', '/api-keys', 'apiKeys.list'),
    createAPIKey: op('POST', '/api-keys', 'apiKeys.create'),
    apiKey: op('GET', '/api-keys/{keyId}', 'apiKeys.get'),
    rotateAPIKey: op('POST', '/api-keys/{keyId}/rotate', 'apiKeys.rotate'),
    revokeAPIKey: op('DELETE', '/api-keys/{keyId}', 'apiKeys.revoke'),
    validateAPIKey: op('POST', '/api-keys/{keyId}/validate', 'apiKeys.validate'),
    streamAPIKeys: op('GET', '/api-keys/stream', 'apiKeys.stream'),
    // OAuth clients
    oauthClients: op('GET', '/oauth-clients', 'oauthClients.list'),
    createOAuthClient: op('POST', '/oauth-clients', 'oauthClients.create'),
    oauthClient: op('GET', '/oauth-clients/{clientId}', 'oauthClients.get'),
    updateOAuthClient: op('PATCH', '/oauth-clients/{clientId}', 'oauthClients.update'),
    rotateOAuthClientSecret: op('POST', '/oauth-clients/{clientId}/rotate-secret', 'oauthClients.rotateSecret'),
    deleteOAuthClient: op('DELETE', '/oauth-clients/{clientId}', 'oauthClients.delete'),
    // Credentials vault
    credentials: op('GET', '/credentials', 'credentials.list'),
    storeCredential: op('POST', '/credentials', 'credentials.store'),
    credential: op('GET', '/credentials/{integrationId}', 'credentials.get'),
    credentialDetails: op('GET', '/credentials/{integrationId}/details', 'credentials.details'),
    updateCredential: op('PATCH', '/credentials/{integrationId}/{credentialId}', 'credentials.update'),
    deleteCredential: op('DELETE', '/credentials/{integrationId}/{credentialId}', 'credentials.delete'),
    // Users and service accounts
    users: op('GET', '/admin/users', 'users.list'),
    createUser: op('POST', '/admin/users', 'users.create'),
    updateUser: op('PATCH', '/admin/users/{id}', 'users.update'),
    deleteUser: op('DELETE', '/admin/users/{id}', 'users.delete'),
    createServiceAccount: op('POST', '/admin/service-account/create', 'serviceAccounts.create'),
    // Webhooks
    webhooks: op('GET', '/webhooks', 'webhooks.list'),
    createWebhook: op('POST', '/webhooks', 'webhooks.create'),
    webhookEventTypes: op('GET', '/webhooks/event-types', 'webhooks.eventTypes'),
    webhook: op('GET', '/webhooks/{webhookId}', 'webhooks.get'),
    updateWebhook: op('PATCH', '/webhooks/{webhookId}', 'webhooks.update'),
    deleteWebhook: op('DELETE', '/webhooks/{webhookId}', 'webhooks.delete'),
    rotateWebhookSecret: op('POST', '/webhooks/{webhookId}/rotate-secret', 'webhooks.rotateSecret'),
    testWebhook: op('POST', '/webhooks/{webhookId}/test', 'webhooks.test'),
    webhookDeliveries: op('GET', '/webhooks/{webhookId}/deliveries', 'webhooks.deliveries'),
    retryWebhookDelivery: op('POST', '/webhooks/{webhookId}/deliveries/{deliveryId}/retry', 'webhooks.retryDelivery'),
    // Audit log
    auditLogs: op('GET', '/admin/audit-logs', 'audit.list'),
    exportAuditLogs: op('GET', '/admin/audit-logs/export', 'audit.export'),
    // Single sign-on settings
    ssoConfig: op('GET', '/admin/sso', 'sso.get'),
    updateSSOConfig: op('PUT', '/admin/sso', 'sso.update'),
    // Tenants
    tenants: op('GET', '/admin/tenants', 'tenants.list'),
    tenant: op('GET', '/admin/tenants/{tenantId}', 'tenants.get'),
    updateTenant: op('PATCH', '/admin/tenants/{tenantId}', 'tenants.update'),
    deleteTenant: op('DELETE', '/admin/tenants/{tenantId}', 'tenants.delete'),
    tenantStats: op('GET', '/admin/tenants/{tenantId}/stats', 'tenants.stats'),
    // Operations
    health: op('GET', '/health', 'health'),
    healthAdmin: op('GET', '/admin/health', 'admin.health'),
    dashboardStats: op('GET', '/admin/dashboard/stats', 'admin.dashboardStats'),
    usageSummary: op('GET', '/admin/usage/summary', 'admin.usageSummary'),
    featureStatus: op('GET', '/admin/features/status', 'admin.features'),
    rotateDEK: op('POST', '/admin/dek/rotate', 'admin.rotateDEK'),
    triggerJob: op('POST', '/admin/jobs/trigger', 'admin.triggerJob'),
    jobStats: op('GET', '/admin/jobs/{jobName}/stats', 'admin.jobStats'),
};
/** operationId → why the SDK deliberately has no method for it. */
export const OMITTED_OPERATIONS = {
    apiKeysAdmin: 'alias of GET /api-keys kept for seed 002 clients: use cv.apiKeys.list()',
    createAPIKeyAdmin: 'alias of POST /api-keys kept for seed 002 clients: use cv.apiKeys.create()',
    revokeAPIKeyAdmin: 'alias of DELETE /api-keys/{keyId} kept for seed 002 clients: use cv.apiKeys.revoke()',
    getAuthSsoStart: "single sign-on's browser redirect to the identity provider: a user agent follows it, an API client has no use for it",
    getAuthSsoCallback: "single sign-on's browser callback from the identity provider: only the provider's redirect reaches it",
    createChatCompletion: "the OpenAI-compatible route: call it with the official openai SDK, base URL set to CredVault's /api/v1",
    listModels: "the OpenAI-compatible route: call it with the official openai SDK, base URL set to CredVault's /api/v1",
    routerConfig: "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    updateRouterConfig: "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    routerProviders: "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    createRouterProvider: "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    updateRouterProvider: "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    deleteRouterProvider: "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    routerHealth: "the AI gateway's router administration: an operator's task, done over REST or GraphQL",
    guardrails: "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    createGuardrail: "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    updateGuardrail: "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    deleteGuardrail: "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    testGuardrails: "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
    guardrailPolicies: "the AI gateway's guardrail administration: an operator's task, done over REST or GraphQL",
};

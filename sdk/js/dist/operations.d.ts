/**
 * The SDK's map of the server's REST operations: each operationId of `/api/v1/openapi.json`,
 * its method and path, and the SDK method that calls it. The resources build their requests
 * from this table, and a test checks it against the live document of a running server: an
 * operation the SDK neither maps nor lists in {@link OMITTED_OPERATIONS} fails it, and so does
 * an entry whose method or path no longer matches.
 *
 * @module
 */
export type HTTPMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** One REST operation and the SDK method that calls it (`resource.method` on a `CredVault`). */
export interface Operation {
    readonly method: HTTPMethod;
    /** The path under `/api/v1`, with `{name}` placeholders. */
    readonly path: string;
    /** The SDK method, as `apiKeys.create` (a method of `cv.apiKeys`) or `health` (of `cv`). */
    readonly sdk: string;
}
/** operationId → operation, for every operation the SDK calls. */
export declare const OPERATIONS: {
    readonly register: Operation;
    readonly login: Operation;
    readonly refreshSession: Operation;
    readonly me: Operation;
    readonly apiKeys: Operation;
    readonly createAPIKey: Operation;
    readonly apiKey: Operation;
    readonly rotateAPIKey: Operation;
    readonly revokeAPIKey: Operation;
    readonly validateAPIKey: Operation;
    readonly streamAPIKeys: Operation;
    readonly oauthClients: Operation;
    readonly createOAuthClient: Operation;
    readonly oauthClient: Operation;
    readonly updateOAuthClient: Operation;
    readonly rotateOAuthClientSecret: Operation;
    readonly deleteOAuthClient: Operation;
    readonly credentials: Operation;
    readonly storeCredential: Operation;
    readonly credential: Operation;
    readonly credentialDetails: Operation;
    readonly updateCredential: Operation;
    readonly deleteCredential: Operation;
    readonly users: Operation;
    readonly createUser: Operation;
    readonly updateUser: Operation;
    readonly deleteUser: Operation;
    readonly createServiceAccount: Operation;
    readonly webhooks: Operation;
    readonly createWebhook: Operation;
    readonly webhookEventTypes: Operation;
    readonly webhook: Operation;
    readonly updateWebhook: Operation;
    readonly deleteWebhook: Operation;
    readonly rotateWebhookSecret: Operation;
    readonly testWebhook: Operation;
    readonly webhookDeliveries: Operation;
    readonly retryWebhookDelivery: Operation;
    readonly auditLogs: Operation;
    readonly exportAuditLogs: Operation;
    readonly ssoConfig: Operation;
    readonly updateSSOConfig: Operation;
    readonly tenants: Operation;
    readonly tenant: Operation;
    readonly updateTenant: Operation;
    readonly deleteTenant: Operation;
    readonly tenantStats: Operation;
    readonly health: Operation;
    readonly healthAdmin: Operation;
    readonly dashboardStats: Operation;
    readonly usageSummary: Operation;
    readonly featureStatus: Operation;
    readonly rotateDEK: Operation;
    readonly triggerJob: Operation;
    readonly jobStats: Operation;
};
/** An operationId the SDK calls. */
export type OperationId = keyof typeof OPERATIONS;
/** operationId → why the SDK deliberately has no method for it. */
export declare const OMITTED_OPERATIONS: Readonly<Record<string, string>>;

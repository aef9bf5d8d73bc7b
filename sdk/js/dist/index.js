/**
 * `@credvault/sdk`: the JavaScript/TypeScript SDK of CredVault.
 *
 * @module
 */
export { CredVault } from './client.js';
export { CredVaultError, WebhookVerificationError } from './errors.js';
export { parseRetryAfter, } from './http.js';
export { PagedList } from './pagination.js';
export { verifyWebhook, signWebhook, DEFAULT_WEBHOOK_TOLERANCE_SECONDS, } from './webhooks.js';
export { OPERATIONS, OMITTED_OPERATIONS } from './operations.js';
export { Admin, APIKeys, Audit, Auth, Credentials, OAuthClients, ServiceAccounts, SSO, Tenants, Users, Webhooks, } from './resources.js';
export { VERSION } from './version.js';

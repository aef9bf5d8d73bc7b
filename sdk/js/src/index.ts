/**
 * `@credvault/sdk`: the JavaScript/TypeScript SDK of CredVault.
 *
 * @module
 */
export { CredVault } from './client.js';
export { CredVaultError, WebhookVerificationError, type CredVaultErrorInit } from './errors.js';
export {
  type ClientOptions,
  type RequestOptions,
  type TokenSource,
  type APIResponse,
  type ResponseMeta,
  type Query,
  type QueryValue,
  parseRetryAfter,
} from './http.js';
export { PagedList, type Page } from './pagination.js';
export {
  verifyWebhook,
  signWebhook,
  DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
  type VerifyWebhookOptions,
  type WebhookHeaders,
} from './webhooks.js';
export { OPERATIONS, OMITTED_OPERATIONS, type Operation, type OperationId, type HTTPMethod } from './operations.js';
export {
  Admin,
  APIKeys,
  Audit,
  Auth,
  Credentials,
  OAuthClients,
  ServiceAccounts,
  SSO,
  Tenants,
  Users,
  Webhooks,
} from './resources.js';
export { VERSION } from './version.js';
export type * from './types.js';

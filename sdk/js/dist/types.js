/**
 * The shapes of CredVault's REST API (its `/api/v1/openapi.json`), as the server sends them:
 * field names stay snake_case, times are RFC 3339 strings in UTC, absent values are `null`.
 *
 * The SDK does not rename fields: what you read here is what the API reference, the audit log
 * and webhook payloads show, and a credential's `data` or `metadata` keys are never rewritten.
 *
 * @module
 */
export {};

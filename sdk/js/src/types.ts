/**
 * The shapes of CredVault's REST API (its `/api/v1/openapi.json`), as the server sends them:
 * field names stay snake_case, times are RFC 3339 strings in UTC, absent values are `null`.
 *
 * The SDK does not rename fields: what you read here is what the API reference, the audit log
 * and webhook payloads show, and a credential's `data` or `metadata` keys are never rewritten.
 *
 * @module
 */

/** An RFC 3339 timestamp in UTC, such as `2026-01-01T00:00:00.000Z`. */
export type Timestamp = string;

/** A JSON object whose members the API does not fix (credential data, metadata, details). */
export type JSONObject = { [key: string]: unknown };

/** The error codes of the error envelope (SPEC §5). */
export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'TENANT_MISMATCH'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'VALIDATION_ERROR'
  | 'RATE_LIMIT_EXCEEDED'
  | 'INTERNAL_ERROR'
  | 'SERVICE_UNAVAILABLE';

/** `meta.pagination` of a list answer. */
export interface Pagination {
  limit: number;
  offset: number;
  total: number;
  /** Set when `total` counts only up to a bound (a very long list). */
  total_is_lower_bound?: boolean;
  has_next: boolean;
  /** The opaque cursor of the next page, or `null` on the last page. */
  next_cursor: string | null;
  /** Only when the list was paged with `page` and `per_page`. */
  page?: number | null;
  per_page?: number | null;
  total_pages?: number | null;
  has_previous?: boolean | null;
}

/** Paging parameters every list accepts: `limit`/`offset`, `page`/`per_page`, or `cursor`. */
export interface PageParams {
  /** Page size (default 50, at most 200). */
  limit?: number;
  /** Items to skip; not with `page` or `cursor`. */
  offset?: number;
  /** Page number from 1, with `per_page` (default 20, at most 100). */
  page?: number;
  per_page?: number;
  /** The `next_cursor` of a previous page of the same list. */
  cursor?: string;
  /** Sort direction (default `desc`). */
  order?: 'asc' | 'desc';
}

/** A per-key (or per-plan) request budget. */
export interface RateLimit {
  requests: number;
  window_seconds: number;
}

export type APIKeyStatus = 'active' | 'expired' | 'revoked';

/** An API key. `key` (the secret, `cvk_…`) is present only in the answers of create and rotate. */
export interface APIKey {
  id: string;
  tenant_id: string;
  name: string;
  /** The secret, shown once by create and rotate. */
  key?: string;
  /** The first characters of the secret after `cvk_`, for telling keys apart. */
  prefix: string;
  scopes: string[];
  status: APIKeyStatus | (string & {});
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  ip_allowlist: string[];
  rate_limit: RateLimit | null;
  service_account_id: string | null;
  user_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CreateAPIKeyParams {
  name: string;
  /** Scopes of the key; the creator's scopes when omitted (a key never exceeds its creator). */
  scopes?: string[];
  expires_at?: Timestamp | null;
  service_account_id?: string | null;
  /** IPs or CIDRs the key may be used from. */
  ip_allowlist?: string[];
  rate_limit?: RateLimit | null;
}

export interface ListAPIKeysParams extends PageParams {
  sort?: 'created_at' | 'updated_at' | 'name' | 'status' | 'expires_at' | 'last_used_at';
  status?: APIKeyStatus;
  service_account_id?: string;
}

export interface RotateParams {
  /** Seconds the old secret keeps working; omitted or 0: it stops at once. */
  grace_period_seconds?: number | null;
}

/** The answer of `apiKeys.validate`: a bad key is `valid: false`, not an error. */
export interface APIKeyValidation {
  valid: boolean;
  /** When not valid: `invalid`, `expired`, `revoked` or `ip_not_allowed`. */
  reason?: 'invalid' | 'expired' | 'revoked' | 'ip_not_allowed' | (string & {}) | null;
  key_id: string;
  scopes: string[];
  expires_at: Timestamp | null;
}

export type GrantType = 'client_credentials' | 'authorization_code' | 'refresh_token';

/** An OAuth 2.0 client. `client_secret` is present only in the answers of create and rotate-secret. */
export interface OAuthClient {
  id: string;
  tenant_id: string;
  client_id: string;
  client_secret?: string;
  name: string;
  scopes: string[];
  grant_types: (GrantType | (string & {}))[];
  redirect_uris: string[];
  access_token_ttl_seconds: number;
  status: 'active' | 'disabled' | (string & {});
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CreateOAuthClientParams {
  name: string;
  scopes: string[];
  grant_types?: (GrantType | (string & {}))[];
  redirect_uris?: string[];
  access_token_ttl_seconds?: number | null;
}

export interface UpdateOAuthClientParams {
  name?: string | null;
  scopes?: string[];
  grant_types?: (GrantType | (string & {}))[];
  redirect_uris?: string[];
  access_token_ttl_seconds?: number | null;
  status?: 'active' | 'disabled' | null;
}

export interface ListOAuthClientsParams extends PageParams {
  sort?: 'created_at' | 'updated_at' | 'name' | 'client_id' | 'status';
  status?: 'active' | 'disabled';
}

export interface DeletedOAuthClient {
  client_id: string;
  deleted: boolean;
}

export type AuthType =
  | 'oauth2_bearer'
  | 'oauth2_client_credentials'
  | 'api_key'
  | 'basic_auth'
  | 'bearer_token'
  | 'jwt'
  | 'saml'
  | 'custom';

/** A stored credential. `data` (the decrypted secret) is present only in `credentials.get`. */
export interface Credential {
  id: string;
  tenant_id: string;
  integration_id: string;
  name: string;
  auth_type: AuthType | (string & {});
  data?: JSONObject;
  metadata: JSONObject;
  status: 'active' | 'disabled' | 'expired' | (string & {});
  expires_at: Timestamp | null;
  last_accessed_at: Timestamp | null;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** The credentials of one integration (`credentials.get` and `credentials.details`). */
export interface Integration {
  integration_id: string;
  credentials: Credential[];
}

export interface StoreCredentialParams {
  integration_id: string;
  name?: string | null;
  auth_type: AuthType | (string & {});
  /** The secret; encrypted at rest and never returned by list or details. */
  data: JSONObject;
  metadata?: JSONObject;
  expires_at?: Timestamp | null;
}

export interface UpdateCredentialParams {
  name?: string | null;
  metadata?: JSONObject;
  expires_at?: Timestamp | null;
  status?: 'active' | 'disabled' | null;
  /** Replaces the secret. */
  data?: JSONObject;
}

export interface ListCredentialsParams extends PageParams {
  sort?: 'created_at' | 'updated_at' | 'integration_id' | 'name' | 'auth_type' | 'status' | 'expires_at';
  integration_id?: string;
  auth_type?: AuthType;
  status?: 'active' | 'disabled' | 'expired';
}

/** The answer of a delete that names the deleted resource by `id`. */
export interface Deleted {
  id: string;
  deleted: boolean;
}

export type Role = 'owner' | 'admin' | 'member' | 'viewer';

export interface User {
  id: string;
  tenant_id: string;
  email: string;
  name: string;
  role: Role | (string & {});
  status: 'active' | 'disabled' | (string & {});
  last_login_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CreateUserParams {
  email: string;
  name?: string | null;
  role: Role | (string & {});
  password?: string | null;
}

export interface UpdateUserParams {
  name?: string | null;
  role?: Role | null;
  status?: 'active' | 'disabled' | null;
  password?: string | null;
}

export interface ListUsersParams extends PageParams {
  sort?: 'created_at' | 'updated_at' | 'email' | 'name' | 'role' | 'status';
  role?: Role;
  status?: 'active' | 'disabled';
  email?: string;
}

export interface ServiceAccount {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  scopes: string[];
  status: string;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CreateServiceAccountParams {
  name: string;
  description?: string | null;
  scopes: string[];
  /** Also create an API key for the account; its secret is in the answer once. */
  create_api_key?: boolean | null;
}

export interface CreatedServiceAccount {
  service_account: ServiceAccount;
  api_key?: APIKey | null;
}

/** The webhook event types of SPEC §11. */
export type WebhookEventType =
  | 'api_key.created'
  | 'api_key.rotated'
  | 'api_key.revoked'
  | 'oauth_client.created'
  | 'oauth_client.updated'
  | 'oauth_client.secret_rotated'
  | 'oauth_client.deleted'
  | 'credential.created'
  | 'credential.updated'
  | 'credential.deleted'
  | 'user.created'
  | 'user.updated'
  | 'user.deleted'
  | 'service_account.created'
  | 'tenant.updated'
  | 'dek.rotation_completed'
  | 'webhook.test';

/** A webhook endpoint. `secret` (`whsec_…`) is present only in the answers of create and rotate-secret. */
export interface Webhook {
  id: string;
  tenant_id: string;
  url: string;
  events: (WebhookEventType | '*' | (string & {}))[];
  description: string;
  enabled: boolean;
  disabled_reason: string | null;
  secret?: string;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CreateWebhookParams {
  url: string;
  /** Event types, or `['*']` for all. */
  events: (WebhookEventType | '*' | (string & {}))[];
  description?: string | null;
  enabled?: boolean | null;
}

export interface UpdateWebhookParams {
  url?: string | null;
  events?: (WebhookEventType | '*' | (string & {}))[];
  description?: string | null;
  enabled?: boolean | null;
}

export interface ListWebhooksParams extends PageParams {
  sort?: 'created_at' | 'updated_at' | 'url';
  enabled?: boolean | 'true' | 'false';
  event?: WebhookEventType;
}

export interface DeletedWebhook {
  id: string;
  deleted: boolean;
}

export interface WebhookEventTypeInfo {
  type: WebhookEventType | (string & {});
  description: string;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'retrying' | 'failed';

export interface WebhookAttempt {
  attempt: number;
  at: Timestamp;
  response_status?: number | null;
  duration_ms: number;
  error?: string;
}

export interface WebhookDelivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: WebhookEventType | (string & {});
  attempt: number;
  attempts: WebhookAttempt[];
  status: WebhookDeliveryStatus | (string & {});
  response_status: number | null;
  duration_ms: number | null;
  error: string | null;
  next_attempt_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ListWebhookDeliveriesParams extends PageParams {
  sort?: 'created_at' | 'status' | 'event_type';
  status?: WebhookDeliveryStatus;
  event_type?: WebhookEventType;
}

/** The answer of `webhooks.test`: the `webhook.test` event and its delivery. */
export interface WebhookTest {
  event_id: string;
  delivery_id: string;
  delivery: WebhookDelivery | null;
}

/** The body of a webhook request as the server sends it (SPEC §11). */
export interface WebhookEvent<T = JSONObject> {
  type: WebhookEventType | (string & {});
  /** Repeats `type`, for seed 003 clients. */
  event: WebhookEventType | (string & {});
  timestamp: Timestamp;
  tenant_id: string;
  data: T;
}

export interface AuditLog {
  id: string;
  tenant_id: string;
  occurred_at: Timestamp;
  actor_type: string;
  actor_id: string;
  action: string;
  resource_type: string;
  resource_id: string;
  outcome: 'success' | 'failure' | 'denied' | (string & {});
  details: JSONObject;
  ip: string;
  user_agent: string;
  request_id: string;
}

export interface ListAuditLogsParams extends PageParams {
  sort?: 'occurred_at' | 'action';
  actor_id?: string;
  actor_type?: string;
  action?: string;
  resource_type?: string;
  resource_id?: string;
  outcome?: 'success' | 'failure' | 'denied';
  /** RFC 3339 (a `Date` is converted). */
  since?: Timestamp | Date;
  until?: Timestamp | Date;
}

export interface TenantSettings {
  ip_allowlist: string[];
  audit_retention_days: number;
}

export interface Tenant {
  id: string;
  name: string;
  slug: string;
  plan: string;
  status: 'active' | 'suspended' | 'deleted' | (string & {});
  platform: boolean;
  settings: TenantSettings;
  deleted_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface TenantRef {
  id: string;
  name: string;
  slug: string;
}

export interface UpdateTenantParams {
  name?: string | null;
  plan?: string | null;
  status?: 'active' | 'suspended' | null;
  settings?: { ip_allowlist?: string[]; audit_retention_days?: number | null };
}

export interface ListTenantsParams extends PageParams {
  sort?: 'created_at' | 'updated_at' | 'name' | 'slug' | 'plan' | 'status';
  status?: 'active' | 'suspended' | 'deleted';
  plan?: string;
}

/** Counts by kind and status, requests and activity of one tenant (or the dashboard). */
export interface Stats {
  tenant_id?: string | null;
  counts: { [kind: string]: { [status: string]: number } };
  requests_last_24h: number;
  audit_events_last_24h: number;
  last_activity_at?: Timestamp | null;
}

export interface UserRef {
  id: string;
  email: string;
  name: string;
  role: string;
}

/** The principal a request is made as (`auth.me`). */
export interface Me {
  /** `user`, `api_key`, `oauth_client` or `service_account`. */
  principal_type: 'user' | 'api_key' | 'oauth_client' | 'service_account' | (string & {});
  id: string;
  tenant: TenantRef;
  scopes: string[];
  user?: UserRef | null;
  api_key_id?: string | null;
  client_id?: string | null;
}

/** A session from register, login or refresh. */
export interface Session {
  access_token: string;
  refresh_token: string;
  token_type: string;
  /** Seconds the access token lives. */
  expires_in: number;
  user: User | null;
  tenant?: TenantRef | null;
}

export interface RegisterParams {
  tenant_name: string;
  email: string;
  password: string;
  name?: string | null;
}

export interface LoginParams {
  email: string;
  password: string;
  /** The tenant's slug; a platform admin names none. */
  tenant?: string | null;
}

export interface Health {
  status: string;
  database: string;
  database_latency_ms: number;
  schema_version: string;
  queue_depths: { [queue: string]: number };
  rate_limit_store?: string;
  uptime_seconds: number;
  version: string;
  commit: string;
}

export interface DEKRotation {
  dek_version: number;
  job_id: string;
}

export interface RotateDEKParams {
  /** A platform admin may name another tenant. */
  tenant_id?: string | null;
}

export interface TriggerJobParams {
  job_name: string;
  args?: JSONObject;
}

export interface TriggeredJob {
  job_id: string;
}

export interface JobStats {
  job_name: string;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  retrying: number;
  last_run_at: Timestamp | null;
}

export interface UsageRow {
  day: string;
  principal_type: string;
  principal_id: string;
  requests: number;
}

export interface UsageSummary {
  days: number;
  total_requests: number;
  rows: UsageRow[];
}

export interface Features {
  environment: string;
  signup: boolean;
  introspection: boolean;
  rate_limits: boolean;
  tls: boolean;
  cors_origins: string[];
}

/** Filters of `audit.export` (the whole trail, oldest first, without paging). */
export interface ExportAuditLogsParams {
  actor_id?: string;
  actor_type?: string;
  action?: string;
  resource_type?: string;
  resource_id?: string;
  outcome?: 'success' | 'failure' | 'denied';
  since?: Timestamp | Date;
  until?: Timestamp | Date;
}

/** A usable API key as the key stream sends it: never the secret, its SHA-256. */
export interface StreamKey {
  id: string;
  /** Hex SHA-256 of the whole key (`cvk_…`). */
  hash: string;
  scopes: string[];
  expires_at: Timestamp | null;
  ip_allowlist: string[];
  /** During a rotation's grace period: the old secret's hash and when it stops. */
  previous_hash?: string;
  previous_expires_at?: Timestamp | null;
  /** The tenant's own allowlist, which applies to every key. */
  tenant_ip_allowlist?: string[];
}

/**
 * An event of `apiKeys.stream()`: first a `snapshot` of the tenant's usable keys, then `upsert`
 * (a key created, rotated or changed) and `remove` (a key revoked, expired or deleted). `id` is
 * the event id to resume after (`lastEventId`).
 */
export type APIKeyStreamEvent =
  | { event: 'snapshot'; id: string; data: { keys: StreamKey[] } }
  | { event: 'upsert'; id: string; data: StreamKey }
  | { event: 'remove'; id: string; data: { id: string } };

/** A tenant's single sign-on (OpenID Connect) settings; the client secret is never returned. */
export interface SSOConfig {
  id: string;
  tenant_id: string;
  issuer: string;
  client_id: string;
  allowed_domains: string[];
  default_role: Role | (string & {});
  enabled: boolean;
  /** The callback URL to register at the identity provider. */
  redirect_uri: string;
  updated_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface UpdateSSOConfigParams {
  issuer: string;
  client_id: string;
  /** Kept when omitted or null. */
  client_secret?: string | null;
  allowed_domains?: string[];
  default_role?: Role | null;
  enabled?: boolean | null;
}

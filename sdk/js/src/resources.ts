import { CredVaultError } from './errors.js';
import type { CallArgs, Query, RequestOptions, Transport } from './http.js';
import type { OperationId } from './operations.js';
import { PagedList } from './pagination.js';
import { ndjson, serverSentEvents } from './streams.js';
import type {
  APIKey,
  APIKeyStreamEvent,
  APIKeyValidation,
  AuditLog,
  CreateAPIKeyParams,
  CreateOAuthClientParams,
  CreateServiceAccountParams,
  CreateUserParams,
  CreateWebhookParams,
  CreatedServiceAccount,
  Credential,
  DEKRotation,
  Deleted,
  DeletedOAuthClient,
  DeletedWebhook,
  ExportAuditLogsParams,
  Features,
  Health,
  Integration,
  JobStats,
  ListAPIKeysParams,
  ListAuditLogsParams,
  ListCredentialsParams,
  ListOAuthClientsParams,
  ListTenantsParams,
  ListUsersParams,
  ListWebhookDeliveriesParams,
  ListWebhooksParams,
  LoginParams,
  Me,
  OAuthClient,
  RegisterParams,
  RotateDEKParams,
  RotateParams,
  Session,
  SSOConfig,
  Stats,
  StoreCredentialParams,
  Tenant,
  TriggerJobParams,
  TriggeredJob,
  UpdateCredentialParams,
  UpdateOAuthClientParams,
  UpdateSSOConfigParams,
  UpdateTenantParams,
  UpdateUserParams,
  UpdateWebhookParams,
  UsageSummary,
  User,
  Webhook,
  WebhookDelivery,
  WebhookEventTypeInfo,
  WebhookTest,
} from './types.js';

/**
 * Re-throws a failure while a streaming body is read as a CredVaultError: `ABORTED` when the
 * caller's signal ended it, `UNEXPECTED_RESPONSE` for a line that is not JSON, else
 * `CONNECTION_ERROR` (the connection dropped).
 */
async function* guarded<T>(source: AsyncGenerator<T, void, undefined>, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
  try {
    yield* source;
  } catch (err) {
    if (err instanceof CredVaultError) throw err;
    if (signal?.aborted) {
      throw new CredVaultError({ status: 0, code: 'ABORTED', message: 'the stream was aborted', cause: err });
    }
    if (err instanceof SyntaxError) {
      throw new CredVaultError({ status: 200, code: 'UNEXPECTED_RESPONSE', message: `a streamed item is not JSON: ${err.message}`, cause: err });
    }
    const reason = err instanceof Error ? err.message : String(err);
    throw new CredVaultError({ status: 0, code: 'CONNECTION_ERROR', message: `the stream broke: ${reason}`, cause: err });
  }
}

/** What every resource shares: the transport and two call shapes. */
abstract class Resource {
  protected readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
  }

  /** Calls an operation and returns its `data`. */
  protected async data<T>(id: OperationId, args: CallArgs, opts?: RequestOptions): Promise<T> {
    return (await this.transport.call<T>(id, args, opts)).data;
  }

  /** A lazily fetched, iterable list of an operation that pages. */
  protected paged<T>(id: OperationId, query: object | undefined, opts?: RequestOptions, path?: Record<string, string>): PagedList<T> {
    return new PagedList<T>((q) => this.transport.call<T[]>(id, { path, query: q }, opts), (query ?? {}) as Query);
  }
}

/** Sign-up, login, token refresh and the current principal. */
export class Auth extends Resource {
  /** Creates a tenant and its owner (when the server allows sign-up); returns the owner's session. */
  register(params: RegisterParams, opts?: RequestOptions): Promise<Session> {
    return this.data('register', { body: params }, opts);
  }

  /** Logs a user in; use the session's `access_token` as a client's `token`. */
  login(params: LoginParams, opts?: RequestOptions): Promise<Session> {
    return this.data('login', { body: params }, opts);
  }

  /** Exchanges a refresh token for a new session (the refresh token is single-use). */
  refresh(refreshToken: string, opts?: RequestOptions): Promise<Session> {
    return this.data('refreshSession', { body: { refresh_token: refreshToken } }, opts);
  }

  /** The principal the client acts as: user, API key, OAuth client or service account. */
  me(opts?: RequestOptions): Promise<Me> {
    return this.data('me', {}, opts);
  }
}

/** API keys (`/api-keys`). */
export class APIKeys extends Resource {
  /** Creates a key; its secret is in `key`, shown this once. */
  create(params: CreateAPIKeyParams, opts?: RequestOptions): Promise<APIKey> {
    return this.data('createAPIKey', { body: params }, opts);
  }

  /** Lists keys: await it for one page, or `for await` it for all of them. */
  list(params?: ListAPIKeysParams, opts?: RequestOptions): PagedList<APIKey> {
    return this.paged('apiKeys', params, opts);
  }

  /** One key, by id (404 `NOT_FOUND` when the tenant has none with that id). */
  get(keyId: string, opts?: RequestOptions): Promise<APIKey> {
    return this.data('apiKey', { path: { keyId } }, opts);
  }

  /**
   * Replaces a key's secret, keeping its id: the new secret is in `key`, shown this once; the
   * old one stops at once unless `grace_period_seconds` is given.
   */
  rotate(keyId: string, params: RotateParams = {}, opts?: RequestOptions): Promise<APIKey> {
    return this.data('rotateAPIKey', { path: { keyId }, body: params }, opts);
  }

  /** Revokes a key: it stops working at once, on every instance. */
  revoke(keyId: string, opts?: RequestOptions): Promise<APIKey> {
    return this.data('revokeAPIKey', { path: { keyId } }, opts);
  }

  /** Checks a secret against a key: a wrong, expired or revoked secret is `valid: false`, not an error. */
  validate(keyId: string, key: string, opts?: RequestOptions): Promise<APIKeyValidation> {
    return this.data('validateAPIKey', { path: { keyId }, body: { key } }, opts);
  }

  /**
   * The tenant's usable keys as a live stream (Server-Sent Events), for verifying keys
   * locally: a `snapshot` event, then `upsert` and `remove` events as keys change. Keys come as
   * their SHA-256 `hash`, never the secret. One connection: it ends when the server closes it
   * or `opts.signal` aborts; to resume, open it again with the last event's `id` as
   * `lastEventId` (the server then sends only what changed, when it still can).
   *
   * ```ts
   * const ac = new AbortController();
   * for await (const e of cv.apiKeys.stream({}, { signal: ac.signal })) {
   *   if (e.event === 'snapshot') keys = new Map(e.data.keys.map((k) => [k.hash, k]));
   * }
   * ```
   */
  async *stream(
    params: { lastEventId?: string } = {},
    opts: RequestOptions = {},
  ): AsyncGenerator<APIKeyStreamEvent, void, undefined> {
    const headers = { ...opts.headers };
    if (params.lastEventId) headers['last-event-id'] = params.lastEventId;
    const res = await this.transport.open('streamAPIKeys', 'text/event-stream', {}, { ...opts, headers });
    for await (const e of guarded(serverSentEvents(res.body), opts.signal)) {
      if (e.event === 'snapshot' || e.event === 'upsert' || e.event === 'remove') {
        yield { event: e.event, id: e.id, data: JSON.parse(e.data) } as APIKeyStreamEvent;
      }
      // Other event types are for newer clients: skipped.
    }
  }
}

/** OAuth 2.0 clients (`/oauth-clients`). */
export class OAuthClients extends Resource {
  /** Creates a client; its `client_secret` is shown this once. */
  create(params: CreateOAuthClientParams, opts?: RequestOptions): Promise<OAuthClient> {
    return this.data('createOAuthClient', { body: params }, opts);
  }

  list(params?: ListOAuthClientsParams, opts?: RequestOptions): PagedList<OAuthClient> {
    return this.paged('oauthClients', params, opts);
  }

  /** One client, by its `client_id`. */
  get(clientId: string, opts?: RequestOptions): Promise<OAuthClient> {
    return this.data('oauthClient', { path: { clientId } }, opts);
  }

  /** Changes name, scopes, grant types, redirect URIs, token lifetime or status. */
  update(clientId: string, params: UpdateOAuthClientParams, opts?: RequestOptions): Promise<OAuthClient> {
    return this.data('updateOAuthClient', { path: { clientId }, body: params }, opts);
  }

  /** Issues a new `client_secret` (shown once); the old one stops at once unless a grace period is given. */
  rotateSecret(clientId: string, params: RotateParams = {}, opts?: RequestOptions): Promise<OAuthClient> {
    return this.data('rotateOAuthClientSecret', { path: { clientId }, body: params }, opts);
  }

  /** Deletes a client; its tokens stop working at once. */
  delete(clientId: string, opts?: RequestOptions): Promise<DeletedOAuthClient> {
    return this.data('deleteOAuthClient', { path: { clientId } }, opts);
  }
}

/** The credentials vault (`/credentials`). */
export class Credentials extends Resource {
  /** Encrypts and stores a credential; the answer is its metadata, never `data`. */
  store(params: StoreCredentialParams, opts?: RequestOptions): Promise<Credential> {
    return this.data('storeCredential', { body: params }, opts);
  }

  /** Lists credentials' metadata (no secrets). */
  list(params?: ListCredentialsParams, opts?: RequestOptions): PagedList<Credential> {
    return this.paged('credentials', params, opts);
  }

  /**
   * The decrypted credentials of an integration (scope `credentials:decrypt`; every read is
   * audited); 404 `NOT_FOUND` when the tenant holds none for it.
   */
  get(integrationId: string, opts?: RequestOptions): Promise<Integration> {
    return this.data('credential', { path: { integrationId } }, opts);
  }

  /** The credentials of an integration without their `data` (scope `credentials:read`). */
  details(integrationId: string, opts?: RequestOptions): Promise<Integration> {
    return this.data('credentialDetails', { path: { integrationId } }, opts);
  }

  /** Changes name, metadata, expiry or status; `data` replaces the secret. */
  update(
    integrationId: string,
    credentialId: string,
    params: UpdateCredentialParams,
    opts?: RequestOptions,
  ): Promise<Credential> {
    return this.data('updateCredential', { path: { integrationId, credentialId }, body: params }, opts);
  }

  /** Deletes a credential; its ciphertext is destroyed. */
  delete(integrationId: string, credentialId: string, opts?: RequestOptions): Promise<Deleted> {
    return this.data('deleteCredential', { path: { integrationId, credentialId } }, opts);
  }
}

/** The tenant's users (`/admin/users`). */
export class Users extends Resource {
  list(params?: ListUsersParams, opts?: RequestOptions): PagedList<User> {
    return this.paged('users', params, opts);
  }

  create(params: CreateUserParams, opts?: RequestOptions): Promise<User> {
    return this.data('createUser', { body: params }, opts);
  }

  update(userId: string, params: UpdateUserParams, opts?: RequestOptions): Promise<User> {
    return this.data('updateUser', { path: { id: userId }, body: params }, opts);
  }

  delete(userId: string, opts?: RequestOptions): Promise<Deleted> {
    return this.data('deleteUser', { path: { id: userId } }, opts);
  }
}

/** Service accounts (`/admin/service-account/create`). */
export class ServiceAccounts extends Resource {
  /** Creates a service account, and an API key for it when `create_api_key` is set (its secret shown once). */
  create(params: CreateServiceAccountParams, opts?: RequestOptions): Promise<CreatedServiceAccount> {
    return this.data('createServiceAccount', { body: params }, opts);
  }
}

/** Webhook endpoints and their deliveries (`/webhooks`). Check deliveries with `verifyWebhook`. */
export class Webhooks extends Resource {
  /** Creates an endpoint; its signing `secret` (`whsec_…`) is shown this once. */
  create(params: CreateWebhookParams, opts?: RequestOptions): Promise<Webhook> {
    return this.data('createWebhook', { body: params }, opts);
  }

  list(params?: ListWebhooksParams, opts?: RequestOptions): PagedList<Webhook> {
    return this.paged('webhooks', params, opts);
  }

  get(webhookId: string, opts?: RequestOptions): Promise<Webhook> {
    return this.data('webhook', { path: { webhookId } }, opts);
  }

  update(webhookId: string, params: UpdateWebhookParams, opts?: RequestOptions): Promise<Webhook> {
    return this.data('updateWebhook', { path: { webhookId }, body: params }, opts);
  }

  /** Deletes an endpoint; its pending deliveries are dropped. */
  delete(webhookId: string, opts?: RequestOptions): Promise<DeletedWebhook> {
    return this.data('deleteWebhook', { path: { webhookId } }, opts);
  }

  /** Issues a new secret (shown once); during `grace_period_seconds` deliveries carry both signatures. */
  rotateSecret(webhookId: string, params: RotateParams = {}, opts?: RequestOptions): Promise<Webhook> {
    return this.data('rotateWebhookSecret', { path: { webhookId }, body: params }, opts);
  }

  /** Sends a `webhook.test` event to the endpoint now. */
  test(webhookId: string, opts?: RequestOptions): Promise<WebhookTest> {
    return this.data('testWebhook', { path: { webhookId } }, opts);
  }

  /** The endpoint's deliveries, newest first. */
  deliveries(webhookId: string, params?: ListWebhookDeliveriesParams, opts?: RequestOptions): PagedList<WebhookDelivery> {
    return this.paged('webhookDeliveries', params, opts, { webhookId });
  }

  /** Makes a new attempt of a delivery now. */
  retryDelivery(webhookId: string, deliveryId: string, opts?: RequestOptions): Promise<WebhookDelivery> {
    return this.data('retryWebhookDelivery', { path: { webhookId, deliveryId } }, opts);
  }

  /** The event types an endpoint can subscribe to. */
  eventTypes(opts?: RequestOptions): Promise<WebhookEventTypeInfo[]> {
    return this.data('webhookEventTypes', {}, opts);
  }
}

/** The audit log (`/admin/audit-logs`). */
export class Audit extends Resource {
  /** Audit entries, newest first; `since`/`until` take RFC 3339 strings or `Date`s. */
  list(params?: ListAuditLogsParams, opts?: RequestOptions): PagedList<AuditLog> {
    return this.paged('auditLogs', params, opts);
  }

  /**
   * The whole audit trail matching the filters, oldest first, streamed without paging (NDJSON
   * read line by line: memory stays flat however long the trail). Breaking out of the loop
   * closes the connection.
   */
  async *export(params?: ExportAuditLogsParams, opts?: RequestOptions): AsyncGenerator<AuditLog, void, undefined> {
    const res = await this.transport.open('exportAuditLogs', 'application/x-ndjson', { query: params as Query }, opts);
    yield* guarded(ndjson<AuditLog>(res.body), opts?.signal);
  }
}

/** The tenant's single sign-on settings (`/admin/sso`). */
export class SSO extends Resource {
  /** The settings; 404 `NOT_FOUND` when single sign-on is not configured. */
  get(opts?: RequestOptions): Promise<SSOConfig> {
    return this.data('ssoConfig', {}, opts);
  }

  /** Creates or replaces the settings (the client secret is kept when not given). */
  update(params: UpdateSSOConfigParams, opts?: RequestOptions): Promise<SSOConfig> {
    return this.data('updateSSOConfig', { body: params }, opts);
  }
}

/** Tenants (`/admin/tenants`): a platform admin lists them all; a tenant reads and changes its own. */
export class Tenants extends Resource {
  /** Every tenant (scope `platform:admin`). */
  list(params?: ListTenantsParams, opts?: RequestOptions): PagedList<Tenant> {
    return this.paged('tenants', params, opts);
  }

  get(tenantId: string, opts?: RequestOptions): Promise<Tenant> {
    return this.data('tenant', { path: { tenantId } }, opts);
  }

  update(tenantId: string, params: UpdateTenantParams, opts?: RequestOptions): Promise<Tenant> {
    return this.data('updateTenant', { path: { tenantId }, body: params }, opts);
  }

  /** Deletes a tenant: its keys, clients, tokens and credentials stop working at once. */
  delete(tenantId: string, opts?: RequestOptions): Promise<Deleted> {
    return this.data('deleteTenant', { path: { tenantId } }, opts);
  }

  /** Counts by kind and status, requests and last activity. */
  stats(tenantId: string, opts?: RequestOptions): Promise<Stats> {
    return this.data('tenantStats', { path: { tenantId } }, opts);
  }
}

/** Operations: health, statistics, usage, features, DEK rotation and jobs (`/admin/...`). */
export class Admin extends Resource {
  /** Database latency, schema version, queue depths, uptime and version (scope `tenant:read`). */
  health(opts?: RequestOptions): Promise<Health> {
    return this.data('healthAdmin', {}, opts);
  }

  dashboardStats(opts?: RequestOptions): Promise<Stats> {
    return this.data('dashboardStats', {}, opts);
  }

  usageSummary(opts?: RequestOptions): Promise<UsageSummary> {
    return this.data('usageSummary', {}, opts);
  }

  /** What this server has switched on (sign-up, introspection, rate limits, TLS, CORS). */
  features(opts?: RequestOptions): Promise<Features> {
    return this.data('featureStatus', {}, opts);
  }

  /** Starts rotating the tenant's data-encryption key (a job; scope `vault:admin`). */
  rotateDEK(params: RotateDEKParams = {}, opts?: RequestOptions): Promise<DEKRotation> {
    return this.data('rotateDEK', { body: params }, opts);
  }

  triggerJob(params: TriggerJobParams, opts?: RequestOptions): Promise<TriggeredJob> {
    return this.data('triggerJob', { body: params }, opts);
  }

  jobStats(jobName: string, opts?: RequestOptions): Promise<JobStats> {
    return this.data('jobStats', { path: { jobName } }, opts);
  }
}

import type { CallArgs, RequestOptions, Transport } from './http.js';
import type { OperationId } from './operations.js';
import { PagedList } from './pagination.js';
import type { APIKey, APIKeyStreamEvent, APIKeyValidation, AuditLog, CreateAPIKeyParams, CreateOAuthClientParams, CreateServiceAccountParams, CreateUserParams, CreateWebhookParams, CreatedServiceAccount, Credential, DEKRotation, Deleted, DeletedOAuthClient, DeletedWebhook, ExportAuditLogsParams, Features, Health, Integration, JobStats, ListAPIKeysParams, ListAuditLogsParams, ListCredentialsParams, ListOAuthClientsParams, ListTenantsParams, ListUsersParams, ListWebhookDeliveriesParams, ListWebhooksParams, LoginParams, Me, OAuthClient, RegisterParams, RotateDEKParams, RotateParams, Session, SSOConfig, Stats, StoreCredentialParams, Tenant, TriggerJobParams, TriggeredJob, UpdateCredentialParams, UpdateOAuthClientParams, UpdateSSOConfigParams, UpdateTenantParams, UpdateUserParams, UpdateWebhookParams, UsageSummary, User, Webhook, WebhookDelivery, WebhookEventTypeInfo, WebhookTest } from './types.js';
/** What every resource shares: the transport and two call shapes. */
declare abstract class Resource {
    protected readonly transport: Transport;
    constructor(transport: Transport);
    /** Calls an operation and returns its `data`. */
    protected data<T>(id: OperationId, args: CallArgs, opts?: RequestOptions): Promise<T>;
    /** A lazily fetched, iterable list of an operation that pages. */
    protected paged<T>(id: OperationId, query: object | undefined, opts?: RequestOptions, path?: Record<string, string>): PagedList<T>;
}
/** Sign-up, login, token refresh and the current principal. */
export declare class Auth extends Resource {
    /** Creates a tenant and its owner (when the server allows sign-up); returns the owner's session. */
    register(params: RegisterParams, opts?: RequestOptions): Promise<Session>;
    /** Logs a user in; use the session's `access_token` as a client's `token`. */
    login(params: LoginParams, opts?: RequestOptions): Promise<Session>;
    /** Exchanges a refresh token for a new session (the refresh token is single-use). */
    refresh(refreshToken: string, opts?: RequestOptions): Promise<Session>;
    /** The principal the client acts as: user, API key, OAuth client or service account. */
    me(opts?: RequestOptions): Promise<Me>;
}
/** API keys (`/api-keys`). */
export declare class APIKeys extends Resource {
    /** Creates a key; its secret is in `key`, shown this once. */
    create(params: CreateAPIKeyParams, opts?: RequestOptions): Promise<APIKey>;
    /** Lists keys: await it for one page, or `for await` it for all of them. */
    list(params?: ListAPIKeysParams, opts?: RequestOptions): PagedList<APIKey>;
    /** One key, by id (404 `NOT_FOUND` when the tenant has none with that id). */
    get(keyId: string, opts?: RequestOptions): Promise<APIKey>;
    /**
     * Replaces a key's secret, keeping its id: the new secret is in `key`, shown this once; the
     * old one stops at once unless `grace_period_seconds` is given.
     */
    rotate(keyId: string, params?: RotateParams, opts?: RequestOptions): Promise<APIKey>;
    /** Revokes a key: it stops working at once, on every instance. */
    revoke(keyId: string, opts?: RequestOptions): Promise<APIKey>;
    /** Checks a secret against a key: a wrong, expired or revoked secret is `valid: false`, not an error. */
    validate(keyId: string, key: string, opts?: RequestOptions): Promise<APIKeyValidation>;
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
    stream(params?: {
        lastEventId?: string;
    }, opts?: RequestOptions): AsyncGenerator<APIKeyStreamEvent, void, undefined>;
}
/** OAuth 2.0 clients (`/oauth-clients`). */
export declare class OAuthClients extends Resource {
    /** Creates a client; its `client_secret` is shown this once. */
    create(params: CreateOAuthClientParams, opts?: RequestOptions): Promise<OAuthClient>;
    list(params?: ListOAuthClientsParams, opts?: RequestOptions): PagedList<OAuthClient>;
    /** One client, by its `client_id`. */
    get(clientId: string, opts?: RequestOptions): Promise<OAuthClient>;
    /** Changes name, scopes, grant types, redirect URIs, token lifetime or status. */
    update(clientId: string, params: UpdateOAuthClientParams, opts?: RequestOptions): Promise<OAuthClient>;
    /** Issues a new `client_secret` (shown once); the old one stops at once unless a grace period is given. */
    rotateSecret(clientId: string, params?: RotateParams, opts?: RequestOptions): Promise<OAuthClient>;
    /** Deletes a client; its tokens stop working at once. */
    delete(clientId: string, opts?: RequestOptions): Promise<DeletedOAuthClient>;
}
/** The credentials vault (`/credentials`). */
export declare class Credentials extends Resource {
    /** Encrypts and stores a credential; the answer is its metadata, never `data`. */
    store(params: StoreCredentialParams, opts?: RequestOptions): Promise<Credential>;
    /** Lists credentials' metadata (no secrets). */
    list(params?: ListCredentialsParams, opts?: RequestOptions): PagedList<Credential>;
    /**
     * The decrypted credentials of an integration (scope `credentials:decrypt`; every read is
     * audited); 404 `NOT_FOUND` when the tenant holds none for it.
     */
    get(integrationId: string, opts?: RequestOptions): Promise<Integration>;
    /** The credentials of an integration without their `data` (scope `credentials:read`). */
    details(integrationId: string, opts?: RequestOptions): Promise<Integration>;
    /** Changes name, metadata, expiry or status; `data` replaces the secret. */
    update(integrationId: string, credentialId: string, params: UpdateCredentialParams, opts?: RequestOptions): Promise<Credential>;
    /** Deletes a credential; its ciphertext is destroyed. */
    delete(integrationId: string, credentialId: string, opts?: RequestOptions): Promise<Deleted>;
}
/** The tenant's users (`/admin/users`). */
export declare class Users extends Resource {
    list(params?: ListUsersParams, opts?: RequestOptions): PagedList<User>;
    create(params: CreateUserParams, opts?: RequestOptions): Promise<User>;
    update(userId: string, params: UpdateUserParams, opts?: RequestOptions): Promise<User>;
    delete(userId: string, opts?: RequestOptions): Promise<Deleted>;
}
/** Service accounts (`/admin/service-account/create`). */
export declare class ServiceAccounts extends Resource {
    /** Creates a service account, and an API key for it when `create_api_key` is set (its secret shown once). */
    create(params: CreateServiceAccountParams, opts?: RequestOptions): Promise<CreatedServiceAccount>;
}
/** Webhook endpoints and their deliveries (`/webhooks`). Check deliveries with `verifyWebhook`. */
export declare class Webhooks extends Resource {
    /** Creates an endpoint; its signing `secret` (`whsec_…`) is shown this once. */
    create(params: CreateWebhookParams, opts?: RequestOptions): Promise<Webhook>;
    list(params?: ListWebhooksParams, opts?: RequestOptions): PagedList<Webhook>;
    get(webhookId: string, opts?: RequestOptions): Promise<Webhook>;
    update(webhookId: string, params: UpdateWebhookParams, opts?: RequestOptions): Promise<Webhook>;
    /** Deletes an endpoint; its pending deliveries are dropped. */
    delete(webhookId: string, opts?: RequestOptions): Promise<DeletedWebhook>;
    /** Issues a new secret (shown once); during `grace_period_seconds` deliveries carry both signatures. */
    rotateSecret(webhookId: string, params?: RotateParams, opts?: RequestOptions): Promise<Webhook>;
    /** Sends a `webhook.test` event to the endpoint now. */
    test(webhookId: string, opts?: RequestOptions): Promise<WebhookTest>;
    /** The endpoint's deliveries, newest first. */
    deliveries(webhookId: string, params?: ListWebhookDeliveriesParams, opts?: RequestOptions): PagedList<WebhookDelivery>;
    /** Makes a new attempt of a delivery now. */
    retryDelivery(webhookId: string, deliveryId: string, opts?: RequestOptions): Promise<WebhookDelivery>;
    /** The event types an endpoint can subscribe to. */
    eventTypes(opts?: RequestOptions): Promise<WebhookEventTypeInfo[]>;
}
/** The audit log (`/admin/audit-logs`). */
export declare class Audit extends Resource {
    /** Audit entries, newest first; `since`/`until` take RFC 3339 strings or `Date`s. */
    list(params?: ListAuditLogsParams, opts?: RequestOptions): PagedList<AuditLog>;
    /**
     * The whole audit trail matching the filters, oldest first, streamed without paging (NDJSON
     * read line by line: memory stays flat however long the trail). Breaking out of the loop
     * closes the connection.
     */
    export(params?: ExportAuditLogsParams, opts?: RequestOptions): AsyncGenerator<AuditLog, void, undefined>;
}
/** The tenant's single sign-on settings (`/admin/sso`). */
export declare class SSO extends Resource {
    /** The settings; 404 `NOT_FOUND` when single sign-on is not configured. */
    get(opts?: RequestOptions): Promise<SSOConfig>;
    /** Creates or replaces the settings (the client secret is kept when not given). */
    update(params: UpdateSSOConfigParams, opts?: RequestOptions): Promise<SSOConfig>;
}
/** Tenants (`/admin/tenants`): a platform admin lists them all; a tenant reads and changes its own. */
export declare class Tenants extends Resource {
    /** Every tenant (scope `platform:admin`). */
    list(params?: ListTenantsParams, opts?: RequestOptions): PagedList<Tenant>;
    get(tenantId: string, opts?: RequestOptions): Promise<Tenant>;
    update(tenantId: string, params: UpdateTenantParams, opts?: RequestOptions): Promise<Tenant>;
    /** Deletes a tenant: its keys, clients, tokens and credentials stop working at once. */
    delete(tenantId: string, opts?: RequestOptions): Promise<Deleted>;
    /** Counts by kind and status, requests and last activity. */
    stats(tenantId: string, opts?: RequestOptions): Promise<Stats>;
}
/** Operations: health, statistics, usage, features, DEK rotation and jobs (`/admin/...`). */
export declare class Admin extends Resource {
    /** Database latency, schema version, queue depths, uptime and version (scope `tenant:read`). */
    health(opts?: RequestOptions): Promise<Health>;
    dashboardStats(opts?: RequestOptions): Promise<Stats>;
    usageSummary(opts?: RequestOptions): Promise<UsageSummary>;
    /** What this server has switched on (sign-up, introspection, rate limits, TLS, CORS). */
    features(opts?: RequestOptions): Promise<Features>;
    /** Starts rotating the tenant's data-encryption key (a job; scope `vault:admin`). */
    rotateDEK(params?: RotateDEKParams, opts?: RequestOptions): Promise<DEKRotation>;
    triggerJob(params: TriggerJobParams, opts?: RequestOptions): Promise<TriggeredJob>;
    jobStats(jobName: string, opts?: RequestOptions): Promise<JobStats>;
}
export {};

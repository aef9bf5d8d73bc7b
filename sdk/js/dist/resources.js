import { CredVaultError } from './errors.js';
import { PagedList } from './pagination.js';
import { ndjson, serverSentEvents } from './streams.js';
/**
 * Re-throws a failure while a streaming body is read as a CredVaultError: `ABORTED` when the
 * caller's signal ended it, `UNEXPECTED_RESPONSE` for a line that is not JSON, else
 * `CONNECTION_ERROR` (the connection dropped).
 */
async function* guarded(source, signal) {
    try {
        yield* source;
    }
    catch (err) {
        if (err instanceof CredVaultError)
            throw err;
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
class Resource {
    transport;
    constructor(transport) {
        this.transport = transport;
    }
    /** Calls an operation and returns its `data`. */
    async data(id, args, opts) {
        return (await this.transport.call(id, args, opts)).data;
    }
    /** A lazily fetched, iterable list of an operation that pages. */
    paged(id, query, opts, path) {
        return new PagedList((q) => this.transport.call(id, { path, query: q }, opts), (query ?? {}));
    }
}
/** Sign-up, login, token refresh and the current principal. */
export class Auth extends Resource {
    /** Creates a tenant and its owner (when the server allows sign-up); returns the owner's session. */
    register(params, opts) {
        return this.data('register', { body: params }, opts);
    }
    /** Logs a user in; use the session's `access_token` as a client's `token`. */
    login(params, opts) {
        return this.data('login', { body: params }, opts);
    }
    /** Exchanges a refresh token for a new session (the refresh token is single-use). */
    refresh(refreshToken, opts) {
        return this.data('refreshSession', { body: { refresh_token: refreshToken } }, opts);
    }
    /** The principal the client acts as: user, API key, OAuth client or service account. */
    me(opts) {
        return this.data('me', {}, opts);
    }
}
/** API keys (`/api-keys`). */
export class APIKeys extends Resource {
    /** Creates a key; its secret is in `key`, shown this once. */
    create(params, opts) {
        return this.data('createAPIKey', { body: params }, opts);
    }
    /** Lists keys: await it for one page, or `for await` it for all of them. */
    list(params, opts) {
        return this.paged('apiKeys', params, opts);
    }
    /** One key, by id (404 `NOT_FOUND` when the tenant has none with that id). */
    get(keyId, opts) {
        return this.data('apiKey', { path: { keyId } }, opts);
    }
    /**
     * Replaces a key's secret, keeping its id: the new secret is in `key`, shown this once; the
     * old one stops at once unless `grace_period_seconds` is given.
     */
    rotate(keyId, params = {}, opts) {
        return this.data('rotateAPIKey', { path: { keyId }, body: params }, opts);
    }
    /** Revokes a key: it stops working at once, on every instance. */
    revoke(keyId, opts) {
        return this.data('revokeAPIKey', { path: { keyId } }, opts);
    }
    /** Checks a secret against a key: a wrong, expired or revoked secret is `valid: false`, not an error. */
    validate(keyId, key, opts) {
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
    async *stream(params = {}, opts = {}) {
        const headers = { ...opts.headers };
        if (params.lastEventId)
            headers['last-event-id'] = params.lastEventId;
        const res = await this.transport.open('streamAPIKeys', 'text/event-stream', {}, { ...opts, headers });
        for await (const e of guarded(serverSentEvents(res.body), opts.signal)) {
            if (e.event === 'snapshot' || e.event === 'upsert' || e.event === 'remove') {
                yield { event: e.event, id: e.id, data: JSON.parse(e.data) };
            }
            // Other event types are for newer clients: skipped.
        }
    }
}
/** OAuth 2.0 clients (`/oauth-clients`). */
export class OAuthClients extends Resource {
    /** Creates a client; its `client_secret` is shown this once. */
    create(params, opts) {
        return this.data('createOAuthClient', { body: params }, opts);
    }
    list(params, opts) {
        return this.paged('oauthClients', params, opts);
    }
    /** One client, by its `client_id`. */
    get(clientId, opts) {
        return this.data('oauthClient', { path: { clientId } }, opts);
    }
    /** Changes name, scopes, grant types, redirect URIs, token lifetime or status. */
    update(clientId, params, opts) {
        return this.data('updateOAuthClient', { path: { clientId }, body: params }, opts);
    }
    /** Issues a new `client_secret` (shown once); the old one stops at once unless a grace period is given. */
    rotateSecret(clientId, params = {}, opts) {
        return this.data('rotateOAuthClientSecret', { path: { clientId }, body: params }, opts);
    }
    /** Deletes a client; its tokens stop working at once. */
    delete(clientId, opts) {
        return this.data('deleteOAuthClient', { path: { clientId } }, opts);
    }
}
/** The credentials vault (`/credentials`). */
export class Credentials extends Resource {
    /** Encrypts and stores a credential; the answer is its metadata, never `data`. */
    store(params, opts) {
        return this.data('storeCredential', { body: params }, opts);
    }
    /** Lists credentials' metadata (no secrets). */
    list(params, opts) {
        return this.paged('credentials', params, opts);
    }
    /**
     * The decrypted credentials of an integration (scope `credentials:decrypt`; every read is
     * audited); 404 `NOT_FOUND` when the tenant holds none for it.
     */
    get(integrationId, opts) {
        return this.data('credential', { path: { integrationId } }, opts);
    }
    /** The credentials of an integration without their `data` (scope `credentials:read`). */
    details(integrationId, opts) {
        return this.data('credentialDetails', { path: { integrationId } }, opts);
    }
    /** Changes name, metadata, expiry or status; `data` replaces the secret. */
    update(integrationId, credentialId, params, opts) {
        return this.data('updateCredential', { path: { integrationId, credentialId }, body: params }, opts);
    }
    /** Deletes a credential; its ciphertext is destroyed. */
    delete(integrationId, credentialId, opts) {
        return this.data('deleteCredential', { path: { integrationId, credentialId } }, opts);
    }
}
/** The tenant's users (`/admin/users`). */
export class Users extends Resource {
    list(params, opts) {
        return this.paged('users', params, opts);
    }
    create(params, opts) {
        return this.data('createUser', { body: params }, opts);
    }
    update(userId, params, opts) {
        return this.data('updateUser', { path: { id: userId }, body: params }, opts);
    }
    delete(userId, opts) {
        return this.data('deleteUser', { path: { id: userId } }, opts);
    }
}
/** Service accounts (`/admin/service-account/create`). */
export class ServiceAccounts extends Resource {
    /** Creates a service account, and an API key for it when `create_api_key` is set (its secret shown once). */
    create(params, opts) {
        return this.data('createServiceAccount', { body: params }, opts);
    }
}
/** Webhook endpoints and their deliveries (`/webhooks`). Check deliveries with `verifyWebhook`. */
export class Webhooks extends Resource {
    /** Creates an endpoint; its signing `secret` (`whsec_…`) is shown this once. */
    create(params, opts) {
        return this.data('createWebhook', { body: params }, opts);
    }
    list(params, opts) {
        return this.paged('webhooks', params, opts);
    }
    get(webhookId, opts) {
        return this.data('webhook', { path: { webhookId } }, opts);
    }
    update(webhookId, params, opts) {
        return this.data('updateWebhook', { path: { webhookId }, body: params }, opts);
    }
    /** Deletes an endpoint; its pending deliveries are dropped. */
    delete(webhookId, opts) {
        return this.data('deleteWebhook', { path: { webhookId } }, opts);
    }
    /** Issues a new secret (shown once); during `grace_period_seconds` deliveries carry both signatures. */
    rotateSecret(webhookId, params = {}, opts) {
        return this.data('rotateWebhookSecret', { path: { webhookId }, body: params }, opts);
    }
    /** Sends a `webhook.test` event to the endpoint now. */
    test(webhookId, opts) {
        return this.data('testWebhook', { path: { webhookId } }, opts);
    }
    /** The endpoint's deliveries, newest first. */
    deliveries(webhookId, params, opts) {
        return this.paged('webhookDeliveries', params, opts, { webhookId });
    }
    /** Makes a new attempt of a delivery now. */
    retryDelivery(webhookId, deliveryId, opts) {
        return this.data('retryWebhookDelivery', { path: { webhookId, deliveryId } }, opts);
    }
    /** The event types an endpoint can subscribe to. */
    eventTypes(opts) {
        return this.data('webhookEventTypes', {}, opts);
    }
}
/** The audit log (`/admin/audit-logs`). */
export class Audit extends Resource {
    /** Audit entries, newest first; `since`/`until` take RFC 3339 strings or `Date`s. */
    list(params, opts) {
        return this.paged('auditLogs', params, opts);
    }
    /**
     * The whole audit trail matching the filters, oldest first, streamed without paging (NDJSON
     * read line by line: memory stays flat however long the trail). Breaking out of the loop
     * closes the connection.
     */
    async *export(params, opts) {
        const res = await this.transport.open('exportAuditLogs', 'application/x-ndjson', { query: params }, opts);
        yield* guarded(ndjson(res.body), opts?.signal);
    }
}
/** The tenant's single sign-on settings (`/admin/sso`). */
export class SSO extends Resource {
    /** The settings; 404 `NOT_FOUND` when single sign-on is not configured. */
    get(opts) {
        return this.data('ssoConfig', {}, opts);
    }
    /** Creates or replaces the settings (the client secret is kept when not given). */
    update(params, opts) {
        return this.data('updateSSOConfig', { body: params }, opts);
    }
}
/** Tenants (`/admin/tenants`): a platform admin lists them all; a tenant reads and changes its own. */
export class Tenants extends Resource {
    /** Every tenant (scope `platform:admin`). */
    list(params, opts) {
        return this.paged('tenants', params, opts);
    }
    get(tenantId, opts) {
        return this.data('tenant', { path: { tenantId } }, opts);
    }
    update(tenantId, params, opts) {
        return this.data('updateTenant', { path: { tenantId }, body: params }, opts);
    }
    /** Deletes a tenant: its keys, clients, tokens and credentials stop working at once. */
    delete(tenantId, opts) {
        return this.data('deleteTenant', { path: { tenantId } }, opts);
    }
    /** Counts by kind and status, requests and last activity. */
    stats(tenantId, opts) {
        return this.data('tenantStats', { path: { tenantId } }, opts);
    }
}
/** Operations: health, statistics, usage, features, DEK rotation and jobs (`/admin/...`). */
export class Admin extends Resource {
    /** Database latency, schema version, queue depths, uptime and version (scope `tenant:read`). */
    health(opts) {
        return this.data('healthAdmin', {}, opts);
    }
    dashboardStats(opts) {
        return this.data('dashboardStats', {}, opts);
    }
    usageSummary(opts) {
        return this.data('usageSummary', {}, opts);
    }
    /** What this server has switched on (sign-up, introspection, rate limits, TLS, CORS). */
    features(opts) {
        return this.data('featureStatus', {}, opts);
    }
    /** Starts rotating the tenant's data-encryption key (a job; scope `vault:admin`). */
    rotateDEK(params = {}, opts) {
        return this.data('rotateDEK', { body: params }, opts);
    }
    triggerJob(params, opts) {
        return this.data('triggerJob', { body: params }, opts);
    }
    jobStats(jobName, opts) {
        return this.data('jobStats', { path: { jobName } }, opts);
    }
}

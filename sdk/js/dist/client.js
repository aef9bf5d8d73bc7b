import { Transport } from './http.js';
import { Admin, APIKeys, Audit, Auth, Credentials, OAuthClients, ServiceAccounts, SSO, Tenants, Users, Webhooks, } from './resources.js';
/**
 * A client of one CredVault server.
 *
 * ```ts
 * import { CredVault } from '@credvault/sdk';
 *
 * const cv = new CredVault({ baseUrl: 'http://localhost:8080', apiKey: process.env.CREDVAULT_API_KEY });
 * const key = await cv.apiKeys.create({ name: 'ci', scopes: ['credentials:read'] });
 * for await (const k of cv.apiKeys.list({ status: 'active' })) console.log(k.name);
 * const stripe = await cv.credentials.get('stripe');
 * ```
 *
 * Every method returns the envelope's `data` (field names snake_case, as the API has them) and
 * throws a {@link CredVaultError} on failure. 429 and 503 answers are retried with backoff,
 * honouring `Retry-After`. A client is stateless and safe to share.
 */
export class CredVault {
    /** Sign-up, login, refresh and `me()`. */
    auth;
    apiKeys;
    oauthClients;
    credentials;
    users;
    serviceAccounts;
    webhooks;
    audit;
    tenants;
    /** Single sign-on settings. */
    sso;
    /** Health, statistics, usage, features, DEK rotation and jobs. */
    admin;
    /** The REST base URL in use, ending in `/api/v1`. */
    baseUrl;
    transport;
    constructor(options) {
        this.transport = new Transport(options);
        this.baseUrl = this.transport.baseUrl;
        this.auth = new Auth(this.transport);
        this.apiKeys = new APIKeys(this.transport);
        this.oauthClients = new OAuthClients(this.transport);
        this.credentials = new Credentials(this.transport);
        this.users = new Users(this.transport);
        this.serviceAccounts = new ServiceAccounts(this.transport);
        this.webhooks = new Webhooks(this.transport);
        this.audit = new Audit(this.transport);
        this.tenants = new Tenants(this.transport);
        this.sso = new SSO(this.transport);
        this.admin = new Admin(this.transport);
    }
    /** A client with the same options acting with a bearer token (a session's `access_token`). */
    withToken(token) {
        const { apiKey: _apiKey, ...rest } = this.transport.options;
        return new CredVault({ ...rest, token });
    }
    /** A client with the same options acting with an API key. */
    withApiKey(apiKey) {
        const { token: _token, ...rest } = this.transport.options;
        return new CredVault({ ...rest, apiKey });
    }
    /** Liveness and readiness (`GET /api/v1/health`, no credentials needed). */
    async health(opts) {
        return (await this.transport.call('health', {}, opts)).data;
    }
}

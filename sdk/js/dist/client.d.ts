import { type ClientOptions, type RequestOptions, type TokenSource } from './http.js';
import { Admin, APIKeys, Audit, Auth, Credentials, OAuthClients, ServiceAccounts, SSO, Tenants, Users, Webhooks } from './resources.js';
import type { Health } from './types.js';
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
export declare class CredVault {
    /** Sign-up, login, refresh and `me()`. */
    readonly auth: Auth;
    readonly apiKeys: APIKeys;
    readonly oauthClients: OAuthClients;
    readonly credentials: Credentials;
    readonly users: Users;
    readonly serviceAccounts: ServiceAccounts;
    readonly webhooks: Webhooks;
    readonly audit: Audit;
    readonly tenants: Tenants;
    /** Single sign-on settings. */
    readonly sso: SSO;
    /** Health, statistics, usage, features, DEK rotation and jobs. */
    readonly admin: Admin;
    /** The REST base URL in use, ending in `/api/v1`. */
    readonly baseUrl: string;
    private readonly transport;
    constructor(options: ClientOptions);
    /** A client with the same options acting with a bearer token (a session's `access_token`). */
    withToken(token: TokenSource): CredVault;
    /** A client with the same options acting with an API key. */
    withApiKey(apiKey: string): CredVault;
    /** Liveness and readiness (`GET /api/v1/health`, no credentials needed). */
    health(opts?: RequestOptions): Promise<Health>;
}

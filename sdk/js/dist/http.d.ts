import { type OperationId } from './operations.js';
import type { Pagination } from './types.js';
/** A bearer token, or a function that returns the current one (called before every attempt). */
export type TokenSource = string | (() => string | Promise<string>);
/** Options of `new CredVault(...)`. */
export interface ClientOptions {
    /**
     * The server, such as `https://vault.example.com` or `http://localhost:8080`; `/api/v1` is
     * added unless the URL already ends with it.
     */
    baseUrl: string;
    /** An API key (`cvk_…`), sent as `X-API-Key`. */
    apiKey?: string;
    /**
     * A bearer token: a session's access token (from `auth.login`), an OAuth access token, or a
     * function returning the current one (to refresh it yourself).
     */
    token?: TokenSource;
    /** `x-tenantid` on every request: the tenant a platform admin acts in. */
    tenantId?: string;
    /** Milliseconds one attempt may take (default 30 000). */
    timeout?: number;
    /** Retries of a 429 or 503 answer (and of a failed connection of an idempotent request); default 3. */
    maxRetries?: number;
    /**
     * The longest wait before a retry, in milliseconds (default 30 000). A `Retry-After` longer
     * than this is not waited for: the 429 or 503 is thrown at once, with `retryAfter` set.
     */
    maxRetryDelay?: number;
    /** Headers added to every request. */
    headers?: Record<string, string>;
    /** A `fetch` to use instead of the global one (a proxy agent, instrumentation). */
    fetch?: typeof fetch;
}
/** Options of one call, the last argument of every SDK method. */
export interface RequestOptions {
    /** Cancels the call (and its retries). */
    signal?: AbortSignal;
    /** `X-Request-ID` to send (echoed by the server and written to its audit log). */
    requestId?: string;
    /** `x-tenantid` for this call, overriding the client's. */
    tenantId?: string;
    /** Extra headers for this call. */
    headers?: Record<string, string>;
    /** Milliseconds one attempt may take, overriding the client's `timeout`. */
    timeout?: number;
    /** Retries for this call, overriding the client's `maxRetries`. */
    maxRetries?: number;
}
/** A query parameter value: `undefined` and `null` are left out, a `Date` is sent as RFC 3339. */
export type QueryValue = string | number | boolean | Date | null | undefined | readonly (string | number)[];
export type Query = Record<string, QueryValue>;
/** What one call needs besides its operation. */
export interface CallArgs {
    /** Values of the path's `{placeholders}`. */
    path?: Record<string, string>;
    query?: Query | undefined;
    body?: unknown;
}
/** The envelope's `meta`. */
export interface ResponseMeta {
    request_id: string;
    pagination?: Pagination;
}
/** A successful answer, unwrapped from its envelope. */
export interface APIResponse<T> {
    data: T;
    meta: ResponseMeta;
    status: number;
    headers: Headers;
}
/** Normalises a base URL to end in `/api/v1` without a trailing slash. */
export declare function apiBase(baseUrl: string): string;
/** Seconds of a `Retry-After` header (delta-seconds or an HTTP date), or null. */
export declare function parseRetryAfter(value: string | null, now?: number): number | null;
/**
 * The HTTP layer: authentication headers, the envelope, errors as {@link CredVaultError},
 * timeouts, and retries with exponential backoff and jitter on 429 and 503 that honour
 * `Retry-After`.
 */
export declare class Transport {
    readonly baseUrl: string;
    readonly options: Readonly<ClientOptions>;
    private readonly fetchImpl;
    constructor(options: ClientOptions);
    /** Calls a REST operation by its operationId and returns its unwrapped answer. */
    call<T>(id: OperationId, args?: CallArgs, opts?: RequestOptions): Promise<APIResponse<T>>;
    /**
     * Opens a streaming operation (NDJSON, Server-Sent Events): errors and retries as `call`,
     * but a successful answer is returned unread, its body still streaming. The timeout covers
     * the wait for the answer's headers; `opts.signal` also ends the body.
     */
    open(id: OperationId, accept: string, args?: CallArgs, opts?: RequestOptions): Promise<Response>;
    private headers;
    private request;
    /** Exponential backoff with jitter: between half and all of 0.5 s, 1 s, 2 s, … capped at maxDelay. */
    private backoff;
    private transportError;
    private parse;
}

import { CredVaultError } from './errors.js';
import { OPERATIONS } from './operations.js';
import { VERSION } from './version.js';
const RETRY_STATUSES = new Set([429, 503]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
/** Normalises a base URL to end in `/api/v1` without a trailing slash. */
export function apiBase(baseUrl) {
    if (typeof baseUrl !== 'string' || baseUrl === '') {
        throw new TypeError('CredVault: baseUrl is required, such as "http://localhost:8080"');
    }
    const url = new URL(baseUrl);
    let path = url.pathname.replace(/\/+$/, '');
    if (!path.endsWith('/api/v1'))
        path += '/api/v1';
    url.pathname = path;
    url.search = '';
    url.hash = '';
    return url.toString().replace(/\/+$/, '');
}
/** Seconds of a `Retry-After` header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value, now = Date.now()) {
    if (value == null || value.trim() === '')
        return null;
    const v = value.trim();
    if (/^\d+(\.\d+)?$/.test(v))
        return Number(v);
    const at = Date.parse(v);
    if (Number.isNaN(at))
        return null;
    return Math.max(0, (at - now) / 1000);
}
function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
        if (signal?.aborted) {
            reject(signal.reason);
            return;
        }
        const onAbort = () => {
            clearTimeout(timer);
            reject(signal?.reason);
        };
        const timer = setTimeout(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
        }, ms);
        signal?.addEventListener('abort', onAbort, { once: true });
    });
}
function encodeQuery(query) {
    if (!query)
        return '';
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
        if (value === undefined || value === null)
            continue;
        if (Array.isArray(value)) {
            for (const v of value)
                params.append(name, String(v));
        }
        else if (value instanceof Date) {
            params.append(name, value.toISOString());
        }
        else {
            params.append(name, String(value));
        }
    }
    const s = params.toString();
    return s === '' ? '' : `?${s}`;
}
function fillPath(template, values = {}) {
    return template.replace(/\{([^}]+)\}/g, (_, name) => {
        const v = values[name];
        if (v === undefined || v === null || String(v) === '') {
            throw new TypeError(`CredVault: ${name} is required`);
        }
        return encodeURIComponent(String(v));
    });
}
/**
 * The HTTP layer: authentication headers, the envelope, errors as {@link CredVaultError},
 * timeouts, and retries with exponential backoff and jitter on 429 and 503 that honour
 * `Retry-After`.
 */
export class Transport {
    baseUrl;
    options;
    fetchImpl;
    constructor(options) {
        if (options == null || typeof options !== 'object') {
            throw new TypeError('CredVault: options are required: new CredVault({ baseUrl, apiKey })');
        }
        if (options.apiKey !== undefined && options.token !== undefined) {
            throw new TypeError('CredVault: give apiKey or token, not both');
        }
        this.baseUrl = apiBase(options.baseUrl);
        this.options = { ...options };
        const f = options.fetch ?? globalThis.fetch;
        if (typeof f !== 'function') {
            throw new TypeError('CredVault: no fetch: use Node.js 18 or later, or pass options.fetch');
        }
        this.fetchImpl = f;
    }
    /** Calls a REST operation by its operationId and returns its unwrapped answer. */
    async call(id, args = {}, opts = {}) {
        const op = OPERATIONS[id];
        const url = this.baseUrl + fillPath(op.path, args.path) + encodeQuery(args.query);
        return this.request(op.method, url, args.body, opts, null);
    }
    /**
     * Opens a streaming operation (NDJSON, Server-Sent Events): errors and retries as `call`,
     * but a successful answer is returned unread, its body still streaming. The timeout covers
     * the wait for the answer's headers; `opts.signal` also ends the body.
     */
    async open(id, accept, args = {}, opts = {}) {
        const op = OPERATIONS[id];
        const url = this.baseUrl + fillPath(op.path, args.path) + encodeQuery(args.query);
        return this.request(op.method, url, args.body, opts, accept);
    }
    async headers(opts, hasBody) {
        const h = {
            accept: 'application/json',
            'user-agent': `credvault-sdk-js/${VERSION} node/${process.version}`,
            ...this.options.headers,
        };
        if (hasBody)
            h['content-type'] = 'application/json';
        if (this.options.apiKey)
            h['x-api-key'] = this.options.apiKey;
        const token = this.options.token;
        if (token !== undefined) {
            const t = typeof token === 'function' ? await token() : token;
            if (t)
                h['authorization'] = `Bearer ${t}`;
        }
        const tenant = opts.tenantId ?? this.options.tenantId;
        if (tenant)
            h['x-tenantid'] = tenant;
        if (opts.requestId)
            h['x-request-id'] = opts.requestId;
        Object.assign(h, opts.headers);
        return h;
    }
    async request(method, url, body, opts, stream) {
        const maxRetries = Math.max(0, opts.maxRetries ?? this.options.maxRetries ?? 3);
        const maxDelay = this.options.maxRetryDelay ?? 30_000;
        const timeout = opts.timeout ?? this.options.timeout ?? 30_000;
        const payload = body === undefined ? undefined : JSON.stringify(body);
        for (let attempt = 0;; attempt++) {
            let wait;
            // Before the timer: a token function's own failure is thrown as it is.
            const headers = await this.headers(opts, payload !== undefined);
            if (stream !== null)
                headers['accept'] = stream;
            const controller = new AbortController();
            let timedOut = false;
            let keepListener = false;
            const timer = setTimeout(() => {
                timedOut = true;
                controller.abort();
            }, timeout);
            const onAbort = () => controller.abort();
            opts.signal?.addEventListener('abort', onAbort, { once: true });
            try {
                if (opts.signal?.aborted)
                    throw opts.signal.reason;
                const init = {
                    method,
                    headers,
                    signal: controller.signal,
                    redirect: 'manual',
                };
                if (payload !== undefined)
                    init.body = payload;
                const response = await this.fetchImpl(url, init);
                if (stream !== null && response.ok) {
                    clearTimeout(timer);
                    keepListener = true; // the caller's signal still ends the body
                    return response;
                }
                const text = await response.text();
                const result = this.parse(response, text);
                if (!(result instanceof CredVaultError))
                    return result;
                if (!RETRY_STATUSES.has(result.status) || attempt >= maxRetries)
                    throw result;
                wait = result.retryAfter !== null ? result.retryAfter * 1000 : this.backoff(attempt, maxDelay);
                if (wait > maxDelay)
                    throw result;
            }
            catch (err) {
                if (err instanceof CredVaultError)
                    throw err;
                const cvErr = this.transportError(err, timedOut, opts.signal);
                if (cvErr.code === 'ABORTED' || !IDEMPOTENT.has(method) || attempt >= maxRetries)
                    throw cvErr;
                wait = this.backoff(attempt, maxDelay);
            }
            finally {
                clearTimeout(timer);
                if (!keepListener)
                    opts.signal?.removeEventListener('abort', onAbort);
            }
            try {
                await sleep(wait, opts.signal);
            }
            catch (err) {
                throw this.transportError(err, false, opts.signal);
            }
        }
    }
    /** Exponential backoff with jitter: between half and all of 0.5 s, 1 s, 2 s, … capped at maxDelay. */
    backoff(attempt, maxDelay) {
        const ceiling = Math.min(maxDelay, 500 * 2 ** attempt);
        return ceiling / 2 + Math.random() * (ceiling / 2);
    }
    transportError(err, timedOut, signal) {
        if (signal?.aborted) {
            return new CredVaultError({ status: 0, code: 'ABORTED', message: 'the request was aborted', cause: err });
        }
        if (timedOut) {
            return new CredVaultError({ status: 0, code: 'TIMEOUT', message: 'the request timed out', cause: err });
        }
        const reason = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
        return new CredVaultError({
            status: 0,
            code: 'CONNECTION_ERROR',
            message: `could not reach CredVault at ${this.baseUrl}: ${reason}`,
            cause: err,
        });
    }
    parse(response, text) {
        let env;
        try {
            env = text === '' ? undefined : JSON.parse(text);
        }
        catch {
            env = undefined;
        }
        const requestId = env?.meta?.request_id ?? response.headers.get('x-request-id');
        const retryAfterHeader = parseRetryAfter(response.headers.get('retry-after'));
        if (!response.ok || env?.success === false) {
            const e = env?.error;
            const detailsRetry = e?.details?.['retry_after'];
            const retryAfter = retryAfterHeader ?? (typeof detailsRetry === 'number' && RETRY_STATUSES.has(response.status) ? detailsRetry : null);
            if (e && typeof e.code === 'string') {
                return new CredVaultError({
                    status: response.status,
                    code: e.code,
                    message: e.message ?? e.code,
                    details: e.details ?? {},
                    requestId,
                    retryAfter,
                });
            }
            return new CredVaultError({
                status: response.status,
                code: 'UNEXPECTED_RESPONSE',
                message: `unexpected ${response.status} ${response.statusText} answer from CredVault`,
                details: { body: text.slice(0, 512) },
                requestId,
                retryAfter,
            });
        }
        if (!env || env.success !== true) {
            return new CredVaultError({
                status: response.status,
                code: 'UNEXPECTED_RESPONSE',
                message: 'the answer is not a CredVault envelope',
                details: { body: text.slice(0, 512) },
                requestId,
            });
        }
        return {
            data: env.data,
            meta: env.meta ?? { request_id: requestId ?? '' },
            status: response.status,
            headers: response.headers,
        };
    }
}

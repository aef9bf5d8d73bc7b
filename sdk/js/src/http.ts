import { CredVaultError } from './errors.js';
import { OPERATIONS, type OperationId } from './operations.js';
import type { Pagination } from './types.js';
import { VERSION } from './version.js';

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

const RETRY_STATUSES = new Set([429, 503]);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** Normalises a base URL to end in `/api/v1` without a trailing slash. */
export function apiBase(baseUrl: string): string {
  if (typeof baseUrl !== 'string' || baseUrl === '') {
    throw new TypeError('CredVault: baseUrl is required, such as "http://localhost:8080"');
  }
  const url = new URL(baseUrl);
  let path = url.pathname.replace(/\/+$/, '');
  if (!path.endsWith('/api/v1')) path += '/api/v1';
  url.pathname = path;
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}

/** Seconds of a `Retry-After` header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value == null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, (at - now) / 1000);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      for (const v of value) params.append(name, String(v));
    } else if (value instanceof Date) {
      params.append(name, value.toISOString());
    } else {
      params.append(name, String(value));
    }
  }
  const s = params.toString();
  return s === '' ? '' : `?${s}`;
}

function fillPath(template: string, values: Record<string, string> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined || v === null || String(v) === '') {
      throw new TypeError(`CredVault: ${name} is required`);
    }
    return encodeURIComponent(String(v));
  });
}

interface Envelope {
  success?: boolean;
  data?: unknown;
  meta?: ResponseMeta;
  error?: { code?: string; message?: string; details?: Record<string, unknown> | null };
}

/**
 * The HTTP layer: authentication headers, the envelope, errors as {@link CredVaultError},
 * timeouts, and retries with exponential backoff and jitter on 429 and 503 that honour
 * `Retry-After`.
 */
export class Transport {
  readonly baseUrl: string;
  readonly options: Readonly<ClientOptions>;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ClientOptions) {
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
  async call<T>(id: OperationId, args: CallArgs = {}, opts: RequestOptions = {}): Promise<APIResponse<T>> {
    const op = OPERATIONS[id];
    const url = this.baseUrl + fillPath(op.path, args.path) + encodeQuery(args.query);
    return this.request<T>(op.method, url, args.body, opts, null) as Promise<APIResponse<T>>;
  }

  /**
   * Opens a streaming operation (NDJSON, Server-Sent Events): errors and retries as `call`,
   * but a successful answer is returned unread, its body still streaming. The timeout covers
   * the wait for the answer's headers; `opts.signal` also ends the body.
   */
  async open(id: OperationId, accept: string, args: CallArgs = {}, opts: RequestOptions = {}): Promise<Response> {
    const op = OPERATIONS[id];
    const url = this.baseUrl + fillPath(op.path, args.path) + encodeQuery(args.query);
    return this.request<never>(op.method, url, args.body, opts, accept) as Promise<Response>;
  }

  private async headers(opts: RequestOptions, hasBody: boolean): Promise<Record<string, string>> {
    const h: Record<string, string> = {
      accept: 'application/json',
      'user-agent': `credvault-sdk-js/${VERSION} node/${process.version}`,
      ...this.options.headers,
    };
    if (hasBody) h['content-type'] = 'application/json';
    if (this.options.apiKey) h['x-api-key'] = this.options.apiKey;
    const token = this.options.token;
    if (token !== undefined) {
      const t = typeof token === 'function' ? await token() : token;
      if (t) h['authorization'] = `Bearer ${t}`;
    }
    const tenant = opts.tenantId ?? this.options.tenantId;
    if (tenant) h['x-tenantid'] = tenant;
    if (opts.requestId) h['x-request-id'] = opts.requestId;
    Object.assign(h, opts.headers);
    return h;
  }

  private async request<T>(
    method: string,
    url: string,
    body: unknown,
    opts: RequestOptions,
    stream: string | null,
  ): Promise<APIResponse<T> | Response> {
    const maxRetries = Math.max(0, opts.maxRetries ?? this.options.maxRetries ?? 3);
    const maxDelay = this.options.maxRetryDelay ?? 30_000;
    const timeout = opts.timeout ?? this.options.timeout ?? 30_000;
    const payload = body === undefined ? undefined : JSON.stringify(body);

    for (let attempt = 0; ; attempt++) {
      let wait: number;
      // Before the timer: a token function's own failure is thrown as it is.
      const headers = await this.headers(opts, payload !== undefined);
      if (stream !== null) headers['accept'] = stream;
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
        if (opts.signal?.aborted) throw opts.signal.reason;
        const init: RequestInit = {
          method,
          headers,
          signal: controller.signal,
          redirect: 'manual',
        };
        if (payload !== undefined) init.body = payload;
        const response = await this.fetchImpl(url, init);
        if (stream !== null && response.ok) {
          clearTimeout(timer);
          keepListener = true; // the caller's signal still ends the body
          return response;
        }
        const text = await response.text();
        const result = this.parse<T>(response, text);
        if (!(result instanceof CredVaultError)) return result;
        if (!RETRY_STATUSES.has(result.status) || attempt >= maxRetries) throw result;
        wait = result.retryAfter !== null ? result.retryAfter * 1000 : this.backoff(attempt, maxDelay);
        if (wait > maxDelay) throw result;
      } catch (err) {
        if (err instanceof CredVaultError) throw err;
        const cvErr = this.transportError(err, timedOut, opts.signal);
        if (cvErr.code === 'ABORTED' || !IDEMPOTENT.has(method) || attempt >= maxRetries) throw cvErr;
        wait = this.backoff(attempt, maxDelay);
      } finally {
        clearTimeout(timer);
        if (!keepListener) opts.signal?.removeEventListener('abort', onAbort);
      }
      try {
        await sleep(wait, opts.signal);
      } catch (err) {
        throw this.transportError(err, false, opts.signal);
      }
    }
  }

  /** Exponential backoff with jitter: between half and all of 0.5 s, 1 s, 2 s, … capped at maxDelay. */
  private backoff(attempt: number, maxDelay: number): number {
    const ceiling = Math.min(maxDelay, 500 * 2 ** attempt);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private transportError(err: unknown, timedOut: boolean, signal?: AbortSignal): CredVaultError {
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

  private parse<T>(response: Response, text: string): APIResponse<T> | CredVaultError {
    let env: Envelope | undefined;
    try {
      env = text === '' ? undefined : (JSON.parse(text) as Envelope);
    } catch {
      env = undefined;
    }
    const requestId = env?.meta?.request_id ?? response.headers.get('x-request-id');
    const retryAfterHeader = parseRetryAfter(response.headers.get('retry-after'));
    if (!response.ok || env?.success === false) {
      const e = env?.error;
      const detailsRetry = e?.details?.['retry_after'];
      const retryAfter =
        retryAfterHeader ?? (typeof detailsRetry === 'number' && RETRY_STATUSES.has(response.status) ? detailsRetry : null);
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
      data: env.data as T,
      meta: env.meta ?? { request_id: requestId ?? '' },
      status: response.status,
      headers: response.headers,
    };
  }
}

import type { ErrorCode } from './types.js';

/** What `CredVaultError` is built from. */
export interface CredVaultErrorInit {
  status: number;
  code: string;
  message: string;
  details?: Record<string, unknown> | null;
  requestId?: string | null;
  retryAfter?: number | null;
  cause?: unknown;
}

/**
 * Every failure of a CredVault call: an error envelope from the server
 * (`{success: false, error: {code, message, details}, meta: {request_id}}`), or a request that
 * never got one.
 *
 * - `status` is the HTTP status, or `0` when no answer arrived (`code` is then
 *   `CONNECTION_ERROR`, `TIMEOUT` or `ABORTED`).
 * - `code` is the server's error code (`NOT_FOUND`, `VALIDATION_ERROR`, …); an answer that is
 *   not an error envelope (a proxy's HTML page) gets `UNEXPECTED_RESPONSE`.
 * - `details` is the server's `error.details` (`{field, reason}` for a validation error,
 *   `{retry_after}` for a rate limit), `{}` when it sent none.
 * - `requestId` is `meta.request_id` (or the `X-Request-ID` header): quote it when asking for
 *   help, it finds the request in the server's logs and audit trail.
 */
export class CredVaultError extends Error {
  /** The HTTP status, or 0 when the server never answered. */
  readonly status: number;
  /** The server's error code, such as `NOT_FOUND`. */
  readonly code: ErrorCode | 'CONNECTION_ERROR' | 'TIMEOUT' | 'ABORTED' | 'UNEXPECTED_RESPONSE' | (string & {});
  /** The server's `error.details`. */
  readonly details: Record<string, unknown>;
  /** The request id of the failed request, when the server gave one. */
  readonly requestId: string | null;
  /** Seconds the server asked to wait (`Retry-After`) on a 429 or 503, else null. */
  readonly retryAfter: number | null;

  constructor(init: CredVaultErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'CredVaultError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.requestId = init.requestId ?? null;
    this.retryAfter = init.retryAfter ?? null;
  }

  /** A plain object for logs (Error's own fields are not enumerable). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      status: this.status,
      code: this.code,
      message: this.message,
      details: this.details,
      requestId: this.requestId,
      retryAfter: this.retryAfter,
    };
  }
}

/** Thrown by `verifyWebhook` when a request is not a genuine, fresh CredVault delivery. */
export class WebhookVerificationError extends Error {
  /**
   * Why: `missing_headers`, `bad_timestamp`, `timestamp_too_old`, `timestamp_too_new`,
   * `bad_secret`, `no_matching_signature` or `bad_body`.
   */
  readonly reason:
    | 'missing_headers'
    | 'bad_timestamp'
    | 'timestamp_too_old'
    | 'timestamp_too_new'
    | 'bad_secret'
    | 'no_matching_signature'
    | 'bad_body';

  constructor(reason: WebhookVerificationError['reason'], message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
    this.reason = reason;
  }
}

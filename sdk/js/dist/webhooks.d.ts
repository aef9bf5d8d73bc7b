import type { JSONObject, WebhookEvent } from './types.js';
/**
 * Request headers as a receiver has them: a fetch `Headers`, Node's `IncomingMessage.headers`,
 * or any object with lower- or mixed-case names.
 */
export type WebhookHeaders = {
    get(name: string): string | null;
} | Record<string, string | string[] | undefined>;
export interface VerifyWebhookOptions {
    /** How far `webhook-timestamp` may be from now, in seconds (default 300: five minutes). */
    toleranceSeconds?: number;
    /** The current time, for tests (a `Date` or milliseconds since the epoch). */
    now?: Date | number;
}
/** The Standard Webhooks default tolerance: five minutes either way. */
export declare const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;
/**
 * The `webhook-signature` value the server sends for a message: `v1,` and the base64
 * HMAC-SHA256, keyed with the decoded secret, of `{id}.{timestamp}.{body}`. Useful to test a
 * receiver; `verifyWebhook` checks deliveries.
 */
export declare function signWebhook(secret: string, id: string, timestamp: number | string, body: string | Uint8Array): string;
/**
 * Verifies a webhook delivery by the Standard Webhooks scheme and returns its parsed event.
 *
 * It checks that `webhook-id`, `webhook-timestamp` and `webhook-signature` are present, that
 * the timestamp is within `toleranceSeconds` (five minutes) of now — which refuses replays of
 * old deliveries —, and that one of the space-separated `v1,` signatures is the HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{body}` keyed with the secret (compared in constant
 * time). During a secret rotation's grace period the server signs with both secrets, so
 * either verifies; `secret` may also be a list (the new and the old).
 *
 * Pass the raw body exactly as received (`express.raw({ type: 'application/json' })`, or the
 * text of a fetch `Request`), never a re-serialised object. Deliveries are at least once:
 * deduplicate on `webhook-id`.
 *
 * @throws {WebhookVerificationError} when the delivery is not genuine or not fresh.
 */
export declare function verifyWebhook<T = JSONObject>(secret: string | readonly string[], body: string | Uint8Array, headers: WebhookHeaders, options?: VerifyWebhookOptions): WebhookEvent<T>;

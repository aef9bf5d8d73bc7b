import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';
/** The Standard Webhooks default tolerance: five minutes either way. */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;
const SECRET_PREFIX = 'whsec_';
function header(headers, name) {
    if (typeof headers.get === 'function') {
        const v = headers.get(name);
        return v ?? undefined;
    }
    const rec = headers;
    let v = rec[name];
    if (v === undefined) {
        const key = Object.keys(rec).find((k) => k.toLowerCase() === name);
        v = key === undefined ? undefined : rec[key];
    }
    return Array.isArray(v) ? v.join(' ') : v;
}
function secretKey(secret) {
    if (typeof secret !== 'string' || secret === '') {
        throw new WebhookVerificationError('bad_secret', 'the webhook secret is empty');
    }
    const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
        throw new WebhookVerificationError('bad_secret', 'the webhook secret is not whsec_ followed by base64');
    }
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0)
        throw new WebhookVerificationError('bad_secret', 'the webhook secret is empty');
    return key;
}
function bodyBytes(body) {
    if (typeof body === 'string')
        return Buffer.from(body, 'utf8');
    if (body instanceof Uint8Array)
        return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    throw new WebhookVerificationError('bad_body', 'the body must be the raw request body (a string or bytes), not a parsed object: re-serialising changes it');
}
function hmac(key, id, timestamp, body) {
    return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest();
}
/**
 * The `webhook-signature` value the server sends for a message: `v1,` and the base64
 * HMAC-SHA256, keyed with the decoded secret, of `{id}.{timestamp}.{body}`. Useful to test a
 * receiver; `verifyWebhook` checks deliveries.
 */
export function signWebhook(secret, id, timestamp, body) {
    return `v1,${hmac(secretKey(secret), id, String(timestamp), bodyBytes(body)).toString('base64')}`;
}
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
export function verifyWebhook(secret, body, headers, options = {}) {
    const id = header(headers, 'webhook-id');
    const timestamp = header(headers, 'webhook-timestamp');
    const signatures = header(headers, 'webhook-signature');
    if (!id || !timestamp || !signatures) {
        throw new WebhookVerificationError('missing_headers', 'webhook-id, webhook-timestamp and webhook-signature are required');
    }
    if (!/^\d{1,15}$/.test(timestamp)) {
        throw new WebhookVerificationError('bad_timestamp', 'webhook-timestamp is not Unix seconds');
    }
    const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
    const nowMs = options.now === undefined ? Date.now() : options.now instanceof Date ? options.now.getTime() : options.now;
    const now = Math.floor(nowMs / 1000);
    const ts = Number(timestamp);
    if (ts < now - tolerance) {
        throw new WebhookVerificationError('timestamp_too_old', 'the delivery is older than the tolerance');
    }
    if (ts > now + tolerance) {
        throw new WebhookVerificationError('timestamp_too_new', 'the delivery is timestamped in the future');
    }
    const raw = bodyBytes(body);
    const secrets = typeof secret === 'string' ? [secret] : [...secret];
    if (secrets.length === 0)
        throw new WebhookVerificationError('bad_secret', 'no webhook secret given');
    const expected = secrets.map((s) => hmac(secretKey(s), id, timestamp, raw));
    let matched = false;
    for (const part of signatures.split(' ')) {
        const comma = part.indexOf(',');
        if (comma < 0 || part.slice(0, comma) !== 'v1')
            continue;
        const given = Buffer.from(part.slice(comma + 1), 'base64');
        for (const want of expected) {
            // Evaluate every candidate: no early exit that would tell which one matched.
            if (given.length === want.length && timingSafeEqual(given, want))
                matched = true;
        }
    }
    if (!matched) {
        throw new WebhookVerificationError('no_matching_signature', 'no signature matches the secret');
    }
    try {
        return JSON.parse(raw.toString('utf8'));
    }
    catch {
        throw new WebhookVerificationError('bad_body', 'the signed body is not JSON');
    }
}

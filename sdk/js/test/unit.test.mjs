// Checks that need no server: the Standard Webhooks test vector, header and option handling.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CredVault,
  CredVaultError,
  parseRetryAfter,
  signWebhook,
  verifyWebhook,
  WebhookVerificationError,
} from '../dist/index.js';

// The example of the Standard Webhooks specification's reference libraries.
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TS = 1614265330;
const BODY = '{"test": 2432232314}';
const SIG = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const headers = { 'webhook-id': ID, 'webhook-timestamp': String(TS), 'webhook-signature': SIG };
const at = TS * 1000;
const reason = (r) => (err) => err instanceof WebhookVerificationError && err.reason === r;

describe('verifyWebhook (Standard Webhooks)', () => {
  it('signs the reference example as the specification does', () => {
    assert.equal(signWebhook(SECRET, ID, TS, BODY), SIG);
  });

  it('accepts the reference example within the tolerance and returns the parsed body', () => {
    assert.deepEqual(verifyWebhook(SECRET, BODY, headers, { now: at }), { test: 2432232314 });
    assert.deepEqual(verifyWebhook(SECRET, Buffer.from(BODY), headers, { now: new Date(at + 299_000) }), { test: 2432232314 });
  });

  it('finds the matching signature among several, and other versions are ignored', () => {
    const h = { ...headers, 'webhook-signature': `v1a,abc v1,${Buffer.alloc(32).toString('base64')} ${SIG}` };
    assert.doesNotThrow(() => verifyWebhook(SECRET, BODY, h, { now: at }));
    const onlyOther = { ...headers, 'webhook-signature': SIG.replace('v1,', 'v2,') };
    assert.throws(() => verifyWebhook(SECRET, BODY, onlyOther, { now: at }), reason('no_matching_signature'));
  });

  it('reads mixed-case header names and array values', () => {
    const h = { 'Webhook-Id': ID, 'WEBHOOK-TIMESTAMP': String(TS), 'Webhook-Signature': [SIG] };
    assert.doesNotThrow(() => verifyWebhook(SECRET, BODY, h, { now: at }));
  });

  it('refuses stale, future, malformed and unsigned messages', () => {
    assert.throws(() => verifyWebhook(SECRET, BODY, headers, { now: at + 301_000 }), reason('timestamp_too_old'));
    assert.throws(() => verifyWebhook(SECRET, BODY, headers, { now: at - 301_000 }), reason('timestamp_too_new'));
    assert.throws(() => verifyWebhook(SECRET, BODY, headers, { now: at + 61_000, toleranceSeconds: 60 }), reason('timestamp_too_old'));
    assert.throws(() => verifyWebhook(SECRET, BODY, { ...headers, 'webhook-timestamp': '1e9' }, { now: at }), reason('bad_timestamp'));
    assert.throws(() => verifyWebhook(SECRET, BODY, { 'webhook-id': ID }, { now: at }), reason('missing_headers'));
    assert.throws(() => verifyWebhook(SECRET, `${BODY} `, headers, { now: at }), reason('no_matching_signature'));
    assert.throws(() => verifyWebhook('whsec_!!!', BODY, headers, { now: at }), reason('bad_secret'));
    assert.throws(() => verifyWebhook(SECRET, { test: 2432232314 }, headers, { now: at }), reason('bad_body'));
    const notJson = 'not json';
    const h = { ...headers, 'webhook-signature': signWebhook(SECRET, ID, TS, notJson) };
    assert.throws(() => verifyWebhook(SECRET, notJson, h, { now: at }), reason('bad_body'));
  });

  it('accepts any of several secrets (a rotation on the receiver side)', () => {
    const other = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
    assert.doesNotThrow(() => verifyWebhook([other, SECRET], BODY, headers, { now: at }));
    assert.throws(() => verifyWebhook([other], BODY, headers, { now: at }), reason('no_matching_signature'));
  });
});

describe('client options', () => {
  it('adds /api/v1 to the base URL unless present', () => {
    assert.equal(new CredVault({ baseUrl: 'http://localhost:8080' }).baseUrl, 'http://localhost:8080/api/v1');
    assert.equal(new CredVault({ baseUrl: 'http://localhost:8080/' }).baseUrl, 'http://localhost:8080/api/v1');
    assert.equal(new CredVault({ baseUrl: 'https://x.example/vault/api/v1/' }).baseUrl, 'https://x.example/vault/api/v1');
  });

  it('refuses a missing base URL and both credentials at once', () => {
    assert.throws(() => new CredVault({}), TypeError);
    assert.throws(() => new CredVault({ baseUrl: 'http://x', apiKey: 'cvk_a', token: 't' }), TypeError);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('3'), 3);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter('soon'), null);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5);
  });

  it('rejects an empty path parameter before any request', async () => {
    const cv = new CredVault({ baseUrl: 'http://127.0.0.1:9' });
    await assert.rejects(cv.apiKeys.get(''), TypeError);
  });

  it('gives CredVaultError the fields of the error envelope', () => {
    const e = new CredVaultError({ status: 404, code: 'NOT_FOUND', message: 'resource not found', requestId: 'r1' });
    assert.equal(e.name, 'CredVaultError');
    assert.deepEqual(e.details, {});
    assert.deepEqual(JSON.parse(JSON.stringify(e)), {
      name: 'CredVaultError',
      status: 404,
      code: 'NOT_FOUND',
      message: 'resource not found',
      details: {},
      requestId: 'r1',
      retryAfter: null,
    });
  });
});

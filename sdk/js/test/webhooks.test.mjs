// verifyWebhook against real deliveries: a live server sends signed requests to a local
// receiver, on SQLite and (when CREDVAULT_TEST_DATABASE_URL is set) PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHmac } from 'node:crypto';
import { verifyWebhook, WebhookVerificationError } from '../dist/index.js';
import { backends, newTenant, startServer } from './support/server.mjs';

/** A local HTTP receiver that keeps every request (raw body and headers). */
async function startReceiver() {
  const received = [];
  let failNext = 0;
  const srv = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end('not now');
        return;
      }
      received.push({ headers: req.headers, body, event: JSON.parse(body.toString('utf8')) });
      res.writeHead(204).end();
    });
  });
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address();
  return {
    url: `http://127.0.0.1:${port}/hooks/credvault`,
    received,
    failNextRequests(n) {
      failNext = n;
    },
    /** Waits for a delivery matching pred (at most 20 s). */
    async waitFor(pred, what) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const hit = received.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) {
          throw new Error(`no ${what} delivery within 20 s; got: ${received.map((r) => r.event.type).join(', ')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise((res) => srv.close(res)),
  };
}

const reason = (r) => (err) => err instanceof WebhookVerificationError && err.reason === r;

for (const backend of backends()) {
  describe(`webhook deliveries verified with verifyWebhook (${backend})`, () => {
    let server;
    let receiver;
    let t;
    let hook;

    before(async () => {
      // A failed attempt is retried in an hour: the retry test's second attempt is its own.
      server = await startServer({ backend, env: { CREDVAULT_WEBHOOK_RETRY_SCHEDULE: '1h' } });
      receiver = await startReceiver();
      t = await newTenant(server, 'Webhooks');
      hook = await t.cv.webhooks.create({ url: receiver.url, events: ['*'], description: 'sdk-js receiver' });
    });

    after(async () => {
      await receiver?.close();
      await server?.stop();
    });

    it('verifies a real api_key.created delivery and refuses tampering', async () => {
      assert.match(hook.secret, /^whsec_/);
      const key = await t.cv.apiKeys.create({ name: 'webhook-trigger' });
      const got = await receiver.waitFor((r) => r.event.type === 'api_key.created' && r.event.data.id === key.id, 'api_key.created');

      // Node's IncomingMessage headers, a Buffer body.
      const event = verifyWebhook(hook.secret, got.body, got.headers);
      assert.equal(event.type, 'api_key.created');
      assert.equal(event.event, 'api_key.created');
      assert.equal(event.tenant_id, t.tenantId);
      assert.equal(event.data.id, key.id);
      assert.equal(event.data.key, undefined, 'no secret in a payload');

      // A fetch Headers object and a string body work too.
      const h = new Headers();
      for (const [k, v] of Object.entries(got.headers)) h.set(k, String(v));
      assert.equal(verifyWebhook(hook.secret, got.body.toString('utf8'), h).data.id, key.id);

      // Seed 003's X-Signature is the hex HMAC of the body keyed with the secret string.
      assert.equal(got.headers['x-signature'], createHmac('sha256', hook.secret).update(got.body).digest('hex'));

      const tampered = Buffer.from(got.body.toString('utf8').replace(key.id, '00000000-0000-4000-8000-000000000000'));
      assert.throws(() => verifyWebhook(hook.secret, tampered, got.headers), reason('no_matching_signature'));
      const otherSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
      assert.throws(() => verifyWebhook(otherSecret, got.body, got.headers), reason('no_matching_signature'));
      const ts = Number(got.headers['webhook-timestamp']) * 1000;
      assert.throws(() => verifyWebhook(hook.secret, got.body, got.headers, { now: ts + 301_000 }), reason('timestamp_too_old'));
      assert.throws(() => verifyWebhook(hook.secret, got.body, got.headers, { now: ts - 301_000 }), reason('timestamp_too_new'));
      assert.doesNotThrow(() => verifyWebhook(hook.secret, got.body, got.headers, { now: ts + 299_000 }));
      const { ['webhook-signature']: _sig, ...unsigned } = got.headers;
      assert.throws(() => verifyWebhook(hook.secret, got.body, unsigned), reason('missing_headers'));
      const otherId = { ...got.headers, 'webhook-id': 'msg_other' };
      assert.throws(() => verifyWebhook(hook.secret, got.body, otherId), reason('no_matching_signature'));
    });

    it('verifies webhook.test, lists deliveries and retries a failed one', async () => {
      const test = await t.cv.webhooks.test(hook.id);
      assert.ok(test.event_id && test.delivery_id);
      const got = await receiver.waitFor((r) => r.headers['webhook-id'] === test.event_id, 'webhook.test');
      assert.equal(verifyWebhook(hook.secret, got.body, got.headers).type, 'webhook.test');

      const deliveries = await t.cv.webhooks.deliveries(hook.id, { event_type: 'webhook.test' }).toArray();
      assert.ok(deliveries.some((d) => d.id === test.delivery_id));

      // The next attempt fails (500): the delivery waits for its retry; retryDelivery sends it now.
      receiver.failNextRequests(1);
      const failing = await t.cv.webhooks.test(hook.id);
      const deadline = Date.now() + 20_000;
      let d;
      for (;;) {
        d = (await t.cv.webhooks.deliveries(hook.id, { status: 'retrying' }).toArray()).find((x) => x.id === failing.delivery_id);
        if (d || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(d, 'the failed delivery is retrying');
      assert.equal(d.response_status, 500);
      await t.cv.webhooks.retryDelivery(hook.id, failing.delivery_id);
      const retried = await receiver.waitFor((r) => r.headers['webhook-id'] === failing.event_id, 'retried webhook.test');
      assert.equal(verifyWebhook(hook.secret, retried.body, retried.headers).type, 'webhook.test');
    });

    it('verifies with either secret during a rotation grace period, only the new one after', async () => {
      const oldSecret = hook.secret;
      const rotated = await t.cv.webhooks.rotateSecret(hook.id, { grace_period_seconds: 600 });
      assert.match(rotated.secret, /^whsec_/);
      assert.notEqual(rotated.secret, oldSecret);

      const during = await t.cv.webhooks.test(hook.id);
      const got = await receiver.waitFor((r) => r.headers['webhook-id'] === during.event_id, 'webhook.test in grace');
      assert.equal(got.headers['webhook-signature'].split(' ').length, 2, 'two signatures in the grace period');
      assert.doesNotThrow(() => verifyWebhook(oldSecret, got.body, got.headers));
      assert.doesNotThrow(() => verifyWebhook(rotated.secret, got.body, got.headers));
      assert.doesNotThrow(() => verifyWebhook([rotated.secret, oldSecret], got.body, got.headers));

      const again = await t.cv.webhooks.rotateSecret(hook.id); // no grace: the previous secret stops
      const afterRotation = await t.cv.webhooks.test(hook.id);
      const got2 = await receiver.waitFor((r) => r.headers['webhook-id'] === afterRotation.event_id, 'webhook.test after');
      assert.equal(got2.headers['webhook-signature'].split(' ').length, 1);
      assert.throws(() => verifyWebhook(rotated.secret, got2.body, got2.headers), reason('no_matching_signature'));
      assert.equal(verifyWebhook(again.secret, got2.body, got2.headers).type, 'webhook.test');
      hook = { ...hook, secret: again.secret };
    });

    it('manages endpoints: event types, get, list, update, delete', async () => {
      const types = await t.cv.webhooks.eventTypes();
      assert.ok(types.some((x) => x.type === 'api_key.revoked'));
      assert.equal((await t.cv.webhooks.get(hook.id)).url, receiver.url);
      assert.ok((await t.cv.webhooks.list({ enabled: true })).data.some((w) => w.id === hook.id));
      const updated = await t.cv.webhooks.update(hook.id, { events: ['api_key.revoked'], enabled: false });
      assert.deepEqual(updated.events, ['api_key.revoked']);
      assert.equal(updated.enabled, false);
      assert.deepEqual(await t.cv.webhooks.delete(hook.id), { id: hook.id, deleted: true });
      await assert.rejects(t.cv.webhooks.get(hook.id), { code: 'NOT_FOUND', status: 404 });
    });
  });
}

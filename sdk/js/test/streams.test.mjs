// Streaming operations and single sign-on settings against a live server, on SQLite and (when
// CREDVAULT_TEST_DATABASE_URL is set) PostgreSQL. Each test runs when the server's OpenAPI
// document has its operation (servers older than these operations skip them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { CredVaultError } from '../dist/index.js';
import { backends, newTenant, startServer } from './support/server.mjs';

const sha256 = (s) => createHash('sha256').update(s).digest('hex');

/** Next value of an async iterator, or a failure after ms. */
async function nextWithin(iter, ms, what) {
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    const r = await Promise.race([iter.next(), timeout]);
    assert.equal(r.done, false, `the stream ended before ${what}`);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** The first event matching pred (earlier ones, such as late upserts of older keys, are passed over). */
async function eventWithin(iter, ms, what, pred) {
  const deadline = Date.now() + ms;
  for (;;) {
    const e = await nextWithin(iter, Math.max(1, deadline - Date.now()), what);
    if (pred(e)) return e;
  }
}

/** A minimal OpenID Connect discovery document: the identity provider the server checks. */
async function startDiscovery() {
  const srv = createServer((req, res) => {
    const base = `http://127.0.0.1:${srv.address().port}`;
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer: base,
          authorization_endpoint: `${base}/authorize`,
          token_endpoint: `${base}/token`,
          jwks_uri: `${base}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    } else if (req.url === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"keys":[]}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { issuer: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
}

for (const backend of backends()) {
  describe(`streams and single sign-on (${backend})`, () => {
    let server;
    let t;
    let ops;

    before(async () => {
      server = await startServer({ backend });
      t = await newTenant(server, 'Streams');
      const doc = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
      ops = new Set();
      for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) if (op?.operationId) ops.add(op.operationId);
    });

    after(async () => {
      await server?.stop();
    });

    it('streams API keys: snapshot, upsert, remove, and resumes after an event id', async (ctx) => {
      if (!ops.has('streamAPIKeys')) return ctx.skip('this server has no GET /api-keys/stream');
      const ac = new AbortController();
      const stream = t.cv.apiKeys.stream({}, { signal: ac.signal });
      const snapshot = await nextWithin(stream, 10_000, 'snapshot');
      assert.equal(snapshot.event, 'snapshot');
      assert.ok(snapshot.id);
      const own = snapshot.data.keys.find((k) => k.id === t.apiKey.id);
      assert.ok(own, 'the snapshot has the tenant key');
      assert.equal(own.hash, sha256(t.apiKey.key), 'keys come as the SHA-256 of the secret');
      assert.equal(own.key, undefined);

      const created = await t.cv.apiKeys.create({ name: 'streamed', scopes: ['credentials:read'] });
      const upsert = await eventWithin(stream, 10_000, 'upsert', (e) => e.data.id === created.id);
      assert.equal(upsert.event, 'upsert');
      assert.equal(upsert.data.hash, sha256(created.key));
      assert.deepEqual(upsert.data.scopes, ['credentials:read']);

      await t.cv.apiKeys.revoke(created.id);
      const removed = await eventWithin(stream, 10_000, 'remove', (e) => e.event === 'remove');
      assert.equal(removed.data.id, created.id);
      ac.abort();
      await assert.rejects(stream.next(), (err) => err instanceof CredVaultError && err.code === 'ABORTED' && err.status === 0);

      // Resuming after the upsert sends what followed it, not a new snapshot.
      const ac2 = new AbortController();
      const resumed = t.cv.apiKeys.stream({ lastEventId: upsert.id }, { signal: ac2.signal });
      const seen = [];
      const gone = await eventWithin(resumed, 10_000, 'resumed remove', (e) => {
        seen.push(e.event);
        return e.event === 'remove';
      });
      ac2.abort();
      assert.equal(gone.data.id, created.id);
      assert.ok(!seen.includes('snapshot'), `no new snapshot on resume: ${seen.join(', ')}`);
      await resumed.return();
    });

    it('refuses the key stream without api_keys:read, as a CredVaultError', async (ctx) => {
      if (!ops.has('streamAPIKeys')) return ctx.skip('this server has no GET /api-keys/stream');
      const weak = await t.cv.apiKeys.create({ name: 'no-read', scopes: ['credentials:read'] });
      const cv = t.cv.withApiKey(weak.key);
      await assert.rejects(cv.apiKeys.stream().next(), (err) => err instanceof CredVaultError && err.status === 403 && err.code === 'FORBIDDEN');
    });

    it('exports the audit trail as a stream, oldest first', async (ctx) => {
      if (!ops.has('exportAuditLogs')) return ctx.skip('this server has no GET /admin/audit-logs/export');
      for (let i = 0; i < 3; i++) await t.cv.apiKeys.create({ name: `audited-${i}` });
      const exported = [];
      for await (const e of t.cv.audit.export({ action: 'api_key.create' })) exported.push(e);
      const listed = await t.cv.audit.list({ action: 'api_key.create' }).toArray();
      assert.ok(exported.length >= 4);
      assert.equal(exported.length, listed.length);
      assert.ok(exported.every((e) => e.action === 'api_key.create'));
      const times = exported.map((e) => Date.parse(e.occurred_at));
      assert.deepEqual(times, [...times].sort((a, b) => a - b), 'oldest first');

      // Breaking out early closes the stream.
      let n = 0;
      for await (const _ of t.cv.audit.export()) if (++n === 2) break;
      assert.equal(n, 2);
    });

    it('configures single sign-on', async (ctx) => {
      if (!ops.has('updateSSOConfig')) return ctx.skip('this server has no PUT /admin/sso');
      await assert.rejects(t.cv.sso.get(), { code: 'NOT_FOUND', status: 404 });
      const idp = await startDiscovery();
      try {
        const cfg = await t.cv.sso.update({
          issuer: idp.issuer,
          client_id: 'credvault-sdk-js',
          client_secret: 'idp-secret',
          allowed_domains: ['example.com'],
          default_role: 'viewer',
        });
        assert.equal(cfg.issuer, idp.issuer);
        assert.equal(cfg.default_role, 'viewer');
        assert.equal(cfg.client_secret, undefined, 'the secret is never returned');
        assert.match(cfg.redirect_uri, /\/api\/v1\/auth\/sso\/callback$/);
        assert.deepEqual((await t.cv.sso.get()).allowed_domains, ['example.com']);
      } finally {
        await idp.close();
      }
    });
  });
}

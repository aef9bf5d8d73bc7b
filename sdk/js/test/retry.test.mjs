// Retries: a live server with a tiny rate limit answers 429 with Retry-After; the client waits
// and retries, or throws RATE_LIMIT_EXCEEDED when told not to retry. Rate limits are counted in
// memory whatever the database, so this runs on SQLite only. A 503 with Retry-After, which a
// healthy server does not give on demand, comes from a local HTTP stand-in (a proxy's answer).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { CredVault, CredVaultError } from '../dist/index.js';
import { newTenant, startServer } from './support/server.mjs';

describe('retries on 429 (live server, 3 requests per second)', () => {
  let server;
  let apiKey;

  before(async () => {
    server = await startServer({ env: { CREDVAULT_RATE_LIMITS: 'free=3/s,pro=3/s,enterprise=3/s' } });
    const t = await newTenant(server, 'Rate limited');
    apiKey = t.apiKey.key;
    await new Promise((r) => setTimeout(r, 1100)); // a fresh window
  });

  after(async () => {
    await server?.stop();
  });

  it('waits Retry-After and succeeds', async () => {
    const statuses = [];
    const cv = new CredVault({
      baseUrl: server.url,
      apiKey,
      maxRetries: 5,
      // Observes the real answers; the requests still go to the server.
      fetch: async (url, init) => {
        const res = await fetch(url, init);
        statuses.push(res.status);
        return res;
      },
    });
    const started = Date.now();
    for (let i = 0; i < 8; i++) {
      const page = await cv.apiKeys.list();
      assert.ok(page.data.length >= 1);
    }
    assert.ok(statuses.includes(429), `the server limited some requests: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 200).length, 8);
    assert.ok(Date.now() - started >= 900, 'the client waited for the window');
  });

  it('throws RATE_LIMIT_EXCEEDED with retryAfter when it may not retry', async () => {
    const cv = new CredVault({ baseUrl: server.url, apiKey, maxRetries: 0 });
    let err;
    for (let i = 0; i < 10 && !err; i++) {
      try {
        await cv.auth.me();
      } catch (e) {
        err = e;
      }
    }
    assert.ok(err instanceof CredVaultError);
    assert.equal(err.status, 429);
    assert.equal(err.code, 'RATE_LIMIT_EXCEEDED');
    // The limit slides (the previous window's count fades through the current one), so a
    // caller limited just after a window turned waits into the next: up to two 1 s windows.
    assert.ok(err.retryAfter >= 1 && err.retryAfter <= 2, `retryAfter ${err.retryAfter}`);
    assert.equal(err.details.retry_after, err.retryAfter);
    assert.ok(err.requestId);
  });

  it('does not wait a Retry-After longer than maxRetryDelay', async () => {
    const cv = new CredVault({ baseUrl: server.url, apiKey, maxRetries: 5, maxRetryDelay: 10 });
    let err;
    for (let i = 0; i < 10 && !err; i++) {
      try {
        await cv.auth.me();
      } catch (e) {
        err = e;
      }
    }
    assert.equal(err?.code, 'RATE_LIMIT_EXCEEDED');
  });
});

describe('retries on 503 (a proxy stand-in)', () => {
  let srv;
  let url;
  let hits = 0;

  before(async () => {
    srv = createServer((req, res) => {
      hits++;
      if (hits <= 2) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': hits <= 0 ? '1' : '0' });
        res.end(JSON.stringify({ success: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'draining' }, meta: { request_id: `r${hits}` } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: true, message: 'ok', data: { status: 'ok' }, meta: { request_id: 'r3' } }));
    });
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${srv.address().port}`;
  });

  after(() => new Promise((r) => srv.close(r)));

  it('retries until the service answers', async () => {
    const cv = new CredVault({ baseUrl: url });
    assert.deepEqual(await cv.health(), { status: 'ok' });
    assert.equal(hits, 3);
  });

  it('gives up after maxRetries with SERVICE_UNAVAILABLE', async () => {
    hits = 0;
    const cv = new CredVault({ baseUrl: url, maxRetries: 1 });
    await assert.rejects(cv.health(), { code: 'SERVICE_UNAVAILABLE', status: 503, requestId: 'r2' });
  });

  it('stops waiting when aborted', async () => {
    hits = -100; // every answer a 503
    const ac = new AbortController();
    const cv = new CredVault({ baseUrl: url, maxRetries: 100 });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(cv.health({ signal: ac.signal }), { code: 'ABORTED', status: 0 });
  });
});

// The SDK against a live server, on SQLite and (when CREDVAULT_TEST_DATABASE_URL is set)
// PostgreSQL: API keys, the vault, errors, paging, and every other resource.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CredVault, CredVaultError, PagedList } from '../dist/index.js';
import { backends, newTenant, startServer } from './support/server.mjs';

for (const backend of backends()) {
  describe(`live server (${backend})`, () => {
    let server;
    let t; // { cv, owner, session, tenantId, apiKey }

    before(async () => {
      server = await startServer({ backend });
      t = await newTenant(server);
    });

    after(async () => {
      await server?.stop();
    });

    it('creates, lists, gets, rotates and revokes API keys', async () => {
      const { cv } = t;
      const created = await cv.apiKeys.create({ name: 'ci-deploy', scopes: ['credentials:read', 'api_keys:read'] });
      assert.match(created.key, /^cvk_/);
      assert.equal(created.name, 'ci-deploy');
      assert.deepEqual([...created.scopes].sort(), ['api_keys:read', 'credentials:read']);
      assert.equal(created.status, 'active');

      const got = await cv.apiKeys.get(created.id);
      assert.equal(got.id, created.id);
      assert.equal(got.key, undefined, 'the secret is shown only once');

      const page = await cv.apiKeys.list({ limit: 200 });
      assert.ok(page.data.some((k) => k.id === created.id));
      assert.ok(page.pagination.total >= 2);
      assert.equal(typeof page.requestId, 'string');

      // The new key works, as a client of its own.
      const keyClient = new CredVault({ baseUrl: server.url, apiKey: created.key });
      const me = await keyClient.auth.me();
      assert.equal(me.principal_type, 'api_key');
      assert.equal(me.api_key_id, created.id);

      const valid = await cv.apiKeys.validate(created.id, created.key);
      assert.equal(valid.valid, true);
      assert.equal(valid.key_id, created.id);

      const rotated = await cv.apiKeys.rotate(created.id);
      assert.equal(rotated.id, created.id, 'rotation keeps the key id');
      assert.match(rotated.key, /^cvk_/);
      assert.notEqual(rotated.key, created.key);
      const old = await cv.apiKeys.validate(created.id, created.key);
      assert.equal(old.valid, false, 'without a grace period the old secret stops at once');
      assert.equal((await cv.apiKeys.validate(created.id, rotated.key)).valid, true);

      const graced = await cv.apiKeys.rotate(created.id, { grace_period_seconds: 300 });
      assert.equal((await cv.apiKeys.validate(created.id, rotated.key)).valid, true, 'within the grace period');
      assert.equal((await cv.apiKeys.validate(created.id, graced.key)).valid, true);

      const revoked = await cv.apiKeys.revoke(created.id);
      assert.equal(revoked.status, 'revoked');
      assert.ok(revoked.revoked_at);
      const after = await cv.apiKeys.validate(created.id, graced.key);
      assert.equal(after.valid, false);
      assert.equal(after.reason, 'revoked');
      await assert.rejects(
        new CredVault({ baseUrl: server.url, apiKey: graced.key }).auth.me(),
        (err) => err instanceof CredVaultError && err.status === 401 && err.code === 'UNAUTHORIZED',
      );

      const revokedPage = await cv.apiKeys.list({ status: 'revoked' });
      assert.deepEqual(
        revokedPage.data.map((k) => k.id),
        [created.id],
      );
    });

    it('stores and reads credentials', async () => {
      const { cv } = t;
      const stored = await cv.credentials.store({
        integration_id: 'stripe',
        name: 'live',
        auth_type: 'api_key',
        data: { api_key: 'sk_live_abc123', header_name: 'Authorization' },
        metadata: { env: 'production' },
      });
      assert.equal(stored.integration_id, 'stripe');
      assert.equal(stored.data, undefined, 'store answers with metadata only');

      const stripe = await cv.credentials.get('stripe');
      assert.equal(stripe.integration_id, 'stripe');
      assert.equal(stripe.credentials.length, 1);
      assert.deepEqual(stripe.credentials[0].data, { api_key: 'sk_live_abc123', header_name: 'Authorization' });
      assert.deepEqual(stripe.credentials[0].metadata, { env: 'production' });

      const details = await cv.credentials.details('stripe');
      assert.equal(details.credentials[0].id, stored.id);
      assert.equal(details.credentials[0].data, undefined, 'details never carry data');

      const listed = await cv.credentials.list({ integration_id: 'stripe' });
      assert.deepEqual(
        listed.data.map((c) => c.id),
        [stored.id],
      );

      const updated = await cv.credentials.update('stripe', stored.id, {
        name: 'live-2',
        data: { api_key: 'sk_live_rotated' },
      });
      assert.equal(updated.name, 'live-2');
      assert.deepEqual((await cv.credentials.get('stripe')).credentials[0].data, { api_key: 'sk_live_rotated' });

      const deleted = await cv.credentials.delete('stripe', stored.id);
      assert.deepEqual(deleted, { id: stored.id, deleted: true });
      await assert.rejects(cv.credentials.get('stripe'), { name: 'CredVaultError', code: 'NOT_FOUND', status: 404 });
    });

    it('throws CredVaultError with NOT_FOUND, the request id and details', async () => {
      const { cv } = t;
      const missing = '00000000-0000-4000-8000-000000000000';
      let caught;
      try {
        await cv.apiKeys.get(missing, { requestId: 'sdk-js-not-found-1' });
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof CredVaultError, 'a CredVaultError');
      assert.ok(caught instanceof Error);
      assert.equal(caught.status, 404);
      assert.equal(caught.code, 'NOT_FOUND');
      assert.equal(typeof caught.message, 'string');
      assert.ok(caught.message.length > 0);
      assert.equal(caught.requestId, 'sdk-js-not-found-1', 'the X-Request-ID sent comes back');
      assert.deepEqual(caught.details, {});
      assert.equal(caught.toJSON().code, 'NOT_FOUND');

      // A validation error names the field in details.
      await assert.rejects(cv.apiKeys.create({ name: '' }), (err) => {
        assert.ok(err instanceof CredVaultError);
        assert.equal(err.status, 422);
        assert.equal(err.code, 'VALIDATION_ERROR');
        assert.equal(err.details.field, 'name');
        assert.match(err.requestId, /.+/);
        return true;
      });

      // No credentials at all.
      await assert.rejects(new CredVault({ baseUrl: server.url }).apiKeys.list(), {
        code: 'UNAUTHORIZED',
        status: 401,
      });
      // Nothing listening.
      await assert.rejects(
        new CredVault({ baseUrl: 'http://127.0.0.1:9', maxRetries: 0 }).health(),
        (err) => err instanceof CredVaultError && err.status === 0 && err.code === 'CONNECTION_ERROR',
      );
    });

    it('pages over 250 keys with for await (cursor), pages() and toArray()', async () => {
      // A tenant of its own so the count is exact.
      const { cv } = await newTenant(server, 'Paging');
      const ids = new Set();
      const batch = 25;
      for (let i = 0; i < 250; i += batch) {
        const made = await Promise.all(
          Array.from({ length: batch }, (_, j) => cv.apiKeys.create({ name: `page-${String(i + j).padStart(3, '0')}` })),
        );
        for (const k of made) ids.add(k.id);
      }
      assert.equal(ids.size, 250);
      const expected = ids.size + 1; // and the tenant's own sdk-js-tests key

      const list = cv.apiKeys.list({ limit: 40 });
      assert.ok(list instanceof PagedList);
      const seen = [];
      for await (const k of list) seen.push(k.id);
      assert.equal(seen.length, expected);
      assert.equal(new Set(seen).size, expected, 'no key twice');
      for (const id of ids) assert.ok(seen.includes(id), `key ${id} iterated`);

      const sizes = [];
      for await (const page of cv.apiKeys.list({ limit: 100 }).pages()) {
        sizes.push(page.data.length);
        assert.equal(page.pagination.total, expected);
      }
      assert.deepEqual(sizes, [100, 100, 51]);

      // Default page size, ascending by name, with a filter kept across pages.
      const names = (await cv.apiKeys.list({ sort: 'name', order: 'asc', status: 'active' }).toArray()).map((k) => k.name);
      assert.equal(names.length, expected);
      assert.deepEqual(names, [...names].sort());

      // page/per_page start, then cursors.
      const paged = await cv.apiKeys.list({ page: 1, per_page: 100 }).toArray();
      assert.equal(paged.length, expected);

      // await gives the first page; toArray(max) stops early.
      const first = await cv.apiKeys.list({ limit: 10 });
      assert.equal(first.data.length, 10);
      assert.equal(first.hasNext, true);
      assert.equal(typeof first.nextCursor, 'string');
      assert.equal((await cv.apiKeys.list({ limit: 7 }).toArray(15)).length, 15);
    });

    it('covers OAuth clients', async () => {
      const { cv } = t;
      const c = await cv.oauthClients.create({ name: 'backend', scopes: ['credentials:read'] });
      assert.ok(c.client_secret);
      assert.equal((await cv.oauthClients.get(c.client_id)).name, 'backend');
      assert.ok((await cv.oauthClients.list()).data.some((x) => x.client_id === c.client_id));
      const u = await cv.oauthClients.update(c.client_id, { name: 'backend-2', status: 'disabled' });
      assert.equal(u.name, 'backend-2');
      assert.equal(u.status, 'disabled');
      const r = await cv.oauthClients.rotateSecret(c.client_id, { grace_period_seconds: 60 });
      assert.ok(r.client_secret && r.client_secret !== c.client_secret);
      assert.deepEqual(await cv.oauthClients.delete(c.client_id), { client_id: c.client_id, deleted: true });
      await assert.rejects(cv.oauthClients.get(c.client_id), { code: 'NOT_FOUND' });
    });

    it('covers users, service accounts, audit, tenants, auth and admin', async () => {
      const { cv, owner, session, tenantId } = t;
      const user = await cv.users.create({ email: `m-${Date.now()}@example.com`, role: 'member', password: 'another long password' });
      assert.equal(user.role, 'member');
      assert.ok((await cv.users.list({ role: 'member' })).data.some((x) => x.id === user.id));
      assert.equal((await cv.users.update(user.id, { role: 'viewer' })).role, 'viewer');
      assert.deepEqual(await cv.users.delete(user.id), { id: user.id, deleted: true });

      const sa = await cv.serviceAccounts.create({ name: 'deployer', scopes: ['credentials:read'], create_api_key: true });
      assert.equal(sa.service_account.name, 'deployer');
      assert.match(sa.api_key.key, /^cvk_/);
      assert.equal((await cv.apiKeys.list({ service_account_id: sa.service_account.id })).data.length, 1);

      const audit = await cv.audit.list({ action: 'api_key.create', since: new Date(Date.now() - 3600_000) });
      assert.ok(audit.data.length >= 1);
      assert.ok(audit.data.every((e) => e.action === 'api_key.create'));

      const tenant = await cv.tenants.get(tenantId);
      assert.equal(tenant.id, tenantId);
      const renamed = await cv.tenants.update(tenantId, { name: `${tenant.name} (renamed)` });
      assert.equal(renamed.name, `${tenant.name} (renamed)`);
      const stats = await cv.tenants.stats(tenantId);
      assert.equal(typeof stats.counts, 'object');
      await assert.rejects(cv.tenants.list(), { code: 'FORBIDDEN', status: 403 }, 'listing tenants needs platform:admin');

      const me = await owner.auth.me();
      assert.equal(me.principal_type, 'user');
      assert.equal(me.tenant.id, tenantId);
      const anon = new CredVault({ baseUrl: server.url });
      const login = await anon.auth.login({ email: session.user.email, password: 'correct horse battery staple', tenant: session.tenant.slug });
      assert.ok(login.access_token);
      const refreshed = await anon.auth.refresh(login.refresh_token);
      assert.ok(refreshed.access_token);
      const viaFn = anon.withToken(async () => refreshed.access_token);
      assert.equal((await viaFn.auth.me()).id, session.user.id);

      assert.equal((await anon.health()).status, 'ok');
      assert.equal((await cv.admin.health()).database, 'ok');
      assert.equal(typeof (await cv.admin.dashboardStats()).requests_last_24h, 'number');
      assert.equal(typeof (await cv.admin.usageSummary()).total_requests, 'number');
      assert.equal(typeof (await cv.admin.features()).signup, 'boolean');
      const rot = await cv.admin.rotateDEK();
      assert.ok(rot.job_id);
      assert.ok(Number.isInteger(rot.dek_version), String(rot.dek_version));
      const job = await cv.admin.triggerJob({ job_name: 'expire_api_keys' });
      assert.ok(job.job_id);
      assert.equal((await cv.admin.jobStats('expire_api_keys')).job_name, 'expire_api_keys');
    });

    it('deletes its tenant last: every credential stops at once', async () => {
      const other = await newTenant(server, 'Doomed');
      const deleted = await other.cv.tenants.delete(other.tenantId);
      assert.equal(deleted.deleted, true);
      await assert.rejects(other.cv.apiKeys.list(), (err) => err instanceof CredVaultError && err.status === 401);
    });
  });
}

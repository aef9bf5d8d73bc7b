// The SDK covers the server's REST operations: every operationId of the live
// /api/v1/openapi.json is mapped to an SDK method (OPERATIONS) or deliberately left out with a
// reason (OMITTED_OPERATIONS), with the same method and path; versions agree.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CredVault, OMITTED_OPERATIONS, OPERATIONS, VERSION } from '../dist/index.js';
import { SDK_DIR, startServer } from './support/server.mjs';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

describe('OpenAPI coverage', () => {
  let server;
  let doc;

  before(async () => {
    server = await startServer();
    const res = await fetch(`${server.url}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    doc = await res.json();
  });

  after(async () => {
    await server?.stop();
  });

  it('has an SDK method, or a stated reason, for every operation of the live document', () => {
    const missing = [];
    const drifted = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const id = op.operationId;
        assert.ok(id, `${method.toUpperCase()} ${path} has an operationId`);
        if (Object.hasOwn(OMITTED_OPERATIONS, id)) continue;
        const mapped = OPERATIONS[id];
        if (!mapped) {
          missing.push(`${id} (${method.toUpperCase()} ${path})`);
          continue;
        }
        if (mapped.method !== method.toUpperCase() || mapped.path !== path) {
          drifted.push(`${id}: the SDK calls ${mapped.method} ${mapped.path}, the server serves ${method.toUpperCase()} ${path}`);
        }
      }
    }
    assert.deepEqual(missing, [], `operations without an SDK method (add one to src/operations.ts and a resource, or list it in OMITTED_OPERATIONS with the reason):\n${missing.join('\n')}`);
    assert.deepEqual(drifted, []);
  });

  it('omits each left-out operation with a reason; notes entries this server does not serve', (t) => {
    const live = new Set();
    for (const item of Object.values(doc.paths)) for (const m of METHODS) if (item[m]) live.add(item[m].operationId);
    // The SDK may be ahead of the server it talks to (an older release): not a failure, a note.
    const ahead = [...Object.keys(OPERATIONS), ...Object.keys(OMITTED_OPERATIONS)].filter((id) => !live.has(id));
    if (ahead.length > 0) t.diagnostic(`operations this server does not serve: ${ahead.join(', ')}`);
    for (const [id, why] of Object.entries(OMITTED_OPERATIONS)) {
      assert.ok(!Object.hasOwn(OPERATIONS, id), `${id} is both mapped and omitted`);
      assert.ok(why.length > 10, `${id} says why it is left out`);
    }
  });

  it('points every mapped operation at a method of a client', () => {
    const cv = new CredVault({ baseUrl: server.url });
    const sdkMethods = new Set();
    for (const [id, op] of Object.entries(OPERATIONS)) {
      const parts = op.sdk.split('.');
      let target = cv;
      for (const p of parts.slice(0, -1)) target = target?.[p];
      assert.equal(typeof target?.[parts.at(-1)], 'function', `${id}: cv.${op.sdk} is a method`);
      assert.ok(!sdkMethods.has(op.sdk), `${op.sdk} is mapped once`);
      sdkMethods.add(op.sdk);
    }
  });
});

describe('version', () => {
  it('is the package version and has a CHANGELOG entry', () => {
    const pkg = JSON.parse(readFileSync(join(SDK_DIR, 'package.json'), 'utf8'));
    assert.equal(VERSION, pkg.version);
    const changelog = readFileSync(join(SDK_DIR, 'CHANGELOG.md'), 'utf8');
    assert.match(changelog, new RegExp(`^## \\[?${VERSION.replaceAll('.', '\\.')}\\]?`, 'm'));
  });
});

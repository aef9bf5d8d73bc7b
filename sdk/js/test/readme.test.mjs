// The README's examples run: its "First call", "Errors" and "Paging" blocks, joined into one
// module, against a live server (SQLite).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { newTenant, SDK_DIR, startServer } from './support/server.mjs';

const run = promisify(execFile);

/** The first ```js block after the heading `## name`. */
function block(readme, name) {
  const at = readme.indexOf(`\n## ${name}\n`);
  assert.ok(at >= 0, `README has a "${name}" section`);
  const m = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(m, `"${name}" has a js block`);
  return m[1];
}

describe('README examples', () => {
  let server;
  let t;
  const dir = join(SDK_DIR, '.cache', `readme-${process.pid}`);

  before(async () => {
    server = await startServer();
    t = await newTenant(server, 'README');
    mkdirSync(dir, { recursive: true });
  });

  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  });

  it('runs First call, Errors and Paging as written', async () => {
    const readme = readFileSync(join(SDK_DIR, 'README.md'), 'utf8');
    const code = ['First call', 'Errors', 'Paging']
      .map((name) => block(readme, name))
      .join('\n')
      .replace(/^import .*$/gm, '')
      .replaceAll('http://localhost:8080', server.url);
    // The package refers to itself by name from inside its folder (package.json "exports").
    const file = join(dir, 'example.mjs');
    writeFileSync(file, `import { CredVault, CredVaultError } from '@credvault/sdk';\n${code}`);
    const { stdout } = await run(process.execPath, [file], {
      env: { ...process.env, CREDVAULT_API_KEY: t.apiKey.key },
      timeout: 60_000,
    });
    assert.match(stdout, /^cvk_/m, 'the new key is printed');
    assert.match(stdout, /404 resource not found \{\} \S+/, 'the NOT_FOUND error is printed');
  });
});

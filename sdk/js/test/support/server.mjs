// Starts a real CredVault server for the SDK's tests: the binary named by CREDVAULT_BIN (else
// the one test/support/prepare.mjs built), a fresh database (SQLite in a temporary folder, or a
// new PostgreSQL database next to CREDVAULT_TEST_DATABASE_URL), a port the server picks itself.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { CredVault } from '../../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const SDK_DIR = resolve(here, '..', '..');
export const REPO_ROOT = resolve(SDK_DIR, '..', '..');
export const BUILT_BIN = join(SDK_DIR, '.cache', 'credvault');

/** The server binary: CREDVAULT_BIN, else the one prepare.mjs built. */
export function serverBinary() {
  const bin = process.env.CREDVAULT_BIN || BUILT_BIN;
  if (!existsSync(bin)) {
    throw new Error(`no CredVault binary at ${bin}: set CREDVAULT_BIN or run "npm test" (its pretest builds one)`);
  }
  return bin;
}

/** The databases to run against: SQLite always, PostgreSQL when CREDVAULT_TEST_DATABASE_URL is set. */
export function backends() {
  return process.env.CREDVAULT_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

function psql(url, sql) {
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Creates a PostgreSQL database for one server; returns its URL and a function dropping it. */
function createPostgresDatabase() {
  const admin = process.env.CREDVAULT_TEST_DATABASE_URL;
  const name = `cv_sdk_js_${randomBytes(6).toString('hex')}`;
  psql(admin, `CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => psql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * Starts a server. `env` adds or overrides CREDVAULT_* settings (rate limits are off unless
 * given). Returns `{ url, backend, stop(), logs() }`; `url` is the server's root.
 */
export async function startServer({ backend = 'sqlite', env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'credvault-sdk-js-'));
  let db = null;
  let databaseUrl;
  if (backend === 'postgres') {
    db = createPostgresDatabase();
    databaseUrl = db.url;
  } else {
    databaseUrl = `sqlite://${join(dir, 'cv.db')}`;
  }
  const childEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    TMPDIR: process.env.TMPDIR ?? tmpdir(),
    CREDVAULT_ENV: 'development',
    CREDVAULT_ADDR: '127.0.0.1:0',
    CREDVAULT_DATABASE_URL: databaseUrl,
    CREDVAULT_MASTER_KEY_FILE: join(dir, 'master.key'),
    CREDVAULT_ALLOW_SIGNUP: 'true',
    CREDVAULT_RATE_LIMITS: 'off',
    CREDVAULT_WEBHOOK_ALLOW_PRIVATE: 'true',
    CREDVAULT_LOG_FORMAT: 'text',
    ...env,
  };
  const child = spawn(serverBinary(), ['serve'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const onData = (chunk) => {
    log += chunk.toString();
    if (log.length > 1_000_000) log = log.slice(-500_000);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);

  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const addr = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`the server did not start within 90 s:\n${log}`)), 90_000);
    const check = () => {
      const m = /msg=listening addr=(\S+)/.exec(log) ?? /"msg":"listening","addr":"([^"]+)"/.exec(log);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        child.stderr.off('data', check);
        res(m[1]);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`the server exited (${code ?? signal}) before listening:\n${log}`));
    });
  });

  let stopped = false;
  return {
    backend,
    url: `http://${addr}`,
    logs: () => log,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
      try {
        db?.drop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

let tenantSeq = 0;

/**
 * Registers a new tenant on a server and creates an API key with every scope of its owner.
 * Returns `{ cv (the API key's client), session, tenantId, apiKey, owner (the session's client) }`.
 */
export async function newTenant(server, name = 'SDK JS') {
  const anon = new CredVault({ baseUrl: server.url });
  const suffix = `${process.pid}-${++tenantSeq}-${randomBytes(3).toString('hex')}`;
  const session = await anon.auth.register({
    tenant_name: `${name} ${suffix}`,
    email: `owner-${suffix}@example.com`,
    password: 'correct horse battery staple',
  });
  const owner = anon.withToken(session.access_token);
  const key = await owner.apiKeys.create({ name: 'sdk-js-tests' });
  return {
    cv: new CredVault({ baseUrl: server.url, apiKey: key.key }),
    owner,
    session,
    tenantId: session.tenant.id,
    apiKey: key,
  };
}

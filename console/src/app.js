// CredVault's admin console. It talks to the server only through /graphql,
// with the operations of ./graphql/*.graphql (checked against the schema by
// console/operations_test.go). No inline script, nothing from another origin.
import { Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip } from 'chart.js';

import sessionOps from './graphql/session.graphql';
import overviewOps from './graphql/overview.graphql';
import apiKeyOps from './graphql/apikeys.graphql';
import oauthClientOps from './graphql/oauthclients.graphql';
import credentialOps from './graphql/credentials.graphql';
import userOps from './graphql/users.graphql';
import serviceAccountOps from './graphql/serviceaccounts.graphql';
import webhookOps from './graphql/webhooks.graphql';
import auditOps from './graphql/auditlog.graphql';
import tenantOps from './graphql/tenants.graphql';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

// ---------------------------------------------------------------- GraphQL

// OPERATIONS maps each operation name to the document that defines it; a
// request sends that document with the operation's name.
const OPERATIONS = {};
for (const doc of [sessionOps, overviewOps, apiKeyOps, oauthClientOps, credentialOps, userOps,
  serviceAccountOps, webhookOps, auditOps, tenantOps]) {
  for (const m of doc.matchAll(/^(?:query|mutation)\s+(\w+)/gm)) OPERATIONS[m[1]] = doc;
}

class APIError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

async function post(name, variables, auth) {
  const headers = { 'Content-Type': 'application/json' };
  if (auth && session) headers.Authorization = `Bearer ${session.accessToken}`;
  let res;
  try {
    res = await fetch('/graphql', {
      method: 'POST', headers, credentials: 'omit', cache: 'no-store',
      body: JSON.stringify({ query: OPERATIONS[name], operationName: name, variables }),
    });
  } catch (e) {
    throw new APIError('The server cannot be reached.', 'NETWORK');
  }
  let body;
  try {
    body = await res.json();
  } catch (e) {
    throw new APIError(`The server answered ${res.status}.`, `HTTP_${res.status}`);
  }
  return body;
}

// gql runs an operation by name. A session whose access token has expired is
// refreshed once and the operation sent again; errors carry the server's message.
async function gql(name, variables = {}, { auth = true } = {}) {
  let body = await post(name, variables, auth);
  if (auth && session && errorCode(body) === 'UNAUTHORIZED') {
    if (await refreshSession()) {
      body = await post(name, variables, auth);
    } else {
      endSession('Your session has ended: sign in again.');
      throw new APIError('Your session has ended: sign in again.', 'UNAUTHORIZED');
    }
  }
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    throw new APIError(e.message, e.extensions && e.extensions.code);
  }
  return body.data;
}

function errorCode(body) {
  const e = body && body.errors && body.errors[0];
  return e && e.extensions ? e.extensions.code : undefined;
}

// ---------------------------------------------------------------- session

const SESSION_KEY = 'credvault.console.session';
let session = readSession();
let refreshTimer = 0;
let refreshing = null;
let me = null;

function readSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    return s && s.accessToken && s.refreshToken ? s : null;
  } catch (e) {
    return null;
  }
}

function saveSession(p) {
  session = { accessToken: p.accessToken, refreshToken: p.refreshToken, expiresAt: Date.now() + Number(p.expiresIn || 900) * 1000 };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  scheduleRefresh();
}

// The session refreshes itself a minute before its access token expires.
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!session) return;
  const wait = Math.max(5000, session.expiresAt - Date.now() - 60000);
  refreshTimer = setTimeout(async () => {
    if (!(await refreshSession())) endSession('Your session has ended: sign in again.');
  }, wait);
}

function refreshSession() {
  if (!session) return Promise.resolve(false);
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const data = await gql('RefreshSession', { input: { refreshToken: session.refreshToken } }, { auth: false });
        saveSession(data.refreshSession);
        return true;
      } catch (e) {
        return false;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

function endSession(message) {
  clearTimeout(refreshTimer);
  session = null;
  me = null;
  sessionStorage.removeItem(SESSION_KEY);
  destroyCharts();
  renderSignIn(message ? { notice: message } : {});
}

// A single sign-on returns to the console with the session in the URL's
// fragment, which browsers never send to a server.
function takeSSOFragment() {
  const hash = location.hash.slice(1);
  if (!hash.includes('access_token=') && !hash.includes('error=')) return null;
  const p = new URLSearchParams(hash);
  history.replaceState(null, '', `${location.pathname}#/overview`);
  if (p.get('access_token') && p.get('refresh_token')) {
    saveSession({ accessToken: p.get('access_token'), refreshToken: p.get('refresh_token'), expiresIn: p.get('expires_in') });
    return null;
  }
  return p.get('error_description') || p.get('error') || 'Single sign-on failed.';
}

const can = (scope) => !!me && me.scopes.includes(scope);

// ---------------------------------------------------------------- DOM helpers

const PROPS = new Set(['value', 'checked', 'disabled', 'required', 'selected', 'multiple', 'hidden']);
let idSeq = 0;
const uid = (p) => `${p}-${++idSeq}`;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function field(label, input, hint) {
  input.id = input.id || uid('f');
  const hintEl = hint ? h('span', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl);
}

function select(options, value) {
  return h('select', {}, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
}

function errorBox(e) {
  return h('div', { class: 'error', role: 'alert' }, e instanceof Error ? e.message : String(e));
}

function badge(text) {
  return h('span', { class: `badge ${String(text).toLowerCase()}` }, text);
}

function when(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  return h('time', { datetime: d.toISOString() }, `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`);
}

function scopeList(scopes) {
  return h('div', { class: 'scope-list' }, (scopes || []).join(' '));
}

// A form that shows the server's message on failure and disables its submit
// button while the request runs.
function form(className, fields, submitLabel, onSubmit, extraButtons = []) {
  const errors = h('div');
  const submit = h('button', { type: 'submit' }, submitLabel);
  const f = h('form', { class: className, novalidate: false }, errors, fields, h('div', { class: 'actions' }, submit, extraButtons));
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    submit.disabled = true;
    try {
      await onSubmit();
    } catch (e) {
      errors.replaceChildren(errorBox(e));
    } finally {
      submit.disabled = false;
    }
  });
  return f;
}

// The principal's scopes as checkboxes: what a new key, client or account may carry.
function scopesField(legend, hint) {
  const boxes = me.scopes.map((s) => h('input', { type: 'checkbox', value: s, id: uid('scope') }));
  const el = h('fieldset', { class: 'scopes' }, h('legend', {}, legend),
    hint ? h('span', { class: 'hint' }, hint) : null,
    boxes.map((b) => h('label', { class: 'check', for: b.id }, b, b.value)));
  return { el, value: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

// The secret of a new or rotated key, client or webhook: shown once, with a copy button.
function secretPanel(title, secret, lines = []) {
  const id = uid('secret');
  const code = h('code', { 'data-testid': 'new-secret' }, secret);
  const status = h('span', { class: 'hint', role: 'status' });
  const panel = h('section', { class: 'secret', 'aria-labelledby': id },
    h('h2', { id }, title),
    lines.map((l) => h('p', {}, l)),
    h('p', {}, 'Copy it now: it is shown only once and cannot be read again.'),
    code,
    h('div', { class: 'actions' },
      h('button', {
        type: 'button',
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(secret);
            status.textContent = 'Copied to the clipboard.';
          } catch (e) {
            const range = document.createRange();
            range.selectNodeContents(code);
            const sel = getSelection();
            sel.removeAllRanges();
            sel.addRange(range);
            status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
          }
        },
      }, 'Copy to clipboard'),
      h('button', { type: 'button', class: 'secondary', onclick: () => panel.remove() }, 'Done'),
      status));
  // Once in the page, the copy button takes the focus (keyboard and screen reader users land on it).
  requestAnimationFrame(() => { const b = panel.querySelector('button'); if (b && panel.isConnected) b.focus(); });
  return panel;
}

// confirmAction asks before a destructive action, in a modal dialog whose
// Cancel button has the focus; it resolves true on Confirm.
function confirmAction(title, text) {
  return new Promise((resolve) => {
    const id = uid('dlg');
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const ok = h('button', { type: 'button', class: 'danger solid' }, 'Confirm');
    const dlg = h('dialog', { 'aria-labelledby': id }, h('h2', { id }, title), h('p', {}, text), h('div', { class: 'actions' }, cancel, ok));
    cancel.addEventListener('click', () => dlg.close('cancel'));
    ok.addEventListener('click', () => dlg.close('confirm'));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'confirm');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// A button that runs an action, showing its error in place.
function actionButton(label, ariaLabel, cls, run, errors) {
  const b = h('button', { type: 'button', class: cls, 'aria-label': ariaLabel }, label);
  b.addEventListener('click', async () => {
    errors.replaceChildren();
    b.disabled = true;
    try {
      await run();
    } catch (e) {
      errors.replaceChildren(errorBox(e));
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

// connectionTable lists a Relay connection with Previous/Next page buttons.
function connectionTable({ op, field: name, variables = () => ({}), columns, pageSize = 20, emptyText = 'Nothing here yet.', rowId = (n) => n.id, caption }) {
  const el = h('div');
  const pager = { after: null, stack: [] };
  let loads = 0;
  async function load() {
    // Only the latest request's answer is shown: an earlier one that
    // arrives late (a filter changed meanwhile) is dropped.
    const seq = ++loads;
    let data;
    try {
      data = await gql(op, { ...variables(), first: pageSize, after: pager.after });
    } catch (e) {
      if (seq === loads) el.replaceChildren(errorBox(e));
      return;
    }
    if (seq !== loads) return;
    const conn = data[name];
    const rows = (conn.edges || []).map((e) => e && e.node).filter(Boolean);
    const table = h('table', {},
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.title)))),
      h('tbody', {}, rows.length
        ? rows.map((n) => h('tr', { 'data-id': rowId(n) }, columns.map((c) => h('td', {}, c.cell(n)))))
        : h('tr', {}, h('td', { class: 'empty', colspan: columns.length }, emptyText))));
    const prev = h('button', { type: 'button', class: 'secondary', disabled: pager.stack.length === 0 }, 'Previous page');
    const next = h('button', { type: 'button', class: 'secondary', disabled: !conn.pageInfo.hasNextPage }, 'Next page');
    prev.addEventListener('click', () => { pager.after = pager.stack.pop() || null; load(); });
    next.addEventListener('click', () => { pager.stack.push(pager.after); pager.after = conn.pageInfo.endCursor; load(); });
    el.replaceChildren(h('div', { class: 'table-wrap' }, table),
      h('div', { class: 'pager' }, prev, next, h('span', {}, `Page ${pager.stack.length + 1} · ${conn.totalCount} in all`)));
  }
  return {
    el,
    reload: () => load(),
    reset: () => { pager.after = null; pager.stack = []; return load(); },
  };
}

// A page's "Create …" button that opens its form; the form closes on success.
function creator(label, buildForm) {
  const holder = h('div');
  const open = h('button', { type: 'button', 'aria-expanded': 'false' }, label);
  open.addEventListener('click', () => {
    if (holder.firstChild) {
      holder.replaceChildren();
      open.setAttribute('aria-expanded', 'false');
      return;
    }
    const close = () => { holder.replaceChildren(); open.setAttribute('aria-expanded', 'false'); open.focus(); };
    const panel = h('section', { class: 'panel', 'aria-label': label }, buildForm(close));
    holder.replaceChildren(panel);
    open.setAttribute('aria-expanded', 'true');
    const first = panel.querySelector('input, select, textarea');
    if (first) first.focus();
  });
  return { button: open, holder };
}

// ---------------------------------------------------------------- sign-in

function renderSignIn({ error, notice } = {}) {
  document.title = 'Sign in · CredVault console';
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const tenant = h('input', { type: 'text', name: 'tenant', autocomplete: 'organization', value: localStorage.getItem('credvault.console.tenant') || '' });
  const ssoError = h('div');
  const sso = h('a', { class: 'sso', href: '#' }, 'Sign in with SSO');
  const ssoHref = () => `/api/v1/auth/sso/${encodeURIComponent(tenant.value.trim())}/start?redirect_uri=${encodeURIComponent(`${location.origin}/console/`)}`;
  const syncSSO = () => { sso.href = tenant.value.trim() ? ssoHref() : '#'; };
  tenant.addEventListener('input', syncSSO);
  syncSSO();
  sso.addEventListener('click', (ev) => {
    ssoError.replaceChildren();
    if (!tenant.value.trim()) {
      ev.preventDefault();
      ssoError.replaceChildren(errorBox('Enter your tenant to sign in with SSO.'));
      tenant.focus();
    }
  });
  const f = form('', [
    field('Email', email),
    field('Password', password),
    field('Tenant', tenant, "Your organisation's slug. A platform admin may leave it empty."),
  ], 'Sign in', async () => {
    const data = await gql('Login', { input: { email: email.value.trim(), password: password.value, tenant: tenant.value.trim() || null } }, { auth: false });
    localStorage.setItem('credvault.console.tenant', tenant.value.trim());
    saveSession(data.login);
    await startApp();
  });
  const app = document.getElementById('app');
  app.replaceChildren(h('main', { id: 'main', class: 'signin' },
    h('h1', {}, 'Sign in to CredVault'),
    notice ? h('div', { class: 'notice', role: 'status' }, notice) : null,
    error ? errorBox(error) : null,
    f, ssoError, sso));
  email.focus();
}

// ---------------------------------------------------------------- shell and routing

const PAGES = [
  { path: 'overview', name: 'Overview', render: overviewPage },
  { path: 'api-keys', name: 'API keys', need: 'api_keys:read', render: apiKeysPage },
  { path: 'oauth-clients', name: 'OAuth clients', need: 'oauth_clients:read', render: oauthClientsPage },
  { path: 'credentials', name: 'Credentials', need: 'credentials:read', render: credentialsPage },
  { path: 'users', name: 'Users', need: 'users:read', render: usersPage },
  { path: 'service-accounts', name: 'Service accounts', need: 'service_accounts:read', render: serviceAccountsPage },
  { path: 'webhooks', name: 'Webhooks', need: 'webhooks:read', render: webhooksPage },
  { path: 'audit-log', name: 'Audit log', need: 'audit:read', render: auditLogPage },
  { path: 'tenants', name: 'Tenants', need: 'platform:admin', render: tenantsPage },
];

let main = null;
let nav = null;
let renderSeq = 0;
let firstRoute = true;

async function startApp() {
  try {
    me = (await gql('Me')).me;
  } catch (e) {
    if (session) endSession();
    renderSignIn({ error: e.message });
    return;
  }
  const who = me.user ? me.user.email : `${me.principalType} ${me.id}`;
  nav = h('nav', { class: 'sidebar', 'aria-label': 'Console' }, h('ul', {},
    PAGES.filter((p) => !p.need || can(p.need)).map((p) => h('li', {}, h('a', { href: `#/${p.path}`, 'data-page': p.path }, p.name)))));
  main = h('main', { id: 'main', tabindex: '-1' });
  document.getElementById('app').replaceChildren(h('div', { class: 'shell' },
    h('header', { class: 'topbar' },
      h('span', { class: 'brand' }, 'CredVault'),
      h('span', { class: 'who' }, `${who} · ${me.tenant.name} (${me.tenant.slug})`),
      h('button', { type: 'button', onclick: () => endSession('You have signed out.') }, 'Sign out')),
    nav, main));
  firstRoute = true;
  route();
}

function route() {
  if (!me || !main) return;
  const path = location.hash.replace(/^#\/?/, '');
  let page = PAGES.find((p) => p.path === path && (!p.need || can(p.need)));
  if (!page) {
    page = PAGES[0];
    if (path !== page.path) history.replaceState(null, '', `#/${page.path}`);
  }
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.page === page.path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${page.name} · CredVault console`;
  destroyCharts();
  const seq = ++renderSeq;
  const heading = h('h1', { tabindex: '-1' }, page.name);
  const body = h('div');
  main.replaceChildren(heading, body);
  if (!firstRoute) heading.focus();
  firstRoute = false;
  Promise.resolve(page.render(body, () => seq === renderSeq)).catch((e) => body.replaceChildren(errorBox(e)));
}

window.addEventListener('hashchange', route);

// ---------------------------------------------------------------- Overview

let charts = [];
function destroyCharts() {
  for (const c of charts) c.destroy();
  charts = [];
}

async function overviewPage(body, current) {
  const statsEl = h('div');
  const chartEl = h('section', { class: 'panel', 'aria-labelledby': 'requests-title' }, h('h2', { id: 'requests-title' }, 'Requests per day (last 30 days)'));
  const auditEl = h('section', { 'aria-labelledby': 'recent-title' }, h('h2', { id: 'recent-title' }, 'Recent audit entries'));
  body.append(statsEl);
  if (can('tenant:read')) body.append(chartEl);
  if (can('audit:read')) body.append(auditEl);
  if (!can('tenant:read') && !can('audit:read')) {
    body.append(h('p', {}, 'Your scopes show nothing on this page.'));
    return;
  }
  const jobs = [];
  if (can('tenant:read')) {
    jobs.push(gql('OverviewStats').then((d) => {
      const s = d.dashboardStats;
      const card = (label, value, sub) => h('div', { class: 'stat' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), sub ? h('div', { class: 'sub' }, sub) : null);
      statsEl.replaceChildren(h('div', { class: 'stats' },
        card('Requests (24 h)', s.requestsLast24h),
        card('Audit events (24 h)', s.auditEventsLast24h),
        s.counts.map((c) => card(c.kind.replace(/_/g, ' '), c.total, c.byStatus.map((b) => `${b.count} ${b.status}`).join(' · ')))));
    }).catch((e) => statsEl.replaceChildren(errorBox(e))));
    jobs.push(gql('OverviewUsage', { days: 30 }).then((d) => {
      if (!current()) return;
      const totals = {};
      for (const r of d.usageSummary) totals[r.day] = (totals[r.day] || 0) + r.requests;
      const labels = [];
      const values = [];
      const today = new Date();
      for (let i = 29; i >= 0; i--) {
        const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i)).toISOString().slice(0, 10);
        labels.push(day.slice(5));
        values.push(totals[day] || 0);
      }
      const total = values.reduce((a, b) => a + b, 0);
      const canvas = h('canvas', { role: 'img', 'aria-label': `Requests per day over the last 30 days: ${total} in all, ${values[29]} today.` });
      chartEl.append(h('div', { class: 'chart' }, canvas));
      charts.push(new Chart(canvas, {
        type: 'bar',
        data: { labels, datasets: [{ label: 'Requests', data: values, backgroundColor: '#1f5fbf' }] },
        options: {
          animation: false,
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      }));
    }).catch((e) => chartEl.append(errorBox(e))));
  }
  if (can('audit:read')) {
    jobs.push(gql('RecentAudit').then((d) => {
      auditEl.append(auditTable(d.auditLogs.edges.map((e) => e.node), 'No audit entries yet.'));
    }).catch((e) => auditEl.append(errorBox(e))));
  }
  await Promise.all(jobs);
}

function auditTable(rows, emptyText) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, ['Time', 'Action', 'Outcome', 'Actor', 'Resource'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length ? rows.map(auditRow) : h('tr', {}, h('td', { class: 'empty', colspan: 5 }, emptyText)))));
}

function auditRow(n) {
  return h('tr', { 'data-id': n.id, 'data-action': n.action },
    h('td', {}, when(n.occurredAt)),
    h('td', {}, h('code', {}, n.action)),
    h('td', {}, badge(n.outcome)),
    h('td', {}, n.actorType, h('br'), h('span', { class: 'mono scope-list' }, n.actorID)),
    h('td', {}, n.resourceType, h('br'), h('span', { class: 'mono scope-list' }, n.resourceID)));
}

// ---------------------------------------------------------------- API keys

function apiKeysPage(body) {
  const writable = can('api_keys:write');
  const errors = h('div');
  const secrets = h('div');
  const status = select([['', 'Any'], ['active', 'Active'], ['expired', 'Expired'], ['revoked', 'Revoked']], '');
  const list = connectionTable({
    op: 'APIKeys', field: 'apiKeys', caption: 'API keys',
    variables: () => ({ where: status.value ? { status: status.value } : null }),
    emptyText: 'No API keys match.',
    columns: [
      { title: 'Name', cell: (k) => k.name },
      { title: 'Key', cell: (k) => h('code', {}, `cvk_${k.prefix}…`) },
      { title: 'Status', cell: (k) => badge(k.status) },
      { title: 'Scopes', cell: (k) => scopeList(k.scopes) },
      { title: 'Created', cell: (k) => when(k.createdAt) },
      { title: 'Last used', cell: (k) => when(k.lastUsedAt) },
      { title: 'Expires', cell: (k) => when(k.expiresAt) },
      { title: 'Actions', cell: (k) => (writable && k.status === 'active' ? h('div', { class: 'actions' },
        actionButton('Rotate', `Rotate API key ${k.name}`, 'secondary', async () => {
          if (!(await confirmAction(`Rotate ${k.name}?`, 'A new secret is issued and the current one stops working at once.'))) return;
          const d = await gql('RotateAPIKey', { id: k.id });
          secrets.replaceChildren(secretPanel(`New secret for ${d.rotateAPIKey.apiKey.name}`, d.rotateAPIKey.key));
          await list.reload();
        }, errors),
        actionButton('Revoke', `Revoke API key ${k.name}`, 'danger', async () => {
          if (!(await confirmAction(`Revoke ${k.name}?`, 'The key stops working at once, everywhere. This cannot be undone.'))) return;
          await gql('RevokeAPIKey', { id: k.id });
          await list.reload();
        }, errors)) : null) },
    ],
  });
  status.addEventListener('change', () => list.reset());
  const toolbar = h('div', { class: 'toolbar' }, h('form', { class: 'inline', role: 'search' }, field('Status', status)));
  let create = null;
  if (writable) {
    create = creator('Create API key', (close) => {
      const name = h('input', { type: 'text', required: true, maxlength: '200' });
      const expires = h('input', { type: 'datetime-local' });
      const scopes = scopesField('Scopes', 'None ticked: the key gets all of your scopes.');
      return form('', [field('Name', name), field('Expires at (optional)', expires, 'Your local time; empty never expires.'), scopes.el], 'Create', async () => {
        const input = { name: name.value.trim() };
        if (scopes.value().length) input.scopes = scopes.value();
        if (expires.value) input.expiresAt = new Date(expires.value).toISOString();
        const d = await gql('CreateAPIKey', { input });
        close();
        secrets.replaceChildren(secretPanel(`API key ${d.createAPIKey.apiKey.name} created`, d.createAPIKey.key));
        await list.reset();
      }, [h('button', { type: 'button', class: 'secondary', onclick: () => close() }, 'Cancel')]);
    });
    toolbar.append(create.button);
  }
  body.append(toolbar, create ? create.holder : null, secrets, errors, list.el);
  return list.reset();
}

// ---------------------------------------------------------------- OAuth clients

function oauthClientsPage(body) {
  const writable = can('oauth_clients:write');
  const errors = h('div');
  const secrets = h('div');
  const status = select([['', 'Any'], ['active', 'Active'], ['disabled', 'Disabled']], '');
  const list = connectionTable({
    op: 'OAuthClients', field: 'oauthClients', caption: 'OAuth clients',
    variables: () => ({ where: status.value ? { status: status.value } : null }),
    emptyText: 'No OAuth clients match.',
    columns: [
      { title: 'Name', cell: (c) => c.name },
      { title: 'Client ID', cell: (c) => h('code', {}, c.clientID) },
      { title: 'Status', cell: (c) => badge(c.status) },
      { title: 'Scopes', cell: (c) => scopeList(c.scopes) },
      { title: 'Token lifetime', cell: (c) => `${c.accessTokenTTLSeconds} s` },
      { title: 'Created', cell: (c) => when(c.createdAt) },
      { title: 'Actions', cell: (c) => (writable ? h('div', { class: 'actions' },
        actionButton('Rotate', `Rotate the secret of OAuth client ${c.name}`, 'secondary', async () => {
          if (!(await confirmAction(`Rotate the secret of ${c.name}?`, 'A new secret is issued and the current one stops working at once.'))) return;
          const d = await gql('RotateOAuthClientSecret', { clientID: c.clientID });
          secrets.replaceChildren(secretPanel(`New secret for ${c.name}`, d.rotateOAuthClientSecret.clientSecret, [h('span', {}, 'Client ID: ', h('code', {}, c.clientID))]));
          await list.reload();
        }, errors),
        c.status === 'active'
          ? actionButton('Disable', `Disable OAuth client ${c.name}`, 'secondary', async () => {
            if (!(await confirmAction(`Disable ${c.name}?`, 'Its access tokens stop working at once.'))) return;
            await gql('UpdateOAuthClientStatus', { clientID: c.clientID, status: 'disabled' });
            await list.reload();
          }, errors)
          : actionButton('Enable', `Enable OAuth client ${c.name}`, 'secondary', async () => {
            await gql('UpdateOAuthClientStatus', { clientID: c.clientID, status: 'active' });
            await list.reload();
          }, errors),
        actionButton('Delete', `Delete OAuth client ${c.name}`, 'danger', async () => {
          if (!(await confirmAction(`Delete ${c.name}?`, 'The client and its tokens stop working at once. This cannot be undone.'))) return;
          await gql('DeleteOAuthClient', { clientID: c.clientID });
          await list.reload();
        }, errors)) : null) },
    ],
  });
  status.addEventListener('change', () => list.reset());
  const toolbar = h('div', { class: 'toolbar' }, h('form', { class: 'inline', role: 'search' }, field('Status', status)));
  let create = null;
  if (writable) {
    create = creator('Create OAuth client', (close) => {
      const name = h('input', { type: 'text', required: true, maxlength: '200' });
      const ttl = h('input', { type: 'text', inputmode: 'numeric', pattern: '[0-9]*', placeholder: '3600' });
      const scopes = scopesField('Scopes', 'Tick at least one.');
      return form('', [field('Name', name), field('Access token lifetime (seconds)', ttl, '60 to 86400; empty is 3600.'), scopes.el], 'Create', async () => {
        if (!scopes.value().length) throw new Error('Tick at least one scope.');
        const input = { name: name.value.trim(), scopes: scopes.value() };
        if (ttl.value.trim()) input.accessTokenTTLSeconds = Number(ttl.value.trim());
        const d = await gql('CreateOAuthClient', { input });
        close();
        const c = d.createOAuthClient.oauthClient;
        const panel = secretPanel(`OAuth client ${c.name} created`, d.createOAuthClient.clientSecret,
          [h('span', {}, 'Client ID: ', h('code', { 'data-testid': 'new-client-id' }, c.clientID))]);
        secrets.replaceChildren(panel);
        await list.reset();
      }, [h('button', { type: 'button', class: 'secondary', onclick: () => close() }, 'Cancel')]);
    });
    toolbar.append(create.button);
  }
  body.append(toolbar, create ? create.holder : null, secrets, errors, list.el);
  return list.reset();
}

// ---------------------------------------------------------------- Credentials

const AUTH_TYPES = ['api_key', 'bearer_token', 'basic_auth', 'oauth2_bearer', 'oauth2_client_credentials', 'jwt', 'saml', 'custom'];

function credentialsPage(body) {
  const writable = can('credentials:write');
  const decrypt = can('credentials:decrypt');
  const errors = h('div');
  const list = connectionTable({
    op: 'Credentials', field: 'credentials', caption: 'Credentials',
    emptyText: 'No credentials yet.',
    columns: [
      { title: 'Integration', cell: (c) => h('code', {}, c.integrationID) },
      { title: 'Name', cell: (c) => c.name || '—' },
      { title: 'Auth type', cell: (c) => c.authType },
      { title: 'Status', cell: (c) => badge(c.status) },
      { title: 'Last accessed', cell: (c) => when(c.lastAccessedAt) },
      { title: 'Expires', cell: (c) => when(c.expiresAt) },
      {
        title: 'Actions',
        cell: (c) => {
          const out = h('div');
          const buttons = h('div', { class: 'actions' });
          if (decrypt) {
            buttons.append(actionButton('Reveal', `Reveal the secret of ${c.integrationID} ${c.name}`, 'secondary', async () => {
              if (out.firstChild) { out.replaceChildren(); return; }
              const d = await gql('RevealCredential', { integrationID: c.integrationID });
              const mine = d.credential.credentials.find((x) => x.id === c.id);
              out.replaceChildren(h('pre', { class: 'reveal', 'data-testid': 'revealed-secret' }, JSON.stringify(mine ? mine.data : null, null, 2)),
                h('span', { class: 'hint' }, 'This read is recorded in the audit log.'));
            }, errors));
          }
          if (writable) {
            buttons.append(actionButton('Delete', `Delete credential ${c.integrationID} ${c.name}`, 'danger', async () => {
              if (!(await confirmAction(`Delete the credential for ${c.integrationID}?`, 'Its encrypted secret is destroyed. This cannot be undone.'))) return;
              await gql('DeleteCredential', { integrationID: c.integrationID, id: c.id });
              await list.reload();
            }, errors));
          }
          return h('div', {}, buttons, out);
        },
      },
    ],
  });
  const toolbar = h('div', { class: 'toolbar' }, h('p', {}, decrypt
    ? 'Metadata only; Reveal decrypts a secret, and every reveal is audited.'
    : 'Metadata only; your scopes do not include credentials:decrypt.'));
  let create = null;
  if (writable) {
    create = creator('Store credential', (close) => {
      const integration = h('input', { type: 'text', required: true, placeholder: 'stripe' });
      const name = h('input', { type: 'text' });
      const authType = select(AUTH_TYPES.map((t) => [t, t]), 'api_key');
      const data = h('textarea', { required: true, spellcheck: 'false' });
      data.value = '{\n  "api_key": ""\n}';
      return form('', [field('Integration ID', integration), field('Name', name), field('Auth type', authType),
        field('Secret data (JSON)', data, 'Stored encrypted; the fields depend on the auth type.')], 'Create', async () => {
        let parsed;
        try {
          parsed = JSON.parse(data.value);
        } catch (e) {
          throw new Error('Secret data must be a JSON object.');
        }
        await gql('StoreCredential', { input: { integrationID: integration.value.trim(), name: name.value.trim() || null, authType: authType.value, data: parsed } });
        close();
        await list.reset();
      }, [h('button', { type: 'button', class: 'secondary', onclick: () => close() }, 'Cancel')]);
    });
    toolbar.append(create.button);
  }
  body.append(toolbar, create ? create.holder : null, errors, list.el);
  return list.reset();
}

// ---------------------------------------------------------------- Users

const ROLES = ['owner', 'admin', 'member', 'viewer'];

function usersPage(body) {
  const writable = can('users:write');
  const errors = h('div');
  const list = connectionTable({
    op: 'Users', field: 'users', caption: 'Users',
    columns: [
      { title: 'Email', cell: (u) => u.email },
      { title: 'Name', cell: (u) => u.name || '—' },
      {
        title: 'Role',
        cell: (u) => {
          if (!writable || (me.user && me.user.id === u.id)) return u.role;
          const s = select(ROLES.map((r) => [r, r]), u.role);
          s.setAttribute('aria-label', `Role of ${u.email}`);
          s.addEventListener('change', async () => {
            errors.replaceChildren();
            try {
              await gql('UpdateUser', { id: u.id, input: { role: s.value } });
            } catch (e) {
              errors.replaceChildren(errorBox(e));
              s.value = u.role;
            }
          });
          return s;
        },
      },
      { title: 'Status', cell: (u) => badge(u.status) },
      { title: 'Last sign-in', cell: (u) => when(u.lastLoginAt) },
      {
        title: 'Actions',
        cell: (u) => (writable && !(me.user && me.user.id === u.id) ? h('div', { class: 'actions' },
          actionButton(u.status === 'active' ? 'Disable' : 'Enable', `${u.status === 'active' ? 'Disable' : 'Enable'} user ${u.email}`, 'secondary', async () => {
            if (u.status === 'active' && !(await confirmAction(`Disable ${u.email}?`, 'Their sessions end at once.'))) return;
            await gql('UpdateUser', { id: u.id, input: { status: u.status === 'active' ? 'disabled' : 'active' } });
            await list.reload();
          }, errors),
          actionButton('Delete', `Delete user ${u.email}`, 'danger', async () => {
            if (!(await confirmAction(`Delete ${u.email}?`, 'Their sessions end at once. This cannot be undone.'))) return;
            await gql('DeleteUser', { id: u.id });
            await list.reload();
          }, errors)) : null),
      },
    ],
  });
  const toolbar = h('div', { class: 'toolbar' }, h('p', {}, 'People who sign in to this tenant.'));
  let create = null;
  if (writable) {
    create = creator('Create user', (close) => {
      const email = h('input', { type: 'email', required: true, autocomplete: 'off' });
      const name = h('input', { type: 'text' });
      const role = select(ROLES.map((r) => [r, r]), 'member');
      const password = h('input', { type: 'password', autocomplete: 'new-password' });
      return form('', [field('Email', email), field('Name', name), field('Role', role),
        field('Password (optional)', password, 'At least 10 characters; without one the user cannot sign in yet.')], 'Create', async () => {
        await gql('CreateUser', { input: { email: email.value.trim(), name: name.value.trim() || null, role: role.value, password: password.value || null } });
        close();
        await list.reset();
      }, [h('button', { type: 'button', class: 'secondary', onclick: () => close() }, 'Cancel')]);
    });
    toolbar.append(create.button);
  }
  body.append(toolbar, create ? create.holder : null, errors, list.el);
  return list.reset();
}

// ---------------------------------------------------------------- Service accounts

function serviceAccountsPage(body) {
  const writable = can('service_accounts:write');
  const secrets = h('div');
  const list = connectionTable({
    op: 'ServiceAccounts', field: 'serviceAccounts', caption: 'Service accounts',
    emptyText: 'No service accounts yet.',
    columns: [
      { title: 'Name', cell: (s) => s.name },
      { title: 'Description', cell: (s) => s.description || '—' },
      { title: 'Status', cell: (s) => badge(s.status) },
      { title: 'Scopes', cell: (s) => scopeList(s.scopes) },
      { title: 'API keys', cell: (s) => String(s.apiKeys.totalCount) },
      { title: 'Created', cell: (s) => when(s.createdAt) },
    ],
  });
  const toolbar = h('div', { class: 'toolbar' }, h('p', {}, 'Non-human principals; their API keys authenticate as the account.'));
  let create = null;
  if (writable) {
    create = creator('Create service account', (close) => {
      const name = h('input', { type: 'text', required: true });
      const description = h('input', { type: 'text' });
      const scopes = scopesField('Scopes', 'Tick at least one.');
      const withKey = h('input', { type: 'checkbox', id: uid('f'), checked: true });
      return form('', [field('Name', name), field('Description', description), scopes.el,
        h('div', { class: 'field' }, h('label', { class: 'check', for: withKey.id }, withKey, 'Also create its first API key'))], 'Create', async () => {
        if (!scopes.value().length) throw new Error('Tick at least one scope.');
        const d = await gql('CreateServiceAccount', { input: { name: name.value.trim(), description: description.value.trim() || null, scopes: scopes.value(), createAPIKey: withKey.checked } });
        close();
        const p = d.createServiceAccount;
        secrets.replaceChildren(p.apiKey
          ? secretPanel(`Service account ${p.serviceAccount.name} created, with its first API key`, p.apiKey.key)
          : h('div', { class: 'notice', role: 'status' }, `Service account ${p.serviceAccount.name} created.`));
        await list.reset();
      }, [h('button', { type: 'button', class: 'secondary', onclick: () => close() }, 'Cancel')]);
    });
    toolbar.append(create.button);
  }
  body.append(toolbar, create ? create.holder : null, secrets, list.el);
  return list.reset();
}

// ---------------------------------------------------------------- Webhooks

function webhooksPage(body) {
  const writable = can('webhooks:write');
  const errors = h('div');
  const secrets = h('div');
  const deliveries = h('div');
  async function showDeliveries(w) {
    const id = uid('dl');
    const section = h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, `Deliveries to ${w.url}`));
    deliveries.replaceChildren(section);
    let d;
    try {
      d = await gql('WebhookDeliveries', { id: w.id });
    } catch (e) {
      section.append(errorBox(e));
      return;
    }
    const rows = d.webhook ? d.webhook.deliveries.edges.map((e) => e.node) : [];
    section.append(h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Created', 'Event', 'Status', 'Attempts', 'Response', 'Duration', 'Error', 'Next attempt', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length ? rows.map((r) => h('tr', { 'data-id': r.id },
        h('td', {}, when(r.createdAt)), h('td', {}, h('code', {}, r.eventType)), h('td', {}, badge(r.status)),
        h('td', {}, String(r.attempt)), h('td', {}, r.responseStatus == null ? '—' : String(r.responseStatus)),
        h('td', {}, r.durationMs == null ? '—' : `${r.durationMs} ms`), h('td', {}, r.error || '—'), h('td', {}, when(r.nextAttemptAt)),
        h('td', {}, writable && (r.status === 'failed' || r.status === 'retrying')
          ? actionButton('Retry', `Retry delivery ${r.id}`, 'secondary', async () => {
            await gql('RetryWebhookDelivery', { webhookID: w.id, deliveryID: r.id });
            await showDeliveries(w);
          }, errors) : null)))
        : h('tr', {}, h('td', { class: 'empty', colspan: 9 }, 'No deliveries yet.'))))));
  }
  const list = connectionTable({
    op: 'Webhooks', field: 'webhooks', caption: 'Webhook endpoints',
    emptyText: 'No webhook endpoints yet.',
    columns: [
      { title: 'URL', cell: (w) => h('code', {}, w.url) },
      { title: 'Description', cell: (w) => w.description || '—' },
      { title: 'Events', cell: (w) => scopeList(w.events) },
      { title: 'Status', cell: (w) => h('span', {}, badge(w.enabled ? 'enabled' : 'disabled'), w.disabledReason ? h('div', { class: 'hint' }, w.disabledReason) : null) },
      { title: 'Created', cell: (w) => when(w.createdAt) },
      {
        title: 'Actions',
        cell: (w) => h('div', { class: 'actions' },
          actionButton('Deliveries', `Show deliveries to ${w.url}`, 'secondary', () => showDeliveries(w), errors),
          writable ? actionButton('Send test', `Send a test event to ${w.url}`, 'secondary', async () => {
            await gql('TestWebhook', { id: w.id });
            await showDeliveries(w);
          }, errors) : null,
          writable ? actionButton('Rotate', `Rotate the signing secret of ${w.url}`, 'secondary', async () => {
            if (!(await confirmAction('Rotate the signing secret?', 'Deliveries are signed with a new secret at once.'))) return;
            const d = await gql('RotateWebhookSecret', { id: w.id });
            secrets.replaceChildren(secretPanel(`New signing secret for ${w.url}`, d.rotateWebhookSecret.secret));
          }, errors) : null,
          writable ? actionButton('Delete', `Delete webhook ${w.url}`, 'danger', async () => {
            if (!(await confirmAction(`Delete the endpoint ${w.url}?`, 'Pending deliveries are dropped. This cannot be undone.'))) return;
            await gql('DeleteWebhook', { id: w.id });
            deliveries.replaceChildren();
            await list.reload();
          }, errors) : null),
      },
    ],
  });
  const toolbar = h('div', { class: 'toolbar' }, h('p', {}, 'Endpoints that receive signed events (Standard Webhooks).'));
  let create = null;
  if (writable) {
    create = creator('Create webhook', (close) => {
      const url = h('input', { type: 'url', required: true, placeholder: 'https://example.com/hooks/credvault' });
      const description = h('input', { type: 'text' });
      const all = h('input', { type: 'checkbox', id: uid('ev'), value: '*', checked: true });
      const events = h('fieldset', { class: 'scopes' }, h('legend', {}, 'Events'),
        h('label', { class: 'check', for: all.id }, all, 'Every event (*)'));
      gql('WebhookEventTypes').then((d) => {
        for (const t of d.webhookEventTypes) {
          const b = h('input', { type: 'checkbox', id: uid('ev'), value: t.type, title: t.description });
          events.append(h('label', { class: 'check', for: b.id }, b, t.type));
        }
      }).catch((e) => events.append(errorBox(e)));
      return form('', [field('URL', url), field('Description', description), events], 'Create', async () => {
        const chosen = all.checked ? ['*'] : [...events.querySelectorAll('input:checked')].map((b) => b.value);
        if (!chosen.length) throw new Error('Tick at least one event.');
        const d = await gql('CreateWebhook', { input: { url: url.value.trim(), description: description.value.trim() || null, events: chosen } });
        close();
        secrets.replaceChildren(secretPanel(`Webhook ${d.createWebhook.webhook.url} created: its signing secret`, d.createWebhook.secret));
        await list.reset();
      }, [h('button', { type: 'button', class: 'secondary', onclick: () => close() }, 'Cancel')]);
    });
    toolbar.append(create.button);
  }
  body.append(toolbar, create ? create.holder : null, secrets, errors, list.el, deliveries);
  return list.reset();
}

// ---------------------------------------------------------------- Audit log

function auditLogPage(body) {
  const action = h('input', { type: 'text', placeholder: 'api_key.revoke' });
  const resource = h('input', { type: 'text', placeholder: 'api_key' });
  const actor = select([['', 'Any'], ['user', 'User'], ['api_key', 'API key'], ['oauth_client', 'OAuth client'], ['service_account', 'Service account'], ['system', 'System']], '');
  const outcome = select([['', 'Any'], ['success', 'Success'], ['failure', 'Failure'], ['denied', 'Denied']], '');
  const where = () => {
    const w = {};
    if (action.value.trim()) w.actionContains = action.value.trim();
    if (resource.value.trim()) w.resourceType = resource.value.trim();
    if (actor.value) w.actorType = actor.value;
    if (outcome.value) w.outcome = outcome.value;
    return Object.keys(w).length ? w : null;
  };
  const list = connectionTable({
    op: 'AuditLogs', field: 'auditLogs', caption: 'Audit log', pageSize: 25,
    variables: () => ({ where: where() }),
    emptyText: 'No audit entries match.',
    columns: [
      { title: 'Time', cell: (n) => when(n.occurredAt) },
      { title: 'Action', cell: (n) => h('code', {}, n.action) },
      { title: 'Outcome', cell: (n) => badge(n.outcome) },
      { title: 'Actor', cell: (n) => h('span', {}, n.actorType, h('br'), h('span', { class: 'mono scope-list' }, n.actorID)) },
      { title: 'Resource', cell: (n) => h('span', {}, n.resourceType, h('br'), h('span', { class: 'mono scope-list' }, n.resourceID)) },
      { title: 'IP', cell: (n) => n.ip || '—' },
      { title: 'Request', cell: (n) => h('span', { class: 'mono scope-list' }, n.requestID || '—') },
    ],
  });
  const filters = form('inline', [field('Action contains', action), field('Resource type', resource), field('Actor type', actor), field('Outcome', outcome)],
    'Apply filters', () => list.reset(),
    [h('button', {
      type: 'button',
      class: 'secondary',
      onclick: () => { action.value = ''; resource.value = ''; actor.value = ''; outcome.value = ''; list.reset(); },
    }, 'Clear filters')]);
  filters.setAttribute('role', 'search');
  filters.setAttribute('aria-label', 'Filter the audit log');
  body.append(h('section', { class: 'panel' }, filters), list.el);
  return list.reset();
}

// ---------------------------------------------------------------- Tenants

function tenantsPage(body) {
  const writable = can('tenant:write');
  const errors = h('div');
  const list = connectionTable({
    op: 'Tenants', field: 'tenants', caption: 'Tenants',
    columns: [
      { title: 'Name', cell: (t) => t.name },
      { title: 'Slug', cell: (t) => h('code', {}, t.slug) },
      { title: 'Plan', cell: (t) => t.plan },
      { title: 'Status', cell: (t) => badge(t.status) },
      { title: 'Platform', cell: (t) => (t.platform ? 'yes' : '') },
      { title: 'Created', cell: (t) => when(t.createdAt) },
      { title: 'ID', cell: (t) => h('span', { class: 'mono scope-list' }, t.id) },
      {
        title: 'Actions',
        cell: (t) => (writable && !t.platform && t.status !== 'deleted' ? (t.status === 'active'
          ? actionButton('Suspend', `Suspend tenant ${t.name}`, 'danger', async () => {
            if (!(await confirmAction(`Suspend ${t.name}?`, 'Every session, key and token of the tenant stops at once.'))) return;
            await gql('UpdateTenantStatus', { id: t.id, status: 'suspended' });
            await list.reload();
          }, errors)
          : actionButton('Activate', `Activate tenant ${t.name}`, 'secondary', async () => {
            await gql('UpdateTenantStatus', { id: t.id, status: 'active' });
            await list.reload();
          }, errors)) : null),
      },
    ],
  });
  body.append(h('p', {}, 'Every tenant of this CredVault (platform admins only).'), errors, list.el);
  return list.reset();
}

// ---------------------------------------------------------------- start

(async () => {
  const ssoError = takeSSOFragment();
  if (ssoError) {
    renderSignIn({ error: ssoError });
    return;
  }
  if (!session) {
    renderSignIn();
    return;
  }
  scheduleRefresh();
  await startApp();
})();

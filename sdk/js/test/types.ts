// Compiled (not run) by `npm run typecheck`: the published declarations in dist/ type the
// documented usage, and refuse misuse (each @ts-expect-error must be an error).
import {
  CredVault,
  CredVaultError,
  verifyWebhook,
  type APIKey,
  type Integration,
  type Page,
  type WebhookEvent,
} from '../dist/index.js';

async function usage(): Promise<void> {
  const cv = new CredVault({ baseUrl: 'http://localhost:8080', apiKey: 'cvk_x' });
  const created: APIKey = await cv.apiKeys.create({ name: 'ci', scopes: ['credentials:read'], rate_limit: { requests: 10, window_seconds: 60 } });
  const secret: string | undefined = created.key;
  const page: Page<APIKey> = await cv.apiKeys.list({ status: 'active', limit: 20, sort: 'name', order: 'asc' });
  const next: string | null = page.pagination.next_cursor;
  for await (const k of cv.apiKeys.list()) {
    const name: string = k.name;
    void name;
  }
  const stripe: Integration = await cv.credentials.get('stripe');
  const data = stripe.credentials[0]?.data;
  const rotated = await cv.apiKeys.rotate(created.id, { grace_period_seconds: 60 });
  const check = await cv.apiKeys.validate(created.id, rotated.key ?? '');
  const valid: boolean = check.valid;
  await cv.audit.list({ since: new Date(), outcome: 'denied' }).toArray(10);
  await cv.webhooks.deliveries('id', { status: 'failed' }).pages().next();
  const me = await cv.withToken(async () => 'token').auth.me();
  const tenantSlug: string = me.tenant.slug;

  try {
    await cv.apiKeys.get('missing');
  } catch (err) {
    if (err instanceof CredVaultError) {
      const s: number = err.status;
      const c: string = err.code;
      const d: Record<string, unknown> = err.details;
      const r: string | null = err.requestId;
      void [s, c, d, r];
    }
  }

  for await (const e of cv.apiKeys.stream({ lastEventId: '1' })) {
    if (e.event === 'snapshot') {
      const hashes: string[] = e.data.keys.map((k) => k.hash);
      void hashes;
    } else if (e.event === 'remove') {
      const gone: string = e.data.id;
      void gone;
    }
  }
  for await (const entry of cv.audit.export({ since: new Date() })) {
    const action: string = entry.action;
    void action;
  }
  const sso = await cv.sso.update({ issuer: 'https://idp.example.com', client_id: 'x', default_role: 'viewer' });
  const redirect: string = sso.redirect_uri;
  void redirect;

  const event: WebhookEvent<{ id: string }> = verifyWebhook<{ id: string }>('whsec_x', '{}', new Headers());
  const id: string = event.data.id;

  // @ts-expect-error name is required
  await cv.apiKeys.create({ scopes: [] });
  // @ts-expect-error status is one of active, expired, revoked
  await cv.apiKeys.list({ status: 'gone' });
  // @ts-expect-error a credential needs its integration_id
  await cv.credentials.store({ auth_type: 'api_key', data: {} });
  // @ts-expect-error there is no such resource
  cv.secrets;

  void [secret, next, data, valid, tenantSlug, id];
}
void usage;

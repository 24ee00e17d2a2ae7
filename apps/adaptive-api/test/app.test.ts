import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@micboard/limiter-core/testing';
import { createMemoryStore } from '@micboard/limiter-store';
import { loadConfig } from '../src/config.js';
import { start, type RunningAdaptiveApi } from '../src/app.js';
import { createAuth } from '../src/auth.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789';

let api: RunningAdaptiveApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function launch(env: Record<string, string> = {}): Promise<RunningAdaptiveApi> {
  api = await start(loadConfig({ PORT: '0', ADMIN_TOKEN, LOG_LEVEL: 'silent', ...env }));
  return api;
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('adaptive-api endpoints', () => {
  it('registers, logs in, and serves a logged-in user under the authenticated profile', async () => {
    const { url } = await launch();
    const registered = await post(`${url}/api/v1/auth/register`, { username: 'ada', password: 'correct horse' });
    expect(registered.status).toBe(201);
    expect(registered.headers.get('x-ratelimit-usertype')).toBe('anonymous');
    expect((await post(`${url}/api/v1/auth/register`, { username: 'ada', password: 'correct horse' })).status).toBe(409);
    expect((await post(`${url}/api/v1/auth/register`, { username: 'a', password: 'x' })).status).toBe(400);

    const login = await post(`${url}/api/v1/auth/login`, { username: 'ada', password: 'correct horse' });
    expect(login.status).toBe(200);
    const { token } = (await login.json()) as { token: string };
    const bearer = { authorization: `Bearer ${token}` };

    const me = await fetch(`${url}/api/v1/me`, { headers: bearer });
    expect(await me.json()).toEqual({ username: 'ada' });
    expect(me.headers.get('x-ratelimit-usertype')).toBe('authenticated');
    // The authenticated profile: capacity 200 + burst 50.
    expect(me.headers.get('x-ratelimit-limit')).toBe('250');

    const items = await fetch(`${url}/api/v1/items`);
    expect(items.status).toBe(200);
    expect(((await items.json()) as { total: number }).total).toBe(20);
    expect((await fetch(`${url}/api/v1/items/3`)).status).toBe(200);
    expect((await fetch(`${url}/api/v1/items/999`)).status).toBe(404);
    expect((await fetch(`${url}/api/v1/me`)).status).toBe(401);

    expect((await post(`${url}/api/v1/data-import/store-import`, { items: ['a'] })).status).toBe(401);
    const imported = await post(`${url}/api/v1/data-import/store-import`, { items: ['a', 'b'] }, bearer);
    expect(imported.status).toBe(201);
    expect(await imported.json()).toEqual({ imported: 2, total: 22 });
    expect((await fetch(`${url}/api/v1/nope`)).status).toBe(404);
    expect((await fetch(`${url}/api/v1/health`)).status).toBe(200);
  });

  it('answers a full user table with 503 "registration is closed", not "taken"', async () => {
    api = await start(loadConfig({ PORT: '0', LOG_LEVEL: 'silent' }), { auth: createAuth({ maxUsers: 1 }) });
    const { url } = api;
    expect((await post(`${url}/api/v1/auth/register`, { username: 'ada', password: 'correct horse' })).status).toBe(201);
    expect((await post(`${url}/api/v1/auth/register`, { username: 'ada', password: 'correct horse' })).status).toBe(409);
    const full = await post(`${url}/api/v1/auth/register`, { username: 'bob', password: 'correct horse' });
    expect(full.status).toBe(503);
    expect(await full.json()).toEqual({ error: 'Service unavailable', detail: 'Registration is closed: this server has as many users as it keeps' });
  });

  it('charges seed 2 costs: register 10, login 5, store-import 3, others 1', async () => {
    // A store on a clock that stands still: no refill between requests, so the costs show exactly.
    const store = createMemoryStore({ clock: new ManualClock(1_700_000_000_000) });
    api = await start(loadConfig({ PORT: '0', LOG_LEVEL: 'silent' }), { store });
    const { url } = api;
    // The bucket scales with the adaptive multiplier (each success raises it), so what was spent
    // is the limit in force minus what remains.
    const spent = (response: Response): number =>
      Number(response.headers.get('x-ratelimit-limit')) - Number(response.headers.get('x-ratelimit-remaining'));
    expect(spent(await fetch(`${url}/api/v1/items`))).toBe(1);
    expect(spent(await post(`${url}/api/v1/auth/register`, { username: 'bob', password: 'long enough' }))).toBe(1 + 10);
    expect(spent(await post(`${url}/api/v1/auth/login`, { username: 'bob', password: 'long enough' }))).toBe(1 + 10 + 5);
    // Anonymous, so refused (401), but charged first: the cost is what the request may spend.
    expect(spent(await post(`${url}/api/v1/data-import/store-import`, { items: ['x'] }))).toBe(1 + 10 + 5 + 3);
  });

  it('an abusive client guessing passwords gets 429 with Retry-After and a shrinking multiplier', async () => {
    const { url } = await launch();
    let limited: Response | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const response = await post(`${url}/api/v1/auth/login`, { username: 'admin', password: `guess-${i}` });
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(401);
    }
    expect(limited).toBeDefined();
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await limited?.json()).toMatchObject({ error: 'Rate limit exceeded', retry_after: expect.any(Number) });

    const stats = (await (await fetch(`${url}/api/v1/admin/rate-limit/stats?client_key=ip:127.0.0.1`, { headers: admin })).json()) as {
      client: { multiplier: number };
    };
    expect(stats.client.multiplier).toBeLessThan(0.9);

    const activity = (await (await fetch(`${url}/api/v1/admin/activity`, { headers: admin })).json()) as {
      clients: Array<{ key: string; userType: string; denied: number }>;
      denials: Array<{ key: string; route: string; cost: number }>;
    };
    expect(activity.clients[0]).toMatchObject({ key: 'ip:127.0.0.1', userType: 'anonymous', denied: 1 });
    expect(activity.denials[0]).toMatchObject({ key: 'ip:127.0.0.1', route: '/api/v1/auth/login', cost: 5 });
  });
});

describe('adaptive-api admin API', () => {
  it('is behind the token', async () => {
    const { url } = await launch();
    expect((await fetch(`${url}/api/v1/admin/rate-limit/stats`)).status).toBe(401);
    expect((await fetch(`${url}/api/v1/admin/rate-limit/stats`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(403);
    expect((await fetch(`${url}/api/v1/admin/rate-limit/stats`, { headers: { 'x-admin-token': ADMIN_TOKEN } })).status).toBe(200);
    expect((await fetch(`${url}/api/v1/admin/activity`)).status).toBe(401);
  });

  it('does not exist without ADMIN_TOKEN', async () => {
    api = await start(loadConfig({ PORT: '0', LOG_LEVEL: 'silent' }));
    expect((await fetch(`${api.url}/api/v1/admin/rate-limit/stats`, { headers: admin })).status).toBe(404);
    expect((await fetch(`${api.url}/api/v1/admin/activity`, { headers: admin })).status).toBe(404);
  });

  it('lists clients, profiles and costs; resets a client; changes a profile and a cost', async () => {
    const { url } = await launch();
    await fetch(`${url}/api/v1/items`);
    const stats = (await (await fetch(`${url}/api/v1/admin/rate-limit/stats`, { headers: admin })).json()) as {
      clients: Array<{ key: string }>;
      profiles: Record<string, { capacity: number }>;
      endpoint_costs: Array<{ path: string; cost: number }>;
    };
    expect(stats.clients.map((client) => client.key)).toEqual(['ip:127.0.0.1']);
    expect(stats.profiles['anonymous']).toEqual({ capacity: 50, refillPerSecond: 5, burst: 10 });
    expect(stats.endpoint_costs).toContainEqual({ path: '/api/v1/auth/login', cost: 5 });

    const reset = await fetch(`${url}/api/v1/admin/rate-limit/reset/${encodeURIComponent('ip:127.0.0.1')}`, { method: 'POST', headers: admin });
    expect(await reset.json()).toEqual({ client_key: 'ip:127.0.0.1', reset: true });

    const changed = await fetch(`${url}/api/v1/admin/rate-limit/config?user_type=anonymous&capacity=5&burst=0`, { method: 'PUT', headers: admin });
    expect(changed.status).toBe(200);
    const cost = await fetch(`${url}/api/v1/admin/rate-limit/endpoint-cost?endpoint=/api/v1/items&cost=2`, { method: 'PUT', headers: admin });
    expect(cost.status).toBe(200);
    const items = await fetch(`${url}/api/v1/items`);
    expect(items.headers.get('x-ratelimit-limit')).toBe('5');
    expect(items.headers.get('x-ratelimit-remaining')).toBe('3');
    const bad = await fetch(`${url}/api/v1/admin/rate-limit/config?user_type=root&capacity=5`, { method: 'PUT', headers: admin });
    expect(bad.status).toBe(400);
  });

  it('admin and metrics calls are not limited and never use up a client budget', async () => {
    const { url } = await launch();
    for (let i = 0; i < 80; i++) {
      expect((await fetch(`${url}/api/v1/admin/rate-limit/stats`, { headers: admin })).status).toBe(200);
    }
    await fetch(`${url}/metrics`);
    expect((await fetch(`${url}/api/v1/items`)).headers.get('x-ratelimit-remaining')).toBe('59');
  });
});

describe('adaptive-api behind a proxy', () => {
  it.each([
    ['true', true],
    ['false', false],
  ])('TRUST_PROXY=%s: clients behind the proxy are told apart by the address it appended: %s', async (trustProxy, apart) => {
    const { url } = await launch({ TRUST_PROXY: trustProxy });
    // The client wrote the first entry itself; the proxy appended the real address.
    const via = (forwarded: string): Promise<Response> => fetch(`${url}/api/v1/items`, { headers: { 'x-forwarded-for': forwarded } });
    const first = await via('10.9.9.9, 203.0.113.5');
    const second = await via('10.9.9.9, 198.51.100.9');
    const spent = (response: Response): number =>
      Number(response.headers.get('x-ratelimit-limit')) - Number(response.headers.get('x-ratelimit-remaining'));
    expect(spent(first)).toBe(1);
    expect(spent(second)).toBe(apart ? 1 : 2);
    const stats = (await (await fetch(`${url}/api/v1/admin/rate-limit/stats`, { headers: admin })).json()) as { clients: Array<{ key: string }> };
    expect(stats.clients.map((client) => client.key).sort()).toEqual(apart ? ['ip:198.51.100.9', 'ip:203.0.113.5'] : ['ip:127.0.0.1']);
  });
});

describe('adaptive-api /metrics', () => {
  it('exposes decisions by route and user type, and store latency, in Prometheus format', async () => {
    const { url } = await launch();
    await fetch(`${url}/api/v1/items/7`);
    await fetch(`${url}/no/such/path`);
    for (let i = 0; i < 15; i++) await post(`${url}/api/v1/auth/login`, { username: 'admin', password: `guess-${i}` });
    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/ratelimit_decisions_total\{limiter="global",route="\/api\/v1\/auth\/login",user_type="anonymous",outcome="allowed"\} \d+/);
    expect(text).toMatch(/ratelimit_decisions_total\{limiter="global",route="\/api\/v1\/auth\/login",user_type="anonymous",outcome="denied"\} [1-9]/);
    // Paths are labelled by their route pattern, and unknown paths share one label.
    expect(text).toContain('route="/api/v1/items/:id",user_type="anonymous",outcome="allowed"} 1');
    expect(text).toContain('route="unmatched",user_type="anonymous",outcome="allowed"} 1');
    expect(text).toMatch(/ratelimit_store_latency_seconds_count\{store="memory",limiter="global"\} 17/);
    expect(text).toContain('# TYPE ratelimit_store_errors_total counter');
    expect(text).toContain('# TYPE ratelimit_store_fallbacks_total counter');
    expect(text).toContain('ratelimit_store_degraded{store="memory"} 0');
  });
});

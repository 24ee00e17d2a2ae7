import { describe, expect, it } from 'vitest';
import { loadConfig as loadApiConfig, start as startApi } from '@micboard/adaptive-api';
import { BackendError, createBackend } from '../src/backend.js';

type Route = (url: URL, init: RequestInit | undefined) => Response | Promise<Response>;

function fakeFetch(routes: Record<string, Route>, log: string[] = []): typeof fetch {
  return async (input, init) => {
    const url = new URL(String(input));
    log.push(`${init?.method ?? 'GET'} ${url.host}${url.pathname}${url.search} ${new Headers(init?.headers).get('authorization') ?? ''}`);
    const route = routes[`${init?.method ?? 'GET'} ${url.host}${url.pathname}`];
    if (!route) throw new TypeError('fetch failed');
    return route(url, init);
  };
}

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const STATS = {
  clients: [
    { key: 'ip:127.0.0.1', multiplier: 0.25, limits: { default: { limit: 15, remaining: 0, resetAt: 0 } }, lastSeen: 50, adaptive: undefined },
    { key: 'user:idle', multiplier: 1, limits: { default: { limit: 250, remaining: 250, resetAt: 0 } }, lastSeen: 10, adaptive: undefined },
  ],
  cursor: null,
  profiles: { anonymous: { capacity: 50, refillPerSecond: 5, burst: 10 } },
  endpoint_costs: [{ path: '/api/v1/auth/login', cost: 5 }],
};

const activity = (instance: string, allowed: number, denied: number, at: number) => ({
  instance,
  store: 'redis',
  defaultCost: 1,
  clients: [{ key: 'ip:127.0.0.1', userType: 'anonymous', allowed, denied, limit: 60 - at / 10, remaining: at / 100, lastSeen: at }],
  denials: [{ at, key: 'ip:127.0.0.1', userType: 'anonymous', method: 'POST', route: '/api/v1/auth/login', cost: 5 }],
});

describe('createBackend', () => {
  it('merges the store stats with every instance activity: multiplier from the store, tokens from the latest decision, counts summed', async () => {
    const log: string[] = [];
    const backend = createBackend({
      urls: ['http://127.0.0.1:1', 'http://127.0.0.1:2'],
      adminToken: 't'.repeat(16),
      fetch: fakeFetch(
        {
          'GET 127.0.0.1:1/api/v1/admin/rate-limit/stats': () => json(STATS),
          'GET 127.0.0.1:1/api/v1/admin/activity': () => json(activity('a', 3, 4, 100)),
          'GET 127.0.0.1:2/api/v1/admin/activity': () => json(activity('b', 2, 1, 200)),
        },
        log,
      ),
    });
    const state = await backend.state();
    expect(state.error).toBeUndefined();
    expect(state.store).toBe('redis');
    expect(state.clients).toEqual([
      { key: 'ip:127.0.0.1', userType: 'anonymous', multiplier: 0.25, remaining: 2, limit: 40, allowed: 5, denied: 5, lastSeen: 200 },
      { key: 'user:idle', userType: undefined, multiplier: 1, remaining: 250, limit: 250, allowed: 0, denied: 0, lastSeen: 10 },
    ]);
    expect(state.denials.map((d) => [d.instance, d.at])).toEqual([
      ['b', 200],
      ['a', 100],
    ]);
    expect(state.profiles).toEqual(STATS.profiles);
    expect(state.costs).toEqual(STATS.endpoint_costs);
    expect(log.every((line) => line.endsWith(`Bearer ${'t'.repeat(16)}`))).toBe(true);
  });

  it('shows what it can read and says what it could not', async () => {
    const backend = createBackend({
      urls: ['http://127.0.0.1:1', 'http://127.0.0.1:2'],
      adminToken: 't'.repeat(16),
      fetch: fakeFetch({
        'GET 127.0.0.1:1/api/v1/admin/rate-limit/stats': () => json({ error: 'Forbidden', detail: 'Not allowed' }, 403),
        'GET 127.0.0.1:1/api/v1/admin/activity': () => json(activity('a', 1, 0, 5)),
      }),
    });
    const state = await backend.state();
    expect(state.clients.map((c) => c.key)).toEqual(['ip:127.0.0.1']);
    expect(state.error).toContain('403 Not allowed');
    expect(state.error).toContain('127.0.0.1:2 is not answering');
  });

  it('sends admin actions to seed 2 endpoints, and passes a refusal on as 400', async () => {
    const log: string[] = [];
    const backend = createBackend({
      urls: ['http://127.0.0.1:1'],
      adminToken: 't'.repeat(16),
      fetch: fakeFetch(
        {
          'POST 127.0.0.1:1/api/v1/admin/rate-limit/reset/ip%3A127.0.0.1': () => json({ reset: true }),
          'PUT 127.0.0.1:1/api/v1/admin/rate-limit/config': () => json({}),
          'PUT 127.0.0.1:1/api/v1/admin/rate-limit/endpoint-cost': (url) =>
            url.searchParams.get('cost') === '0' ? json({ error: 'Bad request', detail: 'cost must be between 0.001 and 1000000' }, 400) : json({}),
        },
        log,
      ),
    });
    await backend.resetClient('ip:127.0.0.1');
    await backend.setProfile('anonymous', { capacity: 20, refillPerSecond: 1 });
    await backend.setCost('/api/v1/items', 2, 'GET');
    const refused = await backend.setCost('/api/v1/items', 0).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(BackendError);
    expect(refused).toMatchObject({ status: 400 });
    expect((refused as Error).message).toContain('cost must be between');
    expect(log.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([
      'POST 127.0.0.1:1/api/v1/admin/rate-limit/reset/ip%3A127.0.0.1',
      'PUT 127.0.0.1:1/api/v1/admin/rate-limit/config?user_type=anonymous&capacity=20&refill=1',
      'PUT 127.0.0.1:1/api/v1/admin/rate-limit/endpoint-cost?endpoint=%2Fapi%2Fv1%2Fitems&cost=2&method=GET',
      'PUT 127.0.0.1:1/api/v1/admin/rate-limit/endpoint-cost?endpoint=%2Fapi%2Fv1%2Fitems&cost=0',
    ]);
  });

  it('resets a client on every instance, so none keeps showing its counts, and says which one failed', async () => {
    const log: string[] = [];
    const routes = {
      'POST 127.0.0.1:1/api/v1/admin/rate-limit/reset/user%3Aada': () => json({ reset: true }),
      'POST 127.0.0.1:2/api/v1/admin/rate-limit/reset/user%3Aada': () => json({ reset: true }),
    };
    const backend = createBackend({ urls: ['http://127.0.0.1:1', 'http://127.0.0.1:2'], adminToken: 't'.repeat(16), fetch: fakeFetch(routes, log) });
    await backend.resetClient('user:ada');
    expect(log.map((line) => line.split(' ')[1]).sort()).toEqual([
      '127.0.0.1:1/api/v1/admin/rate-limit/reset/user%3Aada',
      '127.0.0.1:2/api/v1/admin/rate-limit/reset/user%3Aada',
    ]);

    // One instance down: the others are still reset (a reset is idempotent: Reset again once it is back).
    const down = createBackend({
      urls: ['http://127.0.0.1:1', 'http://127.0.0.1:3', 'http://127.0.0.1:2'],
      adminToken: 't'.repeat(16),
      fetch: fakeFetch(routes, log),
    });
    log.length = 0;
    const refused = await down.resetClient('user:ada').catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 502 });
    expect((refused as Error).message).toContain('127.0.0.1:3 is not answering');
    expect(log).toHaveLength(3);
  });

  it('without an admin token, says how to fix it', async () => {
    const backend = createBackend({ urls: ['http://127.0.0.1:1'], adminToken: undefined, fetch: fakeFetch({}) });
    expect((await backend.state()).error).toContain('ADMIN_TOKEN');
  });
});

describe('createBackend against two adaptive-api instances on one store', () => {
  it('Reset forgets the client on every instance', async () => {
    const adminToken = 'reset-admin-token-0123456';
    const config = loadApiConfig({ PORT: '0', ADMIN_TOKEN: adminToken, LOG_LEVEL: 'silent' });
    const a = await startApi(config, { instance: 'a' });
    // b shares a's store, as instances on one Redis do (a owns it and closes it).
    const b = await startApi(config, { store: a.limiter.store, instance: 'b' });
    try {
      const backend = createBackend({ urls: [a.url, b.url], adminToken });
      for (let i = 0; i < 4; i++) await (await fetch(`${(i % 2 ? b : a).url}/api/v1/items`)).arrayBuffer();
      const seen = (await backend.state()).clients.find((client) => client.key === 'ip:127.0.0.1');
      expect(seen?.allowed).toBe(4);
      await backend.resetClient('ip:127.0.0.1');
      const after = (await backend.state()).clients.find((client) => client.key === 'ip:127.0.0.1');
      expect(after?.allowed ?? 0).toBe(0);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

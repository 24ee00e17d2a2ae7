import { describe, expect, it } from 'vitest';
import { createAdminApi, createLimiter, LimiterError, queryReader, type AdminAuthorization, type AdminRequest } from '@micboard/limiter-core';
import { brokenStore, req, setup, sync } from './helpers.js';

type Raw = { auth: AdminAuthorization | 'throw' };
const ok: Raw = { auth: true };

function call(method: string, path: string, query: Record<string, string> = {}): AdminRequest {
  return { method, path, query: (name) => query[name] };
}

function admin() {
  const { store, clock, logger } = setup();
  const limiter = createLimiter({ store, clock });
  const api = createAdminApi<Raw>({
    limiter,
    logger,
    pageSize: 2,
    authorize: (raw) => {
      if (raw.auth === 'throw') throw new Error('auth backend down');
      return raw.auth;
    },
  });
  return { store, clock, logger, limiter, api };
}

describe('createAdminApi', () => {
  it('refuses to exist without authorize, and checks its options', () => {
    const { limiter } = admin();
    expect(() => createAdminApi(null as never)).toThrow(LimiterError);
    expect(() => createAdminApi({ limiter } as never)).toThrow(/authorize must be a function/);
    expect(() => createAdminApi({ limiter: {} as never, authorize: () => true })).toThrow(/limiter/);
    expect(() => createAdminApi({ limiter, authorize: () => true, pageSize: 0 })).toThrow(/pageSize/);
  });

  it('401, 403, and a throwing authorize is 403', async () => {
    const { api, logger } = admin();
    expect((await api.handle({ auth: 401 }, call('GET', '/stats'))).status).toBe(401);
    expect((await api.handle({ auth: 403 }, call('GET', '/stats'))).status).toBe(403);
    expect((await api.handle({ auth: false }, call('GET', '/stats'))).status).toBe(403);
    expect((await api.handle({ auth: 'throw' }, call('GET', '/stats'))).status).toBe(403);
    expect(logger.lines.some((l) => l.level === 'error')).toBe(true);
  });

  it('stats pages through clients with a cursor', async () => {
    const { api, limiter } = admin();
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) sync(limiter.check(req({ ip })));
    const first = await api.handle(ok, call('GET', '/stats/'));
    const body = first.body as { clients: { key: string }[]; cursor: string | null; endpoint_costs: unknown[] };
    expect(body.clients).toHaveLength(2);
    expect(body.cursor).not.toBeNull();
    expect(body.endpoint_costs.length).toBeGreaterThan(0);
    const second = await api.handle(ok, call('HEAD', '/stats', { cursor: body.cursor as string, limit: '2' }));
    expect((second.body as { clients: unknown[]; cursor: null }).cursor).toBeNull();
    expect((await api.handle(ok, call('GET', '/stats', { limit: '1.5' }))).status).toBe(400);
    expect((await api.handle(ok, call('GET', '/stats', { cursor: '' }))).status).toBe(400);
    expect((await api.handle(ok, call('GET', '/stats', { client_key: 'x'.repeat(513) }))).status).toBe(400);
    expect((await api.handle(ok, call('GET', '/stats', { client_key: 'a\u0001b' }))).status).toBe(400);
  });

  it('reset, config (refill), endpoint cost with a method', async () => {
    const { api, limiter, store } = admin();
    sync(limiter.check(req()));
    expect((await api.handle(ok, call('POST', '/reset/ip%3A203.0.113.7'))).body).toEqual({ client_key: 'ip:203.0.113.7', reset: true });
    expect((await api.handle(ok, call('POST', '/reset/ip%3A203.0.113.7'))).body).toEqual({ client_key: 'ip:203.0.113.7', reset: false });
    expect((await api.handle(ok, call('POST', '/reset/'))).status).toBe(400);
    const tooFast = await api.handle(ok, call('PUT', '/config', { user_type: 'authenticated', refill: '1000000' }));
    expect(tooFast.status).toBe(400);
    expect((tooFast.body as { detail: string }).detail).toMatch(/^profiles\.authenticated\.refillPerSecond must be .* at most 10000 .*; got 1000000$/);
    const config = await api.handle(ok, call('PUT', '/config', { user_type: 'authenticated', refill: '2.5' }));
    expect(config.body).toMatchObject({ user_type: 'authenticated', profile: { refillPerSecond: 2.5, capacity: 200 } });
    expect(sync(store.getConfig())?.data).toHaveProperty('profiles');
    const cost = await api.handle(ok, call('PUT', '/endpoint-cost', { endpoint: '/api/export', cost: '4', method: 'post' }));
    expect(cost.body).toEqual({ endpoint: '/api/export', cost: 4, method: 'POST' });
    expect(limiter.endpointCosts.costOf('POST', '/api/export')).toBe(4);
    expect(limiter.endpointCosts.costOf('GET', '/api/export')).toBe(1);
    expect((await api.handle(ok, call('PUT', '/endpoint-cost', { endpoint: '/x', cost: '1', method: 'GE T' }))).status).toBe(400);
    expect((await api.handle(ok, call('PUT', '/endpoint-cost', { endpoint: '/x?y=1', cost: '1' }))).status).toBe(400);
    expect((await api.handle(ok, call('POST', '/cleanup', { inactive_hours: '0' }))).body).toMatchObject({ inactive_hours: 0 });
  });

  it('a failing store is a 503, not a crash', async () => {
    const { clock, logger } = setup();
    const limiter = createLimiter({ store: brokenStore('reject'), clock, logger });
    const api = createAdminApi<Raw>({ limiter, logger, authorize: () => true });
    expect((await api.handle(ok, call('GET', '/stats'))).status).toBe(503);
    expect((await api.handle(ok, call('PUT', '/config', { user_type: 'anonymous', burst: '1' }))).status).toBe(503);
    expect((await api.handle(ok, call('PUT', '/endpoint-cost', { endpoint: '/x', cost: '2' }))).status).toBe(503);
  });

  it('404 for unknown endpoints, 405 with Allow for wrong methods', async () => {
    const { api } = admin();
    expect((await api.handle(ok, call('GET', '/nope'))).status).toBe(404);
    for (const [method, path, allow] of [
      ['POST', '/stats', 'GET'],
      ['GET', '/config', 'PUT'],
      ['GET', '/cleanup', 'POST'],
      ['POST', '/endpoint-cost', 'PUT'],
      ['GET', '/reset/x', 'POST'],
    ] as const) {
      const answer = await api.handle(ok, call(method, path));
      expect(answer.status).toBe(405);
      expect(answer.headers).toEqual({ Allow: allow });
    }
  });
});

describe('queryReader', () => {
  it('reads a string, the first of a repeated parameter, and nothing else', () => {
    const read = queryReader({ a: 'x', b: ['y', 'z'], c: { nested: 'v' }, d: [1], e: [] });
    expect(['a', 'b', 'c', 'd', 'e', 'missing'].map(read)).toEqual(['x', 'y', undefined, undefined, undefined, undefined]);
  });
});

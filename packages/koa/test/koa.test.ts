import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { LimiterError } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import { send } from '@micboard/test-utils';
import { limit, rateLimit, rateLimitAdmin, rateLimitAdminRoutes } from '../src/index.js';

const servers: { close(): void; closeAllConnections(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.close();
    server.closeAllConnections();
  }
});

async function listen(app: Koa): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('koa adapter specifics', () => {
  it('bad options fail at construction, naming the option', () => {
    expect(() => rateLimit({ failMode: 'sometimes' as never })).toThrow(LimiterError);
    expect(() => limit({ max: 1, window: '-1s' as never })).toThrow(/limit\.window/);
    const limiter = rateLimit().limiter;
    expect(() => rateLimitAdmin({ limiter } as never)).toThrow(/authorize/);
    expect(() => rateLimitAdmin({ limiter, authorize: () => true, prefix: 'admin' })).toThrow(/prefix/);
    expect(() => rateLimitAdmin({ limiter, authorize: () => true, prefix: '/admin/' })).toThrow(/prefix/);
  });

  it('a limit mounted with app.use counts every path together (a varied path is no way past it)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const app = new Koa();
    app.use(limit({ clock, max: 2, window: '1m' }));
    app.use((ctx) => {
      ctx.body = {};
    });
    const url = await listen(app);
    const statuses: number[] = [];
    for (const path of ['/api/items/1', '/api/items/2', '/API/items/3/', '/api/items/4?x=1']) statuses.push((await send(url, path)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it('works with no options; the admin middleware passes other paths through', async () => {
    const limiter = rateLimit();
    const app = new Koa();
    app.use(limiter.admin({ prefix: '/admin', authorize: () => true }));
    app.use(limiter);
    app.use((ctx) => {
      ctx.body = { path: ctx.path };
    });
    const url = await listen(app);
    const res = await send(url, '/administrator');
    expect(res.body).toEqual({ path: '/administrator' });
    expect(res.headers['x-ratelimit-limit']).toBe('60');
    expect((await send(url, '/admin')).status).toBe(404);
    expect((await send(url, '/admin/stats')).status).toBe(200);
  });

  it('warns once when app.proxy is on without maxIpsCount (ctx.ip would be client-chosen)', async () => {
    const lines: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (_f: unknown, message: string) => void lines.push(message) };
    const app = new Koa();
    app.proxy = true;
    app.use(rateLimit({ logger }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const url = await listen(app);
    await send(url, '/');
    await send(url, '/');
    expect(lines.filter((l) => l.includes('maxIpsCount'))).toHaveLength(1);
  });
});

describe('admin routes on @koa/router', () => {
  it('registers every endpoint under the router prefix, with auth and validation', async () => {
    const { default: Router } = await import('@koa/router');
    const limiter = rateLimit({ clock: new ManualClock(0) });
    const admin = rateLimitAdminRoutes(new Router({ prefix: '/ops/limits' }), {
      limiter: limiter.limiter,
      authorize: (ctx) => (ctx.get('authorization') === '' ? 401 : ctx.get('authorization') === 'Bearer t'),
    });
    const app = new Koa();
    app.use(admin.routes()).use(admin.allowedMethods());
    app.use(limiter);
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const url = await listen(app);
    const auth = { authorization: 'Bearer t' };
    await send(url, '/anything');
    expect((await send(url, '/ops/limits/stats')).status).toBe(401);
    expect((await send(url, '/ops/limits/stats', { headers: { authorization: 'Bearer x' } })).status).toBe(403);
    expect((await send(url, '/ops/limits/stats?client_key=ip:127.0.0.1', { headers: auth })).status).toBe(200);
    expect((await send(url, '/ops/limits/reset/ip%3A127.0.0.1', { method: 'POST', headers: auth })).body).toEqual({
      client_key: 'ip:127.0.0.1',
      reset: true,
    });
    expect((await send(url, '/ops/limits/config?user_type=anonymous&capacity=5', { method: 'PUT', headers: auth })).status).toBe(200);
    expect((await send(url, '/ops/limits/cleanup?inactive_hours=x', { method: 'POST', headers: auth })).status).toBe(400);
    expect((await send(url, '/ops/limits/endpoint-cost?endpoint=/a&cost=2', { method: 'PUT', headers: auth })).status).toBe(200);
    // No admin route for DELETE: the request falls through to the app (allowedMethods answers 405 only
    // when nothing downstream does).
    expect((await send(url, '/ops/limits/stats', { method: 'DELETE', headers: auth })).text).toBe('ok');
  });
});

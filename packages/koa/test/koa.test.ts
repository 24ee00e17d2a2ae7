import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { LimiterError } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import { memoryLogger, send } from '@micboard/test-utils';
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

describe('koa: hooks answering with a thenable that is not a native promise', () => {
  // A promise library's promise: thenable, not instanceof Promise, and so is what its then returns.
  const wrap = <T>(promise: Promise<T>): PromiseLike<T> => ({
    then: (ok, fail) => wrap(promise.then(ok, fail)) as never,
  });
  const thenable = <T>(value: T): PromiseLike<T> => wrap(Promise.resolve(value));

  it('the global middleware and route limits wait for it as for a promise', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const skip = () => thenable(false) as unknown as Promise<boolean>;
    const app = new Koa();
    app.silent = true;
    app.use(rateLimit({ clock, skip, adaptive: false }));
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    const url = await listen(app);
    const res = await send(url, '/');
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-remaining']).toBe('59');
    const route = limit({ clock, max: 1, window: '1m', skip });
    const routed = new Koa();
    routed.silent = true;
    routed.use(route);
    routed.use((ctx) => {
      ctx.body = { ok: true };
    });
    const routedUrl = await listen(routed);
    expect((await send(routedUrl, '/')).status).toBe(200);
    expect((await send(routedUrl, '/')).status).toBe(429);
  });
});

describe('koa under a mount (koa-mount)', () => {
  /** What koa-mount does: strip the prefix from ctx.path, set ctx.mountPath, restore the path for upstream. */
  const mount =
    (prefix: string, middleware: Koa.Middleware): Koa.Middleware =>
    async (ctx, next) => {
      const prev = ctx.path;
      if (!(prev === prefix || prev.startsWith(`${prefix}/`))) return next();
      const stripped = prev.slice(prefix.length) || '/';
      (ctx as { mountPath?: string }).mountPath = prefix;
      ctx.path = stripped;
      await middleware(ctx, async () => {
        ctx.path = prev;
        await next();
        ctx.path = stripped;
      });
      ctx.path = prev;
    };

  it('endpoint costs see the full path, as in express', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const limiter = rateLimit({ clock, adaptive: false });
    const app = new Koa();
    app.use(
      mount('/api', async (ctx, next) => {
        await limiter(ctx, async () => {
          ctx.body = { path: ctx.path };
        });
        await next();
      }),
    );
    const url = await listen(app);
    const login = await send(url, '/api/v1/auth/login?x=1', { method: 'POST' });
    expect(login.body).toEqual({ path: '/v1/auth/login' });
    // The login costs 5, as the table says for /api/v1/auth/login.
    expect(login.headers['x-ratelimit-remaining']).toBe('55');
  });

  it('nested mounts, and a limiter reached after a mount handed the request back', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const body: Koa.Middleware = (ctx) => {
      ctx.body = {};
    };
    // mount('/api', mount('/v1', ...)): koa-mount's mountPath names the innermost mount only.
    const nested = new Koa();
    const inner = rateLimit({ clock, adaptive: false });
    nested.use(mount('/api', mount('/v1', (ctx, next) => inner(ctx, next))));
    nested.use(body);
    expect((await send(await listen(nested), '/api/v1/auth/login', { method: 'POST' })).headers['x-ratelimit-remaining']).toBe('55');
    // A mount whose middleware passes the request on: koa-mount restores the full path but leaves mountPath set.
    const after = new Koa();
    after.use(mount('/api', (_ctx, next) => next()));
    after.use(rateLimit({ clock, adaptive: false }));
    after.use(body);
    expect((await send(await listen(after), '/api/v1/auth/login', { method: 'POST' })).headers['x-ratelimit-remaining']).toBe('55');
  });
});

describe('koa route limits and a trust-everything proxy setup', () => {
  it.each([
    { setup: 'app.proxy with maxIpsCount 0', proxy: true, maxIpsCount: 0, warnings: 1 },
    { setup: 'app.proxy with maxIpsCount 1', proxy: true, maxIpsCount: 1, warnings: 0 },
    { setup: 'no app.proxy', proxy: false, maxIpsCount: 0, warnings: 0 },
  ])('$setup: a route limit alone warns $warnings time(s), through its logger', async ({ proxy, maxIpsCount, warnings }) => {
    const logger = memoryLogger();
    const app = new Koa();
    app.proxy = proxy;
    app.maxIpsCount = maxIpsCount;
    app.use(limit({ max: 10, window: '1m', logger }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const url = await listen(app);
    for (let i = 0; i < 3; i++) await send(url, '/', { headers: { 'x-forwarded-for': `10.0.0.${i}` } });
    expect(logger.lines.filter((l) => l.level === 'warn' && l.message.includes('maxIpsCount'))).toHaveLength(warnings);
  });

  it('a global limiter and its route limits warn once for the app, not once each', async () => {
    const logger = memoryLogger();
    const limiter = rateLimit({ logger });
    const app = new Koa();
    app.proxy = true;
    app.use(limiter);
    app.use(limiter.limit({ max: 10, window: '1m' }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const url = await listen(app);
    for (let i = 0; i < 3; i++) await send(url, '/');
    expect(logger.lines.filter((l) => l.level === 'warn' && l.message.includes('maxIpsCount'))).toHaveLength(1);
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

  it('a client_key with invalid URL encoding is a 400, as with the prefix middleware', async () => {
    const { default: Router } = await import('@koa/router');
    const limiter = rateLimit();
    const admin = rateLimitAdminRoutes(new Router({ prefix: '/admin/rate-limit' }), { limiter: limiter.limiter, authorize: () => true });
    const app = new Koa();
    app.use(admin.routes()).use(admin.allowedMethods());
    app.use(limiter.admin({ prefix: '/admin2', authorize: () => true }));
    const url = await listen(app);
    expect((await send(url, '/admin2/reset/%E0%A4%A', { method: 'POST' })).status).toBe(400);
    const routed = await send(url, '/admin/rate-limit/reset/%E0%A4%A', { method: 'POST' });
    expect(routed.status).toBe(400);
    expect((routed.body as { detail: string }).detail).toContain('not valid URL encoding');
    // A valid encoding still decodes, with a trailing slash too.
    for (const path of ['/admin/rate-limit/reset/ip%3A127.0.0.1', '/admin/rate-limit/reset/ip%3A127.0.0.1/']) {
      expect((await send(url, path, { method: 'POST' })).body).toMatchObject({ client_key: 'ip:127.0.0.1' });
    }
  });
});

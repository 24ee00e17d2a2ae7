import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { LimiterError } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import { send } from '@micboard/test-utils';
import { limit, rateLimit, rateLimitAdmin } from '../src/index.js';

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

  it('a standalone limit() without a router limits per path', async () => {
    const clock = new ManualClock(0);
    const app = new Koa();
    app.use(limit({ max: 1, window: '1m', clock }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const url = await listen(app);
    expect((await send(url, '/a')).status).toBe(200);
    expect((await send(url, '/a')).status).toBe(429);
    expect((await send(url, '/b')).status).toBe(200);
  });
});

import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { LimiterError, type DecisionEvent } from '@micboard/limiter-core';
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

async function listen(app: express.Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('express adapter specifics', () => {
  it('bad options fail at construction, naming the option', () => {
    expect(() => rateLimit({ headers: 'fancy' as never })).toThrow(LimiterError);
    expect(() => limit({ max: 0, window: '1s' })).toThrow(/limit\.max/);
    expect(() => rateLimitAdmin({ limiter: rateLimit().limiter } as never)).toThrow(/authorize/);
  });

  it('works with no options (memory store, system clock)', async () => {
    const app = express();
    app.use(rateLimit());
    app.get('/', (_req, res) => void res.send('ok'));
    const res = await send(await listen(app), '/');
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBe('60');
  });

  it('under a mounted router: full paths for endpoint costs, route patterns for route limits', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const events: DecisionEvent[] = [];
    const limiter = rateLimit({ clock, adaptive: false, onDecision: (e) => events.push(e) });
    const router = express.Router();
    router.post('/auth/login', (_req, res) => void res.json({}));
    router.get('/items/:id', limiter.limit({ max: 2, window: '1m', onDecision: (e) => events.push(e) }), (_req, res) => void res.json({}));
    const app = express();
    app.use('/api/v1', limiter, router);
    const url = await listen(app);
    expect((await send(url, '/api/v1/auth/login', { method: 'POST' })).headers['x-ratelimit-remaining']).toBe('55');
    await send(url, '/api/v1/items/1');
    await send(url, '/api/v1/items/2');
    expect((await send(url, '/api/v1/items/3')).status).toBe(429);
    const routeEvents = events.filter((e) => e.limiter !== 'global');
    expect(routeEvents.map((e) => e.route)).toEqual(['/api/v1/items/:id', '/api/v1/items/:id', '/api/v1/items/:id']);
    expect(routeEvents[0]?.limiter).toBe('/api/v1/items/:id 2/60000ms');
  });

  it('a standalone limit() has its own memory store; several separate ones still compose', async () => {
    const app = express();
    const clock = new ManualClock(0);
    app.get('/x', limit({ max: 3, window: '1m', clock }), limit({ max: 1, window: '1m', clock, name: 'tight' }), (_req, res) => void res.json({}));
    const url = await listen(app);
    expect((await send(url, '/x')).status).toBe(200);
    expect((await send(url, '/x')).status).toBe(429);
    clock.advance(60_000);
    expect((await send(url, '/x')).status).toBe(200);
  });

  it('admin: first value of a repeated query parameter, HEAD has no body', async () => {
    const limiter = rateLimit();
    const app = express();
    app.use('/admin', limiter.admin({ authorize: () => true }));
    const url = await listen(app);
    const put = await send(url, '/admin/config?user_type=authenticated&user_type=root&capacity=10', { method: 'PUT' });
    expect(put.status).toBe(200);
    expect(put.headers['cache-control']).toBe('no-store');
    const head = await send(url, '/admin/stats', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });
});

import { once } from 'node:events';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage } from 'node:http';
import { createLimiter, LimiterError, type DecisionEvent } from '@micboard/limiter-core';
import { createReferenceStore, ManualClock } from '@micboard/limiter-core/testing';
import { memoryLogger, send } from '@micboard/test-utils';
import { createWebhookSender, limit, rateLimit, rateLimitAdmin } from '../src/index.js';

// express 4 ships no types of its own; its app has the surface the adapter uses (see express4.test.ts).
const express4 = createRequire(import.meta.url)('express4') as typeof express;

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

  it('a limit mounted with app.use counts every path under it together (a varied path is no way past it)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const app = express();
    app.use('/api/items', limit({ clock, max: 2, window: '1m' }));
    app.use('/api/other', limit({ clock, max: 2, window: '1m', name: 'other' }));
    app.use((_req, res) => void res.json({}));
    const url = await listen(app);
    const statuses: number[] = [];
    for (const path of ['/api/items/1', '/api/items/2', '/API/items/3/', '/api/items/4?x=1']) statuses.push((await send(url, path)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    // Another mount point keeps its own counter when named (unnamed, the same limit would share one).
    expect((await send(url, '/api/other/1')).status).toBe(200);
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

  for (const [name, framework] of [
    ['express 5', express],
    ['express 4', express4],
  ] as const) {
    it(`${name}: a route limit in a mounted router counts once for every case spelling of the mount path`, async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const events: DecisionEvent[] = [];
      const app = framework();
      // The router of the express under test: express 4's differs from express 5's.
      const router = framework.Router();
      router.get('/data', limit({ clock, max: 2, window: '1m', onDecision: (e) => events.push(e) }), (_req, res) => void res.json({ ok: true }));
      app.use('/api', router);
      const url = await listen(app);
      const statuses: number[] = [];
      // express matches mount paths case-insensitively: every spelling reaches the same handler.
      for (const path of ['/api/data', '/api/data', '/api/data', '/API/data', '/API/data', '/Api/data', '/aPi/data']) {
        statuses.push((await send(url, path)).status);
      }
      expect(statuses).toEqual([200, 200, 429, 429, 429, 429, 429]);
      expect(new Set(events.map((e) => e.limiter))).toEqual(new Set(['/api/data 2/60000ms']));
    });
  }

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

  it('rateLimit({ limiter }) shares an engine the app made with the admin API', async () => {
    const clock = new ManualClock(0);
    const limiter = createLimiter({ store: createReferenceStore({ clock }), clock, adaptive: false });
    const app = express();
    app.use('/admin', rateLimitAdmin({ limiter, authorize: () => true }));
    app.use(rateLimit({ limiter }));
    app.get('/', (_req, res) => void res.send('ok'));
    const url = await listen(app);
    expect((await send(url, '/')).headers['x-ratelimit-remaining']).toBe('59');
    expect((await send(url, '/admin/reset/ip%3A127.0.0.1', { method: 'POST' })).body).toEqual({ client_key: 'ip:127.0.0.1', reset: true });
    expect((await send(url, '/')).headers['x-ratelimit-remaining']).toBe('59');
  });

  it.each([
    ['true', true, true],
    ['a function trusting every address', true, () => true],
    ["'loopback'", false, 'loopback'],
    ['1 (one proxy)', false, 1],
    ['a function trusting loopback', false, (addr: string) => addr === '127.0.0.1'],
    ['false', false, false],
  ])('with trust proxy %s, warns once that clients pick their key: %s', async (_name, warns, trustProxy) => {
    const logger = memoryLogger();
    const limiter = rateLimit({ logger });
    const app = express();
    app.set('trust proxy', trustProxy);
    app.use(limiter);
    app.get('/', (_req, res) => void res.send('ok'));
    app.get('/limited', limit({ max: 10, window: '1m', logger }), (_req, res) => void res.send('ok'));
    const url = await listen(app);
    for (let i = 0; i < 3; i++) {
      expect((await send(url, '/', { headers: { 'x-forwarded-for': `10.0.0.${i}` } })).status).toBe(200);
      expect((await send(url, '/limited', { headers: { 'x-forwarded-for': `10.0.0.${i}` } })).status).toBe(200);
    }
    const warnings = logger.lines.filter((line) => line.level === 'warn' && line.message.includes('leftmost X-Forwarded-For'));
    // Once for the app (not per request, nor again for the route limit), whichever middleware saw it first.
    expect(warnings).toHaveLength(warns ? 1 : 0);

    // A route limit with no global limiter in front checks too.
    const aloneLogger = memoryLogger();
    const alone = express();
    alone.set('trust proxy', trustProxy);
    alone.get('/', limit({ max: 10, window: '1m', logger: aloneLogger }), (_req, res) => void res.send('ok'));
    const aloneUrl = await listen(alone);
    for (let i = 0; i < 2; i++) await send(aloneUrl, '/', { headers: { 'x-forwarded-for': `10.0.0.${i}` } });
    expect(aloneLogger.lines.filter((line) => line.message.includes('leftmost X-Forwarded-For'))).toHaveLength(warns ? 1 : 0);

    // A route limit with no logger, reached first, leaves the warning to the global limiter behind it.
    const laterLogger = memoryLogger();
    const later = express();
    later.set('trust proxy', trustProxy);
    later.get('/quiet', limit({ max: 10, window: '1m' }), (_req, res) => void res.send('ok'));
    later.use('/api', rateLimit({ logger: laterLogger }));
    later.get('/api', (_req, res) => void res.send('ok'));
    const laterUrl = await listen(later);
    await send(laterUrl, '/quiet', { headers: { 'x-forwarded-for': '10.0.0.1' } });
    await send(laterUrl, '/api', { headers: { 'x-forwarded-for': '10.0.0.1' } });
    expect(laterLogger.lines.filter((line) => line.message.includes('leftmost X-Forwarded-For'))).toHaveLength(warns ? 1 : 0);
  });

  it('admin: a throw while writing the answer goes to next, never to an unhandled rejection', async () => {
    const middleware = rateLimitAdmin({ limiter: rateLimit().limiter, authorize: () => true });
    const failure = new Error('write failed');
    const res = {
      headersSent: false,
      statusCode: 200,
      setHeader: () => {
        throw failure;
      },
      end: () => undefined,
    };
    const passed = await Promise.race([
      new Promise<unknown>((resolve) => {
        middleware({ method: 'GET', path: '/stats', query: {} } as never, res as never, resolve);
      }),
      new Promise((resolve) => setTimeout(() => resolve('next was never called'), 1_000)),
    ]);
    expect(passed).toBe(failure);
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

describe('notifications through a webhook', () => {
  async function receiver(answer: (body: string) => number | 'hang') {
    const bodies: string[] = [];
    const pending: (() => void)[] = [];
    let arrived: () => void = () => {};
    const first = new Promise<void>((resolve) => (arrived = resolve));
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        bodies.push(body);
        arrived();
        const status = answer(body);
        if (status === 'hang') pending.push(() => res.destroy());
        else res.writeHead(status).end();
      });
    });
    server.listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, release: () => pending.splice(0).forEach((f) => f()), first };
  }

  const app = async (onAlert: (alert: never) => unknown) => {
    const limiter = rateLimit({
      adaptive: false,
      profiles: { anonymous: { capacity: 1, refillPerSecond: 0.001, burst: 0 } },
      notify: { threshold: 2, within: '1m', onAlert: onAlert as never },
    });
    const a = express();
    a.use(limiter);
    a.get('/', (_req, res) => void res.send('ok'));
    return listen(a);
  };

  it('POSTs the alert to the webhook, retrying a 503', async () => {
    let calls = 0;
    const hook = await receiver(() => (++calls === 1 ? 503 : 204));
    const sleeps: number[] = [];
    const onAlert = createWebhookSender({ url: hook.url, sleep: async (ms) => void sleeps.push(ms), retry: { jitter: 'none' } });
    let delivered: Promise<void> | undefined;
    const url = await app((alert) => (delivered = onAlert(alert)));
    for (let i = 0; i < 3; i++) await send(url, '/');
    await delivered;
    expect(hook.bodies).toHaveLength(2);
    expect(JSON.parse(hook.bodies[1] ?? '')).toMatchObject({ key: 'ip:127.0.0.1', limiter: 'global', denials: 2 });
    expect(sleeps).toEqual([500]);
  });

  it('a webhook that never answers does not slow requests down', async () => {
    const hook = await receiver(() => 'hang');
    const onAlert = createWebhookSender({ url: hook.url, timeoutMs: 60_000, retry: { retries: 0 } });
    const url = await app(onAlert);
    const started = performance.now();
    for (let i = 0; i < 10; i++) expect((await send(url, '/')).status).toBe(i === 0 ? 200 : 429);
    // Ten loopback requests; a blocked one would wait for the 60 s webhook timeout.
    expect(performance.now() - started).toBeLessThan(5_000);
    await hook.first; // the alert did go out, and is still waiting for an answer
    expect(hook.bodies).toHaveLength(1);
    hook.release();
  });
});

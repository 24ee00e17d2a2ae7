/**
 * HTTP server process for the autocannon runs: one app variant per process, so the load
 * generator and the server never share an event loop. Tells the parent its port over IPC and
 * exits when the parent disconnects.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import Router from '@koa/router';
import express from 'express';
import { rateLimit, type Store as ErlStore } from 'express-rate-limit';
import { Redis } from 'ioredis';
import Koa from 'koa';
import ratelimit from 'koa-ratelimit';
import { RedisStore } from 'rate-limit-redis';
import type { HttpVariant } from '../lib/names.js';
import { mountOurs, Unavailable } from '../lib/ours-http.js';


interface ServerPayload {
  readonly variant: HttpVariant;
  readonly redisPort?: number;
}

// Far above the load: the runs measure limiter overhead on admitted requests, not 429s.
const HIGH = 1e12;
const body = { ok: true, data: [1, 2, 3] };

/**
 * The `-headers` reference variants: the three headers our middleware sends, under the same
 * lower-case names and with values of the same lengths as ours in this run, set as constants and
 * nothing else. What sending the headers costs by itself, with no limiter behind them: the floor
 * of any limiter that sends them.
 */
const REFERENCE_HEADERS: readonly (readonly [string, string])[] = [
  ['x-ratelimit-limit', '2000000000'],
  ['x-ratelimit-remaining', '1999999999'],
  ['x-ratelimit-reset', '1795665302'],
];
function setReferenceHeaders(res: { setHeader(name: string, value: string): unknown }): void {
  for (const [name, value] of REFERENCE_HEADERS) res.setHeader(name, value);
}

function redisClient(port: number | undefined): Redis {
  if (port === undefined) throw new Error('this variant needs redisPort');
  return new Redis({ host: '127.0.0.1', port, enableAutoPipelining: false, maxRetriesPerRequest: 1 });
}

async function start({ variant, redisPort }: ServerPayload): Promise<{ server: Server; cleanup: () => void }> {
  const [framework, ...rest] = variant.split('-');
  const limiter = rest.join('-');
  const clients: Redis[] = [];
  const cleanup = (): void => clients.forEach((client) => client.disconnect());
  if (framework === 'express') {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    if (limiter === 'rate-limit' || limiter === 'rate-limit-redis') {
      let store: ErlStore | undefined;
      if (limiter === 'rate-limit-redis') {
        const client = redisClient(redisPort);
        clients.push(client);
        store = new RedisStore({ sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<never> });
      }
      // Its defaults (draft-6 `RateLimit-*` and legacy `X-RateLimit-*` headers on).
      app.use(rateLimit({ windowMs: 3_600_000, limit: HIGH, ...(store ? { store } : {}) }));
    } else if (limiter === 'headers') {
      app.use((_req, res, next) => {
        setReferenceHeaders(res);
        next();
      });
    } else if (limiter === 'headers-redis') {
      // The floor of any limiter on Redis: one round trip per request (a bare EVALSHA of
      // `return 1`, on a connection set up as the limiters' are), then the reference headers.
      const client = redisClient(redisPort);
      clients.push(client);
      const sha = (await client.script('LOAD', 'return 1')) as string;
      app.use((_req, res, next) => {
        client.evalsha(sha, 0).then(() => {
          setReferenceHeaders(res);
          next();
        }, next);
      });
    } else if (limiter.startsWith('ours')) {
      const client = limiter === 'ours-redis' ? redisClient(redisPort) : undefined;
      if (client) clients.push(client);
      await mountOurs('express', app, client);
    }
    app.get('/api/data', (_req, res) => {
      res.json(body);
    });
    return { server: await listen(app), cleanup };
  }
  const app = new Koa();
  if (limiter === 'ratelimit') {
    app.use(ratelimit({ driver: 'memory', db: new Map(), duration: 3_600_000, max: HIGH, id: (ctx) => ctx.ip }));
  } else if (limiter === 'headers') {
    app.use((ctx, next) => {
      setReferenceHeaders(ctx.res);
      return next();
    });
  } else if (limiter === 'ours') {
    await mountOurs('koa', app, undefined);
  }
  const router = new Router();
  router.get('/api/data', (ctx) => {
    ctx.body = body;
  });
  app.use(router.routes());
  return { server: await listen(app.callback()), cleanup };
}

function listen(handler: RequestListener): Promise<Server> {
  return new Promise<Server>((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const payload = JSON.parse(process.argv[2] ?? '{}') as ServerPayload;
start(payload).then(
  ({ server, cleanup }) => {
    const address = server.address();
    process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
    process.on('disconnect', () => {
      cleanup();
      server.closeAllConnections();
      server.close(() => process.exit(0));
    });
  },
  (error: unknown) => {
    const reply =
      error instanceof Unavailable
        ? { unavailable: error.message }
        : { error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    process.send?.(reply, () => process.exit(0));
  },
);

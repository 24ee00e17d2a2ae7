import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { AdapterHarness, TestLimit, TestLimitBy } from '@micboard/test-utils';
import { rateLimit } from '../src/index.js';

function keyFunction(by: TestLimitBy | undefined): 'ip' | 'user' | ((req: express.Request) => string | undefined) | undefined {
  if (by === undefined || by === 'ip' || by === 'user') return by;
  if ('header' in by) return (req) => req.get(by.header);
  return (req) => (typeof req.query[by.query] === 'string' ? (req.query[by.query] as string) : undefined);
}

function limitOptions(limit: TestLimit) {
  const by = keyFunction(limit.by);
  return {
    max: limit.max,
    window: limit.window as `${number}s`,
    ...(by === undefined ? {} : { by }),
    ...(limit.algorithm === undefined ? {} : { algorithm: limit.algorithm }),
    ...(limit.name === undefined ? {} : { name: limit.name }),
    ...(limit.headers === undefined ? {} : { headers: limit.headers }),
  };
}

/** Builds an app from the suite's description with the given express (5, or 4 to prove the peer range). */
export function createExpressHarness(name: string, createApp: () => express.Express): AdapterHarness {
  return {
    name,
    async start(spec) {
      const app = createApp();
      app.set('trust proxy', spec.trustProxy === true ? 'loopback' : false);
      const { skipHeader, onLimited, ...global } = spec.global === false ? { skipHeader: undefined, onLimited: undefined } : spec.global;
      const limiter = rateLimit({
        ...global,
        store: spec.store,
        clock: spec.clock,
        ...(spec.logger === undefined ? {} : { logger: spec.logger }),
        getUserId: (req) => req.get('x-user') || undefined,
        ...(skipHeader === undefined ? {} : { skip: (req: express.Request) => req.get(skipHeader) !== undefined }),
        ...(onLimited === undefined ? {} : { onLimited: (_req: express.Request, event: Parameters<typeof onLimited>[0]) => onLimited(event) }),
      });
      if (spec.answeredFirst === true) {
        app.use((_req, res, next) => {
          res.status(503).json({ answeredFirst: true });
          next();
        });
      }
      // The admin API goes before the global limiter, so an operator is never rate limited out of it.
      if (spec.admin) {
        const { authorize } = spec.admin;
        app.use(spec.admin.prefix, limiter.admin({ authorize: (req) => authorize(req.headers) }));
      }
      if (spec.global !== false) app.use(limiter);
      for (const route of spec.routes) {
        const limits = route.limits ?? [];
        const middlewares =
          limits.length === 0
            ? []
            : route.separateMiddlewares === true
              ? limits.map((l) => limiter.limit(limitOptions(l)))
              : limits.length === 1
                ? [limiter.limit(limitOptions(limits[0] as TestLimit))]
                : [limiter.limit({ limits: limits.map(limitOptions) })];
        const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'delete';
        app[method](route.path, ...middlewares, (_req: express.Request, res: express.Response) => {
          if (res.headersSent) return;
          if (route.unfinished === true) {
            res.status(route.status ?? 200).setHeader('Content-Type', 'application/json');
            res.write('{"ok":');
            return;
          }
          res.status(route.status ?? 200).json({ ok: true });
        });
      }
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const { port } = server.address() as AddressInfo;
      return {
        url: `http://127.0.0.1:${port}`,
        limiter: limiter.limiter,
        close: () =>
          new Promise<void>((resolve, reject) => {
            server.close((error) => (error ? reject(error) : resolve()));
            server.closeAllConnections();
          }),
      };
    },
  };
}

/** Express 5. */
export const expressHarness = createExpressHarness('express', () => express());

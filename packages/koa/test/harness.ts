import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import type { AdapterHarness, TestLimit, TestLimitBy } from '@micboard/test-utils';
import { rateLimit } from '../src/index.js';

function keyFunction(by: TestLimitBy | undefined): 'ip' | 'user' | ((ctx: Koa.Context) => string | undefined) | undefined {
  if (by === undefined || by === 'ip' || by === 'user') return by;
  if ('header' in by) return (ctx) => ctx.get(by.header) || undefined;
  return (ctx) => (typeof ctx.query[by.query] === 'string' ? (ctx.query[by.query] as string) : undefined);
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

/** Builds a koa app (routes on @koa/router) from the suite's description. */
export const koaHarness: AdapterHarness = {
  name: 'koa',
  async start(spec) {
    const app = new Koa();
    app.proxy = spec.trustProxy === true;
    // One proxy in front: take the address it appended, not the client-supplied leftmost one.
    app.maxIpsCount = 1;
    app.silent = true;
    const { skipHeader, onLimited, ...global } = spec.global === false ? { skipHeader: undefined, onLimited: undefined } : spec.global;
    const limiter = rateLimit({
      ...global,
      store: spec.store,
      clock: spec.clock,
      ...(spec.logger === undefined ? {} : { logger: spec.logger }),
      getUserId: (ctx) => ctx.get('x-user') || undefined,
      ...(skipHeader === undefined ? {} : { skip: (ctx: Koa.Context) => ctx.get(skipHeader) !== '' }),
      ...(onLimited === undefined ? {} : { onLimited: (_ctx: Koa.Context, event: Parameters<typeof onLimited>[0]) => onLimited(event) }),
    });
    if (spec.answeredFirst === true) {
      app.use(async (ctx, next) => {
        ctx.respond = false;
        ctx.res.writeHead(503, { 'content-type': 'application/json' }).end('{"answeredFirst":true}');
        await next();
      });
    }
    if (spec.admin) {
      const { authorize } = spec.admin;
      app.use(limiter.admin({ prefix: spec.admin.prefix, authorize: (ctx) => authorize(ctx.headers) }));
    }
    if (spec.global !== false) app.use(limiter);
    const router = new Router();
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
      router[method](route.path, ...middlewares, (ctx: Koa.Context) => {
        ctx.status = route.status ?? 200;
        if (route.unfinished === true) {
          const body = new PassThrough();
          body.write('{"ok":');
          ctx.type = 'json';
          ctx.body = body;
          return;
        }
        ctx.body = { ok: true };
      });
    }
    app.use(router.routes());
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

import type * as Koa from 'koa';
import { createAdminApi, invalidOption, queryReader, type AdminOptions } from '@micboard/limiter-core';

/** Options of {@link rateLimitAdmin}. */
export interface AdminMiddlewareOptions extends AdminOptions<Koa.Context> {
  /**
   * The path the admin API lives under, e.g. `'/admin/rate-limit'`. Requests outside it pass
   * through. (With @koa/router, use {@link rateLimitAdminRoutes} instead.)
   * @default '' (the middleware answers every request it sees)
   */
  readonly prefix?: string;
}

/**
 * The admin API (seed 2's endpoints) as koa middleware under `prefix`: `GET stats`,
 * `POST reset/:client_key`, `PUT config`, `POST cleanup`, `PUT endpoint-cost`. Refuses to be
 * created without `authorize`.
 *
 * @example
 * app.use(rateLimitAdmin({ limiter: limiter.limiter, prefix: '/admin/rate-limit', authorize: (ctx) => ctx.get('x-admin-token') === token }));
 */
export function rateLimitAdmin(options: AdminMiddlewareOptions): Koa.Middleware {
  const api = createAdminApi<Koa.Context>(options);
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && (!prefix.startsWith('/') || prefix.endsWith('/')))) {
    throw invalidOption('prefix', prefix, "a path such as '/admin/rate-limit' (leading slash, no trailing slash)");
  }
  return async function rateLimitAdminMiddleware(ctx, next) {
    const path = ctx.path;
    // koa's path is null for a target its URL parser takes for a host ('//a@b'): not an admin path.
    if (typeof path !== 'string') return next();
    if (prefix !== '' && !(path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === '/'))) {
      return next();
    }
    const answer = await api.handle(ctx, { method: ctx.method, path: path.slice(prefix.length) || '/', query: queryReader(ctx.query) });
    ctx.status = answer.status;
    for (const name in answer.headers) ctx.set(name, answer.headers[name] as string);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = answer.body;
  };
}

/** The last segment of a path, without a trailing slash: `'/a/reset/ip%3A1/'` gives `'ip%3A1'`. */
function lastSegment(path: string): string {
  const end = path.endsWith('/') ? path.length - 1 : path.length;
  return path.slice(path.lastIndexOf('/', end - 1) + 1, end);
}

/** The part of a @koa/router `Router` the admin routes need (structural, so @koa/router stays an optional peer). */
export interface AdminRouterLike {
  get(path: string, middleware: Koa.Middleware): unknown;
  post(path: string, middleware: Koa.Middleware): unknown;
  put(path: string, middleware: Koa.Middleware): unknown;
}

/**
 * Registers the admin API's routes on a @koa/router `Router`, whose own `prefix` is where they
 * live: `GET /stats`, `POST /reset/:client_key`, `PUT /config`, `POST /cleanup`,
 * `PUT /endpoint-cost`. Add `router.allowedMethods()` for 405s. Refuses to run without `authorize`.
 *
 * @example
 * const admin = new Router({ prefix: '/admin/rate-limit' });
 * rateLimitAdminRoutes(admin, { limiter: limiter.limiter, authorize: (ctx) => ctx.get('x-admin-token') === token });
 * app.use(admin.routes()).use(admin.allowedMethods());
 */
export function rateLimitAdminRoutes<T extends AdminRouterLike>(router: T, options: AdminOptions<Koa.Context>): T {
  const api = createAdminApi<Koa.Context>(options);
  const route =
    (path: (ctx: Koa.Context) => string): Koa.Middleware =>
    async (ctx) => {
      const answer = await api.handle(ctx, { method: ctx.method, path: path(ctx), query: queryReader(ctx.query) });
      ctx.status = answer.status;
      for (const name in answer.headers) ctx.set(name, answer.headers[name] as string);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = answer.body;
    };
  router.get('/stats', route(() => '/stats'));
  // The admin API decodes the raw segment itself, and answers 400 for invalid URL encoding: the router's
  // decoded parameter cannot be used, since @koa/router hands over the raw text when decoding fails. The
  // parameter is the path's last segment (it holds no '/'), before a trailing slash the router allows.
  router.post('/reset/:client_key', route((ctx) => `/reset/${lastSegment(ctx.path)}`));
  router.put('/config', route(() => '/config'));
  router.post('/cleanup', route(() => '/cleanup'));
  router.put('/endpoint-cost', route(() => '/endpoint-cost'));
  return router;
}

import type * as Koa from 'koa';
import { createAdminApi, invalidOption, type AdminOptions } from '@micboard/limiter-core';

/** Options of {@link rateLimitAdmin}. */
export interface AdminMiddlewareOptions extends AdminOptions<Koa.Context> {
  /**
   * The path the admin API lives under, e.g. `'/admin/rate-limit'`. Requests outside it pass
   * through. With @koa/router, mount `router.all(prefix + '/(.*)')` style routes or use `adminRouter`.
   * @default '' (the middleware answers every request it sees: mount it on a router prefix)
   */
  readonly prefix?: string;
}

function queryOf(ctx: Koa.Context): (name: string) => string | undefined {
  const query = ctx.query;
  return (name) => {
    const value = query[name];
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    return undefined;
  };
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
    if (prefix !== '' && !(path.startsWith(prefix) && (path.length === prefix.length || path[prefix.length] === '/'))) {
      return next();
    }
    const answer = await api.handle(ctx, { method: ctx.method, path: path.slice(prefix.length) || '/', query: queryOf(ctx) });
    ctx.status = answer.status;
    for (const name in answer.headers) ctx.set(name, answer.headers[name] as string);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = answer.body;
  };
}

import type * as express from 'express';
import { createAdminApi, queryReader, type AdminOptions } from '@micboard/limiter-core';

/** Options of {@link rateLimitAdmin}: the engine to manage and the required `authorize`. */
export type AdminMiddlewareOptions = AdminOptions<express.Request>;

/**
 * The admin API (seed 2's endpoints) as express middleware, to mount under any prefix:
 * `GET stats`, `POST reset/:client_key`, `PUT config`, `POST cleanup`, `PUT endpoint-cost`.
 * Refuses to be created without `authorize`.
 *
 * @example
 * app.use('/admin/rate-limit', rateLimitAdmin({ limiter: limiter.limiter, authorize: (req) => req.get('x-admin-token') === token }));
 */
export function rateLimitAdmin(options: AdminMiddlewareOptions): express.RequestHandler {
  const api = createAdminApi<express.Request>(options);
  return function rateLimitAdminMiddleware(req, res, next) {
    api.handle(req, { method: req.method, path: req.path, query: queryReader(req.query as Record<string, unknown>) }).then((answer) => {
      // An earlier middleware (a timeout, say) may have answered while `authorize` or the store
      // decided: the response is its own, so nothing is written over it.
      if (res.headersSent) return;
      // A throw goes to express's error handling, never to an unhandled rejection (which ends the process).
      try {
        res.statusCode = answer.status;
        for (const name in answer.headers) res.setHeader(name, answer.headers[name] as string);
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.end(req.method === 'HEAD' ? undefined : JSON.stringify(answer.body));
      } catch (error) {
        next(error);
      }
    }, next);
  };
}

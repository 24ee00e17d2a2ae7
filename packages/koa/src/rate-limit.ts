import type * as Koa from 'koa';
import {
  createHttpLimiter,
  createRouteLimit,
  isThenable,
  safeUserId,
  silentLogger,
  type Clock,
  type HttpLimiterOptions,
  type HttpVerdict,
  type Limiter,
  type Logger,
  type RouteLimitOptions,
  type Store,
} from '@micboard/limiter-core';
import { createMemoryStore, type MemoryStoreOptions } from '@micboard/limiter-store';
import { rateLimitAdmin, type AdminMiddlewareOptions } from './admin.js';
import { defaultUserId, deny, setHeaders, toHttpRequest, warnIfEveryProxyTrusted } from './request.js';

/** Options of {@link rateLimit}: the engine's, the shared HTTP hooks, and an optional store. */
export interface RateLimitOptions extends Omit<HttpLimiterOptions<Koa.Context>, 'store' | 'latencyClock'> {
  /** Where state lives. @default the `limiter`'s store, else a memory store on the same clock and logger */
  readonly store?: Store;
  /** Measures store latency for `onDecision`, in ms. @default performance (monotonic, sub-ms) */
  readonly latencyClock?: Clock;
}

/** Options of a per-route limit: as the shared layer's, with the store optional. */
export type LimitOptions = Omit<RouteLimitOptions<Koa.Context>, 'store'> & { readonly store?: Store };

/** The global middleware, with route limits and the admin API bound to the same store. */
export interface RateLimitMiddleware extends Koa.Middleware {
  /** The engine: for tests, metrics and the admin API. */
  readonly limiter: Limiter;
  /**
   * A per-route limit on the same store, inheriting `getUserId`, `ipv6Subnet`, `clock`, `logger`
   * and the header style.
   * @example router.get('/api/data', limiter.limit({ max: 120, window: '60s' }), handler)
   */
  limit(options: LimitOptions): Koa.Middleware;
  /**
   * The admin API for this limiter.
   * @example app.use(limiter.admin({ prefix: '/admin/rate-limit', authorize: (ctx) => ctx.get('x-admin-token') === token }))
   */
  admin(options: Omit<AdminMiddlewareOptions, 'limiter'>): Koa.Middleware;
}

const performanceClock: Clock = { now: () => performance.now() };

function memoryStoreOptions(options: { readonly clock?: Clock | undefined; readonly logger?: Logger | undefined }): MemoryStoreOptions {
  const out: { clock?: Clock; logger?: Logger } = {};
  if (options.clock !== undefined) out.clock = options.clock;
  if (options.logger !== undefined) out.logger = options.logger;
  return out;
}

/**
 * The global adaptive middleware (seed 2) for koa: classify, key, endpoint cost, adaptive
 * multiplier, store, headers; 429 with `Retry-After` and `{ error, detail, retry_after }`; the
 * finished response's status feeds the client's adaptive score.
 *
 * @example
 * const limiter = rateLimit({ store: createMemoryStore(), headers: 'both' });
 * app.use(limiter);
 * router.get('/api/data', limiter.limit({ max: 120, window: '60s' }), handler);
 */
export function rateLimit(options: RateLimitOptions = {}): RateLimitMiddleware {
  const store = options.store ?? options.limiter?.store ?? createMemoryStore(memoryStoreOptions(options));
  const getUserId = options.getUserId ?? defaultUserId;
  const latencyClock = options.latencyClock ?? performanceClock;
  const http = createHttpLimiter<Koa.Context>({ ...options, store, getUserId, latencyClock });
  const RECORD = Symbol('rate-limit record key');
  type Recorded = Koa.Context['res'] & { [RECORD]?: string };
  function recordOnFinish(this: Recorded): void {
    const key = this[RECORD];
    // 'close' comes after 'finish', and also when the client hangs up first ('finish' then never comes:
    // a client aborting every response would keep its failures off the score). Before the headers went
    // out no status was decided, so there is nothing to record.
    if (key !== undefined && this.headersSent) http.finish(key, this.statusCode, this);
  }

  const apply = (ctx: Koa.Context, next: Koa.Next, verdict: HttpVerdict | undefined): Promise<void> | void => {
    if (verdict === undefined) return next();
    if (!verdict.allowed) {
      deny(ctx, verdict);
      return;
    }
    setHeaders(ctx, verdict.headers);
    if (verdict.recordKey !== undefined) {
      // The status is final only once the response is written (error handlers may still change it).
      (ctx.res as Recorded)[RECORD] = verdict.recordKey;
      ctx.res.on('close', recordOnFinish); // on, not once: once allocates a wrapper, and a response closes once anyway
    }
    return next();
  };

  let checkedProxySetup = false;
  const middleware = function rateLimitMiddleware(ctx: Koa.Context, next: Koa.Next): Promise<void> | void {
    if (!checkedProxySetup) {
      checkedProxySetup = true;
      warnIfEveryProxyTrusted(ctx, http.logger);
    }
    const verdict = http.check(ctx, toHttpRequest(ctx, safeUserId(getUserId, ctx)));
    // Any thenable, as core's chain() accepts: a hook or store answering with a promise library's
    // promise (not instanceof Promise) must not be taken for a verdict. Promise.resolve adopts it.
    if (isThenable(verdict)) return Promise.resolve(verdict).then((v) => apply(ctx, next, v));
    return apply(ctx, next, verdict);
  } as RateLimitMiddleware;

  const inherited = {
    store,
    getUserId,
    clock: http.clock,
    logger: http.logger,
    headers: http.headerStyle,
    latencyClock,
    ...(options.ipv6Subnet === undefined ? {} : { ipv6Subnet: options.ipv6Subnet }),
  };
  Object.defineProperty(middleware, 'limiter', { value: http.limiter, enumerable: true });
  middleware.limit = (limitOptions) => limit({ ...inherited, ...limitOptions });
  middleware.admin = (adminOptions) => rateLimitAdmin({ logger: http.logger, ...adminOptions, limiter: http.limiter });
  return middleware;
}

/**
 * A per-route limit (seed 1's decorators): sliding window per client by default. Several on one
 * route compose: a request denied by one does not use up the others (nor the global bucket).
 *
 * @example
 * router.get('/api/data', limit({ max: 120, window: '60s' }), handler);
 * router.get('/api/me', limit({ max: 100, window: '60s', by: 'user' }), handler);
 */
export function limit(options: LimitOptions): Koa.Middleware {
  const store = options.store ?? createMemoryStore(memoryStoreOptions(options));
  const getUserId = options.getUserId ?? defaultUserId;
  const route = createRouteLimit<Koa.Context>({ latencyClock: performanceClock, ...options, getUserId, store });
  const apply = (ctx: Koa.Context, next: Koa.Next, verdict: HttpVerdict | undefined): Promise<void> | void => {
    if (verdict === undefined) return next();
    if (!verdict.allowed) return deny(ctx, verdict);
    setHeaders(ctx, verdict.headers);
    return next();
  };
  const logger = options.logger ?? silentLogger;
  // The app is known only once a request arrives; a flag keeps the check off every later request.
  let checkedProxySetup = false;
  return function routeLimitMiddleware(ctx, next) {
    if (!checkedProxySetup) {
      checkedProxySetup = true;
      warnIfEveryProxyTrusted(ctx, logger);
    }
    const verdict = route.check(ctx, toHttpRequest(ctx, safeUserId(getUserId, ctx)));
    if (isThenable(verdict)) return Promise.resolve(verdict).then((v) => apply(ctx, next, v));
    return apply(ctx, next, verdict);
  };
}

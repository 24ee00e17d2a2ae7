import type * as express from 'express';
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
export interface RateLimitOptions extends Omit<HttpLimiterOptions<express.Request>, 'store' | 'latencyClock'> {
  /** Where state lives. @default the `limiter`'s store, else a memory store on the same clock and logger */
  readonly store?: Store;
  /** Measures store latency for `onDecision`, in ms. @default performance (monotonic, sub-ms) */
  readonly latencyClock?: Clock;
}

/** Options of a per-route limit made by {@link RateLimitMiddleware.limit}: store and settings come from the global limiter. */
export type LimitOptions = Omit<RouteLimitOptions<express.Request>, 'store'> & { readonly store?: Store };

/** The global middleware, with route limits and the admin API bound to the same store. */
export interface RateLimitMiddleware extends express.RequestHandler {
  /** The engine: for tests, metrics and the admin API. */
  readonly limiter: Limiter;
  /**
   * A per-route limit on the same store (so admin reset and stats cover it), inheriting
   * `getUserId`, `ipv6Subnet`, `clock`, `logger` and the header style.
   * @example app.get('/api/data', limiter.limit({ max: 120, window: '60s' }), handler)
   */
  limit(options: LimitOptions): express.RequestHandler;
  /**
   * The admin API for this limiter, to mount under any prefix.
   * @example app.use('/admin/rate-limit', limiter.admin({ authorize: (req) => req.get('x-admin-token') === token }))
   */
  admin(options: Omit<AdminMiddlewareOptions, 'limiter'>): express.RequestHandler;
}

const performanceClock: Clock = { now: () => performance.now() };

type Apply = (res: express.Response, next: express.NextFunction, verdict: HttpVerdict | undefined) => void;

/**
 * Applies a verdict that came after the middleware returned: a throw goes to express's error
 * handling, never to an unhandled rejection (which ends the process). No promise of its own.
 */
function applyLate(apply: Apply, res: express.Response, next: express.NextFunction, verdict: HttpVerdict | undefined): void {
  try {
    apply(res, next, verdict);
  } catch (error) {
    next(error);
  }
}

/**
 * The global adaptive middleware (seed 2): classifies the client, keys it (user, API key, or IP
 * with IPv6 grouped by subnet), charges the endpoint's cost against its token bucket scaled by
 * its adaptive score, sets the rate-limit headers, answers 429 with `Retry-After` and
 * `{ error, detail, retry_after }`, and feeds each response's status back into the score.
 *
 * @example
 * const limiter = rateLimit({ store: createMemoryStore(), headers: 'both' });
 * app.use(limiter);
 * app.get('/api/data', limiter.limit({ max: 120, window: '60s' }), handler);
 * app.use('/admin/rate-limit', limiter.admin({ authorize: (req) => req.get('x-admin-token') === token }));
 */
export function rateLimit(options: RateLimitOptions = {}): RateLimitMiddleware {
  const store = options.store ?? options.limiter?.store ?? createMemoryStore(memoryStoreOptions(options));
  const getUserId = options.getUserId ?? defaultUserId;
  const http = createHttpLimiter<express.Request>({
    ...options,
    store,
    getUserId,
    latencyClock: options.latencyClock ?? performanceClock,
  });
  /**
   * Feeds the response's status into the client's score once it has gone out. 'close' comes after
   * 'finish', and also when the client hangs up first ('finish' then never comes: a client aborting
   * every response would keep its failures off the score). Before the headers went out no status was
   * decided, so there is nothing to record.
   *
   * A closure per response rather than one shared listener reading the key from a property of `res`:
   * express swaps the prototype of every response, and a property added to such an object afterwards
   * cost more (about 2 µs a request) than the whole decision.
   */
  const recordWhenClosed = (res: express.Response, key: string): void => {
    res.on('close', () => {
      if (res.headersSent) http.finish(key, res.statusCode, res);
    });
  };

  const apply: Apply = (res, next, verdict) => {
    if (verdict === undefined) return next();
    if (!verdict.allowed) {
      deny(res, verdict);
      return;
    }
    setHeaders(res, verdict.headers);
    if (verdict.recordKey !== undefined) recordWhenClosed(res, verdict.recordKey);
    next();
  };

  // The app is known only once a request arrives; a flag keeps the check off every later request.
  let checkedProxySetup = false;
  const middleware = function rateLimitMiddleware(req: express.Request, res: express.Response, next: express.NextFunction): void {
    if (!checkedProxySetup) {
      checkedProxySetup = true;
      warnIfEveryProxyTrusted(req, http.logger);
    }
    const verdict = http.check(req, toHttpRequest(req, safeUserId(getUserId, req)));
    if (isThenable(verdict)) {
      verdict.then((v) => applyLate(apply, res, next, v), next);
      return;
    }
    apply(res, next, verdict);
  } as RateLimitMiddleware;

  const inherited = {
    store,
    getUserId,
    clock: http.clock,
    logger: http.logger,
    headers: http.headerStyle,
    latencyClock: options.latencyClock ?? performanceClock,
    ...(options.ipv6Subnet === undefined ? {} : { ipv6Subnet: options.ipv6Subnet }),
  };
  Object.defineProperty(middleware, 'limiter', { value: http.limiter, enumerable: true });
  middleware.limit = (limitOptions) => limit({ ...inherited, ...limitOptions });
  middleware.admin = (adminOptions) =>
    rateLimitAdmin({ logger: http.logger, ...adminOptions, limiter: http.limiter });
  return middleware;
}

function memoryStoreOptions(options: { readonly clock?: Clock | undefined; readonly logger?: Logger | undefined }): MemoryStoreOptions {
  const out: { clock?: Clock; logger?: Logger } = {};
  if (options.clock !== undefined) out.clock = options.clock;
  if (options.logger !== undefined) out.logger = options.logger;
  return out;
}

/**
 * A per-route limit (seed 1's `@rate_limit_view`, `@rate_limit_user`, custom key functions):
 * sliding window per client by default. Several on one route compose: a request denied by one
 * does not use up the others (nor the global bucket).
 *
 * @example
 * app.get('/api/data', limit({ max: 120, window: '60s' }), handler);
 * app.get('/api/me', limit({ max: 100, window: '60s', by: 'user' }), handler);
 * app.get('/api/v', limit({ max: 1000, window: '1h', by: (req) => req.query.api_key as string | undefined }), handler);
 */
export function limit(options: LimitOptions): express.RequestHandler {
  const store = options.store ?? createMemoryStore(memoryStoreOptions(options));
  const getUserId = options.getUserId ?? defaultUserId;
  const route = createRouteLimit<express.Request>({ latencyClock: performanceClock, ...options, getUserId, store });
  const apply: Apply = (res, next, verdict) => {
    if (verdict === undefined) return next();
    if (!verdict.allowed) return deny(res, verdict);
    setHeaders(res, verdict.headers);
    next();
  };
  const logger = options.logger ?? silentLogger;
  let checkedProxySetup = false;
  return function routeLimitMiddleware(req, res, next) {
    if (!checkedProxySetup) {
      checkedProxySetup = true;
      warnIfEveryProxyTrusted(req, logger);
    }
    const verdict = route.check(req, toHttpRequest(req, safeUserId(getUserId, req)));
    if (isThenable(verdict)) {
      verdict.then((v) => applyLate(apply, res, next, v), next);
      return;
    }
    apply(res, next, verdict);
  };
}

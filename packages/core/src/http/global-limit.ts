import { systemClock, type Clock } from '../clock.js';
import { createLimiter, type Limiter, type LimiterOptions, type LimitResult } from '../engine/index.js';
import { isThenable } from '../engine/maybe-promise.js';
import { invalidOption } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { cidrMatcher, type HeaderStyle } from '../policy/index.js';
import type { MaybePromise, Store } from '../types.js';
import { oneOf } from '../validate.js';
import { ledgerEnabled, noteTaken, refundTaken, wasDenied } from './ledger.js';
import { withSkip } from './skip.js';
import { createErrorLog } from '../log-throttle.js';
import { createDenialNotifier, type DenialNotifier, type NotifyOptions } from './notify.js';
import type { DecisionEvent, HttpHooks, HttpRequest, HttpVerdict } from './types.js';
import { admittedVerdicts, unavailableVerdict, verdictOf } from './verdict.js';

const HEADER_STYLES: readonly HeaderStyle[] = ['legacy', 'draft', 'both', 'none'];

/** Options of the global adaptive middleware, shared by the express and koa adapters. `R` is the framework's request. */
export interface HttpLimiterOptions<R> extends Omit<LimiterOptions, 'store'>, HttpHooks<R> {
  /** Where state lives. Required unless `limiter` is given (the adapters default it to a memory store). */
  readonly store?: Store;
  /**
   * An engine the app already made with `createLimiter` (e.g. shared with the admin API or a second
   * middleware). Then the engine options here (`store`, `profiles`, `adaptive`...) are not used.
   * @default a new engine from these options
   */
  readonly limiter?: Limiter;
  /**
   * The application's authentication result for a request: the user id, or undefined when
   * anonymous. A throw counts as anonymous.
   * @default none here; the adapters use `req.user?.id` (express) / `ctx.state.user?.id` (koa)
   */
  readonly getUserId?: (request: R) => string | undefined;
  /** Alert when a client keeps hitting its limit (N denials in M minutes). @default off */
  readonly notify?: NotifyOptions;
  /** Measures store latency for `onDecision`, in ms. @default the `clock` option */
  readonly latencyClock?: Clock;
  /**
   * Also send `X-RateLimit-UserType` (seed 2's header: `anonymous`, `authenticated`, `testing` or
   * `development`) with the legacy or both header styles. Off by default: it tells every client how
   * the limiter classified it, which helps a client probing for a way into a roomier class, and it
   * costs each response one more header.
   * @default false
   */
  readonly userTypeHeader?: boolean;
}

/** The framework-neutral global middleware: adapters translate, call `check`, write the verdict, call `finish`. */
export interface HttpLimiter<R> {
  /** The engine (shared with route limits and the admin API). */
  readonly limiter: Limiter;
  /** The options it was built with, for route limits and the admin API to inherit. */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly headerStyle: HeaderStyle;
  readonly getUserId: ((request: R) => string | undefined) | undefined;
  /**
   * Decides a request. Undefined means "skipped": let it through untouched. Never throws: a
   * store failure becomes a pass (fail open) or a 503 verdict (fail closed).
   */
  check(raw: R, request: HttpRequest): MaybePromise<HttpVerdict | undefined>;
  /**
   * Feeds a finished response's status into the client's adaptive score (fire and forget). Pass the
   * framework's `response` object: when a limiter answered it itself (see `noteDenied`), nothing is
   * recorded, since a 429 the limiter produced says nothing about the client's behaviour.
   */
  finish(key: string, status: number, response?: object): void;
}

/**
 * Warns once, through the logger, when X-Forwarded-For arrives and the framework trusts no proxy:
 * either the app sits behind a proxy it forgot to trust (every client then shares the proxy's
 * address), or clients are forging the header (which is then, rightly, ignored).
 */
export function createForwardedWarning(logger: Logger): (request: HttpRequest) => void {
  let warned = false;
  return (request) => {
    if (warned || request.trustProxy === true) return;
    if (request.headers['x-forwarded-for'] === undefined) return;
    warned = true;
    logger.warn(
      { ip: request.ip },
      'X-Forwarded-For received but no proxy is trusted: limiting by the socket address. ' +
        'If a proxy fronts this app, set express `trust proxy` / koa `app.proxy`; otherwise the header is forged.',
    );
  };
}

/** Checks the hooks every middleware shares, at construction. */
export function validateHooks<R>(options: HttpHooks<R>, prefix = ''): void {
  for (const name of ['skip', 'onLimited', 'onDecision'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'function') throw invalidOption(prefix + name, value, 'a function');
  }
  if (options.headers !== undefined) oneOf(`${prefix}headers`, options.headers, HEADER_STYLES);
  if (options.failMode !== undefined) oneOf(`${prefix}failMode`, options.failMode, ['open', 'closed'] as const);
  if (options.allowList !== undefined && !Array.isArray(options.allowList)) {
    throw invalidOption(`${prefix}allowList`, options.allowList, 'an array of IP addresses or CIDR ranges');
  }
}

/** Builds an allow-list test from addresses and CIDR ranges, or undefined when the list is empty. */
export function allowListOf(list: readonly string[] | undefined, option: string): ((ip: string) => boolean) | undefined {
  if (list === undefined || list.length === 0) return undefined;
  return cidrMatcher(list, option);
}

/**
 * Builds the global adaptive middleware's logic (seed 2): classify, key, endpoint cost,
 * adaptive multiplier, store, headers, 429. The adapters only translate and write.
 *
 * @example
 * const http = createHttpLimiter<express.Request>({ store: createMemoryStore() });
 * const verdict = http.check(req, { method, path, ip, headers, trustProxy });
 */
export function createHttpLimiter<R>(options: HttpLimiterOptions<R>): HttpLimiter<R> {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  validateHooks(options);
  if (options.getUserId !== undefined && typeof options.getUserId !== 'function') {
    throw invalidOption('getUserId', options.getUserId, 'a function');
  }
  if (options.limiter !== undefined && (typeof options.limiter !== 'object' || typeof options.limiter?.check !== 'function')) {
    throw invalidOption('limiter', options.limiter, 'a Limiter from createLimiter');
  }
  const limiter = options.limiter ?? createLimiter(options as LimiterOptions);
  const clock = options.clock ?? systemClock;
  const latencyClock = options.latencyClock ?? clock;
  const logger = options.logger ?? silentLogger;
  const style = options.headers ?? 'legacy';
  if (options.userTypeHeader !== undefined && typeof options.userTypeHeader !== 'boolean') {
    throw invalidOption('userTypeHeader', options.userTypeHeader, 'true or false');
  }
  const userTypeHeader = options.userTypeHeader === true;
  const failClosed = options.failMode === 'closed';
  const skip = options.skip;
  const allowed = allowListOf(options.allowList, 'allowList');
  const onLimited = options.onLimited;
  const onDecision = options.onDecision;
  const getUserId = options.getUserId;
  const notifier: DenialNotifier | undefined =
    options.notify === undefined ? undefined : createDenialNotifier(options.notify, clock, logger);
  const storeError = createErrorLog(logger, clock);
  const store = limiter.store;
  // Only the draft headers state a time relative to now; legacy ones are absolute. Skip the clock read otherwise.
  const usesNow = style === 'draft' || style === 'both';
  const storeNow = (): number => (!usesNow ? 0 : store.now ? store.now() : clock.now());
  const warnForwarded = createForwardedWarning(logger);
  const admitted = admittedVerdicts(style);

  const event = (
    request: HttpRequest,
    result: LimitResult | undefined,
    latency: number,
    error: unknown,
  ): DecisionEvent => ({
    limiter: 'global',
    route: request.route ?? request.path,
    method: request.method,
    key: result?.key,
    userType: result?.userType,
    allowed: result ? result.decision.allowed : !failClosed,
    cost: result ? result.cost : 0,
    limit: result?.decision.limit,
    remaining: result?.decision.remaining,
    storeLatencyMs: latency,
    storeError: error,
  });

  const decided = (raw: R, request: HttpRequest, result: LimitResult, startedAt: number): MaybePromise<HttpVerdict> => {
    const decision = result.decision;
    if (onDecision) {
      safely(logger, () => onDecision(event(request, result, latencyClock.now() - startedAt, undefined)));
    }
    if (decision.allowed) {
      if (ledgerEnabled()) {
        const consume = limiter.adaptive
          ? { key: result.key, spec: limiter.specFor(result), cost: result.cost, adaptive: limiter.adaptive }
          : { key: result.key, spec: limiter.specFor(result), cost: result.cost };
        noteTaken(raw as object, store, consume, decision.resetAt);
      }
      // An admitted request's response judges the client (our own 429 is judged below, once).
      return admitted(decision, storeNow(), userTypeHeader ? result.userType : undefined, undefined, limiter.adaptive ? result.key : undefined);
    }
    if (onLimited) safely(logger, () => onLimited(raw, event(request, result, latencyClock.now() - startedAt, undefined)));
    if (notifier) notifier(result.key, 'global');
    if (limiter.adaptive && ignoredRetryAfter(result.key, decision.retryAfter)) record(result.key, 429);
    const verdict = verdictOf(decision, { style, now: storeNow(), userType: userTypeHeader ? result.userType : undefined }, undefined);
    if (!ledgerEnabled()) return verdict;
    // Denied after a route limit mounted earlier admitted this request: give that back, so limits compose in either order.
    const refunded = refundTaken(raw as object);
    return isThenable(refunded) ? refunded.then(() => verdict) : verdict;
  };

  // The limiter's own 429 counts against a client only when the client asked again before the
  // Retry-After it had been given: a storm of ignored 429s is bad behaviour, a first 429 (or one
  // after waiting) is not, and counting every denial would spiral a single burst to the floor.
  // Per instance and bounded; on a shared store each instance judges what it answered.
  const deniedUntil = new Map<string, number>();
  const ignoredRetryAfter = (key: string, retryAfterMs: number): boolean => {
    const now = store.now ? store.now() : clock.now();
    const until = deniedUntil.get(key);
    if (until === undefined && deniedUntil.size >= 10_000) deniedUntil.clear();
    deniedUntil.set(key, now + retryAfterMs);
    return until !== undefined && now < until;
  };

  const record = (key: string, status: number): void => {
    try {
      const recorded = limiter.record(key, status);
      if (isThenable(recorded)) recorded.then(undefined, (error: unknown) => storeError(error, 'could not record a response'));
    } catch (error) {
      storeError(error, 'could not record a response');
    }
  };

  const failed = (request: HttpRequest, error: unknown, startedAt: number): HttpVerdict | undefined => {
    storeError(error, failClosed ? 'store failed; answering 503 (fail closed)' : 'store failed; letting requests through (fail open)');
    if (onDecision) safely(logger, () => onDecision(event(request, undefined, latencyClock.now() - startedAt, error)));
    return failClosed ? unavailableVerdict() : undefined;
  };

  const decide = (raw: R, request: HttpRequest): MaybePromise<HttpVerdict | undefined> => {
    warnForwarded(request);
    if (allowed && request.ip !== undefined && allowed(request.ip)) return undefined;
    const startedAt = onDecision ? latencyClock.now() : 0;
    // Adapters pass `userId` (even undefined) when they already asked getUserId: no copy on the hot path.
    const withUser = getUserId && !('userId' in request) ? { ...request, userId: safeUserId(getUserId, raw) } : request;
    let pending: MaybePromise<LimitResult>;
    try {
      pending = limiter.check(withUser);
    } catch (error) {
      return failed(withUser, error, startedAt);
    }
    if (isThenable(pending)) {
      return pending.then(
        (result) => decided(raw, withUser, result, startedAt),
        (error: unknown) => failed(withUser, error, startedAt),
      );
    }
    return decided(raw, withUser, pending, startedAt);
  };

  return {
    limiter,
    clock,
    logger,
    headerStyle: style,
    getUserId,
    check: withSkip(skip, logger, decide),
    finish(key, status, response) {
      if (response !== undefined && status >= 400 && wasDenied(response)) return;
      record(key, status);
    },
  };
}

/** Runs a user hook; a throwing hook is logged and never breaks the request. */
export function safely(logger: Logger, hook: () => unknown): void {
  try {
    const result = hook();
    if (isThenable(result as MaybePromise<unknown>)) {
      (result as Promise<unknown>).then(undefined, (error: unknown) => logger.error({ err: error }, 'rate limiter: hook failed'));
    }
  } catch (error) {
    logger.error({ err: error }, 'rate limiter: hook threw');
  }
}

/** Reads the user id through the app's function; a throw counts as anonymous rather than failing the request. */
export function safeUserId<R>(getUserId: (request: R) => string | undefined, raw: R): string | undefined {
  try {
    const id = getUserId(raw);
    return typeof id === 'string' && id !== '' ? id : typeof id === 'number' ? String(id) : undefined;
  } catch {
    return undefined;
  }
}

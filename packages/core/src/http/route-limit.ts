import { systemClock, type Clock } from '../clock.js';
import { consumeAll, type ComposedDecision } from '../engine/index.js';
import { isThenable } from '../engine/maybe-promise.js';
import type { Duration } from '../duration.js';
import { windowOption } from '../algorithms/fixed-window.js';
import { invalidOption } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { ipKey } from '../policy/index.js';
import type { ConsumeRequest, LimitSpec, MaybePromise, Store, StoreDecision } from '../types.js';
import { integer, oneOf, refillRate } from '../validate.js';
import { allowListOf, createForwardedWarning, safely, safeUserId, validateHooks } from './global-limit.js';
import { enableLedger, ledgerEnabled, noteTaken, refundTaken } from './ledger.js';
import { withSkip } from './skip.js';
import { createErrorLog, createOncePer } from '../log-throttle.js';
import { createDenialNotifier, type NotifyOptions } from './notify.js';
import type { DecisionEvent, HttpHooks, HttpRequest, HttpVerdict } from './types.js';
import { admittedVerdicts, unavailableVerdict, verdictOf } from './verdict.js';

/** The algorithm a route limit runs. Sliding window (exact) is seed 1's. */
export type RouteLimitAlgorithm = 'sliding-window' | 'fixed-window' | 'token-bucket' | 'gcra';

/** One limit on a route: at most `max` requests per `window`, per client. */
export interface RouteLimitRule<R> {
  /** Requests admitted per window, per client. Integer >= 1. */
  readonly max: number;
  /** The window: ms, or a duration such as `'60s'`, `'1h'`; a whole number of ms, at least 1. */
  readonly window: Duration;
  /**
   * Who the limit is per: `'ip'` (the client address, IPv6 grouped by subnet), `'user'` (the
   * authenticated user, seed 1's `@rate_limit_user`; anonymous requests fall back to the IP), or a
   * function returning a key (seed 1's `key_func`; undefined or empty falls back to the IP, so a
   * missing key is never a free pass). A function that returns a value the client sends (a query
   * parameter, a header) gives every new value its own counter: a client that makes up values
   * makes up budgets. Return such a value only after checking it (a known API key), or stack the
   * route limit with an IP limit.
   * @default 'ip'
   */
  readonly by?: 'ip' | 'user' | ((request: R) => string | undefined);
  /**
   * `'token-bucket'` and `'gcra'` refill at `max / window` per second, which must be at most
   * `MAX_REFILL_PER_SECOND` (10,000).
   * @default 'sliding-window'
   */
  readonly algorithm?: RouteLimitAlgorithm;
  /** For the sliding window: `'exact'` (a timestamp log) or `'approximate'` (two counters). @default 'exact' */
  readonly precision?: 'exact' | 'approximate';
  /**
   * The counter's name. Requests to routes sharing a name share one counter per client.
   * @default the matched route pattern with the limit, e.g. `'/api/data 120/60000ms'`. Where the framework
   * matched no route (a middleware mounted with `app.use`): `'*'` with the limit, never the request path,
   * since a client varying the path must not get a fresh counter per path; name such limits when two of
   * them with the same max and window should count apart. Express keeps no pattern for a router's mount
   * path, only the text that matched it (lower-cased here, as express matches it in any case): under a
   * parameterised mount (`app.use('/orgs/:org', router)`) each value (`/orgs/a`, `/orgs/b`) gets its own
   * counter, so a client making up values makes up budgets. Give such limits a `name`.
   */
  readonly name?: string;
  /** Units each request costs. Number > 0. @default 1 */
  readonly cost?: number;
}

/** Options of a per-route limit: one rule inline, or several in `limits` that compose. */
export interface RouteLimitOptions<R> extends HttpHooks<R>, Partial<RouteLimitRule<R>> {
  /**
   * Several limits on one route; a request denied by one does not use up the others. With
   * `limits`, a top-level `name` names the group: each rule counts under `name` plus its limit.
   */
  readonly limits?: readonly RouteLimitRule<R>[];
  /** Where counters live (the same store as the global middleware, so admin reset clears both). */
  readonly store: Store;
  /** The user id of a request, for `by: 'user'`. */
  readonly getUserId?: ((request: R) => string | undefined) | undefined;
  /** Group IPv6 clients by this prefix length, in bits. @default 56 */
  readonly ipv6Subnet?: number;
  /** Alert when a client keeps hitting this limit. @default off */
  readonly notify?: NotifyOptions;
  /** Time for log throttling. @default systemClock */
  readonly clock?: Clock;
  /** Measures store latency for `onDecision`, in ms. @default the `clock` option */
  readonly latencyClock?: Clock;
  /** Where warnings go. @default silentLogger */
  readonly logger?: Logger;
}

/** The framework-neutral per-route limit. */
export interface RouteLimit<R> {
  /** Decides a request; undefined means skipped. Never throws. */
  check(raw: R, request: HttpRequest): MaybePromise<HttpVerdict | undefined>;
}

interface CompiledRule<R> {
  readonly spec: LimitSpec;
  readonly cost: number;
  readonly windowSeconds: number;
  readonly by: 'ip' | 'user' | ((request: R) => string | undefined);
  readonly name: string | undefined;
  /** Appended to the route to name the counter when no name is given. */
  readonly suffix: string;
}

/** The counter's route part when the framework matched no route pattern. */
const UNROUTED = '*';

const ALGORITHMS: readonly RouteLimitAlgorithm[] = ['sliding-window', 'fixed-window', 'token-bucket', 'gcra'];

function compileRule<R>(rule: RouteLimitRule<R>, option: string): CompiledRule<R> {
  if (typeof rule !== 'object' || rule === null) throw invalidOption(option, rule, 'an object with max and window');
  const max = integer(`${option}.max`, rule.max, 1);
  const windowMs = windowOption(`${option}.window`, rule.window);
  const algorithm = oneOf(`${option}.algorithm`, rule.algorithm ?? 'sliding-window', ALGORITHMS);
  const precision = oneOf(`${option}.precision`, rule.precision ?? 'exact', ['exact', 'approximate'] as const);
  const by = rule.by ?? 'ip';
  if (by !== 'ip' && by !== 'user' && typeof by !== 'function') {
    throw invalidOption(`${option}.by`, by, "'ip', 'user' or a function returning a key");
  }
  const cost = rule.cost ?? 1;
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost <= 0) {
    throw invalidOption(`${option}.cost`, cost, 'a finite number greater than 0');
  }
  if (rule.name !== undefined && (typeof rule.name !== 'string' || rule.name === '')) {
    throw invalidOption(`${option}.name`, rule.name, 'a non-empty string');
  }
  let spec: LimitSpec;
  if (algorithm === 'sliding-window') spec = { algorithm, limit: max, windowMs, precision };
  else if (algorithm === 'fixed-window') spec = { algorithm, limit: max, windowMs };
  // A rate-shaped limit with the same long-run rate: max per window, no extra burst. The rate
  // passes the same check as any bucket's ({ max: 1000, window: '1ms' } would be 1,000,000 per second).
  else {
    const refillPerSecond = refillRate(`${option}.max / ${option}.window`, max / (windowMs / 1000));
    spec = { algorithm, capacity: max, refillPerSecond, burst: 0 };
  }
  const suffix = ` ${max}/${windowMs}ms${algorithm === 'sliding-window' ? '' : ` ${algorithm}`}`;
  return { spec, cost, windowSeconds: windowMs / 1000, by, name: rule.name, suffix };
}

/**
 * Builds a per-route limit (seed 1's `@rate_limit_view` / `@rate_limit_user`): sliding window
 * per client by default, 429 with `Retry-After` and `{ error, detail, retry_after }`.
 *
 * @example
 * const data = createRouteLimit<express.Request>({ store, max: 120, window: '60s' });
 * const verdict = data.check(req, { method, path, ip, headers, route: '/api/data' });
 */
export function createRouteLimit<R>(options: RouteLimitOptions<R>): RouteLimit<R> {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  validateHooks(options);
  const store = options.store;
  if (!store || typeof store.consume !== 'function') throw invalidOption('store', store, 'a Store');
  let rules: CompiledRule<R>[];
  if (options.limits !== undefined) {
    if (!Array.isArray(options.limits) || options.limits.length === 0) {
      throw invalidOption('limits', options.limits, 'a non-empty array of { max, window }');
    }
    if (options.max !== undefined) throw invalidOption('max', options.max, 'absent when limits is given');
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      throw invalidOption('name', options.name, 'a non-empty string');
    }
    const prefix = options.name;
    // A shared `name` names the group; each rule's counter is the name plus its limit, unless it has its own.
    rules = options.limits.map((rule, i) => {
      const compiled = compileRule(rule, `limits[${i}]`);
      return compiled.name === undefined && prefix !== undefined ? { ...compiled, name: prefix + compiled.suffix } : compiled;
    });
  } else {
    rules = [compileRule(options as RouteLimitRule<R>, 'limit')];
  }
  const ipv6Subnet = integer('ipv6Subnet', options.ipv6Subnet ?? 56, 1);
  if (ipv6Subnet > 128) throw invalidOption('ipv6Subnet', ipv6Subnet, 'an integer prefix length from 1 to 128');
  const getUserId = options.getUserId;
  const clock = options.clock ?? systemClock;
  const latencyClock = options.latencyClock ?? clock;
  const logger = options.logger ?? silentLogger;
  const style = options.headers ?? 'legacy';
  const failClosed = options.failMode === 'closed';
  const skip = options.skip;
  const allowed = allowListOf(options.allowList, 'allowList');
  const onLimited = options.onLimited;
  const onDecision = options.onDecision;
  const notifier = options.notify === undefined ? undefined : createDenialNotifier(options.notify, clock, logger);
  const storeError = createErrorLog(logger, clock);
  const warnOnce = createOncePer(clock);
  const warnForwarded = createForwardedWarning(logger);
  // Only the draft headers state a time relative to now; legacy ones are absolute. Skip the clock read otherwise.
  const usesNow = style === 'draft' || style === 'both';
  const storeNow = (): number => (!usesNow ? 0 : store.now ? store.now() : clock.now());
  const admitted = admittedVerdicts(style);
  enableLedger();

  const ipOf = (request: HttpRequest): string =>
    `ip:${(request.ip !== undefined && ipKey(request.ip, { ipv6Subnet })) || 'unknown'}`;

  const keyOf = (rule: CompiledRule<R>, raw: R, request: HttpRequest): string => {
    if (rule.by === 'ip') return ipOf(request);
    if (rule.by === 'user') {
      const id = request.userId ?? (getUserId ? safeUserId(getUserId, raw) : undefined);
      return id === undefined || id === '' ? ipOf(request) : `user:${id}`;
    }
    let custom: unknown;
    try {
      custom = rule.by(raw);
    } catch (error) {
      logger.error({ err: error }, 'rate limiter: key function threw; limiting by IP');
    }
    return typeof custom === 'string' && custom !== '' ? `key:${custom}` : ipOf(request);
  };

  const eventOf = (
    request: HttpRequest,
    limiterId: string,
    consume: ConsumeRequest | undefined,
    decision: StoreDecision | undefined,
    latency: number,
    error: unknown,
  ): DecisionEvent => ({
    limiter: limiterId,
    route: request.route ?? request.path,
    method: request.method,
    key: consume?.key,
    userType: undefined,
    allowed: decision ? decision.allowed : !failClosed,
    cost: consume?.cost ?? 0,
    limit: decision?.limit,
    remaining: decision?.remaining,
    storeLatencyMs: latency,
    storeError: error,
  });

  const decided = (
    raw: R,
    request: HttpRequest,
    consumes: ConsumeRequest[],
    composed: ComposedDecision,
    startedAt: number,
  ): MaybePromise<HttpVerdict> => {
    const latency = onDecision ? latencyClock.now() - startedAt : 0;
    if (onDecision) {
      composed.decisions.forEach((decision, i) => {
        const consume = consumes[i] as ConsumeRequest;
        safely(logger, () => onDecision(eventOf(request, consume.limitId as string, consume, decision, latency, undefined)));
      });
    }
    const now = storeNow();
    if (composed.allowed) {
      if (ledgerEnabled()) {
        for (let i = 0; i < consumes.length; i++) {
          noteTaken(raw as object, store, consumes[i] as ConsumeRequest, (composed.decisions[i] as StoreDecision).resetAt);
        }
      }
      // Show the tightest of the route's limits.
      let tightest = composed.decisions[0] as StoreDecision;
      let rule = rules[0] as CompiledRule<R>;
      for (let i = 1; i < composed.decisions.length; i++) {
        const decision = composed.decisions[i] as StoreDecision;
        if (decision.remaining < tightest.remaining) {
          tightest = decision;
          rule = rules[i] as CompiledRule<R>;
        }
      }
      return admitted(tightest, now, undefined, rule.windowSeconds, undefined);
    }
    const index = composed.deniedBy;
    const decision = composed.decisions[index] as StoreDecision;
    const consume = consumes[index] as ConsumeRequest;
    const rule = rules[index] as CompiledRule<R>;
    const id = consume.limitId as string;
    if (warnOnce(`${consume.key}\u0000${id}`, Math.max(decision.resetAt, now + decision.retryAfter))) {
      logger.warn(
        { key: consume.key, limit: id, method: request.method, path: request.path, max: decision.limit, windowSeconds: rule.windowSeconds },
        `Rate limit exceeded for ${consume.key}: more than ${decision.limit} requests in ${rule.windowSeconds}s on ${id}`,
      );
    }
    if (onLimited) safely(logger, () => onLimited(raw, eventOf(request, id, consume, decision, latency, undefined)));
    if (notifier) notifier(consume.key, id);
    const verdict = verdictOf(decision, { style, now, windowSeconds: rule.windowSeconds }, undefined);
    // Give back what earlier middlewares (the global bucket, other route limits) took for this request.
    const refunded = refundTaken(raw as object);
    return isThenable(refunded) ? refunded.then(() => verdict) : verdict;
  };

  /** The counter id of a rule: its name, else the route pattern (or `'*'`) with the limit. */
  const idOf = (rule: CompiledRule<R>, route: string): string => rule.name ?? route + rule.suffix;

  const failed = (
    request: HttpRequest,
    consumes: readonly ConsumeRequest[],
    route: string,
    error: unknown,
    startedAt: number,
  ): HttpVerdict | undefined => {
    storeError(error, failClosed ? 'store failed; answering 503 (fail closed)' : 'store failed; letting requests through (fail open)');
    if (onDecision) {
      const latency = latencyClock.now() - startedAt;
      // One event per limit, as for a decision, so metrics can tell which limit failed open or closed.
      // The key and cost are known once the request's consumes were built (they were, unless building them threw).
      rules.forEach((rule, i) => {
        const consume = consumes[i];
        safely(logger, () => onDecision(eventOf(request, consume?.limitId ?? idOf(rule, route), consume, undefined, latency, error)));
      });
    }
    return failClosed ? unavailableVerdict() : undefined;
  };

  const decide = (raw: R, request: HttpRequest): MaybePromise<HttpVerdict | undefined> => {
    warnForwarded(request);
    if (allowed && request.ip !== undefined && allowed(request.ip)) return undefined;
    const startedAt = onDecision ? latencyClock.now() : 0;
    // Not the path when no route matched: `/api/items/1`, `/api/items/2`, `/API/items/1/` would each get
    // their own counter, so a client could walk past the limit (and grow the store) by varying it.
    const route = request.route ?? UNROUTED;
    const consumes: ConsumeRequest[] = [];
    let pending: MaybePromise<ComposedDecision>;
    try {
      for (const rule of rules) {
        consumes.push({ key: keyOf(rule, raw, request), limitId: idOf(rule, route), spec: rule.spec, cost: rule.cost });
      }
      pending = consumeAll(store, consumes);
    } catch (error) {
      return failed(request, consumes, route, error, startedAt);
    }
    if (isThenable(pending)) {
      return pending.then(
        (composed) => decided(raw, request, consumes, composed, startedAt),
        (error: unknown) => failed(request, consumes, route, error, startedAt),
      );
    }
    return decided(raw, request, consumes, pending, startedAt);
  };

  return {
    check: withSkip(skip, logger, decide),
  };
}

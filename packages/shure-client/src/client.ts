import { setMaxListeners } from 'node:events';
import {
  checkLogger,
  createThrottle,
  isIdempotentMethod,
  LimiterError,
  nextRetry,
  retryPolicy,
  silentLogger,
  sleep as defaultSleep,
  systemClock,
  untilAborted,
} from '@micboard/limiter-core';
import type { Clock, Logger, RetryPolicy, RetryPolicyOptions, Sleep, Store, Throttle } from '@micboard/limiter-core';
import { CircuitBreaker } from './circuit-breaker.js';
import type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js';
import {
  parseActivity,
  parseBatteryHealth,
  parseBatteryLevel,
  parseChannel,
  parseDevice,
  parseIps,
  parsePage,
  ResponseShapeError,
} from './parse.js';
import { startPoller } from './poller.js';
import type { PollOptions, Poller } from './poller.js';
import { ResponseCache } from './response-cache.js';
import { RetryBudget } from './retry-budget.js';
import type { RetryBudgetOptions } from './retry-budget.js';
import { anySignal } from './signals.js';
import { createNodeFetch } from './transport.js';
import type { FetchLike, FetchResponse, NodeFetch, TlsOptions } from './transport.js';
import type {
  AudioChannel,
  CallOptions,
  ShureDevice,
  ShureFailure,
  ShureFailureKind,
  ShureMethod,
  ShureResult,
  TransmitterData,
} from './types.js';
import { atLeast, boolean, fn, integer, invalidOption, objectOrFalse } from './validate.js';

/** The longest timer node keeps: a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** Seed 1's per-method call rates, in calls per second. */
export const DEFAULT_RATES: Readonly<Record<ShureMethod, number>> = Object.freeze({
  getDevices: 5,
  getDevice: 10,
  getDeviceChannels: 10,
  getTransmitterData: 10,
  discoverDevices: 2,
  request: 10,
});

/** Options of {@link createShureClient}. Only `baseUrl` is required. */
export interface ShureClientOptions {
  /** Where the Shure System API is, e.g. `'https://10.0.0.5:10000'` (no path; `/api/v1` is added). */
  readonly baseUrl: string;
  /** Sent as the `x-api-key` header. @default none */
  readonly apiKey?: string;
  /** The longest one HTTP request (connect, answer and body) may take, in ms. @default 10_000 */
  readonly timeoutMs?: number;
  /**
   * Retry schedule (core's `retryPolicy` options): `retries` 3, `baseMs` 500, `factor` 2, full
   * jitter, statuses 429/500/502/503/504, Retry-After honoured up to `retryAfterCapMs` (60 s).
   * @default seed 1's: { retries: 3, baseMs: 500 }
   */
  readonly retry?: RetryPolicyOptions;
  /**
   * Retry requests whose method is not idempotent (POST, PATCH) too. Off, they are sent once: a
   * retry could do the thing twice. A single `request()` can opt in with `idempotent: true`.
   * @default false
   */
  readonly retryNonIdempotent?: boolean;
  /** Caps retries at a share of first tries, or false for no cap. @default { ratio: 0.2, minRetries: 10, windowMs: 10_000 } */
  readonly retryBudget?: RetryBudgetOptions | false;
  /** Stops calling a server that keeps failing, then probes it; false turns it off. @default { failureThreshold: 5, openMs: 30_000 } */
  readonly breaker?: CircuitBreakerOptions | false;
  /** Calls per second per method, overriding {@link DEFAULT_RATES}. Each call takes one slot, and so does each retry. */
  readonly rates?: Partial<Record<ShureMethod, number>>;
  /** Extra calls per method that may go at once after a quiet spell. 0 spaces calls evenly, as seed 1. @default 0 */
  readonly burst?: number;
  /** The longest a call waits for its rate slot, in ms; longer fails it as `throttled`. @default 30_000 */
  readonly maxWaitMs?: number;
  /** Calls per method that may wait for a slot at once; more fail as `throttled`. @default 100 */
  readonly maxQueue?: number;
  /**
   * Share the rate limits with other processes through this store (e.g. Redis), so several
   * micboard instances polling one Shure server stay within the rates together.
   * @default per-process, in memory
   */
  readonly store?: Store;
  /** Prefix of the rate-limit keys (`<prefix>:<baseUrl>:<method>`). @default 'shure-client' */
  readonly keyPrefix?: string;
  /** How long a successful GET answer is reused, in ms; 0 turns caching off. @default 30_000 */
  readonly cacheTtlMs?: number;
  /** Answers kept in the cache at most. @default 1_000 */
  readonly cacheMaxEntries?: number;
  /** Default interval of {@link ShureClient.poll}, in ms. @default 5_000 */
  readonly pollIntervalMs?: number;
  /** Pages of GET /api/v1/devices followed at most. @default 100 */
  readonly maxPages?: number;
  /** TLS for an HTTPS `baseUrl`: a CA to trust, or an explicit opt-in to a self-signed certificate. Not with `fetch`. */
  readonly tls?: TlsOptions;
  /** The HTTP transport. @default a node:http/https transport ({@link createNodeFetch}) */
  readonly fetch?: FetchLike;
  /** Time for the cache, breaker, budget and (without a store) the rate limits. @default systemClock */
  readonly clock?: Clock;
  /** How to wait (rate limits and backoff); must reject when the signal aborts. @default core's sleep */
  readonly sleep?: Sleep;
  /** Numbers in [0, 1) for jitter. @default Math.random */
  readonly random?: () => number;
  /** Where retries (warn) and failures (error) are reported. @default silentLogger */
  readonly logger?: Logger;
  /** Called with every failure except a caller's abort, after it is logged. @default none */
  readonly onError?: (failure: ShureFailure) => void;
}

/** One raw request, for endpoints this client has no method for. */
export interface RawRequest extends CallOptions {
  /** @default 'GET' */
  readonly method?: string;
  /** Path from the host, e.g. `'/api/v1/devices/abc/identify'`. */
  readonly path: string;
  /** Sent as JSON with `Content-Type: application/json`. Without it no Content-Type is sent. */
  readonly body?: unknown;
  /** Whether a retry is safe; default from the method (GET, PUT, DELETE... are). */
  readonly idempotent?: boolean;
}

/** The methods, returning what went wrong instead of null. */
export interface ShureResults {
  getDevices(options?: CallOptions): Promise<ShureResult<readonly ShureDevice[]>>;
  getDevice(deviceId: string, options?: CallOptions): Promise<ShureResult<ShureDevice>>;
  getDeviceChannels(deviceId: string, options?: CallOptions): Promise<ShureResult<readonly AudioChannel[]>>;
  getTransmitterData(deviceId: string, options?: CallOptions): Promise<ShureResult<TransmitterData>>;
  discoverDevices(ips: readonly string[], options?: Omit<CallOptions, 'fresh'>): Promise<ShureResult<readonly string[]>>;
  /** A raw request (JSON answer parsed, `undefined` for an empty body); not cached. */
  request(request: RawRequest): Promise<ShureResult<unknown>>;
}

/** A Shure System API client. Methods return null on failure (seed 1's contract), after logging it. */
export interface ShureClient {
  /** The normalised base URL. */
  readonly baseUrl: string;
  /** All devices, every page followed. */
  getDevices(options?: CallOptions): Promise<readonly ShureDevice[] | null>;
  getDevice(deviceId: string, options?: CallOptions): Promise<ShureDevice | null>;
  getDeviceChannels(deviceId: string, options?: CallOptions): Promise<readonly AudioChannel[] | null>;
  /** Battery level, battery health and each channel's audio activity of one device, fetched together. */
  getTransmitterData(deviceId: string, options?: CallOptions): Promise<TransmitterData | null>;
  /** Adds IPs to the server's discovery list (GET, merge, idempotent PUT); resolves to the new list. */
  discoverDevices(ips: readonly string[], options?: Omit<CallOptions, 'fresh'>): Promise<readonly string[] | null>;
  /** The same calls, resolving to `{ ok, value }` or `{ ok: false, error }` so a caller can tell "not found" from "down". */
  readonly results: ShureResults;
  /** Polls the devices every `intervalMs` and reports snapshots and what changed; see {@link PollOptions}. */
  poll(options: PollOptions): Poller;
  /** `'closed'` (calls go), `'open'` (calls fail at once) or `'half-open'` (a probe may go). */
  readonly circuitState: CircuitState;
  /** Drops every cached answer. */
  clearCache(): void;
  /**
   * Stops pollers, ends calls still running (in a backoff or Retry-After wait, waiting for a rate
   * slot, or in flight) and fails later calls, all as `closed`, then closes the default transport's
   * sockets. Resolves once every call has settled and the client holds no timer or socket.
   */
  close(): Promise<void>;
}

interface Exchange<T> {
  readonly verb: string;
  readonly path: string;
  readonly body?: unknown;
  readonly idempotent: boolean;
  readonly parse: (body: unknown) => T;
}

type Attempt =
  | { readonly kind: 'response'; readonly response: FetchResponse; readonly text: string }
  | { readonly kind: 'failed'; readonly error: 'network' | 'timeout' | 'aborted'; readonly cause: unknown };

const API = '/api/v1';

/**
 * Creates a client for the Shure System API: typed methods, per-method rate limits (optionally
 * shared through a Store), retries with full-jitter backoff and Retry-After, a retry budget and a
 * circuit breaker, per-request timeouts, a response cache with in-flight de-duplication, and polling.
 *
 * @example
 * ```ts
 * const client = createShureClient({ baseUrl: 'https://10.0.0.5:10000', apiKey, tls: { ca }, logger });
 * const devices = await client.getDevices(); // null after retries, with the error logged
 * const one = await client.results.getDevice(id);
 * if (!one.ok && one.error.kind === 'not-found') forget(id);
 * ```
 */
export function createShureClient(options: ShureClientOptions): ShureClient {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object with baseUrl');
  const baseUrl = normaliseBaseUrl(options.baseUrl);
  if (options.apiKey !== undefined && typeof options.apiKey !== 'string') {
    throw invalidOption('apiKey', options.apiKey, 'a string');
  }
  const timeoutMs = atLeast('timeoutMs', options.timeoutMs ?? 10_000, 1);
  // node fires a longer timer after 1 ms (with a warning on stderr): every request would time out.
  if (timeoutMs > MAX_TIMER_MS) throw invalidOption('timeoutMs', timeoutMs, `a number of ms of at most ${MAX_TIMER_MS}`);
  const policy = retryOptions(options.retry);
  const retryNonIdempotent = boolean('retryNonIdempotent', options.retryNonIdempotent ?? false);
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? defaultSleep;
  const random = fn('random', options.random ?? Math.random, 'a function returning numbers in [0, 1)');
  const logger = checkLogger(options.logger ?? silentLogger);
  const onError = options.onError === undefined ? undefined : fn('onError', options.onError, 'a function of the failure');
  const maxPages = integer('maxPages', options.maxPages ?? 100, 1);
  const cacheTtlMs = atLeast('cacheTtlMs', options.cacheTtlMs ?? 30_000, 0);
  const cacheMaxEntries = integer('cacheMaxEntries', options.cacheMaxEntries ?? 1_000, 1);
  const pollIntervalMs = atLeast('pollIntervalMs', options.pollIntervalMs ?? 5_000, 1);
  const keyPrefix = options.keyPrefix ?? 'shure-client';
  if (typeof keyPrefix !== 'string') throw invalidOption('keyPrefix', keyPrefix, 'a string');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw invalidOption('fetch', options.fetch, 'a fetch-like function');
  }
  if (options.fetch !== undefined && options.tls !== undefined) {
    throw invalidOption('tls', options.tls, 'absent when fetch is given (configure TLS in your fetch)');
  }
  const rates = { ...DEFAULT_RATES };
  if (options.rates !== undefined && (typeof options.rates !== 'object' || options.rates === null || Array.isArray(options.rates))) {
    throw invalidOption('rates', options.rates, 'an object of calls per second by method name');
  }
  for (const [method, rate] of Object.entries(options.rates ?? {})) {
    if (!Object.hasOwn(DEFAULT_RATES, method)) throw invalidOption(`rates.${method}`, rate, `a rate for one of ${Object.keys(DEFAULT_RATES).join(', ')}`);
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
      throw invalidOption(`rates.${method}`, rate, 'a number of calls per second greater than 0');
    }
    rates[method as ShureMethod] = rate;
  }

  const ownFetch: NodeFetch | undefined =
    options.fetch === undefined ? createNodeFetch(options.tls === undefined ? {} : { tls: options.tls }) : undefined;
  const fetcher: FetchLike = options.fetch ?? (ownFetch as NodeFetch);
  if (options.tls?.allowSelfSigned === true) {
    logger.warn({ baseUrl }, 'TLS certificate checks are off (tls.allowSelfSigned): prefer tls.ca');
  }
  const breaker = options.breaker === false ? undefined : new CircuitBreaker(objectOrFalse('breaker', options.breaker), clock);
  const budget = options.retryBudget === false ? undefined : new RetryBudget(objectOrFalse('retryBudget', options.retryBudget), clock);
  const cache = new ResponseCache(cacheTtlMs, cacheMaxEntries, clock);
  const throttles = new Map<ShureMethod, Throttle>();
  for (const method of Object.keys(rates) as ShureMethod[]) {
    throttles.set(
      method,
      createThrottle({
        ratePerSecond: rates[method],
        burst: atLeast('burst', options.burst ?? 0, 0),
        maxWaitMs: atLeast('maxWaitMs', options.maxWaitMs ?? 30_000, 0),
        maxQueue: integer('maxQueue', options.maxQueue ?? 100, 0),
        clock,
        sleep,
        logger,
        ...(options.store === undefined ? {} : { store: options.store }),
      }),
    );
  }
  const pollers = new Set<Poller>();
  // Settles when every discoverDevices call made so far has (see there).
  let discoverTail: Promise<void> = Promise.resolve();
  let closed = false;
  // Aborted by close(): every call's signal follows it, so no wait or request outlives the client.
  // Its reason is this object, which no caller's signal can carry: that is how `closed` is told from `aborted`.
  const lifetime = new AbortController();
  // Every call under way listens to it (and lets go when it settles): more than ten at once is no leak.
  setMaxListeners(0, lifetime.signal);
  const closedReason = new Error('the client is closed');
  // The work of calls under way (waits, requests, retries), which close() waits for.
  const running = new Set<Promise<unknown>>();

  const failure = (
    kind: ShureFailureKind,
    method: ShureMethod,
    request: string,
    details: { status?: number | undefined; attempts?: number; retryStop?: string | undefined; message?: string; cause?: unknown } = {},
  ): { ok: false; error: ShureFailure } => ({
    ok: false,
    error: {
      kind,
      method,
      request,
      status: details.status,
      attempts: details.attempts ?? 0,
      retryStop: details.retryStop,
      transient: ['rate-limited', 'server-error', 'network', 'timeout', 'circuit-open', 'throttled'].includes(kind),
      message: details.message ?? `API request failed: ${request} - ${kind}${details.status ? ` ${details.status}` : ''}`,
      ...(details.cause === undefined ? {} : { cause: details.cause }),
    },
  });

  const closedFailure = (method: ShureMethod, request: string, attempts = 0): { ok: false; error: ShureFailure } =>
    failure('closed', method, request, { attempts, message: `${request}: the client is closed` });

  /** The failure of a call its signal stopped: `closed` when close() did, else `aborted` (the caller's signal). */
  const stopped = (
    signal: AbortSignal,
    method: ShureMethod,
    request: string,
    details: { attempts?: number; message?: string; cause?: unknown } = {},
  ): { ok: false; error: ShureFailure } =>
    signal.reason === closedReason ? closedFailure(method, request, details.attempts) : failure('aborted', method, request, details);

  /** Takes a rate slot for `method`; a failure when it cannot. */
  const acquire = async (method: ShureMethod, signal: AbortSignal, request: string): Promise<{ ok: false; error: ShureFailure } | undefined> => {
    try {
      await (throttles.get(method) as Throttle).acquire(`${keyPrefix}:${baseUrl}:${method}`, { signal });
      return undefined;
    } catch (error) {
      if (signal.aborted || (error instanceof LimiterError && error.code === 'ABORTED')) {
        return stopped(signal, method, request, { message: `${request} aborted while waiting for a rate slot` });
      }
      return failure('throttled', method, request, {
        message: `${request} not sent: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
      });
    }
  };

  /** One HTTP request, bounded by `timeoutMs` and the caller's signal even if the fetch ignores signals. */
  const attempt = async (url: string, verb: string, body: string | undefined, signal: AbortSignal): Promise<Attempt> => {
    const controller = new AbortController();
    let timedOut = false;
    let stop: (reason: unknown) => void = () => {};
    const stopped = new Promise<never>((_, reject) => {
      stop = reject;
    });
    // Only ever read through the race below; never an unhandled rejection on its own.
    stopped.catch(() => {});
    const onAbort = (): void => {
      controller.abort(signal.reason);
      stop(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      timedOut = true;
      const reason = new Error(`no answer within ${timeoutMs} ms`);
      controller.abort(reason);
      stop(reason);
    }, timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.apiKey !== undefined) headers['x-api-key'] = options.apiKey;
    // Only a request with a body says it is JSON: the real server rejects an empty JSON POST.
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const exchange = (async () => {
        const response = await fetcher(url, { method: verb, headers, signal: controller.signal, ...(body === undefined ? {} : { body }) });
        return { response, text: await response.text() };
      })();
      // The losing side may still reject later; it has been dealt with.
      exchange.catch(() => {});
      const { response, text } = await Promise.race([exchange, stopped]);
      return { kind: 'response', response, text };
    } catch (cause) {
      if (signal.aborted) return { kind: 'failed', error: 'aborted', cause };
      return { kind: 'failed', error: timedOut ? 'timeout' : 'network', cause };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  };

  /**
   * Sends one exchange with retries. The call's first try already holds a rate slot; every retry
   * takes a new one, so retries never push a method over its rate.
   */
  const send = async <T>(method: ShureMethod, signal: AbortSignal, exchange: Exchange<T>): Promise<ShureResult<T>> => {
    const request = `${exchange.verb} ${exchange.path}`;
    const url = baseUrl + exchange.path;
    const body = exchange.body === undefined ? undefined : JSON.stringify(exchange.body);
    const idempotent = exchange.idempotent;
    budget?.recordRequest();
    for (let retry = 0, attempts = 0; ; ) {
      if (closed) return closedFailure(method, request, attempts);
      if (signal.aborted) return stopped(signal, method, request, { attempts });
      if (retry > 0) {
        const denied = await acquire(method, signal, request);
        if (denied) return { ok: false, error: { ...denied.error, attempts } } as ShureResult<T>;
      }
      const probe = breaker !== undefined && breaker.state !== 'closed';
      if (breaker !== undefined && !breaker.tryPass()) {
        return failure('circuit-open', method, request, {
          attempts,
          retryStop: retry > 0 ? 'circuit-open' : undefined,
          message: `API request failed: ${request} - circuit open (server failing), not sent`,
        });
      }
      attempts++;
      const outcome = await attempt(url, exchange.verb, body, signal);
      if (outcome.kind === 'failed' && outcome.error === 'aborted') {
        breaker?.release(probe);
        return stopped(signal, method, request, { attempts, cause: outcome.cause });
      }
      const status = outcome.kind === 'response' ? outcome.response.status : undefined;
      // A 429 says nothing of the server's health: it neither closes the circuit (a probe answered
      // 429 must not send every caller back at once) nor counts as a failure.
      if (status === 429) breaker?.release(probe);
      else if (status === undefined || status >= 500) breaker?.failure();
      else breaker?.success();

      if (status !== undefined && status >= 200 && status < 300 && outcome.kind === 'response') {
        try {
          const json: unknown = outcome.text === '' ? undefined : JSON.parse(outcome.text);
          return { ok: true, value: exchange.parse(json) };
        } catch (cause) {
          const detail = cause instanceof ResponseShapeError ? cause.message : 'not JSON';
          return failure('invalid-response', method, request, { status, attempts, cause, message: `API request failed: ${request} - invalid response (${detail})` });
        }
      }

      const kind: ShureFailureKind =
        status === undefined
          ? (outcome.kind === 'failed' ? (outcome.error as 'network' | 'timeout') : 'network')
          : status === 404
            ? 'not-found'
            : status === 401 || status === 403
              ? 'unauthorized'
              : status === 429
                ? 'rate-limited'
                : status >= 500
                  ? 'server-error'
                  : 'rejected';
      retry++;
      const decision = nextRetry(policy, {
        retry,
        now: clock.now(),
        idempotent: idempotent || retryNonIdempotent,
        random,
        ...(status === undefined ? { error: kind === 'timeout' ? 'timeout' : 'network' } : { status }),
        ...(outcome.kind === 'response' ? { retryAfter: outcome.response.headers.get('retry-after') } : {}),
      });
      const cause = outcome.kind === 'failed' ? outcome.cause : undefined;
      if (!decision.retry) {
        return failure(kind, method, request, {
          attempts,
          ...(status === undefined ? {} : { status }),
          ...(decision.reason === 'not-retryable' ? {} : { retryStop: decision.reason }),
          cause,
        });
      }
      if (budget !== undefined && !budget.tryRetry()) {
        return failure(kind, method, request, { attempts, ...(status === undefined ? {} : { status }), retryStop: 'retry-budget', cause });
      }
      logger.warn(
        { method, request, status, kind, retry, retries: policy.retries, delayMs: decision.delayMs },
        `Retrying ${request} after ${status ?? kind} (retry ${retry} of ${policy.retries}) in ${(decision.delayMs / 1000).toFixed(3)}s`,
      );
      try {
        await untilAborted(sleep(decision.delayMs, signal), signal);
      } catch {
        return stopped(signal, method, request, { attempts });
      }
      if (signal.aborted) return stopped(signal, method, request, { attempts });
    }
  };

  const report = <T>(result: ShureResult<T>): ShureResult<T> => {
    if (result.ok) return result;
    const error = result.error;
    const fields = { method: error.method, request: error.request, kind: error.kind, status: error.status, attempts: error.attempts, retryStop: error.retryStop };
    if (error.kind === 'aborted') {
      logger.debug(fields, error.message);
      return result;
    }
    logger.error(fields, error.message);
    try {
      onError?.(error);
    } catch (hookError) {
      logger.error({ error: String(hookError) }, 'onError hook threw');
    }
    return result;
  };

  /** A method call: cache and de-duplication (GETs), one rate slot for the call, then `body`. */
  const call = async <T>(
    method: ShureMethod,
    description: string,
    callOptions: CallOptions,
    cacheKey: string | undefined,
    body: (signal: AbortSignal) => Promise<ShureResult<T>>,
  ): Promise<ShureResult<T>> => {
    if (closed) return report(closedFailure(method, description));
    const run = (signal: AbortSignal): Promise<ShureResult<T>> => {
      const work = (async () => {
        const denied = await acquire(method, signal, description);
        return denied ?? body(signal);
      })();
      running.add(work);
      const forget = (): void => void running.delete(work);
      work.then(forget, forget);
      return work;
    };
    // The caller's signal and the client's lifetime, so close() ends this call like an abort would.
    const linked = anySignal([callOptions.signal, lifetime.signal]);
    try {
      const aborted = (): ShureResult<T> => stopped(linked.signal, method, description);
      if (cacheKey === undefined) return report(linked.signal.aborted ? aborted() : await run(linked.signal));
      return report(await cache.run(cacheKey, callOptions.fresh === true, linked.signal, run, aborted));
    } finally {
      // Otherwise every call would leave a listener on the lifetime signal (and a long-lived caller's).
      linked.dispose();
    }
  };

  const devicePath = (deviceId: string): string => {
    if (typeof deviceId !== 'string' || deviceId === '') throw invalidOption('deviceId', deviceId, 'a non-empty string');
    return `${API}/devices/${encodeURIComponent(deviceId)}`;
  };

  const get = <T>(path: string, parse: (body: unknown) => T): Exchange<T> => ({ verb: 'GET', path, idempotent: true, parse });

  const results: ShureResults = {
    async getDevices(callOptions = {}) {
      const path = `${API}/devices`;
      return call('getDevices', `GET ${path}`, callOptions, `getDevices`, async (signal) => {
        const devices: ShureDevice[] = [];
        const seen = new Set<string>();
        let cursor: string | undefined;
        for (let page = 0; page < maxPages; page++) {
          const pagePath = cursor === undefined ? path : `${path}?after=${encodeURIComponent(cursor)}`;
          const result = await send(
            'getDevices',
            signal,
            get(pagePath, (body) => {
              const { nodes, next } = parsePage(body, 'devices');
              return { devices: nodes.map(parseDevice), next };
            }),
          );
          if (!result.ok) return result;
          devices.push(...result.value.devices);
          cursor = result.value.next;
          if (cursor === undefined) return { ok: true, value: devices };
          // A server repeating a cursor would page forever, and its pages repeat devices.
          if (seen.has(cursor)) {
            return failure('invalid-response', 'getDevices', `GET ${path}`, { message: `GET ${path}: the server repeated the page cursor ${JSON.stringify(cursor)}` });
          }
          seen.add(cursor);
        }
        return failure('invalid-response', 'getDevices', `GET ${path}`, { message: `GET ${path}: more than ${maxPages} pages` });
      });
    },
    async getDevice(deviceId, callOptions = {}) {
      const path = devicePath(deviceId);
      return call('getDevice', `GET ${path}`, callOptions, `getDevice:${path}`, (signal) => send('getDevice', signal, get(path, parseDevice)));
    },
    async getDeviceChannels(deviceId, callOptions = {}) {
      const path = `${devicePath(deviceId)}/audio-channels`;
      return call('getDeviceChannels', `GET ${path}`, callOptions, `getDeviceChannels:${path}`, (signal) =>
        send('getDeviceChannels', signal, get(path, (body) => parsePage(body, 'audio-channels').nodes.map(parseChannel))),
      );
    },
    async getTransmitterData(deviceId, callOptions = {}) {
      const base = devicePath(deviceId);
      const m = 'getTransmitterData' as const;
      return call(m, `GET ${base}/(battery, channels)`, callOptions, `getTransmitterData:${base}`, async (signal) => {
        const [level, health, channels] = await Promise.all([
          send(m, signal, get(`${base}/battery-level`, parseBatteryLevel)),
          send(m, signal, get(`${base}/battery-health`, parseBatteryHealth)),
          send(m, signal, get(`${base}/audio-channels`, (body) => parsePage(body, 'audio-channels').nodes.map(parseChannel))),
        ]);
        if (!channels.ok) return channels;
        // A device without a battery (a receiver) answers 404 there; that is "no battery", not a failure.
        if (!level.ok && level.error.kind !== 'not-found') return level;
        if (!health.ok && health.error.kind !== 'not-found') return health;
        const activities = await Promise.all(
          channels.value.map((channel) =>
            send(m, signal, get(`${base}/audio-channels/${encodeURIComponent(channel.id)}/activity`, parseActivity)),
          ),
        );
        const channelData = [];
        for (const [i, activity] of activities.entries()) {
          if (!activity.ok) return activity;
          const channel = channels.value[i] as AudioChannel;
          channelData.push({ id: channel.id, name: channel.name, audioLevel: activity.value });
        }
        const value: TransmitterData = {
          deviceId,
          battery: level.ok ? { level: level.value, health: health.ok ? health.value : null } : null,
          channels: channelData,
        };
        return { ok: true, value };
      });
    },
    async discoverDevices(ips, callOptions = {}) {
      if (!Array.isArray(ips) || ips.length === 0 || !ips.every((ip) => typeof ip === 'string' && ip.trim() !== '')) {
        throw invalidOption('ips', ips, 'a non-empty array of IP address strings');
      }
      const path = `${API}/config/discovery/ips`;
      const wanted = ips.map((ip) => ip.trim());
      // One read-merge-write at a time: a second call's GET must see the first call's PUT, or its
      // PUT would drop the first call's IPs. A call waits for the one before it to settle, then
      // for its rate slot. (Another process writing the list can still race.)
      const previous = discoverTail;
      let release = (): void => {};
      const settled = new Promise<void>((resolve) => {
        release = resolve;
      });
      // The next call waits for this one and, should this one stop waiting early (aborted), for
      // the ones before it too.
      discoverTail = previous.then(() => settled);
      try {
        // An abort while waiting is answered by call(), which sees the signal aborted. close()
        // settles every call under way, so the one before this settles too.
        await (callOptions.signal === undefined ? previous : untilAborted(previous, callOptions.signal).catch(() => {}));
        return await call('discoverDevices', `PUT ${path}`, { ...(callOptions.signal ? { signal: callOptions.signal } : {}) }, undefined, async (signal) => {
          const current = await send('discoverDevices', signal, get(path, parseIps));
          if (!current.ok) return current;
          const known = new Set(current.value);
          const merged = [...new Set([...current.value, ...wanted])];
          if (wanted.every((ip) => known.has(ip))) return { ok: true, value: merged };
          const put = await send('discoverDevices', signal, {
            verb: 'PUT',
            path,
            body: { ips: merged },
            idempotent: true,
            parse: (body) => (body === undefined ? merged : parseIps(body)),
          });
          // New IPs bring new devices: the cached device list is stale.
          if (put.ok) cache.invalidate('getDevices');
          return put;
        });
      } finally {
        release();
      }
    },
    async request(raw) {
      if (typeof raw?.path !== 'string' || !raw.path.startsWith('/')) throw invalidOption('path', raw?.path, "a path starting with '/'");
      if (raw.method !== undefined && (typeof raw.method !== 'string' || !/^[A-Za-z]+$/.test(raw.method))) {
        throw invalidOption('method', raw.method, "an HTTP method such as 'GET' or 'POST'");
      }
      if (raw.idempotent !== undefined) boolean('idempotent', raw.idempotent);
      const verb = (raw.method ?? 'GET').toUpperCase();
      const idempotent = raw.idempotent ?? isIdempotentMethod(verb);
      const result = await call('request', `${verb} ${raw.path}`, raw.signal ? { signal: raw.signal } : {}, undefined, (signal) =>
        send('request', signal, { verb, path: raw.path, body: raw.body, idempotent, parse: (body) => body }),
      );
      // A write this client cannot read the meaning of (a rename, a discovery change) may make any
      // cached answer stale: drop them all. It may also have gone through and failed after.
      if (verb !== 'GET' && verb !== 'HEAD' && verb !== 'OPTIONS') cache.invalidate();
      return result;
    },
  };

  const orNull = <T>(result: ShureResult<T>): T | null => (result.ok ? result.value : null);

  const client: ShureClient = {
    baseUrl,
    getDevices: async (callOptions) => orNull(await results.getDevices(callOptions)),
    getDevice: async (id, callOptions) => orNull(await results.getDevice(id, callOptions)),
    getDeviceChannels: async (id, callOptions) => orNull(await results.getDeviceChannels(id, callOptions)),
    getTransmitterData: async (id, callOptions) => orNull(await results.getTransmitterData(id, callOptions)),
    discoverDevices: async (ips, callOptions) => orNull(await results.discoverDevices(ips, callOptions)),
    results,
    poll(pollOptions) {
      if (closed) throw invalidOption('poll', 'closed client', 'a client that is not closed');
      const poller = startPoller(results, { intervalMs: pollIntervalMs, sleep, logger, clock }, pollOptions, () => pollers.delete(poller));
      pollers.add(poller);
      return poller;
    },
    get circuitState() {
      return breaker?.state ?? 'closed';
    },
    clearCache: () => cache.invalidate(),
    async close() {
      closed = true;
      // Pollers first: their calls then end as the stop they are, not as `closed` failures reported to onError.
      const stopping = [...pollers].map((poller) => poller.stop());
      lifetime.abort(closedReason);
      // Each wait clears its timer and each request its socket and timeout as it unwinds: wait for that.
      await Promise.allSettled([...stopping, ...running]);
      ownFetch?.close();
    },
  };
  return client;
}

function normaliseBaseUrl(value: unknown): string {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    throw invalidOption('baseUrl', value, "an absolute http(s) URL such as 'https://10.0.0.5:10000'");
  }
  if (typeof value !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw invalidOption('baseUrl', value, "an absolute http(s) URL such as 'https://10.0.0.5:10000'");
  }
  // Every path starts with /api/v1: a base URL with a path (often that very /api/v1) would double
  // it and make every call `not-found`. Credentials in a URL would be dropped: use apiKey.
  if (url.pathname !== '/' || url.username !== '' || url.password !== '') {
    throw invalidOption('baseUrl', value, "the server's origin only, such as 'https://10.0.0.5:10000' (no path, no credentials; /api/v1 is added)");
  }
  return url.origin;
}

/** core's retryPolicy, its errors naming the option as `retry.<name>`. */
function retryOptions(options: RetryPolicyOptions | undefined): RetryPolicy {
  try {
    return retryPolicy(options ?? {});
  } catch (error) {
    if (!(error instanceof LimiterError) || error.code !== 'INVALID_OPTION') throw error;
    // The message starts with the option's name: `<option> must be ...`.
    const named = error.option ?? '';
    const option = named === 'options' ? 'retry' : `retry.${named}`;
    throw new LimiterError('INVALID_OPTION', option + error.message.slice(named.length), { option, value: error.value });
  }
}

import { checkClock, systemClock, type Clock } from '../clock.js';
import { nextRetry, retryPolicy, sleep as realSleep, type RetryPolicyOptions, type TransportFailure } from '../client/index.js';
import { toMs, type Duration } from '../duration.js';
import { isThenable } from '../engine/maybe-promise.js';
import { invalidOption } from '../errors.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { integer } from '../validate.js';
import type { MaybePromise } from '../types.js';

/** Sent when a client keeps hitting its limit. */
export interface DenialAlert {
  /** The client key, e.g. `ip:203.0.113.9` or `apikey:partner-1`. */
  readonly key: string;
  /** Which limiter denied last: `'global'` or a route limit's id. */
  readonly limiter: string;
  /** Denials counted: the threshold. */
  readonly denials: number;
  /** The window they fell in, in ms. */
  readonly windowMs: number;
  /** First and last denial of the run, in ms since the epoch. */
  readonly firstAt: number;
  readonly lastAt: number;
}

/** Options of the repeated-denial notification (seed 2's "webhook notifications"). */
export interface NotifyOptions {
  /** How many denials make a client worth an alert. Integer >= 1. @default 10 */
  readonly threshold?: number;
  /** ...within this long. A duration (ms or `'5m'`). @default '5m' */
  readonly within?: Duration;
  /**
   * Called (at most once per client per `within`) when a client reaches `threshold` denials.
   * Never awaited by a request; a throw or rejection is logged. `createWebhookSender` makes one.
   */
  readonly onAlert: (alert: DenialAlert) => MaybePromise<void>;
  /** Clients tracked at once; past it the oldest is forgotten. @default 10_000 */
  readonly maxClients?: number;
}

/** Counts denials per client and raises an alert when one crosses the threshold. */
export type DenialNotifier = (key: string, limiter: string) => void;

/**
 * Builds the repeated-denial notifier: call it with each denial; it calls `onAlert` once a client
 * reaches `threshold` denials within `within`, then stays quiet for that client for `within`.
 *
 * @example
 * const denied = createDenialNotifier({ threshold: 10, within: '5m', onAlert: console.warn }, systemClock, logger);
 * denied('ip:203.0.113.9', 'global');
 */
export function createDenialNotifier(options: NotifyOptions, clock: Clock, logger: Logger): DenialNotifier {
  if (typeof options !== 'object' || options === null) throw invalidOption('notify', options, 'an object');
  if (typeof options.onAlert !== 'function') throw invalidOption('notify.onAlert', options.onAlert, 'a function');
  const threshold = integer('notify.threshold', options.threshold ?? 10, 1);
  const windowMs = toMs('notify.within', options.within ?? '5m');
  if (windowMs <= 0) throw invalidOption('notify.within', options.within, 'a duration greater than 0');
  const maxClients = integer('notify.maxClients', options.maxClients ?? 10_000, 1);
  const onAlert = options.onAlert;
  // Per client: the times of its recent denials (at most `threshold`), and a quiet period after an alert.
  const clients = new Map<string, { times: number[]; quietUntil: number }>();

  return (key, limiter) => {
    const now = clock.now();
    let entry = clients.get(key);
    if (!entry) {
      if (clients.size >= maxClients) {
        const oldest = clients.keys().next().value;
        if (oldest !== undefined) clients.delete(oldest);
      }
      entry = { times: [], quietUntil: Number.NEGATIVE_INFINITY };
      clients.set(key, entry);
    }
    if (now < entry.quietUntil) return;
    const times = entry.times;
    times.push(now);
    while (times.length > 0 && (times[0] as number) <= now - windowMs) times.shift();
    // Reaching the threshold fires and empties the list, so it never holds more than `threshold`.
    if (times.length < threshold) return;
    const alert: DenialAlert = { key, limiter, denials: times.length, windowMs, firstAt: times[0] as number, lastAt: now };
    entry.times = [];
    entry.quietUntil = now + windowMs;
    try {
      const sent = onAlert(alert);
      // Any thenable, not only a native promise; Promise.resolve adopts it, so its rejection is caught.
      if (isThenable(sent)) {
        Promise.resolve(sent).catch((error: unknown) => logger.error({ err: error, key }, 'rate-limit alert hook failed'));
      }
    } catch (error) {
      logger.error({ err: error, key }, 'rate-limit alert hook failed');
    }
  };
}

/** The subset of `fetch` the webhook sender uses. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<{
  readonly ok: boolean;
  readonly status: number;
  /** The response headers; only `Retry-After` is read. A fetch `Response` has them. */
  readonly headers?: { get(name: string): string | null };
}>;

/**
 * The `Idempotency-Key` of an alert: the same for every attempt to deliver it, different for any
 * other alert. An alert is one run of denials of one client, so it is named by the client key, the
 * limiter the alert names and the time of its first denial: `alert-<firstAt>-<16 hex>`, the hex a
 * hash of the limiter and key (a key may hold any character; a header may not).
 *
 * @example
 * alertIdempotencyKey({ key: 'ip:203.0.113.9', limiter: 'global', denials: 10, windowMs: 300_000, firstAt: 1_700_000_000_000, lastAt: 1_700_000_060_000 });
 */
export function alertIdempotencyKey(alert: DenialAlert): string {
  const text = `${alert.limiter}\u0000${alert.key}`;
  return `alert-${alert.firstAt}-${fnv1a(text, 0x811c9dc5)}${fnv1a(text, 0x01000193)}`;
}

/** 32-bit FNV-1a over UTF-16 code units from `basis`, as 8 hex digits. */
function fnv1a(text: string, basis: number): string {
  let h = basis;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Options of {@link createWebhookSender}. */
export interface WebhookOptions {
  /** Where alerts are POSTed as JSON. An http(s) URL. */
  readonly url: string;
  /**
   * Retries, backoff and how long a receiver's `Retry-After` is honoured (core's retry policy).
   * @default retries 3, 500 ms base, doubling, full jitter, Retry-After up to 60 s
   */
  readonly retry?: RetryPolicyOptions;
  /** Waits between attempts, in ms. Injected so tests need no real time. @default core's `sleep` */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The HTTP call. @default globalThis.fetch, read at call time */
  readonly fetch?: FetchLike;
  /** Alerts in flight at once; above it new alerts are dropped (and logged), never queued without bound. @default 100 */
  readonly maxPending?: number;
  /** How long one attempt may take before it is abandoned (and retried), in ms. @default 10_000 */
  readonly timeoutMs?: number;
  /**
   * Extra request headers, e.g. an authorization token for the receiver. An `Idempotency-Key`
   * here is ignored: each alert carries its own (see {@link alertIdempotencyKey}). @default {}
   */
  readonly headers?: Readonly<Record<string, string>>;
  /** Where failures go. @default silentLogger */
  readonly logger?: Logger;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Time, for a `Retry-After` given as an HTTP date. @default systemClock */
  readonly clock?: Clock;
}

/**
 * Makes an `onAlert` hook that POSTs each alert to a webhook, retrying with core's backoff.
 * The returned function never blocks its caller: it starts the delivery and returns.
 *
 * Retries are safe and polite. A POST that timed out or lost its connection may have arrived, so
 * a retry can deliver the alert twice: every attempt carries the same `Idempotency-Key` header
 * ({@link alertIdempotencyKey}), by which the receiver can drop repeats. Because of that key the
 * POST counts as idempotent, and each retry is decided by core's `nextRetry`: network errors,
 * timeouts and the policy's statuses (429, 503, ...) are retried up to `retry.retries` times,
 * after the later of the backoff and the receiver's `Retry-After` (seconds or an HTTP date,
 * up to `retry.retryAfterCapMs`: above it the delivery stops, or with `onRetryAfterAboveCap:
 * 'clamp'` waits the cap). Every wait goes through the injectable `sleep`.
 *
 * @example
 * const onAlert = createWebhookSender({ url: 'https://ops.example/hooks/limits' });
 * rateLimit({ notify: { threshold: 20, within: '5m', onAlert } });
 */
export function createWebhookSender(options: WebhookOptions): (alert: DenialAlert) => Promise<void> {
  if (typeof options !== 'object' || options === null) throw invalidOption('webhook', options, 'an object');
  const url = options.url;
  if (typeof url !== 'string' || !/^https?:\/\/[^\s]+$/i.test(url)) {
    throw invalidOption('webhook.url', url, 'an http(s) URL');
  }
  if (options.sleep !== undefined && typeof options.sleep !== 'function') {
    throw invalidOption('webhook.sleep', options.sleep, 'a function');
  }
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw invalidOption('webhook.fetch', options.fetch, 'a function');
  }
  const policy = retryPolicy(options.retry ?? {});
  const maxPending = integer('webhook.maxPending', options.maxPending ?? 100, 1);
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalidOption('webhook.timeoutMs', timeoutMs, 'a finite number of ms greater than 0');
  }
  const sleep = options.sleep ?? ((ms: number) => realSleep(ms));
  const random = options.random ?? Math.random;
  const clock = checkClock(options.clock ?? systemClock, 'webhook.clock');
  // The key is ours on every attempt: a caller's header of the same name (any case) gives way.
  const baseHeaders: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (name.toLowerCase() !== 'idempotency-key') baseHeaders[name] = value;
  }
  const send: FetchLike = options.fetch ?? ((target, init) => (globalThis.fetch as unknown as FetchLike)(target, init));
  let pending = 0;

  const deliver = async (alert: DenialAlert): Promise<void> => {
    const body = JSON.stringify(alert);
    const headers = { ...baseHeaders, 'idempotency-key': alertIdempotencyKey(alert) };
    for (let retry = 1; ; retry++) {
      let status: number | undefined;
      let retryAfter: string | null | undefined;
      let failure: unknown;
      let error: TransportFailure | undefined;
      try {
        // A receiver that never answers must not hold a slot forever.
        const response = await send(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
        if (response.ok) return;
        status = response.status;
        retryAfter = response.headers?.get('retry-after');
      } catch (caught) {
        failure = caught;
        error = (caught as { name?: unknown } | null)?.name === 'TimeoutError' ? 'timeout' : 'network';
      }
      // Idempotent because every attempt carries the alert's Idempotency-Key.
      const next = nextRetry(policy, { retry, status, error, retryAfter, now: clock.now(), idempotent: true, random });
      if (!next.retry) {
        logger.error({ err: failure, status, key: alert.key, attempts: retry, reason: next.reason }, 'rate-limit webhook failed');
        return;
      }
      await sleep(next.delayMs);
    }
  };

  return (alert) => {
    if (pending >= maxPending) {
      logger.warn({ key: alert.key, pending }, 'rate-limit webhook backlog full; alert dropped');
      return Promise.resolve();
    }
    pending++;
    return deliver(alert).finally(() => {
      pending--;
    });
  };
}

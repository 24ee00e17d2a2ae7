import { invalidOption } from '../errors.js';
import { integer, nonNegative, oneOf } from '../validate.js';

/** How a backoff delay is spread: `'full'` draws uniformly from [0, delay]; `'none'` uses the delay as is. */
export type RetryJitter = 'full' | 'none';

/** What to do when a server's Retry-After asks for longer than `retryAfterCapMs`. */
export type RetryAfterAboveCap = 'give-up' | 'clamp';

/** The statuses retried by default: rate limited, and the server-side failures that are usually temporary. */
export const DEFAULT_RETRY_STATUSES: readonly number[] = Object.freeze([429, 500, 502, 503, 504]);

/** Options of {@link retryPolicy}. Every option is optional. */
export interface RetryPolicyOptions {
  /**
   * How many retries after the first try, so a request is sent at most `retries + 1` times.
   * An integer >= 0; 0 turns retrying off.
   * @default 3
   */
  readonly retries?: number;
  /**
   * The delay before the first retry, in ms (before jitter). Retry n waits `baseMs * factor^(n-1)`.
   * @default 500
   */
  readonly baseMs?: number;
  /**
   * How much each retry's delay grows over the previous one. A number >= 1 (1 = constant delay).
   * @default 2
   */
  readonly factor?: number;
  /**
   * The largest single backoff delay, in ms (before jitter). A Retry-After may still ask for longer,
   * up to `retryAfterCapMs`.
   * @default 30_000
   */
  readonly capMs?: number;
  /**
   * `'full'` waits a uniformly random time in [0, delay], so many clients that failed together do not
   * retry together; `'none'` waits exactly the delay (500, 1000, 2000 ms with the defaults).
   * @default 'full'
   */
  readonly jitter?: RetryJitter;
  /**
   * HTTP statuses worth retrying. Integers in [100, 599]. Network errors and timeouts are always
   * retryable (for idempotent requests).
   * @default [429, 500, 502, 503, 504]
   */
  readonly statuses?: readonly number[];
  /**
   * The longest Retry-After the client will honour, in ms. Above it, see `onRetryAfterAboveCap`.
   * @default 60_000
   */
  readonly retryAfterCapMs?: number;
  /**
   * What to do when Retry-After exceeds `retryAfterCapMs`: `'give-up'` stops retrying (the server
   * will not serve us in time, so fail fast), `'clamp'` waits `retryAfterCapMs` and tries anyway.
   * @default 'give-up'
   */
  readonly onRetryAfterAboveCap?: RetryAfterAboveCap;
}

/** A validated, frozen retry policy: every option resolved. Build one with {@link retryPolicy}. */
export interface RetryPolicy {
  readonly retries: number;
  readonly baseMs: number;
  readonly factor: number;
  readonly capMs: number;
  readonly jitter: RetryJitter;
  readonly statuses: readonly number[];
  readonly retryAfterCapMs: number;
  readonly onRetryAfterAboveCap: RetryAfterAboveCap;
}

/**
 * Builds a retry policy: exponential backoff with optional full jitter, which statuses to retry,
 * and how to treat a server's Retry-After. Throws `LimiterError` (`INVALID_OPTION`) naming the
 * option on a bad value.
 *
 * @example
 * ```ts
 * // Seed 1's Shure client: 3 retries, 0.5 s base, doubling, on 429/500/502/503/504.
 * const policy = retryPolicy({ retries: 3, baseMs: 500, jitter: 'none' });
 * backoffDelay(policy, 1); // 500
 * backoffDelay(policy, 3); // 2000
 * ```
 */
export function retryPolicy(options: RetryPolicyOptions = {}): RetryPolicy {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', options, 'an object of retry options');
  }
  const factor = options.factor ?? 2;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw invalidOption('factor', factor, 'a finite number of at least 1');
  }
  return Object.freeze({
    retries: integer('retries', options.retries ?? 3, 0),
    baseMs: nonNegative('baseMs', options.baseMs ?? 500),
    factor,
    capMs: nonNegative('capMs', options.capMs ?? 30_000),
    jitter: oneOf('jitter', options.jitter ?? 'full', ['full', 'none'] as const),
    statuses: validateStatuses(options.statuses ?? DEFAULT_RETRY_STATUSES),
    retryAfterCapMs: nonNegative('retryAfterCapMs', options.retryAfterCapMs ?? 60_000),
    onRetryAfterAboveCap: oneOf('onRetryAfterAboveCap', options.onRetryAfterAboveCap ?? 'give-up', [
      'give-up',
      'clamp',
    ] as const),
  });
}

function validateStatuses(statuses: unknown): readonly number[] {
  const valid =
    Array.isArray(statuses) &&
    statuses.every((s: unknown) => typeof s === 'number' && Number.isInteger(s) && s >= 100 && s <= 599);
  if (!valid) throw invalidOption('statuses', statuses, 'an array of HTTP status integers in [100, 599]');
  // A copy, so later changes to the caller's array cannot change a frozen policy.
  return Object.freeze([...(statuses as number[])]);
}

import { invalidOption } from '../errors.js';
import { integer } from '../validate.js';
import { backoffDelay } from './backoff-delay.js';
import { parseRetryAfter } from './retry-after.js';
import type { RetryPolicy } from './retry-policy.js';

/** A failure that produced no HTTP status: the connection failed, or no answer came in time. */
export type TransportFailure = 'network' | 'timeout';

/**
 * What happened on the try that just failed, and what comes next. Optional fields also take an
 * explicit `undefined`, so a caller can pass through values it may not have.
 */
export interface RetryInput {
  /** The retry about to happen, 1-based: 1 after the first try failed. An integer >= 1. */
  readonly retry: number;
  /** The response status, when there was a response. */
  readonly status?: number | undefined;
  /** Set when there was no response: a network error or a timeout (both retryable). */
  readonly error?: TransportFailure | undefined;
  /** The response's `Retry-After` header, if any (absent, null and invalid values are ignored). */
  readonly retryAfter?: string | null | undefined;
  /** When the failure was seen, in ms since the epoch (from your clock); Retry-After dates count from it. */
  readonly now: number;
  /**
   * Whether repeating the request is safe. Use {@link isIdempotentMethod} for the method's default
   * and pass `true` yourself only for a request you know is safe to repeat (e.g. a POST with an
   * idempotency key). Non-idempotent requests are never retried.
   */
  readonly idempotent: boolean;
  /** A source of numbers in [0, 1) for jitter. @default Math.random */
  readonly random?: (() => number) | undefined;
}

/** Why {@link nextRetry} says stop. */
export type RetryStopReason = 'exhausted' | 'not-retryable' | 'not-idempotent' | 'retry-after-too-long';

/** The answer of {@link nextRetry}: wait `delayMs` then try again, or stop and why. */
export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly reason: RetryStopReason };

/**
 * Decides whether to retry a failed request and how long to wait first. Pure: time and randomness
 * come in as arguments.
 *
 * Stops, in this order of reasons: `not-retryable` (a status outside `policy.statuses`, or neither
 * a status nor a transport error), `not-idempotent`, `exhausted` (`retry > policy.retries`, so a
 * request is sent at most `retries + 1` times), `retry-after-too-long` (Retry-After above
 * `retryAfterCapMs` with `onRetryAfterAboveCap: 'give-up'`). Otherwise waits the later of the
 * backoff and the server's Retry-After (clamped to `retryAfterCapMs` with `'clamp'`), so the
 * result is in [0, max(capMs, retryAfterCapMs)].
 *
 * @example
 * ```ts
 * const policy = retryPolicy();
 * for (let retry = 1; ; retry++) {
 *   const res = await fetch(url);
 *   if (res.ok) return res;
 *   const next = nextRetry(policy, {
 *     retry, status: res.status, retryAfter: res.headers.get('retry-after'),
 *     now: clock.now(), idempotent: isIdempotentMethod('GET'),
 *   });
 *   if (!next.retry) throw new Error(`giving up: ${next.reason}`);
 *   await sleep(next.delayMs);
 * }
 * ```
 */
export function nextRetry(policy: RetryPolicy, input: RetryInput): RetryDecision {
  integer('retry', input.retry, 1);
  if (input.error !== undefined && input.error !== 'network' && input.error !== 'timeout') {
    throw invalidOption('error', input.error, '"network" or "timeout"');
  }
  const retryable =
    input.error !== undefined || (input.status !== undefined && policy.statuses.includes(input.status));
  if (!retryable) return { retry: false, reason: 'not-retryable' };
  if (input.idempotent !== true) return { retry: false, reason: 'not-idempotent' };
  if (input.retry > policy.retries) return { retry: false, reason: 'exhausted' };

  let serverMs = parseRetryAfter(input.retryAfter, input.now) ?? 0;
  if (serverMs > policy.retryAfterCapMs) {
    if (policy.onRetryAfterAboveCap === 'give-up') return { retry: false, reason: 'retry-after-too-long' };
    serverMs = policy.retryAfterCapMs;
  }
  const delayMs = Math.max(backoffDelay(policy, input.retry, input.random), serverMs);
  return { retry: true, delayMs };
}

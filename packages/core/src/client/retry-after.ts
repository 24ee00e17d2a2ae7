import { invalidOption } from '../errors.js';
import { parseHttpDate } from './http-date.js';

const DELTA_SECONDS = /^\d+$/;

/**
 * Reads a `Retry-After` header value as a wait in ms from `now`, or `undefined` when it is absent or
 * not valid. Both forms of RFC 9110 section 10.2.3 are understood:
 *
 * - delta-seconds: one or more ASCII digits, nothing else. Signs, fractions (`1.5`), exponents and
 *   garbage are invalid (RFC 9110 allows only digits; guessing at `1.5` would reward broken servers).
 *   Absurdly large values saturate at `Number.MAX_SAFE_INTEGER` ms instead of becoming Infinity.
 * - HTTP-date: see {@link parseHttpDate}. A date in the past means "now": 0.
 *
 * Leading and trailing whitespace is ignored. The result is always >= 0.
 *
 * @param now Ms since the epoch (the caller's clock; pass the response's arrival time).
 * @example
 * ```ts
 * parseRetryAfter('120', now); // 120_000
 * parseRetryAfter(toHttpDate(now + 5_000), now); // about 5_000 (the date has whole seconds)
 * parseRetryAfter('soon', now); // undefined
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (typeof now !== 'number' || !Number.isFinite(now)) {
    throw invalidOption('now', now, 'a finite time in ms since the epoch');
  }
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (DELTA_SECONDS.test(text)) return Math.min(Number(text) * 1000, Number.MAX_SAFE_INTEGER);
  const at = parseHttpDate(text, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

/**
 * Formats a wait in ms as a `Retry-After` delta-seconds value, rounded up to a whole second so a
 * client that honours it is never early. Negative and NaN waits become `'0'`.
 *
 * @example
 * ```ts
 * formatRetryAfter(1_200); // '2'
 * ```
 */
export function formatRetryAfter(delayMs: number): string {
  if (!(delayMs > 0)) return '0';
  // At least 1: a tiny positive wait divided by 1000 can underflow to 0, and 0 would be early.
  return String(Math.max(1, Math.ceil(Math.min(delayMs, Number.MAX_SAFE_INTEGER) / 1000)));
}

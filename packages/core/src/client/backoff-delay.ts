import { integer } from '../validate.js';
import type { RetryPolicy } from './retry-policy.js';

/**
 * The backoff before retry number `retry` (1-based), in ms: `min(capMs, baseMs * factor^(retry-1))`,
 * and with full jitter a uniform draw from [0, that]. Always in [0, policy.capMs].
 *
 * @param retry The retry about to happen: 1 for the first retry (the second try).
 * @param random A source of numbers in [0, 1); injected so tests are deterministic. Values outside
 *   [0, 1] (or NaN) are clamped, so a bad source can never push a delay outside [0, capMs].
 * @example
 * ```ts
 * const policy = retryPolicy({ jitter: 'none' });
 * [1, 2, 3].map((n) => backoffDelay(policy, n)); // [500, 1000, 2000]
 * ```
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  integer('retry', retry, 1);
  // baseMs 0 would make 0 * Infinity = NaN once factor^n overflows; no base means no wait.
  const exponential = policy.baseMs === 0 ? 0 : Math.min(policy.capMs, policy.baseMs * policy.factor ** (retry - 1));
  if (policy.jitter === 'none') return exponential;
  const r = random();
  const unit = r >= 0 && r <= 1 ? r : r > 1 ? 1 : 0;
  return unit * exponential;
}

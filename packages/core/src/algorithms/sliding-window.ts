import { integer, oneOf } from '../validate.js';
import { invalidOption } from '../errors.js';
import type { Duration } from '../duration.js';
import type { SlidingWindowSpec } from '../types.js';
import { windowOption } from './fixed-window.js';

/** Options of {@link slidingWindow}. */
export interface SlidingWindowOptions {
  /** Units admitted in any window. Integer >= 1. */
  readonly limit: number;
  /** Window length: ms as a number, or a string such as `'60s'`, `'1m'`. A whole number of ms, at least 1. */
  readonly window: Duration;
  /**
   * `'exact'` keeps a log of admitted (time, cost) entries: never more than `limit` in any
   * window, state grows with the requests in one window. `'approximate'` keeps two counters
   * (O(1) state); it may admit up to `limit + previous * x / W` (< 2 * limit) in a sliding
   * window ending `x` ms into an aligned one, and may deny slightly early.
   * @default 'exact'
   */
  readonly precision?: 'exact' | 'approximate';
}

/**
 * Sliding window: at most `limit` units in any window of the given length.
 *
 * @example
 * const data = slidingWindow({ limit: 120, window: '60s' });
 * const cheap = slidingWindow({ limit: 120, window: '60s', precision: 'approximate' });
 */
export function slidingWindow(options: SlidingWindowOptions): SlidingWindowSpec {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  return Object.freeze({
    algorithm: 'sliding-window',
    limit: integer('limit', options.limit, 1),
    windowMs: windowOption('window', options.window),
    precision: oneOf('precision', options.precision === undefined ? 'exact' : options.precision, ['exact', 'approximate'] as const),
  });
}

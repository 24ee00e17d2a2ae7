import { integer } from '../validate.js';
import { invalidOption } from '../errors.js';
import { toMs, type Duration } from '../duration.js';
import type { FixedWindowSpec, StepResult } from '../types.js';
import { EPSILON, wholeRemaining } from './constants.js';

/** Options of {@link fixedWindow}. */
export interface FixedWindowOptions {
  /** Units admitted per window. Integer >= 1. */
  readonly limit: number;
  /** Window length: ms as a number, or a string such as `'60s'`, `'1m'`. A whole number of ms, at least 1. */
  readonly window: Duration;
}

/** Fixed-window state: units counted in the window that starts at `windowStart` (ms since the epoch). */
export interface FixedWindowState {
  readonly windowStart: number;
  readonly count: number;
}

/**
 * Parses a window option: a {@link Duration} that must come out a whole number of ms, at least 1.
 * Windows are aligned and compared in whole ms (the stores' clocks tick in them, and waits are
 * rounded up to them); a window of 7.7 ms would make a denial's `retryAfter` fall short.
 */
export function windowOption(option: string, value: Duration): number {
  const ms = toMs(option, value);
  if (!Number.isInteger(ms) || ms < 1) throw invalidOption(option, value, 'a duration of a whole number of ms, at least 1');
  return ms;
}

/**
 * Fixed window: at most `limit` units per window aligned to multiples of the window length since
 * the epoch. The cheapest limit, but a client may spend `limit` at the end of one window and
 * `limit` again at the start of the next (2x in a short span); use {@link slidingWindow} where
 * that matters.
 *
 * @example
 * const perMinute = fixedWindow({ limit: 120, window: '60s' });
 */
export function fixedWindow(options: FixedWindowOptions): FixedWindowSpec {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  return Object.freeze({
    algorithm: 'fixed-window',
    limit: integer('limit', options.limit, 1),
    windowMs: windowOption('window', options.window),
  });
}

/**
 * One fixed-window step, with `W = windowMs`:
 *
 * 1. The window of `now` starts at `floor(now / W) * W`. A state from an earlier window is
 *    replaced by `{ windowStart, count: 0 }`; a state from the same or a later window (the clock
 *    stepped back) is kept, so a clock going back never resets the count.
 * 2. `cost > limit + EPSILON`: denied with `exceedsLimit`, nothing counted.
 * 3. Allowed iff `count + cost <= limit + EPSILON`; then `count += cost`. The `EPSILON` forgives
 *    the rounding of fractional costs (0.2 + 0.4 + 0.3 + 0.1 is 1.0000000000000002), as every
 *    algorithm's admission test does.
 * 4. `retryAfter = windowStart + W - now` when denied (0 when allowed),
 *    `resetAt = windowStart + W`, `remaining = clamp(floor(limit - count + EPSILON), 0, limit)`.
 */
export function fixedWindowStep(
  state: FixedWindowState | undefined,
  spec: FixedWindowSpec,
  cost: number,
  now: number,
): StepResult<FixedWindowState> {
  const { limit, windowMs } = spec;
  const start = Math.floor(now / windowMs) * windowMs;
  let current: FixedWindowState =
    state === undefined || state.windowStart < start ? { windowStart: start, count: 0 } : state;
  const resetAt = current.windowStart + windowMs;
  const exceedsLimit = cost > limit + EPSILON;
  const allowed = !exceedsLimit && current.count + cost <= limit + EPSILON;
  if (allowed) current = { windowStart: current.windowStart, count: current.count + cost };
  return {
    decision: {
      allowed,
      limit,
      remaining: wholeRemaining(limit - current.count, limit),
      resetAt,
      retryAfter: allowed ? 0 : resetAt - now,
      exceedsLimit,
    },
    state: current,
  };
}

/** Whether `value` has the shape of a {@link FixedWindowState}. */
export function isFixedWindowState(value: unknown): value is FixedWindowState {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as FixedWindowState).windowStart === 'number' &&
    typeof (value as FixedWindowState).count === 'number'
  );
}

/**
 * Gives back `cost` counted in the state's window, never below 0. A state whose window has
 * ended (`windowStart + W <= now`) counted nothing that still matters and is returned as is.
 * With `takenResetAt` (the `resetAt` of the decision that took the cost) only the window that
 * took it gives back: once a later request rolled the state into a new window, that window's
 * count is not touched.
 */
export function fixedWindowRefund(
  state: FixedWindowState,
  spec: FixedWindowSpec,
  cost: number,
  now: number,
  takenResetAt?: number,
): FixedWindowState {
  if (state.windowStart + spec.windowMs <= now || state.count <= 0) return state;
  // The same sum the step computed for the decision's resetAt, so an exact comparison holds.
  if (takenResetAt !== undefined && state.windowStart + spec.windowMs !== takenResetAt) return state;
  return { windowStart: state.windowStart, count: Math.max(0, state.count - cost) };
}

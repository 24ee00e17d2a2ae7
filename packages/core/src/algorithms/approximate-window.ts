import type { SlidingWindowSpec, StepResult } from '../types.js';
import { EPSILON, wholeRemaining } from './constants.js';

/**
 * Approximate sliding-window state: the units admitted in the aligned window starting at
 * `windowStart` (`current`) and in the one before it (`previous`).
 */
export interface ApproximateWindowState {
  /** ms since the epoch, a multiple of the window length. */
  readonly windowStart: number;
  readonly previous: number;
  readonly current: number;
}

/** Moves `state` to the aligned window of `now`; a state from the same or a later window is kept. */
function roll(state: ApproximateWindowState | undefined, now: number, windowMs: number): ApproximateWindowState {
  const start = Math.floor(now / windowMs) * windowMs;
  if (state === undefined) return { windowStart: start, previous: 0, current: 0 };
  if (state.windowStart >= start) return state;
  // Both starts are multiples of the window: round away floating-point noise in the quotient.
  const windows = Math.round((start - state.windowStart) / windowMs);
  return windows === 1
    ? { windowStart: start, previous: state.current, current: 0 }
    : { windowStart: start, previous: 0, current: 0 };
}

/**
 * One approximate sliding-window step: two fixed-window counters, the previous one weighted by
 * how much of it a sliding window ending now still covers. With `W = windowMs`:
 *
 * 1. Windows are aligned at `floor(now / W) * W`. On a roll by one window
 *    `previous = current, current = 0`; by two or more both become 0. A clock stepping back into
 *    an earlier window keeps the state's window and is treated as that window's start
 *    (`t = max(now, windowStart)`), where the previous count weighs most.
 * 2. `estimate = previous * (W - (t - windowStart)) / W + current`.
 * 3. `cost > limit + EPSILON`: denied with `exceedsLimit`, nothing counted,
 *    `retryAfter = max(1, resetAt - now)`.
 * 4. Allowed iff `estimate + cost <= limit + EPSILON`; then `current += cost`.
 * 5. Denied: `retryAfter` is the smallest whole-ms wait after which the same cost is admitted.
 *    With `excess = estimate + cost - limit - EPSILON`: if `previous > 0` and
 *    `w = ceil(excess * W / previous)` still falls inside this window (`t - windowStart + w < W`),
 *    `retryAfter = (t - now) + w`. Otherwise the wait reaches into the next window, whose
 *    estimate is `current * (W - y) / W` at offset `y`:
 *    `y = clamp(ceil((current + cost - limit - EPSILON) * W / current), 0, W)` (0 when current is 0)
 *    and `retryAfter = windowStart + W + y - now`.
 * 6. `remaining = clamp(floor(limit - estimate' + EPSILON), 0, limit)` with `estimate'` after the
 *    step; `resetAt` is when the estimate reaches 0: `windowStart + 2W` if `current > 0`, else
 *    `windowStart + W` if `previous > 0`, else `now`.
 *
 * **Error bound** (property-tested). Every admitted request's estimate, which includes
 * `current`, stays within `limit`, so an aligned window never holds more than `limit` units.
 * A sliding window of length `W` that ends `x` ms into an aligned window covers part of the
 * previous aligned window (at most `previous` units) and the current one up to `x`; the last
 * admission in it, at offset `x' <= x`, had `previous * (W - x') / W + current <= limit`. So the
 * sliding window holds at most `limit + previous * x / W`, which is less than `2 * limit`. The
 * estimate assumes the previous window's units were spread evenly, so it may also deny early
 * (when they were in fact bunched at its start and have already left the sliding window).
 */
export function approximateWindowStep(
  state: ApproximateWindowState | undefined,
  spec: SlidingWindowSpec,
  cost: number,
  now: number,
): StepResult<ApproximateWindowState> {
  const { limit, windowMs } = spec;
  const rolled = roll(state, now, windowMs);
  const { windowStart, previous, current } = rolled;
  const t = now > windowStart ? now : windowStart;
  const estimate = (previous * (windowMs - (t - windowStart))) / windowMs + current;

  const exceedsLimit = cost > limit + EPSILON;
  if (!exceedsLimit && estimate + cost <= limit + EPSILON) {
    const next = { windowStart, previous, current: current + cost };
    return {
      decision: {
        allowed: true,
        limit,
        remaining: wholeRemaining(limit - estimate - cost, limit),
        resetAt: resetOf(next, windowMs, now),
        retryAfter: 0,
        exceedsLimit: false,
      },
      state: next,
    };
  }

  const resetAt = resetOf(rolled, windowMs, now);
  let retryAfter = -1;
  if (exceedsLimit) {
    retryAfter = Math.max(1, resetAt - now);
  } else {
    const excess = estimate + cost - limit - EPSILON;
    if (previous > 0) {
      const wait = Math.ceil((excess * windowMs) / previous);
      if (t - windowStart + wait < windowMs) retryAfter = t - now + wait;
    }
    if (retryAfter < 0) {
      const need = current + cost - limit - EPSILON;
      const offset = need > 0 ? Math.min(windowMs, Math.ceil((need * windowMs) / current)) : 0;
      retryAfter = windowStart + windowMs + offset - now;
    }
  }
  return {
    decision: {
      allowed: false,
      limit,
      remaining: wholeRemaining(limit - estimate, limit),
      resetAt,
      retryAfter,
      exceedsLimit,
    },
    state: rolled,
  };
}

function resetOf(state: ApproximateWindowState, windowMs: number, now: number): number {
  if (state.current > 0) return state.windowStart + 2 * windowMs;
  if (state.previous > 0) return state.windowStart + windowMs;
  return now;
}

/**
 * Gives back `cost`, never below 0.
 *
 * - With `takenResetAt` (the `resetAt` of the decision that took the cost, its window's start
 *   plus `2W`): the count of the window that took it gives back, whether that is still the
 *   state's current window (ended or not: its count becomes the next window's `previous`) or,
 *   once a later request rolled the state on by one window, its `previous`. Anything else has no
 *   count of that window left, and is returned as is.
 * - Without it: the state's current window gives back. A state whose window has ended
 *   (`windowStart + W <= now`) is returned as is.
 */
export function approximateWindowRefund(
  state: ApproximateWindowState,
  spec: SlidingWindowSpec,
  cost: number,
  now: number,
  takenResetAt?: number,
): ApproximateWindowState {
  const { windowStart, previous, current } = state;
  const windowMs = spec.windowMs;
  if (takenResetAt === undefined) {
    if (windowStart + windowMs <= now || current <= 0) return state;
    return { windowStart, previous, current: Math.max(0, current - cost) };
  }
  // The same sum the step computed for the decision's resetAt, so an exact comparison holds.
  if (windowStart + 2 * windowMs === takenResetAt) {
    return current > 0 ? { windowStart, previous, current: Math.max(0, current - cost) } : state;
  }
  const taken = takenResetAt - 2 * windowMs;
  if (previous > 0 && Math.round((windowStart - taken) / windowMs) === 1) {
    return { windowStart, previous: Math.max(0, previous - cost), current };
  }
  return state;
}

/** Whether `value` has the shape of an {@link ApproximateWindowState}. */
export function isApproximateWindowState(value: unknown): value is ApproximateWindowState {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApproximateWindowState).windowStart === 'number' &&
    typeof (value as ApproximateWindowState).previous === 'number' &&
    typeof (value as ApproximateWindowState).current === 'number'
  );
}

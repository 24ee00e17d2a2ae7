import type { SlidingWindowSpec, StepResult } from '../types.js';
import { EPSILON, wholeRemaining } from './constants.js';

/**
 * Exact sliding-window state: a log of admitted units as one flat array
 * `[time0, cost0, time1, cost1, ...]`, oldest first, times in ms since the epoch and
 * non-decreasing. Units admitted at the same time share one entry, so the log holds at most
 * one entry per distinct ms inside the window (and never more than `limit` entries of whole
 * costs). Read-only: every step returns a new array when it changes anything.
 */
export type ExactWindowState = readonly number[];

const EMPTY: ExactWindowState = Object.freeze([]);

/**
 * One exact sliding-window step, with `W = windowMs`:
 *
 * 1. Effective now `t = max(now, newest entry time)`: a clock stepping back never lets entries
 *    leave the window early. Entries with `time <= t - W` are dropped: the window is `(t - W, t]`.
 * 2. `used` = the sum of the remaining costs.
 * 3. `cost > limit + EPSILON`: denied with `exceedsLimit`, nothing logged,
 *    `retryAfter = max(1, newest + W - now)` (until the log is empty; 1 when it already is).
 * 4. Allowed iff `used + cost <= limit + EPSILON` (the `EPSILON` forgives the rounding of
 *    fractional costs, as every algorithm's admission test does); then `(t, cost)` is logged
 *    (added to the newest entry when its time is `t`; a cost of 0 logs nothing).
 * 5. Denied: drop the oldest entries, one by one, until `used - dropped + cost <= limit + EPSILON`;
 *    `retryAfter = (time of the last dropped entry) + W - now`, the moment it leaves the window.
 * 6. `remaining = clamp(floor(limit - used' + EPSILON), 0, limit)` and `resetAt = newest + W`
 *    (`now` for an empty log), from the log after the step.
 *
 * Never more than `limit` units are admitted in any window of length `W` (property-tested).
 * Cost: O(entries in the window) per step, as the log is copied rather than changed in place.
 */
export function exactWindowStep(
  state: ExactWindowState | undefined,
  spec: SlidingWindowSpec,
  cost: number,
  now: number,
): StepResult<ExactWindowState> {
  const { limit, windowMs } = spec;
  const log = state ?? EMPTY;
  const n = log.length;
  const newest = n > 0 ? (log[n - 2] as number) : now;
  const t = now > newest ? now : newest;
  const edge = t - windowMs;
  let first = 0;
  while (first < n && (log[first] as number) <= edge) first += 2;
  let used = 0;
  for (let i = first + 1; i < n; i += 2) used += log[i] as number;
  const live = first === 0 ? log : log.slice(first);

  const exceedsLimit = cost > limit + EPSILON;
  if (!exceedsLimit && used + cost <= limit + EPSILON) {
    let next = live;
    if (cost > 0) {
      const m = live.length;
      if (m > 0 && live[m - 2] === t) {
        const copy = live.slice();
        copy[m - 1] = (copy[m - 1] as number) + cost;
        next = copy;
      } else {
        next = [...live, t, cost];
      }
    }
    return {
      decision: {
        allowed: true,
        limit,
        remaining: wholeRemaining(limit - used - cost, limit),
        resetAt: next.length > 0 ? (next[next.length - 2] as number) + windowMs : now,
        retryAfter: 0,
        exceedsLimit: false,
      },
      state: next,
    };
  }

  const resetAt = live.length > 0 ? (live[live.length - 2] as number) + windowMs : now;
  let retryAfter: number;
  if (exceedsLimit) {
    retryAfter = Math.max(1, resetAt - now);
  } else {
    // cost <= limit + EPSILON, so dropping every entry makes it fit: the loop always sets retryAfter.
    retryAfter = resetAt - now;
    let left = used;
    for (let i = 0; i < live.length; i += 2) {
      left -= live[i + 1] as number;
      if (left + cost <= limit + EPSILON) {
        retryAfter = (live[i] as number) + windowMs - now;
        break;
      }
    }
  }
  return {
    decision: {
      allowed: false,
      limit,
      remaining: wholeRemaining(limit - used, limit),
      resetAt,
      retryAfter,
      exceedsLimit,
    },
    state: live,
  };
}

/**
 * Gives back `cost` units taken by an allowed step. Expired entries are dropped as in a step.
 *
 * - With `takenResetAt` (the `resetAt` of the decision that took them, that is its entry's time
 *   plus `W`): the units come off that entry only, which may hold them merged with others admitted
 *   in the same ms. Newer entries, taken by later requests in the meantime, are left alone; with
 *   no such entry left (it expired, or the client was reset) nothing is given back.
 * - Without it: `cost` units come off the newest entries backwards, which is right only when no
 *   request took from the limit since.
 *
 * Entries that reach 0 are removed. Never below an empty log.
 */
export function exactWindowRefund(
  state: ExactWindowState,
  spec: SlidingWindowSpec,
  cost: number,
  now: number,
  takenResetAt?: number,
): ExactWindowState {
  const n = state.length;
  // A cost of 0 still drops expired entries, as the Lua twin does: kept, a clock that later steps
  // back would find them inside its window again.
  if (n === 0) return state;
  const newest = state[n - 2] as number;
  const edge = (now > newest ? now : newest) - spec.windowMs;
  let first = 0;
  while (first < n && (state[first] as number) <= edge) first += 2;
  const log = state.slice(first);
  if (takenResetAt !== undefined) {
    // The same sum the step computed for the decision's resetAt, so an exact comparison holds.
    let at = log.length - 2;
    while (at >= 0 && (log[at] as number) + spec.windowMs !== takenResetAt) at -= 2;
    if (at < 0) return log;
    const held = log[at + 1] as number;
    if (held > cost + EPSILON) log[at + 1] = held - cost;
    else log.splice(at, 2);
    return log;
  }
  let left = cost;
  while (left > 0 && log.length > 0) {
    const held = log[log.length - 1] as number;
    if (held > left + EPSILON) {
      log[log.length - 1] = held - left;
      break;
    }
    left -= held;
    log.length -= 2;
  }
  return log;
}

/** Whether `value` can be an {@link ExactWindowState}: an array of an even number of numbers. */
export function isExactWindowState(value: unknown): value is ExactWindowState {
  return Array.isArray(value) && value.length % 2 === 0;
}

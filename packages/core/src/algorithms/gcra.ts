import type { Decision, GcraSpec, RateSpec, Reservation, StepResult, TokenBucketSpec } from '../types.js';
import { invalidOption } from '../errors.js';
import { EPSILON, TIME_EPSILON, waitMs } from './constants.js';
import { bucketOptions, isTokenBucketState, type BucketOptions } from './token-bucket.js';

/** The slack `s = EPSILON * T + TIME_EPSILON` ms of a bucket whose tokens come every `interval` ms (see {@link gcraStep}). */
function slackOf(interval: number): number {
  return EPSILON * interval + TIME_EPSILON;
}

/**
 * GCRA state: the theoretical arrival time (TAT) in ms since the epoch, one number. The bucket
 * holds `(tau - (tat - now)) / T` tokens at `now` (capped at `B`); `tat <= now` means full.
 */
export type GcraState = number;

/**
 * A bucket with the same options and the same decisions as {@link tokenBucket}, declared as
 * GCRA. `B = capacity + burst` is the bucket size (`burst` is headroom above `capacity`; a new
 * client starts full). Since `step` runs token buckets through GCRA as well, the two specs differ
 * only in name; pick the one your readers know.
 *
 * @example
 * const perMethod = gcra({ capacity: 1, refillPerSecond: 5 }); // one call every 200 ms
 */
export function gcra(options: BucketOptions): GcraSpec {
  return Object.freeze({ algorithm: 'gcra', ...bucketOptions(options) });
}

/**
 * One GCRA step: token-bucket admission on one number of state. With `B = capacity + burst`,
 * `r = refillPerSecond`, `T = 1000 / r` ms per token, `tau = B * T`, and the slack
 * `s = EPSILON * T + TIME_EPSILON` ms (`EPSILON` tokens, plus 1 µs for the rounding of absolute
 * times; see {@link TIME_EPSILON}):
 *
 * 1. No state: `tat = now` (a new client starts full). `debt = max(tat, now) - now` is how far
 *    the bucket is below full, in ms; `wait(x)` is `ceil(x)` for `x > 0`, else 0.
 * 2. `cost > B + EPSILON`: denied with `exceedsLimit`, state unchanged,
 *    `retryAfter = max(1, wait(debt - s))` (the time until full).
 * 3. `ahead = debt + cost * T`. Allowed iff `ahead <= tau + s`; then the state is
 *    `newTat = max(tat, now) + cost * T` and `retryAfter = 0`.
 * 4. Denied: state unchanged, `retryAfter = max(1, ceil(ahead - tau - s))`, the smallest
 *    whole-ms wait after which step 3 admits the same cost.
 * 5. With `d` the debt after the step (`ahead` if allowed, else `debt`):
 *    `limit = floor(B + EPSILON)`, `remaining = clamp(floor((tau - d + s) / T), 0, limit)`,
 *    `resetAt = now + wait(d - s)`.
 *
 * Comparisons use `debt`, a difference of two nearby times (exact in floating point), never
 * `newTat - now`, which carries the rounding of a sum near 1.7e12.
 *
 * On non-decreasing `now` the decisions equal {@link tokenBucketStep}'s (property-tested: exactly
 * where both are computed exactly, e.g. integer ms and rates such as 0.5, 3, 5 or 1000 per second;
 * in general whenever the bucket is not within `TIME_EPSILON` ms of admitting the cost). A clock
 * stepping back makes the debt larger, so it never adds tokens; and `tat` never decreases.
 */
export function gcraStep(
  state: GcraState | undefined,
  spec: GcraSpec | TokenBucketSpec,
  cost: number,
  now: number,
): StepResult<GcraState> {
  const size = spec.capacity + spec.burst;
  const interval = 1000 / spec.refillPerSecond;
  const tau = size * interval;
  const slack = slackOf(interval);
  const tat = state === undefined ? now : state;
  const debt = tat > now ? tat - now : 0;
  const limit = Math.floor(size + EPSILON);
  let decision: Decision;
  if (cost > size + EPSILON) {
    decision = {
      allowed: false,
      limit,
      remaining: remainingOf(tau - debt + slack, interval, limit),
      resetAt: now + waitMs(debt - slack),
      retryAfter: Math.max(1, waitMs(debt - slack)),
      exceedsLimit: true,
    };
    return { decision, state: tat };
  }
  const ahead = debt + cost * interval;
  if (ahead <= tau + slack) {
    decision = {
      allowed: true,
      limit,
      remaining: remainingOf(tau - ahead + slack, interval, limit),
      resetAt: now + waitMs(ahead - slack),
      retryAfter: 0,
      exceedsLimit: false,
    };
    return { decision, state: (tat > now ? tat : now) + cost * interval };
  }
  decision = {
    allowed: false,
    limit,
    remaining: remainingOf(tau - debt + slack, interval, limit),
    resetAt: now + waitMs(debt - slack),
    retryAfter: Math.max(1, Math.ceil(ahead - tau - slack)),
    exceedsLimit: false,
  };
  return { decision, state: tat };
}

/** Whole tokens in `ms` of bucket time, clamped to [0, limit]. */
function remainingOf(ms: number, interval: number, limit: number): number {
  return Math.min(Math.max(Math.floor(ms / interval), 0), limit);
}

/**
 * Reads a stored bucket state as a TAT: a number is one; a readable {@link TokenBucketState}
 * converts (`tat = updatedAt + (B - tokens) * T`); anything else (no state, or a state left by
 * a different algorithm) is `undefined`, i.e. a fresh client.
 */
export function toGcraState(state: unknown, spec: RateSpec): GcraState | undefined {
  if (typeof state === 'number') return Number.isFinite(state) ? state : undefined;
  if (isTokenBucketState(state)) {
    const size = spec.capacity + spec.burst;
    const tokens = state.tokens < size ? state.tokens : size;
    return state.updatedAt + ((size - tokens) * 1000) / spec.refillPerSecond;
  }
  return undefined;
}

/**
 * Gives back `cost` taken by an allowed step: `tat -= cost * T`, but never below `now` (a
 * bucket cannot be fuller than full). A TAT already at or below `now` (full bucket) is kept
 * as it is rather than raised to `now`, so a refund never takes capacity away even if the clock
 * later steps back.
 *
 * With `takenResetAt` (the `resetAt` of the decision that took the cost) at most what that
 * decision took and has not refilled by `now` comes back: `takenResetAt + s - now` ms of it, with
 * the slack `s` of {@link gcraStep} (the decision's TAT is at most that: its resetAt is
 * `ceil(TAT - s)`). What did refill may have been taken again by a later step, and giving it back
 * a second time would let the bucket admit more than its size plus its refill; the bound errs by
 * under 1 ms of refill, so that a refund at the decision's own time gives back the whole cost.
 * Without it the whole `cost * T` comes back, which is right only when no time passed since.
 */
export function gcraRefund(tat: GcraState, spec: RateSpec, cost: number, now: number, takenResetAt?: number): GcraState {
  if (tat <= now) return tat;
  const interval = 1000 / spec.refillPerSecond;
  let back = cost * interval;
  if (takenResetAt !== undefined) {
    const owed = takenResetAt + slackOf(interval) - now;
    if (!(owed > 0)) return tat;
    if (owed < back) back = owed;
  }
  const lowered = tat - back;
  return lowered > now ? lowered : now;
}

/**
 * "When may this call go?" on GCRA state, for outgoing throttles: the call is booked into the
 * schedule even if it must wait. With `debt`, `tau` and the slack `s` as in {@link gcraStep}:
 * `newTat = max(tat, now) + cost * T`, `delay = max(0, ceil(debt + cost * T - tau - s))` (the
 * brief's `ceil(newTat - now - tau)`, computed without the rounding of absolute times). Granted
 * iff `delay <= maxWaitMs`, and then the state is `newTat`; otherwise nothing is booked (the state
 * is returned unchanged). Once the bucket's `B` tokens are spent, successive one-unit
 * reservations at the same `now` get delays `ceil(k * T)`: calls spaced `T` apart.
 */
export function gcraReserve(
  state: GcraState | undefined,
  spec: RateSpec,
  cost: number,
  now: number,
  maxWaitMs: number,
): { reservation: Reservation; state: GcraState | undefined } {
  if (typeof maxWaitMs !== 'number' || Number.isNaN(maxWaitMs) || maxWaitMs < 0) {
    throw invalidOption('maxWaitMs', maxWaitMs, 'a number of ms of at least 0');
  }
  const interval = 1000 / spec.refillPerSecond;
  const tau = (spec.capacity + spec.burst) * interval;
  const slack = slackOf(interval);
  const tat = state === undefined ? now : state;
  const debt = tat > now ? tat - now : 0;
  const delayMs = waitMs(debt + cost * interval - tau - slack);
  if (delayMs <= maxWaitMs) return { reservation: { granted: true, delayMs }, state: (tat > now ? tat : now) + cost * interval };
  return { reservation: { granted: false, delayMs }, state };
}

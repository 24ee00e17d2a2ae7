import { invalidOption } from '../errors.js';
import type { LimitSpec, RateSpec, Reservation, StepResult } from '../types.js';
import {
  approximateWindowRefund,
  approximateWindowStep,
  isApproximateWindowState,
} from './approximate-window.js';
import { exactWindowRefund, exactWindowStep, isExactWindowState } from './exact-window.js';
import { fixedWindowRefund, fixedWindowStep, isFixedWindowState } from './fixed-window.js';
import { gcraRefund, gcraReserve, gcraStep, toGcraState } from './gcra.js';
import { unknownAlgorithm } from './specs.js';

function checkCost(cost: number): void {
  // Written to reject NaN as well: NaN fails every comparison.
  if (typeof cost !== 'number' || !(cost >= 0 && cost < Infinity)) throw invalidOption('cost', cost, 'a finite number of at least 0');
}

/**
 * Throws `INVALID_OPTION` unless `takenResetAt` (a refund's, see `RefundRequest`) is undefined or
 * a finite number. Stores call it before anything else, so a bad value fails even for a client
 * they hold nothing of.
 */
export function checkTakenResetAt(takenResetAt: unknown): void {
  if (takenResetAt !== undefined && !Number.isFinite(takenResetAt)) {
    throw invalidOption('takenResetAt', takenResetAt, 'a finite number: the resetAt of the decision that took the cost');
  }
}

/**
 * Runs one step of any spec: the single entry point stores use. `state` is whatever the
 * previous step returned (or `undefined` for a new client); a state of another algorithm's
 * shape (the spec for this limit changed) counts as none.
 *
 * Token buckets run through the GCRA math ({@link gcraStep}), so their state is one number; a
 * readable `TokenBucketState` passed in is converted. Sliding windows run
 * {@link exactWindowStep} or {@link approximateWindowStep} by `precision`.
 *
 * Throws `INVALID_OPTION` for a cost that is not a finite number >= 0, or an unknown algorithm.
 *
 * @example
 * let state: unknown;
 * const { decision, state: next } = step(spec, state, 1, clock.now());
 * state = next;
 */
export function step(spec: LimitSpec, state: unknown, cost: number, now: number): StepResult<unknown> {
  checkCost(cost);
  switch (spec.algorithm) {
    case 'token-bucket':
    case 'gcra':
      return gcraStep(toGcraState(state, spec), spec, cost, now);
    case 'sliding-window':
      return spec.precision === 'approximate'
        ? approximateWindowStep(isApproximateWindowState(state) ? state : undefined, spec, cost, now)
        : exactWindowStep(isExactWindowState(state) ? state : undefined, spec, cost, now);
    case 'fixed-window':
      return fixedWindowStep(isFixedWindowState(state) ? state : undefined, spec, cost, now);
    default:
      throw unknownAlgorithm(spec);
  }
}

/**
 * Gives back `cost` taken by an allowed step (used when a later limit of the same request
 * denies), and returns the state to keep.
 *
 * - Pass `takenResetAt`, the `resetAt` of the decision that took the cost. Then only what that
 *   decision took, and still holds, gives back: of a bucket, the part of the cost that has not
 *   refilled yet (see {@link gcraRefund}); the fixed window it counted in (nothing once a later
 *   request rolled the state into a new window), the approximate window it counted in (its
 *   `current`, or its `previous` after one roll), the exact log's entry it was logged in (not the
 *   newer entries of requests admitted since).
 * - Without it, a refund assumes no step and no time came between: buckets `tat -= cost * T`,
 *   never below `now` (a TAT already at or below `now` is kept); fixed and approximate windows
 *   drop the current window's count by `cost`, never below 0 (nothing when that window has
 *   ended); exact windows remove `cost` units from the newest log entries.
 *
 * Without a state of the spec's shape there is nothing to give back and `state` is returned as
 * is. Throws `INVALID_OPTION` for a bad cost or a `takenResetAt` that is not a finite number.
 */
export function refundStep(spec: LimitSpec, state: unknown, cost: number, now: number, takenResetAt?: number): unknown {
  checkCost(cost);
  checkTakenResetAt(takenResetAt);
  switch (spec.algorithm) {
    case 'token-bucket':
    case 'gcra': {
      const tat = toGcraState(state, spec);
      return tat === undefined ? state : gcraRefund(tat, spec, cost, now, takenResetAt);
    }
    case 'sliding-window':
      if (spec.precision === 'approximate') {
        return isApproximateWindowState(state) ? approximateWindowRefund(state, spec, cost, now, takenResetAt) : state;
      }
      return isExactWindowState(state) ? exactWindowRefund(state, spec, cost, now, takenResetAt) : state;
    case 'fixed-window':
      return isFixedWindowState(state) ? fixedWindowRefund(state, spec, cost, now, takenResetAt) : state;
    default:
      throw unknownAlgorithm(spec);
  }
}

/**
 * "When may this call go?" for outgoing throttles, on GCRA state. With `T`, `tau`, `debt` and
 * the slack `s` as in {@link gcraStep}: `newTat = max(tat, now) + cost * T` and
 * `delayMs = max(0, ceil(debt + cost * T - tau - s))` (that is `ceil(newTat - now - tau)`,
 * computed without the rounding of absolute times). Granted iff `delayMs <= maxWaitMs`, and
 * only then is the state advanced to `newTat`; a refused reservation returns `state` unchanged
 * (the same reference). Once the bucket is spent, one-unit reservations at the same `now` get
 * delays of about `k * T`: calls spaced `T` apart.
 *
 * Throws `INVALID_OPTION` for a spec that is not a bucket, a bad cost, or a negative/NaN
 * `maxWaitMs` (`Infinity` waits as long as it takes).
 *
 * @example
 * const { reservation, state: next } = reserveStep(spec, state, 1, clock.now(), 30_000);
 * if (reservation.granted) { state = next; await sleep(reservation.delayMs); }
 */
export function reserveStep(
  spec: RateSpec,
  state: unknown,
  cost: number,
  now: number,
  maxWaitMs: number,
): { reservation: Reservation; state: unknown } {
  checkCost(cost);
  if (spec.algorithm !== 'token-bucket' && spec.algorithm !== 'gcra') {
    throw invalidOption('spec.algorithm', (spec as { algorithm: unknown }).algorithm, 'a rate spec ("token-bucket" or "gcra")');
  }
  const result = gcraReserve(toGcraState(state, spec), spec, cost, now, maxWaitMs);
  return result.reservation.granted ? result : { reservation: result.reservation, state };
}

/**
 * A zero-cost look at a limit: what a decision would report now, without changing anything
 * (for admin snapshots). `state` is not modified and nothing is returned to keep.
 */
export function inspect(
  spec: LimitSpec,
  state: unknown,
  now: number,
): { limit: number; remaining: number; resetAt: number } {
  const { limit, remaining, resetAt } = step(spec, state, 0, now).decision;
  return { limit, remaining, resetAt };
}

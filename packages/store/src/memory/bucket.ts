/**
 * The token-bucket step on one number (the GCRA theoretical arrival time), inlined for the memory
 * store's hot path: no state object, no result object besides the decision. It is the same math
 * as core's `gcraStep` (which `step` runs for 'token-bucket' and 'gcra' specs); the differential
 * tests against core keep the two equal.
 */
import { EPSILON, TIME_EPSILON } from '@micboard/limiter-core';
import type { StoreDecision } from '@micboard/limiter-core';

/** Out-parameter of {@link bucketStep}: the TAT to keep (the caller owns where it lives). */
export interface BucketOut {
  tat: number;
}

/**
 * One consume on a bucket of `B = capacity + burst` tokens refilling at `refill` per second.
 * `tat` is the stored TAT (`now` for a client with no state). Writes the new TAT to `out.tat`.
 */
export function bucketStep(
  capacity: number,
  burst: number,
  refill: number,
  tat: number,
  cost: number,
  now: number,
  multiplier: number,
  out: BucketOut,
): StoreDecision {
  const size = capacity + burst;
  const interval = 1000 / refill;
  const tau = size * interval;
  const slack = EPSILON * interval + TIME_EPSILON;
  const debt = tat > now ? tat - now : 0;
  const limit = Math.floor(size + EPSILON);
  out.tat = tat;
  if (cost > size + EPSILON) {
    const wait = waitMs(debt - slack);
    return {
      allowed: false,
      limit,
      remaining: remainingOf(tau - debt + slack, interval, limit),
      resetAt: now + wait,
      retryAfter: wait > 1 ? wait : 1,
      exceedsLimit: true,
      multiplier,
    };
  }
  const ahead = debt + cost * interval;
  if (ahead <= tau + slack) {
    out.tat = (tat > now ? tat : now) + cost * interval;
    return {
      allowed: true,
      limit,
      remaining: remainingOf(tau - ahead + slack, interval, limit),
      resetAt: now + waitMs(ahead - slack),
      retryAfter: 0,
      exceedsLimit: false,
      multiplier,
    };
  }
  const retry = Math.ceil(ahead - tau - slack);
  return {
    allowed: false,
    limit,
    remaining: remainingOf(tau - debt + slack, interval, limit),
    resetAt: now + waitMs(debt - slack),
    retryAfter: retry > 1 ? retry : 1,
    exceedsLimit: false,
    multiplier,
  };
}

function remainingOf(ms: number, interval: number, limit: number): number {
  const whole = Math.floor(ms / interval);
  return whole < 0 ? 0 : whole > limit ? limit : whole;
}

function waitMs(ms: number): number {
  return ms > 0 ? Math.ceil(ms) : 0;
}

/**
 * Bounds how far `a * (1 / b)` can be from the rounded quotient `a / b`: two roundings of the
 * product and one of the quotient, each at most half a unit in the last place (2^-53 relative),
 * so at most about 3 * 2^-53 = 3.3e-16 of the product. Taken a little wider.
 */
const PRODUCT_ERROR = 5e-16;

/**
 * `Math.floor(a / b)`, the same number, for `a >= 0` and `b > 0`, given `inverse = 1 / b`. A
 * multiply takes the place of the division, which on the memory store's hot path costs more than
 * the rest of an admission. The product can be off from the rounded quotient by a few units in the
 * last place: where it comes within that of a whole number (the two could then floor to different
 * sides of it), and for anything not finite, the division decides.
 *
 * @example floorQuotient(7000, 1000, 1 / 1000) // 7, as Math.floor(7000 / 1000)
 */
export function floorQuotient(a: number, b: number, inverse: number): number {
  const product = a * inverse;
  const whole = Math.floor(product);
  // Exact: `whole` is `product` with its fraction bits cleared.
  const fraction = product - whole;
  const margin = product * PRODUCT_ERROR + 1e-15;
  return fraction > margin && fraction < 1 - margin ? whole : Math.floor(a / b);
}

/**
 * The token-bucket step on one number (the GCRA theoretical arrival time), inlined for the memory
 * store's hot path: no state object, no result object besides the decision. It is the same math
 * as core's `step` for 'token-bucket' / 'gcra' specs; the store's differential test against core
 * keeps the two equal.
 */
import { EPSILON } from '@micboard/limiter-core';
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
  const b = capacity + burst;
  const t = 1000 / refill;
  const tau = b * t;
  const limit = Math.floor(b + EPSILON);
  if (cost > b + EPSILON) {
    out.tat = tat;
    const tokens = (tau - (Math.max(tat, now) - now)) / t;
    return {
      allowed: false,
      limit,
      remaining: clampRemaining(tokens, limit),
      resetAt: Math.ceil(Math.max(tat, now)),
      retryAfter: Math.max(1, Math.ceil(((b - tokens) * 1000) / refill)),
      exceedsLimit: true,
      multiplier,
    };
  }
  const newTat = Math.max(tat, now) + cost * t;
  if (newTat - now <= tau + EPSILON * t) {
    out.tat = newTat;
    return {
      allowed: true,
      limit,
      remaining: clampRemaining((tau - (newTat - now)) / t, limit),
      resetAt: Math.ceil(Math.max(newTat, now)),
      retryAfter: 0,
      exceedsLimit: false,
      multiplier,
    };
  }
  out.tat = tat;
  return {
    allowed: false,
    limit,
    remaining: clampRemaining((tau - (Math.max(tat, now) - now)) / t, limit),
    resetAt: Math.ceil(Math.max(tat, now)),
    retryAfter: Math.max(1, Math.ceil(newTat - now - tau)),
    exceedsLimit: false,
    multiplier,
  };
}

function clampRemaining(tokens: number, limit: number): number {
  const r = Math.floor(tokens + EPSILON);
  return r < 0 ? 0 : r > limit ? limit : r;
}

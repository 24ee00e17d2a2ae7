import { nonNegative, positive, refillRate } from '../validate.js';
import { invalidOption } from '../errors.js';
import type { Decision, GcraSpec, StepResult, TokenBucketSpec } from '../types.js';
import { EPSILON, waitMs, wholeRemaining } from './constants.js';

/** Options of {@link tokenBucket} and {@link gcra}. */
export interface BucketOptions {
  /** Tokens of sustained budget: the size a profile is planned by. Must be > 0. */
  readonly capacity: number;
  /**
   * Tokens added per second, fractional allowed (0.5 = one token every 2 s). Must be > 0 and at
   * most `MAX_REFILL_PER_SECOND` (10,000); count in larger units for more.
   */
  readonly refillPerSecond: number;
  /**
   * Extra tokens of headroom above `capacity`. The bucket size is `B = capacity + burst`, and a
   * new client starts full, so it may spend `B` at once. Must be >= 0.
   * @default 0
   */
  readonly burst?: number;
}

/**
 * The readable state of a token bucket: tokens held as of `updatedAt`. The dispatcher
 * {@link step} keeps buckets as one GCRA number instead (see {@link GcraState}); this shape is
 * the reference the GCRA math is proven against.
 */
export interface TokenBucketState {
  /** Tokens in the bucket at `updatedAt`; in [-EPSILON, B]. */
  readonly tokens: number;
  /** ms since the epoch; never moves backwards. */
  readonly updatedAt: number;
}

/** Validates bucket options shared by {@link tokenBucket} and {@link gcra}. */
export function bucketOptions(options: BucketOptions): { capacity: number; refillPerSecond: number; burst: number } {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  return {
    capacity: positive('capacity', options.capacity),
    refillPerSecond: refillRate('refillPerSecond', options.refillPerSecond),
    burst: nonNegative('burst', options.burst === undefined ? 0 : options.burst),
  };
}

/**
 * A token bucket. **Definitions** (the Redis script uses the same):
 *
 * - `B = capacity + burst` is the bucket size. `capacity` is the sustained budget; `burst` is
 *   headroom above it. A new client starts full, so it may spend `B` at once, and at most
 *   `B + refillPerSecond * t` in any interval of `t` seconds.
 * - `r = refillPerSecond`; tokens come back continuously, one every `T = 1000 / r` ms.
 * - The decision's `limit` is `floor(B + EPSILON)`.
 *
 * The anonymous profile `{ capacity: 50, refillPerSecond: 5, burst: 10 }` therefore admits 60
 * requests at once, then 5 per second.
 *
 * Validated here: `capacity` finite and > 0, `refillPerSecond` finite, > 0 and at most
 * `MAX_REFILL_PER_SECOND`, `burst` finite and >= 0;
 * anything else throws `LimiterError` `INVALID_OPTION` naming the option and value.
 *
 * @example
 * const anonymous = tokenBucket({ capacity: 50, refillPerSecond: 5, burst: 10 });
 * const { decision, state } = step(anonymous, undefined, 1, clock.now());
 */
export function tokenBucket(options: BucketOptions): TokenBucketSpec {
  return Object.freeze({ algorithm: 'token-bucket', ...bucketOptions(options) });
}

/**
 * The token bucket as readable `{ tokens, updatedAt }` state: the reference the GCRA math of
 * {@link gcraStep} is proven equal to. Stores run buckets through `step`, which uses GCRA.
 *
 * With `B = capacity + burst`, `r = refillPerSecond`:
 * 1. No state: `{ tokens: B, updatedAt: now }` (a new client starts full).
 * 2. Refill: `tokens = min(B, tokens + max(0, now - updatedAt) * r / 1000)`,
 *    `updatedAt = max(updatedAt, now)`, so a clock stepping back never refills.
 * 3. `cost > B + EPSILON`: denied with `exceedsLimit`, nothing taken,
 *    `retryAfter = max(1, behind + wait((B - tokens - EPSILON) * 1000 / r))`, the time until
 *    full. `wait(x)` is `ceil(x)` for `x > 0`, else 0; `behind = updatedAt - now` is 0 unless
 *    the clock stepped back (refill resumes only at `updatedAt`, so waits count from there).
 * 4. Allowed iff `tokens + EPSILON >= cost`; then `tokens -= cost` and `retryAfter = 0`.
 *    Denied: `retryAfter = max(1, behind + ceil((cost - tokens - EPSILON) * 1000 / r))`: the
 *    smallest whole-ms wait after which the admission test passes.
 * 5. `limit = floor(B + EPSILON)`, `remaining = clamp(floor(tokens + EPSILON), 0, limit)` and
 *    `resetAt = updatedAt + wait((B - tokens - EPSILON) * 1000 / r)`, from the tokens after the
 *    step.
 *
 * Waits subtract the same `EPSILON` the admission test forgives, so a wait that is a whole
 * number of ms in exact arithmetic is not rounded up to the next ms by floating-point dust.
 *
 * `state` is read, never changed; a new state object is returned.
 */
export function tokenBucketStep(
  state: TokenBucketState | undefined,
  spec: TokenBucketSpec | GcraSpec,
  cost: number,
  now: number,
): StepResult<TokenBucketState> {
  const size = spec.capacity + spec.burst;
  const rate = spec.refillPerSecond;
  let tokens = size;
  let updatedAt = now;
  if (state !== undefined) {
    const elapsed = Math.max(0, now - state.updatedAt);
    tokens = Math.min(size, state.tokens + (elapsed * rate) / 1000);
    updatedAt = Math.max(state.updatedAt, now);
  }
  const limit = Math.floor(size + EPSILON);
  let allowed = false;
  let retryAfter: number;
  const exceedsLimit = cost > size + EPSILON;
  // Refill resumes at updatedAt, which is later than now only if the clock stepped back.
  const behind = updatedAt - now;
  if (exceedsLimit) {
    retryAfter = Math.max(1, behind + waitMs(((size - tokens - EPSILON) * 1000) / rate));
  } else if (tokens + EPSILON >= cost) {
    allowed = true;
    tokens -= cost;
    retryAfter = 0;
  } else {
    retryAfter = Math.max(1, behind + Math.ceil(((cost - tokens - EPSILON) * 1000) / rate));
  }
  const decision: Decision = {
    allowed,
    limit,
    remaining: wholeRemaining(tokens, limit),
    resetAt: updatedAt + waitMs(((size - tokens - EPSILON) * 1000) / rate),
    retryAfter,
    exceedsLimit,
  };
  return { decision, state: { tokens, updatedAt } };
}

/** Whether `value` has the shape of a {@link TokenBucketState}. */
export function isTokenBucketState(value: unknown): value is TokenBucketState {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as TokenBucketState).tokens === 'number' &&
    typeof (value as TokenBucketState).updatedAt === 'number'
  );
}

/**
 * Slack, in tokens (or window units), allowed when comparing fractional amounts: sums of
 * floating-point refills such as `0.1 + 0.2` must not deny a request that fits exactly.
 * Admission compares `tokens + EPSILON >= cost`, and whole-unit counts use `floor(x + EPSILON)`.
 * The Redis scripts use the same constant, so both sides round identically.
 */
export const EPSILON = 1e-9;

/**
 * Slack, in ms, on GCRA's comparisons of times. A TAT is an absolute time near 1.7e12 ms, where a
 * double resolves only about 2.4e-4 ms, so `now + 1000 / 3` is stored up to 1.2e-4 ms off. Without
 * this slack a fresh bucket refilling 3 tokens per second would deny its first request about half
 * the time. 1 µs is far below anything a rate limit can observe, and above the rounding of a few
 * hundred stored steps.
 */
export const TIME_EPSILON = 1e-3;

/**
 * The highest refill rate a bucket takes, in tokens per second (applied after any adaptive
 * multiplier: the engine checks `refillPerSecond * adaptive.max`).
 *
 * Why a bound: GCRA keeps a bucket as one absolute time near 1.7e12 ms (2.2e12 after 2039),
 * where a double resolves only 2.4e-4 ms (4.9e-4 ms after 2039). Each admission adds
 * `cost * 1000 / rate` ms to it and the sum is rounded, by up to half of that resolution, and in
 * the same direction every time; {@link TIME_EPSILON} adds 1e-3 ms of slack. At 1,000,000 per
 * second a token is worth 1e-3 ms, so the slack alone admits a second token; at 10,000,000 adding
 * a token no longer changes the stored time at all. At this bound a token is 0.1 ms: 100 times
 * the slack and over 200 steps of resolution, so the rounding stays below 0.25% of what is
 * admitted (below one token for a bucket of up to 400 at one instant; property-tested).
 * Limits that need more count in larger units (one token per 100 requests, per KB).
 * A fractional cost shrinks an admission's time the same way (a cost of 0.01 at 100 per second
 * rounds like a token at 10,000): keep `cost * 1000 / rate` at 0.1 ms or more.
 * The Redis scripts share this math, so the bound holds for them as well.
 */
export const MAX_REFILL_PER_SECOND = 10_000;

/** `floor(x + EPSILON)` clamped to [0, limit]: the whole units a decision reports as remaining. */
export function wholeRemaining(units: number, limit: number): number {
  return Math.min(Math.max(Math.floor(units + EPSILON), 0), limit);
}

/** A wait in ms rounded up to a whole ms, 0 when nothing is left to wait. */
export function waitMs(ms: number): number {
  return ms > 0 ? Math.ceil(ms) : 0;
}

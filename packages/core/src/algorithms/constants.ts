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

/** `floor(x + EPSILON)` clamped to [0, limit]: the whole units a decision reports as remaining. */
export function wholeRemaining(units: number, limit: number): number {
  return Math.min(Math.max(Math.floor(units + EPSILON), 0), limit);
}

/** A wait in ms rounded up to a whole ms, 0 when nothing is left to wait. */
export function waitMs(ms: number): number {
  return ms > 0 ? Math.ceil(ms) : 0;
}

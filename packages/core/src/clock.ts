/** A source of wall-clock time in milliseconds since the Unix epoch. */
export interface Clock {
  /** Current time, in milliseconds since the Unix epoch. */
  now(): number;
}

/**
 * The real clock. It reads `Date.now` lazily at every call (not captured at import time),
 * so test tools that replace the global still work.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
};

import { invalidOption } from './errors.js';

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

/** Throws `INVALID_OPTION` naming `option` unless `value` has a `now()` method. */
export function checkClock(value: unknown, option = 'clock'): Clock {
  if (value === null || value === undefined || typeof (value as Partial<Clock>).now !== 'function') {
    throw invalidOption(option, value, 'an object with a now() method');
  }
  return value as Clock;
}

import { MAX_REFILL_PER_SECOND } from './algorithms/constants.js';
import { invalidOption } from './errors.js';

/** Throws `INVALID_OPTION` unless `value` is a finite number > 0. */
export function positive(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidOption(option, value, 'a finite number greater than 0');
  }
  return value;
}

/** Throws `INVALID_OPTION` unless `value` is a finite number >= 0. */
export function nonNegative(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalidOption(option, value, 'a finite number of at least 0');
  }
  return value;
}

/** Throws `INVALID_OPTION` unless `value` is an integer >= `min`. */
export function integer(option: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidOption(option, value, `an integer of at least ${min}`);
  }
  return value;
}

/** Throws `INVALID_OPTION` unless `value` is a finite number in [min, max]. */
export function inRange(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidOption(option, value, `a number between ${min} and ${max}`);
  }
  return value;
}

/** Throws `INVALID_OPTION` unless `value` is one of `allowed`. */
export function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidOption(option, value, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return value as T;
}

/**
 * Throws `INVALID_OPTION` unless `value` is a refill rate a bucket computes exactly enough: a
 * finite number of tokens per second > 0 and, times `multiplier` (the most an adaptive
 * multiplier can scale it by), at most {@link MAX_REFILL_PER_SECOND}. Every place a bucket rate
 * enters (factories, plain-data specs, profiles and plans, route limits, throttles) checks it here.
 */
export function refillRate(option: string, value: unknown, multiplier = 1): number {
  const bound = multiplier === 1 ? `${MAX_REFILL_PER_SECOND}` : `${MAX_REFILL_PER_SECOND} / ${multiplier} = ${Number((MAX_REFILL_PER_SECOND / multiplier).toFixed(3))} (adaptive.max ${multiplier} can multiply it)`;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidOption(option, value, `a finite number of tokens per second greater than 0 and at most ${bound}`);
  }
  if (value * multiplier > MAX_REFILL_PER_SECOND) {
    throw invalidOption(
      option,
      value,
      `a finite number of tokens per second greater than 0 and at most ${bound}: a bucket refilling faster is ` +
        'below the time resolution its state is kept in; count in larger units (one token per 100 requests, per KB)',
    );
  }
  return value;
}

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

import { invalidOption } from '@micboard/limiter-core';

export { invalidOption };

/** Throws core's `INVALID_OPTION` unless `value` is an integer >= `min`. */
export function integer(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw invalidOption(option, value, `an integer of at least ${min}`);
  }
  return value;
}

/** Throws core's `INVALID_OPTION` unless `value` is a finite number >= `min`. */
export function atLeast(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw invalidOption(option, value, `a finite number of at least ${min}`);
  }
  return value;
}

/** Throws `INVALID_OPTION` unless `value` is a boolean. */
export function boolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidOption(option, value, 'true or false');
  return value;
}

/** Throws `INVALID_OPTION` unless `value` is a function; `expected` says what it is for. */
export function fn<F>(option: string, value: F, expected: string): F {
  if (typeof value !== 'function') throw invalidOption(option, value, expected);
  return value;
}

/** An options object of a part that `false` turns off; undefined is its defaults. */
export function objectOrFalse<T extends object>(option: string, value: T | false | undefined): T {
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(option, value, 'an options object, or false to turn it off');
  }
  return value;
}

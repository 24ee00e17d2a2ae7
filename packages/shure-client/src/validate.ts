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

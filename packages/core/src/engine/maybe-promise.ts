import type { MaybePromise } from '../types.js';

/** Whether a {@link MaybePromise} is a promise (anything thenable). */
export function isThenable<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Applies `next` to a value or to a promise's result, staying synchronous when the value is:
 * a memory store's decision never pays for a promise.
 */
export function chain<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isThenable(value) ? value.then(next) : next(value);
}

import { abortError } from './abort-error.js';

/** Waits `ms`, or rejects with `LimiterError` `'ABORTED'` as soon as `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/**
 * The default {@link Sleep}: the one place in the core that touches a timer. It reads the global
 * `setTimeout` when called, not when imported, so fake timers installed later still apply. Negative
 * or NaN waits resolve on the next timer turn. An abort clears the timer and rejects at once with
 * `'ABORTED'` (the signal's reason as `cause`).
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await sleep(200, controller.signal);
 * ```
 */
export const sleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      ms > 0 ? ms : 0,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });

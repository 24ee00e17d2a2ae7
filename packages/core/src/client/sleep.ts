import { abortError } from './abort-error.js';

/** Waits `ms`, or rejects with `LimiterError` `'ABORTED'` as soon as `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The longest delay setTimeout honours, in ms. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The default {@link Sleep}: the one place in the core that touches a timer. It reads the global
 * `setTimeout` when called, not when imported, so fake timers installed later still apply. Negative
 * or NaN waits resolve on the next timer turn; waits past 2^31 - 1 ms (about 24.8 days) are
 * waited in full. An abort clears the timer and rejects at once with `'ABORTED'` (the signal's
 * reason as `cause`).
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
    let left = ms > 0 ? ms : 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const arm = (): void => {
      // setTimeout fires at once (with a process warning) for more than 2^31 - 1 ms, which would
      // let a throttled call go early: longer waits are taken in pieces.
      const piece = left > MAX_TIMER_MS ? MAX_TIMER_MS : left;
      left -= piece;
      timer = setTimeout(() => {
        if (left > 0) {
          arm();
          return;
        }
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, piece);
    };
    arm();
    signal?.addEventListener('abort', onAbort, { once: true });
  });

import { LimiterError } from '../errors.js';

/** The `'ABORTED'` error for an aborted signal, carrying the signal's reason as `cause`. */
export function abortError(signal: AbortSignal): LimiterError {
  return new LimiterError('ABORTED', 'The wait was aborted', { cause: signal.reason });
}

/**
 * Settles like `promise`, except that it rejects with `'ABORTED'` the moment `signal` aborts, even if
 * `promise` ignores the signal (an injected sleep or a store may). A later rejection of `promise` is
 * then swallowed: the caller has already been told.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

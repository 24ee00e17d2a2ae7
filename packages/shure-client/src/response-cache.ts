import type { Clock } from '@micboard/limiter-core';
import type { ShureResult } from './types.js';

interface InFlight<T> {
  readonly promise: Promise<ShureResult<T>>;
  readonly controller: AbortController;
  waiters: number;
  /** Invalidated while running: its answer may predate a write, so it is neither cached nor joined. */
  stale: boolean;
}

/**
 * Successful answers kept for `ttlMs`, and in-flight de-duplication: callers asking for the same
 * key while a request runs share it. The shared request is aborted only when every caller waiting
 * on it has aborted, so one impatient caller cannot cancel another's answer. Failures are never
 * cached. At most `maxEntries` answers are kept (oldest written first out). A request that
 * rejects (a bug, or a throwing logger) rejects every caller waiting on it.
 */
export class ResponseCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #clock: Clock;
  readonly #values = new Map<string, { expiresAt: number; value: unknown }>();
  readonly #inFlight = new Map<string, InFlight<unknown>>();

  constructor(ttlMs: number, maxEntries: number, clock: Clock) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
    this.#clock = clock;
  }

  /** How many requests are running (for tests and metrics). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * The cached answer for `key` (unless `fresh`), else the running request's, else a new one from
   * `produce`. Resolves `aborted()` at once when `signal` aborts.
   */
  async run<T>(
    key: string,
    fresh: boolean,
    signal: AbortSignal | undefined,
    produce: (signal: AbortSignal) => Promise<ShureResult<T>>,
    aborted: () => ShureResult<T>,
  ): Promise<ShureResult<T>> {
    if (signal?.aborted) return aborted();
    if (!fresh && this.#ttlMs > 0) {
      const hit = this.#values.get(key);
      if (hit !== undefined && hit.expiresAt > this.#clock.now()) return { ok: true, value: hit.value as T };
    }
    let flight = this.#inFlight.get(key) as InFlight<T> | undefined;
    if (flight === undefined) {
      const controller = new AbortController();
      const done = (): void => {
        if (this.#inFlight.get(key) === created) this.#inFlight.delete(key);
      };
      const created: InFlight<T> = {
        controller,
        waiters: 0,
        stale: false,
        promise: produce(controller.signal).then(
          (result) => {
            done();
            if (result.ok && this.#ttlMs > 0 && !controller.signal.aborted && !created.stale) this.#store(key, result.value);
            return result;
          },
          (error: unknown) => {
            done();
            throw error;
          },
        ),
      };
      // Its callers get the rejection; with none left (all aborted), it must not go unhandled.
      created.promise.catch(() => {});
      flight = created;
      this.#inFlight.set(key, flight as InFlight<unknown>);
    }
    const shared = flight;
    shared.waiters++;
    if (signal === undefined) return shared.promise;
    return new Promise<ShureResult<T>>((resolve, reject) => {
      const onAbort = (): void => {
        shared.waiters--;
        if (shared.waiters === 0) {
          // Nobody wants it any more: stop it, and let the next caller start afresh.
          if (this.#inFlight.get(key) === shared) this.#inFlight.delete(key);
          shared.controller.abort(signal.reason);
        }
        resolve(aborted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve(result);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /**
   * Forgets cached answers whose key starts with `prefix` (all with none). Requests of those keys
   * still running may have been answered before the change that makes the caller invalidate: their
   * callers get their answer, but it is not cached, and later callers start a new request.
   */
  invalidate(prefix = ''): void {
    for (const key of this.#values.keys()) if (key.startsWith(prefix)) this.#values.delete(key);
    for (const [key, flight] of this.#inFlight) {
      if (!key.startsWith(prefix)) continue;
      flight.stale = true;
      this.#inFlight.delete(key);
    }
  }

  #store(key: string, value: unknown): void {
    this.#values.delete(key);
    if (this.#values.size >= this.#maxEntries) {
      const oldest = this.#values.keys().next();
      if (!oldest.done) this.#values.delete(oldest.value);
    }
    // Every caller within the TTL gets this same object: frozen, so one caller cannot change another's answer.
    this.#values.set(key, { expiresAt: this.#clock.now() + this.#ttlMs, value: deepFreeze(value) });
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

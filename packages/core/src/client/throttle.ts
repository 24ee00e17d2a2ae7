import { gcra } from '../algorithms/index.js';
import { checkClock, systemClock } from '../clock.js';
import type { Clock } from '../clock.js';
import { invalidOption, LimiterError } from '../errors.js';
import { checkLogger, silentLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import type { Reservation, Store } from '../types.js';
import { integer, nonNegative, refillRate } from '../validate.js';
import { abortError, untilAborted } from './abort-error.js';
import { MemoryReservations } from './memory-reservations.js';
import { sleep as defaultSleep } from './sleep.js';
import type { Sleep } from './sleep.js';

/** Options of {@link createThrottle}. */
export interface ThrottleOptions {
  /** Calls per second allowed per key, fractional allowed (0.5 = one call every 2 s). Must be > 0 and at most `MAX_REFILL_PER_SECOND` (10,000). */
  readonly ratePerSecond: number;
  /**
   * Extra calls that may go at once after a quiet spell, on top of the one a rate allows. With 0,
   * calls are spaced evenly at 1/ratePerSecond (seed 1's behaviour). Any 1 s holds at most
   * `ceil(ratePerSecond) + burst` starts.
   * @default 0
   */
  readonly burst?: number;
  /**
   * How many calls per key may wait at once. When that many wait, a call that would have to wait
   * is rejected with `LimiterError` `'QUEUE_FULL'` and takes nothing (one that can go now still
   * goes). 0 means no call ever waits.
   * @default 100
   */
  readonly maxQueue?: number;
  /**
   * The longest a call may wait, in ms. A call that would wait longer is rejected with
   * `LimiterError` `'WAIT_TOO_LONG'` at once and takes nothing.
   * @default 30_000
   */
  readonly maxWaitMs?: number;
  /**
   * Where reservations live. Given one, the throttle asks `store.reserve(key, spec, cost, maxWaitMs)`,
   * so every process on the store shares the limit (in the store's clock). Keys reach the store as
   * given: prefix them (e.g. `'shure:getDevices'`) when the store also holds other limiters' keys.
   * Without a store, a private in-memory book using `clock`.
   * @default an in-memory map
   */
  readonly store?: Store;
  /** Time for the in-memory book. @default systemClock */
  readonly clock?: Clock;
  /**
   * How to wait, in ms; must reject when the signal aborts (the throttle rejects at once either way).
   * @default a setTimeout-based sleep
   */
  readonly sleep?: Sleep;
  /** Receives a debug line per wait, with fields `{ key, delayMs }`. @default silentLogger */
  readonly logger?: Logger;
}

/** Options of one {@link Throttle.acquire}. */
export interface AcquireOptions {
  /** Aborting rejects the wait at once with `LimiterError` `'ABORTED'`. @default none (the wait cannot be aborted) */
  readonly signal?: AbortSignal;
  /** How much of the rate this call uses: > 0 and at most `1 + burst`. @default 1 */
  readonly cost?: number;
}

/** An outgoing, per-key throttle: call {@link Throttle.acquire} before each request. */
export interface Throttle {
  /**
   * Resolves when a call on `key` may go. Rejects with `LimiterError`: `'WAIT_TOO_LONG'` (would
   * wait more than `maxWaitMs`), `'QUEUE_FULL'` (`maxQueue` calls already wait on the key),
   * `'ABORTED'` (the signal aborted), `'INVALID_OPTION'` (a bad key or cost), or the store's error.
   */
  acquire(key: string, options?: AcquireOptions): Promise<void>;
  /** How many calls on `key` are between `acquire` and going (reserving or waiting). */
  pending(key: string): number;
}

/**
 * Creates a per-key outgoing throttle: seed 1's `@rate_limit(calls_per_second)`, made async and
 * race-free. Each call reserves its own slot first ("when may this call go?") and then waits for it,
 * so concurrent callers never read the same "last call" time and go together, as check-then-sleep
 * does.
 *
 * An abort frees the call's queue place. In memory it also gives the slot back while no later call
 * was scheduled after it (otherwise the slot stays unused). With a `store`, a reservation cannot be
 * given back (the Store contract has no cancel), so the slot stays unused: the throttle errs toward
 * fewer calls, never more.
 *
 * @example
 * ```ts
 * // get_devices at 5/s, get_device at 10/s, as in seed 1.
 * const throttle = createThrottle({ ratePerSecond: 5, logger });
 * await throttle.acquire('getDevices', { signal });
 * const devices = await fetch(`${base}/api/v1/devices`, { signal });
 * ```
 */
export function createThrottle(options: ThrottleOptions): Throttle {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('options', options, 'an object with at least ratePerSecond');
  }
  const ratePerSecond = refillRate('ratePerSecond', options.ratePerSecond);
  const burst = nonNegative('burst', options.burst ?? 0);
  const maxQueue = integer('maxQueue', options.maxQueue ?? 100, 0);
  const maxWaitMs = nonNegative('maxWaitMs', options.maxWaitMs ?? 30_000);
  const store = options.store;
  if (store !== undefined && typeof store?.reserve !== 'function') {
    throw invalidOption('store', store, 'a Store with a reserve method');
  }
  const sleep = options.sleep ?? defaultSleep;
  if (typeof sleep !== 'function') throw invalidOption('sleep', sleep, 'a function (ms, signal) => Promise<void>');
  const clock = checkClock(options.clock ?? systemClock);
  const logger = checkLogger(options.logger ?? silentLogger);

  // One token of capacity and no burst spaces calls exactly 1/rate apart.
  const spec = gcra({ capacity: 1, refillPerSecond: ratePerSecond, burst });
  const maxCost = 1 + burst;
  const book = store === undefined ? new MemoryReservations(spec, clock) : undefined;
  const waiting = new Map<string, number>();

  const leave = (key: string): void => {
    const left = (waiting.get(key) ?? 1) - 1;
    if (left > 0) waiting.set(key, left);
    else waiting.delete(key);
  };

  return {
    async acquire(key: string, acquireOptions: AcquireOptions = {}): Promise<void> {
      const { signal, cost = 1 } = acquireOptions;
      if (typeof key !== 'string') throw invalidOption('key', key, 'a string');
      if (typeof cost !== 'number' || !(cost > 0 && cost <= maxCost)) {
        throw invalidOption('cost', cost, `a number greater than 0 and at most ${maxCost} (1 + burst)`);
      }
      if (signal?.aborted) throw abortError(signal);

      // A full queue still lets through a call that need not wait: ask for one with no wait allowed.
      const queueFull = (waiting.get(key) ?? 0) >= maxQueue;
      const allowedWaitMs = queueFull ? 0 : maxWaitMs;
      // Counted before the first await, so callers arriving together all see each other.
      waiting.set(key, (waiting.get(key) ?? 0) + 1);
      try {
        let reservation: Reservation;
        let cancel = noop;
        if (book !== undefined) {
          ({ reservation, cancel } = book.reserve(key, cost, allowedWaitMs));
        } else {
          reservation = await untilAborted(
            Promise.resolve((store as Store).reserve(key, spec, cost, allowedWaitMs)),
            signal,
          );
        }
        if (!reservation.granted) {
          throw queueFull
            ? new LimiterError('QUEUE_FULL', `${maxQueue} calls already wait on ${JSON.stringify(key)}`)
            : new LimiterError(
                'WAIT_TOO_LONG',
                `A call on ${JSON.stringify(key)} would wait ${reservation.delayMs} ms, more than maxWaitMs ${maxWaitMs}`,
              );
        }
        if (reservation.delayMs <= 0) return;
        const delayMs = reservation.delayMs;
        logger.debug({ key, delayMs }, `Rate limiting ${key}: sleeping ${(delayMs / 1000).toFixed(3)}s`);
        try {
          await untilAborted(sleep(delayMs, signal), signal);
        } catch (error) {
          cancel();
          throw error;
        }
      } finally {
        leave(key);
      }
    },
    pending(key: string): number {
      return waiting.get(key) ?? 0;
    },
  };
}

const noop = (): void => {};

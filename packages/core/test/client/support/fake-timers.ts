import type { ManualClock } from '../../../src/testing/index.js';
import type { Sleep } from '../../../src/client/index.js';

interface Timer {
  readonly at: number;
  readonly resolve: () => void;
}

/** Lets queued promise callbacks run (a macrotask turn: every pending microtask first). */
export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Fake time for the throttle: `sleep` registers a timer on the manual clock, and `runUntil` moves
 * the clock from timer to timer, waking sleepers in time order, the way real time would.
 */
export class FakeTimers {
  readonly #clock: ManualClock;
  #timers: Timer[] = [];

  constructor(clock: ManualClock) {
    this.#clock = clock;
  }

  get count(): number {
    return this.#timers.length;
  }

  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new Error('aborted before sleeping'));
        return;
      }
      const timer: Timer = { at: this.#clock.now() + ms, resolve };
      this.#timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(new Error('sleep aborted'));
      });
    });

  /** Runs every timer due by `until` in order (all of them without `until`), then sets the clock there. */
  async runUntil(until = Number.POSITIVE_INFINITY): Promise<void> {
    await flush();
    // Bounded: each turn wakes at least one timer, and a test never makes this many.
    for (let guard = 0; guard < 100_000; guard++) {
      const next = this.#timers.reduce<Timer | undefined>((min, t) => (min === undefined || t.at < min.at ? t : min), undefined);
      if (next === undefined || next.at > until) break;
      this.#clock.set(Math.max(this.#clock.now(), next.at));
      const due = this.#timers.filter((t) => t.at <= this.#clock.now());
      this.#timers = this.#timers.filter((t) => t.at > this.#clock.now());
      for (const t of due) t.resolve();
      await flush();
    }
    if (Number.isFinite(until) && this.#clock.now() < until) this.#clock.set(until);
    await flush();
  }
}

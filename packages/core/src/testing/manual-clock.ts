import type { Clock } from '../clock.js';
import { invalidOption } from '../errors.js';

/** A clock that moves only when told: `advance(ms)` and `set(ms)`. */
export class ManualClock implements Clock {
  #now: number;

  /** @param start Initial time in ms since the epoch. @default 0 */
  constructor(start = 0) {
    if (!Number.isFinite(start)) throw invalidOption('start', start, 'a finite number of ms');
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward (or backward, with a negative `ms`) and returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms)) throw invalidOption('ms', ms, 'a finite number of ms');
    this.#now += ms;
    return this.#now;
  }

  /** Sets the time to `ms` since the epoch. */
  set(ms: number): number {
    if (!Number.isFinite(ms)) throw invalidOption('ms', ms, 'a finite number of ms');
    this.#now = ms;
    return this.#now;
  }
}

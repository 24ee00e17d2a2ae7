import { integer, invalidOption } from './validate.js';
import type { Clock } from '@micboard/limiter-core';

/** Options of the retry budget. */
export interface RetryBudgetOptions {
  /** Retries allowed per first try over the window (0.2 = at most 20% extra load from retries). @default 0.2 */
  readonly ratio?: number;
  /** Retries always allowed per window, however few first tries there were. @default 10 */
  readonly minRetries?: number;
  /** The window the ratio is measured over, in ms. @default 10_000 */
  readonly windowMs?: number;
}

const BUCKETS = 10;

/**
 * Caps retries at a share of recent first tries, so when a server fails every request the client
 * adds at most `ratio` extra load instead of multiplying it by the retry count. Counts are kept in
 * ten rolling buckets over `windowMs` (bounded memory, time from the injected clock).
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #minRetries: number;
  readonly #bucketMs: number;
  readonly #clock: Clock;
  readonly #requests = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);
  #bucket: number;

  constructor(options: RetryBudgetOptions, clock: Clock) {
    const ratio = options.ratio ?? 0.2;
    if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0) {
      throw invalidOption('retryBudget.ratio', ratio, 'a number >= 0');
    }
    this.#ratio = ratio;
    this.#minRetries = integer('retryBudget.minRetries', options.minRetries ?? 10, 0);
    const windowMs = options.windowMs ?? 10_000;
    if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs <= 0) {
      throw invalidOption('retryBudget.windowMs', windowMs, 'a number of ms > 0');
    }
    this.#bucketMs = windowMs / BUCKETS;
    this.#clock = clock;
    this.#bucket = Math.floor(clock.now() / this.#bucketMs);
  }

  /** Counts a first try. */
  recordRequest(): void {
    this.#roll();
    this.#requests[this.#bucket % BUCKETS] = (this.#requests[this.#bucket % BUCKETS] ?? 0) + 1;
  }

  /** Takes one retry from the budget; false (nothing taken) when it is spent. */
  tryRetry(): boolean {
    this.#roll();
    const requests = this.#requests.reduce((a, b) => a + b, 0);
    const retries = this.#retries.reduce((a, b) => a + b, 0);
    if (retries >= Math.max(this.#minRetries, this.#ratio * requests)) return false;
    this.#retries[this.#bucket % BUCKETS] = (this.#retries[this.#bucket % BUCKETS] ?? 0) + 1;
    return true;
  }

  #roll(): void {
    const bucket = Math.floor(this.#clock.now() / this.#bucketMs);
    if (bucket <= this.#bucket) return;
    // Clear the buckets time has passed over (all of them after a long quiet spell).
    for (let b = this.#bucket + 1; b <= Math.min(bucket, this.#bucket + BUCKETS); b++) {
      this.#requests[b % BUCKETS] = 0;
      this.#retries[b % BUCKETS] = 0;
    }
    this.#bucket = bucket;
  }
}

import { integer, invalidOption } from './validate.js';
import type { Clock } from '@micboard/limiter-core';

/** Options of the circuit breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failed requests (5xx, connection errors, timeouts) that open the circuit. @default 5 */
  readonly failureThreshold?: number;
  /** How long an open circuit holds every call back before letting a probe through, in ms. @default 30_000 */
  readonly openMs?: number;
  /** Requests let through at once while half-open (probing whether the server is back). @default 1 */
  readonly halfOpenProbes?: number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Consecutive-failure circuit breaker. Closed: requests go, failures are counted. At
 * `failureThreshold` it opens: requests fail at once for `openMs`, so a server that is down gets no
 * retry storm. Then half-open: up to `halfOpenProbes` requests go; a success closes it, a failure
 * opens it again for another `openMs`. Time from the injected clock.
 */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #probes: number;
  readonly #clock: Clock;
  #failures = 0;
  #openedAt: number | undefined;
  #probing = 0;

  constructor(options: CircuitBreakerOptions, clock: Clock) {
    this.#threshold = integer('breaker.failureThreshold', options.failureThreshold ?? 5, 1);
    const openMs = options.openMs ?? 30_000;
    if (typeof openMs !== 'number' || !Number.isFinite(openMs) || openMs < 0) {
      throw invalidOption('breaker.openMs', openMs, 'a number of ms >= 0');
    }
    this.#openMs = openMs;
    this.#probes = integer('breaker.halfOpenProbes', options.halfOpenProbes ?? 1, 1);
    this.#clock = clock;
  }

  get state(): CircuitState {
    if (this.#openedAt === undefined) return 'closed';
    return this.#clock.now() - this.#openedAt >= this.#openMs ? 'half-open' : 'open';
  }

  /** Whether a request may go now; when it says yes in half-open, the request is a probe and must be reported. */
  tryPass(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.#probing >= this.#probes) return false;
    this.#probing++;
    return true;
  }

  /** Reports a request that got an answer the server meant (2xx-4xx other than 429 count as alive). */
  success(): void {
    this.#failures = 0;
    this.#openedAt = undefined;
    this.#probing = 0;
  }

  /** Reports a request that failed because the server is unwell. */
  failure(): void {
    if (this.#openedAt !== undefined) {
      // A failed probe (or a late failure of a request sent before opening) opens it again.
      this.#openedAt = this.#clock.now();
      this.#probing = 0;
      return;
    }
    this.#failures++;
    if (this.#failures >= this.#threshold) this.#openedAt = this.#clock.now();
  }

  /** Reports a request that ended with no verdict on the server (aborted by the caller). */
  release(wasProbe: boolean): void {
    if (wasProbe && this.#probing > 0) this.#probing--;
  }
}

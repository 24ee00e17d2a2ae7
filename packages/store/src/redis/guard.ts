import { LimiterError } from '@micboard/limiter-core';
import type { Logger } from '@micboard/limiter-core';

/** Settles `promise` within `ms`, or rejects with `STORE_TIMEOUT`. The late result is dropped. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new LimiterError('STORE_TIMEOUT', `redis store: ${what} took longer than ${ms} ms`));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(
          error instanceof LimiterError
            ? error
            : new LimiterError('STORE_ERROR', `redis store: ${what} failed: ${describe(error)}`, { cause: error }),
        );
      },
    );
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Tracks whether Redis is reachable, so an outage costs one log line and no per-request waits.
 *
 * Up: every call goes to Redis. The first failure marks it down and logs once. Down: calls are
 * answered by the failure mode at once, except one probe at a time, at most every
 * `probeIntervalMs`, which goes to Redis; its success marks it up again (and logs once). So
 * service returns within about `probeIntervalMs + timeoutMs` after Redis does.
 */
export class Breaker {
  private down = false;
  private probing = false;
  private nextProbeAt = 0;
  private failures = 0;
  private since = 0;

  constructor(
    private readonly probeIntervalMs: number,
    private readonly logger: Logger,
    private readonly localNow: () => number,
  ) {}

  /** Whether this call should go to Redis. When it returns true the caller must report back. */
  admit(): boolean {
    if (!this.down) return true;
    if (this.probing) return false;
    const now = this.localNow();
    if (now < this.nextProbeAt) return false;
    this.probing = true;
    this.nextProbeAt = now + this.probeIntervalMs;
    return true;
  }

  succeeded(): void {
    this.probing = false;
    if (!this.down) return;
    this.down = false;
    this.logger.info(
      { failures: this.failures, downForMs: this.localNow() - this.since },
      'redis store: redis is reachable again; back to shared limits',
    );
    this.failures = 0;
  }

  failed(error: unknown, mode: string): void {
    this.probing = false;
    this.failures++;
    if (this.down) return;
    this.down = true;
    this.since = this.localNow();
    this.nextProbeAt = this.since + this.probeIntervalMs;
    this.logger.error(
      { err: error, mode, code: error instanceof LimiterError ? error.code : undefined },
      `redis store: redis unreachable; answering with ${mode} until it is back`,
    );
  }

  get isDown(): boolean {
    return this.down;
  }
}

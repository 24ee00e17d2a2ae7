import { LimiterError } from '@micboard/limiter-core';
import type { Logger } from '@micboard/limiter-core';

/** A call waiting for Redis: its deadline, and how to fail it. */
interface Pending {
  readonly at: number;
  readonly what: string;
  /** Fails the call with the timeout error, unless it has settled. */
  readonly expire: (error: LimiterError) => void;
  done: boolean;
}

/** The error a call that failed in Redis or the client rejects with. */
export function storeError(error: unknown, what: string): LimiterError {
  return error instanceof LimiterError
    ? error
    : new LimiterError('STORE_ERROR', `redis store: ${what} failed: ${describe(error)}`, { cause: error });
}

/**
 * Timeouts for every call of one store, without a timer per call: all calls share one
 * `timeoutMs`, so their deadlines come in the order they are taken and a FIFO holds them. One
 * unref'd timer at a time sweeps what expired, re-armed for the oldest live deadline, but never
 * sooner than `ms / 8` (at least 1 ms) ahead: under load a call fails with `STORE_TIMEOUT` between
 * `ms` and `ms * 1.125` (plus timer lateness) after it started, and the timer fires a few times
 * per `ms` instead of once per call.
 */
export class Deadlines {
  private readonly queue: Pending[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly tick: number;

  constructor(private readonly ms: number) {
    this.tick = Math.max(1, ms / 8);
  }

  /** Whether a call of this store is in flight (settled calls at the head are dropped first). */
  get busy(): boolean {
    const queue = this.queue;
    let head = this.head;
    while (head < queue.length && (queue[head] as Pending).done) head++;
    this.head = head;
    return head < queue.length;
  }

  /** Settles `promise` within the timeout, or rejects with `STORE_TIMEOUT`; the late result is dropped. */
  wrap<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending = this.track(what, reject);
      promise.then(
        (value) => {
          if (pending.done) return;
          pending.done = true;
          resolve(value);
        },
        (error: unknown) => {
          if (pending.done) return;
          pending.done = true;
          reject(storeError(error, what));
        },
      );
    });
  }

  /**
   * Starts the clock on one call: `expire` runs with the timeout error once its deadline passes,
   * unless the caller has set `done` on the returned entry first.
   */
  track(what: string, expire: (error: LimiterError) => void): Pending {
    const pending: Pending = { at: performance.now() + this.ms, what, expire, done: false };
    const queue = this.queue;
    // Calls mostly settle in the order they started: drop the settled ones at the head here, so
    // the queue holds about what is in flight rather than a whole timeout's worth of calls.
    let head = this.head;
    while (head < queue.length && (queue[head] as Pending).done) head++;
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    this.head = head;
    queue.push(pending);
    if (this.timer === undefined) this.arm(this.ms);
    return pending;
  }

  private arm(delay: number): void {
    this.timer = setTimeout(this.sweep, Math.max(this.tick, delay));
    this.timer.unref?.();
  }

  private readonly sweep = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const queue = this.queue;
    let head = this.head;
    while (head < queue.length) {
      const pending = queue[head] as Pending;
      if (!pending.done) {
        if (pending.at > now) break;
        pending.done = true;
        try {
          pending.expire(new LimiterError('STORE_TIMEOUT', `redis store: ${pending.what} took longer than ${this.ms} ms`));
        } catch {
          // One caller's failure must not stop the sweep: the calls behind it would never time
          // out. Its own promise is its own to settle; there is nowhere to report this to.
        }
      }
      head++;
    }
    if (head === queue.length) {
      queue.length = 0;
      this.head = 0;
      return;
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    this.head = head;
    this.arm((queue[head] as Pending).at - now);
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Redis's error replies that mean no call can succeed there now (loading its data, busy with a
 * script, a replica after a failover, a cluster or its replicas down, out of memory, a failed
 * snapshot that blocks writes, credentials refused): an outage, as an unreachable Redis is.
 */
const OUTAGE_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|OOM|MISCONF|NOAUTH|WRONGPASS|NOPERM)\b/;

/** A reply of a shape or with numbers the store cannot read: Redis answered, so a failed call, not an outage. */
export class UnreadableReply extends Error {
  constructor(reply: string) {
    super(`unexpected reply ${JSON.stringify(reply)}`);
    this.name = 'UnreadableReply';
  }
}

/**
 * Whether Redis answered this call with an error of its own (a script failing on one client's
 * state, say) rather than being unreachable or unable to serve anyone: that call fails, and Redis
 * stays up for every other. ioredis gives Redis's error replies the name `ReplyError`; the store
 * wraps them in a LimiterError, so the causes are looked through.
 */
export function isCallError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e.name === 'ReplyError') return !OUTAGE_REPLY.test(e.message);
    if (e instanceof UnreadableReply) return true;
  }
  return false;
}

/** Errors of single calls are logged at most this often (with how many there were since). */
const CALL_ERROR_LOG_MS = 60_000;

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
  private callErrors = 0;
  private callErrorLoggedAt = Number.NEGATIVE_INFINITY;

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
    if (isCallError(error)) {
      // Redis answered: it is reachable, whatever this call's error.
      this.succeeded();
      this.callErrors++;
      const now = this.localNow();
      if (now - this.callErrorLoggedAt < CALL_ERROR_LOG_MS) return;
      this.callErrorLoggedAt = now;
      this.logger.error(
        { err: error, mode, errors: this.callErrors },
        `redis store: redis answered a call with an error; answering that call with ${mode}`,
      );
      this.callErrors = 0;
      return;
    }
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

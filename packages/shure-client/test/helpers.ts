import { ManualClock } from '@micboard/limiter-core/testing';
import { LimiterError } from '@micboard/limiter-core';
import type { Logger, Sleep } from '@micboard/limiter-core';

/** A start time on a whole second, so HTTP-dates (whole seconds) convert exactly. */
export const T0 = 1_700_000_000_000;

/** A manual clock and a sleep that records each wait and moves the clock by it, at once. */
export function manualTime(): { clock: ManualClock; sleep: Sleep; sleeps: number[] } {
  const clock = new ManualClock(T0);
  const sleeps: number[] = [];
  const sleep: Sleep = (ms, signal) => {
    if (signal?.aborted) return Promise.reject(new LimiterError('ABORTED', 'aborted'));
    sleeps.push(ms);
    clock.advance(Math.max(0, ms));
    return Promise.resolve();
  };
  return { clock, sleep, sleeps };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

/** A logger that keeps what it is told. */
export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Polls `check` every 5 ms until it is true or `timeoutMs` passes (then throws). */
export async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Checks that the arrival times never show more than `ratePerSecond` (plus `burst`): for every pair
 * i < j, the span holds j - i - burst intervals. `toleranceMs` absorbs network jitter between
 * sending and arrival, once per pair (it does not add up). Returns the worst slack seen.
 */
export function worstSpacing(times: readonly number[], ratePerSecond: number, toleranceMs: number, burst = 0): number {
  const interval = 1000 / ratePerSecond;
  let worst = Infinity;
  for (let i = 0; i < times.length; i++) {
    for (let j = i + 1; j < times.length; j++) {
      const slack = (times[j] as number) - (times[i] as number) - (j - i - burst) * interval + toleranceMs;
      worst = Math.min(worst, slack);
    }
  }
  return worst;
}

/**
 * Virtual time for concurrent code: `sleep` parks each waiter on a timer list, and `run(work)`
 * lets every ready callback run (a macrotask turn), then moves the clock to the earliest timer and
 * wakes it, until `work` settles. Concurrent waiters wake in time order, each at its own instant,
 * which a sleep that just advances the clock cannot give.
 */
export function virtualTime(start = T0): {
  clock: ManualClock;
  sleep: Sleep;
  run<T>(work: Promise<T>, maxSteps?: number): Promise<T>;
  /** Sleeps parked and not yet woken or aborted: the timers a real sleep would hold. */
  readonly pending: number;
} {
  const clock = new ManualClock(start);
  let seq = 0;
  const timers: Array<{ at: number; seq: number; wake: () => void }> = [];
  const sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new LimiterError('ABORTED', 'aborted'));
        return;
      }
      const onAbort = (): void => {
        const index = timers.indexOf(timer);
        if (index !== -1) timers.splice(index, 1);
        reject(new LimiterError('ABORTED', 'aborted'));
      };
      // Waking lets go of the signal, as a real sleep does: a long-lived signal gathers no listeners.
      const timer = {
        at: clock.now() + Math.max(0, ms),
        seq: seq++,
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      timers.push(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  const run = async <T>(work: Promise<T>, maxSteps = 100_000): Promise<T> => {
    let settled = false;
    work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let steps = 0; !settled; steps++) {
      if (steps > maxSteps) throw new Error(`virtual time: not settled after ${maxSteps} steps`);
      await new Promise((resolve) => setImmediate(resolve));
      if (settled || timers.length === 0) continue;
      timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = timers.shift() as (typeof timers)[number];
      clock.set(Math.max(clock.now(), next.at));
      next.wake();
    }
    return work;
  };
  return {
    clock,
    sleep,
    run,
    get pending() {
      return timers.length;
    },
  };
}

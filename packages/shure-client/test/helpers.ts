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

import type { Clock } from './clock.js';
import type { Logger } from './logger.js';

/**
 * Writes at `level` at most once per `intervalMs`, adding `suppressed`, the count of the lines
 * it held back since the last one: for events a client or an outage can repeat on every request,
 * where the log must not become the second outage. A clock that steps back by more than
 * `intervalMs` logs again at once rather than stay quiet until it catches up.
 */
export function createThrottledLog(
  logger: Logger,
  clock: Clock,
  level: 'warn' | 'error',
  intervalMs = 10_000,
): (fields: Record<string, unknown>, message: string) => void {
  let nextAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (fields, message) => {
    const now = clock.now();
    // Quiet from the last line for intervalMs, forwards or backwards.
    if (now < nextAt && now > nextAt - 2 * intervalMs) {
      suppressed++;
      return;
    }
    nextAt = now + intervalMs;
    logger[level]({ ...fields, suppressed }, message);
    suppressed = 0;
  };
}

/** Store failures through {@link createThrottledLog}, at `error`: a store that is down fails every request. */
export function createErrorLog(logger: Logger, clock: Clock, intervalMs = 10_000): (error: unknown, context: string) => void {
  const log = createThrottledLog(logger, clock, 'error', intervalMs);
  return (error, context) => log({ err: error }, `rate limiter: ${context}`);
}

/**
 * Remembers, per key, until when a repeated event should stay quiet: used to log a limited client
 * once per window. Bounded: past `maxKeys` it forgets everything rather than grow under attack.
 */
export function createOncePer(clock: Clock, maxKeys = 10_000): (key: string, until: number) => boolean {
  const quietUntil = new Map<string, number>();
  return (key, until) => {
    const now = clock.now();
    const current = quietUntil.get(key);
    if (current !== undefined && current > now) return false;
    if (quietUntil.size >= maxKeys) quietUntil.clear();
    quietUntil.set(key, until);
    return true;
  };
}

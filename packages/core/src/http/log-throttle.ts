import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

/**
 * Logs store failures at most once per `intervalMs`, with a count of the ones it held back:
 * a store that is down fails every request, and the log must not become the second outage.
 */
export function createErrorLog(logger: Logger, clock: Clock, intervalMs = 10_000): (error: unknown, context: string) => void {
  let nextAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (error, context) => {
    const now = clock.now();
    if (now < nextAt) {
      suppressed++;
      return;
    }
    nextAt = now + intervalMs;
    logger.error({ err: error, suppressed }, `rate limiter: ${context}`);
    suppressed = 0;
  };
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

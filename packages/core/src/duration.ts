import { invalidOption } from './errors.js';

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'60s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/**
 * Parses a {@link Duration} into milliseconds; throws `INVALID_OPTION` naming `option` on nonsense
 * (negative, NaN, unknown unit).
 */
export function toMs(option: string, value: Duration): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalidOption(option, value, 'a duration of at least 0 ms');
    return value;
  }
  const match = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (!match) throw invalidOption(option, value, "a duration such as 500, '500ms', '60s', '5m', '1h' or '1d'");
  // Rounded to the µs: '1.1s' is 1100 ms, not the 1100.0000000000002 that 1.1 * 1000 makes.
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] * 1000) / 1000;
}

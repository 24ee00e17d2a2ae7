import { invalidOption } from './errors.js';

/** A duration: milliseconds as a number, or a string such as `'500ms'`, `'60s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/**
 * Parses a {@link Duration} into milliseconds, rounded to the µs; throws `INVALID_OPTION` naming
 * `option` on nonsense (negative, NaN, unknown unit). The rounding takes away floating-point
 * dust: `'1.001s'` and `1.001 * 1000` are both 1001 ms, not 1000.9999999999999.
 */
export function toMs(option: string, value: Duration): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalidOption(option, value, 'a duration of at least 0 ms');
    return toMicros(value);
  }
  const match = typeof value === 'string' ? DURATION.exec(value.trim()) : null;
  if (!match) throw invalidOption(option, value, "a duration such as 500, '500ms', '60s', '5m', '1h' or '1d'");
  return toMicros(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
}

/** `ms` rounded to the µs; ms above 2^43, whose doubles are already coarser, as they are. */
function toMicros(ms: number): number {
  return ms < 2 ** 43 ? Math.round(ms * 1000) / 1000 : ms;
}

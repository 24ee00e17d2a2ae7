/**
 * Header numbers as text. `String(n)` goes through V8's number-to-string cache: a number not in
 * it (a `remaining` count that changes on every request) costs a call into the runtime, and the
 * string it makes is kept by the cache, so it outlives the request it was made for. Building the
 * text from a table of two-digit strings does neither: numbers below 100 (most remaining counts)
 * come straight from the table, and larger ones are joined from a few table entries.
 */

const MAX = Number.MAX_SAFE_INTEGER;
const MAX_TEXT = String(MAX);
/** '0' to '99'. */
const SMALL: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i));
/** '00' to '99'. */
const PAIRS: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));

// The text above the last four digits, kept while it stays the same: from one request to the
// next a count usually changes only in its last digits.
let lastHigh = -1;
let lastHighText = '';

/**
 * A non-negative integer as ASCII digits: `String(Math.floor(n))` for finite `n` from 0 up to
 * `Number.MAX_SAFE_INTEGER`, that bound's digits above it, and '0' for anything else (negative,
 * NaN). A header never carries a sign, a fraction or an exponent.
 *
 * @example headerDigits(42.9) // '42'
 * @example headerDigits(-1) // '0'
 */
export function headerDigits(n: number): string {
  if (!(n >= 0)) return '0';
  if (n >= MAX) return MAX_TEXT;
  const whole = Math.floor(n);
  if (whole < 100) return SMALL[whole] as string;
  if (whole < 10_000) {
    const high = Math.floor(whole / 100);
    return (SMALL[high] as string) + (PAIRS[whole - high * 100] as string);
  }
  // Exact below 2^53: the true quotient is a whole number or at least 1e-4 short of the next one,
  // and the doubles below 2^53 / 10000 are at most 1.3e-4 apart, so the nearest is below it.
  const high = Math.floor(whole / 10_000);
  const low = whole - high * 10_000;
  if (high !== lastHigh) {
    lastHighText = headerDigits(high);
    lastHigh = high;
  }
  const mid = Math.floor(low / 100);
  return lastHighText + (PAIRS[mid] as string) + (PAIRS[low - mid * 100] as string);
}

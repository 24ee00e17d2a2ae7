import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRetryAfter, parseRetryAfter, toHttpDate } from '../../src/client/index.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0, 250);

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('007', NOW)).toBe(7_000);
    expect(parseRetryAfter(' \t45 ', NOW)).toBe(45_000);
  });

  it('saturates absurd delta-seconds instead of returning Infinity', () => {
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('reads an HTTP-date as the wait from now, and a past date as 0', () => {
    expect(parseRetryAfter(toHttpDate(NOW + 10_000), NOW)).toBe(9_750);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('  Sunday, 06-Nov-94 08:49:37 GMT ', 784_111_770_000)).toBe(7_000);
  });

  it('is undefined for absent and invalid values', () => {
    for (const value of [null, undefined, '', '  ', '-1', '+1', '1.5', '1e3', '0x10', '1 2', 'soon', '1s', 'NaN', 'Infinity']) {
      expect(parseRetryAfter(value, NOW), String(value)).toBeUndefined();
    }
  });

  it('rejects a now that is not a finite time', () => {
    expect(() => parseRetryAfter('1', Number.NaN)).toThrow(/now must be a finite time/);
    expect(() => parseRetryAfter('1', '0' as never)).toThrow(/now must be a finite time/);
  });

  it('property: delta-seconds round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e12 }), fc.integer(), (seconds, now) => {
        return parseRetryAfter(String(seconds), now) === seconds * 1000;
      }),
      { numRuns: 1000 },
    );
  });

  it('property: an HTTP-date of a whole-second time round-trips to the wait from now (0 if past)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000 }).map((s) => s * 1000),
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        (at, now) => parseRetryAfter(toHttpDate(at), now) === Math.max(0, at - now),
      ),
      { numRuns: 1000 },
    );
  });

  it('property: any other text is either undefined or a wait >= 0', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const ms = parseRetryAfter(text, NOW);
        return ms === undefined || (ms >= 0 && Number.isFinite(ms));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('formatRetryAfter', () => {
  it('rounds up to whole seconds and never goes below 0', () => {
    expect(formatRetryAfter(1_200)).toBe('2');
    expect(formatRetryAfter(1_000)).toBe('1');
    expect(formatRetryAfter(1)).toBe('1');
    expect(formatRetryAfter(0)).toBe('0');
    expect(formatRetryAfter(-5)).toBe('0');
    expect(formatRetryAfter(Number.NaN)).toBe('0');
    expect(formatRetryAfter(Number.POSITIVE_INFINITY)).toBe(String(Math.ceil(Number.MAX_SAFE_INTEGER / 1000)));
  });

  it('property: a client honouring it is never early and at most 1 s late', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e12, noNaN: true }), (delayMs) => {
        const waited = parseRetryAfter(formatRetryAfter(delayMs), NOW) ?? -1;
        return waited >= delayMs && waited - delayMs <= 1000;
      }),
      { numRuns: 1000 },
    );
  });
});

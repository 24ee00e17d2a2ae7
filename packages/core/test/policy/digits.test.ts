import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { headerDigits } from '../../src/policy/digits.js';

describe('headerDigits', () => {
  it('property: the digits of the floor, as String gives them, for every number from 0 up to the safe bound', () => {
    // In sequences, so the kept high part is reused, and replaced when it changes; around every
    // power of ten and every multiple of 100 and 10,000, where the text splits.
    const near = fc
      .tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: -3, max: 3 }))
      .map(([power, offset]) => Math.max(0, 10 ** power + offset));
    const splitEdge = fc
      .tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.constantFrom(100, 10_000), fc.integer({ min: -2, max: 2 }))
      .map(([k, unit, offset]) => Math.max(0, k * unit + offset))
      .filter((n) => n < Number.MAX_SAFE_INTEGER);
    const number = fc.oneof(
      fc.double({ min: 0, max: Number.MAX_SAFE_INTEGER, maxExcluded: true, noNaN: true }),
      fc.maxSafeNat(),
      fc.nat(20_000),
      near,
      splitEdge,
    );
    fc.assert(
      fc.property(fc.array(number, { minLength: 1, maxLength: 20 }), (numbers) => {
        for (const n of numbers) expect(headerDigits(n)).toBe(String(Math.floor(n)));
      }),
      { numRuns: 5000 },
    );
  });

  it('counts down as a remaining count does, one request after another', () => {
    for (let n = 1_000_012_345; n > 999_987_654; n--) expect(headerDigits(n)).toBe(String(n));
  });

  it("never a sign, a fraction or an exponent: '0' below zero and for NaN, the safe bound above it", () => {
    expect(headerDigits(-1)).toBe('0');
    expect(headerDigits(-0)).toBe('0');
    expect(headerDigits(Number.NaN)).toBe('0');
    expect(headerDigits(Number.NEGATIVE_INFINITY)).toBe('0');
    expect(headerDigits(Number.POSITIVE_INFINITY)).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(headerDigits(1e300)).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(headerDigits(Number.MAX_SAFE_INTEGER)).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(headerDigits(0.999)).toBe('0');
    expect(headerDigits(Number.MIN_VALUE)).toBe('0');
  });
});

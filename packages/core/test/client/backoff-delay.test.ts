import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, retryPolicy } from '../../src/client/index.js';
import { policyOptions } from './support/arbitraries.js';

describe('backoffDelay', () => {
  it("follows seed 1's schedule without jitter: 500, 1000, 2000 ms", () => {
    const policy = retryPolicy({ jitter: 'none' });
    expect([1, 2, 3].map((n) => backoffDelay(policy, n))).toEqual([500, 1000, 2000]);
  });

  it('stops growing at capMs', () => {
    const policy = retryPolicy({ jitter: 'none', capMs: 1500 });
    expect([1, 2, 3, 4].map((n) => backoffDelay(policy, n))).toEqual([500, 1000, 1500, 1500]);
    // factor^(retry-1) overflows to Infinity; the cap still holds.
    expect(backoffDelay(policy, 5000)).toBe(1500);
  });

  it('is 0 with baseMs 0, even when factor^n overflows', () => {
    const policy = retryPolicy({ jitter: 'none', baseMs: 0 });
    expect(backoffDelay(policy, 1)).toBe(0);
    expect(backoffDelay(policy, 5000)).toBe(0);
  });

  it('full jitter scales the delay by random()', () => {
    const policy = retryPolicy();
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay(policy, 3, () => 0.25)).toBe(500);
    expect(backoffDelay(policy, 3, () => 0.999)).toBeCloseTo(1998, 6);
  });

  it('clamps a bad random source into [0, 1]', () => {
    const policy = retryPolicy();
    expect(backoffDelay(policy, 2, () => 7)).toBe(1000);
    expect(backoffDelay(policy, 2, () => -3)).toBe(0);
    expect(backoffDelay(policy, 2, () => Number.NaN)).toBe(0);
  });

  it('uses Math.random by default', () => {
    const policy = retryPolicy();
    const delay = backoffDelay(policy, 1);
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(500);
  });

  it('rejects a retry number that is not an integer >= 1', () => {
    const policy = retryPolicy();
    for (const retry of [0, -1, 1.5, Number.NaN]) {
      expect(() => backoffDelay(policy, retry)).toThrow(/retry must be an integer of at least 1/);
    }
  });

  it('property: every delay is in [0, capMs], whatever the policy, retry and random source', () => {
    fc.assert(
      fc.property(
        policyOptions(),
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ noDefaultInfinity: false }),
        (options, retry, r) => {
          const policy = retryPolicy(options);
          const delay = backoffDelay(policy, retry, () => r);
          return Number.isFinite(delay) && delay >= 0 && delay <= policy.capMs;
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: without jitter the delay never shrinks from one retry to the next', () => {
    fc.assert(
      fc.property(policyOptions(), fc.integer({ min: 1, max: 100 }), (options, retry) => {
        const policy = retryPolicy({ ...options, jitter: 'none' });
        return backoffDelay(policy, retry + 1) >= backoffDelay(policy, retry);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: full jitter never exceeds the unjittered delay', () => {
    fc.assert(
      fc.property(
        policyOptions(),
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (options, retry, r) => {
          const full = retryPolicy({ ...options, jitter: 'full' });
          const none = retryPolicy({ ...options, jitter: 'none' });
          return backoffDelay(full, retry, () => r) <= backoffDelay(none, retry);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFloorBucket } from '../src/lib/floor.js';

describe('the floor Map bucket', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_700_000_000_000);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('admits exactly when a reference token bucket has the tokens', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0.1, max: 100, noNaN: true }),
        fc.array(fc.record({ cost: fc.integer({ min: 1, max: 60 }), stepMs: fc.integer({ min: 0, max: 2000 }) }), {
          maxLength: 60,
        }),
        (capacity, refillPerSecond, steps) => {
          vi.setSystemTime(1_700_000_000_000);
          const floor = createFloorBucket(capacity, refillPerSecond);
          let tokens = capacity;
          let admittedCost = 0;
          let elapsedMs = 0;
          for (const { cost, stepMs } of steps) {
            vi.advanceTimersByTime(stepMs);
            elapsedMs += stepMs;
            tokens = Math.min(capacity, tokens + (stepMs * refillPerSecond) / 1000);
            const expected = tokens >= cost;
            if (expected) tokens -= cost;
            const got = floor.take('k', cost);
            expect(got).toBe(expected);
            if (got) admittedCost += cost;
          }
          // Never more than the bucket plus what refilled meanwhile.
          expect(admittedCost).toBeLessThanOrEqual(capacity + (elapsedMs * refillPerSecond) / 1000 + 1e-9);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps one bucket per key', () => {
    const floor = createFloorBucket(1, 1e-9);
    expect(floor.take('a', 1)).toBe(true);
    expect(floor.take('a', 1)).toBe(false);
    expect(floor.take('b', 1)).toBe(true);
    expect(floor.size).toBe(2);
  });
});

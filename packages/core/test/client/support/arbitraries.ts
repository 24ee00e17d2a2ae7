import fc from 'fast-check';
import type { RetryPolicyOptions } from '../../../src/client/index.js';

/** Any valid retry policy's options, including the edges (no base, no cap, constant factor, huge factors). */
export const policyOptions = (): fc.Arbitrary<RetryPolicyOptions> =>
  fc.record({
    retries: fc.integer({ min: 0, max: 20 }),
    baseMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })),
    factor: fc.oneof(fc.constant(1), fc.double({ min: 1, max: 1e3, noNaN: true })),
    capMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e7, noNaN: true })),
    jitter: fc.constantFrom('full' as const, 'none' as const),
    retryAfterCapMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e8, noNaN: true })),
    onRetryAfterAboveCap: fc.constantFrom('give-up' as const, 'clamp' as const),
  });

/** Instants whose IMF-fixdate has a 4-digit year: 0000-01-01 to 9999-12-31, in ms since the epoch. */
export const httpDateMs = (): fc.Arbitrary<number> =>
  fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 });

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admittedVerdicts, retryAfterSeconds, unavailableVerdict, verdictOf, type HeaderStyle, type UserType } from '@micboard/limiter-core';

const allowed = { allowed: true, limit: 10, remaining: 9, resetAt: 60_000, retryAfter: 0, exceedsLimit: false };

describe('verdictOf', () => {
  it("style 'none' sends no rate-limit headers, but Retry-After on a denial", () => {
    expect(verdictOf(allowed, { style: 'none', now: 0 }, 'k')).toEqual({ allowed: true, status: 200, headers: {}, body: undefined, recordKey: 'k' });
    const denied = verdictOf({ ...allowed, allowed: false, remaining: 0, retryAfter: 1_500 }, { style: 'none', now: 0, windowSeconds: 60 }, undefined);
    expect(denied.headers).toEqual({ 'Retry-After': '2' });
    expect(denied.body).toEqual({ error: 'Rate limit exceeded', detail: 'Maximum 10 requests per 60 seconds', retry_after: 2 });
  });
  it('passes the user type and window to the headers', () => {
    const v = verdictOf(allowed, { style: 'both', now: 0, userType: 'authenticated', windowSeconds: 60 }, undefined);
    expect(v.headers['X-RateLimit-UserType']).toBe('authenticated');
    expect(v.headers['RateLimit-Policy']).toBe('"default";q=10;w=60');
  });
  it('retryAfterSeconds rounds up to at least 1; unavailable is a 503', () => {
    expect(retryAfterSeconds({ retryAfter: 0 })).toBe(1);
    expect(retryAfterSeconds({ retryAfter: 2_001 })).toBe(3);
    expect(unavailableVerdict()).toMatchObject({ status: 503, allowed: false });
  });
});

describe('admittedVerdicts', () => {
  const RUNS = { numRuns: 1000 };
  // Decisions as stores return them, plus the odd values headers must survive (NaN, negatives, huge).
  const number = fc.oneof(
    fc.integer({ min: 0, max: 1_000_000 }),
    fc.double({ min: 0, max: 1e12, noNaN: true }),
    fc.constantFrom(Number.NaN, -1, -0, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2),
  );
  const decision = fc.record({
    allowed: fc.constant(true),
    limit: number,
    remaining: number,
    resetAt: fc.oneof(number, fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 })),
    retryAfter: fc.constant(0),
    exceedsLimit: fc.boolean(),
  });
  const call = fc.record({
    decision,
    now: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }),
    userType: fc.option(fc.oneof(fc.constantFrom<UserType>('anonymous', 'authenticated', 'testing', 'development'), fc.string() as fc.Arbitrary<UserType>), { nil: undefined }),
    windowSeconds: fc.option(fc.double({ min: 0.001, max: 86_400, noNaN: true }), { nil: undefined }),
    recordKey: fc.option(fc.string(), { nil: undefined }),
  });

  it('answers what verdictOf answers, for every style, over a sequence of calls (its caches included)', () => {
    fc.assert(
      fc.property(fc.constantFrom<HeaderStyle>('legacy', 'draft', 'both', 'none'), fc.array(call, { minLength: 1, maxLength: 20 }), (style, calls) => {
        const admitted = admittedVerdicts(style);
        for (const { decision: d, now, userType, windowSeconds, recordKey } of calls) {
          const expected = verdictOf(d, { style, now, userType, windowSeconds }, recordKey);
          const got = admitted(d, now, userType, windowSeconds, recordKey);
          expect(got).toEqual(expected);
          // Same header order too: that is the order they go out in.
          expect(Object.keys(got.headers)).toEqual(Object.keys(expected.headers));
        }
      }),
      RUNS,
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { limitedBody, rateLimitHeaders } from '../../src/policy/headers.js';
import type { HeaderStyle } from '../../src/policy/headers.js';
import { LimiterError } from '../../src/errors.js';
import type { Decision } from '../../src/types.js';

const RUNS = { numRuns: 1000 };
const NOW = 1_700_000_000_000;

const allowed: Decision = { allowed: true, limit: 60, remaining: 59, resetAt: NOW + 500, retryAfter: 0, exceedsLimit: false };
const denied: Decision = { allowed: false, limit: 120, remaining: 0, resetAt: NOW + 44_001, retryAfter: 44_001, exceedsLimit: false };

describe('rateLimitHeaders', () => {
  it('legacy: the seed’s X-RateLimit-* set', () => {
    expect(rateLimitHeaders(allowed, { style: 'legacy', now: NOW })).toEqual({
      'X-RateLimit-Limit': '60',
      'X-RateLimit-Remaining': '59',
      'X-RateLimit-Reset': '1700000001',
    });
    expect(rateLimitHeaders(allowed, { style: 'legacy', now: NOW, userType: 'authenticated' })['X-RateLimit-UserType']).toBe('authenticated');
  });

  it('draft: RateLimit-Policy and RateLimit', () => {
    expect(rateLimitHeaders(allowed, { style: 'draft', now: NOW })).toEqual({
      'RateLimit-Policy': '"default";q=60',
      RateLimit: '"default";r=59;t=1',
    });
    expect(rateLimitHeaders(allowed, { style: 'draft', now: NOW, policy: 'api', windowSeconds: 60, userType: 'anonymous' })).toEqual({
      'RateLimit-Policy': '"api";q=60;w=60',
      RateLimit: '"api";r=59;t=1',
    });
    expect(rateLimitHeaders(allowed, { style: 'draft', now: NOW, windowSeconds: 0.5 })['RateLimit-Policy']).toBe('"default";q=60;w=1');
    // Back to the memoised name and away again.
    expect(rateLimitHeaders(allowed, { style: 'draft', now: NOW, policy: 'default' }).RateLimit).toBe('"default";r=59;t=1');
  });

  it('quotes policy names as structured-field strings', () => {
    const h = rateLimitHeaders(allowed, { style: 'draft', now: NOW, policy: 'a"b\\c\r\nd é' });
    expect(h['RateLimit-Policy']).toBe('"a\\"b\\\\cd ";q=60');
  });

  it('both: every header; none: nothing while allowed', () => {
    expect(Object.keys(rateLimitHeaders(allowed, { style: 'both', now: NOW, userType: 'testing' })).sort()).toEqual(
      ['RateLimit', 'RateLimit-Policy', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'X-RateLimit-UserType'].sort(),
    );
    expect(rateLimitHeaders(allowed, { style: 'none', now: NOW })).toEqual({});
  });

  it.each(['legacy', 'draft', 'both', 'none'] as const)('%s: Retry-After on every denial', (style) => {
    expect(rateLimitHeaders(denied, { style, now: NOW })['Retry-After']).toBe('45');
  });

  it.each([
    [1, '1'],
    [1000, '1'],
    [1001, '2'],
    [0, '1'],
    [-5, '1'],
    [Number.NaN, '1'],
    [Number.POSITIVE_INFINITY, String(Number.MAX_SAFE_INTEGER)],
  ])('Retry-After for retryAfter %s ms is %s', (retryAfter, header) => {
    expect(rateLimitHeaders({ ...denied, retryAfter }, { style: 'none', now: NOW })['Retry-After']).toBe(header);
  });

  it('formats any number as non-negative ASCII digits', () => {
    const odd: Decision = { allowed: true, limit: 2.7, remaining: -3, resetAt: NOW - 5000, retryAfter: 0, exceedsLimit: false };
    expect(rateLimitHeaders(odd, { style: 'both', now: NOW })).toMatchObject({
      'X-RateLimit-Limit': '2',
      'X-RateLimit-Remaining': '0',
      RateLimit: '"default";r=0;t=0',
    });
    const huge = { ...odd, limit: 1e300, remaining: Number.NaN };
    expect(rateLimitHeaders(huge, { style: 'legacy', now: NOW })).toMatchObject({
      'X-RateLimit-Limit': String(Number.MAX_SAFE_INTEGER),
      'X-RateLimit-Remaining': '0',
    });
  });

  it('strips characters that would make the user-type header invalid', () => {
    expect(rateLimitHeaders(allowed, { style: 'legacy', now: NOW, userType: 'anon\r\nSet-Cookie: x' })['X-RateLimit-UserType']).toBe('anonSet-Cookie:x');
  });

  it('rejects an unknown style', () => {
    let caught: unknown;
    try {
      rateLimitHeaders(allowed, { style: 'modern' as HeaderStyle, now: NOW });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LimiterError);
    expect((caught as LimiterError).option).toBe('headers');
  });
});

describe('limitedBody', () => {
  it('is the seed’s 429 body', () => {
    expect(limitedBody(denied, { windowSeconds: 60 })).toEqual({
      error: 'Rate limit exceeded',
      detail: 'Maximum 120 requests per 60 seconds',
      retry_after: 45,
    });
    expect(limitedBody(denied, { limit: 30, windowSeconds: 1 }).detail).toBe('Maximum 30 requests per 1 second');
  });

  it('states the wait without a window', () => {
    expect(limitedBody(denied).detail).toBe('Maximum 120 requests; try again in 45 seconds');
    expect(limitedBody({ ...denied, retryAfter: 10, limit: 1 }).detail).toBe('Maximum 1 request; try again in 1 second');
    expect(limitedBody(denied, { windowSeconds: 0 }).detail).toBe('Maximum 120 requests; try again in 45 seconds');
    expect(limitedBody(denied, { windowSeconds: Number.NaN }).detail).toBe('Maximum 120 requests; try again in 45 seconds');
  });

  it('says so when a request costs more than the limit can hold', () => {
    const tooBig = { ...denied, exceedsLimit: true };
    expect(limitedBody(tooBig, { windowSeconds: 60 }).detail).toBe('This request costs more than the limit of 120 requests per 60 seconds allows');
    expect(limitedBody(tooBig).detail).toBe('This request costs more than the limit of 120 requests allows');
  });

  it('always asks for at least one whole second', () => {
    expect(limitedBody({ ...denied, retryAfter: 0 }).retry_after).toBe(1);
    expect(limitedBody({ ...denied, retryAfter: Number.NaN }).retry_after).toBe(1);
  });
});

const anyNumber = fc.oneof(
  fc.double(),
  fc.integer({ min: -1e6, max: 1e15 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5, 1e21),
);
const decisionArb: fc.Arbitrary<Decision> = fc.record({
  allowed: fc.boolean(),
  limit: anyNumber,
  remaining: anyNumber,
  resetAt: anyNumber,
  retryAfter: anyNumber,
  exceedsLimit: fc.boolean(),
});
const styleArb = fc.constantFrom<HeaderStyle>('legacy', 'draft', 'both', 'none');

describe('header properties', () => {
  it('numeric values are always ASCII digit strings; Remaining never negative; Retry-After exactly on denial', () => {
    fc.assert(
      fc.property(decisionArb, styleArb, anyNumber, fc.option(fc.double({ min: 0.001, max: 1e6, noNaN: true }), { nil: undefined }), (decision, style, now, windowSeconds) => {
        const h = rateLimitHeaders(decision, windowSeconds === undefined ? { style, now } : { style, now, windowSeconds });
        const digits = /^(0|[1-9][0-9]*)$/;
        const numeric = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After']
          .map((k) => h[k])
          .filter((v): v is string => v !== undefined);
        const draftOk =
          h.RateLimit === undefined ||
          (/^"default";r=(0|[1-9][0-9]*);t=(0|[1-9][0-9]*)$/.test(h.RateLimit) &&
            /^"default";q=(0|[1-9][0-9]*)(;w=(0|[1-9][0-9]*))?$/.test(h['RateLimit-Policy'] as string));
        return (
          numeric.every((v) => digits.test(v) && Number.isSafeInteger(Number(v))) &&
          draftOk &&
          ('Retry-After' in h) === !decision.allowed &&
          (h['Retry-After'] === undefined || Number(h['Retry-After']) >= 1) &&
          Object.values(h).every((v) => /^[\x20-\x7e]*$/.test(v))
        );
      }),
      RUNS,
    );
  });

  it('for well-formed decisions the headers carry the decision’s numbers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        fc.nat({ max: 1e6 }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 0, max: 1e7 }),
        fc.integer({ min: 1, max: 1e7 }),
        (limit, rem, now, resetIn, wait) => {
          const remaining = Math.min(rem, limit);
          const decision: Decision = { allowed: false, limit, remaining, resetAt: now + resetIn, retryAfter: wait, exceedsLimit: false };
          const h = rateLimitHeaders(decision, { style: 'both', now });
          const body = limitedBody(decision);
          return (
            h['X-RateLimit-Limit'] === String(limit) &&
            h['X-RateLimit-Remaining'] === String(remaining) &&
            h['X-RateLimit-Reset'] === String(Math.ceil((now + resetIn) / 1000)) &&
            h.RateLimit === `"default";r=${remaining};t=${Math.ceil(resetIn / 1000)}` &&
            h['Retry-After'] === String(Math.ceil(wait / 1000)) &&
            body.retry_after === Number(h['Retry-After'])
          );
        },
      ),
      RUNS,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { retryAfterSeconds, unavailableVerdict, verdictOf } from '@micboard/limiter-core';

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

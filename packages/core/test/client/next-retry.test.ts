import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  isIdempotentMethod,
  nextRetry,
  parseRetryAfter,
  retryPolicy,
  toHttpDate,
} from '../../src/client/index.js';
import type { RetryInput } from '../../src/client/index.js';
import { policyOptions } from './support/arbitraries.js';

const NOW = Date.UTC(2026, 10, 25, 12);
const fixed = (r: number) => (): number => r;

/** One failed try: a status, or a transport error. */
const failure = (): fc.Arbitrary<Pick<RetryInput, 'status' | 'error'>> =>
  fc.oneof(
    fc.record({ status: fc.constantFrom(429, 500, 502, 503, 504) }),
    fc.record({ status: fc.integer({ min: 100, max: 599 }) }),
    fc.record({ error: fc.constantFrom('network' as const, 'timeout' as const) }),
  );

/** Retry-After values as servers send them, plus absent and garbage ones. */
const retryAfter = (now: number): fc.Arbitrary<string | null | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.integer({ min: 0, max: 200 }).map(String),
    fc.integer({ min: -100, max: 200 }).map((s) => toHttpDate(now + s * 1000)),
    fc.string(),
  );

describe('nextRetry', () => {
  const policy = retryPolicy({ jitter: 'none' });

  it("retries seed 1's statuses and transport errors with 500, 1000, 2000 ms, then stops", () => {
    const base = { now: NOW, idempotent: true };
    expect(nextRetry(policy, { ...base, retry: 1, status: 429 })).toEqual({ retry: true, delayMs: 500 });
    expect(nextRetry(policy, { ...base, retry: 2, error: 'network' })).toEqual({ retry: true, delayMs: 1000 });
    expect(nextRetry(policy, { ...base, retry: 3, error: 'timeout' })).toEqual({ retry: true, delayMs: 2000 });
    expect(nextRetry(policy, { ...base, retry: 4, status: 503 })).toEqual({ retry: false, reason: 'exhausted' });
  });

  it('does not retry other statuses, or a failure with neither status nor error', () => {
    for (const status of [200, 400, 404, 501]) {
      expect(nextRetry(policy, { retry: 1, status, now: NOW, idempotent: true })).toEqual({
        retry: false,
        reason: 'not-retryable',
      });
    }
    expect(nextRetry(policy, { retry: 1, now: NOW, idempotent: true })).toEqual({ retry: false, reason: 'not-retryable' });
  });

  it('retries a status the policy lists, and not one it dropped', () => {
    const custom = retryPolicy({ jitter: 'none', statuses: [408] });
    expect(nextRetry(custom, { retry: 1, status: 408, now: NOW, idempotent: true }).retry).toBe(true);
    expect(nextRetry(custom, { retry: 1, status: 503, now: NOW, idempotent: true }).retry).toBe(false);
  });

  it('never retries a non-idempotent request, and retries it when the caller opts in', () => {
    const post = { retry: 1, status: 503, now: NOW };
    expect(nextRetry(policy, { ...post, idempotent: isIdempotentMethod('POST') })).toEqual({
      retry: false,
      reason: 'not-idempotent',
    });
    expect(nextRetry(policy, { ...post, idempotent: true })).toEqual({ retry: true, delayMs: 500 });
    // Only a real `true` opts in.
    expect(nextRetry(policy, { ...post, idempotent: 'yes' as never })).toEqual({ retry: false, reason: 'not-idempotent' });
  });

  it('reports not-retryable before not-idempotent before exhausted', () => {
    expect(nextRetry(policy, { retry: 9, status: 404, now: NOW, idempotent: false })).toEqual({
      retry: false,
      reason: 'not-retryable',
    });
    expect(nextRetry(policy, { retry: 9, status: 503, now: NOW, idempotent: false })).toEqual({
      retry: false,
      reason: 'not-idempotent',
    });
  });

  it('waits the later of backoff and Retry-After', () => {
    const base = { retry: 1, status: 429, now: NOW, idempotent: true };
    expect(nextRetry(policy, { ...base, retryAfter: '3' })).toEqual({ retry: true, delayMs: 3000 });
    expect(nextRetry(policy, { ...base, retryAfter: '0' })).toEqual({ retry: true, delayMs: 500 });
    expect(nextRetry(policy, { ...base, retryAfter: toHttpDate(NOW + 7_000) })).toEqual({ retry: true, delayMs: 7000 });
    expect(nextRetry(policy, { ...base, retryAfter: 'garbage' })).toEqual({ retry: true, delayMs: 500 });
    expect(nextRetry(policy, { ...base, retryAfter: null })).toEqual({ retry: true, delayMs: 500 });
  });

  it('gives up on a Retry-After above the cap by default, or clamps it', () => {
    const base = { retry: 1, status: 503, now: NOW, idempotent: true, retryAfter: '61' };
    expect(nextRetry(policy, base)).toEqual({ retry: false, reason: 'retry-after-too-long' });
    expect(nextRetry(policy, { ...base, retryAfter: '60' })).toEqual({ retry: true, delayMs: 60_000 });
    const clamp = retryPolicy({ jitter: 'none', onRetryAfterAboveCap: 'clamp' });
    expect(nextRetry(clamp, base)).toEqual({ retry: true, delayMs: 60_000 });
  });

  it('uses the random source for jitter', () => {
    const jittered = retryPolicy();
    expect(nextRetry(jittered, { retry: 2, status: 500, now: NOW, idempotent: true, random: fixed(0.5) })).toEqual({
      retry: true,
      delayMs: 500,
    });
  });

  it('rejects a bad retry number or error kind', () => {
    expect(() => nextRetry(policy, { retry: 0, status: 503, now: NOW, idempotent: true })).toThrow(/retry must be/);
    expect(() => nextRetry(policy, { retry: 1, error: 'dns' as never, now: NOW, idempotent: true })).toThrow(
      /error must be "network" or "timeout"; got "dns"/,
    );
  });

  it('property: the attempt limit bounds the tries, whatever fails and whatever the server says', () => {
    fc.assert(
      fc.property(
        policyOptions(),
        fc.array(fc.tuple(failure(), retryAfter(NOW)), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (options, failures, idempotent) => {
          const policy = retryPolicy(options);
          let tries = 1; // the first try, which failed
          // Bounded: a retry loop that never stops fails the property instead of hanging.
          for (let guard = 0; guard < 100; guard++) {
            const [fail, header] = failures[(tries - 1) % failures.length] ?? [{}, undefined];
            const next = nextRetry(policy, { retry: tries, ...fail, retryAfter: header, now: NOW, idempotent });
            if (!next.retry) return tries <= policy.retries + 1;
            tries++;
          }
          return false;
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: a retry waits the later of backoff and Retry-After, within [0, max(capMs, retryAfterCapMs)]', () => {
    fc.assert(
      fc.property(
        policyOptions(),
        fc.integer({ min: 1, max: 25 }),
        failure(),
        fc.integer({ min: 0, max: 4_000_000_000_000 }).chain((now) => fc.tuple(fc.constant(now), retryAfter(now))),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (options, retry, fail, [now, header], r) => {
          const policy = retryPolicy(options);
          const next = nextRetry(policy, { retry, ...fail, retryAfter: header, now, idempotent: true, random: fixed(r) });
          if (!next.retry) return true;
          const server = parseRetryAfter(header, now) ?? 0;
          const expected = Math.max(backoffDelay(policy, retry, fixed(r)), Math.min(server, policy.retryAfterCapMs));
          return (
            next.delayMs === expected &&
            next.delayMs >= 0 &&
            next.delayMs <= Math.max(policy.capMs, policy.retryAfterCapMs) &&
            (server <= policy.retryAfterCapMs || policy.onRetryAfterAboveCap === 'clamp')
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: a Retry-After above the cap stops the retries exactly when the policy says give up', () => {
    fc.assert(
      fc.property(policyOptions(), fc.integer({ min: 1, max: 1_000_000 }), (options, extraSeconds) => {
        const policy = retryPolicy({ ...options, retries: 5 });
        const header = String(Math.ceil(policy.retryAfterCapMs / 1000) + extraSeconds);
        const input = { retry: 1, status: 429, retryAfter: header, now: NOW, idempotent: true, random: fixed(0.5) };
        const next = nextRetry(policy, input);
        return policy.onRetryAfterAboveCap === 'give-up'
          ? !next.retry && next.reason === 'retry-after-too-long'
          : next.retry && next.delayMs === Math.max(policy.retryAfterCapMs, backoffDelay(policy, 1, fixed(0.5)));
      }),
      { numRuns: 1000 },
    );
  });

  it('property: a non-idempotent request is never retried unless the caller opts in', () => {
    fc.assert(
      fc.property(
        policyOptions(),
        fc.integer({ min: 1, max: 25 }),
        failure(),
        retryAfter(NOW),
        fc.constantFrom('POST', 'PATCH', 'post', 'CONNECT', 'LOCK'),
        (options, retry, fail, header, method) => {
          const policy = retryPolicy(options);
          const input = { retry, ...fail, retryAfter: header, now: NOW };
          const refused = nextRetry(policy, { ...input, idempotent: isIdempotentMethod(method) });
          const optedIn = nextRetry(policy, { ...input, idempotent: true });
          return !refused.retry && (optedIn.retry || optedIn.reason !== 'not-idempotent');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: statuses outside the policy are never retried', () => {
    fc.assert(
      fc.property(policyOptions(), fc.integer({ min: 100, max: 599 }), fc.integer({ min: 1, max: 25 }), (options, status, retry) => {
        const policy = retryPolicy(options);
        const next = nextRetry(policy, { retry, status, now: NOW, idempotent: true });
        return policy.statuses.includes(status) || (!next.retry && next.reason === 'not-retryable');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('isIdempotentMethod', () => {
  it('knows the idempotent methods of RFC 9110, in any case', () => {
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'get', 'Put']) {
      expect(isIdempotentMethod(method), method).toBe(true);
    }
    for (const method of ['POST', 'PATCH', 'CONNECT', 'post', '', 'GETS']) {
      expect(isIdempotentMethod(method), method).toBe(false);
    }
    expect(isIdempotentMethod(undefined as never)).toBe(false);
  });
});

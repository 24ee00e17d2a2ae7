import { describe, expect, it } from 'vitest';
import { LimiterError } from '../../src/errors.js';
import { DEFAULT_RETRY_STATUSES, retryPolicy } from '../../src/client/index.js';

function invalid(fn: () => unknown, option: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LimiterError);
    expect((error as LimiterError).code).toBe('INVALID_OPTION');
    expect((error as LimiterError).option).toBe(option);
    expect((error as LimiterError).message).toContain(option);
    return;
  }
  throw new Error(`expected ${option} to be rejected`);
}

describe('retryPolicy', () => {
  it('has seed 1 defaults and is frozen', () => {
    const policy = retryPolicy();
    expect(policy).toEqual({
      retries: 3,
      baseMs: 500,
      factor: 2,
      capMs: 30_000,
      jitter: 'full',
      statuses: [429, 500, 502, 503, 504],
      retryAfterCapMs: 60_000,
      onRetryAfterAboveCap: 'give-up',
    });
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.statuses)).toBe(true);
    expect(Object.isFrozen(DEFAULT_RETRY_STATUSES)).toBe(true);
  });

  it('takes every option', () => {
    const policy = retryPolicy({
      retries: 0,
      baseMs: 0,
      factor: 1,
      capMs: 0,
      jitter: 'none',
      statuses: [503],
      retryAfterCapMs: 0,
      onRetryAfterAboveCap: 'clamp',
    });
    expect(policy).toEqual({
      retries: 0,
      baseMs: 0,
      factor: 1,
      capMs: 0,
      jitter: 'none',
      statuses: [503],
      retryAfterCapMs: 0,
      onRetryAfterAboveCap: 'clamp',
    });
  });

  it('copies statuses so the caller cannot change a policy later', () => {
    const statuses = [429];
    const policy = retryPolicy({ statuses });
    statuses.push(500);
    expect(policy.statuses).toEqual([429]);
  });

  it('rejects bad options naming the option', () => {
    invalid(() => retryPolicy(null as never), 'options');
    invalid(() => retryPolicy('x' as never), 'options');
    invalid(() => retryPolicy({ retries: -1 }), 'retries');
    invalid(() => retryPolicy({ retries: 1.5 }), 'retries');
    invalid(() => retryPolicy({ baseMs: -1 }), 'baseMs');
    invalid(() => retryPolicy({ baseMs: Number.NaN }), 'baseMs');
    invalid(() => retryPolicy({ factor: 0.5 }), 'factor');
    invalid(() => retryPolicy({ factor: Number.POSITIVE_INFINITY }), 'factor');
    invalid(() => retryPolicy({ factor: '2' as never }), 'factor');
    invalid(() => retryPolicy({ capMs: -5 }), 'capMs');
    invalid(() => retryPolicy({ jitter: 'equal' as never }), 'jitter');
    invalid(() => retryPolicy({ statuses: 503 as never }), 'statuses');
    invalid(() => retryPolicy({ statuses: [99] }), 'statuses');
    invalid(() => retryPolicy({ statuses: [600] }), 'statuses');
    invalid(() => retryPolicy({ statuses: [503.5] }), 'statuses');
    invalid(() => retryPolicy({ retryAfterCapMs: -1 }), 'retryAfterCapMs');
    invalid(() => retryPolicy({ onRetryAfterAboveCap: 'wait' as never }), 'onRetryAfterAboveCap');
  });

  it('puts the bad value in the message', () => {
    expect(() => retryPolicy({ retries: -1 })).toThrow(/retries must be an integer of at least 0; got -1/);
  });
});

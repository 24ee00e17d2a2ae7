import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  LimiterError,
  MAX_REFILL_PER_SECOND,
  fixedWindow,
  gcra,
  scaleSpec,
  slidingWindow,
  tokenBucket,
  validateSpec,
  type LimitSpec,
} from '@micboard/limiter-core';
import { RUNS, bucketSpec, fixedSpec, windowSpec } from './arbitraries.js';

// 1,000-run properties take seconds on a busy machine: give them room rather than flake.
vi.setConfig({ testTimeout: 120_000 });

/** Runs `build` and returns the INVALID_OPTION error it must throw, checking it names the option and value. */
function invalid(build: () => unknown, option: string, value: unknown): LimiterError {
  let caught: unknown;
  try {
    build();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LimiterError);
  const error = caught as LimiterError;
  expect(error.code).toBe('INVALID_OPTION');
  expect(error.option).toBe(option);
  expect(Object.is(error.value, value)).toBe(true);
  expect(error.message.startsWith(`${option} must be`)).toBe(true);
  return error;
}

const TOO_FAST =
  'a bucket refilling faster is below the time resolution its state is kept in; count in larger units (one token per 100 requests, per KB)';

const bad = [Number.NaN, -1, 0, Number.POSITIVE_INFINITY, '5', null, undefined, {}];

describe('bucket factories', () => {
  it.each([
    ['tokenBucket', tokenBucket],
    ['gcra', gcra],
  ] as const)('%s rejects bad capacity and refillPerSecond, naming the option and value', (_, factory) => {
    for (const value of bad) {
      invalid(() => factory({ capacity: value as number, refillPerSecond: 1 }), 'capacity', value);
      invalid(() => factory({ capacity: 1, refillPerSecond: value as number }), 'refillPerSecond', value);
    }
    for (const value of [Number.NaN, -1, Number.POSITIVE_INFINITY, '5', null]) {
      invalid(() => factory({ capacity: 1, refillPerSecond: 1, burst: value as number }), 'burst', value);
    }
    invalid(() => factory(null as never), 'options', null);
    invalid(() => factory('fast' as never), 'options', 'fast');
  });

  it('messages show the value as given', () => {
    expect(invalid(() => tokenBucket({ capacity: Number.NaN, refillPerSecond: 1 }), 'capacity', Number.NaN).message).toBe(
      'capacity must be a finite number greater than 0; got NaN',
    );
    expect(invalid(() => gcra({ capacity: 1, refillPerSecond: '5' as never }), 'refillPerSecond', '5').message).toBe(
      // The resolution is no reason to give for a value that is no number at all.
      'refillPerSecond must be a finite number of tokens per second greater than 0 and at most 10000; got "5"',
    );
  });

  it('refuse a refill rate above MAX_REFILL_PER_SECOND, telling to count in larger units', () => {
    expect(MAX_REFILL_PER_SECOND).toBe(10_000);
    for (const build of [tokenBucket, gcra]) {
      expect(build({ capacity: 1, refillPerSecond: MAX_REFILL_PER_SECOND }).refillPerSecond).toBe(10_000);
      expect(invalid(() => build({ capacity: 1, refillPerSecond: 1e6 }), 'refillPerSecond', 1e6).message).toBe(
        `refillPerSecond must be a finite number of tokens per second greater than 0 and at most 10000: ${TOO_FAST}; got 1000000`,
      );
      invalid(() => build({ capacity: 1, refillPerSecond: 10_000.000_001 }), 'refillPerSecond', 10_000.000_001);
    }
    invalid(() => validateSpec({ algorithm: 'gcra', capacity: 1, refillPerSecond: 1e7 }, 'profiles.x'), 'profiles.x.refillPerSecond', 1e7);
    expect(validateSpec({ algorithm: 'token-bucket', capacity: 1, refillPerSecond: 1e4 })).toMatchObject({ refillPerSecond: 1e4 });
  });

  it('returns frozen specs; burst defaults to 0 and may be 0', () => {
    const spec = tokenBucket({ capacity: 50, refillPerSecond: 5, burst: 10 });
    expect(spec).toEqual({ algorithm: 'token-bucket', capacity: 50, refillPerSecond: 5, burst: 10 });
    expect(Object.isFrozen(spec)).toBe(true);
    expect(tokenBucket({ capacity: 0.5, refillPerSecond: 0.25 }).burst).toBe(0);
  });
});

describe('window factories', () => {
  it('slidingWindow and fixedWindow reject bad limits, windows and precision', () => {
    for (const [name, build] of [
      ['slidingWindow', (o: { limit: number; window: never }) => slidingWindow(o)],
      ['fixedWindow', (o: { limit: number; window: never }) => fixedWindow(o)],
    ] as const) {
      expect(name).toMatch(/Window$/);
      for (const limit of [Number.NaN, 0, -3, 1.5, Number.POSITIVE_INFINITY, '10']) {
        invalid(() => build({ limit: limit as number, window: 1000 as never }), 'limit', limit);
      }
      // Whole ms only: a window of 7.7 ms would make a denial's retryAfter fall short.
      for (const window of [0, '0s', -5, Number.NaN, Number.POSITIVE_INFINITY, '1 minute', 'abc', null, '-1s', 7.7, 0.5, '0.5ms', '1.0005s']) {
        invalid(() => build({ limit: 1, window: window as never }), 'window', window);
      }
      invalid(() => build(undefined as never), 'options', undefined);
    }
    invalid(() => slidingWindow({ limit: 1, window: 1, precision: 'rough' as never }), 'precision', 'rough');
  });

  it('parses durations and defaults precision to exact', () => {
    expect(slidingWindow({ limit: 120, window: '60s' })).toEqual({
      algorithm: 'sliding-window',
      limit: 120,
      windowMs: 60_000,
      precision: 'exact',
    });
    expect(slidingWindow({ limit: 1, window: '1.5s', precision: 'approximate' }).windowMs).toBe(1500);
    // 1.001 * 1000 is 1000.9999999999999 in floating point: durations are rounded to the µs first.
    expect(fixedWindow({ limit: 1, window: '1.001s' }).windowMs).toBe(1001);
    expect(slidingWindow({ limit: 1, window: 1.001 * 1000 }).windowMs).toBe(1001);
    expect(slidingWindow({ limit: 1, window: '2.01s' }).windowMs).toBe(2010);
    const fixed = fixedWindow({ limit: 5, window: '1m' });
    expect(fixed).toEqual({ algorithm: 'fixed-window', limit: 5, windowMs: 60_000 });
    expect(Object.isFrozen(fixed)).toBe(true);
  });
});

describe('validateSpec', () => {
  it('accepts every factory spec unchanged (a frozen copy)', () => {
    const specs = fc.oneof(bucketSpec(), bucketSpec().map((s) => gcra(s)), windowSpec('exact'), windowSpec('approximate'), fixedSpec);
    fc.assert(
      fc.property(specs, (spec: LimitSpec) => {
        const plain = JSON.parse(JSON.stringify(spec)) as unknown;
        const checked = validateSpec(plain);
        expect(checked).toEqual(spec);
        expect(Object.isFrozen(checked)).toBe(true);
      }),
      RUNS,
    );
  });

  it('names the field under the option it is given', () => {
    invalid(() => validateSpec(null), 'spec', null);
    const list = [1];
    invalid(() => validateSpec(list, 'profiles.x'), 'profiles.x', list);
    invalid(() => validateSpec({ algorithm: 'gcra', capacity: 1, refillPerSecond: 1, burst: null }), 'spec.burst', null);
    invalid(() => validateSpec({ algorithm: 'leaky' }, 'limits.a'), 'limits.a.algorithm', 'leaky');
    invalid(() => validateSpec({ algorithm: 'gcra', capacity: -1, refillPerSecond: 1 }), 'spec.capacity', -1);
    invalid(() => validateSpec({ algorithm: 'gcra', capacity: 1, refillPerSecond: Number.NaN }), 'spec.refillPerSecond', Number.NaN);
    invalid(() => validateSpec({ algorithm: 'token-bucket', capacity: 1, refillPerSecond: 1, burst: '2' }), 'spec.burst', '2');
    invalid(() => validateSpec({ algorithm: 'fixed-window', limit: 0, windowMs: 1 }), 'spec.limit', 0);
    invalid(() => validateSpec({ algorithm: 'fixed-window', limit: 1, windowMs: 0 }), 'spec.windowMs', 0);
    invalid(() => validateSpec({ algorithm: 'fixed-window', limit: 1, windowMs: 7.7 }), 'spec.windowMs', 7.7);
    invalid(() => validateSpec({ algorithm: 'sliding-window', limit: 1, window: '7.7ms' }), 'spec.window', '7.7ms');
    invalid(() => validateSpec({ algorithm: 'fixed-window', limit: 1 }), 'spec.windowMs', undefined);
    invalid(() => validateSpec({ algorithm: 'sliding-window', limit: 1, window: '0ms' }), 'spec.window', '0ms');
    invalid(() => validateSpec({ algorithm: 'sliding-window', limit: 1, windowMs: 5, precision: 'fuzzy' }), 'spec.precision', 'fuzzy');
  });

  it('fills defaults and takes a window duration from config', () => {
    expect(validateSpec({ algorithm: 'gcra', capacity: 1, refillPerSecond: 2 })).toEqual(gcra({ capacity: 1, refillPerSecond: 2 }));
    expect(validateSpec({ algorithm: 'sliding-window', limit: 120, window: '60s' })).toEqual(slidingWindow({ limit: 120, window: 60_000 }));
    expect(validateSpec({ algorithm: 'fixed-window', limit: 5, window: 1000 })).toEqual(fixedWindow({ limit: 5, window: 1000 }));
  });
});

describe('scaleSpec', () => {
  const multiplier = fc.oneof(fc.double({ min: 0.05, max: 4, noNaN: true }), fc.constantFrom(0.1, 0.3, 0.9, 1.1, 2));

  it('returns the same object for 1', () => {
    const spec = tokenBucket({ capacity: 1, refillPerSecond: 1 });
    expect(scaleSpec(spec, 1)).toBe(spec);
  });

  it('scales buckets without rounding: size, burst and rate all by m', () => {
    fc.assert(
      fc.property(fc.oneof(bucketSpec(), bucketSpec().map((s) => gcra(s))), multiplier, (spec, m) => {
        const scaled = scaleSpec(spec, m);
        expect(scaled).toEqual({
          algorithm: spec.algorithm,
          capacity: spec.capacity * m,
          refillPerSecond: spec.refillPerSecond * m,
          burst: spec.burst * m,
        });
        expect(Object.isFrozen(scaled)).toBe(true);
        // A scaled rate may pass the bound (the engine checks rate * adaptive.max up front).
        if (scaled.algorithm !== 'gcra' && scaled.algorithm !== 'token-bucket') return;
        if (scaled.refillPerSecond <= MAX_REFILL_PER_SECOND) expect(validateSpec(scaled)).toEqual(scaled);
        else expect(() => validateSpec(scaled)).toThrow(/refillPerSecond must be/);
      }),
      RUNS,
    );
  });

  it('scales window limits to max(1, floor(limit * m)), monotone in m, keeping the window', () => {
    fc.assert(
      fc.property(fc.oneof(windowSpec('exact'), windowSpec('approximate'), fixedSpec), multiplier, multiplier, (spec, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const small = scaleSpec(spec, lo);
        const large = scaleSpec(spec, hi);
        if (small.algorithm === 'token-bucket' || small.algorithm === 'gcra') throw new Error('not a window');
        if (large.algorithm === 'token-bucket' || large.algorithm === 'gcra') throw new Error('not a window');
        expect(Number.isInteger(small.limit)).toBe(true);
        expect(small.limit).toBeGreaterThanOrEqual(1);
        expect(small.limit).toBeLessThanOrEqual(large.limit);
        expect(small.limit).toBe(Math.max(1, Math.floor(spec.limit * lo + 1e-9)));
        expect(small.windowMs).toBe(spec.windowMs);
        expect(small).toEqual({ ...spec, limit: small.limit });
        expect(validateSpec(small)).toEqual(small);
      }),
      RUNS,
    );
  });

  it('is not fooled by floating point: 100 * 0.29 is 29, 10 * 0.1 is 1, 5 * 0.1 is still 1', () => {
    const spec = slidingWindow({ limit: 100, window: 1000 });
    expect(scaleSpec(spec, 0.29)).toMatchObject({ limit: 29 });
    expect(scaleSpec(fixedWindow({ limit: 10, window: 1 }), 0.1)).toMatchObject({ limit: 1 });
    expect(scaleSpec(fixedWindow({ limit: 5, window: 1 }), 0.1)).toMatchObject({ limit: 1 });
    expect(scaleSpec(fixedWindow({ limit: 10, window: 1 }), 1.1)).toMatchObject({ limit: 11 });
  });

  it('rejects a multiplier that is not a finite number > 0', () => {
    const spec = fixedWindow({ limit: 1, window: 1 });
    for (const m of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '2']) invalid(() => scaleSpec(spec, m as number), 'multiplier', m);
    invalid(() => scaleSpec({ algorithm: 'leaky' } as never, 2), 'spec.algorithm', 'leaky');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimiterError, invalidOption, silentLogger, systemClock, toMs } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import { describeValue } from '../src/errors.js';
import { inRange, integer, nonNegative, oneOf, positive } from '../src/validate.js';

describe('clocks', () => {
  it('the system clock reads real time at each call', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('the manual clock moves only when told', () => {
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    expect(clock.advance(250)).toBe(1_250);
    expect(clock.advance(-50)).toBe(1_200);
    expect(clock.set(5)).toBe(5);
    expect(clock.now()).toBe(5);
    expect(new ManualClock().now()).toBe(0);
  });

  it('the manual clock refuses non-finite times, naming the argument', () => {
    expect(() => new ManualClock(Number.NaN)).toThrow(/start must be .*; got NaN/);
    expect(() => new ManualClock(0).advance(Infinity)).toThrow(/ms must be .*; got Infinity/);
    expect(() => new ManualClock(0).set(Number.NaN)).toThrow(LimiterError);
  });
});

describe('errors', () => {
  it('invalidOption names the option and the value and carries a code', () => {
    const error = invalidOption('capacity', -1, 'a positive number');
    expect(error).toBeInstanceOf(LimiterError);
    expect(error.name).toBe('LimiterError');
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.option).toBe('capacity');
    expect(error.value).toBe(-1);
    expect(error.message).toBe('capacity must be a positive number; got -1');
  });

  it('keeps the cause', () => {
    const cause = new Error('boom');
    const error = new LimiterError('STORE_ERROR', 'store failed', { cause });
    expect(error.cause).toBe(cause);
    expect(new LimiterError('ABORTED', 'aborted').cause).toBeUndefined();
  });

  it('describes every kind of value without throwing', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeValue('x')).toBe('"x"');
    expect(describeValue(3)).toBe('3');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue({ a: 1 })).toBe('{"a":1}');
    expect(describeValue(circular)).toBe('[object Object]');
    expect(describeValue(Symbol('s'))).toBe('Symbol(s)');
    fc.assert(fc.property(fc.anything(), (value) => typeof describeValue(value) === 'string'), { numRuns: 1000 });
  });
});

describe('validators', () => {
  it('accept good values and reject bad ones by name', () => {
    expect(positive('a', 1.5)).toBe(1.5);
    for (const bad of [0, -1, Number.NaN, Infinity, '1', undefined]) expect(() => positive('a', bad)).toThrow(/^a must be/);
    expect(nonNegative('b', 0)).toBe(0);
    for (const bad of [-0.1, Number.NaN, '0']) expect(() => nonNegative('b', bad)).toThrow(/^b must be/);
    expect(integer('c', 3, 1)).toBe(3);
    for (const bad of [0, 1.5, '2']) expect(() => integer('c', bad, 1)).toThrow(/^c must be an integer of at least 1/);
    expect(integer('c0', 0)).toBe(0);
    expect(inRange('d', 0.5, 0, 1)).toBe(0.5);
    for (const bad of [-1, 2, Number.NaN, null]) expect(() => inRange('d', bad, 0, 1)).toThrow(/^d must be a number between 0 and 1/);
    expect(oneOf('e', 'x', ['x', 'y'])).toBe('x');
    expect(() => oneOf('e', 'z', ['x', 'y'])).toThrow('e must be one of "x", "y"; got "z"');
    expect(() => oneOf('e', 1, ['x'])).toThrow(/got 1$/);
  });
});

describe('durations', () => {
  it('parses numbers and unit strings', () => {
    expect(toMs('window', 250)).toBe(250);
    expect(toMs('window', '500ms')).toBe(500);
    expect(toMs('window', '60s')).toBe(60_000);
    expect(toMs('window', '1.5s')).toBe(1_500);
    // 1.001 * 1000 is 1000.9999999999999 and 2.01 * 1000 is 2009.9999999999998: rounded to the µs.
    expect(toMs('window', '1.001s')).toBe(1_001);
    expect(toMs('window', '2.01s')).toBe(2_010);
    expect(toMs('window', 1.001 * 1000)).toBe(1_001);
    expect(toMs('window', '0.0015s')).toBe(1.5);
    expect(toMs('window', 1e300)).toBe(1e300);
    expect(toMs('window', '5m')).toBe(300_000);
    expect(toMs('window', '1h')).toBe(3_600_000);
    expect(toMs('window', '1d')).toBe(86_400_000);
  });

  it('throws on nonsense, naming the option and the value', () => {
    expect(() => toMs('window', -1)).toThrow('window must be a duration of at least 0 ms; got -1');
    expect(() => toMs('window', Number.NaN)).toThrow(/got NaN/);
    expect(() => toMs('window', '10 parsecs' as never)).toThrow(/window must be a duration .*; got "10 parsecs"/);
    expect(() => toMs('window', undefined as never)).toThrow(/got undefined/);
  });

  it('round-trips whole numbers of every unit', () => {
    const units = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])), (n, unit) => {
        expect(toMs('d', `${n}${unit}`)).toBe(n * units[unit]);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('silent logger', () => {
  it('accepts every level and says nothing', () => {
    for (const level of ['debug', 'info', 'warn', 'error'] as const) expect(silentLogger[level]({}, 'x')).toBeUndefined();
  });
});

import { integer, nonNegative, oneOf, positive, refillRate } from '../validate.js';
import { invalidOption } from '../errors.js';
import type { Duration } from '../duration.js';
import type { LimitSpec } from '../types.js';
import { EPSILON } from './constants.js';
import { windowOption } from './fixed-window.js';

const ALGORITHMS = ['token-bucket', 'gcra', 'sliding-window', 'fixed-window'] as const;
const PRECISIONS = ['exact', 'approximate'] as const;

/**
 * Checks a spec that arrives as plain data (JSON config, a Redis argument list, an admin
 * request) and returns it as a frozen {@link LimitSpec}. Errors name the field under `option`,
 * e.g. `spec.capacity must be a finite number greater than 0; got -1`. Rules are the factories':
 * buckets need `capacity` and `refillPerSecond` > 0 (the rate at most `MAX_REFILL_PER_SECOND`)
 * and `burst` >= 0 (default 0); windows need
 * an integer `limit` >= 1 and an integer `windowMs` >= 1 (or, in config, a `window` {@link Duration} such as
 * `'60s'`); `precision` defaults to `'exact'`.
 *
 * @example
 * const spec = validateSpec(JSON.parse('{"algorithm":"fixed-window","limit":5,"windowMs":60000}'), 'profiles.discover');
 */
export function validateSpec(spec: unknown, option = 'spec'): LimitSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw invalidOption(option, spec, 'a limit spec object');
  }
  const data = spec as Record<string, unknown>;
  const algorithm = oneOf(`${option}.algorithm`, data.algorithm, ALGORITHMS);
  if (algorithm === 'token-bucket' || algorithm === 'gcra') {
    return Object.freeze({
      algorithm,
      capacity: positive(`${option}.capacity`, data.capacity),
      refillPerSecond: refillRate(`${option}.refillPerSecond`, data.refillPerSecond),
      burst: nonNegative(`${option}.burst`, data.burst === undefined ? 0 : data.burst),
    });
  }
  const limit = integer(`${option}.limit`, data.limit, 1);
  const windowMs =
    data.windowMs === undefined && data.window !== undefined
      ? windowOption(`${option}.window`, data.window as Duration)
      : integer(`${option}.windowMs`, data.windowMs, 1);
  if (algorithm === 'fixed-window') return Object.freeze({ algorithm, limit, windowMs });
  const precision = oneOf(`${option}.precision`, data.precision === undefined ? 'exact' : data.precision, PRECISIONS);
  return Object.freeze({ algorithm, limit, windowMs, precision });
}

/**
 * Scales a spec by an adaptive multiplier `m` (finite, > 0). Buckets scale `capacity`, `burst`
 * and `refillPerSecond` by `m` without rounding (so the bucket size and the rate both scale);
 * windows scale their integer limit to `max(1, floor(limit * m + EPSILON))`, keeping the window
 * length. `m === 1` returns the same object, so callers can compare by identity. The scaled rate
 * is not checked against `MAX_REFILL_PER_SECOND` here (this runs per request): the engine checks
 * `refillPerSecond * adaptive.max` when profiles are set.
 *
 * @example
 * scaleSpec(tokenBucket({ capacity: 50, refillPerSecond: 5, burst: 10 }), 2); // 100, 10/s, 20
 */
export function scaleSpec(spec: LimitSpec, multiplier: number): LimitSpec {
  if (multiplier === 1) return spec;
  if (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier <= 0) {
    throw invalidOption('multiplier', multiplier, 'a finite number greater than 0');
  }
  switch (spec.algorithm) {
    case 'token-bucket':
    case 'gcra':
      return Object.freeze({
        algorithm: spec.algorithm,
        capacity: spec.capacity * multiplier,
        refillPerSecond: spec.refillPerSecond * multiplier,
        burst: spec.burst * multiplier,
      });
    case 'fixed-window':
      return Object.freeze({
        algorithm: spec.algorithm,
        limit: scaledLimit(spec.limit, multiplier),
        windowMs: spec.windowMs,
      });
    case 'sliding-window':
      return Object.freeze({
        algorithm: spec.algorithm,
        limit: scaledLimit(spec.limit, multiplier),
        windowMs: spec.windowMs,
        precision: spec.precision,
      });
    default:
      throw unknownAlgorithm(spec);
  }
}

function scaledLimit(limit: number, multiplier: number): number {
  return Math.max(1, Math.floor(limit * multiplier + EPSILON));
}

/** The error for a spec whose `algorithm` is none of the known ones (plain data that skipped validation). */
export function unknownAlgorithm(spec: { readonly algorithm?: unknown }): Error {
  return invalidOption('spec.algorithm', spec.algorithm, `one of ${ALGORITHMS.map((a) => JSON.stringify(a)).join(', ')}`);
}

/** Shared generators and replay helpers for the algorithm property tests. */
import fc from 'fast-check';
import type { Decision, FixedWindowSpec, GcraSpec, SlidingWindowSpec, StepResult, TokenBucketSpec } from '@micboard/limiter-core';
import { fixedWindow, gcra, slidingWindow, tokenBucket } from '@micboard/limiter-core';

export const RUNS = { numRuns: 1000 } as const;

/** One request of a generated sequence: wait `dt` ms (negative = the clock steps back), then ask for `cost`. */
export interface Op {
  readonly dt: number;
  readonly cost: number;
}

/** Rates whose ms-per-token is a power of two: every sum in both bucket formulas is exact in binary. */
export const dyadicRate = fc.integer({ min: -3, max: 10 }).map((k) => 1000 / 2 ** k);

/** Any positive rate, from one token per 100 s to 5,000 per second, including the seed's 5, 20, 100, 1000. */
export const anyRate = fc.oneof(
  fc.constantFrom(0.01, 0.5, 1, 2, 3, 5, 7, 20, 100, 1000),
  fc.double({ min: 0.01, max: 5000, noNaN: true }),
);

export function bucketSpec(
  rate: fc.Arbitrary<number> = anyRate,
  sizes: fc.Arbitrary<number> = fc.integer({ min: 1, max: 60 }),
): fc.Arbitrary<TokenBucketSpec> {
  return fc
    .record({ capacity: sizes, burst: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 })), refillPerSecond: rate })
    .map((o) => tokenBucket(o));
}

export function asGcra(spec: TokenBucketSpec): GcraSpec {
  return gcra({ capacity: spec.capacity, refillPerSecond: spec.refillPerSecond, burst: spec.burst });
}

export const windowSpec = (precision: 'exact' | 'approximate'): fc.Arbitrary<SlidingWindowSpec> =>
  fc
    .record({ limit: fc.integer({ min: 1, max: 20 }), window: fc.integer({ min: 1, max: 5000 }) })
    .map(({ limit, window }) => slidingWindow({ limit, window, precision }));

export const fixedSpec: fc.Arbitrary<FixedWindowSpec> = fc
  .record({ limit: fc.integer({ min: 1, max: 20 }), window: fc.integer({ min: 1, max: 5000 }) })
  .map(({ limit, window }) => fixedWindow({ limit, window }));

/** Non-decreasing time steps, often 0 (bursts), sometimes long (idle), in whole ms. */
export const forwardDt = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 20_000 }) },
);

/** Time steps that sometimes go backwards. */
export const anyDt = fc.oneof({ weight: 4, arbitrary: forwardDt }, { weight: 1, arbitrary: fc.integer({ min: -5_000, max: -1 }) });

export function ops(
  dt: fc.Arbitrary<number> = forwardDt,
  cost: fc.Arbitrary<number> = fc.integer({ min: 1, max: 8 }),
  maxLength = 80,
): fc.Arbitrary<Op[]> {
  return fc.array(fc.record({ dt, cost }), { minLength: 1, maxLength, size: 'max' });
}

/** The epoch the sequences start from: a realistic ms timestamp, not aligned to anything. */
export const start = fc.integer({ min: 1_700_000_000_000, max: 1_700_100_000_000 });

export interface Replayed<S> {
  readonly t: number;
  readonly cost: number;
  readonly decision: Decision;
  /** State before the step. */
  readonly before: S | undefined;
  /** State after the step. */
  readonly after: S;
}

/** Replays `ops` through a step function from no state, returning each step. */
export function replay<S>(
  run: (state: S | undefined, cost: number, now: number) => StepResult<S>,
  t0: number,
  sequence: readonly Op[],
): Replayed<S>[] {
  let state: S | undefined;
  let t = t0;
  const out: Replayed<S>[] = [];
  for (const { dt, cost } of sequence) {
    t += dt;
    const result = run(state, cost, t);
    out.push({ t, cost, decision: result.decision, before: state, after: result.state });
    state = result.state;
  }
  return out;
}

/** Total cost admitted. */
export function admitted<S>(steps: readonly Replayed<S>[]): number {
  let sum = 0;
  for (const s of steps) if (s.decision.allowed) sum += s.cost;
  return sum;
}

/** Checks the invariants every decision keeps, whatever the algorithm. */
export function checkDecision(d: Decision): void {
  if (!Number.isInteger(d.limit) || d.limit < 0) throw new Error(`limit ${d.limit}`);
  if (!Number.isInteger(d.remaining) || d.remaining < 0 || d.remaining > d.limit) {
    throw new Error(`remaining ${d.remaining} outside [0, ${d.limit}]`);
  }
  if (d.allowed !== (d.retryAfter === 0)) throw new Error(`allowed ${d.allowed} with retryAfter ${d.retryAfter}`);
  if (d.retryAfter < 0 || !Number.isFinite(d.retryAfter)) throw new Error(`retryAfter ${d.retryAfter}`);
  if (d.exceedsLimit && d.allowed) throw new Error('exceedsLimit yet allowed');
  if (!Number.isFinite(d.resetAt)) throw new Error(`resetAt ${d.resetAt}`);
}

/** The same sequence with a first step that does not go back: a clock can only step back from a time it has shown. */
export function firstForward(seq: readonly Op[]): Op[] {
  return seq.map((op, i) => (i === 0 ? { dt: Math.max(0, op.dt), cost: op.cost } : op));
}

/** The same sequence on a clock that stands still instead of stepping back, until real time catches up. */
export function stoodStill(seq: readonly Op[]): Op[] {
  let t = 0;
  let shown = 0;
  return seq.map(({ dt, cost }) => {
    t += dt;
    const next = Math.max(shown, t);
    const step = next - shown;
    shown = next;
    return { dt: step, cost };
  });
}

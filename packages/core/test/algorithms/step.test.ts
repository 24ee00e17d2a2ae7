import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  LimiterError,
  fixedWindow,
  gcra,
  inspect,
  refundStep,
  reserveStep,
  slidingWindow,
  step,
  tokenBucket,
  tokenBucketStep,
  type LimitSpec,
  type StepResult,
} from '@micboard/limiter-core';
import {
  RUNS,
  anyDt,
  anyRate,
  asGcra,
  bucketSpec,
  checkDecision,
  fixedSpec,
  forwardDt,
  ops,
  replay,
  start,
  type Op,
  windowSpec,
  type Replayed,
} from './arbitraries.js';

// 1,000-run properties take seconds on a busy machine: give them room rather than flake.
vi.setConfig({ testTimeout: 120_000 });

const anySpec: fc.Arbitrary<LimitSpec> = fc.oneof(
  bucketSpec(),
  bucketSpec().map(asGcra),
  windowSpec('exact'),
  windowSpec('approximate'),
  fixedSpec,
);
const anyCost = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 30 }) });
const run = (spec: LimitSpec) => (state: unknown, cost: number, now: number): StepResult<unknown> => step(spec, state, cost, now);

/** A deep, frozen copy: a step that tried to change its input state would throw. */
function frozen<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  for (const inner of Object.values(value)) frozen(inner);
  return Object.freeze(value);
}

/**
 * A history (`before`), then request A admitted, then the later requests `bs` admitted both with
 * and without A, then A refunded with its decision's resetAt: the states with A, without A and
 * refunded, at the refund's time. Undefined when A or a later request is denied (with or without A).
 */
function refundedAfterLater(
  spec: LimitSpec,
  t0: number,
  before: readonly Op[],
  dtA: number,
  costA: number,
  bs: readonly Op[],
  dtRefund: number,
): { t: number; refunded: unknown; withA: unknown; withoutA: unknown } | undefined {
  const history = replay(run(spec), t0, before);
  const last = history[history.length - 1] as Replayed<unknown>;
  let t = last.t + dtA;
  const a = step(spec, last.after, costA, t);
  if (!a.decision.allowed) return undefined;
  let withA = a.state;
  let withoutA = last.after;
  for (const b of bs) {
    t += b.dt;
    const got = step(spec, withA, b.cost, t);
    const alone = step(spec, withoutA, b.cost, t);
    if (!got.decision.allowed || !alone.decision.allowed) return undefined;
    withA = got.state;
    withoutA = alone.state;
  }
  t += dtRefund;
  return { t, refunded: refundStep(spec, frozen(withA), costA, t, a.decision.resetAt), withA, withoutA };
}

function code(fn: () => unknown): { option: string | undefined; value: unknown } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LimiterError);
    expect((error as LimiterError).code).toBe('INVALID_OPTION');
    return { option: (error as LimiterError).option, value: (error as LimiterError).value };
  }
  throw new Error('did not throw');
}

describe('step, for every algorithm', () => {
  it('treats the state as immutable input and keeps every decision invariant', () => {
    fc.assert(
      fc.property(anySpec, start, ops(anyDt, anyCost, 40), (spec, t0, seq) => {
        let state: unknown;
        let t = t0;
        for (const { dt, cost } of seq) {
          t += dt;
          const snapshot = JSON.stringify(state);
          const result = step(spec, frozen(state), cost, t);
          expect(JSON.stringify(state)).toBe(snapshot);
          checkDecision(result.decision);
          state = result.state;
        }
      }),
      RUNS,
    );
  });

  it('an earlier time never admits more than a later one on the same state (the clock stepping back never helps)', () => {
    fc.assert(
      fc.property(anySpec, start, ops(anyDt, anyCost, 40), anyCost, fc.integer({ min: 0, max: 20_000 }), (spec, t0, seq, cost, back) => {
        const steps = replay(run(spec), t0, seq);
        const last = steps[steps.length - 1] as Replayed<unknown>;
        const later = step(spec, last.after, cost, last.t).decision;
        const earlier = step(spec, last.after, cost, last.t - back).decision;
        if (earlier.allowed) expect(later.allowed).toBe(true);
        expect(inspect(spec, last.after, last.t - back).remaining).toBeLessThanOrEqual(inspect(spec, last.after, last.t).remaining);
      }),
      RUNS,
    );
  });

  it('inspect is a zero-cost look that changes nothing', () => {
    fc.assert(
      fc.property(anySpec, start, ops(anyDt, anyCost, 40), fc.integer({ min: -1000, max: 100_000 }), (spec, t0, seq, dt) => {
        const steps = replay(run(spec), t0, seq);
        const last = steps[steps.length - 1] as Replayed<unknown>;
        const state = frozen(last.after);
        const snapshot = JSON.stringify(state);
        const look = inspect(spec, state, last.t + dt);
        expect(JSON.stringify(state)).toBe(snapshot);
        const { limit, remaining, resetAt } = step(spec, state, 0, last.t + dt).decision;
        expect(look).toEqual({ limit, remaining, resetAt });
        expect(look.remaining).toBeGreaterThanOrEqual(0);
        expect(look.remaining).toBeLessThanOrEqual(look.limit);
      }),
      RUNS,
    );
  });

  it('reports remaining 0, not less, when a state holds more than a scaled-down limit', () => {
    const log = step(slidingWindow({ limit: 5, window: 1000 }), undefined, 5, 100).state;
    expect(inspect(slidingWindow({ limit: 3, window: 1000 }), log, 200)).toEqual({ limit: 3, remaining: 0, resetAt: 1100 });
    const counters = { windowStart: 0, previous: 0, current: 5 };
    expect(inspect(slidingWindow({ limit: 3, window: 1000, precision: 'approximate' }), counters, 200).remaining).toBe(0);
    expect(inspect(fixedWindow({ limit: 3, window: 1000 }), { windowStart: 0, count: 5 }, 200).remaining).toBe(0);
    // A TAT set under a larger bucket lies further ahead than the smaller bucket's tau.
    const tat = step(gcra({ capacity: 10, refillPerSecond: 1 }), undefined, 10, 0).state;
    expect(inspect(gcra({ capacity: 2, refillPerSecond: 1 }), tat, 0)).toEqual({ limit: 2, remaining: 0, resetAt: 10_000 });
  });

  it('inspect of no state is a full limit', () => {
    expect(inspect(tokenBucket({ capacity: 50, refillPerSecond: 5, burst: 10 }), undefined, 5)).toEqual({ limit: 60, remaining: 60, resetAt: 5 });
    expect(inspect(slidingWindow({ limit: 3, window: 10 }), undefined, 5)).toEqual({ limit: 3, remaining: 3, resetAt: 5 });
    expect(inspect(fixedWindow({ limit: 3, window: 10 }), undefined, 5)).toEqual({ limit: 3, remaining: 3, resetAt: 10 });
  });

  it('runs token buckets on one number of GCRA state, and converts a readable bucket state', () => {
    const spec = tokenBucket({ capacity: 4, refillPerSecond: 2 });
    const first = step(spec, undefined, 3, 1000);
    expect(first.state).toBe(2500);
    const readable = tokenBucketStep(undefined, spec, 3, 1000);
    expect(step(spec, readable.state, 2, 1600).decision).toEqual(tokenBucketStep(readable.state, spec, 2, 1600).decision);
    expect(step(spec, { tokens: 99, updatedAt: 0 }, 4, 0).decision.allowed).toBe(true);
  });

  it('treats a state of another shape as no state (the limit changed algorithm)', () => {
    const fixedState = step(fixedWindow({ limit: 1, window: 1000 }), undefined, 1, 10).state;
    const bucket = gcra({ capacity: 1, refillPerSecond: 1 });
    expect(step(bucket, fixedState, 1, 10).decision.allowed).toBe(true);
    expect(step(bucket, Number.NaN, 1, 10).state).toBe(1010);
    const log = step(slidingWindow({ limit: 1, window: 1000 }), undefined, 1, 10).state;
    expect(step(fixedWindow({ limit: 1, window: 1000 }), log, 1, 10).decision.allowed).toBe(true);
    expect(step(slidingWindow({ limit: 1, window: 1000, precision: 'approximate' }), fixedState, 1, 10).decision.allowed).toBe(true);
    expect(step(slidingWindow({ limit: 1, window: 1000 }), fixedState, 1, 10).decision.allowed).toBe(true);
    expect(step(slidingWindow({ limit: 1, window: 1000 }), [1, 2, 3], 1, 10).decision.allowed).toBe(true);
  });

  it('rejects a bad cost or an unknown algorithm', () => {
    const spec = gcra({ capacity: 1, refillPerSecond: 1 });
    for (const cost of [-1, Number.NaN, Number.POSITIVE_INFINITY, '1']) {
      expect(code(() => step(spec, undefined, cost as number, 0))).toEqual({ option: 'cost', value: cost });
      expect(code(() => refundStep(spec, undefined, cost as number, 0))).toEqual({ option: 'cost', value: cost });
      expect(code(() => reserveStep(spec, undefined, cost as number, 0, 10))).toEqual({ option: 'cost', value: cost });
    }
    const leaky = { algorithm: 'leaky' } as unknown as LimitSpec;
    expect(code(() => step(leaky, undefined, 1, 0))).toEqual({ option: 'spec.algorithm', value: 'leaky' });
    expect(code(() => refundStep(leaky, undefined, 1, 0))).toEqual({ option: 'spec.algorithm', value: 'leaky' });
    expect(code(() => reserveStep(fixedWindow({ limit: 1, window: 1 }) as never, undefined, 1, 0, 0))).toEqual({
      option: 'spec.algorithm',
      value: 'fixed-window',
    });
    for (const maxWaitMs of [-1, Number.NaN, '5']) {
      expect(code(() => reserveStep(spec, undefined, 1, 0, maxWaitMs as number))).toEqual({ option: 'maxWaitMs', value: maxWaitMs });
    }
  });
});

describe('refundStep', () => {
  it('refund then the same consume is allowed again, with the same decision', () => {
    fc.assert(
      fc.property(anySpec, start, ops(anyDt, anyCost, 40), anyCost, fc.integer({ min: 0, max: 500 }), (spec, t0, seq, cost, dt) => {
        const steps = replay(run(spec), t0, seq);
        const last = steps[steps.length - 1] as Replayed<unknown>;
        const now = last.t + dt;
        const taken = step(spec, last.after, cost, now);
        if (!taken.decision.allowed) return;
        const refunded = refundStep(spec, frozen(taken.state), cost, now);
        const again = step(spec, refunded, cost, now);
        expect(again.decision.allowed).toBe(true);
        expect(again.decision.remaining).toBe(taken.decision.remaining);
      }),
      RUNS,
    );
  });

  it('never gives back more than empty, and never takes capacity away', () => {
    fc.assert(
      fc.property(anySpec, start, ops(anyDt, anyCost, 40), fc.integer({ min: 1, max: 100 }), (spec, t0, seq, cost) => {
        const steps = replay(run(spec), t0, seq);
        const last = steps[steps.length - 1] as Replayed<unknown>;
        const before = inspect(spec, last.after, last.t);
        const after = inspect(spec, refundStep(spec, last.after, cost, last.t), last.t);
        expect(after.remaining).toBeGreaterThanOrEqual(before.remaining);
        expect(after.remaining).toBeLessThanOrEqual(after.limit);
        if (spec.algorithm !== 'sliding-window' || spec.precision === 'exact') {
          // A refund of everything leaves the limit as good as new (the approximate window's
          // previous window is history it cannot give back).
          const all = refundStep(spec, last.after, 1e6, last.t);
          expect(inspect(spec, all, last.t).remaining).toBe(inspect(spec, undefined, last.t).remaining);
        }
      }),
      RUNS,
    );
  });

  it("with takenResetAt, a window gives back what that decision took: as if it never came, whatever came after it", () => {
    // A client's request A is admitted, then requests B1..Bk (all admitted), then A is refunded
    // with its decision's resetAt. From then on the limit must answer as if only B1..Bk had come.
    // Limits high enough that every B is admitted with A too; the history before A is anything.
    const roomy = fc.oneof(windowSpec('exact'), windowSpec('approximate'), fixedSpec).map((spec) => ({ ...spec, limit: spec.limit * 20 }));
    const later = fc.array(fc.record({ dt: forwardDt, cost: fc.integer({ min: 1, max: 8 }) }), { maxLength: 12 });
    fc.assert(
      fc.property(roomy, start, ops(anyDt, anyCost, 20), forwardDt, anyCost, later, forwardDt, (spec, t0, before, dtA, costA, bs, dtRefund) => {
        const after = refundedAfterLater(spec, t0, before, dtA, costA, bs, dtRefund);
        if (after === undefined) return;
        const { t, refunded, withoutA } = after;
        for (const dt of [0, 1, spec.windowMs / 2, spec.windowMs, spec.windowMs * 1.5, spec.windowMs * 2]) {
          expect(inspect(spec, refunded, t + dt)).toEqual(inspect(spec, withoutA, t + dt));
        }
        // And a step that asks for the whole limit gets the same answer.
        expect(step(spec, refunded, spec.limit, t).decision).toEqual(step(spec, withoutA, spec.limit, t).decision);
      }),
      RUNS,
    );
  });

  it('with takenResetAt, a bucket gives back at most what that decision took and still holds: never more than had it not come (give or take 1 ms of refill), never less than before', () => {
    // As above, for buckets: A admitted, then B1..Bk (all admitted with and without A), then A
    // refunded with its decision's resetAt. Time passes between, so part or all of A's cost may
    // have refilled (and been taken again by a B): that part must not come back. The refund knows
    // A's TAT only as its resetAt, rounded up to a whole ms, so it may give back up to 1 ms (plus
    // the 1 µs time slack) of refill that A no longer held: the refunded bucket is compared with
    // the bucket without A that much later. Above 1,000 tokens a second that is more than a token.
    const late = 1 + 1e-3;
    const buckets = fc.oneof(bucketSpec(), bucketSpec().map(asGcra));
    const later = fc.array(fc.record({ dt: forwardDt, cost: fc.integer({ min: 1, max: 3 }) }), { maxLength: 8 });
    fc.assert(
      fc.property(buckets, start, ops(anyDt, anyCost, 20), forwardDt, anyCost, later, forwardDt, (spec, t0, before, dtA, costA, bs, dtRefund) => {
        const after = refundedAfterLater(spec, t0, before, dtA, costA, bs, dtRefund);
        if (after === undefined) return;
        const { t, refunded, withA, withoutA } = after;
        const interval = 1000 / spec.refillPerSecond;
        for (const dt of [0, interval / 2, interval, interval * 3]) {
          const at = t + dt;
          const got = inspect(spec, refunded, at).remaining;
          expect(got).toBeLessThanOrEqual(inspect(spec, withoutA, at + late).remaining);
          expect(got).toBeGreaterThanOrEqual(inspect(spec, withA, at).remaining);
          for (const cost of [1, costA]) {
            if (step(spec, refunded, cost, at).decision.allowed) expect(step(spec, withoutA, cost, at + late).decision.allowed).toBe(true);
          }
        }
      }),
      RUNS,
    );
  });

  it('with takenResetAt, a bucket refund gives back the whole cost at once, and later only what has not refilled', () => {
    const spec = gcra({ capacity: 10, refillPerSecond: 10 });
    const slack = 1e-9 * 100 + 1e-3;
    const taken = step(spec, step(spec, undefined, 5, 4000).state, 2, 4000);
    expect(taken.decision.resetAt).toBe(4700);
    // TAT 4700 (7 tokens at 100 ms each): at once, the 2 tokens (200 ms) come back.
    expect(refundStep(spec, taken.state, 2, 4000, taken.decision.resetAt)).toBe(4500);
    // Another request took a token at 4600 (TAT 4800): of A's 200 ms only 100 are still owed.
    const later = step(spec, taken.state, 1, 4600);
    expect(refundStep(spec, later.state, 2, 4600, taken.decision.resetAt)).toBeCloseTo(4700 - slack, 9);
    // Once A's resetAt has passed, nothing comes back (beyond the slack).
    expect(refundStep(spec, later.state, 2, 4700, taken.decision.resetAt)).toBeCloseTo(4800 - slack, 9);
  });

  it('with takenResetAt, a bucket refund errs by under 1 ms of refill: at 1,166 tokens a second, half a token', () => {
    // Found by the property above (seed -967649829): the refund bounds A's TAT by its resetAt,
    // which is that TAT rounded up to a whole ms.
    const spec = tokenBucket({ capacity: 3, refillPerSecond: 1165.7890991888432 });
    const t0 = 1_700_000_000_000;
    const interval = 1000 / spec.refillPerSecond;
    const history = step(spec, undefined, 1, t0 + 1);
    const a = step(spec, history.state, 3, t0 + 2);
    expect(a.decision.resetAt).toBe(t0 + 5);
    const withA = step(spec, a.state, 1, t0 + 3).state as number;
    const withoutA = step(spec, history.state, 1, t0 + 3).state as number;
    const refunded = refundStep(spec, withA, 3, t0 + 3, a.decision.resetAt) as number;
    // A's TAT was t0 + 2 + 3T; at t0 + 3 it still held 3T - 1 ms. The bound gives back 2 ms.
    const exact = withA - (3 * interval - 1);
    expect(exact - refunded).toBeGreaterThan(0);
    expect(exact - refunded).toBeLessThan(1);
    expect(refunded).toBeCloseTo(withA - 2, 2);
    // Half a token later the refunded bucket has 3 where the bucket without A has 2; 1 ms later, both 3.
    expect(inspect(spec, refunded, t0 + 3 + interval / 2).remaining).toBe(3);
    expect(inspect(spec, withoutA, t0 + 3 + interval / 2).remaining).toBe(2);
    expect(inspect(spec, withoutA, t0 + 3 + interval / 2 + 1).remaining).toBe(3);
  });

  it('a takenResetAt that is not a finite number is refused, naming the option', () => {
    const exact = slidingWindow({ limit: 5, window: 1000 });
    for (const bad of [Number.NaN, Infinity, -Infinity, '1000']) {
      expect(code(() => refundStep(exact, [100, 1], 1, 200, bad as number))).toEqual({ option: 'takenResetAt', value: bad });
    }
  });

  it('buckets: tat -= cost * T, never below now, and a full bucket is left as it is', () => {
    const spec = gcra({ capacity: 10, refillPerSecond: 10 });
    expect(refundStep(spec, 5000, 2, 4000)).toBe(4800);
    expect(refundStep(spec, 4100, 2, 4000)).toBe(4000);
    expect(refundStep(spec, 3000, 2, 4000)).toBe(3000);
    expect(refundStep(spec, undefined, 2, 4000)).toBeUndefined();
    expect(refundStep(tokenBucket({ capacity: 10, refillPerSecond: 10 }), { tokens: 5, updatedAt: 4000 }, 2, 4000)).toBe(4300);
  });

  it('windows: current counts drop, never below 0; ended windows and foreign states are left alone', () => {
    const fixed = fixedWindow({ limit: 5, window: 1000 });
    expect(refundStep(fixed, { windowStart: 1000, count: 3 }, 2, 1500)).toEqual({ windowStart: 1000, count: 1 });
    expect(refundStep(fixed, { windowStart: 1000, count: 3 }, 5, 1500)).toEqual({ windowStart: 1000, count: 0 });
    const ended = { windowStart: 0, count: 3 };
    expect(refundStep(fixed, ended, 1, 1500)).toBe(ended);
    expect(refundStep(fixed, 'junk', 1, 1500)).toBe('junk');
    const approx = slidingWindow({ limit: 5, window: 1000, precision: 'approximate' });
    expect(refundStep(approx, { windowStart: 1000, previous: 4, current: 3 }, 1, 1500)).toEqual({ windowStart: 1000, previous: 4, current: 2 });
    const old = { windowStart: 0, previous: 4, current: 3 };
    expect(refundStep(approx, old, 1, 1500)).toBe(old);
    expect(refundStep(approx, undefined, 1, 1500)).toBeUndefined();
    const exact = slidingWindow({ limit: 5, window: 1000 });
    expect(refundStep(exact, [100, 1, 900, 2, 1000, 3], 4, 1050)).toEqual([100, 1, 900, 1]);
    expect(refundStep(exact, [100, 1, 900, 2, 1000, 3], 3, 1200)).toEqual([900, 2]);
    expect(refundStep(exact, [100, 1, 900, 2], 0.5, 1000)).toEqual([100, 1, 900, 1.5]);
    expect(refundStep(exact, [], 1, 1000)).toEqual([]);
    expect(refundStep(exact, { count: 1 }, 1, 1000)).toEqual({ count: 1 });
  });
});

describe('reserveStep', () => {
  it('never grants beyond maxWait; a refusal books nothing', () => {
    fc.assert(
      fc.property(
        bucketSpec(),
        start,
        fc.array(fc.record({ dt: forwardDt, cost: fc.integer({ min: 1, max: 5 }), maxWait: fc.integer({ min: 0, max: 5000 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        (spec, t0, seq) => {
          let state: unknown;
          let t = t0;
          for (const { dt, cost, maxWait } of seq) {
            t += dt;
            const result = reserveStep(spec, state, cost, t, maxWait);
            const { granted, delayMs } = result.reservation;
            expect(Number.isInteger(delayMs)).toBe(true);
            expect(delayMs).toBeGreaterThanOrEqual(0);
            if (granted) expect(delayMs).toBeLessThanOrEqual(maxWait);
            else {
              expect(delayMs).toBeGreaterThan(maxWait);
              expect(result.state).toBe(state);
            }
            state = result.state;
          }
        },
      ),
      RUNS,
    );
  });

  it('spaces calls T = 1000 / r apart once the bucket is spent', () => {
    fc.assert(
      fc.property(anyRate, fc.integer({ min: 0, max: 3 }), start, fc.integer({ min: 2, max: 30 }), (rate, burst, now, calls) => {
        const spec = gcra({ capacity: 1, refillPerSecond: rate, burst });
        const interval = 1000 / rate;
        let state: unknown;
        for (let k = 0; k < calls; k++) {
          const { reservation, state: next } = reserveStep(spec, state, 1, now, Number.POSITIVE_INFINITY);
          state = next;
          expect(reservation.granted).toBe(true);
          // The k-th call (0-based) may go once k - burst tokens have refilled: ceil of that, or
          // 1 ms more where a long queue's TAT has drifted by float rounding above a whole ms.
          const ideal = Math.max(0, (k - burst) * interval);
          expect(reservation.delayMs).toBeGreaterThanOrEqual(Math.floor(ideal));
          expect(reservation.delayMs).toBeLessThanOrEqual(Math.ceil(ideal) + 1);
        }
      }),
      RUNS,
    );
  });

  it('follows the seed: 5 calls per second, the second call waits 200 ms, one 300 ms later goes at once', () => {
    const spec = gcra({ capacity: 1, refillPerSecond: 5 });
    const a = reserveStep(spec, undefined, 1, 10_000, 1000);
    expect(a.reservation).toEqual({ granted: true, delayMs: 0 });
    const b = reserveStep(spec, a.state, 1, 10_000, 1000);
    expect(b.reservation).toEqual({ granted: true, delayMs: 200 });
    const c = reserveStep(spec, b.state, 1, 10_700, 1000);
    expect(c.reservation).toEqual({ granted: true, delayMs: 0 });
    const refused = reserveStep(spec, c.state, 1, 10_700, 100);
    expect(refused.reservation).toEqual({ granted: false, delayMs: 200 });
    expect(refused.state).toBe(c.state);
    // A reservation reads a readable bucket state too.
    expect(reserveStep(tokenBucket({ capacity: 1, refillPerSecond: 5 }), { tokens: 0, updatedAt: 10_000 }, 1, 10_000, 500).reservation).toEqual({
      granted: true,
      delayMs: 200,
    });
  });

  it('agrees with step: a call reserved with no wait would also have been admitted', () => {
    fc.assert(
      fc.property(bucketSpec(), start, ops(forwardDt, fc.integer({ min: 1, max: 5 }), 40), (spec, t0, seq) => {
        let state: unknown;
        let t = t0;
        for (const { dt, cost } of seq) {
          t += dt;
          const admitted = step(spec, state, cost, t);
          const reserved = reserveStep(spec, state, cost, t, 0);
          expect(reserved.reservation.granted).toBe(admitted.decision.allowed);
          if (admitted.decision.allowed) expect(reserved.state).toBe(admitted.state);
          state = admitted.state;
        }
      }),
      RUNS,
    );
  });
});

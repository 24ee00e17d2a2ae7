import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  EPSILON,
  MAX_REFILL_PER_SECOND,
  TIME_EPSILON,
  gcra,
  gcraStep,
  step,
  tokenBucket,
  tokenBucketStep,
  type GcraSpec,
  type GcraState,
  type TokenBucketSpec,
  type TokenBucketState,
} from '@micboard/limiter-core';
import {
  RUNS,
  admitted,
  anyDt,
  anyRate,
  asGcra,
  bucketSpec,
  checkDecision,
  dyadicRate,
  firstForward,
  forwardDt,
  ops,
  replay,
  start,
  stoodStill,
  type Op,
  type Replayed,
} from './arbitraries.js';

// 1,000-run properties take seconds on a busy machine: give them room rather than flake.
vi.setConfig({ testTimeout: 120_000 });

const anonymous = tokenBucket({ capacity: 50, refillPerSecond: 5, burst: 10 });

const viaStep = (spec: TokenBucketSpec) => (state: unknown, cost: number, now: number) => step(spec, state, cost, now);
const viaReference = (spec: TokenBucketSpec) => (state: TokenBucketState | undefined, cost: number, now: number) =>
  tokenBucketStep(state, spec, cost, now);
const viaGcra = (spec: TokenBucketSpec) => (state: GcraState | undefined, cost: number, now: number) =>
  gcraStep(state, asGcra(spec), cost, now);

/** Throws unless no interval [t_i, t_j] admitted more than B + r * (t_j - t_i) / 1000. */
function checkIntervalBound(spec: TokenBucketSpec, steps: readonly Replayed<unknown>[]): void {
  const size = spec.capacity + spec.burst;
  const taken = steps.filter((s) => s.decision.allowed);
  for (let i = 0; i < taken.length; i++) {
    let sum = 0;
    for (let j = i; j < taken.length; j++) {
      sum += (taken[j] as Replayed<unknown>).cost;
      const span = (taken[j] as Replayed<unknown>).t - (taken[i] as Replayed<unknown>).t;
      const bound = size + (spec.refillPerSecond * span) / 1000;
      if (sum > bound + 1e-6) throw new Error(`admitted ${sum} in ${span} ms; bound ${bound}`);
    }
  }
}

describe('token bucket definitions', () => {
  it.each([
    ['step (GCRA math)', viaStep(anonymous)],
    ['tokenBucketStep (reference)', viaReference(anonymous)],
  ] as const)('the anonymous profile admits exactly capacity + burst = 60 at once, then 5 per second (%s)', (_, run) => {
    let state: unknown;
    const t0 = 1_700_000_000_000;
    const go = (now: number) => {
      const result = (run as (s: unknown, c: number, n: number) => ReturnType<typeof step>)(state, 1, now);
      state = result.state;
      return result.decision;
    };
    for (let i = 0; i < 60; i++) {
      const d = go(t0);
      expect(d).toMatchObject({ allowed: true, limit: 60, remaining: 59 - i, retryAfter: 0 });
    }
    expect(go(t0)).toMatchObject({ allowed: false, remaining: 0, retryAfter: 200, resetAt: t0 + 12_000 });
    let later = 0;
    for (let i = 0; i < 10; i++) if (go(t0 + 1000).allowed) later++;
    expect(later).toBe(5);
    expect(go(t0 + 1000)).toMatchObject({ allowed: false, retryAfter: 200 });
  });

  it('a new client starts full; burst is headroom above capacity', () => {
    const d = step(tokenBucket({ capacity: 2, refillPerSecond: 1, burst: 3 }), undefined, 5, 0).decision;
    expect(d).toMatchObject({ allowed: true, limit: 5, remaining: 0, resetAt: 5000, exceedsLimit: false });
  });

  it('a cost above the bucket size is denied with exceedsLimit and takes nothing', () => {
    const spec = tokenBucket({ capacity: 4, refillPerSecond: 2 });
    const first = step(spec, undefined, 1, 1000);
    const big = step(spec, first.state, 5, 1000);
    expect(big.decision).toEqual({ allowed: false, limit: 4, remaining: 3, resetAt: 1500, retryAfter: 500, exceedsLimit: true });
    expect(big.state).toBe(first.state);
    const full = step(spec, undefined, 4.5, 0).decision;
    expect(full).toMatchObject({ allowed: false, exceedsLimit: true, retryAfter: 1, remaining: 4, resetAt: 0 });
    const ref = tokenBucketStep(undefined, spec, 4.5, 0).decision;
    expect(ref).toEqual(full);
  });

  it('EPSILON forgives floating-point dust: 0.1 + 0.2 of refill admits a cost of 0.3', () => {
    const spec = tokenBucket({ capacity: 1, refillPerSecond: 1 });
    let s = tokenBucketStep(undefined, spec, 1, 0).state;
    s = tokenBucketStep(s, spec, 0.1, 100).state; // refilled 0.1, spent 0.1
    const r = tokenBucketStep({ tokens: 0.1 + 0.2 - 0.3 - EPSILON / 2, updatedAt: 0 }, spec, 0, 0);
    expect(r.decision.allowed).toBe(true);
    expect(tokenBucketStep({ tokens: 0.1 + 0.2, updatedAt: 0 }, spec, 0.3, 0).decision.allowed).toBe(true);
    expect(s.tokens).toBeCloseTo(0, 12);
  });

  it('a clock stepping back never refills the reference bucket, and updatedAt never goes back', () => {
    const spec = tokenBucket({ capacity: 10, refillPerSecond: 1 });
    const a = tokenBucketStep(undefined, spec, 10, 10_000);
    const b = tokenBucketStep(a.state, spec, 1, 5_000);
    expect(b.decision.allowed).toBe(false);
    expect(b.state).toEqual({ tokens: 0, updatedAt: 10_000 });
    const c = tokenBucketStep(b.state, spec, 1, 11_000);
    expect(c.decision.allowed).toBe(true);
  });

  it('does not change the state it is given', () => {
    const spec = tokenBucket({ capacity: 3, refillPerSecond: 1 });
    const state = Object.freeze({ tokens: 2, updatedAt: 0 });
    expect(() => tokenBucketStep(state, spec, 1, 10)).not.toThrow();
    expect(state).toEqual({ tokens: 2, updatedAt: 0 });
  });
});

describe('token bucket and GCRA properties', () => {
  it('never admit more than B + r * elapsed in any interval (step, GCRA and reference)', () => {
    fc.assert(
      fc.property(bucketSpec(), start, ops(forwardDt, fc.integer({ min: 1, max: 12 })), (spec, t0, seq) => {
        checkIntervalBound(spec, replay(viaStep(spec), t0, seq));
        checkIntervalBound(spec, replay(viaReference(spec), t0, seq));
        checkIntervalBound(spec, replay(viaGcra(spec), t0, seq));
      }),
      RUNS,
    );
  });

  it('GCRA decisions equal the token bucket exactly on integer inputs and common rates', () => {
    const rate = fc.oneof(dyadicRate, fc.constantFrom(0.5, 1, 2, 3, 5, 7, 9, 20, 30, 100, 333, 1000));
    fc.assert(
      fc.property(bucketSpec(rate), start, ops(forwardDt, fc.integer({ min: 1, max: 90 })), (spec, t0, seq) => {
        const reference = replay(viaReference(spec), t0, seq);
        const fast = replay(viaGcra(spec), t0, seq);
        const dispatched = replay(viaStep(spec), t0, seq);
        for (let i = 0; i < seq.length; i++) {
          expect(fast[i]?.decision).toEqual(reference[i]?.decision);
          expect(dispatched[i]?.decision).toEqual(reference[i]?.decision);
        }
      }),
      RUNS,
    );
  });

  it('GCRA decisions equal the token bucket for any rate, size and cost, except within TIME_EPSILON of a boundary', () => {
    const costs = fc.oneof(fc.integer({ min: 1, max: 90 }), fc.double({ min: 0.01, max: 5, noNaN: true }));
    let compared = 0;
    fc.assert(
      fc.property(bucketSpec(anyRate, fc.double({ min: 0.5, max: 80, noNaN: true })), start, ops(forwardDt, costs), (spec, t0, seq) => {
        const size = spec.capacity + spec.burst;
        const interval = 1000 / spec.refillPerSecond;
        // How close (in ms of refill) a token amount is to a boundary that the two may round differently.
        const near = (tokens: number) => Math.abs(tokens) * interval < 4 * TIME_EPSILON;
        const reference = replay(viaReference(spec), t0, seq);
        const fast = replay(viaStep(spec), t0, seq);
        for (let i = 0; i < seq.length; i++) {
          const r = reference[i] as Replayed<TokenBucketState>;
          const a = r.decision;
          const b = (fast[i] as Replayed<unknown>).decision;
          const before = r.before === undefined ? size : Math.min(size, r.before.tokens + ((r.t - r.before.updatedAt) * spec.refillPerSecond) / 1000);
          if (near(before + EPSILON - r.cost)) return; // a tie the two may break differently: later steps diverge
          compared++;
          expect(b.allowed).toBe(a.allowed);
          expect(b.exceedsLimit).toBe(a.exceedsLimit);
          expect(b.limit).toBe(a.limit);
          const after = r.after.tokens;
          if (!near(after + EPSILON - Math.round(after + EPSILON))) expect(b.remaining).toBe(a.remaining);
          expect(Math.abs(a.retryAfter - b.retryAfter)).toBeLessThanOrEqual(1);
          expect(Math.abs(a.resetAt - b.resetAt)).toBeLessThanOrEqual(1);
        }
      }),
      RUNS,
    );
    expect(compared).toBeGreaterThan(20_000);
  });

  it('the brief formula newTat - now <= tau would deny a fresh bucket at 3/s; debt-based GCRA admits exactly B', () => {
    const now = 1_700_000_000_123;
    for (const refillPerSecond of [3, 7, 9, 0.3, 1 / 3]) {
      for (const capacity of [1, 2, 5]) {
        const spec = gcra({ capacity, refillPerSecond });
        let state: number | undefined;
        for (let i = 0; i < capacity; i++) {
          const r = gcraStep(state, spec, 1, now);
          expect(r.decision.allowed).toBe(true);
          state = r.state;
        }
        const full = gcraStep(state, spec, 1, now);
        expect(full.decision).toMatchObject({ allowed: false, retryAfter: Math.ceil(1000 / refillPerSecond) });
        // Drained exactly: after capacity * T ms it is full again and admits all B at once.
        const later = now + (capacity * 1000) / refillPerSecond;
        expect(gcraStep(state, spec, capacity, Math.ceil(later)).decision.allowed).toBe(true);
      }
    }
  });

  it('remaining in [0, limit]; retryAfter > 0 exactly when denied; waiting retryAfter admits the same cost', () => {
    fc.assert(
      fc.property(
        bucketSpec(),
        start,
        ops(anyDt, fc.integer({ min: 1, max: 90 })),
        fc.integer({ min: 1, max: 90 }),
        (spec, t0, seq, probe) => {
          const steps = replay(viaStep(spec), t0, seq);
          for (const s of steps) checkDecision(s.decision);
          const last = steps[steps.length - 1] as Replayed<unknown>;
          const asked = step(spec, last.after, probe, last.t);
          if (asked.decision.allowed || asked.decision.exceedsLimit) return;
          const later = step(spec, last.after, probe, last.t + asked.decision.retryAfter);
          expect(later.decision.allowed).toBe(true);
          // The reference bucket agrees, waiting its own retryAfter.
          const ref = replay(viaReference(spec), t0, seq.concat([{ dt: 0, cost: probe }]));
          const refLast = ref[ref.length - 1] as Replayed<TokenBucketState>;
          if (!refLast.decision.allowed && !refLast.decision.exceedsLimit) {
            const again = tokenBucketStep(refLast.after, spec, probe, refLast.t + refLast.decision.retryAfter);
            expect(again.decision.allowed).toBe(true);
          }
        },
      ),
      RUNS,
    );
  });

  it('exceedsLimit exactly when cost > B, and then the state is unchanged', () => {
    fc.assert(
      fc.property(bucketSpec(), start, ops(anyDt, fc.integer({ min: 1, max: 100 })), (spec, t0, seq) => {
        const size = spec.capacity + spec.burst;
        for (const s of replay(viaStep(spec), t0, seq)) {
          expect(s.decision.exceedsLimit).toBe(s.cost > size);
          if (s.decision.exceedsLimit) expect(s.after).toBe(s.before ?? s.t);
        }
      }),
      RUNS,
    );
  });

  it('a clock that steps back never grants extra capacity: no more admitted than on a clock that stood still, none promised early', () => {
    // Not "the same steps with the backward ones made 0": that twin continues on shifted times,
    // which is exactly what a bucket that restarts its refill from the earlier time does, so it
    // could never catch that bug. The fair twin is a clock that stood still until real time
    // caught up: a step back may be worth at most that.
    fc.assert(
      fc.property(bucketSpec(), start, ops(anyDt, fc.constant(1)), (spec, t0, seq) => {
        const back = firstForward(seq);
        const still = stoodStill(back);
        const stepped = replay(viaStep(spec), t0, back);
        expect(admitted(stepped)).toBeLessThanOrEqual(admitted(replay(viaStep(spec), t0, still)));
        // The reference bucket makes the very same admissions: it refills only past updatedAt.
        const steppedRef = replay(viaReference(spec), t0, back);
        const stillRef = replay(viaReference(spec), t0, still);
        steppedRef.forEach((s, i) => expect(s.decision.allowed).toBe(stillRef[i]?.decision.allowed));
        // Nor is capacity promised early: waiting a denial's retryAfter admits the same cost. A
        // GCRA that forgets the debt beyond tau on a step back admits the same requests, but
        // sends clients back too soon; only this catches it.
        for (const s of stepped) {
          if (s.decision.allowed || s.decision.exceedsLimit) continue;
          expect(step(spec, s.before, s.cost, s.t + s.decision.retryAfter).decision.allowed).toBe(true);
        }
        for (const s of steppedRef) {
          if (s.decision.allowed || s.decision.exceedsLimit) continue;
          expect(tokenBucketStep(s.before, spec, s.cost, s.t + s.decision.retryAfter).decision.allowed).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('a clock that steps back refills nothing: 10 tokens at 1/s, then 5 s back and forward again', () => {
    const spec = tokenBucket({ capacity: 10, refillPerSecond: 1 });
    const burst = (dt: number): Op[] => Array.from({ length: 12 }, (_, i) => ({ dt: i === 0 ? dt : 0, cost: 1 }));
    // At 10 s, at 5 s, at 10 s again: no time has passed since the first burst.
    const seq = [...burst(0), ...burst(-5_000), ...burst(5_000)];
    expect(admitted(replay(viaStep(spec), 10_000, seq))).toBe(10);
    expect(admitted(replay(viaReference(spec), 10_000, seq))).toBe(10);
  });

  it('a clock that steps back never shows more remaining than the same state at the later time', () => {
    fc.assert(
      fc.property(
        bucketSpec(),
        start,
        ops(forwardDt, fc.integer({ min: 1, max: 10 })),
        fc.integer({ min: 1, max: 100_000 }),
        (spec, t0, seq, back) => {
          const steps = replay(viaStep(spec), t0, seq);
          const last = steps[steps.length - 1] as Replayed<unknown>;
          const now = step(spec, last.after, 0, last.t).decision;
          const earlier = step(spec, last.after, 0, last.t - back).decision;
          expect(earlier.remaining).toBeLessThanOrEqual(now.remaining);
          // ...and the TAT never moves back.
          const moved = step(spec, last.after, 1, last.t - back);
          expect(moved.state as number).toBeGreaterThanOrEqual(last.after as number);
        },
      ),
      RUNS,
    );
  });
});

describe('refill rates up to MAX_REFILL_PER_SECOND', () => {
  /** Unit requests at one instant until the first denial: what a full bucket gives at once. */
  function atOnce(spec: TokenBucketSpec | GcraSpec, now: number): number {
    let state: unknown;
    let n = 0;
    const size = spec.capacity + spec.burst;
    while (n <= size + 10) {
      const r = step(spec, state, 1, now);
      if (!r.decision.allowed) break;
      state = r.state;
      n += 1;
    }
    return n;
  }

  it('a full bucket never admits more than its size at one instant, now or in 2109', () => {
    // The state is an absolute time: its resolution is 2^-12 ms until 2039 and 2^-11 ms until
    // 2109, and each admission's rounding goes the same way. Sizes up to 400 are where that stays
    // below one token at the bound (see MAX_REFILL_PER_SECOND).
    const rate = fc.oneof(
      fc.constantFrom(MAX_REFILL_PER_SECOND, 9_999, 9_900, 9_000, 7_777.7, MAX_REFILL_PER_SECOND / 3, MAX_REFILL_PER_SECOND / 7),
      fc.double({ min: 1_000, max: MAX_REFILL_PER_SECOND, noNaN: true }),
    );
    const when = fc.oneof(start, fc.integer({ min: 1_700_000_000_000, max: 4_390_000_000_000 }));
    fc.assert(
      fc.property(bucketSpec(rate, fc.integer({ min: 1, max: 300 })), fc.integer({ min: 0, max: 100 }), when, (base, extra, now) => {
        const spec = tokenBucket({ capacity: base.capacity, refillPerSecond: base.refillPerSecond, burst: base.burst + extra });
        const size = spec.capacity + spec.burst;
        const n = atOnce(spec, now);
        expect(n).toBeLessThanOrEqual(size);
        // ...and the rounding never costs a whole token either.
        expect(n).toBeGreaterThanOrEqual(size - 1);
      }),
      RUNS,
    );
  });

  it('past the bound, which the factories refuse, a bucket of 1 admits 2 and then everything', () => {
    const now = 1_700_000_000_123;
    const raw = (refillPerSecond: number): TokenBucketSpec => ({ algorithm: 'token-bucket', capacity: 1, refillPerSecond, burst: 0 });
    expect(atOnce(raw(MAX_REFILL_PER_SECOND), now)).toBe(1);
    expect(atOnce(raw(1e6), now)).toBe(2);
    expect(atOnce(raw(1e7), now)).toBe(12); // all it was asked: adding a token no longer moves the state
    expect(() => tokenBucket({ capacity: 1, refillPerSecond: 1e6 })).toThrow(/refillPerSecond must be .* at most 10000.* count in larger units/);
  });
});

describe('gcra factory', () => {
  it('builds a frozen GCRA spec with burst defaulting to 0', () => {
    const spec = gcra({ capacity: 1, refillPerSecond: 5 });
    expect(spec).toEqual({ algorithm: 'gcra', capacity: 1, refillPerSecond: 5, burst: 0 });
    expect(Object.isFrozen(spec)).toBe(true);
  });
});

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  approximateWindowStep,
  exactWindowStep,
  fixedWindow,
  fixedWindowStep,
  refundStep,
  slidingWindow,
  step,
  type ApproximateWindowState,
  type ExactWindowState,
  type FixedWindowSpec,
  type FixedWindowState,
  type SlidingWindowSpec,
} from '@micboard/limiter-core';
import {
  RUNS,
  admitted,
  anyDt,
  checkDecision,
  fixedSpec,
  forwardDt,
  ops,
  replay,
  start,
  windowSpec,
  firstForward,
  stoodStill,
  type Replayed,
} from './arbitraries.js';

// 1,000-run properties take seconds on a busy machine: give them room rather than flake.
vi.setConfig({ testTimeout: 120_000 });

const exactRun = (spec: SlidingWindowSpec) => (s: ExactWindowState | undefined, cost: number, now: number) =>
  exactWindowStep(s, spec, cost, now);
const approxRun = (spec: SlidingWindowSpec) => (s: ApproximateWindowState | undefined, cost: number, now: number) =>
  approximateWindowStep(s, spec, cost, now);
const fixedRun = (spec: FixedWindowSpec) => (s: FixedWindowState | undefined, cost: number, now: number) =>
  fixedWindowStep(s, spec, cost, now);

/** Window costs: mostly small, sometimes above the limit (max limit generated is 20). */
const windowCost = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 25 }) });

/** Admitted units per aligned window index. */
function perAlignedWindow<S>(steps: readonly Replayed<S>[], windowMs: number): Map<number, number> {
  const sums = new Map<number, number>();
  for (const s of steps) {
    if (!s.decision.allowed) continue;
    const w = Math.floor(s.t / windowMs);
    sums.set(w, (sums.get(w) ?? 0) + s.cost);
  }
  return sums;
}

/** Admitted units in the sliding window (end - W, end]. */
function inSliding<S>(steps: readonly Replayed<S>[], end: number, windowMs: number): number {
  let sum = 0;
  for (const s of steps) if (s.decision.allowed && s.t > end - windowMs && s.t <= end) sum += s.cost;
  return sum;
}

/** Runs `probe` after a history and, if denied (not exceeding), checks waiting retryAfter admits it and 1 ms less does not. */
function checkRetryAfter<S>(
  run: (s: S | undefined, cost: number, now: number) => { decision: { allowed: boolean; exceedsLimit: boolean; retryAfter: number } },
  steps: readonly Replayed<S>[],
  probe: number,
  minimal: boolean,
): void {
  const last = steps[steps.length - 1] as Replayed<S>;
  const asked = run(last.after, probe, last.t).decision;
  if (asked.allowed || asked.exceedsLimit) return;
  expect(asked.retryAfter).toBeGreaterThan(0);
  expect(run(last.after, probe, last.t + asked.retryAfter).decision.allowed).toBe(true);
  if (minimal && asked.retryAfter > 1) {
    expect(run(last.after, probe, last.t + asked.retryAfter - 1).decision.allowed).toBe(false);
  }
}

describe('fixed window', () => {
  it('never admits more than limit per aligned window', () => {
    fc.assert(
      fc.property(fixedSpec, start, ops(forwardDt, windowCost), (spec, t0, seq) => {
        const steps = replay(fixedRun(spec), t0, seq);
        for (const sum of perAlignedWindow(steps, spec.windowMs).values()) expect(sum).toBeLessThanOrEqual(spec.limit);
        for (const s of steps) {
          checkDecision(s.decision);
          expect(s.decision.limit).toBe(spec.limit);
          expect(s.decision.exceedsLimit).toBe(s.cost > spec.limit);
          expect(s.decision.resetAt).toBe((Math.floor(s.t / spec.windowMs) + 1) * spec.windowMs);
        }
      }),
      RUNS,
    );
  });

  it('waiting retryAfter (the window end) admits the same cost, and 1 ms less does not', () => {
    fc.assert(
      fc.property(fixedSpec, start, ops(anyDt, windowCost), fc.integer({ min: 1, max: 20 }), (spec, t0, seq, probe) => {
        const steps = replay(fixedRun(spec), t0, seq);
        for (const s of steps) checkDecision(s.decision);
        checkRetryAfter(fixedRun(spec), steps, probe, true);
      }),
      RUNS,
    );
  });

  it('a clock that steps back admits no more than one that stood still meanwhile', () => {
    // Not "no more than the same steps with the backward ones made 0": that run continues on
    // shifted times, and shifting times moves them across aligned window boundaries (a run
    // 1 ms earlier can straddle two windows where the other stays in one). Standing still is
    // the fair comparison: what a clock stepping back may at most be worth.
    fc.assert(
      fc.property(fixedSpec, start, ops(anyDt, windowCost), (spec, t0, seq) => {
        const back = firstForward(seq);
        const still = replay(fixedRun(spec), t0, stoodStill(back));
        const stepped = replay(fixedRun(spec), t0, back);
        expect(admitted(stepped)).toBeLessThanOrEqual(admitted(still));
        // For a fixed window the two are in fact the same decisions, but for the wait.
        stepped.forEach((s, i) => expect(s.decision.allowed).toBe(still[i]?.decision.allowed));
      }),
      RUNS,
    );
  });

  it('keeps the later window when the clock steps back into an earlier one', () => {
    const spec = fixedWindow({ limit: 2, window: 1000 });
    const a = fixedWindowStep(undefined, spec, 2, 5_500);
    const b = fixedWindowStep(a.state, spec, 1, 4_900);
    expect(b.decision).toEqual({ allowed: false, limit: 2, remaining: 0, resetAt: 6_000, retryAfter: 1_100, exceedsLimit: false });
    expect(b.state).toBe(a.state);
    expect(fixedWindowStep(a.state, spec, 1, 6_000).decision.allowed).toBe(true);
    expect(fixedWindowStep(undefined, spec, 3, 6_000).decision).toMatchObject({ exceedsLimit: true, retryAfter: 1_000, remaining: 2 });
  });
});

describe('exact sliding window', () => {
  it('never admits more than limit in any window of length W', () => {
    fc.assert(
      fc.property(windowSpec('exact'), start, ops(forwardDt, windowCost), (spec, t0, seq) => {
        const steps = replay(exactRun(spec), t0, seq);
        for (const s of steps) {
          checkDecision(s.decision);
          expect(s.decision.exceedsLimit).toBe(s.cost > spec.limit);
          if (s.decision.allowed) expect(inSliding(steps, s.t, spec.windowMs)).toBeLessThanOrEqual(spec.limit);
          expect(s.decision.remaining).toBe(spec.limit - inSliding(steps.slice(0, steps.indexOf(s) + 1), s.t, spec.windowMs));
        }
      }),
      RUNS,
    );
  });

  it('admits whatever fits: a denial means the window really is full for that cost', () => {
    fc.assert(
      fc.property(windowSpec('exact'), start, ops(forwardDt, windowCost), (spec, t0, seq) => {
        const steps = replay(exactRun(spec), t0, seq);
        steps.forEach((s, i) => {
          if (s.decision.allowed || s.decision.exceedsLimit) return;
          const used = inSliding(steps.slice(0, i), s.t, spec.windowMs);
          expect(used + s.cost).toBeGreaterThan(spec.limit);
        });
      }),
      RUNS,
    );
  });

  it('waiting retryAfter admits the same cost, and 1 ms less does not', () => {
    fc.assert(
      fc.property(windowSpec('exact'), start, ops(anyDt, windowCost), fc.integer({ min: 1, max: 20 }), (spec, t0, seq, probe) => {
        const steps = replay(exactRun(spec), t0, seq);
        for (const s of steps) checkDecision(s.decision);
        checkRetryAfter(exactRun(spec), steps, probe, true);
      }),
      RUNS,
    );
  });

  it('a clock that steps back never grants extra capacity: no more admitted than on a clock that stood still, none promised early', () => {
    // As for the fixed window: the twin with backward steps made 0 continues on shifted times,
    // which is just what a log taking entries at the earlier time does, so it cannot catch that.
    fc.assert(
      fc.property(windowSpec('exact'), start, ops(anyDt, windowCost), (spec, t0, seq) => {
        const back = firstForward(seq);
        // Totals compare only for unit costs: with mixed costs, admitting one large request
        // instead of two small ones is not "more capacity".
        const units = back.map(({ dt }) => ({ dt, cost: 1 }));
        expect(admitted(replay(exactRun(spec), t0, units))).toBeLessThanOrEqual(admitted(replay(exactRun(spec), t0, stoodStill(units))));
        // Nor is capacity promised early: waiting a denial's retryAfter admits the same cost. A
        // log that takes entries at the earlier time (or drops them by it) admits no more, but
        // with mixed costs its waits let entries leave before they do; only this catches it.
        for (const s of replay(exactRun(spec), t0, back)) {
          if (s.decision.allowed || s.decision.exceedsLimit) continue;
          expect(exactWindowStep(s.before, spec, s.cost, s.t + s.decision.retryAfter).decision.allowed).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('keeps a compact log: one entry per distinct ms, only entries inside the window', () => {
    fc.assert(
      fc.property(windowSpec('exact'), start, ops(anyDt, windowCost), (spec, t0, seq) => {
        for (const s of replay(exactRun(spec), t0, seq)) {
          const log = s.after;
          expect(log.length % 2).toBe(0);
          for (let i = 2; i < log.length; i += 2) expect(log[i] as number).toBeGreaterThan(log[i - 2] as number);
          for (let i = 1; i < log.length; i += 2) expect(log[i] as number).toBeGreaterThan(0);
          expect(log.length / 2).toBeLessThanOrEqual(spec.limit);
        }
      }),
      RUNS,
    );
  });

  it('reports resetAt as newest entry + W, and retryAfter as when the blocking entry leaves', () => {
    const spec = slidingWindow({ limit: 3, window: 1000 });
    let s = exactWindowStep(undefined, spec, 1, 10_000).state;
    s = exactWindowStep(s, spec, 1, 10_000).state;
    expect(s).toEqual([10_000, 2]);
    s = exactWindowStep(s, spec, 1, 10_400).state;
    const d = exactWindowStep(s, spec, 2, 10_500);
    expect(d.decision).toEqual({ allowed: false, limit: 3, remaining: 0, resetAt: 11_400, retryAfter: 500, exceedsLimit: false });
    expect(exactWindowStep(s, spec, 2, 11_000).decision.allowed).toBe(true);
    expect(exactWindowStep(s, spec, 4, 10_500).decision).toMatchObject({ exceedsLimit: true, retryAfter: 900 });
    expect(exactWindowStep(undefined, spec, 4, 10_500).decision).toMatchObject({ exceedsLimit: true, retryAfter: 1, resetAt: 10_500 });
    const zero = exactWindowStep(s, spec, 0, 10_600);
    expect(zero.state).toBe(s);
    expect(zero.decision).toMatchObject({ allowed: true, remaining: 0 });
    // Entries are taken at the effective now when the clock steps back.
    expect(exactWindowStep(s, spec, 0, 10_000).state).toBe(s);
    const dropped = exactWindowStep(s, spec, 1, 11_000);
    expect(dropped.state).toEqual([10_400, 1, 11_000, 1]);
  });
});

describe('approximate sliding window', () => {
  it('stays within its documented bound: limit per aligned window, limit + previous * x / W per sliding window', () => {
    fc.assert(
      fc.property(windowSpec('approximate'), start, ops(forwardDt, windowCost), (spec, t0, seq) => {
        const W = spec.windowMs;
        const steps = replay(approxRun(spec), t0, seq);
        const aligned = perAlignedWindow(steps, W);
        for (const sum of aligned.values()) expect(sum).toBeLessThanOrEqual(spec.limit);
        const ends = new Set<number>();
        for (const s of steps) {
          checkDecision(s.decision);
          ends.add(s.t);
          ends.add(Math.floor(s.t / W) * W);
          ends.add(Math.floor(s.t / W) * W + W);
        }
        for (const end of ends) {
          const w = Math.floor(end / W);
          const x = end - w * W;
          const previous = aligned.get(w - 1) ?? 0;
          const bound = spec.limit + (previous * x) / W;
          const sum = inSliding(steps, end, W);
          expect(sum).toBeLessThanOrEqual(bound + 1e-6);
          expect(sum).toBeLessThan(2 * spec.limit);
        }
      }),
      RUNS,
    );
  });

  it('never denies what a fixed window of the same limit would admit once the previous window is empty', () => {
    fc.assert(
      fc.property(windowSpec('approximate'), start, ops(forwardDt, windowCost), (spec, t0, seq) => {
        const steps = replay(approxRun(spec), t0, seq);
        for (const s of steps) {
          if (s.decision.allowed || s.decision.exceedsLimit) continue;
          const before = s.before;
          const w = Math.floor(s.t / spec.windowMs) * spec.windowMs;
          // Denied: the estimate really was over. Recompute it from the rolled state.
          const rolled = before === undefined || before.windowStart < w - spec.windowMs ? { previous: 0, current: 0 } :
            before.windowStart === w ? before : { previous: before.current, current: 0 };
          const estimate = (rolled.previous * (spec.windowMs - (s.t - w))) / spec.windowMs + rolled.current;
          expect(estimate + s.cost).toBeGreaterThan(spec.limit);
        }
      }),
      RUNS,
    );
  });

  it('waiting retryAfter admits the same cost, and 1 ms less does not', () => {
    fc.assert(
      fc.property(windowSpec('approximate'), start, ops(anyDt, windowCost), fc.integer({ min: 1, max: 20 }), (spec, t0, seq, probe) => {
        const steps = replay(approxRun(spec), t0, seq);
        for (const s of steps) checkDecision(s.decision);
        checkRetryAfter(approxRun(spec), steps, probe, true);
      }),
      RUNS,
    );
  });

  it('a clock that steps back admits no more than one that stood still meanwhile', () => {
    // See the fixed window: continuing on shifted times changes the window phase, so the fair
    // comparison is a clock that stood still.
    fc.assert(
      fc.property(windowSpec('approximate'), start, ops(anyDt, fc.constant(1)), (spec, t0, seq) => {
        const back = firstForward(seq);
        expect(admitted(replay(approxRun(spec), t0, back))).toBeLessThanOrEqual(
          admitted(replay(approxRun(spec), t0, stoodStill(back))),
        );
      }),
      RUNS,
    );
  });

  it('weights the previous window by how much of it still overlaps, and rolls by one or more windows', () => {
    const spec = slidingWindow({ limit: 10, window: 1000, precision: 'approximate' });
    const full = approximateWindowStep(undefined, spec, 10, 5_000);
    expect(full.decision).toMatchObject({ allowed: true, remaining: 0, resetAt: 7_000 });
    // 250 ms into the next window, 75% of the previous 10 still counts: 7.5 + 0, so 2 fit, 3 do not.
    expect(approximateWindowStep(full.state, spec, 2, 6_250).decision).toMatchObject({ allowed: true, remaining: 0 });
    const denied = approximateWindowStep(full.state, spec, 3, 6_250);
    // The estimate drops 1 unit per 100 ms: 3 fit once 7.5 has fallen to 7, 50 ms later.
    expect(denied.decision).toMatchObject({ allowed: false, remaining: 2, retryAfter: 50, resetAt: 7_000 });
    expect(denied.state).toEqual({ windowStart: 6_000, previous: 10, current: 0 });
    expect(approximateWindowStep(full.state, spec, 1, 7_000).state).toEqual({ windowStart: 7_000, previous: 0, current: 1 });
    expect(approximateWindowStep(full.state, spec, 11, 6_000).decision).toMatchObject({ exceedsLimit: true, retryAfter: 1_000 });
    expect(approximateWindowStep(undefined, spec, 11, 6_000).decision).toMatchObject({ exceedsLimit: true, retryAfter: 1, resetAt: 6_000 });
    // A clock stepping back into an earlier window keeps the state's window, read at its start.
    const back = approximateWindowStep(denied.state, spec, 1, 5_500);
    expect(back.decision).toMatchObject({ allowed: false, retryAfter: 600 });
    expect(back.state).toBe(denied.state);
  });

  it('waits into the next window when the current count alone blocks the cost', () => {
    const spec = slidingWindow({ limit: 10, window: 1000, precision: 'approximate' });
    const s = approximateWindowStep({ windowStart: 0, previous: 0, current: 8 }, spec, 5, 400);
    // Next window: estimate 8 * (1000 - y) / 1000 + 5 <= 10 once y >= 375.
    expect(s.decision).toMatchObject({ allowed: false, retryAfter: 975 });
    expect(approximateWindowStep(s.state, spec, 5, 1_375).decision.allowed).toBe(true);
    expect(approximateWindowStep(s.state, spec, 5, 1_374).decision.allowed).toBe(false);
    // 4 * 0.9 + 8 + 3 = 14.6: the previous window cannot decay enough before 1000, so wait
    // into the next one, where 8 * (1000 - y) / 1000 + 3 <= 10 once y >= 125.
    const both = approximateWindowStep({ windowStart: 0, previous: 4, current: 8 }, spec, 3, 100);
    expect(both.decision).toMatchObject({ allowed: false, retryAfter: 1_025 });
  });
});

describe('dispatch to windows', () => {
  it('step picks the window algorithm by spec and precision', () => {
    const exact = slidingWindow({ limit: 2, window: '1s' });
    const approx = slidingWindow({ limit: 2, window: '1s', precision: 'approximate' });
    const fixed = fixedWindow({ limit: 2, window: '1s' });
    expect(step(exact, undefined, 1, 100).state).toEqual([100, 1]);
    expect(step(approx, undefined, 1, 100).state).toEqual({ windowStart: 0, previous: 0, current: 1 });
    expect(step(fixed, undefined, 1, 100).state).toEqual({ windowStart: 0, count: 1 });
  });
});

describe('fractional costs', () => {
  it('every window spends its last unit in tenths: the sum 4.000000000000001 is forgiven as the buckets forgive it', () => {
    for (const spec of [
      fixedWindow({ limit: 4, window: '1s' }),
      slidingWindow({ limit: 4, window: '1s' }),
      slidingWindow({ limit: 4, window: '1s', precision: 'approximate' }),
    ]) {
      let state = step(spec, undefined, 3, 100).state;
      for (let i = 1; i <= 10; i++) {
        const taken = step(spec, state, 0.1, 100 + i);
        expect(taken.decision.allowed, `${spec.algorithm} tenth ${i}`).toBe(true);
        state = taken.state;
      }
      const spent = step(spec, state, 0.001, 111).decision;
      expect(spent).toMatchObject({ allowed: false, remaining: 0, exceedsLimit: false });
      expect(spent.retryAfter).toBeGreaterThan(0);
      // A cost just over the limit exceeds it; one within the forgiven dust does not.
      expect(step(spec, undefined, 4 + 1e-6, 100).decision.exceedsLimit).toBe(true);
      expect(step(spec, undefined, 4 + 1e-12, 100).decision.allowed).toBe(true);
    }
  });
});

describe('exact window refunds', () => {
  it('a refund of cost 0 still drops expired entries: a clock stepping back later finds the window empty', () => {
    const spec = slidingWindow({ limit: 1, window: 1000 });
    const taken = step(spec, undefined, 1, 1000).state;
    const refunded = refundStep(spec, taken, 0, 2000);
    expect(refunded).toEqual([]);
    expect(step(spec, refunded, 1, 1500).decision.allowed).toBe(true);
  });
});

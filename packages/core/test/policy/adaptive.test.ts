import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkAdaptiveConfig,
  DEFAULT_ADAPTIVE,
  adaptiveConfig,
  effectiveMultiplier,
  outcomeOf,
  recordOutcome,
} from '../../src/policy/adaptive.js';
import { LimiterError } from '../../src/errors.js';
import type { AdaptiveConfig, AdaptiveState, Outcome } from '../../src/types.js';

const RUNS = { numRuns: 1000 };
const HALF = DEFAULT_ADAPTIVE.idleHalfLifeMs;

function expectInvalid(fn: () => unknown, option: string): void {
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

interface Event {
  readonly outcome: Outcome;
  readonly at: number;
}

/**
 * Absolute event times, mostly increasing; with `backwards`, sometimes earlier than the last one
 * (a store clock that was stepped back).
 */
const eventsArb = (maxLength = 40, backwards = true): fc.Arbitrary<Event[]> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 1e12 }),
      fc.array(
        fc.record({
          outcome: fc.constantFrom<Outcome>('success', 'failure', 'neutral'),
          dt: fc.oneof(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: backwards ? -60_000 : 0, max: 4 * 3_600_000 })),
        }),
        { minLength: 1, maxLength },
      ),
    )
    .map(([start, steps]) => {
      let t = start;
      return steps.map(({ outcome, dt }) => {
        t += dt;
        return { outcome, at: t };
      });
    });

const configArb = (overrides: Partial<AdaptiveConfig> = {}): fc.Arbitrary<AdaptiveConfig> =>
  fc
    .record({
      min: fc.double({ min: 1e-6, max: 1, noNaN: true }),
      max: fc.double({ min: 1, max: 10, noNaN: true }),
      successStep: fc.double({ min: 1e-6, max: 0.5, noNaN: true }),
      failureFactor: fc.double({ min: 1e-3, max: 1, noNaN: true }),
      idleHalfLifeMs: fc.integer({ min: 1, max: 10_000_000 }),
      longTermAfterMs: fc.integer({ min: 0, max: 10_000_000 }),
      longTermMinRequests: fc.integer({ min: 0, max: 30 }),
      longTermBonus: fc.double({ min: 1, max: 2, noNaN: true }),
    })
    .map((c) => adaptiveConfig({ ...c, ...overrides }));

function run(events: readonly Event[], config: AdaptiveConfig, initial?: AdaptiveState): AdaptiveState | undefined {
  let state = initial;
  for (const e of events) state = recordOutcome(state, config, e.outcome, e.at);
  return state;
}

const lastTime = (events: readonly Event[]): number => Math.max(...events.map((e) => e.at));

describe('adaptiveConfig', () => {
  it('has the documented defaults, frozen', () => {
    expect(DEFAULT_ADAPTIVE).toEqual({
      min: 0.1,
      max: 2,
      successStep: 0.02,
      failureFactor: 0.9,
      failureStatuses: [400, 401, 403, 404, 405, 422, 429],
      idleHalfLifeMs: 600_000,
      longTermAfterMs: 86_400_000,
      longTermMinRequests: 100,
      longTermBonus: 1.1,
    });
    expect(Object.isFrozen(DEFAULT_ADAPTIVE)).toBe(true);
    expect(Object.isFrozen(DEFAULT_ADAPTIVE.failureStatuses)).toBe(true);
    expect(adaptiveConfig()).toEqual(DEFAULT_ADAPTIVE);
    expect(Object.isFrozen(adaptiveConfig())).toBe(true);
  });

  it('overrides given fields and copies the status list', () => {
    const statuses = [401, 429];
    const config = adaptiveConfig({ min: 0.5, max: 1, longTermMinRequests: 0, longTermAfterMs: 0, failureStatuses: statuses });
    statuses.push(404);
    expect(config.min).toBe(0.5);
    expect(config.max).toBe(1);
    expect(config.failureStatuses).toEqual([401, 429]);
    expect(Object.isFrozen(config.failureStatuses)).toBe(true);
    expect(config.successStep).toBe(0.02);
    expect(adaptiveConfig({ min: 1, max: 1, failureFactor: 1, successStep: 0, longTermBonus: 1 }).min).toBe(1);
  });

  it.each([
    ['min', { min: 0 }],
    ['min', { min: -0.1 }],
    ['min', { min: 1.01 }],
    ['min', { min: Number.NaN }],
    ['max', { max: 0.99 }],
    ['max', { max: Number.POSITIVE_INFINITY }],
    ['successStep', { successStep: -0.01 }],
    ['failureFactor', { failureFactor: 0 }],
    ['failureFactor', { failureFactor: 1.5 }],
    ['failureStatuses', { failureStatuses: [500] }],
    ['failureStatuses', { failureStatuses: [99] }],
    ['failureStatuses', { failureStatuses: [401.5] }],
    ['failureStatuses', { failureStatuses: '401' }],
    ['idleHalfLifeMs', { idleHalfLifeMs: 0 }],
    ['longTermAfterMs', { longTermAfterMs: -1 }],
    ['longTermMinRequests', { longTermMinRequests: 1.5 }],
    ['longTermMinRequests', { longTermMinRequests: -1 }],
    ['longTermBonus', { longTermBonus: 0.99 }],
  ])('rejects a bad %s', (field, partial) => {
    expectInvalid(() => adaptiveConfig(partial as Partial<AdaptiveConfig>), `adaptive.${field}`);
  });

  it('names the caller’s option and rejects a non-object', () => {
    expectInvalid(() => adaptiveConfig({ min: 2 }, 'profiles.adaptive'), 'profiles.adaptive.min');
    expectInvalid(() => adaptiveConfig(null as unknown as Partial<AdaptiveConfig>), 'adaptive');
  });
});

describe('checkAdaptiveConfig', () => {
  it('passes a complete config (the same object back) and refuses a partial one, naming the missing field', () => {
    const full = adaptiveConfig({ min: 0.25 });
    expect(checkAdaptiveConfig(full)).toBe(full);
    expect(checkAdaptiveConfig({ ...full })).toEqual(full);
    const { successStep: _dropped, ...partial } = full;
    expect(() => checkAdaptiveConfig(partial)).toThrow(/^adaptive\.successStep must be set/);
    expect(() => checkAdaptiveConfig({ ...full, min: 0 })).toThrow(/^adaptive\.min must be/);
    for (const bad of [null, 1, 'x', undefined]) expect(() => checkAdaptiveConfig(bad, 'cfg')).toThrow(/^cfg must be/);
  });
});

describe('outcomeOf', () => {
  it.each([
    [200, 'success'],
    [204, 'success'],
    [301, 'success'],
    [399, 'success'],
    [400, 'failure'],
    [401, 'failure'],
    [403, 'failure'],
    [404, 'failure'],
    [405, 'failure'],
    [422, 'failure'],
    [429, 'failure'],
    [409, 'neutral'],
    [418, 'neutral'],
    [100, 'neutral'],
    [199, 'neutral'],
    [200.5, 'neutral'],
    [0, 'neutral'],
    [Number.NaN, 'neutral'],
    [500, 'neutral'],
    [503, 'neutral'],
    [599, 'neutral'],
    [999, 'neutral'],
  ] as const)('%s is %s', (status, outcome) => {
    expect(outcomeOf(status, DEFAULT_ADAPTIVE)).toBe(outcome);
  });

  it('uses the configured failure statuses', () => {
    const config = adaptiveConfig({ failureStatuses: [409, 302] });
    expect(outcomeOf(409, config)).toBe('failure');
    expect(outcomeOf(302, config)).toBe('failure');
    expect(outcomeOf(404, config)).toBe('neutral');
  });

  it('property: any status >= 500 is neutral under any failure list', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 500, max: 100_000 }),
        fc.array(fc.integer({ min: 100, max: 499 }), { maxLength: 20 }),
        (status, failureStatuses) => outcomeOf(status, adaptiveConfig({ failureStatuses })) === 'neutral',
      ),
      RUNS,
    );
  });
});

describe('recordOutcome and effectiveMultiplier: exact values', () => {
  it('starts a new client at 1 and scores one outcome', () => {
    expect(recordOutcome(undefined, DEFAULT_ADAPTIVE, 'success', 1000)).toEqual({
      multiplier: 1.02,
      firstSeen: 1000,
      lastSeen: 1000,
      requests: 1,
      successes: 1,
      failures: 0,
    });
    expect(recordOutcome(undefined, DEFAULT_ADAPTIVE, 'failure', 1000)).toEqual({
      multiplier: 0.9,
      firstSeen: 1000,
      lastSeen: 1000,
      requests: 1,
      successes: 0,
      failures: 1,
    });
    expect(recordOutcome(undefined, DEFAULT_ADAPTIVE, 'neutral', 1000)).toEqual({
      multiplier: 1,
      firstSeen: 1000,
      lastSeen: 1000,
      requests: 1,
      successes: 0,
      failures: 0,
    });
    expect(effectiveMultiplier(undefined, DEFAULT_ADAPTIVE, 1000)).toBe(1);
  });

  const half: AdaptiveState = Object.freeze({
    multiplier: 0.5,
    firstSeen: 0,
    lastSeen: 0,
    requests: 10,
    successes: 2,
    failures: 8,
  });

  it('drifts halfway back to 1 per half-life before scoring', () => {
    expect(effectiveMultiplier(half, DEFAULT_ADAPTIVE, HALF)).toBe(0.75);
    expect(effectiveMultiplier(half, DEFAULT_ADAPTIVE, 2 * HALF)).toBe(0.875);
    expect(recordOutcome(half, DEFAULT_ADAPTIVE, 'success', HALF)).toMatchObject({ multiplier: 0.77, lastSeen: HALF, successes: 3, requests: 11 });
    expect(recordOutcome(half, DEFAULT_ADAPTIVE, 'failure', HALF)).toMatchObject({ multiplier: 0.675, lastSeen: HALF, failures: 9 });
    // The input is frozen: any mutation above would have thrown.
    expect(half.multiplier).toBe(0.5);
  });

  it('leaves multiplier and lastSeen alone on a neutral outcome', () => {
    expect(recordOutcome(half, DEFAULT_ADAPTIVE, 'neutral', HALF)).toEqual({ ...half, requests: 11 });
  });

  it('does not drift when the clock went backwards, and keeps the later lastSeen', () => {
    const later = { ...half, lastSeen: 5000 };
    expect(effectiveMultiplier(later, DEFAULT_ADAPTIVE, 1000)).toBe(0.5);
    expect(recordOutcome(later, DEFAULT_ADAPTIVE, 'failure', 1000)).toMatchObject({ multiplier: 0.45, lastSeen: 5000 });
    expect(recordOutcome(later, DEFAULT_ADAPTIVE, 'success', 1000)).toMatchObject({ multiplier: 0.52, lastSeen: 5000 });
  });

  it('clamps to [min, max]', () => {
    const top = { ...half, multiplier: 2 };
    expect(recordOutcome(top, DEFAULT_ADAPTIVE, 'success', 0).multiplier).toBe(2);
    const bottom = { ...half, multiplier: 0.1 };
    expect(recordOutcome(bottom, DEFAULT_ADAPTIVE, 'failure', 0).multiplier).toBe(0.1);
    // 1 + (0.1 - 1) * 2^-tiny rounds below 0.1: the clamp keeps the stored value in range.
    expect(recordOutcome(bottom, DEFAULT_ADAPTIVE, 'success', 1e-9).multiplier).toBeGreaterThanOrEqual(0.1);
    // A state stored under a wider config is clamped by the current one.
    expect(effectiveMultiplier({ ...half, multiplier: 5 }, DEFAULT_ADAPTIVE, 0)).toBe(2);
    expect(effectiveMultiplier({ ...half, multiplier: 0.01 }, DEFAULT_ADAPTIVE, 0)).toBe(0.1);
  });

  it('applies the long-term bonus only after both thresholds, counting scored responses', () => {
    const day = DEFAULT_ADAPTIVE.longTermAfterMs;
    const veteran: AdaptiveState = { multiplier: 1, firstSeen: 0, lastSeen: day, requests: 100, successes: 60, failures: 40 };
    expect(effectiveMultiplier(veteran, DEFAULT_ADAPTIVE, day)).toBe(1.1);
    expect(effectiveMultiplier({ ...veteran, lastSeen: day - 1 }, DEFAULT_ADAPTIVE, day - 1)).toBe(1);
    expect(effectiveMultiplier({ ...veteran, successes: 59 }, DEFAULT_ADAPTIVE, day)).toBe(1);
    // Neutral responses (5xx) do not count toward the threshold.
    expect(effectiveMultiplier({ ...veteran, requests: 10_000, successes: 0, failures: 0 }, DEFAULT_ADAPTIVE, day)).toBe(1);
    expect(effectiveMultiplier({ ...veteran, multiplier: 1.95 }, DEFAULT_ADAPTIVE, day)).toBe(2);
  });
});

describe('adaptive properties', () => {
  it('the stored and effective multiplier stay in [min, max]', () => {
    fc.assert(
      fc.property(configArb(), eventsArb(), fc.integer({ min: -1e6, max: 1e9 }), (config, events, later) => {
        let state: AdaptiveState | undefined;
        for (const e of events) {
          state = recordOutcome(state, config, e.outcome, e.at);
          if (state.multiplier < config.min || state.multiplier > config.max) return false;
          const eff = effectiveMultiplier(state, config, e.at + later);
          if (!(eff >= config.min && eff <= config.max)) return false;
        }
        return true;
      }),
      RUNS,
    );
  });

  // Over a store's clock (non-decreasing). Out-of-order events are an approximation: an event older
  // than lastSeen is scored as of lastSeen, so a success that moved lastSeen forward can cost a later
  // out-of-order event its drift credit (fast-check found: success@0, success@1, failure@0 vs neutral@1).
  it('replacing any event by a success never lowers the final effective multiplier', () => {
    fc.assert(
      fc.property(configArb(), eventsArb(40, false), fc.nat(), fc.integer({ min: 0, max: 1e8 }), (config, events, pick, wait) => {
        const i = pick % events.length;
        const better = events.map((e, j) => (j === i ? { ...e, outcome: 'success' as const } : e));
        const at = lastTime(events) + wait;
        return (
          effectiveMultiplier(run(better, config), config, at) >= effectiveMultiplier(run(events, config), config, at)
        );
      }),
      RUNS,
    );
  });

  it('with successStep 0, a success is never worse than any outcome beyond float rounding', () => {
    fc.assert(
      fc.property(configArb({ successStep: 0 }), eventsArb(40, false), fc.nat(), (config, events, pick) => {
        const i = pick % events.length;
        const better = events.map((e, j) => (j === i ? { ...e, outcome: 'success' as const } : e));
        const at = lastTime(events);
        return effectiveMultiplier(run(better, config), config, at) >= effectiveMultiplier(run(events, config), config, at) - 1e-12;
      }),
      RUNS,
    );
  });

  it('a 5xx (or any neutral) after the first event never changes the effective multiplier, bit for bit', () => {
    fc.assert(
      fc.property(
        configArb(),
        eventsArb(),
        fc.nat(),
        fc.integer({ min: 500, max: 599 }),
        fc.integer({ min: -1e6, max: 1e8 }),
        fc.integer({ min: -1e6, max: 1e9 }),
        (config, events, pick, status, offset, later) => {
          const outcome = outcomeOf(status, config);
          const i = 1 + (pick % events.length);
          const inserted = { outcome, at: (events[i - 1] as Event).at + offset };
          const withError = [...events.slice(0, i), inserted, ...events.slice(i)];
          const a = run(events, config) as AdaptiveState;
          const b = run(withError, config) as AdaptiveState;
          const at = lastTime(withError) + later;
          return (
            outcome === 'neutral' &&
            Object.is(effectiveMultiplier(a, config, at), effectiveMultiplier(b, config, at)) &&
            Object.is(a.multiplier, b.multiplier) &&
            a.lastSeen === b.lastSeen &&
            b.requests === a.requests + 1
          );
        },
      ),
      RUNS,
    );
  });

  it('a 5xx as the very first request never lowers the multiplier (it only starts the history clock)', () => {
    fc.assert(
      // Store clock order (see above): with events older than the state, where the history starts matters.
      fc.property(configArb(), eventsArb(40, false), fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e9 }), (config, events, before, later) => {
        const first = { outcome: outcomeOf(503, config), at: (events[0] as Event).at - before };
        const at = lastTime(events) + later;
        return effectiveMultiplier(run([first, ...events], config), config, at) >= effectiveMultiplier(run(events, config), config, at);
      }),
      RUNS,
    );
  });

  it('a storm of 401/403/404/429 drives any client to min', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(DEFAULT_ADAPTIVE, adaptiveConfig({ failureFactor: 0.5, min: 0.25 })),
        eventsArb(),
        fc.array(fc.record({ status: fc.constantFrom(401, 403, 404, 429), dt: fc.integer({ min: 0, max: 1000 }) }), {
          minLength: 60,
          maxLength: 80,
        }),
        (config, history, storm) => {
          let state = run(history, config);
          let t = lastTime(history);
          for (const { status, dt } of storm) {
            t += dt;
            state = recordOutcome(state, config, outcomeOf(status, config), t);
          }
          const s = state as AdaptiveState;
          const longTerm = s.successes + s.failures >= config.longTermMinRequests && t - s.firstSeen >= config.longTermAfterMs;
          return s.multiplier === config.min && effectiveMultiplier(s, config, t) === Math.min(config.max, config.min * (longTerm ? config.longTermBonus : 1));
        },
      ),
      RUNS,
    );
  });

  it('an idle client drifts monotonically back toward 1, halving the distance every half-life', () => {
    fc.assert(
      fc.property(
        configArb({ longTermBonus: 1 }),
        eventsArb(),
        fc.integer({ min: 0, max: 1e8 }),
        fc.integer({ min: 0, max: 1e8 }),
        (config, events, a, b) => {
          const state = run(events, config) as AdaptiveState;
          const from = Math.max(state.lastSeen, lastTime(events));
          const early = effectiveMultiplier(state, config, from + Math.min(a, b));
          const late = effectiveMultiplier(state, config, from + Math.max(a, b));
          const start = effectiveMultiplier(state, config, state.lastSeen);
          const halfLives = (from + Math.max(a, b) - state.lastSeen) / config.idleHalfLifeMs;
          return (
            Math.abs(late - 1) <= Math.abs(early - 1) &&
            (late - 1) * (start - 1) >= 0 &&
            Math.abs(late - 1) <= Math.abs(start - 1) * Math.pow(2, -halfLives) + 1e-12
          );
        },
      ),
      RUNS,
    );
  });

  it('the long-term bonus applies exactly when both thresholds are met', () => {
    fc.assert(
      fc.property(configArb(), eventsArb(), fc.integer({ min: -1e6, max: 2e7 }), (config, events, later) => {
        const state = run(events, config) as AdaptiveState;
        const at = lastTime(events) + later;
        const plain = effectiveMultiplier(state, { ...config, longTermBonus: 1 }, at);
        const eligible = state.successes + state.failures >= config.longTermMinRequests && at - state.firstSeen >= config.longTermAfterMs;
        const eff = effectiveMultiplier(state, config, at);
        if (!eligible) return Object.is(eff, plain);
        return eff >= plain && eff <= config.max;
      }),
      RUNS,
    );
  });

  it('an idle penalty does not last: after 20 half-lives a min-penalised client is within 1e-6 of 1', () => {
    let state: AdaptiveState | undefined;
    for (let i = 0; i < 50; i++) state = recordOutcome(state, DEFAULT_ADAPTIVE, 'failure', i);
    expect(state?.multiplier).toBe(0.1);
    expect(Math.abs(effectiveMultiplier(state, DEFAULT_ADAPTIVE, 49 + 20 * HALF) - 1)).toBeLessThan(1e-6);
  });
});

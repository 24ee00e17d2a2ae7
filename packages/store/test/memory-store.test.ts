import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LimiterError, adaptiveConfig, slidingWindow, tokenBucket } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import type { AdaptiveConfig, ConsumeRequest, LimitSpec, TokenBucketSpec } from '@micboard/limiter-core';
import { createModelStore } from '@micboard/test-utils';
import { createMemoryStore } from '@micboard/limiter-store';
import { floorQuotient } from '../src/memory/bucket.js';
import { SWEEP_GRACE_MS } from '../src/memory/slot-table.js';

const bucket: TokenBucketSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 1, burst: 0 };

describe('memory store', () => {
  it('answers synchronously: no promise on the hot path', () => {
    const store = createMemoryStore({ clock: new ManualClock(0) });
    const d = store.consume({ key: 'a', spec: bucket, cost: 1 });
    expect(typeof (d as unknown as { then?: unknown }).then).toBe('undefined');
    expect(d.allowed).toBe(true);
  });

  it('rejects bad options naming the option and the value', () => {
    for (const [options, option] of [
      [{ maxKeys: 0 }, 'maxKeys'],
      [{ maxKeys: 1.5 }, 'maxKeys'],
      [{ scoreTtlMs: -1 }, 'scoreTtlMs'],
      [{ clock: {} }, 'clock'],
    ] as const) {
      let error: unknown;
      try {
        createMemoryStore(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LimiterError);
      expect((error as LimiterError).code).toBe('INVALID_OPTION');
      expect((error as LimiterError).option).toBe(option);
    }
    const store = createMemoryStore();
    expect(() => store.consume({ key: 'a', spec: bucket, cost: Number.NaN })).toThrow(/cost/);
    expect(() => store.consume({ key: 'a', spec: { ...bucket, capacity: -1 }, cost: 1 })).toThrow(/capacity/);
  });

  it('stays within maxKeys under a flood of new keys', () => {
    const clock = new ManualClock(1_000_000);
    const store = createMemoryStore({ clock, maxKeys: 100 });
    for (let i = 0; i < 10_000; i++) store.consume({ key: `flood-${i}`, spec: bucket, cost: 1 });
    expect(store.size()).toBeLessThanOrEqual(100);
  });

  it('a flood of new keys does not evict a client that is currently limited (no eviction bypass)', () => {
    const clock = new ManualClock(1_000_000);
    const store = createMemoryStore({ clock, maxKeys: 50 });
    const slow: LimitSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 0.01, burst: 0 };
    for (let i = 0; i < 5; i++) expect(store.consume({ key: 'attacker', spec: slow, cost: 1 }).allowed).toBe(true);
    const denied = store.consume({ key: 'attacker', spec: slow, cost: 1 });
    expect(denied.allowed).toBe(false);
    // The attacker now cycles through fresh keys to push its own state out of the table.
    for (let i = 0; i < 20_000; i++) {
      clock.advance(1);
      store.consume({ key: `sybil-${i}`, spec: slow, cost: 1 });
    }
    expect(store.size()).toBeLessThanOrEqual(51);
    const after = store.consume({ key: 'attacker', spec: slow, cost: 1 });
    expect(after.allowed).toBe(false);
    expect(after.remaining).toBe(0);
  });

  it('a penalised score survives a flood while its penalty matters, but does not pin a slot for scoreTtlMs', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = createMemoryStore({ clock, maxKeys: 50 });
    const adaptive = adaptiveConfig({ failureFactor: 0.5, idleHalfLifeMs: 1000 });
    store.record('abuser', 'failure', adaptive);
    // A flood of fresh keys within the penalty's lifetime does not evict (and so forgive) it.
    for (let i = 0; i < 5_000; i++) store.record(`flood-${i}`, 'success', adaptive);
    expect(store.get('abuser')?.adaptive).toMatchObject({ failures: 1 });
    // A scanner's 404 from every address, one per second for 3 hours: each score is penalised,
    // yet the table stays near maxKeys instead of keeping all of them for the 7-day score TTL.
    for (let i = 0; i < 10_800; i++) {
      clock.advance(1000);
      store.record(`scanner-${i}`, 'failure', adaptive);
    }
    // maxKeys, plus the scores penalised in the last 7 half-lives (7 s here), plus slack for sampling.
    expect(store.size()).toBeLessThanOrEqual(50 + 7 + 16);
  });

  it('a score past scoreTtlMs counts as none, as on Redis where its key expired, before any sweep', () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = createMemoryStore({ clock, scoreTtlMs: 1000 });
    // A long half-life: the penalty would still be nearly whole after the TTL.
    const adaptive = adaptiveConfig({ failureFactor: 0.5, idleHalfLifeMs: 3_600_000 });
    const spec: TokenBucketSpec = { algorithm: 'token-bucket', capacity: 10, refillPerSecond: 1, burst: 0 };
    store.record('c', 'failure', adaptive);
    store.record('c', 'failure', adaptive);
    expect(store.consume({ key: 'c', spec, cost: 1, adaptive }).limit).toBe(2);
    clock.advance(999);
    expect(store.consume({ key: 'c', spec, cost: 1, adaptive }).multiplier).toBeLessThan(0.3);
    clock.advance(1);
    // Expired: no lookup of a live key since, and no insert to drive a sweep.
    expect(store.consume({ key: 'c', spec, cost: 1, adaptive })).toMatchObject({ multiplier: 1, limit: 10 });
    expect(store.get('c')?.adaptive).toBeUndefined();
    // The next outcome starts a new score.
    expect(store.record('c', 'failure', adaptive)).toBeCloseTo(0.5, 12);
    expect(store.get('c')?.adaptive).toMatchObject({ failures: 1, requests: 1, firstSeen: clock.now() });
  });

  it('a flood of new throttle keys does not evict a key whose calls are waiting (they would go early)', () => {
    const clock = new ManualClock(1_000_000);
    const store = createMemoryStore({ clock, maxKeys: 20 });
    const spec: LimitSpec = { algorithm: 'gcra', capacity: 1, refillPerSecond: 1, burst: 0 };
    expect(store.reserve('busy', spec, 1, 60_000)).toEqual({ granted: true, delayMs: 0 });
    expect(store.reserve('busy', spec, 1, 60_000)).toEqual({ granted: true, delayMs: 1000 });
    for (let i = 0; i < 2_000; i++) store.reserve(`other-${i}`, spec, 1, 60_000);
    // The call booked for +1000 ms is still waiting: the next one goes after it, not now.
    expect(store.reserve('busy', spec, 1, 60_000)).toEqual({ granted: true, delayMs: 2000 });
  });

  it('keeps limited clients past maxKeys, then sweeps them incrementally once expired', () => {
    const clock = new ManualClock(1_000_000);
    const store = createMemoryStore({ clock, maxKeys: 10 });
    const one: LimitSpec = { algorithm: 'fixed-window', limit: 1, windowMs: 1000 };
    for (let i = 0; i < 100; i++) {
      store.consume({ key: `c${i}`, spec: one, cost: 1 });
      store.consume({ key: `c${i}`, spec: one, cost: 1 }); // denied: now limited
    }
    // Every client is limited, so none may be evicted: the table grew instead.
    expect(store.size()).toBeGreaterThan(10);
    for (let i = 0; i < 100; i++) expect(store.consume({ key: `c${i}`, spec: one, cost: 1 }).allowed).toBe(false);
    clock.advance(1000 + SWEEP_GRACE_MS);
    // Each insert frees a couple of expired slots: no long pause, and the table shrinks back.
    for (let i = 0; i < 200; i++) store.consume({ key: `n${i}`, spec: one, cost: 1 });
    expect(store.size()).toBeLessThanOrEqual(20);
  });

  it('property: a denied client stays denied until its retryAfter, however small the table', () => {
    const specs: LimitSpec[] = [
      { algorithm: 'token-bucket', capacity: 3, refillPerSecond: 1, burst: 1 },
      { algorithm: 'fixed-window', limit: 3, windowMs: 2000 },
      { algorithm: 'sliding-window', limit: 3, windowMs: 2000, precision: 'exact' },
      { algorithm: 'sliding-window', limit: 3, windowMs: 2000, precision: 'approximate' },
    ];
    fc.assert(
      fc.property(
        fc.nat(specs.length - 1),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.record({ key: fc.nat(40), dt: fc.constantFrom(0, 0, 1, 5, 100) }), { minLength: 1, maxLength: 300 }),
        (which, maxKeys, ops) => {
          const spec = specs[which] as LimitSpec;
          const clock = new ManualClock(10_000);
          const store = createMemoryStore({ clock, maxKeys });
          const blockedUntil = new Map<number, number>();
          for (const { key, dt } of ops) {
            clock.advance(dt);
            const d = store.consume({ key: `k${key}`, spec, cost: 1 });
            const until = blockedUntil.get(key);
            if (until !== undefined && clock.now() < until) expect(d.allowed).toBe(false);
            if (!d.allowed) blockedUntil.set(key, clock.now() + d.retryAfter);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: the hot path (default limit, with or without adaptive) and the general path agree with core', () => {
    // Two configs, so a request whose config is not the one the hot path was armed with is
    // covered too; successes push multipliers above 1, failures below, idle time drifts back,
    // and the second config's long-term bonus applies after a few scored responses.
    const adaptives = [
      adaptiveConfig({ failureFactor: 0.5, idleHalfLifeMs: 1000 }),
      adaptiveConfig({ failureFactor: 0.8, successStep: 0.5, max: 3, idleHalfLifeMs: 400, longTermMinRequests: 2, longTermAfterMs: 500 }),
    ];
    const specs: LimitSpec[] = [
      { algorithm: 'token-bucket', capacity: 3, refillPerSecond: 2, burst: 1 },
      { algorithm: 'gcra', capacity: 2, refillPerSecond: 0.5, burst: 0 },
      { algorithm: 'fixed-window', limit: 3, windowMs: 1000 },
    ];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.nat(2),
            // Mostly the first spec and the first config, so the hot path arms and stays armed.
            spec: fc.constantFrom(0, 0, 0, 0, 1, 2),
            adaptive: fc.constantFrom(0, 0, 0, 1, undefined),
            limitId: fc.constantFrom(undefined, undefined, undefined, undefined, 'other'),
            record: fc.constantFrom(undefined, undefined, undefined, undefined, 'failure', 'success', 'neutral'),
            cost: fc.constantFrom(1, 1, 2, 0.5, 7),
            dt: fc.constantFrom(0, 0, 1, 100, 700),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        (ops) => {
          const clock = new ManualClock(1_700_000_000_000);
          const store = createMemoryStore({ clock });
          const model = createModelStore(clock);
          for (const op of ops) {
            clock.advance(op.dt);
            const key = `k${op.key}`;
            const adaptive = op.adaptive === undefined ? undefined : adaptives[op.adaptive];
            if (op.record !== undefined) {
              const config = adaptive ?? (adaptives[0] as AdaptiveConfig);
              expect(store.record(key, op.record, config)).toBe(model.record(key, op.record, config));
              continue;
            }
            const request: ConsumeRequest = {
              key,
              spec: specs[op.spec] as LimitSpec,
              cost: op.cost,
              ...(op.limitId === undefined ? {} : { limitId: op.limitId }),
              ...(adaptive === undefined ? {} : { adaptive }),
            };
            expect(store.consume(request)).toEqual(model.consume(request));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: under one interval left, the floor of left / interval is 0 (the fact the hot path skips that division on)', () => {
    // An arithmetic fact, not the store: rounding could in principle carry a quotient just below
    // 1 up to 1, and the hot path relies on it never doing so (the property above checks the
    // store's decisions against core's). Near the boundary on purpose: the doubles just below.
    const below = (x: number, steps: number): number => {
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, x);
      view.setBigUint64(0, view.getBigUint64(0) - BigInt(steps));
      return view.getFloat64(0);
    };
    fc.assert(
      fc.property(
        fc.double({ min: Number.MIN_VALUE, max: 1e15, noNaN: true }),
        fc.oneof(fc.integer({ min: 1, max: 4 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (interval, pick) => {
          const left = Number.isInteger(pick) && pick >= 1 ? below(interval, pick) : pick * interval;
          fc.pre(left >= 0 && left < interval);
          expect(Math.floor(left / interval)).toBe(0);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('property: floorQuotient is Math.floor(a / b), at whole quotients and the doubles beside them too', () => {
    // The hot path's remaining count multiplies by the interval's inverse instead of dividing.
    // The doubles next to a whole multiple of b are where the product and the quotient can floor
    // to different sides; the property takes them on purpose.
    const step = (x: number, steps: number): number => {
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, x);
      view.setBigUint64(0, view.getBigUint64(0) + BigInt(steps));
      return view.getFloat64(0);
    };
    fc.assert(
      fc.property(
        fc.double({ min: 1e-6, max: 1e12, noNaN: true }),
        fc.oneof(
          fc.double({ min: 0, max: 1e18, noNaN: true }).map((a) => ({ a, near: 0 })),
          fc.tuple(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: -4, max: 4 })).map(([k, near]) => ({ a: k, near })),
        ),
        (b, pick) => {
          // A whole quotient k, moved by `near` doubles (0: exactly k * b as rounded).
          const a = pick.near === 0 && !Number.isInteger(pick.a) ? pick.a : step(pick.a * b, pick.near);
          fc.pre(a >= 0 && Number.isFinite(a));
          expect(floorQuotient(a, b, 1 / b)).toBe(Math.floor(a / b));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('snapshots show each client with its own spec, when clients of one limit differ (user types, plans)', () => {
    const clock = new ManualClock(1_000_000);
    const store = createMemoryStore({ clock });
    const anonymous = tokenBucket({ capacity: 50, refillPerSecond: 5, burst: 10 });
    const authenticated = tokenBucket({ capacity: 200, refillPerSecond: 20, burst: 50 });
    // The hot path arms on the spec seen last, so alternate and repeat.
    for (let i = 0; i < 3; i++) {
      store.consume({ key: 'user:1', spec: authenticated, cost: 1 });
      store.consume({ key: 'ip:1', spec: anonymous, cost: 1 });
      store.consume({ key: 'ip:1', spec: anonymous, cost: 1 });
    }
    expect(store.get('user:1')?.limits.default).toMatchObject({ limit: 250, remaining: 247 });
    expect(store.get('ip:1')?.limits.default).toMatchObject({ limit: 60, remaining: 54 });
    // A client whose type changes is shown with the spec of its last decision.
    store.consume({ key: 'ip:1', spec: authenticated, cost: 1 });
    expect(store.get('ip:1')?.limits.default?.limit).toBe(250);
    const windows = slidingWindow({ limit: 120, window: '60s' });
    const tight = slidingWindow({ limit: 5, window: '60s' });
    store.consume({ key: 'a', limitId: 'route', spec: windows, cost: 1 });
    store.consume({ key: 'b', limitId: 'route', spec: tight, cost: 1 });
    expect(store.get('a')?.limits.route).toMatchObject({ limit: 120, remaining: 119 });
    expect(store.get('b')?.limits.route).toMatchObject({ limit: 5, remaining: 4 });
  });

  it('get/list/cleanup see every table of a client', () => {
    const clock = new ManualClock(1_000_000);
    const store = createMemoryStore({ clock });
    store.consume({ key: 'x', spec: bucket, cost: 2 });
    store.consume({ key: 'x', limitId: 'w', spec: { algorithm: 'fixed-window', limit: 3, windowMs: 60_000 }, cost: 1 });
    const snap = store.get('x');
    expect(snap?.limits).toEqual({
      default: { limit: 5, remaining: 3, resetAt: 1_002_000 },
      w: { limit: 3, remaining: 2, resetAt: 1_020_000 },
    });
    expect(store.list().clients.map((c) => c.key)).toEqual(['x']);
  });
});

describe('memory store: options it cannot work with are refused', () => {
  it('a logger without its methods', () => {
    expect(() => createMemoryStore({ logger: { info() {}, warn() {} } as never })).toThrow(/^logger must be/);
  });
});

/**
 * The Store contract suite: one set of tests every store (memory, Redis standalone, Redis
 * Cluster) must pass, with a scripted clock. Each test gets a fresh store from the factory, so a
 * backend that shares state (Redis) must isolate tests itself (e.g. a fresh key prefix each).
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { adaptiveConfig } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import { createModelStore } from './model-store.js';
import type {
  AdaptiveConfig,
  ConsumeRequest,
  LimitSpec,
  MaybePromise,
  Outcome,
  RateSpec,
  RefundRequest,
  Store,
  StoreDecision,
} from '@micboard/limiter-core';

/** What a factory hands the suite. */
export interface StoreUnderTest {
  readonly store: Store;
  /** The clock the store reads; the suite moves it. */
  readonly clock: ManualClock;
  /** Another instance on the same backing state (for the shared-config test), when there is one. */
  peer?(): MaybePromise<Store>;
  /** Releases what the factory created (connections, keys). */
  close?(): MaybePromise<void>;
}

export interface StoreContractOptions {
  /** fast-check runs of the differential property against the reference store. @default 1000 */
  readonly numRuns?: number;
  /** Start time of the clock handed to tests, in ms. @default 1_700_000_000_000 */
  readonly start?: number;
}

/** Plain-data specs for every algorithm a store must run. */
export const CONTRACT_SPECS: Readonly<Record<string, LimitSpec>> = {
  'token-bucket': { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 2, burst: 1 },
  gcra: { algorithm: 'gcra', capacity: 3, refillPerSecond: 0.5, burst: 0 },
  'fixed-window': { algorithm: 'fixed-window', limit: 4, windowMs: 1000 },
  'sliding-window exact': { algorithm: 'sliding-window', limit: 4, windowMs: 1000, precision: 'exact' },
  'sliding-window approximate': { algorithm: 'sliding-window', limit: 4, windowMs: 1000, precision: 'approximate' },
};

/** Awkward client keys: braces (Redis hash tags), escapes, globs, separators, unicode, empty. */
export const AWKWARD_KEYS: readonly string[] = ['{a}', 'a}b{c', '%7B', '%', 'x:y*?[z]', 'ü🎤', '', ' ', 'rl:{x}:score'];

/**
 * Lua's `2 ^ x` is the C library's pow and V8's `Math.pow` is fdlibm's; the two may differ in
 * the last bit of the idle drift, so a Redis script's multiplier may be 1 ulp off core's. Equal
 * multipliers must give identical decisions; a multiplier that differs in the last bits may move
 * a rounded ms (resetAt, retryAfter) by 1 and nothing else.
 */
export function expectSameMultiplier(got: number, expected: number): void {
  if (got === expected) return;
  expect(Math.abs(got - expected)).toBeLessThanOrEqual(Math.abs(expected) * 1e-12);
}

export function expectSameDecision(got: StoreDecision, expected: StoreDecision): void {
  if (got.multiplier === expected.multiplier) {
    expect(got).toEqual(expected);
    return;
  }
  expectSameMultiplier(got.multiplier, expected.multiplier);
  const { resetAt, retryAfter, multiplier: _m, ...rest } = got;
  const { resetAt: eResetAt, retryAfter: eRetryAfter, multiplier: _e, ...eRest } = expected;
  expect(rest).toEqual(eRest);
  expect(Math.abs(resetAt - eResetAt)).toBeLessThanOrEqual(1);
  expect(Math.abs(retryAfter - eRetryAfter)).toBeLessThanOrEqual(1);
}

function isWindow(spec: LimitSpec): boolean {
  return spec.algorithm === 'fixed-window' || spec.algorithm === 'sliding-window';
}

/** The whole units a fresh limit admits at once. */
function fullLimit(spec: LimitSpec): number {
  return spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra'
    ? Math.floor(spec.capacity + spec.burst + 1e-9)
    : spec.limit;
}

/**
 * Registers the contract suite under `describe(name)`.
 *
 * @example
 * testStore('memory', () => {
 *   const clock = new ManualClock(1_700_000_000_000);
 *   return { store: createMemoryStore({ clock }), clock };
 * });
 */
export function testStore(
  name: string,
  create: (clock: ManualClock) => MaybePromise<StoreUnderTest>,
  options: StoreContractOptions = {},
): void {
  const numRuns = options.numRuns ?? 1000;
  const start = options.start ?? 1_700_000_000_000;
  const open: StoreUnderTest[] = [];

  const setup = async (): Promise<StoreUnderTest> => {
    const sut = await create(new ManualClock(start));
    open.push(sut);
    return sut;
  };

  describe(`Store contract: ${name}`, () => {
    afterEach(async () => {
      for (const sut of open.splice(0)) await sut.close?.();
    });

    for (const [label, spec] of Object.entries(CONTRACT_SPECS)) {
      describe(label, () => {
        it('a new client starts with its full limit and is denied once it is spent', async () => {
          const { store } = await setup();
          const limit = fullLimit(spec);
          for (let i = 0; i < limit; i++) {
            const d = await store.consume({ key: 'k', spec, cost: 1 });
            expect(d).toMatchObject({ allowed: true, limit, remaining: limit - 1 - i, retryAfter: 0, exceedsLimit: false, multiplier: 1 });
          }
          const denied = await store.consume({ key: 'k', spec, cost: 1 });
          expect(denied.allowed).toBe(false);
          expect(denied.remaining).toBe(0);
          expect(denied.retryAfter).toBeGreaterThan(0);
          expect(denied.exceedsLimit).toBe(false);
        });

        it('admits again after retryAfter, not before', async () => {
          const { store, clock } = await setup();
          const limit = fullLimit(spec);
          for (let i = 0; i < limit; i++) await store.consume({ key: 'k', spec, cost: 1 });
          const denied = await store.consume({ key: 'k', spec, cost: 1 });
          expect(denied.allowed).toBe(false);
          if (denied.retryAfter > 1) {
            clock.advance(denied.retryAfter - 1);
            expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(false);
            clock.advance(1);
          } else {
            clock.advance(denied.retryAfter);
          }
          expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(true);
        });

        it('a cost above the limit is denied with exceedsLimit and takes nothing', async () => {
          const { store } = await setup();
          const limit = fullLimit(spec);
          const d = await store.consume({ key: 'k', spec, cost: limit + 1 });
          expect(d).toMatchObject({ allowed: false, exceedsLimit: true });
          expect(d.retryAfter).toBeGreaterThan(0);
          const first = await store.consume({ key: 'k', spec, cost: 1 });
          expect(first).toMatchObject({ allowed: true, remaining: limit - 1 });
        });

        it('fractional costs that add up to the limit are all admitted, then nothing more', async () => {
          // Ten costs of 0.1 after 3 units sum to 4.000000000000001 in floating point: every
          // admission test forgives that dust (EPSILON), or the last unit could never be spent.
          const { store } = await setup();
          const limit = fullLimit(spec);
          for (let i = 1; i < limit; i++) expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed, `unit ${i}`).toBe(true);
          for (let i = 1; i <= 10; i++) expect((await store.consume({ key: 'k', spec, cost: 0.1 })).allowed, `tenth ${i}`).toBe(true);
          const spent = await store.consume({ key: 'k', spec, cost: 0.001 });
          expect(spent).toMatchObject({ allowed: false, remaining: 0, exceedsLimit: false });
        });

        it('keeps clients and limit ids apart, whatever characters the key has', async () => {
          const { store } = await setup();
          const limit = fullLimit(spec);
          for (const key of AWKWARD_KEYS) {
            for (let i = 0; i < limit; i++) expect((await store.consume({ key, spec, cost: 1 })).allowed).toBe(true);
            expect((await store.consume({ key, spec, cost: 1 })).allowed).toBe(false);
            expect((await store.consume({ key, limitId: 'other', spec, cost: 1 })).allowed).toBe(true);
          }
          for (const key of AWKWARD_KEYS) {
            const snap = await store.get(key);
            expect(snap?.key).toBe(key);
            expect(Object.keys(snap?.limits ?? {}).sort()).toEqual(['default', 'other']);
          }
        });

        it('refund gives back what an admitted consume took', async () => {
          const { store } = await setup();
          const limit = fullLimit(spec);
          for (let i = 0; i < limit; i++) await store.consume({ key: 'k', spec, cost: 1 });
          await store.refund({ key: 'k', spec, cost: 1 });
          expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(true);
          expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(false);
          // Refunding a client the store has never seen is a no-op, not an error.
          await store.refund({ key: 'nobody', spec, cost: 1 });
          expect(await store.get('nobody')).toBeUndefined();
        });

        it('get shows the limit as of now; reset forgets the client', async () => {
          const { store, clock } = await setup();
          const limit = fullLimit(spec);
          expect(await store.get('k')).toBeUndefined();
          const at = clock.now();
          await store.consume({ key: 'k', spec, cost: 1 });
          const snap = await store.get('k');
          expect(snap).toMatchObject({ key: 'k', multiplier: 1, adaptive: undefined });
          expect(snap?.limits['default']).toMatchObject({ limit, remaining: limit - 1 });
          // Full again later (the slowest contract spec refills in 2 s), not already.
          expect(snap?.limits['default']?.resetAt).toBeGreaterThan(at);
          expect(snap?.limits['default']?.resetAt).toBeLessThanOrEqual(at + 2000);
          // The last activity is the consume's time, not the read's (a store may keep whole seconds).
          clock.advance(900);
          const later = await store.get('k');
          expect(later?.lastSeen).toBeLessThanOrEqual(at);
          expect(later?.lastSeen).toBeGreaterThan(at - 1000);
          expect(await store.reset('k')).toBe(true);
          expect(await store.get('k')).toBeUndefined();
          expect(await store.reset('k')).toBe(false);
          expect(await store.consume({ key: 'k', spec, cost: 1 })).toMatchObject({ allowed: true, remaining: limit - 1 });
        });
      });
    }

    it('a limit id whose spec changes algorithm starts fresh under the new one', async () => {
      const { store } = await setup();
      // Token bucket and GCRA share their state (both are a TAT), so they are never adjacent here.
      const order = ['fixed-window', 'token-bucket', 'sliding-window exact', 'gcra', 'sliding-window approximate'];
      const specs = order.map((name) => CONTRACT_SPECS[name] as LimitSpec);
      for (const spec of [...specs, ...specs]) {
        const limit = fullLimit(spec);
        for (let i = 0; i < limit; i++) {
          const d = await store.consume({ key: 'k', limitId: 'route', spec, cost: 1 });
          expect(d.allowed).toBe(true);
        }
        expect((await store.consume({ key: 'k', limitId: 'route', spec, cost: 1 })).allowed).toBe(false);
        await store.refund({ key: 'k', limitId: 'route', spec, cost: 1 });
      }
    });

    describe("a refund named by its decision's resetAt gives back what that decision took, not a later one's", () => {
      // Two requests of one client, B admitted after A; then A is refunded (a later limit of A's
      // request denied it). Given A's resetAt, a window takes A's units back and keeps B's.
      const untilNextWindow = (clock: ManualClock, windowMs: number, before: number): void => {
        const into = ((clock.now() % windowMs) + windowMs) % windowMs;
        clock.advance(windowMs - into - before);
      };

      it("exact window: the entry A was logged in, not B's newer one", async () => {
        const { store, clock } = await setup();
        const spec: LimitSpec = { algorithm: 'sliding-window', limit: 2, windowMs: 1000, precision: 'exact' };
        const a = await store.consume({ key: 'k', spec, cost: 1 });
        clock.advance(100);
        expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(true);
        await store.refund({ key: 'k', spec, cost: 1, takenResetAt: a.resetAt });
        // A's entry would have left the window by now; B's is still in it.
        clock.advance(950);
        expect(await store.consume({ key: 'k', spec, cost: 1 })).toMatchObject({ allowed: true, remaining: 0 });
        expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(false);
      });

      it("fixed window: A counted in a window that has ended; B's new window keeps its count", async () => {
        const { store, clock } = await setup();
        const spec: LimitSpec = { algorithm: 'fixed-window', limit: 2, windowMs: 1000 };
        untilNextWindow(clock, 1000, 10);
        const a = await store.consume({ key: 'k', spec, cost: 1 });
        clock.advance(20);
        expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(true);
        await store.refund({ key: 'k', spec, cost: 1, takenResetAt: a.resetAt });
        expect(await store.consume({ key: 'k', spec, cost: 1 })).toMatchObject({ allowed: true, remaining: 0 });
        expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(false);
      });

      it("approximate window: A's units leave the previous window's count once B rolled it", async () => {
        const { store, clock } = await setup();
        const spec: LimitSpec = { algorithm: 'sliding-window', limit: 10, windowMs: 1000, precision: 'approximate' };
        untilNextWindow(clock, 1000, 10);
        const a = await store.consume({ key: 'k', spec, cost: 4 });
        clock.advance(20);
        // A still weighs 4 * 0.99 here.
        expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(true);
        await store.refund({ key: 'k', spec, cost: 4, takenResetAt: a.resetAt });
        expect(await store.consume({ key: 'k', spec, cost: 9 })).toMatchObject({ allowed: true, remaining: 0 });
      });

      it('token bucket: what refilled after A, and B took again, does not come back', async () => {
        const { store, clock } = await setup();
        const spec: LimitSpec = { algorithm: 'gcra', capacity: 1, refillPerSecond: 10, burst: 0 };
        const a = await store.consume({ key: 'k', spec, cost: 1 });
        // Full again after 100 ms; B takes the token A's refund would give back a second time.
        clock.advance(100);
        expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(true);
        await store.refund({ key: 'k', spec, cost: 1, takenResetAt: a.resetAt });
        expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(false);
      });

      it('a takenResetAt that is not a finite number is refused, naming the option', async () => {
        const { store } = await setup();
        const spec = CONTRACT_SPECS['fixed-window'] as LimitSpec;
        await store.consume({ key: 'k', spec, cost: 1 });
        for (const bad of [Number.NaN, Infinity, '1000' as unknown as number]) {
          await expect(async () => store.refund({ key: 'k', spec, cost: 1, takenResetAt: bad })).rejects.toMatchObject({
            code: 'INVALID_OPTION',
            option: 'takenResetAt',
          });
        }
      });
    });

    describe('bad input fails its own call and writes nothing', () => {
      const spec = CONTRACT_SPECS['token-bucket'] as LimitSpec;
      const window = CONTRACT_SPECS['sliding-window exact'] as LimitSpec;
      // A partial config is adaptiveConfig's input, not its output: a store that used it would
      // compute a NaN multiplier or fail its script call.
      const partial = { min: 0.5, max: 2 } as unknown as AdaptiveConfig;
      const fails = async (call: () => unknown, option: RegExp): Promise<void> => {
        await expect(async () => call()).rejects.toMatchObject({ code: 'INVALID_OPTION', option: expect.stringMatching(option) });
      };

      it('an adaptive config that is partial or not an object is refused, naming it', async () => {
        const { store } = await setup();
        for (const bad of [partial, null, 1, 'x']) {
          await fails(() => store.record('k', 'failure', bad as AdaptiveConfig), /^adaptive/);
          await fails(() => store.consume({ key: 'k', spec, cost: 1, adaptive: bad as AdaptiveConfig }), /^adaptive/);
          await fails(() => store.consume({ key: 'k', spec: window, cost: 1, adaptive: bad as AdaptiveConfig }), /^adaptive/);
          await fails(() => store.refund({ key: 'k', spec, cost: 1, adaptive: bad as AdaptiveConfig }), /^adaptive/);
        }
        await fails(() => store.record('k', 'failure', partial), /^adaptive\.successStep$/);
        // Nothing was written: the client is as new, and its next decisions are whole numbers.
        expect(await store.get('k')).toBeUndefined();
        const full = adaptiveConfig();
        expect(await store.consume({ key: 'k', spec, cost: 1, adaptive: full })).toMatchObject({ allowed: true, multiplier: 1 });
      });

      it('an outcome that is not success, failure or neutral is refused', async () => {
        const { store } = await setup();
        await fails(() => store.record('k', 'bogus' as Outcome, adaptiveConfig()), /^outcome$/);
        expect(await store.get('k')).toBeUndefined();
      });
    });

    describe('reserve (rate specs)', () => {
      const spec: RateSpec = { algorithm: 'gcra', capacity: 1, refillPerSecond: 10, burst: 0 };
      it('spaces calls by the refill interval and refuses waits above maxWaitMs', async () => {
        const { store } = await setup();
        expect(await store.reserve('out', spec, 1, 1000)).toEqual({ granted: true, delayMs: 0 });
        expect(await store.reserve('out', spec, 1, 1000)).toEqual({ granted: true, delayMs: 100 });
        expect(await store.reserve('out', spec, 1, 1000)).toEqual({ granted: true, delayMs: 200 });
        const refused = await store.reserve('out', spec, 1, 250);
        expect(refused).toEqual({ granted: false, delayMs: 300 });
        // Nothing was reserved by the refusal.
        expect(await store.reserve('out', spec, 1, 1000)).toEqual({ granted: true, delayMs: 300 });
      });
    });

    describe('adaptive scoring', () => {
      const adaptive: AdaptiveConfig = adaptiveConfig({ failureFactor: 0.5 });
      const spec: LimitSpec = { algorithm: 'token-bucket', capacity: 10, refillPerSecond: 1, burst: 0 };

      it('failures shrink the limit in the same step that reads the score', async () => {
        const { store } = await setup();
        expect(await store.record('bad', 'failure', adaptive)).toBeCloseTo(0.5, 12);
        expect(await store.record('bad', 'failure', adaptive)).toBeCloseTo(0.25, 12);
        const d = await store.consume({ key: 'bad', spec, cost: 1, adaptive });
        expect(d).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
        expect(d.multiplier).toBeCloseTo(0.25, 12);
        const good = await store.consume({ key: 'good', spec, cost: 1, adaptive });
        expect(good).toMatchObject({ allowed: true, limit: 10, remaining: 9, multiplier: 1 });
        const snap = await store.get('bad');
        expect(snap?.adaptive).toMatchObject({ requests: 2, failures: 2, successes: 0 });
        expect(snap?.multiplier).toBeCloseTo(0.25, 12);
        // Admin reads show the limits the client actually has: scaled by its multiplier.
        expect(snap?.limits['default']).toMatchObject({ limit: 2, remaining: 1 });
      });

      it('an idle client drifts back toward 1 by the half-life', async () => {
        const { store, clock } = await setup();
        await store.record('c', 'failure', adaptive);
        clock.advance(adaptive.idleHalfLifeMs);
        const d = await store.consume({ key: 'c', spec, cost: 1, adaptive });
        expect(d.multiplier).toBeCloseTo(0.75, 12);
      });
    });

    describe('admin', () => {
      // Refills so slowly that no state expires (and is swept) during a test.
      const spec: LimitSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 0.00001, burst: 0 };

      it('list pages through every client exactly once', async () => {
        const { store } = await setup();
        const keys = ['a', 'b', '{c}', 'd:e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
        for (const key of keys) await store.consume({ key, spec, cost: 1 });
        await store.consume({ key: 'a', limitId: 'second', spec, cost: 1 });
        await store.record('score-only', 'success', adaptiveConfig());
        const seen: string[] = [];
        const limitsOfA: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list(cursor === undefined ? { limit: 3 } : { cursor, limit: 3 });
          for (const c of page.clients) {
            seen.push(c.key);
            if (c.key === 'a') limitsOfA.push(...Object.keys(c.limits));
          }
          cursor = page.cursor;
          pages++;
          // Bounded only against a cursor that never ends: on a shared Redis that other suites
          // fill at the same time, a page of 3 may scan past thousands of their keys.
        } while (cursor !== undefined && pages < 100_000);
        expect(seen.sort()).toEqual([...keys, 'score-only'].sort());
        expect(limitsOfA.sort()).toEqual(['default', 'second']);
      });

      it('cleanup removes clients inactive for the given time and keeps the others', async () => {
        const { store, clock } = await setup();
        await store.consume({ key: 'old', spec, cost: 1 });
        await store.record('old-score', 'success', adaptiveConfig());
        clock.advance(3 * 3_600_000);
        await store.consume({ key: 'new', spec, cost: 1 });
        expect(await store.cleanup(2 * 3_600_000)).toBe(2);
        expect(await store.get('old')).toBeUndefined();
        expect(await store.get('old-score')).toBeUndefined();
        expect(await store.get('new')).toBeDefined();
      });

      it('shared config: versions increase and every instance reads the latest', async () => {
        const sut = await setup();
        expect(await sut.store.getConfig()).toBeUndefined();
        expect(await sut.store.setConfig({ profiles: { anonymous: { capacity: 60 } } })).toBe(1);
        expect(await sut.store.setConfig({ costs: { '/login': 5 } })).toBe(2);
        const peer = sut.peer ? await sut.peer() : sut.store;
        expect(await peer.getConfig()).toEqual({ version: 2, data: { costs: { '/login': 5 } } });
      });

      it('shared config: a write naming a version that is no longer the stored one writes nothing and answers 0', async () => {
        const sut = await setup();
        expect(await sut.store.setConfig({ a: 1 }, { ifVersion: 1 })).toBe(0);
        expect(await sut.store.getConfig()).toBeUndefined();
        expect(await sut.store.setConfig({ a: 1 }, { ifVersion: 0 })).toBe(1);
        const peer = sut.peer ? await sut.peer() : sut.store;
        expect(await peer.setConfig({ b: 2 }, { ifVersion: 1 })).toBe(2);
        // The first instance read version 1; its write must not undo the peer's.
        expect(await sut.store.setConfig({ a: 3 }, { ifVersion: 1 })).toBe(0);
        expect(await sut.store.setConfig({ a: 3 }, { ifVersion: 0 })).toBe(0);
        expect((await sut.store.getConfig())?.data).toEqual({ b: 2 });
        expect(await sut.store.setConfig({ c: 4 })).toBe(3);
        expect(() => sut.store.setConfig({}, { ifVersion: -1 })).toThrow(/ifVersion/);
        expect(() => sut.store.setConfig({}, { ifVersion: 1.5 })).toThrow(/ifVersion/);
      });
    });

    describe('differential: same decisions as core (model store)', () => {
      const adaptive = adaptiveConfig({ failureFactor: 0.7, successStep: 0.1, idleHalfLifeMs: 5000 });
      // Most refunds follow their consume at the same instant, as composed limits use them: the
      // multiplier (and so the scaled spec) is then the one the consume used. 'refund-earlier'
      // gives back an earlier decision, named by its resetAt, after other steps: a window's, whose
      // refund reads no multiplier, or a plain bucket's; a limit id of its own keeps its spec.
      type Op =
        | { kind: 'consume'; key: number; limit: number; cost: number; dt: number; adaptive: boolean; refund: boolean; mixed: boolean }
        | { kind: 'record'; key: number; outcome: Outcome; dt: number }
        | { kind: 'refund-earlier'; back: number; dt: number };
      const op: fc.Arbitrary<Op> = fc.oneof(
        {
          weight: 6,
          arbitrary: fc.record({
            kind: fc.constant('consume' as const),
            key: fc.nat(2),
            limit: fc.nat(Object.keys(CONTRACT_SPECS).length - 1),
            cost: fc.constantFrom(1, 1, 1, 2, 3, 0.5),
            dt: fc.constantFrom(0, 0, 1, 7, 50, 333, 1000, 2500),
            adaptive: fc.boolean(),
            refund: fc.nat(9).map((n) => n < 3),
            // Some consumes share one limit id across algorithms: a spec change mid-stream.
            mixed: fc.nat(3).map((n) => n === 0),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('record' as const),
            key: fc.nat(2),
            outcome: fc.constantFrom<Outcome>('success', 'failure', 'neutral'),
            dt: fc.constantFrom(0, 10, 1000),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('refund-earlier' as const),
            back: fc.nat(4),
            dt: fc.constantFrom(0, 0, 1, 7, 333, 1000),
          }),
        },
      );
      const specs = Object.values(CONTRACT_SPECS);

      it(`random sequences of consume/refund/record (${numRuns} runs)`, async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
            const { store, clock } = await setup();
            const reference = createModelStore(clock);
            const earlier: RefundRequest[] = [];
            let refunds = 0;
            try {
              for (const o of ops) {
                clock.advance(o.dt);
                if (o.kind === 'refund-earlier') {
                  const refund = earlier.splice(Math.max(0, earlier.length - 1 - o.back), 1)[0];
                  if (refund === undefined) continue;
                  await store.refund(refund);
                  reference.refund(refund);
                  continue;
                }
                const key = `c${o.key}`;
                if (o.kind === 'record') {
                  const got = await store.record(key, o.outcome, adaptive);
                  expectSameMultiplier(got, reference.record(key, o.outcome, adaptive));
                  continue;
                }
                const spec = specs[o.limit] as LimitSpec;
                const request: ConsumeRequest = {
                  key,
                  limitId: o.mixed ? 'mixed' : `l${o.limit}`,
                  spec,
                  cost: o.cost,
                  ...(o.adaptive ? { adaptive } : {}),
                };
                const expected = reference.consume(request);
                expectSameDecision(await store.consume(request), expected);
                if (o.refund && expected.allowed) {
                  // Every other one names its decision, as consumeAll and the HTTP ledger do.
                  const refund: RefundRequest = (refunds++ & 1) === 0 ? request : { ...request, takenResetAt: expected.resetAt };
                  await store.refund(refund);
                  reference.refund(refund);
                } else if (expected.allowed && !o.mixed && (isWindow(spec) || !o.adaptive)) {
                  earlier.push({ ...request, takenResetAt: expected.resetAt });
                }
              }
            } finally {
              await open.splice(open.length - 1, 1)[0]?.close?.();
            }
          }),
          { numRuns },
        );
      });
    });
  });
}

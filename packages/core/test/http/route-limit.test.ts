import { describe, expect, it } from 'vitest';
import { createRouteLimit, LimiterError, type DecisionEvent, type Store } from '@micboard/limiter-core';
import { asyncStore, brokenStore, req, setup, sync } from './helpers.js';

type Raw = { key?: string; user?: string };

describe('createRouteLimit', () => {
  it('rejects bad options, naming them', () => {
    const { store } = setup();
    expect(() => createRouteLimit(null as never)).toThrow(LimiterError);
    expect(() => createRouteLimit({ store: {} as never, max: 1, window: '1s' })).toThrow(/store/);
    expect(() => createRouteLimit({ store, max: 0, window: '1s' })).toThrow(/limit\.max/);
    expect(() => createRouteLimit({ store, max: 1, window: 0 })).toThrow(/limit\.window/);
    expect(() => createRouteLimit({ store, max: 1, window: 7.7 })).toThrow(/limit\.window must be a duration of a whole number of ms, at least 1; got 7\.7/);
    expect(() => createRouteLimit({ store, max: 1, window: 'soon' as never })).toThrow(/limit\.window/);
    expect(() => createRouteLimit({ store, max: 1, window: '1s', algorithm: 'leaky' as never })).toThrow(/algorithm/);
    expect(() => createRouteLimit({ store, max: 1, window: '1s', precision: 'rough' as never })).toThrow(/precision/);
    expect(() => createRouteLimit({ store, max: 1, window: '1s', by: 'session' as never })).toThrow(/limit\.by/);
    expect(() => createRouteLimit({ store, max: 1, window: '1s', cost: 0 })).toThrow(/limit\.cost/);
    expect(() => createRouteLimit({ store, max: 1, window: '1s', name: '' })).toThrow(/limit\.name/);
    expect(() => createRouteLimit({ store, limits: [] })).toThrow(/limits must be/);
    expect(() => createRouteLimit({ store, max: 1, limits: [{ max: 1, window: '1s' }] })).toThrow(/max must be absent/);
    expect(() => createRouteLimit({ store, limits: [null as never] })).toThrow(/limits\[0\]/);
    expect(() => createRouteLimit({ store, max: 1, window: '1s', ipv6Subnet: 129 })).toThrow(/ipv6Subnet/);
  });

  it('refuses a bucket limit refilling faster than MAX_REFILL_PER_SECOND, naming max / window and the rate', () => {
    const { store } = setup();
    for (const algorithm of ['gcra', 'token-bucket'] as const) {
      let caught: unknown;
      try {
        createRouteLimit({ store, max: 1000, window: '1ms', algorithm });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(LimiterError);
      expect(caught).toMatchObject({ code: 'INVALID_OPTION', option: 'limit.max / limit.window', value: 1_000_000 });
      expect((caught as Error).message).toMatch(/^limit\.max \/ limit\.window must be .* at most 10000: .*count in larger units.*; got 1000000$/);
      expect(() => createRouteLimit({ store, limits: [{ max: 101, window: '10ms', algorithm }] })).toThrow(/^limits\[0\]\.max \/ limits\[0\]\.window must be/);
      expect(() => createRouteLimit({ store, max: 100, window: '10ms', algorithm })).not.toThrow();
    }
    // Windows count whole requests in a log or counters, with no such limit.
    expect(() => createRouteLimit({ store, max: 1000, window: '1ms' })).not.toThrow();
  });

  it.each([
    ['sliding-window', 'exact'],
    ['sliding-window', 'approximate'],
    ['fixed-window', 'exact'],
    ['token-bucket', 'exact'],
    ['gcra', 'exact'],
  ] as const)('%s (%s) admits max per window, then 429 naming the window', (algorithm, precision) => {
    const { store, clock } = setup();
    clock.set(Math.ceil(clock.now() / 60_000) * 60_000);
    const route = createRouteLimit<Raw>({ store, clock, max: 3, window: '60s', algorithm, precision });
    for (let i = 0; i < 3; i++) expect(sync(route.check({}, req()))).toMatchObject({ allowed: true });
    const denied = sync(route.check({}, req()));
    expect(denied).toMatchObject({ allowed: false, status: 429, body: { detail: 'Maximum 3 requests per 60 seconds' } });
  });

  it("keys by IP, by user (anonymous falls back to IP) or by a key function (a throw or nothing falls back to IP)", () => {
    const { store, logger } = setup();
    const byUser = createRouteLimit<Raw>({ store, logger, max: 1, window: '1m', by: 'user', getUserId: (r) => r.user, name: 'u' });
    expect(sync(byUser.check({ user: 'a' }, req()))?.allowed).toBe(true);
    expect(sync(byUser.check({ user: 'a' }, req()))?.allowed).toBe(false);
    expect(sync(byUser.check({ user: 'b' }, req()))?.allowed).toBe(true);
    expect(sync(byUser.check({}, req({ userId: 'c' })))?.allowed).toBe(true);
    expect(sync(byUser.check({}, req()))?.allowed).toBe(true);
    expect(sync(byUser.check({}, req()))?.allowed).toBe(false);
    const noGetter = createRouteLimit<Raw>({ store, max: 1, window: '1m', by: 'user', name: 'n' });
    expect(sync(noGetter.check({}, req({ ip: '10.0.0.1' })))?.allowed).toBe(true);
    const byKey = createRouteLimit<Raw>({
      store,
      logger,
      max: 1,
      window: '1m',
      name: 'k',
      by: (r) => {
        if (r.key === 'boom') throw new Error('bad key function');
        return r.key;
      },
    });
    expect(sync(byKey.check({ key: 'x' }, req()))?.allowed).toBe(true);
    expect(sync(byKey.check({ key: 'x' }, req()))?.allowed).toBe(false);
    expect(sync(byKey.check({ key: 'y' }, req()))?.allowed).toBe(true);
    expect(sync(byKey.check({ key: 'boom' }, req({ ip: '10.9.9.9' })))?.allowed).toBe(true);
    expect(sync(byKey.check({}, req({ ip: '10.9.9.9' })))?.allowed).toBe(false);
    expect(logger.lines.some((l) => l.message.includes('key function threw'))).toBe(true);
    expect(sync(byKey.check({}, req({ ip: undefined })))?.allowed).toBe(true);
    expect(sync(store.get('ip:unknown'))).toBeDefined();
  });

  it('names counters by route and limit unless given a name; shows the tightest limit', () => {
    const { store } = setup();
    const route = createRouteLimit<Raw>({ store, limits: [{ max: 5, window: '1m' }, { max: 2, window: '10s', algorithm: 'fixed-window' }] });
    const ok = sync(route.check({}, req({ route: '/api/items/:id' })));
    expect(ok?.headers['X-RateLimit-Limit']).toBe('2');
    expect(Object.keys(sync(store.get('ip:203.0.113.7'))?.limits ?? {}).sort()).toEqual([
      '/api/items/:id 2/10000ms fixed-window',
      '/api/items/:id 5/60000ms',
    ]);
  });

  it('a top-level name groups composed limits across paths', () => {
    const { store } = setup();
    const route = createRouteLimit<Raw>({ store, name: 'api', limits: [{ max: 2, window: '1m' }, { max: 9, window: '1h', name: 'hourly' }] });
    sync(route.check({}, req({ path: '/a' })));
    sync(route.check({}, req({ path: '/b' })));
    expect(sync(route.check({}, req({ path: '/c' })))?.allowed).toBe(false);
    expect(Object.keys(sync(store.get('ip:203.0.113.7'))?.limits ?? {}).sort()).toEqual(['api 2/60000ms', 'hourly']);
    expect(() => createRouteLimit({ store, name: '', limits: [{ max: 1, window: '1s' }] })).toThrow(/name/);
  });

  it('logs a limited client once per window, calls onLimited and onDecision, and alerts', () => {
    const { store, clock, logger } = setup();
    const limited: DecisionEvent[] = [];
    const decisions: DecisionEvent[] = [];
    const alerts: unknown[] = [];
    const route = createRouteLimit<Raw>({
      store,
      clock,
      logger,
      max: 1,
      window: '1m',
      headers: 'none',
      onLimited: (_raw, e) => limited.push(e),
      onDecision: (e) => decisions.push(e),
      notify: { threshold: 2, onAlert: (a) => void alerts.push(a) },
    });
    for (let i = 0; i < 4; i++) route.check({}, req());
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(limited).toHaveLength(3);
    expect(decisions.map((d) => d.allowed)).toEqual([true, false, false, false]);
    expect(decisions[0]).toMatchObject({ limiter: '* 1/60000ms', route: '/api/data', key: 'ip:203.0.113.7', cost: 1, limit: 1 });
    expect(alerts).toHaveLength(1);
  });

  it('without a route pattern, every path shares the counter: varying the path is no way past the limit', () => {
    const { store, clock } = setup();
    const route = createRouteLimit<Raw>({ store, clock, max: 2, window: '1m' });
    const paths = ['/api/items/1', '/api/items/2', '/API/items/1/', '/api/items/1?x'];
    expect(paths.map((path) => sync(route.check({}, req({ path })))?.allowed)).toEqual([true, true, false, false]);
    // With a pattern, routes keep their own counters.
    expect(sync(route.check({}, req({ path: '/api/items/3', route: '/api/items/:id' })))?.allowed).toBe(true);
  });

    it('skip and allow list', async () => {
    const { store } = setup();
    expect(createRouteLimit<Raw>({ store, max: 1, window: '1s', skip: () => true }).check({}, req())).toBeUndefined();
    expect(await createRouteLimit<Raw>({ store, max: 1, window: '1s', skip: async () => true }).check({}, req())).toBeUndefined();
    expect(await createRouteLimit<Raw>({ store, max: 1, window: '1s', skip: async () => false }).check({}, req())).toMatchObject({ allowed: true });
    expect(await createRouteLimit<Raw>({ store, max: 1, window: '1s', skip: () => Promise.reject(new Error('x')), name: 'r' }).check({}, req())).toMatchObject({ allowed: true });
    const throwing = createRouteLimit<Raw>({ store, max: 1, window: '1s', name: 't', skip: () => { throw new Error('x'); } });
    expect(sync(throwing.check({}, req()))).toMatchObject({ allowed: true });
    expect(createRouteLimit<Raw>({ store, max: 1, window: '1s', allowList: ['203.0.113.7'] }).check({}, req())).toBeUndefined();
  });

  it('works on an asynchronous store, refunding across limits', async () => {
    const { store, clock } = setup();
    const route = createRouteLimit<Raw>({ store: asyncStore(store), clock, limits: [{ max: 5, window: '1m' }, { max: 1, window: '1m', name: 'tight' }] });
    expect(await route.check({}, req())).toMatchObject({ allowed: true });
    expect(await route.check({}, req())).toMatchObject({ allowed: false });
    expect(await route.check({}, req())).toMatchObject({ allowed: false });
    const loose = Object.entries(sync(store.get('ip:203.0.113.7'))?.limits ?? {}).find(([id]) => id !== 'tight');
    expect(loose?.[1].remaining).toBe(4);
  });

  it("a later limit's denial gives back what the request took, not what another request of the client took since", async () => {
    // Two route limits in separate middlewares. Request 1 passes the first, then request 2 passes
    // both, then request 1 reaches the second and is denied: its refund must take its own entry
    // out of the first limit's log (time T0), not request 2's newer one (T0 + 100).
    const { store: base, clock } = setup();
    const store = asyncStore(base);
    const first = createRouteLimit<Raw>({ store, clock, max: 2, window: '1s', name: 'first' });
    const second = createRouteLimit<Raw>({ store, clock, max: 1, window: '1m', name: 'second' });
    const one = {};
    const two = {};
    expect(await first.check(one, req())).toMatchObject({ allowed: true });
    clock.advance(100);
    expect(await first.check(two, req())).toMatchObject({ allowed: true });
    expect(await second.check(two, req())).toMatchObject({ allowed: true });
    expect(await second.check(one, req())).toMatchObject({ allowed: false });
    // Request 1's entry would have left the window by now; request 2's has not.
    clock.advance(950);
    expect((await first.check({}, req()))?.headers['X-RateLimit-Remaining']).toBe('0');
  });

  it.each(['throw', 'reject'] as const)('a composed denial stands when the refund of the earlier limits fails (%s)', async (mode) => {
    const { store, clock, logger } = setup();
    const flaky: Store = {
      ...asyncStore(store),
      name: 'flaky-refund',
      consume: (r) => store.consume(r),
      refund: () => {
        if (mode === 'throw') throw new Error('refund: connection reset');
        return Promise.reject(new Error('refund: connection reset'));
      },
    };
    const route = createRouteLimit<Raw>({ store: flaky, clock, logger, limits: [{ max: 10, window: '1m' }, { max: 1, window: '1m' }] });
    const out: (number | string)[] = [];
    for (let i = 0; i < 5; i++) {
      const verdict = await route.check({}, req({ route: '/x' }));
      out.push(verdict === undefined ? 'passed' : verdict.status);
    }
    expect(out).toEqual([200, 429, 429, 429, 429]);
    // A refund is no store failure: nothing logged as one.
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
  });

  it("a later limit's denial waits for, and survives, a refund answered with a rejecting thenable", async () => {
    const { store, clock } = setup();
    let asked = false;
    // A promise library's promise: thenable, not instanceof Promise, and rejected once asked.
    const thenableRefunds: Store = {
      ...asyncStore(store),
      consume: (r) => store.consume(r),
      refund: () =>
        ({
          then: (ok: never, fail: (error: unknown) => unknown) => {
            asked = true;
            return Promise.reject(new Error('refund failed')).then(ok, fail);
          },
        }) as unknown as Promise<void>,
    };
    const first = createRouteLimit<Raw>({ store: thenableRefunds, clock, max: 5, window: '1m', name: 'first' });
    const second = createRouteLimit<Raw>({ store, clock, max: 1, window: '1m', name: 'second' });
    const raw = {};
    expect(sync(first.check({}, req()))).toMatchObject({ allowed: true });
    expect(sync(second.check({}, req()))).toMatchObject({ allowed: true });
    expect(sync(first.check(raw, req()))).toMatchObject({ allowed: true });
    expect(await second.check(raw, req())).toMatchObject({ allowed: false, status: 429 });
    expect(asked).toBe(true);
  });

  it.each(['throw', 'reject'] as const)('a store failure event names each limit, with its key and cost (%s)', async (mode) => {
    const { clock, logger } = setup();
    const events: DecisionEvent[] = [];
    const route = createRouteLimit<Raw>({
      store: brokenStore(mode),
      clock,
      logger,
      limits: [{ max: 1, window: '1s', cost: 2 }, { max: 5, window: '1m', name: 'hourly', by: 'user' }],
      getUserId: (r) => r.user,
      onDecision: (e) => events.push(e),
    });
    expect(await route.check({ user: 'u1' }, req({ route: '/api/items/:id' }))).toBeUndefined();
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ limiter: '/api/items/:id 1/1000ms', key: 'ip:203.0.113.7', cost: 2, allowed: true });
    expect(events[1]).toMatchObject({ limiter: 'hourly', key: 'user:u1', cost: 1, allowed: true });
    for (const e of events) expect(e.storeError).toBeInstanceOf(Error);
  });

  it.each(['throw', 'reject'] as const)('a failing store (%s) fails open, or closed on request', async (mode) => {
    const { clock, logger } = setup();
    const events: DecisionEvent[] = [];
    const open = createRouteLimit<Raw>({ store: brokenStore(mode), clock, logger, max: 1, window: '1s', onDecision: (e) => events.push(e) });
    expect(await open.check({}, req())).toBeUndefined();
    expect(events[0]?.storeError).toBeInstanceOf(Error);
    const closed = createRouteLimit<Raw>({ store: brokenStore(mode), clock, max: 1, window: '1s', failMode: 'closed' });
    expect(await closed.check({}, req())).toMatchObject({ status: 503 });
  });
});

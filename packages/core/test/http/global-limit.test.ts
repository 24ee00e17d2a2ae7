import { describe, expect, it } from 'vitest';
import { createHttpLimiter, createLimiter, createRouteLimit, LimiterError, noteDenied, wasDenied, type DecisionEvent } from '@micboard/limiter-core';
import type { Store } from '@micboard/limiter-core';
import { asyncStore, brokenStore, req, setup, sync } from './helpers.js';

type Raw = { id: number };
const raw = (): Raw => ({ id: Math.random() });

describe('createHttpLimiter', () => {
  it('rejects bad options, naming them', () => {
    const { store } = setup();
    expect(() => createHttpLimiter(null as never)).toThrow(LimiterError);
    expect(() => createHttpLimiter({ store, skip: 1 as never })).toThrow(/skip must be a function/);
    expect(() => createHttpLimiter({ store, onDecision: 'x' as never })).toThrow(/onDecision/);
    expect(() => createHttpLimiter({ store, headers: 'fancy' as never })).toThrow(/headers must be one of/);
    expect(() => createHttpLimiter({ store, failMode: 'maybe' as never })).toThrow(/failMode/);
    expect(() => createHttpLimiter({ store, allowList: '10.0.0.0/8' as never })).toThrow(/allowList/);
    expect(() => createHttpLimiter({ store, allowList: ['nope'] })).toThrow(/allowList\[0\]/);
    expect(() => createHttpLimiter({ store, getUserId: 'id' as never })).toThrow(/getUserId/);
  });

  it('uses an engine the app already made, or needs a store', () => {
    const { store, clock } = setup();
    const limiter = createLimiter({ store, clock, adaptive: false });
    const http = createHttpLimiter<Raw>({ limiter });
    expect(http.limiter).toBe(limiter);
    sync(http.check(raw(), req()));
    expect(sync(limiter.check(req()))?.decision.remaining).toBe(58);
    expect(() => createHttpLimiter({ limiter: {} as never })).toThrow(/limiter must be a Limiter/);
    expect(() => createHttpLimiter({})).toThrow(/store must be a Store/);
  });

  it('answers synchronously on a synchronous store: headers, 429 body, record key', () => {
    const { store, clock } = setup();
    const http = createHttpLimiter<Raw>({ store, clock, profiles: { anonymous: { capacity: 1, refillPerSecond: 1, burst: 0 } } });
    const ok = sync(http.check(raw(), req()));
    expect(ok).toMatchObject({ allowed: true, status: 200, recordKey: 'ip:203.0.113.7' });
    expect(ok?.headers['X-RateLimit-Limit']).toBe('1');
    const denied = sync(http.check(raw(), req()));
    expect(denied).toMatchObject({ allowed: false, status: 429, body: { error: 'Rate limit exceeded', retry_after: 1 } });
    expect(denied?.headers['Retry-After']).toBe('1');
  });

  it('skip (sync, async, throwing, rejecting) and allow lists', async () => {
    const { store, logger } = setup();
    const skipping = createHttpLimiter<Raw>({ store, skip: () => true });
    expect(skipping.check(raw(), req())).toBeUndefined();
    const asyncSkip = createHttpLimiter<Raw>({ store, skip: async () => true });
    expect(await asyncSkip.check(raw(), req())).toBeUndefined();
    const asyncNo = createHttpLimiter<Raw>({ store, skip: async () => false });
    expect(await asyncNo.check(raw(), req())).toMatchObject({ allowed: true });
    const throwing = createHttpLimiter<Raw>({ store, logger, skip: () => { throw new Error('x'); } });
    expect(sync(throwing.check(raw(), req()))).toMatchObject({ allowed: true });
    expect(logger.lines.some((l) => l.message.includes('skip() threw'))).toBe(true);
    const rejectLogger = setup().logger;
    const rejecting = createHttpLimiter<Raw>({ store, logger: rejectLogger, skip: () => Promise.reject(new Error('x')) });
    expect(await rejecting.check(raw(), req())).toMatchObject({ allowed: true });
    // A rejecting skip is logged like a throwing one (it was swallowed silently).
    expect(rejectLogger.lines.filter((l) => l.message.includes('skip() threw'))).toHaveLength(1);
    const rejectingRoute = createRouteLimit<Raw>({ store, logger: rejectLogger, max: 5, window: '1m', skip: () => Promise.reject(new Error('y')) });
    expect(await rejectingRoute.check(raw(), req())).toMatchObject({ allowed: true });
    expect(rejectLogger.lines.filter((l) => l.message.includes('skip() threw'))).toHaveLength(2);
    const allow = createHttpLimiter<Raw>({ store, allowList: ['203.0.113.0/24'] });
    expect(allow.check(raw(), req())).toBeUndefined();
    expect(sync(allow.check(raw(), req({ ip: '198.51.100.1' })))).toMatchObject({ allowed: true });
  });

  it('reads the user through getUserId; a throw or odd value counts as anonymous', () => {
    const { store } = setup();
    const byId = (id: unknown) => createHttpLimiter<Raw>({ store, adaptive: false, userTypeHeader: true, getUserId: () => id as string });
    expect(sync(byId('u1').check(raw(), req()))?.headers['X-RateLimit-UserType']).toBe('authenticated');
    expect(sync(byId(42).check(raw(), req()))?.headers['X-RateLimit-UserType']).toBe('authenticated');
    expect(sync(byId('').check(raw(), req()))?.headers['X-RateLimit-UserType']).toBe('anonymous');
    const throwing = createHttpLimiter<Raw>({ store, userTypeHeader: true, getUserId: () => { throw new Error('no'); } });
    expect(sync(throwing.check(raw(), req()))?.headers['X-RateLimit-UserType']).toBe('anonymous');
  });

  it('sends X-RateLimit-UserType only when asked, on admissions and denials alike', () => {
    const { store } = setup();
    const tiny = { anonymous: { capacity: 1, refillPerSecond: 1, burst: 0 } };
    const quiet = createHttpLimiter<Raw>({ store, profiles: tiny });
    const quietOk = sync(quiet.check(raw(), req({ ip: '198.51.100.1' })));
    expect(Object.keys(quietOk?.headers ?? {})).toEqual(['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']);
    expect(sync(quiet.check(raw(), req({ ip: '198.51.100.1' })))?.headers).not.toHaveProperty('X-RateLimit-UserType');
    const told = createHttpLimiter<Raw>({ store, profiles: tiny, userTypeHeader: true });
    expect(sync(told.check(raw(), req({ ip: '198.51.100.2' })))?.headers['X-RateLimit-UserType']).toBe('anonymous');
    const denied = sync(told.check(raw(), req({ ip: '198.51.100.2' })));
    expect(denied).toMatchObject({ allowed: false, headers: { 'X-RateLimit-UserType': 'anonymous' } });
    expect(() => createHttpLimiter({ store, userTypeHeader: 'yes' as never })).toThrow(/userTypeHeader must be true or false/);
  });

  it('warns once about X-Forwarded-For without a trusted proxy, never with one', () => {
    const { store, logger } = setup();
    const http = createHttpLimiter<Raw>({ store, logger });
    http.check(raw(), req({ headers: { 'x-forwarded-for': '1.2.3.4' }, trustProxy: true }));
    expect(logger.lines).toHaveLength(0);
    http.check(raw(), req({ headers: { 'x-forwarded-for': '1.2.3.4' } }));
    http.check(raw(), req({ headers: { 'x-forwarded-for': '1.2.3.5' } }));
    expect(logger.lines.filter((l) => l.message.includes('X-Forwarded-For'))).toHaveLength(1);
  });

  it('works on an asynchronous store', async () => {
    const { store, clock } = setup();
    const http = createHttpLimiter<Raw>({ store: asyncStore(store), clock, headers: 'draft' });
    const verdict = http.check(raw(), req());
    expect(verdict).toBeInstanceOf(Promise);
    expect((await verdict)?.headers['RateLimit-Policy']).toBe('"default";q=60');
  });

  it.each(['throw', 'reject'] as const)('a store that fails (%s) fails open by default and closed on request', async (mode) => {
    const { clock, logger } = setup();
    const events: DecisionEvent[] = [];
    const open = createHttpLimiter<Raw>({ store: brokenStore(mode), clock, logger, onDecision: (e) => events.push(e) });
    expect(await open.check(raw(), req())).toBeUndefined();
    expect(events[0]).toMatchObject({ allowed: true, key: undefined });
    expect(events[0]?.storeError).toBeInstanceOf(Error);
    const closed = createHttpLimiter<Raw>({ store: brokenStore(mode), clock, logger, failMode: 'closed' });
    expect(await closed.check(raw(), req())).toMatchObject({ allowed: false, status: 503, headers: { 'Retry-After': '1' } });
    // Failures are logged at most once per 10 s per limiter.
    for (let i = 0; i < 5; i++) await open.check(raw(), req());
    expect(logger.lines.filter((l) => l.level === 'error' && l.message.includes('fail open'))).toHaveLength(1);
    clock.advance(10_000);
    await open.check(raw(), req());
    const again = logger.lines.filter((l) => l.level === 'error' && l.message.includes('fail open'));
    expect(again).toHaveLength(2);
    expect(again[1]?.fields['suppressed']).toBe(5);
  });

  it('hooks that throw or reject are logged and never break the request', async () => {
    const { store, logger } = setup();
    const http = createHttpLimiter<Raw>({
      store,
      logger,
      profiles: { anonymous: { capacity: 1, refillPerSecond: 1, burst: 0 } },
      onDecision: () => { throw new Error('metrics down'); },
      onLimited: async () => { throw new Error('async hook'); },
    });
    sync(http.check(raw(), req()));
    expect(sync(http.check(raw(), req()))).toMatchObject({ status: 429 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.lines.filter((l) => l.message.includes('hook threw'))).toHaveLength(2);
    expect(logger.lines.filter((l) => l.message.includes('hook failed'))).toHaveLength(1);
  });

  it('finish feeds the adaptive score; a failing store is logged', async () => {
    const { store, clock, logger } = setup();
    const http = createHttpLimiter<Raw>({ store, clock, logger });
    sync(http.check(raw(), req()));
    http.finish('ip:203.0.113.7', 200);
    expect(sync(store.get('ip:203.0.113.7'))?.adaptive?.successes).toBe(1);
    const broken = createHttpLimiter<Raw>({ store: brokenStore('throw'), clock, logger });
    broken.finish('k', 200);
    const rejecting = createHttpLimiter<Raw>({ store: brokenStore('reject'), clock, logger });
    rejecting.finish('k', 200);
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.lines.filter((l) => l.message.includes('could not record'))).toHaveLength(2);
    const off = createHttpLimiter<Raw>({ store, clock, adaptive: false });
    expect(sync(off.check(raw(), req({ ip: '198.51.100.9' })))?.recordKey).toBeUndefined();
  });

  it("never feeds the limiter's own denials into the score: no record key on a 429, and a noted response is skipped", () => {
    const { store, clock } = setup();
    const http = createHttpLimiter<Raw>({ store, clock, profiles: { anonymous: { capacity: 1, refillPerSecond: 1, burst: 0 } } });
    expect(sync(http.check(raw(), req()))?.recordKey).toBe('ip:203.0.113.7');
    expect(sync(http.check(raw(), req()))?.recordKey).toBeUndefined();
    const ours = {};
    noteDenied(ours);
    expect(wasDenied(ours)).toBe(true);
    http.finish('ip:203.0.113.7', 429, ours);
    expect(sync(store.get('ip:203.0.113.7'))?.adaptive?.failures ?? 0).toBe(0);
    // The application's own 429 (a response we did not write) still counts.
    http.finish('ip:203.0.113.7', 429, {});
    expect(sync(store.get('ip:203.0.113.7'))?.adaptive?.failures).toBe(1);
  });

  it('alerts through notify when a client keeps getting denied', () => {
    const { store, clock } = setup();
    const alerts: unknown[] = [];
    const http = createHttpLimiter<Raw>({
      store,
      clock,
      profiles: { anonymous: { capacity: 1, refillPerSecond: 0.001, burst: 0 } },
      notify: { threshold: 2, within: '1m', onAlert: (a) => void alerts.push(a) },
    });
    for (let i = 0; i < 3; i++) http.check(raw(), req());
    expect(alerts).toEqual([expect.objectContaining({ key: 'ip:203.0.113.7', limiter: 'global', denials: 2 })]);
  });

  it('a route denial refunds what the global bucket took for the same request (ledger)', () => {
    const { store, clock } = setup();
    const http = createHttpLimiter<Raw>({ store, clock, adaptive: false });
    const route = createRouteLimit<Raw>({ store, clock, max: 1, window: '1m' });
    const first = raw();
    sync(http.check(first, req()));
    expect(sync(route.check(first, req()))).toMatchObject({ allowed: true });
    for (let i = 0; i < 3; i++) {
      const r = raw();
      sync(http.check(r, req()));
      expect(sync(route.check(r, req()))).toMatchObject({ allowed: false });
    }
    expect(sync(http.check(raw(), req()))?.headers['X-RateLimit-Remaining']).toBe('58');
  });

  it('a global denial refunds what a route limit mounted before it took (either order composes)', async () => {
    for (const wrap of [(s: Store) => s, asyncStore]) {
      const { store: base, clock } = setup();
      const store = wrap(base);
      const http = createHttpLimiter<Raw>({ store, clock, adaptive: false, profiles: { anonymous: { capacity: 1, refillPerSecond: 0.001, burst: 0 } } });
      const route = createRouteLimit<Raw>({ store, clock, max: 3, window: '1m', name: 'r' });
      const first = raw();
      expect(await route.check(first, req())).toMatchObject({ allowed: true });
      expect(await http.check(first, req())).toMatchObject({ allowed: true });
      for (let i = 0; i < 5; i++) {
        const r = raw();
        expect(await route.check(r, req())).toMatchObject({ allowed: true });
        expect(await http.check(r, req())).toMatchObject({ allowed: false });
      }
      // Had the five global denials used up the route limit, it would be spent (3 per minute).
      expect((await route.check(raw(), req()))?.headers['X-RateLimit-Remaining']).toBe('1');
    }
  });
});

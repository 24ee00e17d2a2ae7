import { describe, expect, it } from 'vitest';
import { adaptiveConfig, gcra, tokenBucket } from '@micboard/limiter-core';
import { createReferenceStore, ManualClock } from '@micboard/limiter-core/testing';

describe('reference store', () => {
  it('lists, reads, resets and cleans up clients', () => {
    const clock = new ManualClock(1_000_000);
    const store = createReferenceStore({ clock });
    const spec = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    for (const key of ['c', 'a', 'b']) store.consume({ key, spec, cost: 2 });
    const first = store.list({ limit: 2 });
    expect(first.clients.map((c) => c.key)).toEqual(['a', 'b']);
    const second = store.list({ cursor: first.cursor as string, limit: 2 });
    expect(second.clients.map((c) => c.key)).toEqual(['c']);
    expect(second.cursor).toBeUndefined();
    expect(store.list().clients).toHaveLength(3);
    expect(store.get('a')?.limits.default).toEqual({ limit: 5, remaining: 3, resetAt: 1_002_000 });
    expect(store.get('a')?.multiplier).toBe(1);
    expect(store.get('zzz')).toBeUndefined();
    expect(store.reset('a')).toBe(true);
    expect(store.reset('a')).toBe(false);
    clock.advance(3_600_000);
    store.consume({ key: 'b', spec, cost: 1 });
    expect(store.cleanup(3_600_000)).toBe(1);
    expect(store.list().clients.map((c) => c.key)).toEqual(['b']);
    expect(store.now?.()).toBe(clock.now());
  });

  it('refuses a spec the real stores refuse, naming the field', () => {
    const store = createReferenceStore({ clock: new ManualClock(1_000_000) });
    const bad = { algorithm: 'fixed-window', limit: 5, windowMs: 7.7 } as const;
    expect(() => store.consume({ key: 'a', spec: bad, cost: 1 })).toThrow(/spec\.windowMs/);
    expect(() => store.refund({ key: 'a', spec: bad, cost: 1 })).toThrow(/spec\.windowMs/);
    expect(store.get('a')).toBeUndefined();
  });

  it('refuses a page size or cursor that would page forever, as the real stores do', () => {
    const store = createReferenceStore({ clock: new ManualClock(0) });
    store.consume({ key: 'a', spec: tokenBucket({ capacity: 1, refillPerSecond: 1 }), cost: 1 });
    // limit 0 handed back the same cursor forever; a garbled cursor restarted from the first page.
    expect(() => store.list({ limit: 0 })).toThrow(/^limit must be an integer of at least 1; got 0/);
    expect(() => store.list({ cursor: 'garbage' })).toThrow(/^cursor must be a cursor returned by list\(\); got "garbage"/);
  });

  it('records scores, reserves, refunds and keeps shared config', () => {
    const clock = new ManualClock(0);
    const store = createReferenceStore({ clock });
    const adaptive = adaptiveConfig();
    expect(store.record('k', 'failure', adaptive)).toBeCloseTo(0.9);
    expect(store.get('k')?.multiplier).toBeCloseTo(0.9);
    const spec = gcra({ capacity: 1, refillPerSecond: 10 });
    expect(store.reserve('k', spec, 1, 1_000)).toEqual({ granted: true, delayMs: 0 });
    expect(store.reserve('k', spec, 1, 1_000)).toEqual({ granted: true, delayMs: 100 });
    store.refund({ key: 'nobody', spec, cost: 1 });
    const bucket = tokenBucket({ capacity: 1, refillPerSecond: 1 });
    expect(store.consume({ key: 'r', spec: bucket, cost: 1 }).allowed).toBe(true);
    expect(store.consume({ key: 'r', spec: bucket, cost: 1 }).allowed).toBe(false);
    store.refund({ key: 'r', spec: bucket, cost: 1 });
    expect(store.getConfig()).toBeUndefined();
    expect(store.setConfig({ a: 1 })).toBe(1);
    expect(store.setConfig({ a: 2 })).toBe(2);
    expect(store.getConfig()).toEqual({ version: 2, data: { a: 2 } });
    expect(createReferenceStore().clock.now()).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from 'vitest';
import { createLimiter, LimiterError, type Store } from '@micboard/limiter-core';
import { createReferenceStore, ManualClock } from '@micboard/limiter-core/testing';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/** A store on which `race()` runs once between the next getConfig and the write that follows it. */
function racingStore() {
  const clock = new ManualClock(T0);
  const base = createReferenceStore({ clock });
  let pending: (() => unknown) | undefined;
  const store: Store = {
    ...base,
    getConfig: () => {
      const read = base.getConfig();
      const race = pending;
      pending = undefined;
      race?.();
      return read;
    },
  };
  return { clock, base, store, raceOnNextRead: (race: () => unknown) => void (pending = race) };
}

describe('engine: shared config writes from several instances', () => {
  it('a change made while another instance was writing is kept: the slower write is made again on top', async () => {
    const { clock, base, store, raceOnNextRead } = racingStore();
    const a = createLimiter({ store, clock });
    const b = createLimiter({ store, clock });
    // b's change lands after a read the config and before a writes it.
    raceOnNextRead(() => b.setEndpointCost('/api/login', 5));
    await a.setProfile('anonymous', { capacity: 7 });
    const shared = base.getConfig();
    expect(shared?.version).toBe(2);
    expect(shared?.data).toMatchObject({
      profiles: { anonymous: { capacity: 7 } },
      endpointCosts: [{ path: '/api/login', cost: 5 }],
    });
    await a.refreshConfig();
    expect(a.endpointCosts.costOf('GET', '/api/login')).toBe(5);
    expect(a.profiles().anonymous.capacity).toBe(7);
  });

  it('gives up with a clear error when every attempt loses the race, leaving the other writes alone', async () => {
    const { clock, base, store } = racingStore();
    const a = createLimiter({ store, clock });
    const b = createLimiter({ store, clock });
    let n = 0;
    const always: Store = {
      ...store,
      getConfig: () => {
        const read = base.getConfig();
        void b.setEndpointCost(`/api/x${n++}`, 2);
        return read;
      },
    };
    const loser = createLimiter({ store: always, clock });
    await expect(async () => loser.setProfile('anonymous', { capacity: 9 })).rejects.toThrow(LimiterError);
    await expect(async () => loser.setProfile('anonymous', { capacity: 9 })).rejects.toThrow(/shared config changed/);
    expect(JSON.stringify(base.getConfig()?.data)).not.toContain('"capacity":9');
    expect(a.profiles().anonymous.capacity).not.toBe(9);
  });
});

describe('engine: shared config, found by review', () => {
  const req = { method: 'GET', path: '/api/report', ip: '203.0.113.7', headers: {} };

  it("a profile change merges onto the stored profile, so it keeps another instance's change to the same profile", async () => {
    const clock = new ManualClock(T0);
    const store = createReferenceStore({ clock });
    const a = createLimiter({ store, clock });
    const b = createLimiter({ store, clock });
    a.check(req);
    // b tightens capacity; a, which has not refreshed since, then changes only burst.
    await b.setProfile('anonymous', { capacity: 7 });
    await a.setProfile('anonymous', { burst: 3 });
    const stored = (store.getConfig()?.data['profiles'] as Record<string, unknown> | undefined)?.['anonymous'];
    expect(stored).toMatchObject({ capacity: 7, burst: 3 });
    // And a bad value still fails at once, naming the field.
    expect(() => a.setProfile('anonymous', { capacity: -1 })).toThrow(/^profiles\.anonymous\.capacity/);
  });

  it('a clock that steps back does not stop other instances\' changes from being read', async () => {
    const clock = new ManualClock(T0);
    const store = createReferenceStore({ clock });
    const a = createLimiter({ store, clock });
    const b = createLimiter({ store, clock });
    a.check(req);
    b.check(req);
    clock.set(T0 - 3_600_000);
    await a.setEndpointCost('/api/report', 7);
    clock.advance(10_000);
    b.check(req);
    await Promise.resolve();
    expect(b.endpointCosts.costOf('GET', '/api/report')).toBe(7);
  });
});

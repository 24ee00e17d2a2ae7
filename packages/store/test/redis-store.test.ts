import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { Redis } from 'ioredis';
import { LimiterError, adaptiveConfig, scaleSpec } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import type { LimitSpec, Logger } from '@micboard/limiter-core';
import {
  CONTRACT_SPECS,
  connectRedis,
  connectSharedRedis,
  deleteByPrefix,
  sharedRedisAddress,
  startRedisServer,
  uniquePrefix,
} from '@micboard/test-utils';
import { SCRIPTS, createRedisStore } from '@micboard/limiter-store/redis';

let client: Redis;
const prefixes: string[] = [];
beforeAll(async () => {
  client = await connectSharedRedis();
});
afterAll(async () => {
  await deleteByPrefix([client], 'rltest:unit:');
  for (const p of prefixes) await deleteByPrefix([client], p);
  client?.disconnect();
});

function prefix(): string {
  const p = uniquePrefix('unit');
  prefixes.push(p);
  return p;
}

function recordingLogger(): Logger & { calls: { level: string; message: string }[] } {
  const calls: { level: string; message: string }[] = [];
  const log = (level: string) => (_fields: Record<string, unknown>, message: string) => {
    calls.push({ level, message });
  };
  return { calls, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

describe('redis store scripts', () => {
  it('pins each script by its SHA1 (a changed script is a deliberate, reviewed change)', () => {
    expect(Object.fromEntries(Object.entries(SCRIPTS).map(([name, s]) => [name, s.sha]))).toMatchInlineSnapshot(`
      {
        "approximateWindow": "81758f09697d810e5e8b1214a858f4c10d553923",
        "bucket": "bd2d75ef9ad9cbbdc0ddde43e4e2ec5f14b3b80b",
        "bucketConsume": "b2f688f27e4dc0b6445368532296eea51d0993b9",
        "configGet": "61fded42bd4c4d6265be38642a86db802a68396d",
        "configSet": "3aef1b3641d7f4fecc6fef599347c41e658352f5",
        "delete": "48991b1415fbc87567ca7f4d63b9863f146363dc",
        "exactWindow": "de87cedd9c8981ecf1dbf5e88923980cc4860f0c",
        "fixedWindow": "3a61c55a714dc32227afd696d256fa3ccc4edd81",
        "read": "feedf0644d1e4ab4de251ce73019cbddacad21c6",
        "record": "35ee992c68af799339652c0edc05a9b7b2f66eb9",
        "snapshot": "cbd79b3fb73dd5efd5613ebe3d26ea0bc5021b9c",
      }
    `);
  });

  it('recovers from NOSCRIPT transparently (SCRIPT FLUSH, as after a restart or failover)', async () => {
    // Its own server: flushing the shared one's script cache would disturb other suites.
    const server = await startRedisServer();
    const client = await connectRedis(server);
    onTestFinished(async () => {
      client.disconnect();
      await server.destroy();
    });
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw' });
    const spec = CONTRACT_SPECS['token-bucket'] as LimitSpec;
    expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(true);
    await client.script('FLUSH');
    const evalsha = vi.spyOn(client, 'evalsha');
    const evalSpy = vi.spyOn(client, 'eval');
    expect((await store.consume({ key: 'a', spec, cost: 1 })).remaining).toBe(4);
    expect(evalsha).toHaveBeenCalledTimes(1);
    expect(evalSpy).toHaveBeenCalledTimes(1);
    // EVAL loaded it again: the next call is one EVALSHA.
    expect((await store.consume({ key: 'a', spec, cost: 1 })).remaining).toBe(3);
    expect(evalsha).toHaveBeenCalledTimes(2);
    expect(evalSpy).toHaveBeenCalledTimes(1);
    evalsha.mockRestore();
    evalSpy.mockRestore();
  });

  it('a decision on a known bucket limit runs TIME, GET and SET only; the index is written when the limit is new or its spec changes', async () => {
    // Its own server: INFO commandstats counts every client's commands.
    const server = await startRedisServer();
    const client = await connectRedis(server);
    onTestFinished(async () => {
      client.disconnect();
      await server.destroy();
    });
    const counted = ['evalsha', 'time', 'get', 'set', 'hset', 'pttl', 'pexpire'];
    const commands = async (): Promise<Record<string, number>> => {
      const out: Record<string, number> = Object.fromEntries(counted.map((c) => [c, 0]));
      for (const m of (await client.info('commandstats')).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
        if (counted.includes(m[1] as string)) out[m[1] as string] = Number(m[2]);
      }
      return out;
    };
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw' });
    const spec: LimitSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 0.001, burst: 0 };
    await client.config('RESETSTAT');
    expect((await store.consume({ key: 'a', spec, cost: 1 })).remaining).toBe(4);
    expect(await commands()).toEqual({ evalsha: 1, time: 1, get: 1, set: 1, hset: 1, pttl: 1, pexpire: 1 });
    await client.config('RESETSTAT');
    for (let i = 0; i < 4; i++) expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(true);
    expect(await commands()).toEqual({ evalsha: 4, time: 4, get: 4, set: 4, hset: 0, pttl: 0, pexpire: 0 });
    // A denial writes the state only in a new second (the next test pins that with its own clock;
    // here Redis TIME may just have crossed into one).
    await client.config('RESETSTAT');
    expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(false);
    const denial = await commands();
    expect(denial['set']).toBeLessThanOrEqual(1);
    expect({ ...denial, set: 0 }).toEqual({ evalsha: 1, time: 1, get: 1, set: 0, hset: 0, pttl: 0, pexpire: 0 });
    // A changed spec under the same limit id: the index is rewritten so admin reads show it.
    const wider: LimitSpec = { ...spec, capacity: 8 };
    await client.config('RESETSTAT');
    expect((await store.consume({ key: 'a', spec: wider, cost: 1 })).allowed).toBe(true);
    expect((await commands())['hset']).toBe(1);
    expect((await store.get('a'))?.limits['default']).toMatchObject({ limit: 8, remaining: 2 });
    const ttls = await Promise.all((await client.keys('*')).map(async (k) => [k, await client.pttl(k)] as const));
    const index = ttls.find(([k]) => k.endsWith(':index'));
    const state = ttls.find(([k]) => k.endsWith(':default'));
    expect(state?.[1]).toBeGreaterThan(0);
    expect(index?.[1]).toBeGreaterThanOrEqual(state?.[1] ?? Infinity);
    // The state ('tat|seen|expiryMinute|specTag') fits Redis's one-allocation string (44 bytes).
    expect(await client.object('ENCODING', state?.[0] as string)).toBe('embstr');
  });

  it("with timeSource 'local' a consume reads Redis TIME only to measure the clock offset, once per timeSyncMs", async () => {
    // Its own server: INFO commandstats counts every client's commands.
    const server = await startRedisServer();
    const client = await connectRedis(server);
    onTestFinished(async () => {
      client.disconnect();
      await server.destroy();
    });
    const times = async (): Promise<number> => Number(/cmdstat_time:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
    // The local clock, far from Redis time: the store's time is it plus the measured offset.
    const clock = new ManualClock(1_000_000);
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', clock, timeSource: 'local', timeSyncMs: 1000 });
    const spec: LimitSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 1, burst: 0 };
    await client.config('RESETSTAT');
    // The first decisions measure (all that go before a measurement has come back).
    expect((await store.consume({ key: 'a', spec, cost: 1 })).remaining).toBe(4);
    expect(await times()).toBe(1);
    const [seconds] = await client.time();
    expect(Math.abs((store.now?.() ?? NaN) - Number(seconds) * 1000)).toBeLessThan(2000);
    const measured = store.now?.() ?? NaN;
    await client.config('RESETSTAT');
    // Then the local clock plus the offset: the bucket empties one token per decision, 300 ms
    // apart, each taking 1000 ms of refill.
    for (let i = 0; i < 3; i++) {
      clock.advance(300);
      expect(await store.consume({ key: 'a', spec, cost: 1 })).toMatchObject({ allowed: true, resetAt: measured + 1000 * (i + 2) });
    }
    expect(await times()).toBe(0);
    // The state as a Redis-time decision writes it: last seen in whole seconds of that time, a
    // TTL counted from it (not padded, as injected test time is).
    const [, keys] = await client.scan('0', 'MATCH', '*:default', 'COUNT', 1000);
    const state = keys[0] as string;
    expect((await client.get(state))?.split('|')[1]).toBe(String(Math.floor((store.now?.() ?? NaN) / 1000)));
    expect(await client.pttl(state)).toBeLessThan(120_000);
    // A second after the measurement, the next decision measures again.
    clock.advance(100);
    await store.consume({ key: 'a', spec, cost: 1 });
    expect(await times()).toBe(1);
    // A local clock stepped back before the measurement measures again at once.
    clock.advance(-1);
    await store.consume({ key: 'a', spec, cost: 1 });
    expect(await times()).toBe(2);
    // Until a first measurement has come back, every decision measures (none runs on the
    // uncorrected local clock).
    const fresh = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', clock, timeSource: 'local' });
    await client.config('RESETSTAT');
    await Promise.all([1, 2, 3].map(() => fresh.consume({ key: 'a', spec, cost: 1 })));
    expect(await times()).toBe(3);
    await fresh.consume({ key: 'a', spec, cost: 1 });
    expect(await times()).toBe(3);
    // The clock steps forward an hour (only an injected one can; the store's own is monotonic):
    // the decisions sent while the new measurement is in flight measure too, so none runs an
    // hour ahead of Redis and locks its client out for that hour.
    clock.advance(3_600_000);
    await client.config('RESETSTAT');
    const during = await Promise.all(['b', 'c', 'd'].map((key) => fresh.consume({ key, spec, cost: 1 })));
    expect(await times()).toBe(3);
    for (const decision of during) expect(decision.resetAt - (fresh.now?.() ?? NaN)).toBeLessThan(5000);
  });

  it('a bucket denial records the activity only once per second (last-seen times are whole seconds)', async () => {
    // Its own server: INFO commandstats counts every client's commands.
    const server = await startRedisServer();
    const client = await connectRedis(server);
    onTestFinished(async () => {
      client.disconnect();
      await server.destroy();
    });
    const sets = async (): Promise<number> => Number(/cmdstat_set:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
    const clock = new ManualClock(1_700_000_000_000);
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', clock });
    const spec: LimitSpec = { algorithm: 'gcra', capacity: 1, refillPerSecond: 0.001, burst: 0 };
    expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(true);
    const first = clock.now();
    await client.config('RESETSTAT');
    clock.advance(999);
    expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(false);
    expect(await sets()).toBe(0);
    expect((await store.get('a'))?.lastSeen).toBe(first);
    clock.advance(1);
    expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(false);
    expect(await sets()).toBe(1);
    expect((await store.get('a'))?.lastSeen).toBe(clock.now());
    // More than the bucket can ever hold is a denial too.
    await client.config('RESETSTAT');
    clock.advance(500);
    expect((await store.consume({ key: 'a', spec, cost: 2 })).exceedsLimit).toBe(true);
    expect(await sets()).toBe(0);
    clock.advance(500);
    expect((await store.consume({ key: 'a', spec, cost: 2 })).exceedsLimit).toBe(true);
    expect(await sets()).toBe(1);
    expect((await store.get('a'))?.lastSeen).toBe(clock.now());
  });

  it('gives a bucket state a TTL of its TAT plus a margin of the bucket size (tau), and the index a minute more, when new and when extended', async () => {
    const p = prefix();
    const clock = new ManualClock(1_700_000_000_000);
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', clock });
    // interval 1e6 ms, tau = (5 + 2) * 1e6: a state needs 1e6 ms (plus the hour an injected
    // clock pads TTLs with), and gets tau more to spare.
    const spec: LimitSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 0.001, burst: 2 };
    const keep = 1e6 + 3_600_000 + 7e6;
    const ttls = async (): Promise<void> => {
      const [, keys] = await client.scan('0', 'MATCH', `${p}*`, 'COUNT', 1000);
      const state = await client.pttl(keys.find((k) => k.endsWith(':default')) as string);
      const index = await client.pttl(keys.find((k) => k.endsWith(':index')) as string);
      expect(state).toBeGreaterThan(keep - 5000);
      expect(state).toBeLessThanOrEqual(keep);
      expect(index).toBeGreaterThan(keep + 60_000 - 5000);
      expect(index).toBeLessThanOrEqual(keep + 60_000);
    };
    expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(true);
    await ttls();
    // Past the bound the first write set, a known limit (no index write) extends both TTLs
    // (shortened here, so the extension shows).
    const [, keys] = await client.scan('0', 'MATCH', `${p}*`, 'COUNT', 1000);
    for (const k of keys) await client.pexpire(k, 1e6);
    clock.advance(10e6);
    expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(true);
    await ttls();
  });

  it('gives every key a TTL and puts all of a client’s keys in one hash tag', async () => {
    const p = prefix();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const key = 'we{ird}:key';
    for (const [label, spec] of Object.entries(CONTRACT_SPECS)) {
      await store.consume({ key, limitId: label, spec, cost: 1, adaptive: adaptiveConfig() });
    }
    await store.record(key, 'success', adaptiveConfig());
    await store.reserve(key, { algorithm: 'gcra', capacity: 1, refillPerSecond: 1, burst: 0 }, 1, 1000);
    const [, keys] = await client.scan('0', 'MATCH', `${p}*`, 'COUNT', 1000);
    expect(keys.length).toBe(Object.keys(CONTRACT_SPECS).length + 3); // limits, reserve, score, index
    for (const k of keys) {
      expect(await client.pttl(k)).toBeGreaterThan(0);
      // The hash tag is the text between the first '{' and the next '}': the whole client key.
      expect(k.slice(k.indexOf('{') + 1, k.indexOf('}'))).toBe('we%7Bird%7D:key');
    }
  });

  it('keeps every TTL through refunds, also of one of two requests logged at the same instant', async () => {
    const p = prefix();
    // Injected time: both consumes fall on one instant, so an exact window logs them as one entry.
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', clock: new ManualClock(Date.UTC(2026, 0, 1)) });
    for (const [label, spec] of Object.entries(CONTRACT_SPECS)) {
      await store.consume({ key: 'k', limitId: label, spec, cost: 1 });
      await store.consume({ key: 'k', limitId: label, spec, cost: 1 });
      await store.refund({ key: 'k', limitId: label, spec, cost: 1 });
    }
    const [, keys] = await client.scan('0', 'MATCH', `${p}*`, 'COUNT', 1000);
    expect(keys.length).toBe(Object.keys(CONTRACT_SPECS).length + 1); // limits, index
    for (const k of keys) expect(await client.pttl(k), k).toBeGreaterThan(0);
    // And each refund gave back one of the two: one unit stays used.
    const view = await store.get('k');
    for (const label of Object.keys(CONTRACT_SPECS)) {
      const limit = view?.limits[label]?.limit as number;
      expect(view?.limits[label]?.remaining, label).toBe(limit - 1);
    }
  });

  it("keeps a client's index a compact listpack: each limit's entry is a short text that admin reads turn back into its spec", async () => {
    const p = prefix();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const specs: Record<string, LimitSpec> = {
      ...CONTRACT_SPECS,
      large: { algorithm: 'token-bucket', capacity: 1e9, refillPerSecond: 0.001, burst: 0 },
      fractional: { algorithm: 'gcra', capacity: 12.5, refillPerSecond: 1 / 3, burst: 0.25 },
    };
    const adaptive = adaptiveConfig();
    for (const [label, spec] of Object.entries(specs)) {
      await store.consume({ key: 'plain', limitId: label, spec, cost: 1 });
      await store.consume({ key: 'scored', limitId: label, spec, cost: 1, adaptive });
    }
    // A multiplier of about 1.5: the scored client's limits are scaled, the plain one's are not.
    for (let i = 0; i < 25; i++) await store.record('scored', 'success', adaptive);
    for (const key of ['plain', 'scored']) {
      // Redis keeps a hash as a listpack while every value is within hash-max-listpack-value (64
      // bytes by default); the spec as JSON took 80-100 bytes and made it a hash table.
      expect(await client.call('OBJECT', 'ENCODING', `${p}{${key}}:index`), key).toBe('listpack');
      const view = await store.get(key);
      const multiplier = key === 'scored' ? (view?.multiplier as number) : 1;
      if (key === 'scored') expect(multiplier).toBeGreaterThan(1.3);
      for (const [label, base] of Object.entries(specs)) {
        const spec = scaleSpec(base, multiplier);
        const limit = spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra' ? Math.floor(spec.capacity + spec.burst + 1e-9) : spec.limit;
        expect(view?.limits[label]?.limit, `${key} ${label}`).toBe(limit);
      }
    }
    // The score too, with outcomes recorded and carried by a decision; and the multiplier an admin
    // read computes from it is the one a decision applies.
    const noting = createRedisStore({ client, prefix: p, onStoreError: 'throw', notes: { perKey: 10, flushMs: 1e9 } });
    noting.note('scored', 'success', adaptive);
    const decided = await noting.consume({ key: 'scored', spec: specs['large'] as LimitSpec, cost: 1, adaptive });
    const score = `${p}{scored}:score`;
    expect(await client.call('OBJECT', 'ENCODING', score)).toBe('listpack');
    expect((await store.get('scored'))?.multiplier).toBeCloseTo(decided.multiplier, 3);
    // A score whose config an older store wrote as JSON is still read.
    await client.hset(score, 'c', JSON.stringify(adaptive));
    expect((await store.get('scored'))?.multiplier).toBeCloseTo(decided.multiplier, 3);
    await noting.close();
  });

  it('rejects bad options at construction, naming them', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ client: {} }, 'client'],
      [{ client, prefix: 'a{b}' }, 'prefix'],
      [{ client, timeoutMs: 0 }, 'timeoutMs'],
      // Past 2^31 - 1 ms setTimeout fires at once: every call would time out.
      [{ client, timeoutMs: 2 ** 31 }, 'timeoutMs'],
      [{ client, onStoreError: 'maybe' }, 'onStoreError'],
      [{ client, blockedCache: { maxKeys: -1 } }, 'blockedCache.maxKeys'],
      [{ client, blockedCache: 'yes' }, 'blockedCache'],
      [{ client, blockedCache: [] }, 'blockedCache'],
      // Else the first outage would answer with a TypeError, even in 'fallback' mode.
      [{ client, fallback: { name: 'oops' } }, 'fallback'],
      [{ client, fallback: null }, 'fallback'],
      [{ client, timeSource: 'remote' }, 'timeSource'],
      [{ client, timeSource: 'local', timeSyncMs: 0 }, 'timeSyncMs'],
      [{ client, timeSyncMs: Infinity }, 'timeSyncMs'],
    ];
    for (const [options, option] of bad) {
      let error: unknown;
      try {
        createRedisStore(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(LimiterError);
      expect((error as LimiterError).option).toBe(option);
    }
  });

  it('warns once at construction when the ioredis options risk hung or replayed decisions', () => {
    const { host, port } = sharedRedisAddress();
    const risky = new Redis({ host, port, lazyConnect: true });
    const safe = new Redis({
      host,
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
    });
    const riskyLog = recordingLogger();
    createRedisStore({ client: risky, logger: riskyLog });
    expect(riskyLog.calls.filter((c) => c.level === 'warn')).toHaveLength(1);
    const safeLog = recordingLogger();
    createRedisStore({ client: safe, logger: safeLog });
    expect(safeLog.calls).toHaveLength(0);
    risky.disconnect();
    safe.disconnect();
  });
});

describe('time comes from Redis', () => {
  const spec: LimitSpec = { algorithm: 'token-bucket', capacity: 10, refillPerSecond: 1, burst: 0 };

  it('two instances whose clocks are 30 s apart share one budget', async () => {
    const p = prefix();
    const a = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const b = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const realNow = Date.now.bind(Date);
    let admitted = 0;
    for (let i = 0; i < 20; i++) {
      const useB = i % 2 === 1;
      // Instance B's host clock runs 30 s ahead while it decides.
      const skew = useB ? vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 30_000) : undefined;
      const pending = (useB ? b : a).consume({ key: 'shared', spec, cost: 1 });
      skew?.mockRestore();
      if ((await pending).allowed) admitted++;
    }
    expect(admitted).toBe(10);
  });

  it('(why: with each instance’s own clock, 30 s of skew would refill the bucket and double the budget)', async () => {
    const p = prefix();
    const clockA = new ManualClock(1_700_000_000_000);
    const clockB = new ManualClock(1_700_000_030_000);
    const a = createRedisStore({ client, prefix: p, clock: clockA, onStoreError: 'throw' });
    const b = createRedisStore({ client, prefix: p, clock: clockB, onStoreError: 'throw' });
    let admitted = 0;
    for (let i = 0; i < 20; i++) if ((await (i < 10 ? a : b).consume({ key: 'shared', spec, cost: 1 })).allowed) admitted++;
    expect(admitted).toBe(20);
  });
});

describe('blocked cache', () => {
  it('answers a client over its limit without a Redis call until its retry time', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const evalsha = vi.spyOn(client, 'evalsha');
    const store = createRedisStore({ client, prefix: prefix(), clock, onStoreError: 'throw', blockedCache: true });
    const spec: LimitSpec = { algorithm: 'fixed-window', limit: 2, windowMs: 10_000 };
    await store.consume({ key: 'c', spec, cost: 1 });
    await store.consume({ key: 'c', spec, cost: 1 });
    const denied = await store.consume({ key: 'c', spec, cost: 1 });
    expect(denied.allowed).toBe(false);
    const calls = evalsha.mock.calls.length;
    clock.advance(denied.retryAfter - 1);
    for (let i = 0; i < 50; i++) {
      const d = await store.consume({ key: 'c', spec, cost: 1 });
      expect(d).toMatchObject({ allowed: false, retryAfter: 1 });
    }
    expect(evalsha.mock.calls.length).toBe(calls);
    // A different client, or a different limit of this client, still goes to Redis.
    expect((await store.consume({ key: 'c', limitId: 'other', spec, cost: 1 })).allowed).toBe(true);
    expect(evalsha.mock.calls.length).toBe(calls + 1);
    clock.advance(1);
    expect((await store.consume({ key: 'c', spec, cost: 1 })).allowed).toBe(true);
    expect(evalsha.mock.calls.length).toBe(calls + 2);
    evalsha.mockRestore();
  });

  it('a cached denial never tells a costlier request to retry sooner than Redis would', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = createRedisStore({ client, prefix: prefix(), clock, onStoreError: 'throw', blockedCache: true });
    const uncached = createRedisStore({ client, prefix: prefix(), clock, onStoreError: 'throw' });
    const spec: LimitSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 1, burst: 0 };
    for (const s of [store, uncached]) {
      expect((await s.consume({ key: 'c', spec, cost: 5 })).allowed).toBe(true);
      expect(await s.consume({ key: 'c', spec, cost: 1 })).toMatchObject({ allowed: false, retryAfter: 1000 });
    }
    // A login costing 5 after a denied GET costing 1: it needs the whole bucket back.
    const truth = await uncached.consume({ key: 'c', spec, cost: 5 });
    expect(truth).toMatchObject({ allowed: false, retryAfter: 5000 });
    expect(await store.consume({ key: 'c', spec, cost: 5 })).toMatchObject({ allowed: false, retryAfter: 5000 });
  });

  it('forgets a client on reset', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = createRedisStore({ client, prefix: prefix(), clock, onStoreError: 'throw', blockedCache: { maxKeys: 10 } });
    const spec: LimitSpec = { algorithm: 'fixed-window', limit: 1, windowMs: 10_000 };
    await store.consume({ key: 'c', spec, cost: 1 });
    expect((await store.consume({ key: 'c', spec, cost: 1 })).allowed).toBe(false);
    await store.reset('c');
    expect((await store.consume({ key: 'c', spec, cost: 1 })).allowed).toBe(true);
  });
});

describe('shared config', () => {
  it('a change made through one instance is read by every other at once; polling is cheap', async () => {
    const p = prefix();
    const a = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const b = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    expect(await b.configVersion()).toBe(0);
    expect(await a.setConfig({ costs: { '/api/v1/auth/login': 5 } })).toBe(1);
    expect(await b.configVersion()).toBe(1);
    const first = await b.getConfig();
    expect(first).toEqual({ version: 1, data: { costs: { '/api/v1/auth/login': 5 } } });
    // Unchanged: the same object back, and Redis sent only the version.
    expect(await b.getConfig()).toBe(first);
    await a.setConfig({ costs: {} });
    expect(await b.getConfig()).toEqual({ version: 2, data: { costs: {} } });
  });
});

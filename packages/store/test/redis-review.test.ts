/**
 * Regressions from the review of the flat bucket script, the shared deadline queue and note():
 * each test here failed before its fix, except the one for a resend that throws or a reply that is no
 * promise, which guards those paths since the consume sends its command before setting up handlers.
 */
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { adaptiveConfig } from '@micboard/limiter-core';
import type { RateSpec } from '@micboard/limiter-core';
import { createRedisStore } from '@micboard/limiter-store/redis';
import { useSharedRedis } from './fixtures/shared-redis.js';
import { Deadlines } from '../src/redis/guard.js';
import { SCRIPTS } from '../src/redis/scripts.js';
import { ManualClock } from '@micboard/limiter-core/testing';

let client: Redis;
const { prefix } = useSharedRedis('review', (connected) => (client = connected));

/**
 * A stand-in for an ioredis client, with the options the store does not warn about: `evalsha` and
 * `eval` as given, `eval` failing unless a test expects it.
 */
function fakeClient(calls: { evalsha: (...args: unknown[]) => unknown; eval?: (...args: unknown[]) => unknown }): never {
  return {
    isCluster: false as const,
    options: { enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false },
    scan: () => Promise.resolve(['0', []]),
    eval: calls.eval ?? (() => Promise.reject(new Error('eval not expected'))),
    evalsha: calls.evalsha,
  } as never;
}
/** Resolves 'pending' when `promise` has not settled within `ms`. */
const within = <T>(promise: T | Promise<T>, ms = 1000): Promise<T | 'pending'> =>
  Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

describe('redis store: TTLs are whole ms', () => {
  // Full refill times of 142 857.14... ms and 333 333.33... ms: over a minute and fractional.
  const specs: RateSpec[] = [
    { algorithm: 'gcra', capacity: 100, refillPerSecond: 0.7, burst: 0 },
    { algorithm: 'token-bucket', capacity: 1000, refillPerSecond: 3, burst: 0 },
  ];
  for (const spec of specs) {
    it(`consume, refund and reserve succeed on a ${spec.algorithm} of ${spec.capacity} at ${spec.refillPerSecond}/s`, async () => {
      const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', timeoutMs: 5000 });
      const first = await store.consume({ key: 'a', spec, cost: 1 });
      expect(first.allowed).toBe(true);
      expect((await store.consume({ key: 'a', spec, cost: 1 })).remaining).toBe(first.remaining - 1);
      await store.refund({ key: 'a', spec, cost: 1 });
      expect((await store.reserve('a', spec, 1, 0)).granted).toBe(true);
      expect(store.degraded).toBe(false);
      await store.close();
    });
  }

  it('an adaptive multiplier of 1.1 scales a bucket without a fractional TTL', async () => {
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', timeoutMs: 5000 });
    const adaptive = adaptiveConfig({ min: 1, max: 2, successStep: 0.1, idleHalfLifeMs: 1e12 });
    expect(await store.record('a', 'success', adaptive)).toBeCloseTo(1.1, 9);
    const spec: RateSpec = { algorithm: 'token-bucket', capacity: 100, refillPerSecond: 0.7, burst: 0 };
    const decision = await store.consume({ key: 'a', spec, cost: 1, adaptive });
    expect(decision.allowed).toBe(true);
    expect(decision.multiplier).toBeCloseTo(1.1, 6);
    await store.refund({ key: 'a', spec, cost: 1, adaptive });
    // Carried outcomes, then the scaled decision.
    store.note('a', 'success', adaptive);
    expect((await store.consume({ key: 'a', spec, cost: 1, adaptive })).allowed).toBe(true);
    expect(store.degraded).toBe(false);
    await store.close();
  });
});

describe('redis store: every call settles once', () => {
  const spec: RateSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 1, burst: 0 };

  it('a client that throws instead of rejecting is answered by onStoreError', async () => {
    const fake = fakeClient({
      evalsha: () => {
        throw new TypeError('boom');
      },
    });
    const store = createRedisStore({ client: fake, onStoreError: 'fail-open', timeoutMs: 50 });
    const decision = await within(store.consume({ key: 'a', spec, cost: 1 }));
    expect(decision).toMatchObject({ allowed: true });
    expect(store.degraded).toBe(true);
  });

  it('a reply the decision cannot be read from is answered by onStoreError, not left pending', async () => {
    const fake = fakeClient({
      evalsha: () =>
        Promise.resolve({
          toString(): string {
            throw new Error('unreadable');
          },
        }),
    });
    const store = createRedisStore({ client: fake, onStoreError: 'fail-closed', timeoutMs: 50 });
    const decision = await within(store.consume({ key: 'a', spec, cost: 1 }));
    expect(decision).toMatchObject({ allowed: false });
  });

  it('a client that throws on the NOSCRIPT resend, or answers with no promise, is answered by onStoreError', async () => {
    const resendThrows = fakeClient({
      eval: () => {
        throw new TypeError('boom on resend');
      },
      evalsha: () => Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.')),
    });
    const first = createRedisStore({ client: resendThrows, onStoreError: 'fail-closed', timeoutMs: 50 });
    expect(await within(first.consume({ key: 'a', spec, cost: 1 }))).toMatchObject({ allowed: false });
    expect(first.degraded).toBe(true);

    const noPromise = fakeClient({ evalsha: () => 42 });
    const second = createRedisStore({ client: noPromise, onStoreError: 'fail-open', timeoutMs: 50 });
    expect(await within(second.consume({ key: 'a', spec, cost: 1 }))).toMatchObject({ allowed: true });
    expect(second.degraded).toBe(true);
  });

  it('a throwing expire does not stop the deadline sweep: the calls behind it still time out', async () => {
    const deadlines = new Deadlines(5);
    const expired: string[] = [];
    deadlines.track('first', () => {
      throw new Error('caller bug');
    });
    deadlines.track('second', (error) => expired.push(error.code));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(expired).toEqual(['STORE_TIMEOUT']);
    // And the sweep is re-armed for what comes next.
    deadlines.track('third', (error) => expired.push(error.code));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(expired).toEqual(['STORE_TIMEOUT', 'STORE_TIMEOUT']);
  });
});

describe('redis store: the bucket consume declares every key it may touch', () => {
  it('the index goes in KEYS (Redis Cluster fails undeclared keys while a slot migrates)', async () => {
    const p = prefix();
    const sent: string[][] = [];
    const spy = fakeClient({
      eval: (...args: unknown[]) => (client.eval as (...a: unknown[]) => Promise<unknown>)(...args),
      evalsha: (...args: unknown[]) => {
        const flat = args.flat() as (string | number)[];
        sent.push(flat.slice(2, 2 + Number(flat[1])).map(String));
        return (client.evalsha as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    });
    const store = createRedisStore({ client: spy, prefix: p, onStoreError: 'throw', timeoutMs: 5000 });
    const spec: RateSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 1, burst: 0 };
    const adaptive = adaptiveConfig();
    await store.consume({ key: 'a', spec, cost: 1 });
    store.note('a', 'success', adaptive);
    await store.consume({ key: 'a', spec, cost: 1, adaptive, limitId: 'x' });
    expect(sent).toEqual([
      [`${p}{a}:l:default`, `${p}{a}:index`],
      [`${p}{a}:l:x`, `${p}{a}:index`, `${p}{a}:score`],
    ]);
    // And the index it wrote is the declared one.
    expect(Object.keys(await client.hgetall(`${p}{a}:index`)).filter((f) => f.startsWith('l:')).sort()).toEqual(['l:default', 'l:x']);
  });
});

describe('redis store: outcomes carried by a decision are activity', () => {
  for (const how of ['note', 'record'] as const) {
    it(`with ${how}(): lastSeen is the activity time and cleanup keeps the client after its bucket state expired`, async () => {
      const p = prefix();
      const clock = new ManualClock(1_700_000_000_000);
      const store = createRedisStore({ client, prefix: p, clock, onStoreError: 'throw', timeoutMs: 5000, notes: { flushMs: 1e9 } });
      const spec: RateSpec = { algorithm: 'token-bucket', capacity: 10, refillPerSecond: 10, burst: 0 };
      const adaptive = adaptiveConfig();
      await store.consume({ key: 'a', spec, cost: 1, adaptive });
      clock.advance(5000);
      const active = clock.now();
      if (how === 'note') store.note('a', 'neutral', adaptive);
      else await store.record('a', 'neutral', adaptive);
      await store.consume({ key: 'a', spec, cost: 1, adaptive });
      // The bucket state lives about a minute past its need (in Redis time): gone, as it would be.
      await client.del(`${p}{a}:l:default`);
      clock.advance(64_000);
      expect((await store.get('a'))?.lastSeen).toBe(active);
      expect(await store.cleanup(3_600_000)).toBe(0);
      expect(await store.get('a')).toBeDefined();
      await store.close();
    });
  }
});

describe('redis store: bucket states written by the previous store format', () => {
  // 'tat|seenMs|indexExpiryMinute|tag' with the exact TTL that store gave it; the minute bounded
  // the index only.
  const START = 1_700_000_000_000;
  const spec: RateSpec = { algorithm: 'token-bucket', capacity: 10, refillPerSecond: 1, burst: 0 };
  const oldState = async (p: string, limitId: string, tat: number, seenMs: number): Promise<void> => {
    const minute = Math.floor((START + 86_400_000) / 60000);
    await client.set(`${p}{a}:l:${limitId}`, `${tat}|${seenMs}|${minute}|1a2b3c`, 'PX', Math.ceil(tat - START) + 3_600_000);
  };

  it('a decision gives the state the TTL its new TAT needs (the old bound is not trusted)', async () => {
    const p = prefix();
    const clock = new ManualClock(START);
    const store = createRedisStore({ client, prefix: p, clock, onStoreError: 'throw', timeoutMs: 5000 });
    await oldState(p, 'default', START + 5000, START);
    const decision = await store.consume({ key: 'a', spec, cost: 1 });
    expect(decision).toMatchObject({ allowed: true, remaining: 4 });
    // The new TAT is 6 s ahead (plus the hour injected time pads TTLs with).
    expect(await client.pttl(`${p}{a}:l:default`)).toBeGreaterThan(3_606_000);
    // Rewritten in this format: last-seen in seconds.
    expect((await client.get(`${p}{a}:l:default`))?.split('|')[1]).toBe(String(START / 1000));
  });

  it('a reservation does too, and keeps last-seen in seconds', async () => {
    const p = prefix();
    const clock = new ManualClock(START);
    const store = createRedisStore({ client, prefix: p, clock, onStoreError: 'throw', timeoutMs: 5000 });
    await oldState(p, 'reserve', START + 5000, START + 2000);
    expect(await store.reserve('a', spec, 1, 0)).toEqual({ granted: true, delayMs: 0 });
    expect(await client.pttl(`${p}{a}:l:reserve`)).toBeGreaterThan(3_606_000);
    expect((await client.get(`${p}{a}:l:reserve`))?.split('|')[1]).toBe(String((START + 2000) / 1000));
  });

  it('get and cleanup read its last-seen as ms', async () => {
    const p = prefix();
    const clock = new ManualClock(START + 7_200_000);
    const store = createRedisStore({ client, prefix: p, clock, onStoreError: 'throw', timeoutMs: 5000 });
    await oldState(p, 'default', START + 5000, START);
    // The index entry as that store wrote it: the spec as JSON.
    await client.hset(`${p}{a}:index`, 'l:default', JSON.stringify({ spec }));
    await client.pexpire(`${p}{a}:index`, 7_200_000);
    const view = await store.get('a');
    expect(view?.lastSeen).toBe(START);
    expect(view?.limits['default']?.limit).toBe(10);
    // Idle for two hours: an hour's cleanup takes it.
    expect(await store.cleanup(3_600_000)).toBe(1);
  });
});

describe('redis store: index entries a consume would refuse', () => {
  it('an admin read skips a limit whose index entry holds a spec validateSpec refuses (a 7.7 ms window an older version took)', async () => {
    const p = prefix();
    const clock = new ManualClock(1_700_000_000_000);
    const store = createRedisStore({ client, prefix: p, clock, onStoreError: 'throw', timeoutMs: 5000 });
    await store.consume({ key: 'a', spec: { algorithm: 'fixed-window', limit: 5, windowMs: 1000 }, cost: 1 });
    for (const [field, value] of [
      ['l:old', 'f|5|7.7'],
      ['l:zero', 'e|5|0'],
      ['l:half', 'x|1.5|1000'],
      ['l:json', JSON.stringify({ spec: { algorithm: 'fixed-window', limit: 5, windowMs: 7.7 } })],
    ]) {
      await client.hset(`${p}{a}:index`, field as string, value as string);
    }
    const view = await store.get('a');
    expect(Object.keys(view?.limits ?? {})).toEqual(['default']);
    expect(view?.limits['default']).toMatchObject({ limit: 5, remaining: 4 });
    await store.close();
  });
});

describe('redis store: a caller mistake is not an outage', () => {
  it('a bad adaptive config or key fails that call and leaves Redis up for everyone', async () => {
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'fail-closed' });
    const spec: RateSpec = { algorithm: 'token-bucket', capacity: 10, refillPerSecond: 1, burst: 0 };
    await expect(async () => store.record('bad', 'success', null as never)).rejects.toMatchObject({ option: 'adaptive' });
    await expect(async () => store.consume({ key: 'bad', spec, cost: 1, adaptive: 1 as never })).rejects.toMatchObject({ option: 'adaptive' });
    await expect(async () => store.consume({ key: 42 as never, spec, cost: 1 })).rejects.toMatchObject({ option: 'key' });
    expect(store.degraded).toBe(false);
    expect((await store.consume({ key: 'someone-else', spec, cost: 1 })).allowed).toBe(true);
    await store.close();
  });
});

describe('redis store: the blocked cache and refunds', () => {
  it('a refund lifts a cached denial of that limit: the next request asks Redis again', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', blockedCache: true, clock });
    const spec = { algorithm: 'fixed-window', limit: 1, windowMs: 60_000 } as const;
    const taken = await store.consume({ key: 'k', spec, cost: 1 });
    expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(false);
    await store.refund({ key: 'k', spec, cost: 1, takenResetAt: taken.resetAt });
    expect((await store.consume({ key: 'k', spec, cost: 1 })).allowed).toBe(true);
    await store.close();
  });
});

describe('redis store: options a store cannot work with are refused', () => {
  it('scoreTtlMs past what a script writes as an integer TTL, and a logger without its methods', () => {
    expect(() => createRedisStore({ client, scoreTtlMs: 1e17 })).toThrow(/^scoreTtlMs must be at most/);
    expect(() => createRedisStore({ client, logger: { info() {}, warn() {} } as never })).toThrow(/^logger must be/);
  });
});

describe('redis store: reset and cleanup against a limit first used while they run', () => {
  it("a limit another instance first uses between reset()'s index read and its delete goes too", async () => {
    const p = prefix();
    const other = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const spec: RateSpec = { algorithm: 'token-bucket', capacity: 2, refillPerSecond: 0.01, burst: 0 };
    let hook: (() => unknown) | undefined;
    const forward = (name: 'eval' | 'evalsha') => (...args: unknown[]) => (client[name] as (...a: unknown[]) => Promise<unknown>)(...args);
    const wrapped = {
      isCluster: false as const,
      options: { enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false },
      scan: (...args: unknown[]) => (client.scan as (...a: unknown[]) => Promise<unknown>)(...args),
      eval: forward('eval'),
      evalsha: async (...args: unknown[]) => {
        if (args[0] === SCRIPTS.delete.sha && hook !== undefined) {
          const run = hook;
          hook = undefined;
          await run();
        }
        return forward('evalsha')(...args);
      },
    } as never;
    const admin = createRedisStore({ client: wrapped, prefix: p, onStoreError: 'throw' });
    await other.consume({ key: 'c', spec, cost: 1 });
    hook = () => other.consume({ key: 'c', spec, cost: 2, limitId: 'login' });
    expect(await admin.reset('c')).toBe(true);
    expect(await client.keys(`${p}*`)).toEqual([]);
    expect((await other.consume({ key: 'c', spec, cost: 2, limitId: 'login' })).allowed).toBe(true);
    await Promise.all([admin.close(), other.close()]);
  });
});

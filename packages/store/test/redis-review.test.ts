/**
 * Regressions from the review of the flat bucket script, the shared deadline queue and note():
 * each test here failed before its fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { adaptiveConfig } from '@micboard/limiter-core';
import type { RateSpec } from '@micboard/limiter-core';
import { connectSharedRedis, deleteByPrefix, uniquePrefix } from '@micboard/test-utils';
import { createRedisStore } from '@micboard/limiter-store/redis';

let client: Redis;
const prefixes: string[] = [];
beforeAll(async () => {
  client = await connectSharedRedis();
});
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix([client], p);
  client?.disconnect();
});

function prefix(): string {
  const p = uniquePrefix('review');
  prefixes.push(p);
  return p;
}

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

/**
 * An error Redis answers for one call (a script error on one client's state) fails that call
 * alone: Redis stays up for every other client. Errors that mean no call can succeed now still
 * mark it down, as an unreachable Redis does.
 */
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { Logger, RateSpec } from '@micboard/limiter-core';
import { createRedisStore } from '@micboard/limiter-store/redis';
import { useSharedRedis } from './fixtures/shared-redis.js';

let client: Redis;
const { prefix } = useSharedRedis('call-errors', (connected) => (client = connected));

const spec: RateSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 1, burst: 0 };

function countingLogger(): Logger & { errors: string[]; infos: string[] } {
  const logger = {
    errors: [] as string[],
    infos: [] as string[],
    debug: () => undefined,
    info: (_fields: object, message: string) => {
      logger.infos.push(message);
    },
    warn: () => undefined,
    error: (_fields: object, message: string) => {
      logger.errors.push(message);
    },
  };
  return logger;
}

describe('redis store: errors Redis answers for one call', () => {
  it("a script error on one client's state fails that call only; the next client is decided by Redis", async () => {
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger });
    expect((await store.consume({ key: 'poisoned', spec, cost: 1 })).allowed).toBe(true);
    // Another program (or a bug) leaves a value of another type where the client's index goes:
    // the script's write to it fails (the state is dropped, so the next consume writes the index).
    const [stateKey] = await client.keys(`${p}{poisoned}:l:*`);
    expect(stateKey).toBeDefined();
    await client.del(stateKey as string);
    await client.set(`${p}{poisoned}:index`, 'not-a-hash');
    await expect(store.consume({ key: 'poisoned', spec, cost: 1 })).rejects.toThrow(/STORE_ERROR|failed/);
    // Redis answered: it is not down, and other clients are still decided there.
    expect(store.degraded).toBe(false);
    const other = await store.consume({ key: 'healthy', spec, cost: 1 });
    expect(other).toMatchObject({ allowed: true, remaining: 4 });
    // Logged, though not as an outage, and at most once a minute however often it recurs.
    await expect(store.consume({ key: 'poisoned', spec, cost: 1 })).rejects.toThrow();
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]).not.toMatch(/unreachable/);
    await store.close();
  });

  it('a token-bucket state the script cannot read counts as none and is replaced: the client is limited again', async () => {
    // Left in place, such a state would fail every call of the client until it expired, and a store
    // failing open would let the client through unlimited all that time.
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger });
    const values = ['not-a-number|x|y|z', 'garbage', '', 'nan|1795690000|29928166|tx', '1|2|inf|tx', '-inf', '12|1795690000|nope|t'];
    for (const [i, value] of values.entries()) {
      const key = `damaged-${i}`;
      await store.consume({ key, spec, cost: 1 });
      const [stateKey] = await client.keys(`${p}{${key}}:l:*`);
      await client.set(stateKey as string, value);
      // A full bucket (capacity 5): this call and four more admitted, the sixth denied.
      const first = await store.consume({ key, spec, cost: 1 });
      expect(first, value).toMatchObject({ allowed: true, remaining: 4 });
      for (let n = 0; n < 4; n++) expect((await store.consume({ key, spec, cost: 1 })).allowed, value).toBe(true);
      expect((await store.consume({ key, spec, cost: 1 })).allowed, value).toBe(false);
      expect(await client.get(stateKey as string), value).toMatch(/^\d+(\.\d+)?\|\d+\|\d+\|t/);
    }
    expect(logger.errors).toEqual([]);
    expect(store.degraded).toBe(false);
    await store.close();
  });

  it('a probe that Redis answers with such an error brings the store back up', async () => {
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'fail-open', timeoutMs: 5000, probeIntervalMs: 1, logger });
    const evalsha = client.evalsha.bind(client);
    // Unreachable first: the store marks Redis down.
    (client as { evalsha: unknown }).evalsha = () => Promise.reject(new Error('Connection is closed.'));
    try {
      await store.consume({ key: 'a', spec, cost: 1 });
      expect(store.degraded).toBe(true);
    } finally {
      (client as { evalsha: unknown }).evalsha = evalsha;
    }
    // The index holds another type: the script's write to it fails (see the test above).
    await client.set(`${p}{a}:index`, 'not-a-hash');
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The probe reaches Redis, which answers with a script error for this client: Redis is back.
    await store.consume({ key: 'a', spec, cost: 1 });
    expect(store.degraded).toBe(false);
    expect((await store.consume({ key: 'b', spec, cost: 1 })).remaining).toBe(4);
    await store.close();
  });

  for (const reply of ['LOADING Redis is loading the dataset in memory', 'READONLY You can\'t write against a read only replica.', 'BUSY Redis is busy running a script.']) {
    it(`"${reply.split(' ')[0]}" still marks Redis down: no call can succeed there now`, async () => {
      const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'fail-open', timeoutMs: 5000, logger: countingLogger() });
      const evalsha = client.evalsha.bind(client);
      const error = Object.assign(new Error(reply), { name: 'ReplyError' });
      (client as { evalsha: unknown }).evalsha = () => Promise.reject(error);
      try {
        expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(true);
        expect(store.degraded).toBe(true);
      } finally {
        (client as { evalsha: unknown }).evalsha = evalsha;
      }
      await store.close();
    });
  }
});

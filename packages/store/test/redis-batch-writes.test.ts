/**
 * batchWrites: while other calls are in flight, the commands sent before the event loop's check
 * phase leave in one socket write instead of one each, in their order, with the same decisions;
 * a lone call is written at once; `batchWrites: false` writes every command by itself.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import type { RateSpec } from '@micboard/limiter-core';
import { connectSharedRedis, deleteByPrefix, uniquePrefix } from '@micboard/test-utils';
import { createRedisStore } from '@micboard/limiter-store/redis';
import { countWrites } from './fixtures/socket-writes.js';

const spec: RateSpec = { algorithm: 'token-bucket', capacity: 40, refillPerSecond: 0.001, burst: 0 };
const window = { algorithm: 'sliding-window', limit: 40, windowMs: 60_000, precision: 'exact' } as const;

let client: Redis;
const prefixes: string[] = [];
const prefix = (): string => {
  const p = uniquePrefix('batch');
  prefixes.push(p);
  return p;
};

beforeAll(async () => {
  client = await connectSharedRedis();
});
afterAll(async () => {
  for (const p of prefixes) await deleteByPrefix([client], p);
  client.disconnect();
});

describe('redis store: batchWrites', () => {
  it('sends the consumes of one tick in one write, in order, with the decisions one at a time would get', async () => {
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', timeoutMs: 5000 });
    const writes = countWrites([client.stream]);
    try {
      const decisions = await Promise.all(Array.from({ length: 40 }, () => store.consume({ key: 'k', spec, cost: 1 })));
      // The first goes at once (nothing else in flight); the 39 sent behind it leave together.
      expect(writes.count()).toBe(2);
      expect(decisions.map((d) => d.remaining)).toEqual(Array.from({ length: 40 }, (_, i) => 39 - i));
      expect(decisions.every((d) => d.allowed)).toBe(true);
    } finally {
      writes.stop();
      await store.close();
    }
  });

  it('batches the other scripts too, and commands the application sends on the client between them', async () => {
    const p = prefix();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000 });
    const writes = countWrites([client.stream]);
    try {
      // The first goes at once; the second corks the socket, so the application's own commands
      // sent after it leave with the rest, in the order they were sent.
      const first = store.consume({ key: 'w', spec: window, cost: 1 });
      const second = store.consume({ key: 'w', spec: window, cost: 1 });
      const own = client.set(`${p}own`, 'before');
      const rest = Array.from({ length: 8 }, () => store.consume({ key: 'w', spec: window, cost: 1 }));
      const read = client.get(`${p}own`);
      const decisions = await Promise.all([first, second, ...rest]);
      expect(await own).toBe('OK');
      expect(await read).toBe('before');
      expect(writes.count()).toBe(2);
      expect(decisions.map((d) => d.remaining)).toEqual(Array.from({ length: 10 }, (_, i) => 39 - i));
    } finally {
      writes.stop();
      await store.close();
    }
  });

  it('writes a lone call at once, without waiting for the check phase', async () => {
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', timeoutMs: 5000 });
    const writes = countWrites([client.stream]);
    try {
      const pending = store.consume({ key: 'alone', spec, cost: 1 });
      // Written synchronously: the socket saw it before this tick ended.
      expect(writes.count()).toBe(1);
      expect((await pending).remaining).toBe(39);
    } finally {
      writes.stop();
      await store.close();
    }
  });

  it('writes a lone call at once after earlier calls have settled, on every path', async () => {
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', timeoutMs: 5000 });
    await store.consume({ key: 'w', spec: window, cost: 1 });
    await store.consume({ key: 'b', spec, cost: 1 });
    const writes = countWrites([client.stream]);
    try {
      // Nothing in flight, though the earlier calls' deadlines have not been swept yet.
      const pending = store.consume({ key: 'w', spec: window, cost: 1 });
      expect(writes.count()).toBe(1);
      expect((await pending).remaining).toBe(38);
      const bucket = store.consume({ key: 'b', spec, cost: 1 });
      expect(writes.count()).toBe(2);
      expect((await bucket).remaining).toBe(38);
    } finally {
      writes.stop();
      await store.close();
    }
  });

  it('releases the socket in the check phase even while a test fakes timers', async () => {
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', timeoutMs: 5000 });
    vi.useFakeTimers();
    try {
      const decisions = await Promise.all(Array.from({ length: 5 }, () => store.consume({ key: 'f', spec, cost: 1 })));
      expect(decisions.map((d) => d.remaining)).toEqual([39, 38, 37, 36, 35]);
    } finally {
      vi.useRealTimers();
      await store.close();
    }
  });

  it('with batchWrites: false writes every command by itself', async () => {
    const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'throw', timeoutMs: 5000, batchWrites: false });
    const writes = countWrites([client.stream]);
    try {
      const decisions = await Promise.all(Array.from({ length: 20 }, () => store.consume({ key: 'k', spec, cost: 1 })));
      expect(writes.count()).toBe(20);
      expect(decisions.map((d) => d.remaining)).toEqual(Array.from({ length: 20 }, (_, i) => 39 - i));
    } finally {
      writes.stop();
      await store.close();
    }
  });

  it('rejects a batchWrites that is not a boolean, naming the option and the value', () => {
    expect(() => createRedisStore({ client, batchWrites: 'yes' as unknown as boolean })).toThrow(/batchWrites.*"yes"|batchWrites.*yes/);
  });
});

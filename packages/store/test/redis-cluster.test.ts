/**
 * The contract suite on a 3-master Redis Cluster started for this file (machine's redis-server,
 * free loopback ports, temp dirs; torn down after). Every script touches only keys in one hash
 * slot, so a cross-slot mistake fails here with CROSSSLOT; list() must scan every master.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import { deleteByPrefix, startRedisCluster, testStore, uniquePrefix, type RedisClusterHarness } from '@micboard/test-utils';
import { createRedisStore } from '@micboard/limiter-store/redis';
import { countWrites } from './fixtures/socket-writes.js';

let harness: RedisClusterHarness;
let cluster: Cluster;
beforeAll(async () => {
  harness = await startRedisCluster(3);
  cluster = await harness.connect({ enableOfflineQueue: false });
}, 60_000);
afterAll(async () => {
  await cluster?.quit().catch(() => undefined);
  await harness?.destroy();
});

testStore(
  'redis (3-master cluster)',
  (clock) => {
    const prefix = uniquePrefix('cluster');
    const options = { client: cluster, prefix, clock, onStoreError: 'throw' as const, timeoutMs: 5000 };
    return {
      store: createRedisStore(options),
      clock,
      peer: () => createRedisStore(options),
      close: () => deleteByPrefix(cluster.nodes('master'), prefix),
    };
  },
  { numRuns: 1000 },
);

it('spreads clients over every master and lists them all', async () => {
  const prefix = uniquePrefix('cluster-list');
  const store = createRedisStore({ client: cluster, prefix, onStoreError: 'throw', timeoutMs: 5000 });
  const spec = { algorithm: 'fixed-window', limit: 5, windowMs: 60_000 } as const;
  const keys = Array.from({ length: 60 }, (_, i) => `client-${i}`);
  for (const key of keys) await store.consume({ key, spec, cost: 1 });
  const perMaster = await Promise.all(
    cluster.nodes('master').map(async (node) => (await node.keys(`${prefix}*:index`)).length),
  );
  expect(perMaster.every((n) => n > 0)).toBe(true);
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await store.list(cursor === undefined ? { limit: 7 } : { cursor, limit: 7 });
    seen.push(...page.clients.map((c) => c.key));
    cursor = page.cursor;
    if (cursor === undefined) break;
  }
  expect(seen.sort()).toEqual([...keys].sort());
  expect(await store.cleanup(0)).toBe(60);
  await deleteByPrefix(cluster.nodes('master'), prefix);
});

it('batchWrites: the consumes of one tick leave in one write per node', async () => {
  const prefix = uniquePrefix('cluster-batch');
  const store = createRedisStore({ client: cluster, prefix, onStoreError: 'throw', timeoutMs: 5000 });
  const spec = { algorithm: 'token-bucket', capacity: 10, refillPerSecond: 0.001, burst: 0 } as const;
  const keys = Array.from({ length: 30 }, (_, i) => `client-${i}`);
  // Every master holds some of these clients' slots: warm the connections first.
  for (const key of keys) await store.consume({ key, spec, cost: 1 });
  const writes = countWrites(cluster.nodes('all').map((node) => node.stream));
  try {
    const decisions = await Promise.all(keys.map((key) => store.consume({ key, spec, cost: 1 })));
    expect(decisions.every((d) => d.allowed && d.remaining === 8)).toBe(true);
    // The first at once, then one write for each master the other 29 went to.
    // At least two: the counting saw the sockets in use (the first, and the batch behind it).
    expect(writes.count()).toBeGreaterThanOrEqual(2);
    expect(writes.count()).toBeLessThanOrEqual(1 + cluster.nodes('master').length);
  } finally {
    writes.stop();
    await store.close();
    await deleteByPrefix(cluster.nodes('master'), prefix);
  }
});

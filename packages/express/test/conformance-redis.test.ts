import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createRedisStore, type RedisStore } from '@micboard/limiter-store/redis';
import { testAdapter } from '@micboard/test-utils';
import { expressHarness } from './harness.js';

// The shared Redis (REDIS_URL, default 127.0.0.1:6379). Without it these tests fail; they never skip.
const url = new URL(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
let client: Redis;
let counter = 0;
const run = `rltest:express:${process.pid}:${Date.now().toString(36)}`;

beforeAll(async () => {
  client = new Redis({ host: url.hostname, port: Number(url.port || 6379), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await client.connect();
});

afterAll(async () => {
  // Remove every key this run wrote.
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${run}:*`, 'COUNT', 500);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  client.disconnect();
});

testAdapter(expressHarness, {
  name: 'redis',
  // Each test gets its own key prefix; the store takes the manual clock's time instead of Redis TIME (tests only),
  // and a generous timeout so a busy CI machine cannot turn a slow answer into a fail-open miscount.
  create: (clock) => createRedisStore({ client, prefix: `${run}:${++counter}:`, clock, onStoreError: 'throw', timeoutMs: 5_000 }),
  dispose: (store) => (store as RedisStore).close(),
});

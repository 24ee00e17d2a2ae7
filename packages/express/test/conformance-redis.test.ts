import type { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { createRedisStore, type RedisStore } from '@micboard/limiter-store/redis';
import { connectSharedRedis, deleteByPrefix, testAdapter, uniquePrefix } from '@micboard/test-utils';
import { expressHarness } from './harness.js';

// The shared Redis (REDIS_URL, default 127.0.0.1:6379). Without it these tests fail; they never skip.
let client: Redis;
let counter = 0;
const run = uniquePrefix('express');

beforeAll(async () => {
  client = await connectSharedRedis();
});

afterAll(async () => {
  await deleteByPrefix([client], run);
  client.disconnect();
});

testAdapter(expressHarness, {
  name: 'redis',
  // Each test gets its own key prefix; the store takes the manual clock's time instead of Redis TIME (tests only),
  // and a generous timeout so a busy CI machine cannot turn a slow answer into a fail-open miscount.
  create: (clock) => createRedisStore({ client, prefix: `${run}${++counter}:`, clock, onStoreError: 'throw', timeoutMs: 5_000 }),
  dispose: (store) => (store as RedisStore).close(),
});

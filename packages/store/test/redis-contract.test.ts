import { afterAll, beforeAll } from 'vitest';
import type { Redis } from 'ioredis';
import { connectSharedRedis, deleteByPrefix, testStore, uniquePrefix } from '@micboard/test-utils';
import { createRedisStore } from '@micboard/limiter-store/redis';

let client: Redis;
beforeAll(async () => {
  client = await connectSharedRedis();
});
afterAll(() => client?.disconnect());

// Time is passed into the scripts from the suite's manual clock; every test has its own prefix.
testStore(
  'redis (standalone)',
  (clock) => {
    const prefix = uniquePrefix('contract');
    const options = { client, prefix, clock, onStoreError: 'throw' as const, timeoutMs: 5000 };
    return {
      store: createRedisStore(options),
      clock,
      peer: () => createRedisStore(options),
      close: () => deleteByPrefix([client], prefix),
    };
  },
  { numRuns: 1000 },
);

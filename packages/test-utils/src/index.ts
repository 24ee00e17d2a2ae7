// Store-specific helpers (owned by the store package's engineers) live in their own files.
export { AWKWARD_KEYS, CONTRACT_SPECS, expectSameDecision, expectSameMultiplier, testStore } from './store-contract.js';
export type { StoreContractOptions, StoreUnderTest } from './store-contract.js';
export { createModelStore } from './model-store.js';
export type { ModelStore } from './model-store.js';
export {
  LIMITER_REDIS_OPTIONS,
  connectRedis,
  connectSharedRedis,
  deleteByPrefix,
  freePort,
  redisServerBinary,
  sharedRedisAddress,
  startRedisCluster,
  startRedisServer,
  uniquePrefix,
} from './redis-harness.js';
export type { RedisClusterHarness, RedisServer } from './redis-harness.js';
// The adapter conformance suite (owned by the HTTP-layer engineer).
export { memoryLogger, SEED_1_TABLE, testAdapter } from './http-suite.js';
export type { MemoryLogger, StoreFactory } from './http-suite.js';
export type { AdapterHarness, RunningApp, TestApp, TestGlobalOptions, TestLimit, TestLimitBy, TestRoute } from './http-harness.js';
export { send, sendRaw } from './http-client.js';
export type { SendOptions, TestResponse } from './http-client.js';

export { createRedisStore } from './redis-store.js';
export type { RedisStore, RedisStoreOptions, StoreErrorMode } from './redis-store.js';
export type { RedisArg, RedisClientLike, RedisNodeLike } from './client.js';
export { SCRIPTS } from './scripts.js';
export type { LuaScript } from './client.js';

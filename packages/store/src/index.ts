export { createMemoryStore } from './memory/memory-store.js';
export type { MemoryStore, MemoryStoreOptions } from './memory/memory-store.js';

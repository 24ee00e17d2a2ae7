// Store-specific helpers (owned by the store package's engineers) live in their own files.
export { AWKWARD_KEYS, CONTRACT_SPECS, testStore } from './store-contract.js';
export type { StoreContractOptions, StoreUnderTest } from './store-contract.js';
export { createModelStore } from './model-store.js';
export type { ModelStore } from './model-store.js';

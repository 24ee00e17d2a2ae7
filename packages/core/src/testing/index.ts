export { ManualClock } from './manual-clock.js';
export { createReferenceStore } from './reference-store.js';
export type { SynchronousStore } from './reference-store.js';

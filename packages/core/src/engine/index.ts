export { createLimiter } from './limiter.js';
export type {
  ApiKeyOptions,
  Identity,
  LimitResult,
  Limiter,
  LimiterOptions,
  LimiterRequest,
  LimiterSharedConfig,
} from './limiter.js';
export { consumeAll } from './compose.js';
export type { ComposedDecision } from './compose.js';
export { chain, isThenable } from './maybe-promise.js';

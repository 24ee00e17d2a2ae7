export { checkClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { LimiterError, invalidOption } from './errors.js';
export type { LimiterErrorCode } from './errors.js';
export { checkLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { toMs } from './duration.js';
export type { Duration } from './duration.js';
export type {
  AdaptiveConfig,
  AdaptiveState,
  ClientSnapshot,
  ConsumeRequest,
  Decision,
  FixedWindowSpec,
  GcraSpec,
  LimitSpec,
  MaybePromise,
  Outcome,
  RateSpec,
  RefundRequest,
  Reservation,
  SharedConfig,
  SlidingWindowSpec,
  StepResult,
  Store,
  StoreDecision,
  TokenBucketSpec,
} from './types.js';
export * from './algorithms/index.js';
export * from './policy/index.js';
export * from './client/index.js';
export * from './engine/index.js';
export * from './http/index.js';

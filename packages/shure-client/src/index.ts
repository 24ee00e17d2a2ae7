export { createShureClient, DEFAULT_RATES } from './client.js';
export type { RawRequest, ShureClient, ShureClientOptions, ShureResults } from './client.js';
export { createNodeFetch } from './transport.js';
export type { FetchInit, FetchLike, FetchResponse, NodeFetch, NodeFetchOptions, TlsOptions } from './transport.js';
export type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js';
export type { RetryBudgetOptions } from './retry-budget.js';
export type { PollChanges, PollOptions, PollSnapshot, Poller } from './poller.js';
export type {
  AudioChannel,
  AudioLevel,
  BatteryHealth,
  BatteryLevel,
  CallOptions,
  DeviceState,
  ShureDevice,
  ShureFailure,
  ShureFailureKind,
  ShureMethod,
  ShureResult,
  TransmitterData,
} from './types.js';

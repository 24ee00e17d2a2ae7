export { ADMIN_PREFIX, adminAuthorizer, createApp, ENDPOINT_LIMITS, start } from './app.js';
export type { MicboardApi, MicboardApiDeps, RunningMicboardApi } from './app.js';
export { ConfigError, loadConfig, readNodeEnv } from './config.js';
export type { LogLevel, MicboardApiConfig, NodeEnv } from './config.js';
export { createDeviceService, ShureUnavailable } from './devices.js';
export type { DataView, DeviceService, DeviceServiceOptions, DeviceView } from './devices.js';
// Shared with the other apps; still exported here, as before they moved to @micboard/app-kit.
export {
  createConsoleLogger,
  createLimiterMetrics,
  openStore,
  readChoice,
  readHost,
  readInteger,
  readPort,
  readRaw,
  readSeconds,
  readToken,
  readUrl,
  redactUrl,
} from '@micboard/app-kit';
export type { DecisionLike, Env, LimiterMetrics, LimiterMetricsOptions, OpenedStore } from '@micboard/app-kit';

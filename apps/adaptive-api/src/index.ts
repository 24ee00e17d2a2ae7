export { ACTIVITY_PATH, ADMIN_PREFIX, adminAuthorizer, createApp, start } from './app.js';
export type { AdaptiveApi, AdaptiveApiDeps, RunningAdaptiveApi } from './app.js';
export { ConfigError, loadConfig } from './config.js';
export type { AdaptiveApiConfig, LogLevel, NodeEnv } from './config.js';
export { createActivityLog } from './activity.js';
export type { ActivityLog, ActivitySnapshot, ClientActivity, Denial } from './activity.js';
// Shared with the other apps; still exported here, as before they moved to @micboard/app-kit.
export { createConsoleLogger, createLimiterMetrics } from '@micboard/app-kit';
export type { DecisionLike, LimiterMetrics, LimiterMetricsOptions } from '@micboard/app-kit';

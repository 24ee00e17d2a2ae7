export { startDashboard, startDashboard as start } from './server.js';
export type { DashboardDeps, RunningDashboard } from './server.js';
export { ConfigError, isLoopbackUrl, loadConfig } from './config.js';
export type { DashboardConfig, LogLevel } from './config.js';
export { createBackend, BackendError } from './backend.js';
export type { Backend, BackendOptions, BackendState, CostRule, DashboardClient, DashboardDenial, Profile } from './backend.js';
export { createTrafficGenerator, DEFAULT_PLANS, HARD_CAPS, SCENARIOS } from './traffic.js';
export type { RunStatus, Scenario, ScenarioPlan, TrafficGenerator, TrafficGeneratorOptions } from './traffic.js';

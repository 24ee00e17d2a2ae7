export { createMockServer } from './server.js';
export type { MockServer, MockServerOptions, RequestLogEntry } from './server.js';
export { createFaults } from './faults.js';
export type { DropRule, FailRule, FaultAction, FaultController, FaultPatch, FaultState } from './faults.js';
export { channelId, DEFAULT_DEVICES } from './devices.js';
export type { AudioLevel, BatteryStatus, DeviceSeed, DeviceState, MockChannel, MockDevice, MockDeviceNode } from './devices.js';
export type { SelfLimitOptions } from './self-limit.js';

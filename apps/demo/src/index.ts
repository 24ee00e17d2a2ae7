export { loadDemoConfig } from './config.js';
export type { DemoConfig } from './config.js';
export { banner, runDemo } from './demo.js';
export type { DemoOptions, DemoUrls, RunningDemo } from './demo.js';
export { checkPortFree, PortInUseError } from './ports.js';

/* The runnable dashboard: read the environment, start, stop cleanly on Ctrl-C. */
import { ConfigError, loadConfig } from './config.js';
import { createConsoleLogger } from './logger.js';
import { startDashboard } from './server.js';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`dashboard: ${error.message}\n`);
  process.exit(1);
}

const logger = createConsoleLogger(config.logLevel, 'dashboard');
let dashboard;
try {
  dashboard = await startDashboard(config, { logger });
} catch (error) {
  process.stderr.write(`dashboard: could not start: ${(error as Error).message}\n`);
  process.exit(1);
}

// Handle Ctrl-C before saying where we listen: whoever reads that line may stop us at once.
let stopping = false;
const stop = (): void => {
  // A second Ctrl-C means "now".
  if (stopping) process.exit(130);
  stopping = true;
  dashboard.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdout.write(`dashboard on ${dashboard.url} (watching ${config.adaptiveApiUrls.join(', ')})\n`);
if (config.adminToken === undefined) process.stdout.write('dashboard: ADMIN_TOKEN is not set, so it can only run traffic\n');

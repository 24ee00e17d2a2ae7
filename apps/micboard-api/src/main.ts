/* The runnable app: read the environment, start, stop cleanly on Ctrl-C. */
import { start } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createConsoleLogger } from './logger.js';

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`micboard-api: ${error.message}\n`);
  process.exit(1);
}

const logger = createConsoleLogger(config.logLevel, 'micboard-api');
let api;
try {
  api = await start(config, { logger });
} catch (error) {
  process.stderr.write(`micboard-api: could not start: ${(error as Error).message}\n`);
  process.exit(1);
}

// Handle Ctrl-C before saying where we listen: whoever reads that line may stop us at once.
let stopping = false;
const stop = (): void => {
  // A second Ctrl-C means "now".
  if (stopping) process.exit(130);
  stopping = true;
  api.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
process.stdout.write(
  `micboard-api listening on ${api.url} (store: ${api.limiter.store.name}, Shure System API: ${config.shure.baseUrl})\n`,
);

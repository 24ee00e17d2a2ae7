import type { Logger } from '@micboard/limiter-core';
import { ConfigError, type Env } from './env.js';
import { createConsoleLogger, type LogLevel } from './logger.js';

/** How to run one app from its `main.ts`. */
export interface RunAppOptions<C extends { readonly logLevel: LogLevel }, R extends { close(): Promise<void> }> {
  /** The app's name: the prefix of every message it prints and its logger's `name`, e.g. `'micboard-api'`. */
  readonly name: string;
  /** Reads the configuration; a `ConfigError` stops the app with its message and exit code 1. */
  readonly loadConfig: (env: Env) => C;
  /** Starts the app; a rejection stops it with "could not start" and exit code 1. */
  readonly start: (config: C, deps: { readonly logger: Logger }) => Promise<R>;
  /** Tells the person who started it where it listens (stdout), once Ctrl-C is handled. */
  readonly announce: (running: R, config: C, logger: Logger) => void;
  /** @default process.env */
  readonly env?: Env;
}

/**
 * The body of an app's `main.ts`: read the environment, start, and stop cleanly on Ctrl-C or
 * SIGTERM (exit 0, or 1 if closing failed); a second Ctrl-C exits at once with 130.
 *
 * @example
 * await runApp({
 *   name: 'adaptive-api',
 *   loadConfig,
 *   start,
 *   announce: (api) => process.stdout.write(`adaptive-api listening on ${api.url}\n`),
 * });
 */
export async function runApp<C extends { readonly logLevel: LogLevel }, R extends { close(): Promise<void> }>(
  options: RunAppOptions<C, R>,
): Promise<R> {
  const { name } = options;
  let config: C;
  try {
    config = options.loadConfig(options.env ?? process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(1);
  }

  const logger = createConsoleLogger(config.logLevel, name);
  let running: R;
  try {
    running = await options.start(config, { logger });
  } catch (error) {
    process.stderr.write(`${name}: could not start: ${(error as Error).message}\n`);
    process.exit(1);
  }

  // Handle Ctrl-C before saying where we listen: whoever reads that line may stop us at once.
  let stopping = false;
  const stop = (): void => {
    // A second Ctrl-C means "now".
    if (stopping) process.exit(130);
    stopping = true;
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  options.announce(running, config, logger);
  return running;
}

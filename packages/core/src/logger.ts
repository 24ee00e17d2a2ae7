/**
 * A logger the library writes through. pino's and console's shapes both fit: each method takes
 * an optional object of fields first and a message.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const noop = (): void => {};

/** The default logger: says nothing. Libraries never write to the console on their own. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

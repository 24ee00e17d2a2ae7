import { invalidOption } from './errors.js';

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

/**
 * Throws `INVALID_OPTION` unless `value` has the four methods of a {@link Logger}. A logger
 * missing one would throw where the library reports trouble, turning a handled failure (an
 * outage answered by its failure mode) into a thrown one.
 */
export function checkLogger(value: unknown, option = 'logger'): Logger {
  const methods = ['debug', 'info', 'warn', 'error'] as const;
  if (typeof value !== 'object' || value === null || !methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')) {
    throw invalidOption(option, value, 'a logger with debug, info, warn and error methods');
  }
  return value as Logger;
}

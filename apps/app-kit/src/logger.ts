import type { Logger } from '@micboard/limiter-core';

/** How much an app logs: `LOG_LEVEL`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The values `LOG_LEVEL` accepts, most verbose first. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * A logger for the app: one JSON line per entry on stderr (stdout stays free for the URLs a person
 * reads). Libraries get it injected; they never print on their own.
 */
export function createConsoleLogger(level: LogLevel, name: string, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const threshold = ORDER[level];
  const at =
    (entryLevel: Exclude<LogLevel, 'silent'>) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (ORDER[entryLevel] < threshold) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: entryLevel, name, msg: message, ...serialise(fields) }));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message } : value;
  }
  return out;
}

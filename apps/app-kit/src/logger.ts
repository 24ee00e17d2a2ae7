import type { Logger } from '@micboard/limiter-core';

/** How much an app logs: `LOG_LEVEL`. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The values `LOG_LEVEL` accepts, most verbose first. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * A logger for the app: one JSON line per entry on stderr (stdout stays free for the URLs a person
 * reads). Libraries get it injected; they never print on their own.
 *
 * @throws TypeError for a level that is not one of {@link LOG_LEVELS} (in any case): unchecked, an
 *   unknown level filtered nothing, so `SILENT` logged every debug line.
 */
export function createConsoleLogger(level: LogLevel, name: string, write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): Logger {
  const threshold = ORDER[normaliseLevel(level)];
  const at =
    (entryLevel: Exclude<LogLevel, 'silent'>) =>
    (fields: Record<string, unknown>, message: string): void => {
      if (ORDER[entryLevel] < threshold) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: entryLevel, name, msg: message, ...serialise(fields) }));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The level as LOG_LEVELS spells it, for a value that reached us unchecked (e.g. `'WARN'`). */
function normaliseLevel(level: unknown): LogLevel {
  const normalised = typeof level === 'string' ? level.trim().toLowerCase() : level;
  if (!LOG_LEVELS.includes(normalised as LogLevel)) {
    throw new TypeError(`unknown log level ${JSON.stringify(level)}: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return normalised as LogLevel;
}

function serialise(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? { name: value.name, message: value.message } : value;
  }
  return out;
}

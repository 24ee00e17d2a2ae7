import { describe, expect, it } from 'vitest';
import { createConsoleLogger, LOG_LEVELS, type LogLevel } from '../src/index.js';

describe('createConsoleLogger', () => {
  it('writes one JSON line per entry at or above its level, with the name and fields', () => {
    const lines: string[] = [];
    const logger = createConsoleLogger('warn', 'api', (line) => lines.push(line));
    logger.debug({}, 'hidden');
    logger.info({}, 'hidden');
    logger.warn({ key: 'ip:1' }, 'limited');
    logger.error({ err: new TypeError('boom') }, 'failed');
    expect(lines).toHaveLength(2);
    const [warn, error] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(warn).toMatchObject({ level: 'warn', name: 'api', msg: 'limited', key: 'ip:1' });
    expect(Number.isNaN(Date.parse(String(warn?.['time'])))).toBe(false);
    // An Error has no enumerable fields: without this it would log as {}.
    expect(error).toMatchObject({ level: 'error', msg: 'failed', err: { name: 'TypeError', message: 'boom' } });
  });

  it('lets through exactly the entries at or above each level; silent writes nothing', () => {
    const entries = ['debug', 'info', 'warn', 'error'] as const;
    for (const level of LOG_LEVELS) {
      const lines: string[] = [];
      const logger = createConsoleLogger(level, 'x', (line) => lines.push(line));
      for (const entry of entries) logger[entry]({}, entry);
      const shown = lines.map((line) => (JSON.parse(line) as { level: LogLevel }).level);
      expect(shown).toEqual(entries.slice(LOG_LEVELS.indexOf(level)));
    }
  });

  it('takes a level in any case, and refuses one it does not know rather than logging everything', () => {
    const lines: string[] = [];
    // A level read without readChoice (the demo did) reaches the logger as the user typed it.
    const silent = createConsoleLogger('SILENT' as LogLevel, 'x', (line) => lines.push(line));
    silent.error({}, 'hidden');
    const warn = createConsoleLogger(' Warn ' as LogLevel, 'x', (line) => lines.push(line));
    warn.info({}, 'hidden');
    warn.warn({}, 'shown');
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['shown']);
    expect(() => createConsoleLogger('loud' as LogLevel, 'x')).toThrow('unknown log level "loud": expected one of debug, info, warn, error, silent');
  });
});

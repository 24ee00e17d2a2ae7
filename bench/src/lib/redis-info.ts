/** Parsing of Redis INFO into numbers, and the per-decision deltas the bench reports. */

export type Info = ReadonlyMap<string, string>;

export function parseInfo(text: string): Info {
  const map = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) map.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return map;
}

export function num(info: Info, field: string): number {
  return Number(info.get(field) ?? Number.NaN);
}

/** Calls per command from `cmdstat_<name>:calls=N,...` lines. */
export function commandCalls(info: Info): Map<string, number> {
  const calls = new Map<string, number>();
  for (const [field, value] of info) {
    if (!field.startsWith('cmdstat_')) continue;
    const match = /calls=(\d+)/.exec(value);
    if (match) calls.set(field.slice('cmdstat_'.length), Number(match[1]));
  }
  return calls;
}

/** Commands the bench's own admin connection sends; they are not part of any decision. */
export const ADMIN_COMMANDS = new Set(['info', 'config|resetstat', 'flushall', 'dbsize', 'ping', 'script|load', 'client|setname', 'select']);

/** Script invocations: each is one request from the client (the commands it runs are nested). */
export const SCRIPT_COMMANDS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);

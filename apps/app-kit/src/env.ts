/**
 * Reading configuration from environment variables. Every reader names the variable and the value
 * it got when it refuses one, so a bad deployment stops at start with a message an operator can act on.
 */

/** The environment as `process.env` gives it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A variable that is set but not usable. `variable` is its name. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly value: string,
    expected: string,
  ) {
    super(`Invalid environment variable ${variable}=${JSON.stringify(value)}: expected ${expected}`);
  }
}

/** The raw value, or undefined when unset. An empty string counts as unset, as shells often export `X=`. */
export function readRaw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** A TCP port; 0 asks the OS for a free one. */
export function readPort(env: Env, name: string, fallback: number): number {
  return readInteger(env, name, fallback, { min: 0, max: 65_535, expected: 'a TCP port from 0 to 65535' });
}

/** An integer in [min, max]. */
export function readInteger(
  env: Env,
  name: string,
  fallback: number,
  range: { min: number; max: number; expected?: string },
): number {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  const value = /^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(name, raw, range.expected ?? `an integer from ${range.min} to ${range.max}`);
  }
  return value;
}

/**
 * A duration given in seconds (fractions allowed, as seed 1's settings are in seconds), returned in ms.
 */
export function readSeconds(env: Env, name: string, fallbackSeconds: number, range: { min: number; max: number }): number {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallbackSeconds * 1000;
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < range.min || value > range.max) {
    throw new ConfigError(name, raw, `a number of seconds from ${range.min} to ${range.max}`);
  }
  return Math.round(value * 1000);
}

/**
 * An absolute URL with one of the given protocols (e.g. `['http:', 'https:']`), without a trailing slash.
 * A refused value is reported through {@link redactUrl}: URLs such as `REDIS_URL` carry passwords.
 */
export function readUrl(env: Env, name: string, fallback: string, protocols: readonly string[]): string;
export function readUrl(env: Env, name: string, fallback: undefined, protocols: readonly string[]): string | undefined;
export function readUrl(env: Env, name: string, fallback: string | undefined, protocols: readonly string[]): string | undefined {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, redactUrl(raw), `an absolute URL (${protocols.join(' or ')})`);
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(name, redactUrl(raw), `a URL starting with ${protocols.join(' or ')}//`);
  return raw.replace(/\/+$/, '');
}

/** One of a fixed set of words, case-insensitive. */
export function readChoice<T extends string>(env: Env, name: string, fallback: T, choices: readonly T[]): T {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase() as T;
  if (!choices.includes(value)) throw new ConfigError(name, raw, `one of ${choices.join(', ')}`);
  return value;
}

/** A secret token: unset means the feature it guards is off; set, it must be long enough to resist guessing. */
export function readToken(env: Env, name: string, minLength = 16): string | undefined {
  const raw = readRaw(env, name);
  if (raw === undefined) return undefined;
  if (raw.length < minLength || /\s/.test(raw)) {
    // Never echo a secret back, even a bad one.
    throw new ConfigError(name, `<${raw.length} characters>`, `at least ${minLength} characters without spaces`);
  }
  return raw;
}

/** A host name or address to listen on. */
export function readHost(env: Env, name: string, fallback: string): string {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  if (!/^[A-Za-z0-9.:-]+$/.test(raw)) throw new ConfigError(name, raw, 'a host name or IP address to listen on');
  return raw;
}

/** Query parameters that may carry a secret: ioredis, for one, reads a password from the query string. */
const SECRET_PARAMS = new Set(['password', 'pass', 'auth', 'token']);

/**
 * The URL for messages: the user name, the password and any credential-like query parameter
 * (`password`, `pass`, `auth`, `token`, in any case) masked; a value that is no URL at all may hold
 * a secret anywhere, so it is not shown.
 */
export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return '<unparseable>';
  }
  const params = [...url.searchParams];
  const secretParams = params.some(([name]) => SECRET_PARAMS.has(name.toLowerCase()));
  // Nothing to hide: the value as the operator wrote it, not as URL normalises it (`ftp://h/`).
  if (!url.username && !url.password && !secretParams) return value;
  if (url.username) url.username = '***';
  if (url.password) url.password = '***';
  if (secretParams) {
    // Rebuilt in order, so duplicated names are all masked and the rest keep their place.
    url.search = new URLSearchParams(params.map(([name, param]): [string, string] => [name, SECRET_PARAMS.has(name.toLowerCase()) ? '***' : param])).toString();
  }
  return url.toString();
}

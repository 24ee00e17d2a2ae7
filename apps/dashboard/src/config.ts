import { ConfigError, LOG_LEVELS, readChoice, readHost, readPort, readRaw, readToken, type Env, type LogLevel } from '@micboard/app-kit';

export type { LogLevel };

/** Everything the dashboard reads from its environment. */
export interface DashboardConfig {
  /** `PORT`. @default 3002 */
  readonly port: number;
  /**
   * `HOST`: a loopback address only (`127.0.0.1`, `localhost` or `::1`). The dashboard holds the admin token
   * and can generate traffic, so it is meant for the operator's own machine; any other value stops it at start.
   * @default '127.0.0.1'
   */
  readonly host: string;
  /**
   * `ADAPTIVE_API_URL`: the adaptive API instance(s) to watch and to send generated traffic to,
   * comma-separated. Loopback addresses only: the traffic generator never targets another machine.
   * @default ['http://127.0.0.1:3001']
   */
  readonly adaptiveApiUrls: readonly string[];
  /** `MICBOARD_API_URL`: shown as a link, comma-separated. @default none */
  readonly micboardApiUrls: readonly string[];
  /** `ADMIN_TOKEN`: the adaptive API's admin token; without it the dashboard can only show traffic counts. */
  readonly adminToken: string | undefined;
  /** `LOG_LEVEL`. @default 'info' */
  readonly logLevel: LogLevel;
}

/**
 * Reads the dashboard's configuration.
 *
 * @throws ConfigError naming the variable when a value is set but unusable.
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Env): DashboardConfig {
  return {
    port: readPort(env, 'PORT', 3002),
    host: checkLoopbackHost(readHost(env, 'HOST', '127.0.0.1')),
    adaptiveApiUrls: readLoopbackUrls(env, 'ADAPTIVE_API_URL', ['http://127.0.0.1:3001']),
    micboardApiUrls: readLoopbackUrls(env, 'MICBOARD_API_URL', []),
    adminToken: readToken(env, 'ADMIN_TOKEN'),
    logLevel: readChoice<LogLevel>(env, 'LOG_LEVEL', 'info', LOG_LEVELS),
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** What the dashboard may listen on: the names its Host check accepts, so the page can be reached at all. */
const LOOPBACK_LISTEN_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Returns `host` if it is a loopback address the dashboard may listen on.
 *
 * @throws ConfigError naming `HOST` and the value otherwise: on any other address (`0.0.0.0` above all) anyone who
 * reaches the port could drive the admin API with the token the dashboard holds.
 */
export function checkLoopbackHost(host: string): string {
  if (!LOOPBACK_LISTEN_HOSTS.has(host)) {
    throw new ConfigError('HOST', host, 'a loopback address (127.0.0.1, localhost or ::1): the dashboard holds the admin token, so it is for this machine only');
  }
  return host;
}

/** Whether a URL points at this machine's loopback interface. */
export function isLoopbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

function readLoopbackUrls(env: Env, name: string, fallback: readonly string[]): readonly string[] {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  const urls = raw.split(',').map((part) => part.trim().replace(/\/+$/, ''));
  if (urls.length === 0 || urls.length > 8 || !urls.every(isLoopbackUrl)) {
    throw new ConfigError(name, raw, 'up to 8 comma-separated http:// URLs on loopback (127.0.0.1, localhost or [::1])');
  }
  return urls;
}

export { ConfigError };

import { isIP } from 'node:net';
import {
  ConfigError,
  LOG_LEVELS,
  readChoice,
  readHost,
  readInteger,
  readPort,
  readRaw,
  readSeconds,
  readToken,
  readUrl,
  redactUrl,
  type Env,
  type LogLevel,
} from '@micboard/app-kit';

/** The mock Shure System API's defaults (apps/shure-mock). */
const MOCK_URL = 'http://127.0.0.1:8080';
const MOCK_API_KEY = 'mock-api-key';

/** How the app runs; anything but `development` and `test` is treated as production. */
export type NodeEnv = 'production' | 'development' | 'test';

export type { LogLevel };

/** Everything micboard-api reads from its environment. Durations are in ms. */
export interface MicboardApiConfig {
  /** `PORT`: where the API listens. @default 3000 */
  readonly port: number;
  /** `HOST`: the address to listen on. @default '127.0.0.1' (set `0.0.0.0` to serve other machines) */
  readonly host: string;
  /** `NODE_ENV`. @default 'production' */
  readonly nodeEnv: NodeEnv;
  /** `LOG_LEVEL`. @default 'debug' when `NODE_ENV=development`, else 'info' */
  readonly logLevel: LogLevel;
  readonly shure: {
    /** `SHURE_API_BASE_URL`: the Shure System API. @default 'http://127.0.0.1:8080' (the mock) */
    readonly baseUrl: string;
    /**
     * `SHURE_API_KEY`: sent as `x-api-key`. @default the mock's key (`'mock-api-key'`) while
     * `SHURE_API_BASE_URL` is unset, so the app works against the mock out of the box; none otherwise
     */
    readonly apiKey: string | undefined;
    /** `SHURE_API_TIMEOUT` (seconds): per attempt, in ms here. @default 10 s */
    readonly timeoutMs: number;
    /** `SHURE_API_MAX_RETRIES`: retries after the first attempt. @default 3 */
    readonly maxRetries: number;
    /** `SHURE_API_RETRY_BACKOFF` (seconds): the first retry's base delay, doubling after; in ms here. @default 0.5 s */
    readonly retryBackoffMs: number;
  };
  /** `POLL_INTERVAL` (seconds): how often devices are polled, in ms here. @default 5 s */
  readonly pollIntervalMs: number;
  /** `CACHE_TIMEOUT` (seconds): how long polled data is served before it counts as stale, in ms here. @default 30 s */
  readonly cacheTimeoutMs: number;
  /** `REDIS_URL`: limiter state in Redis, shared by every instance; unset: the in-process memory store. */
  readonly redisUrl: string | undefined;
  /** `ADMIN_TOKEN`: enables the admin API under `/api/admin/rate-limit`; unset: no admin API. */
  readonly adminToken: string | undefined;
  /**
   * `TRUST_PROXY`: express's `trust proxy`, so limits apply per real client behind a reverse proxy:
   * `true` (one proxy hop, as `1`), a number of hops, or a comma-separated list of proxy
   * addresses/CIDRs (`loopback`, `10.0.0.0/8`...). Never trust a proxy on a directly exposed app:
   * clients could pick their own key.
   * @default false
   */
  readonly trustProxy: false | number | readonly string[];
}

/**
 * Reads the configuration from the environment.
 *
 * @throws ConfigError naming the variable when a value is set but unusable.
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Env): MicboardApiConfig {
  const baseUrl = readShureBaseUrl(env, 'SHURE_API_BASE_URL');
  const nodeEnv = readNodeEnv(env);
  return {
    port: readPort(env, 'PORT', 3000),
    host: readHost(env, 'HOST', '127.0.0.1'),
    nodeEnv,
    logLevel: readChoice<LogLevel>(env, 'LOG_LEVEL', nodeEnv === 'development' ? 'debug' : 'info', LOG_LEVELS),
    shure: {
      baseUrl,
      apiKey: readRaw(env, 'SHURE_API_KEY') ?? (readRaw(env, 'SHURE_API_BASE_URL') === undefined ? MOCK_API_KEY : undefined),
      timeoutMs: readSeconds(env, 'SHURE_API_TIMEOUT', 10, { min: 0.1, max: 300 }),
      maxRetries: readInteger(env, 'SHURE_API_MAX_RETRIES', 3, { min: 0, max: 10 }),
      retryBackoffMs: readSeconds(env, 'SHURE_API_RETRY_BACKOFF', 0.5, { min: 0.01, max: 60 }),
    },
    pollIntervalMs: readSeconds(env, 'POLL_INTERVAL', 5, { min: 0.5, max: 3600 }),
    cacheTimeoutMs: readSeconds(env, 'CACHE_TIMEOUT', 30, { min: 1, max: 86_400 }),
    redisUrl: readUrl(env, 'REDIS_URL', undefined, ['redis:', 'rediss:']),
    adminToken: readToken(env, 'ADMIN_TOKEN'),
    trustProxy: readTrustProxy(env, 'TRUST_PROXY'),
  };
}

/**
 * The Shure System API's origin. The client refuses a path (every call adds /api/v1; a base URL
 * ending in it is a common mistake) and credentials (it would drop them), but in words that name
 * no variable and quote the URL, password and all; refused here, the message names the variable
 * and shows the URL with its secrets masked.
 */
function readShureBaseUrl(env: Env, name: string): string {
  const value = readUrl(env, name, MOCK_URL, ['http:', 'https:']);
  const url = new URL(value);
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError(
      name,
      redactUrl(readRaw(env, name) ?? value),
      "the server's origin only, such as https://10.0.0.5:10000 (no path, query or credentials; /api/v1 is added, and the key goes in SHURE_API_KEY)",
    );
  }
  return value;
}

/** The names express's proxy-addr knows for whole address ranges (lower case only: it takes no other). */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * One TRUST_PROXY entry as proxy-addr takes it: a named range, an address, or an address with a
 * prefix length its family can have. Checked here so a typo stops the app naming the variable,
 * not with proxy-addr's "invalid IP address" once express compiles the setting.
 */
function isProxyEntry(entry: string): boolean {
  if (PROXY_RANGES.has(entry)) return true;
  const [address = '', prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  // proxy-addr refuses a prefix of 0 (trust everyone); an IPv4-mapped IPv6 address with a prefix
  // (::ffff:10.0.0.0/104) stays IPv6 there, with IPv6's 128 bits.
  return /^\d{1,3}$/.test(prefix) && Number(prefix) >= 1 && Number(prefix) <= (family === 4 ? 32 : 128);
}

function readTrustProxy(env: Env, name: string): false | number | readonly string[] {
  const raw = readRaw(env, name);
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  // "true" means one proxy in front: express's `true` would take the leftmost X-Forwarded-For
  // entry, which the client writes itself, and let it choose its own rate-limit key.
  if (raw === 'true') return 1;
  if (/^\d+$/.test(raw)) return readInteger(env, name, 0, { min: 0, max: 10, expected: 'true, false, a number of hops (0-10) or proxy addresses' });
  const entries = raw.split(',').map((entry) => entry.trim());
  if (!entries.every(isProxyEntry)) {
    throw new ConfigError(name, raw, 'true, false, a number of hops, or comma-separated proxy addresses/CIDRs (e.g. loopback,10.0.0.0/8)');
  }
  return entries;
}

/** `NODE_ENV`: production unless told otherwise; an unknown value is refused rather than guessed at. */
export function readNodeEnv(env: Env): NodeEnv {
  return readChoice<NodeEnv>(env, 'NODE_ENV', 'production', ['production', 'development', 'test']);
}

export { ConfigError };

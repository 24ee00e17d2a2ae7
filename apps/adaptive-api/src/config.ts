import { ConfigError, LOG_LEVELS, readChoice, readHost, readPort, readRaw, readToken, readUrl, type Env, type LogLevel } from '@micboard/app-kit';

/** How the app runs; production unless told otherwise. */
export type NodeEnv = 'production' | 'development' | 'test';

export type { LogLevel };

/** Everything adaptive-api reads from its environment. */
export interface AdaptiveApiConfig {
  /** `PORT`. @default 3001 */
  readonly port: number;
  /** `HOST`: the address to listen on. @default '127.0.0.1' (set `0.0.0.0` to serve other machines) */
  readonly host: string;
  /**
   * `NODE_ENV`: in `development`, loopback clients get the development profile (seed 2's "essentially
   * unlimited for localhost"); in `test`, loopback clients sending a test signal get the testing profile.
   * @default 'production' (everyone is anonymous or authenticated)
   */
  readonly nodeEnv: NodeEnv;
  /** `LOG_LEVEL`. @default 'debug' when `NODE_ENV=development`, else 'info' */
  readonly logLevel: LogLevel;
  /** `REDIS_URL`: limiter state in Redis, shared by every instance; unset: the in-process memory store. */
  readonly redisUrl: string | undefined;
  /** `ADMIN_TOKEN`: enables the admin API under `/api/v1/admin/rate-limit`; unset: no admin API. */
  readonly adminToken: string | undefined;
  /**
   * `AUTH_SECRET`: signs login tokens. Instances behind one load balancer need the same one.
   * @default a random secret per process (tokens stop working when it restarts)
   */
  readonly authSecret: string | undefined;
  /**
   * `TRUST_PROXY`: `true` when the app sits behind one reverse proxy that appends to
   * `X-Forwarded-For`; the client address is then the entry that proxy appended (the rightmost).
   * Never set it on a directly exposed app.
   * @default false
   */
  readonly trustProxy: boolean;
}

/**
 * Reads the configuration from the environment.
 *
 * @throws ConfigError naming the variable when a value is set but unusable.
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Env): AdaptiveApiConfig {
  const nodeEnv = readChoice<NodeEnv>(env, 'NODE_ENV', 'production', ['production', 'development', 'test']);
  return {
    port: readPort(env, 'PORT', 3001),
    host: readHost(env, 'HOST', '127.0.0.1'),
    nodeEnv,
    logLevel: readChoice<LogLevel>(env, 'LOG_LEVEL', nodeEnv === 'development' ? 'debug' : 'info', LOG_LEVELS),
    redisUrl: readUrl(env, 'REDIS_URL', undefined, ['redis:', 'rediss:']),
    adminToken: readToken(env, 'ADMIN_TOKEN'),
    authSecret: readToken(env, 'AUTH_SECRET', 32),
    trustProxy: readBoolean(env, 'TRUST_PROXY', false),
  };
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = readRaw(env, name);
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(name, raw, 'true or false');
}

export { ConfigError };

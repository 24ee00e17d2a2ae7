import { randomBytes } from 'node:crypto';
import { ConfigError, LOG_LEVELS, readChoice, readPort, readRaw, readToken, readUrl, type Env, type LogLevel } from '@micboard/app-kit';

/** What `pnpm demo` reads from its environment. */
export interface DemoConfig {
  /** `MOCK_PORT`: the mock Shure System API. @default 8080 */
  readonly mockPort: number;
  /** `MICBOARD_API_PORT` (and `MICBOARD_API_PORT_2` for the second instance on Redis). @default [3000, 3010] */
  readonly micboardApiPorts: readonly number[];
  /** `ADAPTIVE_API_PORT` (and `ADAPTIVE_API_PORT_2`). @default [3001, 3011] */
  readonly adaptiveApiPorts: readonly number[];
  /** `DASHBOARD_PORT`. @default 3002 */
  readonly dashboardPort: number;
  /** `REDIS_URL`: when set, two instances of each API share their limits through it. */
  readonly redisUrl: string | undefined;
  /** `ADMIN_TOKEN`. @default a random one, printed at start */
  readonly adminToken: string;
  /** `AUTH_SECRET`: shared by the adaptive API instances so a login on one works on the other. @default random */
  readonly authSecret: string;
  /** `LOG_LEVEL`, in any case, for the demo's own loggers and the apps'. @default 'warn' */
  readonly logLevel: LogLevel;
  /** The environment passed on to the apps (NODE_ENV, SHURE_API_*...). */
  readonly env: Env;
}

/**
 * Reads the demo's configuration.
 *
 * @throws ConfigError naming the variable when a value is set but unusable.
 * @example
 * const config = loadDemoConfig(process.env);
 */
export function loadDemoConfig(env: Env): DemoConfig {
  const redisUrl = readUrl(env, 'REDIS_URL', undefined, ['redis:', 'rediss:']);
  const instances = redisUrl === undefined ? 1 : 2;
  const micboardApiPorts = [readPort(env, 'MICBOARD_API_PORT', 3000), readPort(env, 'MICBOARD_API_PORT_2', 3010)].slice(0, instances);
  const adaptiveApiPorts = [readPort(env, 'ADAPTIVE_API_PORT', 3001), readPort(env, 'ADAPTIVE_API_PORT_2', 3011)].slice(0, instances);
  const config: DemoConfig = {
    mockPort: readPort(env, 'MOCK_PORT', 8080),
    micboardApiPorts,
    adaptiveApiPorts,
    dashboardPort: readPort(env, 'DASHBOARD_PORT', 3002),
    redisUrl,
    adminToken: readToken(env, 'ADMIN_TOKEN') ?? randomBytes(18).toString('base64url'),
    authSecret: readToken(env, 'AUTH_SECRET', 32) ?? randomBytes(32).toString('base64url'),
    // Read as the apps read it: passed on raw, `SILENT` reached the demo's loggers unchecked and
    // filtered nothing.
    logLevel: readChoice(env, 'LOG_LEVEL', 'warn', LOG_LEVELS),
    env,
  };
  const named: Array<[string, number]> = [
    ['MOCK_PORT', config.mockPort],
    ['MICBOARD_API_PORT', micboardApiPorts[0] as number],
    ['ADAPTIVE_API_PORT', adaptiveApiPorts[0] as number],
    ['DASHBOARD_PORT', config.dashboardPort],
    ...(instances === 2
      ? ([
          ['MICBOARD_API_PORT_2', micboardApiPorts[1] as number],
          ['ADAPTIVE_API_PORT_2', adaptiveApiPorts[1] as number],
        ] as Array<[string, number]>)
      : []),
  ];
  const seen = new Map<number, string>();
  for (const [name, port] of named) {
    // 0 means "any free port", which never collides.
    const other = port === 0 ? undefined : seen.get(port);
    if (other !== undefined) throw new ConfigError(name, String(port), `a port other than ${other}'s`);
    seen.set(port, name);
  }
  return config;
}

export { ConfigError, readRaw };

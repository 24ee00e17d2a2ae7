import { loadConfig as loadAdaptiveConfig, start as startAdaptiveApi } from '@micboard/adaptive-api';
import { loadConfig as loadDashboardConfig, startDashboard } from '@micboard/dashboard';
import { createConsoleLogger, type LogLevel } from '@micboard/app-kit';
import { loadConfig as loadMicboardConfig, start as startMicboardApi } from '@micboard/micboard-api';
import { createMockServer } from '@micboard/shure-mock';
import type { DemoConfig } from './config.js';
import { checkPortFree, PortInUseError } from './ports.js';

const HOST = '127.0.0.1';
const MOCK_API_KEY = 'mock-api-key';

/** Where everything the demo started listens. */
export interface DemoUrls {
  readonly mock: string;
  readonly micboardApi: readonly string[];
  readonly adaptiveApi: readonly string[];
  readonly dashboard: string;
  /** The dashboard link to open: it carries the dashboard's per-run token, which every change needs. */
  readonly dashboardPage: string;
}

export interface RunningDemo {
  readonly urls: DemoUrls;
  readonly store: 'memory' | 'redis';
  readonly adminToken: string;
  /** The APIs' NODE_ENV: outside production, loopback clients (like the traffic generator) get big profiles. */
  readonly nodeEnv: string;
  /** Stops everything, newest first. */
  close(): Promise<void>;
}

export interface DemoOptions {
  /** Where the apps log. @default a JSON-lines logger on stderr at `config.logLevel` (`LOG_LEVEL`, default 'warn') */
  readonly logLevel?: LogLevel;
}

/**
 * Starts the mock Shure System API, micboard-api, adaptive-api and the dashboard, all on
 * loopback: one instance of each API on the memory store, or two on Redis when `REDIS_URL` is set.
 * Checks every port first, so a taken one stops the demo before anything starts.
 *
 * @example
 * const demo = await runDemo(loadDemoConfig(process.env));
 * console.log(demo.urls.dashboard);
 * await demo.close();
 */
export async function runDemo(config: DemoConfig, options: DemoOptions = {}): Promise<RunningDemo> {
  const logLevel = options.logLevel ?? config.logLevel;
  const checks: Array<[number, string]> = [
    [config.mockPort, 'MOCK_PORT'],
    ...config.micboardApiPorts.map((port, i): [number, string] => [port, i === 0 ? 'MICBOARD_API_PORT' : 'MICBOARD_API_PORT_2']),
    ...config.adaptiveApiPorts.map((port, i): [number, string] => [port, i === 0 ? 'ADAPTIVE_API_PORT' : 'ADAPTIVE_API_PORT_2']),
    [config.dashboardPort, 'DASHBOARD_PORT'],
  ];
  for (const [port, variable] of checks) await checkPortFree(port, HOST, variable);

  const started: Array<{ close(): Promise<void> }> = [];
  const closeAll = async (): Promise<void> => {
    for (const app of started.reverse()) await app.close().catch(() => undefined);
    started.length = 0;
  };
  // The port may be taken between the check and the listen; say which, as the check would have.
  const listening = async <T>(variable: string, port: number, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(variable, port);
      throw error;
    }
  };

  try {
    const mock = await listening('MOCK_PORT', config.mockPort, () => createMockServer({ port: config.mockPort, host: HOST, apiKey: MOCK_API_KEY }));
    started.push(mock);

    const shared = {
      ...config.env,
      HOST,
      LOG_LEVEL: logLevel,
      ADMIN_TOKEN: config.adminToken,
      ...(config.redisUrl === undefined ? {} : { REDIS_URL: config.redisUrl }),
    };

    const micboardApi: string[] = [];
    for (const [index, port] of config.micboardApiPorts.entries()) {
      const appConfig = loadMicboardConfig({ ...shared, PORT: String(port), SHURE_API_BASE_URL: mock.url, SHURE_API_KEY: MOCK_API_KEY });
      const logger = createConsoleLogger(logLevel, `micboard-api#${index + 1}`);
      const api = await listening(index === 0 ? 'MICBOARD_API_PORT' : 'MICBOARD_API_PORT_2', port, () => startMicboardApi(appConfig, { logger }));
      started.push(api);
      micboardApi.push(api.url);
    }

    const adaptiveApi: string[] = [];
    let adaptiveNodeEnv = 'production';
    for (const [index, port] of config.adaptiveApiPorts.entries()) {
      const appConfig = loadAdaptiveConfig({ ...shared, PORT: String(port), AUTH_SECRET: config.authSecret });
      adaptiveNodeEnv = appConfig.nodeEnv;
      const logger = createConsoleLogger(logLevel, `adaptive-api#${index + 1}`);
      const api = await listening(index === 0 ? 'ADAPTIVE_API_PORT' : 'ADAPTIVE_API_PORT_2', port, () =>
        startAdaptiveApi(appConfig, { logger, instance: `adaptive-api#${index + 1}` }),
      );
      started.push(api);
      adaptiveApi.push(api.url);
    }

    const dashboardConfig = loadDashboardConfig({
      ...shared,
      PORT: String(config.dashboardPort),
      ADAPTIVE_API_URL: adaptiveApi.join(','),
      MICBOARD_API_URL: micboardApi.join(','),
    });
    const dashboard = await listening('DASHBOARD_PORT', config.dashboardPort, () =>
      startDashboard(dashboardConfig, { logger: createConsoleLogger(logLevel, 'dashboard') }),
    );
    started.push(dashboard);

    return {
      urls: { mock: mock.url, micboardApi, adaptiveApi, dashboard: dashboard.url, dashboardPage: dashboard.pageUrl },
      store: config.redisUrl === undefined ? 'memory' : 'redis',
      adminToken: config.adminToken,
      nodeEnv: adaptiveNodeEnv,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** What `pnpm demo` prints once everything listens. */
export function banner(demo: RunningDemo): string {
  const [micboard] = demo.urls.micboardApi;
  const [adaptive] = demo.urls.adaptiveApi;
  const lines = [
    '',
    `  micboard limiter demo — store: ${demo.store}${demo.store === 'redis' ? ' (two instances of each API share their limits)' : ''}`,
    '',
    `  dashboard          ${demo.urls.dashboardPage}      <- open this (the link carries its token)`,
    ...demo.urls.adaptiveApi.map((url, i) => `  adaptive-api${demo.urls.adaptiveApi.length > 1 ? ` #${i + 1}` : '   '}    ${url}`),
    ...demo.urls.micboardApi.map((url, i) => `  micboard-api${demo.urls.micboardApi.length > 1 ? ` #${i + 1}` : '   '}    ${url}`),
    `  Shure API mock     ${demo.urls.mock}`,
    '',
    `  admin token        ${demo.adminToken}`,
    '',
    ...(demo.nodeEnv === 'production'
      ? []
      : [
          `  NODE_ENV=${demo.nodeEnv}: loopback clients get the ${demo.nodeEnv === 'development' ? 'development' : 'testing'} profile here, so the`,
          '  traffic generator will hardly be limited. Run `NODE_ENV=production pnpm demo` to watch limits bite.',
          '',
        ]),
    '  Try:',
    `    curl -i ${micboard}/api/data`,
    `    curl -i ${adaptive}/api/v1/items`,
    `    curl -s -H "Authorization: Bearer ${demo.adminToken}" ${adaptive}/api/v1/admin/rate-limit/stats`,
    `    curl -s ${adaptive}/metrics | grep ratelimit_`,
    '',
    '  Ctrl-C stops everything.',
    '',
  ];
  return lines.join('\n');
}

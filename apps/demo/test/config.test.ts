import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadDemoConfig } from '../src/config.js';
import { checkPortFree, PortInUseError } from '../src/ports.js';

describe('loadDemoConfig', () => {
  it('defaults: mock 8080, micboard-api 3000, adaptive-api 3001, dashboard 3002, memory store, one instance each', () => {
    const config = loadDemoConfig({});
    expect(config).toMatchObject({ mockPort: 8080, micboardApiPorts: [3000], adaptiveApiPorts: [3001], dashboardPort: 3002, redisUrl: undefined });
    expect(config.adminToken.length).toBeGreaterThanOrEqual(16);
    expect(config.authSecret.length).toBeGreaterThanOrEqual(32);
  });

  it('reads LOG_LEVEL in any case, as the apps do, and hands its loggers the normalised level', () => {
    expect(loadDemoConfig({}).logLevel).toBe('warn');
    expect(loadDemoConfig({ LOG_LEVEL: 'SILENT' }).logLevel).toBe('silent');
    expect(loadDemoConfig({ LOG_LEVEL: ' Debug ' }).logLevel).toBe('debug');
  });

  it('runs two instances of each API on Redis', () => {
    const config = loadDemoConfig({ REDIS_URL: 'redis://127.0.0.1:6379', MICBOARD_API_PORT_2: '4010' });
    expect(config.micboardApiPorts).toEqual([3000, 4010]);
    expect(config.adaptiveApiPorts).toEqual([3001, 3011]);
  });

  it.each([
    [{ DASHBOARD_PORT: '3001' }, 'ADAPTIVE_API_PORT'],
    [{ MOCK_PORT: 'eighty' }, 'MOCK_PORT'],
    [{ REDIS_URL: 'localhost' }, 'REDIS_URL'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud": expected one of debug, info, warn, error, silent'],
  ])('refuses %o, naming the variable', (env, name) => {
    expect(() => loadDemoConfig(env)).toThrow(ConfigError);
    expect(() => loadDemoConfig(env)).toThrow(name);
  });
});

describe('checkPortFree', () => {
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    blocker = undefined;
  });

  it('says which variable to change when a port is taken', async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker?.listen(0, '127.0.0.1', () => resolve((blocker?.address() as { port: number }).port)));
    const refused = await checkPortFree(port, '127.0.0.1', 'DASHBOARD_PORT').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PortInUseError);
    expect((refused as Error).message).toBe(`Port ${port} is already in use. Stop whatever listens there, or choose another port: DASHBOARD_PORT=<port> pnpm demo`);
    await new Promise((resolve) => blocker?.close(resolve));
    blocker = undefined;
    await expect(checkPortFree(port, '127.0.0.1', 'DASHBOARD_PORT')).resolves.toBeUndefined();
  });
});

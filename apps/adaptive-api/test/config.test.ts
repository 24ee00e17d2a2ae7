import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('defaults: port 3001, loopback, production, memory store, no admin API', () => {
    expect(loadConfig({})).toEqual({
      port: 3001,
      host: '127.0.0.1',
      nodeEnv: 'production',
      logLevel: 'info',
      redisUrl: undefined,
      adminToken: undefined,
      authSecret: undefined,
      trustProxy: false,
    });
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        PORT: '0',
        HOST: '::1',
        NODE_ENV: 'Development',
        LOG_LEVEL: 'silent',
        REDIS_URL: 'rediss://user:pw@redis.example:6380/0',
        ADMIN_TOKEN: 'x'.repeat(16),
        AUTH_SECRET: 'y'.repeat(32),
        TRUST_PROXY: 'true',
      }),
    ).toEqual({
      port: 0,
      host: '::1',
      nodeEnv: 'development',
      logLevel: 'silent',
      redisUrl: 'rediss://user:pw@redis.example:6380/0',
      adminToken: 'x'.repeat(16),
      authSecret: 'y'.repeat(32),
      trustProxy: true,
    });
  });

  it('logs at debug in development unless told', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).logLevel).toBe('debug');
    expect(loadConfig({ NODE_ENV: 'development', LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
  });

  it.each([
    ['PORT', '3001x'],
    ['NODE_ENV', 'staging'],
    ['REDIS_URL', 'localhost:6379'],
    ['ADMIN_TOKEN', 'too short'],
    ['AUTH_SECRET', 'x'.repeat(31)],
    ['TRUST_PROXY', 'yes please'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('has seed 1 defaults, production and the mock when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      port: 3000,
      host: '127.0.0.1',
      nodeEnv: 'production',
      logLevel: 'info',
      shure: { baseUrl: 'http://127.0.0.1:8080', apiKey: 'mock-api-key', timeoutMs: 10_000, maxRetries: 3, retryBackoffMs: 500 },
      pollIntervalMs: 5000,
      cacheTimeoutMs: 30_000,
      redisUrl: undefined,
      adminToken: undefined,
      trustProxy: false,
    });
  });

  it('reads every variable, seconds as seconds', () => {
    const config = loadConfig({
      PORT: '4000',
      HOST: '0.0.0.0',
      NODE_ENV: 'development',
      SHURE_API_BASE_URL: 'https://shure.example:10000/',
      SHURE_API_KEY: 'k',
      SHURE_API_TIMEOUT: '2.5',
      SHURE_API_MAX_RETRIES: '0',
      SHURE_API_RETRY_BACKOFF: '1',
      POLL_INTERVAL: '1',
      CACHE_TIMEOUT: '10',
      REDIS_URL: 'redis://127.0.0.1:6379/2',
      ADMIN_TOKEN: 'a-long-enough-admin-token',
    });
    expect(config.port).toBe(4000);
    expect(config.nodeEnv).toBe('development');
    expect(config.logLevel).toBe('debug');
    expect(config.shure).toEqual({ baseUrl: 'https://shure.example:10000', apiKey: 'k', timeoutMs: 2500, maxRetries: 0, retryBackoffMs: 1000 });
    expect(config.pollIntervalMs).toBe(1000);
    expect(config.cacheTimeoutMs).toBe(10_000);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379/2');
    expect(config.adminToken).toBe('a-long-enough-admin-token');
  });

  it('reads TRUST_PROXY as express takes it', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8,::1' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', '::1']);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
  });

  it('sends no API key to a real server unless told', () => {
    expect(loadConfig({ SHURE_API_BASE_URL: 'http://10.0.0.5:10000' }).shure.apiKey).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['HOST', 'bad host'],
    ['NODE_ENV', 'prod'],
    ['LOG_LEVEL', 'loud'],
    ['SHURE_API_BASE_URL', 'localhost:8080'],
    ['SHURE_API_BASE_URL', 'ftp://example.com'],
    ['SHURE_API_TIMEOUT', 'ten'],
    ['SHURE_API_TIMEOUT', '0'],
    ['SHURE_API_TIMEOUT', '-1'],
    ['SHURE_API_MAX_RETRIES', '1.5'],
    ['SHURE_API_MAX_RETRIES', '99'],
    ['SHURE_API_RETRY_BACKOFF', 'soon'],
    ['POLL_INTERVAL', '0'],
    ['POLL_INTERVAL', '5s'],
    ['CACHE_TIMEOUT', 'forever'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'not a url'],
    ['ADMIN_TOKEN', 'short'],
    ['TRUST_PROXY', 'everyone'],
    ['TRUST_PROXY', '99'],
    // Only what express's proxy-addr takes: an address, or one with a prefix length it can have.
    ['TRUST_PROXY', 'cafe'],
    ['TRUST_PROXY', '10.0.0.0/99'],
    ['TRUST_PROXY', '999.1.1.1'],
    ['TRUST_PROXY', 'loopback,10.0.0.0/33'],
    ['TRUST_PROXY', '::1/129'],
    ['TRUST_PROXY', '10.0.0.0/'],
    ['TRUST_PROXY', '0.0.0.0/0'],
    ['TRUST_PROXY', 'Loopback'],
    // The origin only: the client adds /api/v1 itself, and credentials belong in SHURE_API_KEY.
    ['SHURE_API_BASE_URL', 'https://10.0.0.5:10000/api/v1'],
    ['SHURE_API_BASE_URL', 'https://admin:hunter2@10.0.0.5:10000'],
    ['SHURE_API_BASE_URL', 'https://10.0.0.5:10000/?key=1'],
  ])('refuses %s=%s with a message naming the variable', (name, value) => {
    let caught: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(name);
    expect((caught as Error).message).toContain(name);
  });

  it('never echoes the credentials of a refused SHURE_API_BASE_URL', () => {
    let caught: unknown;
    try {
      loadConfig({ SHURE_API_BASE_URL: 'https://admin:hunter2@10.0.0.5:10000' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toBe(
      'Invalid environment variable SHURE_API_BASE_URL="https://***:***@10.0.0.5:10000/": expected the server\'s origin only, such as https://10.0.0.5:10000 (no path, query or credentials; /api/v1 is added, and the key goes in SHURE_API_KEY)',
    );
    expect(() => loadConfig({ SHURE_API_BASE_URL: 'https://10.0.0.5:10000/?token=hunter2&x=' })).toThrow(/token=\*\*\*/);
  });

  it('takes TRUST_PROXY addresses and ranges of either family', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1,192.168.0.0/16,fd00::/8,::ffff:10.0.0.0/104,uniquelocal,linklocal' }).trustProxy).toEqual([
      '10.0.0.1',
      '192.168.0.0/16',
      'fd00::/8',
      '::ffff:10.0.0.0/104',
      'uniquelocal',
      'linklocal',
    ]);
  });

  it('never echoes a bad admin token', () => {
    expect(() => loadConfig({ ADMIN_TOKEN: 'secret' })).toThrow(/ADMIN_TOKEN="<6 characters>"/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: ' ' }).port).toBe(3000);
    expect(loadConfig({ REDIS_URL: '' }).redisUrl).toBeUndefined();
  });
});

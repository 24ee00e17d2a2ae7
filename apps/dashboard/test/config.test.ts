import { describe, expect, it } from 'vitest';
import { ConfigError, isLoopbackUrl, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('defaults to loopback and the demo adaptive API', () => {
    expect(loadConfig({})).toEqual({
      port: 3002,
      host: '127.0.0.1',
      adaptiveApiUrls: ['http://127.0.0.1:3001'],
      micboardApiUrls: [],
      adminToken: undefined,
      logLevel: 'info',
    });
  });

  it('reads several instances', () => {
    const config = loadConfig({ ADAPTIVE_API_URL: 'http://127.0.0.1:3001/, http://localhost:3011', MICBOARD_API_URL: 'http://[::1]:3000' });
    expect(config.adaptiveApiUrls).toEqual(['http://127.0.0.1:3001', 'http://localhost:3011']);
    expect(config.micboardApiUrls).toEqual(['http://[::1]:3000']);
  });

  it.each([
    ['ADAPTIVE_API_URL', 'http://example.com:3001'],
    ['ADAPTIVE_API_URL', 'http://10.0.0.1:3001'],
    ['ADAPTIVE_API_URL', 'http://127.0.0.1.example.com'],
    ['ADAPTIVE_API_URL', 'file:///etc/passwd'],
    ['MICBOARD_API_URL', 'nope'],
    ['PORT', 'x'],
    ['ADMIN_TOKEN', 'short'],
    ['HOST', '0.0.0.0'],
    ['HOST', '::'],
    ['HOST', '192.168.1.20'],
    ['HOST', 'example.com'],
  ])('refuses %s=%s, naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('listens on loopback only: it holds the admin token and runs traffic', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(
      'Invalid environment variable HOST="0.0.0.0": expected a loopback address (127.0.0.1, localhost or ::1)',
    );
    for (const host of ['127.0.0.1', 'localhost', '::1']) expect(loadConfig({ HOST: host }).host).toBe(host);
  });

  it('knows loopback', () => {
    expect(isLoopbackUrl('http://127.0.0.1:1')).toBe(true);
    expect(isLoopbackUrl('http://localhost')).toBe(true);
    expect(isLoopbackUrl('http://[::1]:2')).toBe(true);
    expect(isLoopbackUrl('http://127.0.0.2')).toBe(false);
    expect(isLoopbackUrl('http://user@evil.example')).toBe(false);
  });
});

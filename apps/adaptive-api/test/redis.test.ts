import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, type RedisServer } from '@micboard/test-utils';
import { loadConfig } from '../src/config.js';
import { start } from '../src/app.js';

const gauge = (text: string, name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

describe('adaptive-api on Redis (REDIS_URL)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => redis?.destroy());

  it('keeps serving through a Redis outage from the store fallback, and /metrics shows it', async () => {
    const api = await start(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: `redis://127.0.0.1:${redis.port}` }));
    try {
      expect((await fetch(`${api.url}/api/v1/health`)).status).toBe(200);
      expect((await fetch(`${api.url}/api/v1/items`)).headers.get('x-ratelimit-remaining')).toBe('59');
      let text = await (await fetch(`${api.url}/metrics`)).text();
      expect(gauge(text, 'ratelimit_store_degraded')).toBe(0);
      expect(text).toContain('ratelimit_decisions_total{limiter="global",route="/api/v1/items",user_type="anonymous",outcome="allowed"} 1');

      await redis.stop();
      for (let i = 0; i < 5; i++) expect((await fetch(`${api.url}/api/v1/items`)).status).toBe(200);
      text = await (await fetch(`${api.url}/metrics`)).text();
      expect(gauge(text, 'ratelimit_store_degraded')).toBe(1);
      expect(gauge(text, 'ratelimit_store_fallbacks_total')).toBeGreaterThanOrEqual(4);
      expect(gauge(text, 'ratelimit_store_errors_total')).toBeGreaterThanOrEqual(4);

      await redis.restart();
      await expect
        .poll(
          async () => {
            await fetch(`${api.url}/api/v1/items`);
            return gauge(await (await fetch(`${api.url}/metrics`)).text(), 'ratelimit_store_degraded');
          },
          { timeout: 10_000, interval: 200 },
        )
        .toBe(0);
    } finally {
      await api.close();
    }
  });

  it('refuses to start when Redis cannot be reached, naming REDIS_URL', async () => {
    const port = await freePort();
    await expect(start(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: `redis://:secret@127.0.0.1:${port}` }))).rejects.toThrow(
      `Cannot reach Redis at REDIS_URL=redis://:***@127.0.0.1:${port}`,
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@micboard/limiter-core';
import { freePort, startRedisServer, type RedisServer } from '@micboard/test-utils';
import { createMemoryStore } from '@micboard/limiter-store';
import { openStore, redactUrl, useOrOpenStore } from '../src/index.js';

describe('redactUrl', () => {
  it('hides the user name and password and keeps the rest', () => {
    expect(redactUrl('redis://user:hunter2@127.0.0.1:6379/0')).toBe('redis://***:***@127.0.0.1:6379/0');
    expect(redactUrl('redis://admin@127.0.0.1:6379')).toBe('redis://***@127.0.0.1:6379');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redactUrl('not a url :hunter2')).toBe('<unparseable>');
  });

  it('hides credential-like query parameters, whatever their case', () => {
    // ioredis reads a password from the query string too.
    expect(redactUrl('redis://127.0.0.1:1/?password=hunter2')).toBe('redis://127.0.0.1:1/?password=***');
    expect(redactUrl('https://h/x?db=2&Pass=a&AUTH=b&token=c&Password=d&name=e')).toBe(
      'https://h/x?db=2&Pass=***&AUTH=***&token=***&Password=***&name=e',
    );
    expect(redactUrl('redis://h:6379/0?db=2')).toBe('redis://h:6379/0?db=2');
  });
});

describe('openStore', () => {
  it('opens the memory store when no Redis URL is given', async () => {
    const opened = await openStore(undefined, silentLogger);
    expect(opened.store.name).toBe('memory');
    expect(opened.degraded()).toBe(false);
    await opened.close();
  });

  it('refuses an unreachable Redis, naming REDIS_URL without its password', async () => {
    const port = await freePort();
    await expect(openStore(`redis://:secret@127.0.0.1:${port}`, silentLogger, 1000)).rejects.toThrow(
      `Cannot reach Redis at REDIS_URL=redis://:***@127.0.0.1:${port}`,
    );
  });

  it('refuses an unreachable Redis without the password given in its query string', async () => {
    const port = await freePort();
    const refused = await openStore(`redis://127.0.0.1:${port}/?password=hunter2`, silentLogger, 1000).catch((error: unknown) => error);
    expect((refused as Error).message).toContain(`Cannot reach Redis at REDIS_URL=redis://127.0.0.1:${port}/?password=***`);
    expect((refused as Error).message).not.toContain('hunter2');
  });

  it('uses an injected store as it is, reports its degraded flag, and never closes it', async () => {
    let closed = 0;
    let degraded = false;
    const memory = createMemoryStore();
    const injected = Object.defineProperty({ ...memory, close: () => void (closed += 1) }, 'degraded', { get: () => degraded });
    const opened = await useOrOpenStore(injected, 'redis://127.0.0.1:1', silentLogger);
    expect(opened.store).toBe(injected);
    expect(opened.degraded()).toBe(false);
    degraded = true;
    expect(opened.degraded()).toBe(true);
    await opened.close();
    expect(closed).toBe(0);
    await memory.close?.();
  });

  it('opens the store redisUrl selects when none is injected', async () => {
    const opened = await useOrOpenStore(undefined, undefined, silentLogger);
    expect(opened.store.name).toBe('memory');
    await opened.close();
  });

  describe('with Redis', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(() => redis?.destroy());

    it('opens the Redis store, reports it degraded while Redis is down, and closes', async () => {
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (_fields: Record<string, unknown>, message: string) => void warnings.push(message) };
      const opened = await openStore(`redis://127.0.0.1:${redis.port}`, logger);
      try {
        expect(opened.store.name).toBe('redis');
        expect(opened.degraded()).toBe(false);
        const request = { key: 'ip:1', spec: { algorithm: 'fixed-window', limit: 5, windowMs: 60_000 } } as const;
        expect((await opened.store.consume({ ...request, cost: 1 })).allowed).toBe(true);
        await redis.stop();
        // Calls while Redis is away are answered by the fallback, which marks the store degraded.
        await expect
          .poll(
            async () => {
              expect((await opened.store.consume({ ...request, cost: 1 })).allowed).toBe(true);
              return opened.degraded();
            },
            { timeout: 10_000, interval: 100 },
          )
          .toBe(true);
        await expect.poll(() => warnings.length, { timeout: 10_000, interval: 100 }).toBeGreaterThan(0);
        // ioredis repeats the same error on every reconnect attempt: the log has no run of one message.
        expect(warnings.every((message, i) => i === 0 || message !== warnings[i - 1])).toBe(true);
      } finally {
        await opened.close();
      }
    });
  });
});

import { Redis } from 'ioredis';
import type { Logger, Store } from '@micboard/limiter-core';
import { createMemoryStore } from '@micboard/limiter-store';
import { createRedisStore } from '@micboard/limiter-store/redis';
import { redactUrl } from './env.js';

/** A store the app opened, and how to release it. */
export interface OpenedStore {
  readonly store: Store;
  /** Whether the store is answering from its in-process fallback (Redis unreachable). */
  degraded(): boolean;
  close(): Promise<void>;
}

/**
 * The memory store, or a Redis store when `REDIS_URL` is set. A Redis that cannot be reached at
 * start stops the app with a message naming the variable; once running, an outage is answered by
 * the Redis store's in-process fallback until Redis is back.
 */
export async function openStore(redisUrl: string | undefined, logger: Logger, connectTimeoutMs = 5000): Promise<OpenedStore> {
  if (redisUrl === undefined) {
    const store = createMemoryStore({ logger });
    return { store, degraded: () => false, close: async () => store.close?.() };
  }
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    // The store's recommended settings: fail a command at once while disconnected (the store
    // then answers from its fallback) instead of queueing requests behind an outage.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(50 * attempt, 200),
  });
  let lastError = '';
  client.on('error', (error: Error) => {
    // ioredis repeats the same error on every reconnect attempt; log each kind once.
    if (error.message === lastError) return;
    lastError = error.message;
    logger.warn({ err: error }, 'redis connection error');
  });
  client.on('ready', () => {
    lastError = '';
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`Cannot reach Redis at REDIS_URL=${redactUrl(redisUrl)}: ${(error as Error).message}`, { cause: error });
  }
  const store = createRedisStore({ client, logger });
  return {
    store,
    degraded: () => store.degraded,
    async close() {
      await store.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/**
 * The store a test (or the demo) injected, used as it is and never closed by the app; or, when none
 * was, the one `redisUrl` selects ({@link openStore}). An injected store that has a `degraded` flag
 * (the Redis store) is reported through `degraded()`.
 *
 * @example
 * const opened = await useOrOpenStore(deps.store, config.redisUrl, logger);
 */
export async function useOrOpenStore(injected: Store | undefined, redisUrl: string | undefined, logger: Logger): Promise<OpenedStore> {
  if (injected === undefined) return openStore(redisUrl, logger);
  return { store: injected, degraded: () => (injected as { degraded?: unknown }).degraded === true, close: async () => {} };
}

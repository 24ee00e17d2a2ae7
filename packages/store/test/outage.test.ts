/**
 * Outages in the middle of a load, on a redis-server this file starts (the shared one is never
 * stopped): Redis stopped (SIGKILL, then restarted on the same port) and Redis paused (SIGSTOP,
 * then SIGCONT). For each: no unhandled rejection, every call settles within the timeout (plus
 * scheduling slack on a loaded machine), the configured mode is what answers during the outage,
 * the outage is logged once, and decisions come from Redis again within 1 s after it returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { LimitSpec, Logger, Store, StoreDecision } from '@micboard/limiter-core';
import { connectRedis, startRedisServer, type RedisServer } from '@micboard/test-utils';
import { createMemoryStore } from '@micboard/limiter-store';
import { createRedisStore, type StoreErrorMode } from '@micboard/limiter-store/redis';

const TIMEOUT_MS = 100;
// Timers fire late on a busy 2-core machine (CI runs every package at once); a call must still
// settle close to the timeout, and well before the outage ends (a hung call would last ~1 s).
const SLACK_MS = 400;
const OUTAGE_MS = 1000;
const WORKERS = 16;
// Far more than the load: every Redis decision admits and reports remaining < LIMIT.
const LIMIT = 1_000_000_000;
const spec: LimitSpec = { algorithm: 'fixed-window', limit: LIMIT, windowMs: 1e12 };

let server: RedisServer;
let client: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  server = await startRedisServer();
  client = await connectRedis(server);
}, 30_000);
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  client?.disconnect();
  await server?.destroy();
});

interface Call {
  start: number;
  end: number;
  decision: StoreDecision;
  fromFallback: boolean;
}

function recordingLogger(): Logger & { errors: number; infos: number } {
  const logger = {
    errors: 0,
    infos: 0,
    debug: () => undefined,
    info: () => {
      logger.infos++;
    },
    warn: () => undefined,
    error: () => {
      logger.errors++;
    },
  };
  return logger;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitForPing(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await client.ping();
      return;
    } catch {
      await sleep(20);
    }
  }
}

async function runOutage(kind: 'stop' | 'pause', mode: StoreErrorMode) {
  const logger = recordingLogger();
  const memory = createMemoryStore();
  let inFallback = 0;
  // The fallback store, wrapped to see when it answers.
  const fallback: Store = {
    ...memory,
    consume: (request) => {
      inFallback++;
      return memory.consume(request);
    },
  };
  const store = createRedisStore({
    client,
    prefix: `rltest:outage:${kind}:${mode}:`,
    timeoutMs: TIMEOUT_MS,
    probeIntervalMs: 100,
    onStoreError: mode,
    fallback,
    logger,
  });
  const calls: Call[] = [];
  let running = true;
  const worker = async (id: number): Promise<void> => {
    while (running) {
      const start = performance.now();
      const before = inFallback;
      const decision = await store.consume({ key: `client-${id % 4}`, spec, cost: 1 });
      calls.push({ start, end: performance.now(), decision, fromFallback: inFallback > before });
      await sleep(5);
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, i) => worker(i));
  await sleep(300);
  const down = performance.now();
  if (kind === 'stop') await server.stop();
  else server.pause();
  await sleep(OUTAGE_MS);
  expect(store.degraded).toBe(true);
  // Redis may answer before restart() returns: "during" ends here, "after" starts at `up`.
  const restoring = performance.now();
  if (kind === 'stop') await server.restart();
  else server.resume();
  const up = performance.now();
  await sleep(1500);
  running = false;
  await Promise.all(workers);
  await waitForPing();
  return { calls, down, restoring, up, logger, store };
}

/** Whether a decision came from Redis (the only source that counts: remaining < LIMIT). */
const fromRedis = (c: Call): boolean => !c.fromFallback && c.decision.allowed && c.decision.remaining < LIMIT;

describe('outages in the middle of a load', () => {
  const cases: [kind: 'stop' | 'pause', mode: StoreErrorMode][] = [
    ['stop', 'fallback'],
    ['pause', 'fallback'],
    ['stop', 'fail-closed'],
    ['pause', 'fail-open'],
  ];
  for (const [kind, mode] of cases) {
    it(`redis ${kind === 'stop' ? 'stopped' : 'paused'}, onStoreError '${mode}'`, async () => {
      const { calls, down, restoring, up, logger, store } = await runOutage(kind, mode);
      expect(unhandled).toEqual([]);
      expect(calls.length).toBeGreaterThan(100);
      // Every call settled, and within the timeout.
      const slowest = Math.max(...calls.map((c) => c.end - c.start));
      expect(slowest).toBeLessThanOrEqual(TIMEOUT_MS + SLACK_MS);
      // Before the outage: Redis answered.
      const before = calls.filter((c) => c.end < down);
      expect(before.length).toBeGreaterThan(0);
      expect(before.every(fromRedis)).toBe(true);
      // During it (after the first timeout has opened the breaker): the configured mode.
      const during = calls.filter((c) => c.start > down + TIMEOUT_MS + SLACK_MS && c.end < restoring);
      expect(during.length).toBeGreaterThan(10);
      for (const c of during) {
        if (mode === 'fallback') expect(c.fromFallback).toBe(true);
        if (mode === 'fail-open') expect(c.decision).toMatchObject({ allowed: true, remaining: LIMIT });
        if (mode === 'fail-closed') expect(c.decision).toMatchObject({ allowed: false, retryAfter: 1000 });
      }
      // Back within 1 s: every call started a second after Redis returned is answered by Redis.
      const after = calls.filter((c) => c.start > up + 1000);
      expect(after.length).toBeGreaterThan(10);
      expect(after.every(fromRedis)).toBe(true);
      expect(store.degraded).toBe(false);
      // Logged once per outage (and once on recovery), not once per request.
      expect(logger.errors).toBe(1);
      expect(logger.infos).toBe(1);
    }, 30_000);
  }
});

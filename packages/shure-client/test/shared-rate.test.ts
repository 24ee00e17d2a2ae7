import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectSharedRedis, deleteByPrefix, sharedRedisAddress, uniquePrefix } from '@micboard/test-utils';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer } from '@micboard/shure-mock';
import { worstSpacing } from './helpers.js';

const KEY = 'shared-key';
const WORKER = fileURLToPath(new URL('./fixtures/shared-rate-worker.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
let redis: Redis;
let mock: MockServer;
const prefix = uniquePrefix('shure');

beforeAll(async () => {
  // No Redis fails here, never skips (CI=true or not).
  redis = await connectSharedRedis();
  mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
});
afterAll(async () => {
  await deleteByPrefix([redis], prefix);
  redis?.disconnect();
  await mock?.close();
});

/** Runs one worker process (tsx, cwd = this package so its tsconfig paths resolve workspace sources). */
function worker(env: Record<string, string>): Promise<{ ok: number }> {
  const { host, port } = sharedRedisAddress();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', WORKER],
      { cwd: PACKAGE_DIR, timeout: 30_000, env: { ...process.env, REDIS_URL: `redis://${host}:${port}`, BASE_URL: mock.url, API_KEY: KEY, ...env } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`worker failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { ok: number });
      },
    );
  });
}

const listTimes = (): number[] => mock.requestLog.filter((e) => e.path === '/api/v1/devices').map((e) => e.at);

describe('two client processes sharing a Redis store', () => {
  it('stay, together, within getDevices 5/s; without the store they would not', async () => {
    const calls = '5';
    // Workers take a while to boot (tsx); start both at the same wall-clock moment.
    let startAt = String(Date.now() + 5_000);
    const shared = await Promise.all([1, 2].map(() => worker({ CALLS: calls, PREFIX: prefix, START_AT: startAt })));
    expect(shared.map((r) => r.ok)).toEqual([5, 5]);
    const together = listTimes();
    expect(together).toHaveLength(10);
    // 10 calls at 5/s from one shared budget: at least 1.8 s from first to last, and no pair closer
    // than its slots allow, less 100 ms for a busy machine's scheduling (once per pair).
    expect(worstSpacing(together, 5, 100)).toBeGreaterThanOrEqual(0);
    expect((together.at(-1) ?? 0) - (together[0] ?? 0)).toBeGreaterThanOrEqual(1_800 - 100);

    // The control: the same two processes, each with its own in-memory limit, go at 10/s together.
    mock.clearLog();
    startAt = String(Date.now() + 5_000);
    const alone = await Promise.all([1, 2].map(() => worker({ CALLS: calls, START_AT: startAt })));
    expect(alone.map((r) => r.ok)).toEqual([5, 5]);
    expect(worstSpacing(listTimes(), 5, 100)).toBeLessThan(0);
  }, 60_000);
});

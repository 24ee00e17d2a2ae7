/**
 * Exactness under concurrency: 4 processes x 2,500 concurrent consumes on one key with a limit of
 * 1,000 (no refill during the test) admit exactly 1,000, for each algorithm, on standalone Redis
 * and on a 3-master cluster. The children are real processes (node + tsx running
 * fixtures/concurrent-consumer.ts), each with its own ioredis connection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from 'ioredis';
import type { LimitSpec } from '@micboard/limiter-core';
import {
  connectSharedRedis,
  deleteByPrefix,
  sharedRedisAddress,
  startRedisCluster,
  uniquePrefix,
  type RedisClusterHarness,
} from '@micboard/test-utils';

const PROCESSES = 4;
const PER_PROCESS = 2500;
const LIMIT = 1000;
const SPECS: Record<string, LimitSpec> = {
  // Refill of one token per ~11 days: none during the test.
  'token-bucket': { algorithm: 'token-bucket', capacity: LIMIT, refillPerSecond: 1e-6, burst: 0 },
  gcra: { algorithm: 'gcra', capacity: LIMIT / 2, refillPerSecond: 1e-6, burst: LIMIT / 2 },
  // Windows far longer than the test, so no boundary falls inside it.
  'fixed-window': { algorithm: 'fixed-window', limit: LIMIT, windowMs: 1e12 },
  'sliding-window exact': { algorithm: 'sliding-window', limit: LIMIT, windowMs: 3_600_000, precision: 'exact' },
  'sliding-window approximate': { algorithm: 'sliding-window', limit: LIMIT, windowMs: 1e12, precision: 'approximate' },
};

const script = fileURLToPath(new URL('./fixtures/concurrent-consumer.ts', import.meta.url));
const cwd = fileURLToPath(new URL('..', import.meta.url));

interface Child {
  process: ChildProcess;
  lines: Interface;
  next(): Promise<string>;
}

function startChild(mode: 'standalone' | 'cluster', nodes: readonly { host: string; port: number }[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', script, mode, JSON.stringify(nodes)], {
    cwd,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const queue: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    const w = waiting.shift();
    if (w) w(line);
    else queue.push(line);
  });
  return {
    process: child,
    lines,
    next: () =>
      new Promise<string>((resolve, reject) => {
        const line = queue.shift();
        if (line !== undefined) return resolve(line);
        const timer = setTimeout(() => reject(new Error('child did not answer within 60 s')), 60_000);
        waiting.push((l) => {
          clearTimeout(timer);
          resolve(l);
        });
      }),
  };
}

async function stopChildren(children: readonly Child[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.process.exitCode !== null) return resolve();
          c.process.once('exit', () => resolve());
          c.process.stdin?.end('quit\n');
          setTimeout(() => c.process.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

function suite(
  topology: 'standalone' | 'cluster',
  nodes: () => readonly { host: string; port: number }[],
  cleanup: (prefix: string) => Promise<void>,
): void {
  describe(`${PROCESSES} processes x ${PER_PROCESS} concurrent consumes, limit ${LIMIT}: ${topology}`, () => {
    let children: Child[] = [];
    const prefix = uniquePrefix(`conc-${topology}`);
    beforeAll(async () => {
      children = Array.from({ length: PROCESSES }, () => startChild(topology, nodes()));
      for (const c of children) expect(await c.next()).toBe('ready');
    }, 60_000);
    afterAll(async () => {
      await stopChildren(children);
      await cleanup(prefix);
    });

    for (const [label, spec] of Object.entries(SPECS)) {
      it(`${label}: admits exactly ${LIMIT}`, async () => {
        const go = `go ${JSON.stringify({ prefix, key: `hot:${label}`, spec, count: PER_PROCESS })}\n`;
        for (const c of children) c.process.stdin?.write(go);
        const results = (await Promise.all(children.map((c) => c.next()))).map(
          (line) => JSON.parse(line) as { admitted: number; errors: number },
        );
        expect(results.reduce((n, r) => n + r.errors, 0)).toBe(0);
        expect(results.reduce((n, r) => n + r.admitted, 0)).toBe(LIMIT);
      }, 60_000);
    }
  });
}

suite(
  'standalone',
  () => [sharedRedisAddress()],
  async (prefix) => {
    const client = await connectSharedRedis();
    await deleteByPrefix([client], prefix);
    client.disconnect();
  },
);

let harness: RedisClusterHarness | undefined;
let cluster: Cluster | undefined;
beforeAll(async () => {
  harness = await startRedisCluster(3);
  cluster = await harness.connect();
}, 60_000);
afterAll(async () => {
  await cluster?.quit().catch(() => undefined);
  await harness?.destroy();
});
suite(
  'cluster',
  () => harness?.nodes ?? [],
  async (prefix) => {
    if (cluster) await deleteByPrefix(cluster.nodes('master'), prefix);
  },
);

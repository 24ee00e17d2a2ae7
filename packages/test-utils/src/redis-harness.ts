/**
 * Redis for tests: the shared server (REDIS_URL, default 127.0.0.1:6379), throwaway servers and
 * a 3-master cluster started with the machine's redis-server on free loopback ports in temp
 * dirs. Under CI=true a missing Redis or redis-server fails the run; it never skips.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis, Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';

const run = promisify(execFile);

/** The client options the README recommends for a rate limiter, tuned for fast test recovery. */
export const LIMITER_REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  autoResendUnfulfilledCommands: false,
  retryStrategy: () => 50,
  lazyConnect: false,
};

/** The redis-server binary: REDIS_SERVER, else /usr/bin/redis-server, else whatever is on PATH. */
export function redisServerBinary(): string {
  if (process.env['REDIS_SERVER']) return process.env['REDIS_SERVER'];
  return existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server';
}

function redisCliBinary(): string {
  return existsSync('/usr/bin/redis-cli') ? '/usr/bin/redis-cli' : 'redis-cli';
}

/** host/port of the shared Redis the tests may use (never stopped by tests). */
export function sharedRedisAddress(): { host: string; port: number } {
  const url = new URL(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  return { host: url.hostname || '127.0.0.1', port: Number(url.port || 6379) };
}

/** Connects to the shared Redis, or throws a clear error (tests must fail, not skip, without it). */
export async function connectSharedRedis(options: RedisOptions = {}): Promise<Redis> {
  const { host, port } = sharedRedisAddress();
  const client = new Redis({ host, port, ...LIMITER_REDIS_OPTIONS, lazyConnect: true, ...options });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`Redis is required for these tests at ${host}:${port} (set REDIS_URL)`, { cause: error });
  }
  return client;
}

/** A client with {@link LIMITER_REDIS_OPTIONS} on `address`, connected (ready) before it returns. */
export async function connectRedis(address: { host: string; port: number }, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({ host: address.host, port: address.port, ...LIMITER_REDIS_OPTIONS, lazyConnect: true, ...options });
  // Connection errors are expected in outage tests; the store reports them per call.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

let prefixCounter = 0;
/** A key prefix no other test (or test process) uses. */
export function uniquePrefix(label = 't'): string {
  return `rltest:${label}:${process.pid}:${Date.now().toString(36)}:${++prefixCounter}:`;
}

/** Deletes every key under `prefix` on each node (SCAN + DEL, one slot at a time for clusters). */
export async function deleteByPrefix(nodes: readonly Redis[], prefix: string): Promise<void> {
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      cursor = next;
      // One DEL per key (a cluster node's keys span slots), a batch per round trip.
      if (keys.length > 0) {
        const batch = node.pipeline();
        for (const key of keys) batch.del(key);
        for (const [error] of (await batch.exec()) ?? []) if (error) throw error;
      }
    } while (cursor !== '0');
  }
}

/** A loopback TCP port that is free now, with port + 10000 (a cluster bus port) free too. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port > 0 && port + 10000 < 65536 && (await isFree(port + 10000))) return port;
  }
  throw new Error('no free port pair found');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const { stdout } = await run(redisCliBinary(), ['-h', '127.0.0.1', '-p', String(port), 'ping'], { timeout: 2000 });
      if (stdout.trim() === 'PONG') return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on ${port} did not answer PING: ${String(last)}`);
}

/** A redis-server this test owns: stop it, pause it (SIGSTOP), resume it. */
export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** Kills the server (SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  restart(): Promise<void>;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Stops it for good and removes its temp dir. */
  destroy(): Promise<void>;
}

/** Starts a redis-server on a free loopback port in a temp dir. */
export async function startRedisServer(extraArgs: readonly string[] = []): Promise<RedisServer> {
  const binary = redisServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'rl-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  // If the test process exits without tearing down (a crash, a timeout), take the server along.
  const onExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const launch = async (): Promise<void> => {
    child = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...extraArgs],
      { stdio: 'ignore' },
    );
    const failed = new Promise<never>((_, reject) => {
      child?.once('error', (e) => reject(new Error(`cannot start ${binary}: ${e.message}`)));
    });
    await Promise.race([waitForPing(port, 10_000), failed]);
    // The free port may have been taken between the check and the bind (tests run in parallel):
    // make sure the server answering is ours.
    const { stdout } = await run(redisCliBinary(), ['-p', String(port), 'info', 'server'], { timeout: 2000 });
    const pid = /process_id:(\d+)/.exec(stdout)?.[1];
    if (Number(pid) !== child?.pid) throw new Error(`port ${port} answered by another redis-server`);
  };
  const start = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await launch();
        return;
      } catch (error) {
        child?.kill('SIGKILL');
        child = undefined;
        if (attempt >= 5) throw error;
        port = await freePort();
      }
    }
  };
  port = await freePort();
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGCONT');
    c.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    host: '127.0.0.1',
    port,
    stop,
    restart: launch,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async destroy() {
      await stop();
      process.off('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A throwaway Redis Cluster. */
export interface RedisClusterHarness {
  readonly nodes: readonly { host: string; port: number }[];
  /** A new ioredis Cluster client on it (the caller closes it). */
  connect(options?: ClusterOptions): Promise<Cluster>;
  destroy(): Promise<void>;
}

/** Starts `masters` cluster-enabled servers, joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHarness> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(
        await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000']),
      );
    }
    await run(
      redisCliBinary(),
      ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    // Wait until every node agrees the cluster is up.
    const deadline = Date.now() + 20_000;
    for (const s of servers) {
      for (;;) {
        const { stdout } = await run(redisCliBinary(), ['-p', String(s.port), 'cluster', 'info'], { timeout: 2000 });
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${s.port} not ok: ${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    for (const s of servers) await s.destroy();
    throw error;
  }
  const nodes = servers.map((s) => ({ host: s.host, port: s.port }));
  return {
    nodes,
    async connect(options: ClusterOptions = {}) {
      const cluster = new Cluster(nodes, {
        enableOfflineQueue: true,
        redisOptions: { maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false },
        ...options,
      });
      // The offline queue is on only for startup (slots are learned on connect); ready means usable.
      await new Promise<void>((resolve, reject) => {
        cluster.once('ready', () => resolve());
        cluster.once('error', reject);
      });
      return cluster;
    },
    async destroy() {
      for (const s of servers) await s.destroy();
    },
  };
}

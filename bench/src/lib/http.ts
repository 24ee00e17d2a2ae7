/**
 * HTTP: each server variant runs in its own process for the whole section, and autocannon (in
 * this process) loads them in turn, in short slices.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { commandCalls, parseInfo, SCRIPT_COMMANDS } from './redis-info.js';
import type { HttpVariant } from './names.js';
import type { Target } from './worker.js';

/** A server variant, started and answering. */
export interface HttpServer {
  readonly variant: HttpVariant;
  readonly url: string;
  /** The limiter's header names on a response (checked once, before any load). */
  readonly rateLimitHeaders: readonly string[];
  stop(): Promise<void>;
}

/** One slice of load on one server. */
export interface HttpSlice {
  readonly rps: number;
  readonly requests: number;
  readonly p50ms: number;
  readonly p99ms: number;
  /** Responses other than 2xx (should be 0: limits are set above the load). */
  readonly non2xx: number;
  readonly errors: number;
  /** Redis script calls during the slice (undefined without a Redis). */
  readonly redisScripts: number | undefined;
}

const benchDir = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Starts a server variant in its own process and checks that it answers 200. Resolves
 * `{ unavailable }` when our package for the variant is missing; throws when the server fails.
 */
export async function startHttpServer(
  variant: HttpVariant,
  target: Target,
  redisPort: number | undefined,
): Promise<HttpServer | { readonly unavailable: string }> {
  const script = fileURLToPath(new URL('../workers/http-server.ts', import.meta.url));
  const child = fork(script, [JSON.stringify({ variant, redisPort })], {
    execArgv: ['--import', 'tsx'],
    cwd: benchDir,
    env: { ...process.env, TSX_TSCONFIG_PATH: `${benchDir}${target === 'dist' ? 'tsconfig.dist.json' : 'tsconfig.json'}` },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = (): Promise<void> => stopChild(child, exited);
  try {
    type Hello = { port?: number; unavailable?: string; error?: string };
    const hello = await Promise.race<Hello>([
      new Promise<Hello>((resolve) => child.once('message', (m) => resolve(m as Hello))),
      exited.then(() => ({ error: 'server exited before listening' })),
      new Promise<Hello>((resolve) => setTimeout(() => resolve({ error: 'server did not start in 30 s' }), 30_000).unref()),
    ]);
    if (hello.unavailable) {
      await stop();
      return { unavailable: hello.unavailable };
    }
    if (hello.error || !hello.port) throw new Error(`${variant}: ${hello.error ?? 'no port'}`);
    const url = `http://127.0.0.1:${hello.port}/api/data`;
    const probe = await fetch(url);
    await probe.arrayBuffer();
    if (probe.status !== 200) throw new Error(`${variant}: probe answered ${probe.status}`);
    const rateLimitHeaders = [...probe.headers.keys()].filter((name) => /ratelimit|rate-limit|retry-after/i.test(name));
    return { variant, url, rateLimitHeaders, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.connected) child.disconnect();
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Loads one server for `seconds` with `connections` connections; counts Redis scripts meanwhile. */
export async function loadSlice(server: HttpServer, connections: number, seconds: number, redisPort: number | undefined): Promise<HttpSlice> {
  const scriptsBefore = await scriptCalls(redisPort);
  const result = await cannon(server.url, connections, seconds);
  const scriptsAfter = await scriptCalls(redisPort);
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    p50ms: result.latency.p50,
    p99ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    redisScripts: scriptsBefore !== undefined && scriptsAfter !== undefined ? scriptsAfter - scriptsBefore : undefined,
  };
}

/** Script invocations Redis has run so far (the bench's own Redis, so only this run's). */
async function scriptCalls(port: number | undefined): Promise<number | undefined> {
  if (port === undefined) return undefined;
  const admin = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    let total = 0;
    for (const [command, calls] of commandCalls(parseInfo(await admin.info('commandstats')))) {
      if (SCRIPT_COMMANDS.has(command)) total += calls;
    }
    return total;
  } finally {
    admin.disconnect();
  }
}

function cannon(url: string, connections: number, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, pipelining: 1 }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

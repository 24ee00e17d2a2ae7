/** Runs autocannon (in this process) against a server variant running in its own process. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { commandCalls, parseInfo, SCRIPT_COMMANDS } from './redis-info.js';
import type { HttpVariant } from './names.js';
import type { Target } from './worker.js';

export type HttpResult =
  | { readonly available: false; readonly reason: string }
  | {
      readonly available: true;
      readonly rps: number;
      readonly p50ms: number;
      readonly p99ms: number;
      /** Responses other than 2xx (should be 0: limits are set above the load). */
      readonly non2xx: number;
      readonly errors: number;
      /** Whether the limiter's headers were on the response (checked once before the load). */
      readonly rateLimitHeaders: string[];
      /** Redis script calls per request during the measured load (Redis variants only). */
      readonly redisScriptsPerRequest: number | undefined;
    };

export interface HttpRun {
  readonly variant: HttpVariant;
  readonly target: Target;
  readonly redisPort: number | undefined;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
}

const benchDir = fileURLToPath(new URL('../../', import.meta.url));

export async function measureHttp(run: HttpRun): Promise<HttpResult> {
  const script = fileURLToPath(new URL('../workers/http-server.ts', import.meta.url));
  const child = fork(script, [JSON.stringify({ variant: run.variant, redisPort: run.redisPort })], {
    execArgv: ['--import', 'tsx'],
    cwd: benchDir,
    env: { ...process.env, TSX_TSCONFIG_PATH: `${benchDir}${run.target === 'dist' ? 'tsconfig.dist.json' : 'tsconfig.json'}` },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    type Hello = { port?: number; unavailable?: string; error?: string };
    const hello = await Promise.race<Hello>([
      new Promise<Hello>((resolve) => child.once('message', (m) => resolve(m as Hello))),
      exited.then(() => ({ error: 'server exited before listening' })),
      new Promise<Hello>((resolve) => setTimeout(() => resolve({ error: 'server did not start in 30 s' }), 30_000).unref()),
    ]);
    if (hello.unavailable) return { available: false, reason: hello.unavailable };
    if (hello.error || !hello.port) throw new Error(`${run.variant}: ${hello.error ?? 'no port'}`);
    const url = `http://127.0.0.1:${hello.port}/api/data`;

    const probe = await fetch(url);
    await probe.arrayBuffer();
    if (probe.status !== 200) throw new Error(`${run.variant}: probe answered ${probe.status}`);
    const rateLimitHeaders = [...probe.headers.keys()].filter((name) => /ratelimit|rate-limit|retry-after/i.test(name));

    if (run.warmupSeconds > 0) await cannon(url, run.connections, run.warmupSeconds);
    const scriptsBefore = await scriptCalls(run.redisPort);
    const result = await cannon(url, run.connections, run.seconds);
    const scriptsAfter = await scriptCalls(run.redisPort);
    return {
      available: true,
      rps: result.requests.average,
      p50ms: result.latency.p50,
      p99ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
      rateLimitHeaders,
      redisScriptsPerRequest:
        run.variant.endsWith('redis') && scriptsBefore !== undefined && scriptsAfter !== undefined
          ? (scriptsAfter - scriptsBefore) / result.requests.total
          : undefined,
    };
  } finally {
    if (child.connected) child.disconnect();
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
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

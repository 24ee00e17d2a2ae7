/**
 * Each measurement runs in a fresh Node process: its own heap (for byte counts), its own JIT
 * state (so one implementation's call sites never make another's polymorphic), and a hard
 * timeout so a stuck peer cannot hang the run.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type Target = 'src' | 'dist';

const benchDir = fileURLToPath(new URL('../../', import.meta.url));

export interface WorkerOptions {
  readonly target: Target;
  /** Run with `--expose-gc` (heap measurements). */
  readonly gc?: boolean;
  /** Kill the worker after this long, in ms. */
  readonly timeoutMs: number;
}

interface Reply<T> {
  readonly ok: boolean;
  readonly result?: T;
  readonly error?: string;
}

/** Runs `src/workers/<name>.ts` with `payload` and resolves with what it reports. */
export function runWorker<T>(name: string, payload: unknown, options: WorkerOptions): Promise<T> {
  const script = fileURLToPath(new URL(`../workers/${name}.ts`, import.meta.url));
  const execArgv = ['--import', 'tsx', '--max-old-space-size=4096'];
  if (options.gc) execArgv.push('--expose-gc');
  const child = fork(script, [JSON.stringify(payload)], {
    execArgv,
    cwd: benchDir,
    env: {
      ...process.env,
      // `src`: tsconfig paths map @micboard/* to source; `dist`: no paths, so package exports (dist) win.
      TSX_TSCONFIG_PATH: `${benchDir}${options.target === 'dist' ? 'tsconfig.dist.json' : 'tsconfig.json'}`,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise<T>((resolve, reject) => {
    let reply: Reply<T> | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker ${name} timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    child.on('message', (message) => {
      reply = message as Reply<T>;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (reply?.ok) resolve(reply.result as T);
      else reject(new Error(reply?.error ?? `worker ${name} exited with ${signal ?? code} before reporting`));
    });
  });
}

/** The worker side: parses the payload, runs `main`, reports its result and exits. */
export function workerMain<P, R>(main: (payload: P) => Promise<R>): void {
  const payload = JSON.parse(process.argv[2] ?? '{}') as P;
  main(payload).then(
    (result) => finish({ ok: true, result }),
    (error: unknown) => finish({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
}

function finish(reply: Reply<unknown>): void {
  // Exit only once the reply is flushed; a peer's timers or sockets must not keep us alive.
  process.send?.(reply, () => process.exit(0));
}

/** Triggers full GCs until the heap settles (requires --expose-gc). */
export function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  let previous = Number.POSITIVE_INFINITY;
  let used = process.memoryUsage().heapUsed;
  for (let i = 0; i < 10 && Math.abs(previous - used) > 1024; i++) {
    gc();
    previous = used;
    used = process.memoryUsage().heapUsed;
  }
  return used;
}

import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { describe, expect, it } from 'vitest';

/** What a run of an app's `main.ts` left behind. */
export interface MainRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `node --import tsx <main>` as `pnpm start` does, from the app's folder, with `LOG_LEVEL=silent`
 * unless `env` says otherwise. Sends SIGINT once stdout matches the first of `interrupts`, again once
 * it matches the next, and so on; kills the app after 30 s so a hung one cannot hang the test run.
 */
export function runMain(main: URL, env: Record<string, string>, ...interrupts: RegExp[]): Promise<MainRun> {
  return new Promise((resolve, reject) => {
    const path = fileURLToPath(main);
    const child = spawn(process.execPath, ['--import', 'tsx', path], {
      cwd: dirname(dirname(path)),
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let sent = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // One signal per stage: two sent at once could reach the app as one.
      if (interrupts[sent]?.test(stdout)) {
        sent += 1;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The parts of vitest the suite needs, passed in so that this module never loads vitest at run time. */
export interface SuiteApi {
  readonly describe: typeof describe;
  readonly expect: typeof expect;
  readonly it: typeof it;
}

/**
 * What every app's `main.ts` must do, as a suite: refuse a bad variable at start naming it, and
 * start on the given port, say where, and exit 0 on Ctrl-C.
 *
 * @example
 * import { describe, expect, it } from 'vitest';
 * testMain({ describe, expect, it }, 'micboard-api', new URL('../src/main.ts', import.meta.url));
 */
export function testMain({ describe, expect, it }: SuiteApi, app: string, main: URL): void {
  describe(`${app} main`, () => {
    it('stops at start with a message naming a bad variable', async () => {
      const { code, stderr } = await runMain(main, { PORT: 'eighty' });
      expect(code).toBe(1);
      expect(stderr).toBe(`${app}: Invalid environment variable PORT="eighty": expected a TCP port from 0 to 65535\n`);
    });

    it('starts on the given port, says where, and exits 0 on Ctrl-C', async () => {
      const { code, stdout } = await runMain(main, { PORT: '0', REDIS_URL: '' }, /listening on|dashboard on/);
      expect(stdout).toMatch(/http:\/\/127\.0\.0\.1:\d+/);
      expect(code).toBe(0);
    });
  });
}

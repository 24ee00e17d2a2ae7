import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const APP = 'micboard-api';

/** Runs `node --import tsx src/main.ts` as `pnpm start` does; stops it with SIGINT once `ready` is seen. */
function runMain(env: Record<string, string>, ready?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!stopped && ready?.test(stdout)) {
        stopped = true;
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

describe(`${APP} main`, () => {
  it('stops at start with a message naming a bad variable', async () => {
    const { code, stderr } = await runMain({ PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr).toBe(`${APP}: Invalid environment variable PORT="eighty": expected a TCP port from 0 to 65535\n`);
  });

  it('starts on the given port, says where, and exits 0 on Ctrl-C', async () => {
    const { code, stdout } = await runMain({ PORT: '0', REDIS_URL: '' }, /listening on|dashboard on/);
    expect(stdout).toMatch(/http:\/\/127\.0\.0\.1:\d+/);
    expect(code).toBe(0);
  });
});

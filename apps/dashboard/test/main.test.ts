import { describe, expect, it } from 'vitest';
import { runMain, testMain } from '@micboard/app-kit';

testMain({ describe, expect, it }, 'dashboard', new URL('../src/main.ts', import.meta.url));

describe('dashboard main: loopback only, and a per-run token', () => {
  it('refuses HOST=0.0.0.0 at start, naming HOST and its value', async () => {
    const { code, stdout, stderr } = await runMain(new URL('../src/main.ts', import.meta.url), { PORT: '0', HOST: '0.0.0.0' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^dashboard: Invalid environment variable HOST="0\.0\.0\.0": expected a loopback address/);
    expect(stdout).toBe('');
  });

  it('prints the link to open, with its per-run token', async () => {
    const { code, stdout } = await runMain(new URL('../src/main.ts', import.meta.url), { PORT: '0' }, /dashboard on/);
    expect(stdout).toMatch(/^dashboard on http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{32} /);
    expect(code).toBe(0);
  });
});

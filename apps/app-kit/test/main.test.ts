import { describe, expect, it } from 'vitest';
import { runMain, testMain } from '../src/index.js';

const FIXTURE = new URL('./fixtures/main.ts', import.meta.url);

// The suite every app runs, here against the stand-in, so that it is known to pass for a right main.
testMain({ describe, expect, it }, 'fixture', FIXTURE);

describe('runApp', () => {
  it('stops with "could not start" and exit code 1 when start rejects', async () => {
    const { code, stdout, stderr } = await runMain(FIXTURE, { FIXTURE: 'fail-start' });
    expect(code).toBe(1);
    expect(stderr).toBe('fixture: could not start: port 1 is taken\n');
    expect(stdout).toBe('');
  });

  it('closes the app on Ctrl-C before exiting 0', async () => {
    const { code, stdout } = await runMain(FIXTURE, { PORT: '0' }, /listening on/);
    expect(stdout).toMatch(/^fixture listening on http:\/\/127\.0\.0\.1:\d+\nclosing\n$/);
    expect(code).toBe(0);
  });

  it('exits 1 when closing fails', async () => {
    const { code, stdout } = await runMain(FIXTURE, { PORT: '0', FIXTURE: 'fail-close' }, /listening on/);
    expect(stdout).toContain('closing\n');
    expect(code).toBe(1);
  });

  it('exits at once with 130 on a second Ctrl-C while closing hangs', async () => {
    const { code, stdout } = await runMain(FIXTURE, { PORT: '0', FIXTURE: 'hang-close' }, /listening on/, /closing/);
    expect(stdout).toContain('closing\n');
    expect(code).toBe(130);
  });

  it('names the variable and its value when the configuration is refused', async () => {
    const { code, stderr } = await runMain(FIXTURE, { FIXTURE: 'sideways' });
    expect(code).toBe(1);
    expect(stderr).toBe('fixture: Invalid environment variable FIXTURE="sideways": expected one of ok, fail-start, hang-close, fail-close\n');
  });
});

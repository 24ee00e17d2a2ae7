import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@micboard/app-kit';
import { readMockEnv } from '../src/env.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const APP = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs `main.ts` as `pnpm start` does and stops it (SIGINT) once it says where it listens; killed
 * after 20 s so a hung one cannot hang the run.
 */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { cwd: APP, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('listening on')) child.kill('SIGINT');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('shure-mock environment', () => {
  it('treats empty PORT and HOST as unset: port 8080 on loopback', () => {
    expect(readMockEnv({ PORT: '', HOST: ' ' })).toEqual({ port: 8080, host: '127.0.0.1', apiKey: 'mock-api-key' });
    expect(readMockEnv({ PORT: ' 9000 ', HOST: '::1', SHURE_API_KEY: 'secret' })).toEqual({ port: 9000, host: '::1', apiKey: 'secret' });
    // An empty key is documented to turn the check off.
    expect(readMockEnv({ SHURE_API_KEY: '' }).apiKey).toBeNull();
  });

  it.each([
    ['PORT', '1e3', 'a TCP port from 0 to 65535'],
    ['PORT', '0x1F90', 'a TCP port from 0 to 65535'],
    ['PORT', '70000', 'a TCP port from 0 to 65535'],
    ['HOST', 'http://x', 'a host name or IP address to listen on'],
  ])('refuses %s=%s, naming the variable and the value', (name, value, expected) => {
    let caught: unknown;
    try {
      readMockEnv({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(name);
    expect((caught as Error).message).toBe(`Invalid environment variable ${name}=${JSON.stringify(value)}: expected ${expected}`);
  });

  it('main: an empty HOST listens on loopback, not on every interface', async () => {
    const { code, stdout } = await runMain({ HOST: '', PORT: '0' });
    expect(stdout).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ /);
    expect(code).toBe(0);
  });

  it('main: stops at start with a message naming a bad variable', async () => {
    const { code, stdout, stderr } = await runMain({ PORT: 'eighty' });
    expect(stdout).toBe('');
    expect(stderr).toBe('shure-mock: Invalid environment variable PORT="eighty": expected a TCP port from 0 to 65535\n');
    expect(code).toBe(1);
  });
});

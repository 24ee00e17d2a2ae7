import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMockServer, type MockServer } from '@micboard/shure-mock';
import { loadConfig } from '../src/config.js';
import { start, type RunningMicboardApi } from '../src/app.js';

const run = promisify(execFile);
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ADMIN_TOKEN = 'readme-admin-token-0123456';
const DOCUMENTED = 'http://127.0.0.1:3000';

/** The shell lines of the README's "Try it" blocks that talk to the API. */
function commands(): string[] {
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  return blocks.flatMap((block) => block.split('\n')).filter((line) => line.includes(DOCUMENTED) && !line.includes('pnpm'));
}

describe('README curl examples work as written', () => {
  let mock: MockServer;
  let api: RunningMicboardApi;
  beforeEach(async () => {
    mock = await createMockServer({ apiKey: 'mock-api-key', tickMs: 0, selfLimit: false });
    api = await start(loadConfig({ PORT: '0', SHURE_API_BASE_URL: mock.url, LOG_LEVEL: 'silent', ADMIN_TOKEN, SHURE_API_KEY: 'mock-api-key' }));
  });
  afterEach(async () => {
    await api.close();
    await mock.close();
  });

  it('every command succeeds against the running app', async () => {
    const lines = commands();
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const line of lines) {
      const command = line.replaceAll(DOCUMENTED, api.url);
      const piped = command.includes('|') || command.startsWith('for ');
      // Ask curl for the status too, and fail on an HTTP error, unless the line makes its own output.
      const script = piped ? command : `${command} -o /dev/null -w '%{http_code}' --fail`;
      const { stdout } = await run('sh', ['-c', script], { env: { ...process.env, ADMIN_TOKEN }, timeout: 20_000 });
      if (command.startsWith('for ')) {
        // The discovery limit: the README's earlier /api/discover calls used 2 of its 5.
        expect(stdout.trim().split('\n')).toEqual(['200', '200', '200', '429', '429', '429', '429']);
      } else if (!piped) {
        expect(stdout, line).toMatch(/^2\d\d$/);
      } else {
        expect(stdout.length, line).toBeGreaterThan(0);
      }
    }
  });
});

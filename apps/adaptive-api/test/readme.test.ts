import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { start, type RunningAdaptiveApi } from '../src/app.js';

const run = promisify(execFile);
const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ADMIN_TOKEN = 'readme-admin-token-0123456';
const DOCUMENTED = 'http://127.0.0.1:3001';

/** The README's shell blocks that talk to a running API (not the ones that start it). */
function blocks(): string[] {
  return [...README.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((match) => match[1] ?? '')
    .filter((block) => block.includes(DOCUMENTED) && !block.includes('pnpm'));
}

describe('README curl examples work as written', () => {
  let api: RunningAdaptiveApi;
  beforeEach(async () => {
    api = await start(loadConfig({ PORT: '0', LOG_LEVEL: 'silent', ADMIN_TOKEN }));
  });
  afterEach(() => api.close());

  it('each block runs against the app and shows what the README says', async () => {
    const [signup, brute, adminBlock] = blocks();
    expect(blocks()).toHaveLength(3);
    const sh = async (block: string): Promise<string> => {
      const script = `set -e\n${block.replaceAll(DOCUMENTED, api.url)}`;
      const { stdout } = await run('sh', ['-c', script], { env: { ...process.env, ADMIN_TOKEN }, timeout: 30_000 });
      return stdout;
    };

    const signedUp = await sh(signup as string);
    expect(signedUp).toContain('HTTP/1.1 200');
    expect(signedUp).toContain('{"username":"ada"}');
    expect(signedUp).toContain('{"imported":2,"total":22}');
    expect(signedUp.toLowerCase()).toContain('x-ratelimit-usertype: authenticated');

    const codes = (await sh(brute as string)).trim().split(' ');
    expect(codes).toHaveLength(15);
    expect(codes[0]).toBe('401');
    expect(codes.at(-1)).toBe('429');

    const adminOut = await sh(adminBlock as string);
    expect(adminOut).toContain('"profiles"');
    expect(adminOut).toContain('"client_key":"ip:127.0.0.1","reset":true');
    expect(adminOut).toContain('"user_type":"authenticated"');
    expect(adminOut).toContain('"endpoint":"/api/v1/items","cost":2');
    expect(adminOut).toContain('"removed"');
    expect(adminOut).toContain('"denials"');
    expect(adminOut).toContain('ratelimit_decisions_total');
  });
});

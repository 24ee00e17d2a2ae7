import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer } from '@micboard/shure-mock';
import { createShureClient } from '../src/index.js';
import { recordingLogger } from './helpers.js';

const KEY = 'tls-key';
let dir: string;
let cert: string;
let mock: MockServer;

beforeAll(async () => {
  // A throwaway self-signed certificate for 127.0.0.1, as a Shure server ships with.
  dir = mkdtempSync(join(tmpdir(), 'shure-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  mock = await createMockServer({ apiKey: KEY, tickMs: 0, tls: { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert } });
});
afterAll(async () => {
  await mock?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS with a self-signed certificate', () => {
  it('refuses the certificate by default', async () => {
    const client = createShureClient({ baseUrl: mock.url, apiKey: KEY, retry: { retries: 0 } });
    const result = await client.results.getDevices();
    await client.close();
    expect(mock.url).toMatch(/^https:/);
    expect(result.ok ? undefined : result.error.kind).toBe('network');
    expect(String((result.ok ? undefined : result.error.cause) ?? '')).toMatch(/self[- ]signed/i);
  });

  it('trusts it when given as the CA', async () => {
    const client = createShureClient({ baseUrl: mock.url, apiKey: KEY, tls: { ca: cert } });
    expect(await client.getDevices()).toHaveLength(3);
    await client.close();
  });

  it('accepts it with the explicit opt-in, and warns', async () => {
    const logger = recordingLogger();
    const client = createShureClient({ baseUrl: mock.url, apiKey: KEY, tls: { allowSelfSigned: true }, logger });
    expect(await client.getDevices()).toHaveLength(3);
    expect(logger.lines.some((l) => l.level === 'warn' && /allowSelfSigned/.test(l.message))).toBe(true);
    await client.close();
  });
});

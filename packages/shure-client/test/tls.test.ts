import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer } from '@micboard/shure-mock';
import { createShureClient } from '../src/index.js';
import { recordingLogger } from './helpers.js';

const KEY = 'tls-key';
let cert: string;
let mock: MockServer;

// A self-signed certificate for 127.0.0.1 (valid for 100 years), as a Shure server ships with one.
// Checked in, so the test needs no openssl; its key protects nothing but this loopback test.
const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');

beforeAll(async () => {
  cert = fixture('tls-cert.pem');
  mock = await createMockServer({ apiKey: KEY, tickMs: 0, tls: { key: fixture('tls-key.pem'), cert } });
});
afterAll(async () => {
  await mock?.close();
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

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer } from '@micboard/shure-mock';
import { createShureClient } from '../src/index.js';
import type { ShureClient, ShureClientOptions } from '../src/index.js';
import { manualTime } from './helpers.js';

const KEY = 'cache-test-key';
let mock: MockServer;
const clients: ShureClient[] = [];

beforeEach(async () => {
  mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await mock.close();
});

function setup(extra: Partial<ShureClientOptions> = {}) {
  const time = manualTime();
  const client = createShureClient({ baseUrl: mock.url, apiKey: KEY, clock: time.clock, sleep: time.sleep, ...extra });
  clients.push(client);
  return { client, ...time };
}

const hits = (path: string): number => mock.requestLog.filter((entry) => entry.path === path).length;

describe('response cache and de-duplication', () => {
  it('makes one request for concurrent callers and serves repeats from the cache for 30 s', async () => {
    const { client, clock } = setup();
    const [a, b, c] = await Promise.all([client.getDevices(), client.getDevices(), client.getDevices()]);
    expect(hits('/api/v1/devices')).toBe(1);
    expect(a).toHaveLength(3);
    expect(b).toBe(a);
    expect(c).toBe(a);
    clock.advance(29_999);
    await client.getDevices();
    expect(hits('/api/v1/devices')).toBe(1);
    clock.advance(1);
    await client.getDevices();
    expect(hits('/api/v1/devices')).toBe(2);
    await client.getDevices({ fresh: true });
    expect(hits('/api/v1/devices')).toBe(3);
    // Callers share the cached object, so it is frozen: one caller cannot change another's answer.
    const shared = (await client.getDevices()) as unknown as Array<{ deviceState: string }>;
    expect(() => shared.pop()).toThrow(TypeError);
    expect(() => {
      (shared[0] as { deviceState: string }).deviceState = 'OFFLINE';
    }).toThrow(TypeError);
  });

  it('keys the cache by resource and never caches failures', async () => {
    const { client } = setup({ retry: { retries: 0 } });
    await client.getDevice('b3f1c2d4-0001');
    await client.getDevice('b3f1c2d4-0002');
    await client.getDevice('b3f1c2d4-0001');
    expect(hits('/api/v1/devices/b3f1c2d4-0001')).toBe(1);
    expect(hits('/api/v1/devices/b3f1c2d4-0002')).toBe(1);
    mock.faults.failNext({ count: 1, status: 500 });
    expect(await client.getDeviceChannels('b3f1c2d4-0003')).toBeNull();
    expect(await client.getDeviceChannels('b3f1c2d4-0003')).toHaveLength(4);
    expect(hits('/api/v1/devices/b3f1c2d4-0003/audio-channels')).toBe(2);
  });

  it('lets one caller abort without cancelling the shared request for the others', async () => {
    const { client } = setup();
    mock.faults.latency(80);
    const impatient = new AbortController();
    const first = client.results.getDevices({ signal: impatient.signal });
    const second = client.results.getDevices();
    setTimeout(() => impatient.abort(), 10);
    const [a, b] = await Promise.all([first, second]);
    expect(a.ok ? undefined : a.error.kind).toBe('aborted');
    expect(b.ok).toBe(true);
    expect(hits('/api/v1/devices')).toBe(1);
  });
});

describe('abort', () => {
  it('ends a backoff wait at once', async () => {
    // Real sleep: a 10 s backoff that the abort must cut short.
    const client = createShureClient({ baseUrl: mock.url, apiKey: KEY, retry: { baseMs: 10_000, jitter: 'none' }, cacheTtlMs: 0 });
    clients.push(client);
    mock.faults.failNext({ count: 5, status: 503 });
    const controller = new AbortController();
    const started = Date.now();
    const pending = client.results.getDevices({ signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    expect(result.ok ? undefined : result.error.kind).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(hits('/api/v1/devices')).toBe(1);
  });

  it('ends a request in flight at once', async () => {
    const client = createShureClient({ baseUrl: mock.url, apiKey: KEY, cacheTtlMs: 0 });
    clients.push(client);
    mock.faults.latency(5_000);
    const controller = new AbortController();
    const started = Date.now();
    const pending = client.getDevice('b3f1c2d4-0001', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toBeNull();
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('ends a wait for a rate slot at once', async () => {
    const client = createShureClient({ baseUrl: mock.url, apiKey: KEY, cacheTtlMs: 0, rates: { getDevice: 0.1 } });
    clients.push(client);
    expect(await client.getDevice('b3f1c2d4-0001')).not.toBeNull();
    const controller = new AbortController();
    const started = Date.now();
    // The next slot is 10 s away.
    const pending = client.results.getDevice('b3f1c2d4-0002', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    expect(result.ok ? undefined : result.error.kind).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(mock.requestLog).toHaveLength(1);
  });

  it('fails a call that would wait longer than maxWaitMs as throttled, without sending it', async () => {
    const { client } = setup({ cacheTtlMs: 0, rates: { getDevice: 1 }, maxWaitMs: 100 });
    expect(await client.getDevice('b3f1c2d4-0001')).not.toBeNull();
    const result = await client.results.getDevice('b3f1c2d4-0001');
    expect(result.ok ? undefined : result.error).toMatchObject({ kind: 'throttled', attempts: 0 });
    expect(mock.requestLog).toHaveLength(1);
  });

  it('fails calls after close', async () => {
    const { client } = setup();
    await client.close();
    const result = await client.results.getDevices();
    expect(result.ok ? undefined : result.error.kind).toBe('closed');
    expect(mock.requestLog).toHaveLength(0);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHttpDate } from '@micboard/limiter-core';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer } from '@micboard/shure-mock';
import { createShureClient } from '../src/index.js';
import type { ShureClient, ShureClientOptions } from '../src/index.js';
import { manualTime, recordingLogger } from './helpers.js';

const KEY = 'retry-test-key';
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
  const logger = recordingLogger();
  const client = createShureClient({
    baseUrl: mock.url,
    apiKey: KEY,
    clock: time.clock,
    sleep: time.sleep,
    logger,
    cacheTtlMs: 0,
    ...extra,
    retry: { jitter: 'none', ...extra.retry },
  });
  clients.push(client);
  return { client, logger, ...time };
}

const hits = (path: string): number => mock.requestLog.filter((entry) => entry.path === path).length;

describe('retries against the mock', () => {
  it('retries 3 times on 503 with 0.5 s exponential backoff, then returns null and logs the error', async () => {
    const { client, logger, sleeps } = setup();
    mock.faults.failNext({ count: 10, status: 503 });
    expect(await client.getDevices()).toBeNull();
    expect(hits('/api/v1/devices')).toBe(4);
    expect(sleeps.filter((ms) => ms > 0)).toEqual([500, 1000, 2000]);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(3);
    const errors = logger.lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toBe('API request failed: GET /api/v1/devices - server-error 503');
    expect(errors[0]?.fields).toMatchObject({ kind: 'server-error', status: 503, attempts: 4, retryStop: 'exhausted' });
  });

  it('draws full jitter from the injected random source', async () => {
    const { client, sleeps } = setup({ random: () => 0.5, retry: { jitter: 'full' } });
    mock.faults.failNext({ count: 10, status: 500 });
    const result = await client.results.getDevices();
    expect(result.ok).toBe(false);
    expect(sleeps.filter((ms) => ms > 0)).toEqual([250, 500, 1000]);
  });

  it('recovers when the server does, with the value after the failed tries', async () => {
    const { client } = setup();
    mock.faults.failNext({ count: 2, status: 502 });
    const devices = await client.getDevices();
    expect(devices?.map((d) => d.hardwareIdentity.deviceId)).toEqual(['b3f1c2d4-0001', 'b3f1c2d4-0002', 'b3f1c2d4-0003']);
    expect(hits('/api/v1/devices')).toBe(3);
  });

  it('retries dropped connections (network errors)', async () => {
    const { client, sleeps } = setup();
    mock.faults.dropNext({ count: 2 });
    expect(await client.getDevice('b3f1c2d4-0001')).not.toBeNull();
    expect(hits('/api/v1/devices/b3f1c2d4-0001')).toBe(3);
    expect(sleeps.filter((ms) => ms > 0)).toEqual([500, 1000]);
  });

  it('fails a slow answer as a timeout after retrying it', async () => {
    const { client } = setup({ timeoutMs: 40, retry: { retries: 1 } });
    mock.faults.latency(400);
    const result = await client.results.getDevice('b3f1c2d4-0001');
    expect(result.ok ? undefined : result.error).toMatchObject({ kind: 'timeout', attempts: 2, transient: true });
  });

  it('obeys Retry-After in seconds', async () => {
    const { client, sleeps } = setup();
    mock.faults.failNext({ count: 1, status: 429, retryAfter: '2' });
    expect(await client.getDevices()).not.toBeNull();
    expect(sleeps.filter((ms) => ms > 0)).toEqual([2000]);
  });

  it('obeys Retry-After as an HTTP-date, counted from the client clock', async () => {
    const { client, clock, sleeps } = setup();
    mock.faults.failNext({ count: 1, status: 503, retryAfter: toHttpDate(clock.now() + 3_000) });
    expect(await client.getDevices()).not.toBeNull();
    expect(sleeps.filter((ms) => ms > 0)).toEqual([3000]);
  });

  it('gives up at once on a Retry-After above the cap', async () => {
    const { client, sleeps } = setup({ retry: { retryAfterCapMs: 60_000 } });
    mock.faults.failNext({ count: 1, status: 429, retryAfter: '120' });
    const result = await client.results.getDevices();
    expect(result.ok ? undefined : result.error).toMatchObject({ kind: 'rate-limited', retryStop: 'retry-after-too-long', attempts: 1 });
    expect(sleeps.filter((ms) => ms > 0)).toEqual([]);
  });

  it('does not retry a non-idempotent POST unless asked', async () => {
    const { client } = setup();
    const path = '/api/v1/devices/b3f1c2d4-0001/identify';
    mock.faults.failNext({ count: 2, status: 503, path });
    const once = await client.results.request({ method: 'POST', path });
    expect(once.ok ? undefined : once.error).toMatchObject({ kind: 'server-error', attempts: 1, retryStop: 'not-idempotent' });
    expect(hits(path)).toBe(1);
    const optedIn = await client.results.request({ method: 'POST', path, idempotent: true });
    expect(optedIn.ok).toBe(true);
    expect(hits(path)).toBe(3);
  });

  it('sends no JSON Content-Type on a POST without a body, and one with a body', async () => {
    const { client } = setup();
    const result = await client.results.request({ method: 'POST', path: '/api/v1/devices/b3f1c2d4-0001/identify' });
    expect(result.ok).toBe(true);
    expect(mock.requestLog.at(-1)?.contentType).toBeUndefined();
    expect(await client.discoverDevices(['10.0.0.9'])).toEqual(['10.0.0.9']);
    expect(mock.requestLog.at(-1)).toMatchObject({ method: 'PUT', contentType: 'application/json' });
  });

  it('does not retry a 404, and tells "not found" from "down"', async () => {
    const { client } = setup();
    const missing = await client.results.getDevice('no-such-device');
    expect(missing.ok ? undefined : missing.error).toMatchObject({ kind: 'not-found', status: 404, attempts: 1, transient: false });
    mock.faults.down(503);
    const down = await client.results.getDevice('b3f1c2d4-0001');
    expect(down.ok ? undefined : down.error).toMatchObject({ kind: 'server-error', status: 503, transient: true });
  });

  it('calls onError with the failure', async () => {
    const seen: string[] = [];
    const { client } = setup({ onError: (failure) => seen.push(`${failure.method}:${failure.kind}`) });
    await client.getDevice('no-such-device');
    expect(seen).toEqual(['getDevice:not-found']);
  });

  it('sends every retry back through the rate limiter', async () => {
    // With no backoff at all, only the 5/s limit of getDevices spaces the tries.
    const { client, sleeps } = setup({ retry: { baseMs: 0 } });
    mock.faults.failNext({ count: 10, status: 503 });
    await client.getDevices();
    expect(hits('/api/v1/devices')).toBe(4);
    expect(sleeps.filter((ms) => ms > 0)).toEqual([200, 200, 200]);
  });

  it('stops retrying when the retry budget is spent', async () => {
    const { client } = setup({ breaker: false, retryBudget: { ratio: 0, minRetries: 2, windowMs: 10_000 } });
    mock.faults.down(503);
    const first = await client.results.getDevices();
    expect(first.ok ? undefined : first.error).toMatchObject({ attempts: 3, retryStop: 'retry-budget' });
    const second = await client.results.getDevices();
    expect(second.ok ? undefined : second.error).toMatchObject({ attempts: 1, retryStop: 'retry-budget' });
    expect(hits('/api/v1/devices')).toBe(4);
  });
});

describe('circuit breaker against the mock', () => {
  it('opens after repeated failures, holds calls back, probes, and recovers', async () => {
    const { client, clock } = setup({ breaker: { failureThreshold: 3, openMs: 10_000 }, retryBudget: false });
    mock.faults.down(503);
    const first = await client.results.getDevices();
    // Three 503s open the circuit: the fourth try is never sent.
    expect(first.ok ? undefined : first.error).toMatchObject({ kind: 'circuit-open', attempts: 3, retryStop: 'circuit-open' });
    expect(hits('/api/v1/devices')).toBe(3);
    expect(client.circuitState).toBe('open');

    for (let i = 0; i < 5; i++) {
      const held = await client.results.getDevice('b3f1c2d4-0001');
      expect(held.ok ? undefined : held.error).toMatchObject({ kind: 'circuit-open', attempts: 0 });
    }
    expect(mock.requestLog).toHaveLength(3);

    clock.advance(10_000);
    expect(client.circuitState).toBe('half-open');
    // Still down: the one probe fails and the circuit opens again.
    const probe = await client.results.getDevice('b3f1c2d4-0001');
    expect(probe.ok).toBe(false);
    expect(mock.requestLog).toHaveLength(4);
    expect(client.circuitState).toBe('open');

    mock.faults.down(null);
    clock.advance(10_000);
    expect(await client.getDevice('b3f1c2d4-0001')).not.toBeNull();
    expect(client.circuitState).toBe('closed');
    expect(await client.getDevices()).not.toBeNull();
  });
});

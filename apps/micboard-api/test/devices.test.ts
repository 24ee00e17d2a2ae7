import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@micboard/limiter-core';
import { createShureClient, type ShureClient } from '@micboard/shure-client';
import { createMockServer, type MockServer } from '@micboard/shure-mock';
import { createDeviceService, ShureUnavailable } from '../src/devices.js';

describe('createDeviceService against the mock Shure System API', () => {
  let mock: MockServer;
  let client: ShureClient;
  let now = 1_700_000_000_000;

  beforeEach(async () => {
    mock = await createMockServer({ apiKey: 'k', tickMs: 0, selfLimit: false });
    client = createShureClient({ baseUrl: mock.url, apiKey: 'k', retry: { retries: 0 }, breaker: false });
  });
  afterEach(async () => {
    await client.close();
    await mock.close();
  });

  const service = () => createDeviceService({ client, pollIntervalMs: 60_000, cacheTimeoutMs: 30_000, logger: silentLogger, now: () => now });

  it('is empty and stale before the first poll, then serves what it read', async () => {
    const devices = service();
    expect(devices.data()).toEqual({ devices: [], updated_at: null, stale: true, error: null });
    const data = await devices.refresh();
    expect(data.stale).toBe(false);
    expect(data.updated_at).toBe(new Date(now).toISOString());
    expect(data.devices.map((device) => device.id).sort()).toEqual(mock.devices.map((device) => device.node.hardwareIdentity.deviceId).sort());
    const withBattery = data.devices.find((device) => device.battery !== null);
    expect(withBattery?.battery).toMatchObject({ percentage: expect.any(Number), status: expect.any(String) });
    expect(withBattery?.channels[0]).toMatchObject({ id: expect.any(String), audioLevel: expect.any(String) });
  });

  it('marks data stale after CACHE_TIMEOUT without a good poll, and says why', async () => {
    const devices = service();
    await devices.refresh();
    mock.faults.failNext({ count: 10, status: 503 });
    await expect(devices.refresh()).rejects.toBeInstanceOf(ShureUnavailable);
    expect(devices.data()).toMatchObject({ stale: false, error: expect.stringContaining('503') });
    now += 30_001;
    expect(devices.data().stale).toBe(true);
    expect(devices.data().devices.length).toBe(mock.devices.length);
  });

  it('polls in the background until stopped', async () => {
    const devices = createDeviceService({ client, pollIntervalMs: 10, cacheTimeoutMs: 30_000, logger: silentLogger });
    devices.start();
    await expect.poll(() => devices.data().updated_at, { timeout: 5000 }).not.toBeNull();
    await devices.stop();
    const after = mock.requestLog.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(mock.requestLog.length).toBe(after);
  });

  it('discovers: adds IPs to the server list and reports the devices', async () => {
    const devices = service();
    expect((await devices.discover()).ips).toEqual([]);
    const found = await devices.discover(['192.0.2.1', '192.0.2.2']);
    expect(found.ips).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(found.devices.length).toBe(mock.devices.length);
    expect(mock.discoveryIps()).toEqual(['192.0.2.1', '192.0.2.2']);
  });
});

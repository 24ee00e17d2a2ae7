import { afterEach, describe, expect, it } from 'vitest';
import { LimiterError } from '@micboard/limiter-core';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer } from '@micboard/shure-mock';
import { createShureClient } from '../src/index.js';
import type { ShureClient } from '../src/index.js';
import { manualTime } from './helpers.js';

const KEY = 'methods-key';
let mock: MockServer | undefined;
let client: ShureClient | undefined;

afterEach(async () => {
  await client?.close();
  await mock?.close();
  client = undefined;
  mock = undefined;
});

async function start(pageSize = 50): Promise<{ mock: MockServer; client: ShureClient }> {
  mock = await createMockServer({ apiKey: KEY, tickMs: 0, pageSize });
  const time = manualTime();
  client = createShureClient({ baseUrl: `${mock.url}/`, apiKey: KEY, clock: time.clock, sleep: time.sleep });
  return { mock, client };
}

describe('typed methods against the mock', () => {
  it('follows every page of the device list', async () => {
    const { mock, client } = await start(1);
    const devices = await client.getDevices();
    expect(devices?.map((d) => [d.hardwareIdentity.deviceId, d.softwareIdentity.model, d.deviceState])).toEqual([
      ['b3f1c2d4-0001', 'ULXD2', 'ONLINE'],
      ['b3f1c2d4-0002', 'AD1', 'ONLINE'],
      ['b3f1c2d4-0003', 'ULXD4Q', 'ONLINE'],
    ]);
    expect(mock.requestLog.map((e) => e.query)).toEqual(['', expect.stringMatching(/^after=/), expect.stringMatching(/^after=/)]);
  });

  it('accepts a bare array as the device list (one page)', async () => {
    const node = { hardwareIdentity: { deviceId: 'a', serialNumber: '1' }, softwareIdentity: { model: 'SLXD2', firmwareVersion: '3' }, deviceState: 'DISCOVERED', capabilities: {} };
    const urls: string[] = [];
    client = createShureClient({
      baseUrl: 'http://shure.test',
      fetch: (url) => {
        urls.push(url);
        return Promise.resolve({ status: 200, headers: { get: () => null }, text: () => Promise.resolve(JSON.stringify([node])) });
      },
    });
    expect(await client.getDevices()).toEqual([node]);
    expect(urls).toEqual(['http://shure.test/api/v1/devices']);
  });

  it('reads one device and its channels', async () => {
    const { client } = await start();
    expect((await client.getDevice('b3f1c2d4-0002'))?.hardwareIdentity.serialNumber).toBe('SN000002');
    const channels = await client.getDeviceChannels('b3f1c2d4-0003');
    expect(channels).toHaveLength(4);
    expect(channels?.every((c) => c.id.includes('/'))).toBe(true);
  });

  it('fetches battery and channel activity together, URL-encoding channel ids', async () => {
    const { mock, client } = await start();
    const device = mock.devices[0];
    const data = await client.getTransmitterData('b3f1c2d4-0001');
    expect(data).toEqual({
      deviceId: 'b3f1c2d4-0001',
      battery: {
        level: { percentage: device?.battery?.percentage, status: device?.battery?.status },
        health: { percentage: device?.battery?.health, cycleCount: device?.battery?.cycleCount },
      },
      channels: [{ id: device?.channels[0]?.id, name: 'ULXD2 ch1', audioLevel: device?.channels[0]?.audioLevel }],
    });
    // A receiver has no battery: that is not a failure.
    const receiver = await client.getTransmitterData('b3f1c2d4-0003');
    expect(receiver?.battery).toBeNull();
    expect(receiver?.channels).toHaveLength(4);
    const missing = await client.results.getTransmitterData('nope');
    expect(missing.ok ? undefined : missing.error.kind).toBe('not-found');
  });

  it('adds IPs to the discovery list with one PUT, and skips the PUT when nothing is new', async () => {
    const { mock, client } = await start();
    expect(await client.discoverDevices(['10.0.0.5', '10.0.0.6'])).toEqual(['10.0.0.5', '10.0.0.6']);
    expect(await client.discoverDevices(['10.0.0.6', '10.0.0.7'])).toEqual(['10.0.0.5', '10.0.0.6', '10.0.0.7']);
    expect(mock.discoveryIps()).toEqual(['10.0.0.5', '10.0.0.6', '10.0.0.7']);
    const before = mock.requestLog.length;
    expect(await client.discoverDevices(['10.0.0.5'])).toEqual(['10.0.0.5', '10.0.0.6', '10.0.0.7']);
    expect(mock.requestLog.slice(before).map((e) => e.method)).toEqual(['GET']);
    // The server rejects a malformed address: a 400 is not retried.
    const bad = await client.results.discoverDevices(['not-an-ip']);
    expect(bad.ok ? undefined : bad.error).toMatchObject({ kind: 'rejected', status: 400, attempts: 1 });
  });

  it('reports a wrong API key as unauthorized, without retrying', async () => {
    const { mock } = await start();
    client = createShureClient({ baseUrl: mock.url, apiKey: 'wrong' });
    const result = await client.results.getDevices();
    expect(result.ok ? undefined : result.error).toMatchObject({ kind: 'unauthorized', status: 401, attempts: 1 });
  });

  it('reports a body that is not the expected shape as invalid-response, without retrying', async () => {
    let calls = 0;
    const bodies = ['{"foo":1}', 'not json'];
    client = createShureClient({
      baseUrl: 'http://shure.test',
      cacheTtlMs: 0,
      fetch: () => {
        const text = bodies[calls++] ?? '{}';
        return Promise.resolve({ status: 200, headers: { get: () => null }, text: () => Promise.resolve(text) });
      },
    });
    const shape = await client.results.getDevice('x');
    expect(shape.ok ? undefined : shape.error).toMatchObject({ kind: 'invalid-response', attempts: 1 });
    expect(shape.ok ? '' : shape.error.message).toMatch(/hardwareIdentity/);
    const json = await client.results.getDevice('x');
    expect(json.ok ? undefined : json.error.kind).toBe('invalid-response');
    expect(calls).toBe(2);
  });

  it('rejects bad options and arguments with INVALID_OPTION naming them', async () => {
    const bad: Array<[() => unknown, string]> = [
      [() => createShureClient({ baseUrl: 'ftp://x' }), 'baseUrl'],
      [() => createShureClient({ baseUrl: 'not a url' }), 'baseUrl'],
      [() => createShureClient({ baseUrl: 'http://x', timeoutMs: 0 }), 'timeoutMs'],
      [() => createShureClient({ baseUrl: 'http://x', rates: { getDevices: 0 } }), 'rates.getDevices'],
      [() => createShureClient({ baseUrl: 'http://x', retry: { retries: -1 } }), 'retry.retries'],
      [() => createShureClient({ baseUrl: 'http://x', retry: 5 as never }), 'retry'],
      [() => createShureClient({ baseUrl: 'http://x/api/v1' }), 'baseUrl'],
      [() => createShureClient({ baseUrl: 'http://user:secret@x' }), 'baseUrl'],
      [() => createShureClient({ baseUrl: 'http://x', timeoutMs: 2 ** 31 }), 'timeoutMs'],
      [() => createShureClient({ baseUrl: 'http://x', retryNonIdempotent: 'yes' as never }), 'retryNonIdempotent'],
      [() => createShureClient({ baseUrl: 'http://x', random: 0.5 as never }), 'random'],
      [() => createShureClient({ baseUrl: 'http://x', logger: {} as never }), 'logger'],
      [() => createShureClient({ baseUrl: 'http://x', onError: 'x' as never }), 'onError'],
      [() => createShureClient({ baseUrl: 'http://x', rates: 5 as never }), 'rates'],
      [() => createShureClient({ baseUrl: 'http://x', rates: { toString: 1 } as never }), 'rates.toString'],
      [() => createShureClient({ baseUrl: 'http://x', breaker: 'off' as never }), 'breaker'],
      [() => createShureClient({ baseUrl: 'http://x', retryBudget: true as never }), 'retryBudget'],
      [() => createShureClient({ baseUrl: 'http://x', breaker: { failureThreshold: 0 } }), 'breaker.failureThreshold'],
      [() => createShureClient({ baseUrl: 'http://x', retryBudget: { ratio: -1 } }), 'retryBudget.ratio'],
      [() => createShureClient({ baseUrl: 'http://x', fetch: globalThis.fetch, tls: { allowSelfSigned: true } }), 'tls'],
    ];
    for (const [make, option] of bad) {
      let thrown: unknown;
      try {
        make();
      } catch (error) {
        thrown = error;
      }
      expect(thrown, option).toBeInstanceOf(LimiterError);
      expect((thrown as LimiterError).option).toBe(option);
    }
    expect(() => createShureClient({ baseUrl: 'http://x', retry: { retries: -1 } })).toThrow(/^retry\.retries must be/);
    // A trailing slash is still just the origin.
    expect(createShureClient({ baseUrl: 'http://x:8080/' }).baseUrl).toBe('http://x:8080');
    const ok = createShureClient({ baseUrl: 'http://x' });
    await expect(ok.getDevice('')).rejects.toThrow(/deviceId/);
    await expect(ok.results.discoverDevices([])).rejects.toThrow(/ips/);
    await expect(ok.results.request({ path: '/api/v1/x', method: 123 as never })).rejects.toMatchObject({ option: 'method' });
    await expect(ok.results.request({ path: '/api/v1/x', method: 'POST', idempotent: 'true' as never })).rejects.toMatchObject({ option: 'idempotent' });
    await ok.close();
  });
});

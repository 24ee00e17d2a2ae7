import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer, RequestLogEntry } from '@micboard/shure-mock';
import { createShureClient } from '../src/index.js';
import type { ShureClient } from '../src/index.js';
import { worstSpacing } from './helpers.js';

const KEY = 'rate-key';
let mock: MockServer;
let client: ShureClient;

beforeEach(async () => {
  mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
});
afterEach(async () => {
  await client.close();
  await mock.close();
});

const times = (match: (entry: RequestLogEntry) => boolean): number[] => mock.requestLog.filter(match).map((e) => e.at);
const ONE_DEVICE = /^\/api\/v1\/devices\/[^/]+$/;

describe('per-method rates, measured by the mock (real time)', () => {
  it("keeps every method within seed 1's default rate, even with concurrent callers and retries", async () => {
    client = createShureClient({ baseUrl: mock.url, apiKey: KEY, cacheTtlMs: 0, retry: { baseMs: 1 } });
    // Two 503s on one device: their retries must take getDevice rate slots too.
    mock.faults.failNext({ count: 2, status: 503, path: '/api/v1/devices/u9' });
    const ids = ['b3f1c2d4-0001', 'b3f1c2d4-0002', 'b3f1c2d4-0003', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9'];
    const sequential = async (n: number, call: (i: number) => Promise<unknown>): Promise<unknown[]> => {
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(await call(i));
      return out;
    };
    const [lists, singles, transmitters, discoveries, raws] = await Promise.all([
      // Concurrent identical calls would share one request (de-duplication), so these go one by one.
      sequential(4, () => client.getDevices()),
      Promise.all(ids.map((id) => client.results.getDevice(id))),
      sequential(6, (i) => client.getTransmitterData(ids[i % 2] as string)),
      Promise.all([1, 2, 3].map((i) => client.discoverDevices([`10.0.1.${i}`]))),
      Promise.all(ids.map(() => client.results.request({ path: '/api/v1/devices/b3f1c2d4-0003/audio-channels' }))),
    ]);
    expect(lists.every((r) => r !== null)).toBe(true);
    expect(singles.map((r) => (r.ok ? 'ok' : r.error.kind))).toEqual([...Array(3).fill('ok'), ...Array(6).fill('not-found')]);
    expect(transmitters.every((r) => r !== null)).toBe(true);
    expect(discoveries.every((r) => r !== null)).toBe(true);
    expect(raws.every((r) => r.ok)).toBe(true);

    const list = times((e) => e.path === '/api/v1/devices');
    expect(list).toHaveLength(4);
    const single = times((e) => ONE_DEVICE.test(e.path));
    expect(single).toHaveLength(11);
    // One battery-level request per getTransmitterData call.
    const transmitter = times((e) => e.path.endsWith('/battery-level'));
    expect(transmitter).toHaveLength(6);
    const discovery = times((e) => e.path === '/api/v1/config/discovery/ips' && e.method === 'GET');
    expect(discovery).toHaveLength(3);
    const raw = times((e) => e.path === '/api/v1/devices/b3f1c2d4-0003/audio-channels');
    expect(raw).toHaveLength(9);

    // 100 ms of tolerance (once per pair, it does not add up) absorbs the time between a slot and
    // the mock seeing the request: a new connection's set-up, or a stalled event loop on a busy
    // 2-core machine. Pairs further apart still check the rate (9 getDevice calls need 700 ms or
    // more); rate-virtual.test.ts checks the same spacing exactly, in virtual time.
    expect(worstSpacing(list, 5, 100)).toBeGreaterThanOrEqual(0);
    expect(worstSpacing(single, 10, 100)).toBeGreaterThanOrEqual(0);
    expect(worstSpacing(transmitter, 10, 100)).toBeGreaterThanOrEqual(0);
    expect(worstSpacing(discovery, 2, 100)).toBeGreaterThanOrEqual(0);
    expect(worstSpacing(raw, 10, 100)).toBeGreaterThanOrEqual(0);
    // And the check can fail: the same calls with no limit would be far closer together.
    expect(worstSpacing([0, 50, 100, 150], 5, 100)).toBeLessThan(0);
  });

  it('keys rates by method: different methods do not wait for each other', async () => {
    client = createShureClient({ baseUrl: mock.url, apiKey: KEY, cacheTtlMs: 0, rates: { getDevices: 1, getDevice: 1 } });
    const started = Date.now();
    await Promise.all([client.getDevices(), client.getDevice('b3f1c2d4-0001')]);
    expect(Date.now() - started).toBeLessThan(900);
    const first = times((e) => e.path === '/api/v1/devices')[0] as number;
    const second = times((e) => ONE_DEVICE.test(e.path))[0] as number;
    expect(Math.abs(first - second)).toBeLessThan(500);
  });
});

/**
 * Writes and what they make stale (the discovery list's read-merge-write, cached reads), and what
 * the circuit breaker makes of a 429 or a cached call that throws.
 */
import { describe, expect, it } from 'vitest';
import { createShureClient } from '../src/index.js';
import type { FetchLike, FetchResponse } from '../src/index.js';
import { manualTime } from './helpers.js';

const json = (status: number, body: unknown): FetchResponse => ({
  status,
  headers: { get: () => null },
  text: () => Promise.resolve(body === undefined ? '' : JSON.stringify(body)),
});
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const device = (id: string, name = id): unknown => ({ hardwareIdentity: { deviceId: id }, name });

/** A discovery list on a server that takes `ms` per answer. */
function discoveryServer(initial: string[], ms = 0) {
  const state = { ips: [...initial], puts: 0 };
  const fetch: FetchLike = async (_url, init) => {
    if (ms > 0) await delay(ms);
    if (init.method === 'GET') return json(200, { ips: [...state.ips] });
    state.puts++;
    state.ips = (JSON.parse(init.body as string) as { ips: string[] }).ips;
    return json(200, { ips: state.ips });
  };
  return { state, fetch };
}

describe('discoverDevices', () => {
  it('runs one read-merge-write at a time: concurrent calls keep every IP', async () => {
    const server = discoveryServer(['10.0.0.1'], 20);
    const client = createShureClient({ baseUrl: 'http://x', fetch: server.fetch, rates: { discoverDevices: 1000 } });
    const added = await Promise.all(['10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => client.discoverDevices([ip])));
    await client.close();
    expect(added.every((list) => list !== null)).toBe(true);
    expect([...server.state.ips].sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
    // The last call saw every earlier one's write.
    expect([...(added[2] ?? [])].sort()).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']);
  });

  it('a call aborted while an earlier one runs ends as aborted, and the next one still goes', async () => {
    const server = discoveryServer([], 20);
    const client = createShureClient({ baseUrl: 'http://x', fetch: server.fetch, rates: { discoverDevices: 1000 } });
    const first = client.results.discoverDevices(['10.0.0.1']);
    const controller = new AbortController();
    const second = client.results.discoverDevices(['10.0.0.2'], { signal: controller.signal });
    const third = client.results.discoverDevices(['10.0.0.3']);
    controller.abort();
    const stopped = await second;
    expect(stopped.ok ? 'ok' : stopped.error.kind).toBe('aborted');
    expect((await first).ok).toBe(true);
    expect((await third).ok).toBe(true);
    await client.close();
    expect([...server.state.ips].sort()).toEqual(['10.0.0.1', '10.0.0.3']);
  });

  it('writes an IP the server lacks even when its list repeats one', async () => {
    const server = discoveryServer(['10.0.0.1', '10.0.0.1']);
    const client = createShureClient({ baseUrl: 'http://x', fetch: server.fetch });
    expect(await client.discoverDevices(['10.0.0.2'])).toEqual(['10.0.0.1', '10.0.0.2']);
    await client.close();
    expect(server.state.ips).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(server.state.puts).toBe(1);
  });

  it('sends no write when every IP is known', async () => {
    const server = discoveryServer(['10.0.0.1', '10.0.0.2']);
    const client = createShureClient({ baseUrl: 'http://x', fetch: server.fetch });
    expect(await client.discoverDevices([' 10.0.0.2 '])).toEqual(['10.0.0.1', '10.0.0.2']);
    await client.close();
    expect(server.state.puts).toBe(0);
  });
});

describe('cached reads after a write', () => {
  it('a device list read that was running when discoverDevices wrote is not cached, nor joined by later callers', async () => {
    let ips: string[] = [];
    let release = (): void => {};
    let gate: Promise<void> | undefined = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fetch: FetchLike = async (url, init) => {
      if (url.endsWith('/devices')) {
        const snapshot = ips.map((ip) => device(ip));
        if (gate !== undefined) {
          const held = gate;
          gate = undefined;
          await held;
        }
        return json(200, snapshot);
      }
      if (init.method === 'GET') return json(200, { ips });
      ips = (JSON.parse(init.body as string) as { ips: string[] }).ips;
      return json(200, { ips });
    };
    const client = createShureClient({ baseUrl: 'http://x', fetch });
    const before = client.getDevices();
    await delay(10);
    expect(await client.discoverDevices(['10.0.0.9'])).toEqual(['10.0.0.9']);
    const after = client.getDevices();
    release();
    expect(await before).toEqual([]);
    expect((await after)?.map((d) => d.hardwareIdentity.deviceId)).toEqual(['10.0.0.9']);
    expect((await client.getDevices())?.map((d) => d.hardwareIdentity.deviceId)).toEqual(['10.0.0.9']);
    await client.close();
  });

  it('a write through request() drops cached answers', async () => {
    let name = 'old';
    const fetch: FetchLike = async (_url, init) => {
      if (init.method === 'PATCH') {
        name = 'new';
        return json(200, {});
      }
      return json(200, device('a', name));
    };
    const client = createShureClient({ baseUrl: 'http://x', fetch });
    expect(await client.getDevice('a')).toMatchObject({ name: 'old' });
    expect(await client.getDevice('a')).toMatchObject({ name: 'old' });
    await client.results.request({ method: 'PATCH', path: '/api/v1/devices/a', body: { name: 'new' } });
    expect(await client.getDevice('a')).toMatchObject({ name: 'new' });
    // A read through request() leaves the cache alone.
    name = 'newer';
    await client.results.request({ path: '/api/v1/devices/a' });
    expect(await client.getDevice('a')).toMatchObject({ name: 'new' });
    await client.close();
  });
});

describe('health and failures', () => {
  it('a 429 neither resets the failure count nor closes a half-open circuit', async () => {
    const statuses = [503, 429, 503];
    const time = manualTime();
    const fetch: FetchLike = async () => json(statuses.shift() ?? 200, device('a'));
    const client = createShureClient({
      baseUrl: 'http://x',
      fetch,
      ...time,
      retry: { retries: 0 },
      cacheTtlMs: 0,
      breaker: { failureThreshold: 2, openMs: 1000 },
    });
    for (let i = 0; i < 3; i++) await client.results.getDevice('a');
    expect(client.circuitState).toBe('open');
    time.clock.advance(1000);
    statuses.push(429, 200);
    expect(client.circuitState).toBe('half-open');
    const probe = await client.results.getDevice('a');
    expect(probe.ok ? 'ok' : probe.error.kind).toBe('rate-limited');
    expect(client.circuitState).toBe('half-open');
    // The probe slot was given back: the next call probes, and its success closes the circuit.
    expect((await client.results.getDevice('a')).ok).toBe(true);
    expect(client.circuitState).toBe('closed');
    await client.close();
  });

  it('a cached call that throws rejects its callers (no hang, no unhandled rejection)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const time = manualTime();
      // A clock that breaks mid-call (after construction), as a buggy injected one could.
      let broken = false;
      const clock = {
        now: (): number => {
          if (broken) throw new Error('the clock broke');
          return time.clock.now();
        },
      };
      const fetch: FetchLike = async () => {
        broken = true;
        return json(503, device('a'));
      };
      const client = createShureClient({ baseUrl: 'http://x', fetch, clock, sleep: time.sleep, breaker: false, retryBudget: false });
      const controller = new AbortController();
      const outcome = await Promise.race([
        client.results.getDevice('a', { signal: controller.signal }).then(
          () => 'settled',
          () => 'rejected',
        ),
        delay(300).then(() => 'pending after 300 ms'),
      ]);
      expect(outcome).toBe('rejected');
      broken = false;
      await client.close();
      await delay(10);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a server that repeats its page cursor is an invalid response, not a list with every device twice', async () => {
    const fetch: FetchLike = async () => json(200, { edges: [{ node: device('a') }], pageInfo: { hasNextPage: true, endCursor: 'c1' } });
    const client = createShureClient({ baseUrl: 'http://x', fetch });
    const result = await client.results.getDevices();
    await client.close();
    expect(result.ok ? result.value : result.error.kind).toBe('invalid-response');
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createShureClient, DEFAULT_RATES } from '../src/index.js';
import type { FetchLike, ShureClient, ShureMethod } from '../src/index.js';
import { virtualTime, worstSpacing } from './helpers.js';

const DEVICE = { hardwareIdentity: { deviceId: 'd', serialNumber: 's' }, softwareIdentity: { model: 'm', firmwareVersion: 'f' }, deviceState: 'ONLINE', capabilities: [] };

/** A server in virtual time: answers at once, records when each request was sent, fails as scripted. */
function virtualServer(now: () => number, failEvery = 0) {
  const sent: Array<{ at: number; path: string; method: string }> = [];
  const fetch: FetchLike = (url, init) => {
    const path = new URL(url).pathname;
    sent.push({ at: now(), path, method: init.method });
    const fail = failEvery > 0 && sent.length % failEvery === 0;
    const body = path === '/api/v1/devices' ? { edges: [{ node: DEVICE }] } : path.endsWith('/ips') ? { ips: [] } : DEVICE;
    return Promise.resolve({
      status: fail ? 503 : 200,
      headers: { get: () => null },
      text: () => Promise.resolve(fail ? '{}' : JSON.stringify(body)),
    });
  };
  return { fetch, sent };
}

const CALL: Record<Exclude<ShureMethod, 'getTransmitterData' | 'request'>, (client: ShureClient, i: number) => Promise<unknown>> = {
  getDevices: (client) => client.results.getDevices({ fresh: true }),
  getDevice: (client, i) => client.results.getDevice(`d${i}`),
  getDeviceChannels: (client, i) => client.results.getDeviceChannels(`d${i}`),
  discoverDevices: (client, i) => client.results.discoverDevices([`10.0.0.${i % 250}`]),
};
const PATH: Record<keyof typeof CALL, (path: string, method: string) => boolean> = {
  getDevices: (path) => path === '/api/v1/devices',
  getDevice: (path) => /^\/api\/v1\/devices\/d\d+$/.test(path),
  getDeviceChannels: (path) => path.endsWith('/audio-channels'),
  // One GET per call (the PUT that may follow is part of the same call).
  discoverDevices: (path, method) => path.endsWith('/ips') && method === 'GET',
};

describe('per-method rates in virtual time (exact)', () => {
  it('spaces concurrent calls and their retries exactly 1/rate apart', async () => {
    const time = virtualTime();
    const server = virtualServer(() => time.clock.now(), 4);
    const client = createShureClient({
      baseUrl: 'http://shure.test',
      fetch: server.fetch,
      clock: time.clock,
      sleep: time.sleep,
      cacheTtlMs: 0,
      retry: { baseMs: 0 },
      retryBudget: false,
      breaker: false,
    });
    const calls = Array.from({ length: 20 }, (_, i) => client.results.getDevice(`d${i}`));
    const results = await time.run(Promise.all(calls));
    expect(results.every((r) => r.ok)).toBe(true);
    const times = server.sent.map((s) => s.at - (server.sent[0]?.at ?? 0));
    // 20 calls, every 4th request fails and is retried: 26 requests, one per 100 ms slot.
    expect(times).toEqual(Array.from({ length: times.length }, (_, i) => i * 100));
    expect(times.length).toBeGreaterThan(20);
    await client.close();
  });

  it('never lets any method exceed its rate, whatever the mix and timing of calls (property)', async () => {
    const methods = Object.keys(CALL) as Array<keyof typeof CALL>;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ method: fc.constantFrom(...methods), delayMs: fc.integer({ min: 0, max: 1_500 }) }), { minLength: 1, maxLength: 12 }),
        fc.constantFrom(0, 3),
        async (plan, failEvery) => {
          const time = virtualTime();
          const server = virtualServer(() => time.clock.now(), failEvery);
          const client = createShureClient({
            baseUrl: 'http://shure.test',
            fetch: server.fetch,
            clock: time.clock,
            sleep: time.sleep,
            cacheTtlMs: 0,
            retry: { baseMs: 0, retries: 2 },
            retryBudget: false,
            breaker: false,
          });
          const work = plan.map(async ({ method, delayMs }, i) => {
            await time.sleep(delayMs);
            return CALL[method](client, i);
          });
          await time.run(Promise.all(work));
          for (const method of methods) {
            const times = server.sent.filter((s) => PATH[method](s.path, s.method)).map((s) => s.at);
            expect(worstSpacing(times, DEFAULT_RATES[method], 0)).toBeGreaterThanOrEqual(0);
          }
          await client.close();
        },
      ),
      { numRuns: 1000 },
    );
  });
});

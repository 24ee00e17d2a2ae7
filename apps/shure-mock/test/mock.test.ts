import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@micboard/limiter-core/testing';
import { createMockServer } from '../src/index.js';
import type { MockServer } from '../src/index.js';

const KEY = 'test-key';
let mock: MockServer | undefined;

afterEach(async () => {
  await mock?.close();
  mock = undefined;
});

const get = (path: string, key: string | null = KEY, init: RequestInit = {}): Promise<Response> =>
  fetch(`${(mock as MockServer).url}${path}`, { ...init, headers: { ...(key === null ? {} : { 'x-api-key': key }), ...(init.headers ?? {}) } });

describe('shure mock', () => {
  it('serves paginated devices and checks x-api-key', async () => {
    mock = await createMockServer({ apiKey: KEY, pageSize: 2, tickMs: 0 });
    expect(mock.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await get('/api/v1/devices', null)).status).toBe(401);
    expect((await get('/api/v1/devices', 'wrong')).status).toBe(401);
    const first = (await (await get('/api/v1/devices')).json()) as {
      pageInfo: { hasNextPage: boolean; endCursor: string };
      edges: Array<{ node: { hardwareIdentity: { deviceId: string } } }>;
    };
    expect(first.edges).toHaveLength(2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await (await get(`/api/v1/devices?after=${encodeURIComponent(first.pageInfo.endCursor)}`)).json()) as typeof first;
    expect(second.edges.map((e) => e.node.hardwareIdentity.deviceId)).toEqual(['b3f1c2d4-0003']);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect(mock.requestLog.map((e) => e.outcome)).toEqual(['unauthorized', 'unauthorized', 'ok', 'ok']);
  });

  it('needs channel ids URL-encoded, and serves battery and activity', async () => {
    mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
    const id = 'b3f1c2d4-0001';
    const channels = (await (await get(`/api/v1/devices/${id}/audio-channels`)).json()) as Array<{ id: string }>;
    const ch = channels[0]?.id as string;
    expect(ch).toContain('/');
    expect((await get(`/api/v1/devices/${id}/audio-channels/${ch}/activity`)).status).toBe(404);
    const activity = await get(`/api/v1/devices/${id}/audio-channels/${encodeURIComponent(ch)}/activity`);
    expect(activity.status).toBe(200);
    expect(['LOW', 'GOOD', 'CLIPPING']).toContain(((await activity.json()) as { audioLevel: string }).audioLevel);
    const level = (await (await get(`/api/v1/devices/${id}/battery-level`)).json()) as { percentage: number };
    expect(level.percentage).toBeGreaterThanOrEqual(0);
    expect((await get('/api/v1/devices/b3f1c2d4-0003/battery-level')).status).toBe(404);
    expect((await get('/api/v1/devices/nope')).status).toBe(404);
  });

  it('drains batteries over ticks', async () => {
    mock = await createMockServer({ apiKey: null, tickMs: 0 });
    const battery = mock.devices[0]?.battery;
    const start = battery?.percentage ?? 0;
    for (let i = 0; i < 50; i++) mock.tick();
    expect(battery?.percentage).not.toBe(start);
  });

  it('replaces the discovery list with PUT and rejects a JSON content type without a body', async () => {
    mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
    const put = await get('/api/v1/config/discovery/ips', KEY, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ips: ['10.0.0.5', '10.0.0.6'] }),
    });
    expect(put.status).toBe(200);
    expect(mock.discoveryIps()).toEqual(['10.0.0.5', '10.0.0.6']);
    const bad = await get('/api/v1/config/discovery/ips', KEY, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"ips":["x"]}' });
    expect(bad.status).toBe(400);
    const emptyJson = await get('/api/v1/devices/b3f1c2d4-0001/identify', KEY, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(emptyJson.status).toBe(400);
    expect((await get('/api/v1/devices/b3f1c2d4-0001/identify', KEY, { method: 'POST' })).status).toBe(204);
  });

  it('injects faults in-process and through the control endpoint', async () => {
    mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
    mock.faults.failNext({ count: 2, status: 429, retryAfter: '3' });
    const limited = await get('/api/v1/devices');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await get('/api/v1/devices')).status).toBe(429);
    expect((await get('/api/v1/devices')).status).toBe(200);

    const control = await fetch(`${mock.url}/_control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ failNext: { count: 1, status: 503, path: '/api/v1/config' }, dropNext: { count: 1, path: '/api/v1/devices/' } }),
    });
    expect(control.status).toBe(200);
    expect((await get('/api/v1/devices')).status).toBe(200); // neither rule matches this path
    expect((await get('/api/v1/config/discovery/ips')).status).toBe(503);
    await expect(get('/api/v1/devices/b3f1c2d4-0001')).rejects.toThrow();
    expect((await get('/api/v1/devices/b3f1c2d4-0001')).status).toBe(200);
    expect(mock.requestLog.map((e) => e.outcome)).toEqual(['fault', 'fault', 'ok', 'ok', 'fault', 'dropped', 'ok']);

    const badPatch = await fetch(`${mock.url}/_control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ failNext: { count: 0, status: 503 } }),
    });
    expect(badPatch.status).toBe(400);
    expect(((await badPatch.json()) as { error: string }).error).toMatch(/failNext.count/);
  });

  it('refuses a fault patch whole: a 400 leaves every fault as it was', async () => {
    mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
    mock.faults.failNext({ count: 1, status: 500 });
    const before = mock.faults.state();
    const patch = async (body: unknown): Promise<{ status: number; error: string }> => {
      const res = await fetch(`${(mock as MockServer).url}/_control/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    expect(await patch({ latencyMs: 300, down: 503, failNext: [{ count: 2, status: 429 }, { count: 0, status: 503 }] })).toEqual({
      status: 400,
      error: 'failNext[1].count must be an integer from 1 to 1000000; got 0',
    });
    expect(await patch({ latencyMs: 300, failNext: [null] })).toEqual({ status: 400, error: 'failNext[0] must be an object such as { "count": 1, "status": 503 }; got null' });
    expect(await patch({ failNext: { count: 1, status: 503 }, dropNext: 'all' })).toEqual({
      status: 400,
      error: 'dropNext must be an object such as { "count": 1 }; got "all"',
    });
    expect(await patch({ down: 503, downRetryAfter: 10, latencyMs: 5 })).toEqual({ status: 400, error: 'downRetryAfter must be a string; got 10' });
    expect(await patch({ dropNext: { count: 1 }, latencyMs: -1 })).toMatchObject({ status: 400 });
    expect(mock.faults.state()).toEqual(before);
    // In-process too: apply throws naming the field, and changes nothing.
    expect(() => mock?.faults.apply({ latencyMs: 300, failNext: [{ count: 1, status: 429 }, { count: 1, status: 200 }] })).toThrow('failNext[1].status');
    expect(mock.faults.state()).toEqual(before);
  });

  it('accepts only the cursors it issued: anything else is a 400, not a page', async () => {
    mock = await createMockServer({ apiKey: KEY, pageSize: 1, tickMs: 0 });
    const cursor = (text: string): string => encodeURIComponent(Buffer.from(text).toString('base64'));
    const ok = await get(`/api/v1/devices?after=${cursor('1')}`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { pageInfo: { startCursor: string } }).pageInfo.startCursor).toBe(Buffer.from('2').toString('base64'));
    for (const after of ['', '%25%25%25', 'MQ', 'M%3D%3DQ', cursor('one'), cursor('1.0'), cursor('01'), cursor('-1'), cursor('3'), cursor(' 1'), 'MQ%3D%3D&after=MQ%3D%3D']) {
      const refused = await get(`/api/v1/devices?after=${after}`);
      expect(refused.status, `after=${after}`).toBe(400);
      expect(await refused.json()).toEqual({ error: 'Bad Request', detail: 'after must be a cursor from a previous page (an edge cursor or pageInfo.endCursor)' });
    }
  });

  it('adds latency and can be down until cleared', async () => {
    mock = await createMockServer({ apiKey: KEY, tickMs: 0, faults: { latencyMs: 60 } });
    const started = performance.now();
    expect((await get('/api/v1/devices')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    mock.faults.clear();
    mock.faults.down(503, '1');
    expect((await get('/api/v1/devices')).status).toBe(503);
    expect((await get('/api/v1/devices/x')).status).toBe(503);
    mock.faults.down(null);
    expect((await get('/api/v1/devices')).status).toBe(200);
  });

  it('protects itself with our express middleware: a fixed window per address over all of /api', async () => {
    const clock = new ManualClock(1_200_000); // on a 60 s boundary: fixed windows align to the epoch
    mock = await createMockServer({ apiKey: KEY, tickMs: 0, clock, selfLimit: { limit: 3, windowMs: 60_000 } });
    // Different paths share one counter: the limit is on the client, not on a route.
    const paths = ['/api/v1/devices', '/api/v1/config/discovery/ips', '/api/v1/devices', '/api/v1/devices'];
    const statuses: number[] = [];
    for (const path of paths) statuses.push((await get(path)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await get('/api/v1/devices');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(await limited.json()).toEqual(expect.objectContaining({ error: expect.any(String), detail: expect.any(String), retry_after: 60 }));
    clock.advance(60_000);
    expect((await get('/api/v1/devices')).status).toBe(200);
    // Control endpoints are outside /api and never limited.
    expect((await fetch(`${mock.url}/_control/requests`)).status).toBe(200);
  });

  it('keeps the default self limit far above what client tests send', async () => {
    mock = await createMockServer({ apiKey: KEY, tickMs: 0, clock: new ManualClock(0) });
    for (let i = 0; i < 200; i++) expect((await get('/api/v1/devices')).status).toBe(200);
  });

  it('close() clears the timers of requests still waiting out an injected latency', async () => {
    mock = await createMockServer({ apiKey: KEY, tickMs: 0, faults: { latencyMs: 60_000 } });
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const controller = new AbortController();
    const pending = get('/api/v1/devices', KEY, { signal: controller.signal }).catch(() => undefined);
    // Wait (boundedly) until the mock has the request and its delay timer is armed.
    for (let i = 0; i < 200 && mock.requestLog.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(mock.requestLog).toHaveLength(1);
    expect(timers()).toBeGreaterThan(before);
    await mock.close();
    controller.abort();
    await pending;
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('serves the request log, clears it, and ticks through the control endpoint', async () => {
    mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
    await get('/api/v1/devices');
    const log = (await (await fetch(`${mock.url}/_control/requests`)).json()) as Array<{ path: string; status: number }>;
    expect(log).toEqual([expect.objectContaining({ path: '/api/v1/devices', status: 200 })]);
    expect((await fetch(`${mock.url}/_control/requests`, { method: 'DELETE' })).status).toBe(204);
    expect(mock.requestLog).toHaveLength(0);
    const levels = (): string => JSON.stringify(mock?.devices.map((d) => [d.battery?.percentage, d.channels.map((c) => c.audioLevel)]));
    const before = levels();
    for (let i = 0; i < 20 && levels() === before; i++) {
      expect((await fetch(`${mock.url}/_control/tick`, { method: 'POST' })).status).toBe(204);
    }
    expect(levels()).not.toBe(before);
    expect((await fetch(`${mock.url}/_control/faults`, { method: 'DELETE' })).status).toBe(200);
  });
});

import { request, type IncomingHttpHeaders } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMockServer, type MockServer } from '@micboard/shure-mock';
import { loadConfig } from '../src/config.js';
import { ENDPOINT_LIMITS, start, type RunningMicboardApi } from '../src/app.js';

const ADMIN_TOKEN = 'micboard-admin-token-0123';

let mock: MockServer;
let api: RunningMicboardApi | undefined;

beforeEach(async () => {
  mock = await createMockServer({ apiKey: 'test-key', tickMs: 0, selfLimit: false });
});
afterEach(async () => {
  await api?.close();
  api = undefined;
  await mock.close();
});

async function launch(env: Record<string, string> = {}): Promise<RunningMicboardApi> {
  api = await start(
    loadConfig({
      PORT: '0',
      SHURE_API_BASE_URL: mock.url,
      SHURE_API_KEY: 'test-key',
      SHURE_API_MAX_RETRIES: '0',
      SHURE_API_TIMEOUT: '2',
      LOG_LEVEL: 'silent',
      ADMIN_TOKEN,
      ...env,
    }),
  );
  return api;
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('micboard-api', () => {
  it('serves the devices it polled from the Shure System API', async () => {
    const { url } = await launch();
    const refreshed = await post(`${url}/api/refresh`, {});
    expect(refreshed.status).toBe(200);
    const data = (await (await fetch(`${url}/api/data`)).json()) as {
      devices: Array<{ id: string; model: string; battery: unknown; channels: unknown[] }>;
      stale: boolean;
      updated_at: string;
    };
    expect(data.stale).toBe(false);
    expect(data.devices.length).toBe(mock.devices.length);
    expect(data.devices[0]).toMatchObject({ id: expect.any(String), model: expect.any(String) });
    expect(data.devices.some((device) => device.battery !== null)).toBe(true);
    expect(data.devices.some((device) => device.channels.length > 0)).toBe(true);
    // Serving /api/data never calls the Shure API: only the refresh did.
    const before = mock.requestLog.length;
    await fetch(`${url}/api/data`);
    await fetch(`${url}/api/data/`);
    expect(mock.requestLog.length).toBe(before);
  });

  it('answers with stale data and the reason when the Shure API is down', async () => {
    const { url } = await launch();
    mock.faults.failNext({ count: 100, status: 503 });
    const refreshed = await post(`${url}/api/refresh`, {});
    expect(refreshed.status).toBe(502);
    expect(await refreshed.json()).toMatchObject({ error: 'Shure System API unavailable' });
    const data = (await (await fetch(`${url}/api/data`)).json()) as { stale: boolean; error: string | null };
    expect(data.stale).toBe(true);
    expect(data.error).toEqual(expect.any(String));
  });

  it('discovers: lists the discovery IPs and adds to them', async () => {
    const { url } = await launch();
    const added = await post(`${url}/api/discover`, { ips: ['192.0.2.10'] });
    expect(added.status).toBe(200);
    expect(((await added.json()) as { ips: string[] }).ips).toEqual(['192.0.2.10']);
    const listed = (await (await fetch(`${url}/api/discover`)).json()) as { ips: string[]; devices: unknown[] };
    expect(listed.ips).toEqual(['192.0.2.10']);
    expect(listed.devices.length).toBe(mock.devices.length);
    expect((await post(`${url}/api/discover`, { ips: 'all' })).status).toBe(400);
  });

  it("answers a malformed discovery address with the client's 400, naming ips and the value, without calling the Shure API", async () => {
    const { url } = await launch();
    mock.clearLog();
    const refused = await post(`${url}/api/discover`, { ips: ['192.0.2.10', 'not-an-ip'] });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'Bad request', detail: 'ips[1] must be an IP address; got "not-an-ip"' });
    expect(mock.requestLog.filter((entry) => entry.path.includes('discovery'))).toEqual([]);
    expect(mock.discoveryIps()).toEqual([]);
  });

  it('passes a request the Shure API refuses (4xx) on as a 4xx, not as an outage', async () => {
    const { url } = await launch();
    // A valid address the server will not take: the mock, like the real server, takes IPv4 only.
    const refused = await post(`${url}/api/discover`, { ips: ['2001:db8::1'] });
    expect(refused.status).toBe(422);
    const body = (await refused.json()) as { error: string; detail: string };
    expect(body.error).toBe('Shure System API refused the request');
    expect(body.detail).toContain('rejected 400');
  });

  it('keeps config and groups', async () => {
    const { url } = await launch();
    expect((await post(`${url}/api/config`, { title: 'FOH', slots: [1, 2] })).status).toBe(200);
    expect(await (await fetch(`${url}/api/config`)).json()).toEqual({ title: 'FOH', slots: [1, 2] });
    expect((await post(`${url}/api/group`, { group: 1, title: 'Band', slots: [1, 2, 3] })).status).toBe(200);
    expect(await (await fetch(`${url}/api/group`)).json()).toEqual({ groups: [{ group: 1, title: 'Band', slots: [1, 2, 3] }] });
    expect((await post(`${url}/api/group`, { group: 0, title: 'x', slots: [] })).status).toBe(400);
    expect((await post(`${url}/api/config`, [1])).status).toBe(400);
  });

  it.each(Object.entries(ENDPOINT_LIMITS))('limits %s to seed 1 numbers per 60 s, with Retry-After and the 429 body', async (_name, { path, max }) => {
    const { url } = await launch();
    // GET where the endpoint has it; refresh is POST only. Cheap in every case: the mock is fast.
    const call = (): Promise<Response> => (path === '/api/refresh' ? post(`${url}${path}`, {}) : fetch(`${url}${path}`));
    for (let i = 0; i < max; i++) {
      const response = await call();
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit')).toBe(String(max));
    }
    const limited = await call();
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await limited.json()).toEqual({
      error: 'Rate limit exceeded',
      detail: `Maximum ${max} requests per 60 seconds`,
      retry_after: retryAfter,
    });
  });

  it('counts a request with a malformed JSON body before refusing it: no free 400s past the limit', async () => {
    const { url } = await launch();
    const MALFORMED = '{"a":';
    // node:http rather than fetch, which will not send a body with a GET.
    const malformed = (method: string, path: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> =>
      new Promise((resolve, reject) => {
        // An explicit length: node sends a GET body with neither it nor chunked encoding.
        const headers = { 'content-type': 'application/json', 'content-length': String(MALFORMED.length) };
        const req = request(`${url}${path}`, { method, headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.end(MALFORMED);
      });
    // A GET never reads its body: the limit counts it and it is served.
    const get = await malformed('GET', ENDPOINT_LIMITS.discover.path);
    expect(get.status).toBe(200);
    expect(get.headers['x-ratelimit-remaining']).toBe(String(ENDPOINT_LIMITS.discover.max - 1));
    // A POST is counted, then its body refused.
    const { max } = ENDPOINT_LIMITS.discover;
    for (let i = 1; i < max; i++) {
      const post = await malformed('POST', ENDPOINT_LIMITS.discover.path);
      expect(post.status).toBe(400);
      expect(post.headers['x-ratelimit-remaining']).toBe(String(max - 1 - i));
      expect(JSON.parse(post.body)).toMatchObject({ error: 'Bad request' });
    }
    expect((await malformed('POST', ENDPOINT_LIMITS.discover.path)).status).toBe(429);
    expect((await malformed('GET', ENDPOINT_LIMITS.discover.path)).status).toBe(429);
  });

  it('counts GET and POST of one endpoint against one limit, separately from other endpoints', async () => {
    const { url } = await launch();
    for (let i = 0; i < 30; i++) await fetch(`${url}/api/group`);
    for (let i = 0; i < 30; i++) expect((await post(`${url}/api/group`, { group: 1, title: 't', slots: [] })).status).toBe(200);
    expect((await fetch(`${url}/api/group`)).status).toBe(429);
    expect((await fetch(`${url}/api/config`)).status).toBe(200);
  });

  it('exposes /metrics with decisions by route and user type', async () => {
    const { url } = await launch();
    for (let i = 0; i < 6; i++) await fetch(`${url}/api/discover`);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('ratelimit_decisions_total{limiter="/api/discover",route="/api/discover",user_type="anonymous",outcome="allowed"} 5');
    expect(text).toContain('ratelimit_decisions_total{limiter="/api/discover",route="/api/discover",user_type="anonymous",outcome="denied"} 1');
    expect(text).toMatch(/ratelimit_store_latency_seconds_count\{store="memory",limiter="\/api\/discover"\} 6/);
  });

  it('has an admin API behind ADMIN_TOKEN: stats and reset', async () => {
    const { url } = await launch();
    for (let i = 0; i < 6; i++) await fetch(`${url}/api/discover`);
    expect((await fetch(`${url}/api/admin/rate-limit/stats`)).status).toBe(401);
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const stats = (await (await fetch(`${url}/api/admin/rate-limit/stats`, { headers })).json()) as { clients: Array<{ key: string }> };
    expect(stats.clients.map((client) => client.key)).toContain('ip:127.0.0.1');
    const reset = await fetch(`${url}/api/admin/rate-limit/reset/ip%3A127.0.0.1`, { method: 'POST', headers });
    expect(reset.status).toBe(200);
    expect((await fetch(`${url}/api/discover`)).status).toBe(200);
  });

  it.each([
    ['loopback', true],
    ['true', true],
    ['false', false],
  ])('with TRUST_PROXY=%s, clients behind the proxy are told apart by the address it appended: %s', async (trustProxy, apart) => {
    const { url } = await launch({ TRUST_PROXY: trustProxy });
    // The client may write any first entry; only the one the proxy appended counts.
    const from = (ip: string, spoof = '10.9.9.9'): Promise<Response> =>
      fetch(`${url}/api/discover`, { headers: { 'x-forwarded-for': `${spoof}, ${ip}` } });
    for (let i = 0; i < 5; i++) expect((await from('203.0.113.5', `10.0.0.${i}`)).status).toBe(200);
    expect((await from('203.0.113.5', '10.1.1.1')).status).toBe(429);
    expect((await from('198.51.100.9')).status).toBe(apart ? 200 : 429);
  });

  it('health and metrics are not limited', async () => {
    const { url } = await launch();
    for (let i = 0; i < 130; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

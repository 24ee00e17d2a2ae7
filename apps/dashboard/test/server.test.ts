import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendError, ConfigError, startDashboard, type Backend, type BackendState, type DashboardConfig, type RunningDashboard } from '../src/index.js';

const STATE: BackendState = {
  store: 'memory',
  clients: [{ key: 'ip:127.0.0.1', userType: 'anonymous', multiplier: 0.5, remaining: 3, limit: 60, allowed: 9, denied: 4, lastSeen: 1 }],
  denials: [],
  profiles: { anonymous: { capacity: 50, refillPerSecond: 5, burst: 10 } },
  costs: [{ path: '/api/v1/auth/login', cost: 5 }],
  defaultCost: 1,
  error: undefined,
};

const CONFIG: DashboardConfig = {
  port: 0,
  host: '127.0.0.1',
  adaptiveApiUrls: ['http://127.0.0.1:9'],
  micboardApiUrls: [],
  adminToken: undefined,
  logLevel: 'silent',
};

describe('dashboard server', () => {
  let dashboard: RunningDashboard;
  let calls: unknown[][];

  beforeEach(async () => {
    calls = [];
    const backend: Backend = {
      state: async () => STATE,
      resetClient: async (key) => void calls.push(['reset', key]),
      setProfile: async (userType, patch) => void calls.push(['profile', userType, patch]),
      setCost: async (path, cost, method) => {
        if (cost > 1e6) throw new BackendError(400, 'cost must be between 0.001 and 1000000');
        calls.push(['cost', path, cost, method]);
      },
    };
    dashboard = await startDashboard(CONFIG, { backend, trafficPlans: { abusive: { requests: 0 }, burst: { requests: 0 } } });
  });
  afterEach(() => dashboard.close());

  /** A change as the page makes it: same-origin JSON carrying this run's token. */
  const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${dashboard.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-dashboard-token': dashboard.token, ...headers },
      body: JSON.stringify(body),
    });

  it('serves the page with a strict CSP, and the state with traffic and API links', async () => {
    const page = await fetch(dashboard.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('data-testid="run-abusive"');
    expect((await fetch(`${dashboard.url}/app.js`)).headers.get('content-type')).toMatch(/javascript/);
    const state = (await (await fetch(`${dashboard.url}/api/state`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({ store: 'memory', apis: ['adaptive-api http://127.0.0.1:9'], clients: STATE.clients });
    expect(Object.keys(state['traffic'] as object)).toEqual(['normal', 'burst', 'abusive']);
  });

  it('passes admin actions to the backend', async () => {
    expect((await json('POST', `/api/clients/${encodeURIComponent('ip:127.0.0.1')}/reset`, {})).status).toBe(200);
    expect((await json('PUT', '/api/profiles/anonymous', { capacity: 20, burst: 0 })).status).toBe(200);
    expect((await json('PUT', '/api/costs', { path: '/api/v1/items', cost: 2 })).status).toBe(200);
    expect(calls).toEqual([
      ['reset', 'ip:127.0.0.1'],
      ['profile', 'anonymous', { capacity: 20, burst: 0 }],
      ['cost', '/api/v1/items', 2, undefined],
    ]);
  });

  it('reports bad input as 400 with the reason', async () => {
    const refused = await json('PUT', '/api/costs', { path: '/api/v1/items', cost: 1e9 });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'cost must be between 0.001 and 1000000' });
    expect((await json('PUT', '/api/profiles/root', { capacity: 1 })).status).toBe(400);
    expect((await json('PUT', '/api/profiles/anonymous', {})).status).toBe(400);
    expect((await json('PUT', '/api/costs', { path: 'items', cost: 1 })).status).toBe(400);
    expect((await json('POST', '/api/clients/%E0%A4%A/reset', {})).status).toBe(400);
  });

  it('starts a scenario once at a time, and knows only its scenarios', async () => {
    expect((await json('POST', '/api/traffic/abusive', {})).status).toBe(202);
    expect((await json('POST', '/api/traffic/ddos', {})).status).toBe(404);
    expect((await json('POST', '/api/traffic/stop', {})).status).toBe(200);
  });

  it("takes changes only with this run's token, which the page link carries in its fragment", async () => {
    expect(dashboard.token).toMatch(/^[\w-]{32}$/);
    expect(dashboard.pageUrl).toBe(`${dashboard.url}/#token=${dashboard.token}`);
    const changes: Array<[string, string, unknown]> = [
      ['POST', `/api/clients/${encodeURIComponent('ip:127.0.0.1')}/reset`, {}],
      ['PUT', '/api/profiles/anonymous', { capacity: 100_000, refillPerSecond: 100_000 }],
      ['PUT', '/api/costs', { path: '/api/v1/items', cost: 0.001 }],
      ['POST', '/api/traffic/burst', {}],
      ['POST', '/api/traffic/stop', {}],
    ];
    for (const [method, path, body] of changes) {
      // What the reviewer's curl sent: same-origin JSON, from this machine, without the token.
      const without = await fetch(`${dashboard.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(without.status).toBe(401);
      expect(((await without.json()) as { error: string }).error).toContain('link the dashboard printed');
      expect((await json(method, path, body, { 'x-dashboard-token': `${dashboard.token.slice(1)}x` })).status).toBe(403);
      expect((await json(method, path, body, { 'x-dashboard-token': 'short' })).status).toBe(403);
    }
    expect(calls).toEqual([]);
    expect(dashboard.traffic.status().burst.running).toBe(false);
    // Reading what is shown needs no token: the page polls it before it has one, and it changes nothing.
    expect((await fetch(`${dashboard.url}/api/state`)).status).toBe(200);
  });

  it('makes a new token every run', async () => {
    const other = await startDashboard({ ...CONFIG, port: 0 }, { backend: { state: async () => STATE } as unknown as Backend });
    try {
      expect(other.token).not.toBe(dashboard.token);
    } finally {
      await other.close();
    }
  });

  it('refuses to listen on an address other machines can reach', async () => {
    for (const host of ['0.0.0.0', '::', '192.0.2.1']) {
      const refused = await startDashboard({ ...CONFIG, host }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as Error).message).toContain(`HOST=${JSON.stringify(host)}`);
    }
  });

  it('refuses cross-site and rebound requests', async () => {
    const form = await fetch(`${dashboard.url}/api/traffic/abusive`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-dashboard-token': dashboard.token },
      body: 'a=1',
    });
    expect(form.status).toBe(415);
    expect((await json('POST', '/api/traffic/abusive', {}, { origin: 'http://evil.example' })).status).toBe(403);
    // fetch will not send a foreign Host header; node:http will, as a DNS-rebinding page's browser would.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(`${dashboard.url}/api/state`, { headers: { host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebound).toBe(421);
    expect(calls).toEqual([]);
  });
});

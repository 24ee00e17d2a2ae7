import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDemoConfig } from '../src/config.js';
import { banner, runDemo, type RunningDemo } from '../src/demo.js';
import { PortInUseError } from '../src/ports.js';

const ANY_PORT = { MOCK_PORT: '0', MICBOARD_API_PORT: '0', MICBOARD_API_PORT_2: '0', ADAPTIVE_API_PORT: '0', ADAPTIVE_API_PORT_2: '0', DASHBOARD_PORT: '0' };
const ADMIN_TOKEN = 'demo-test-admin-token-0123';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379/13';

let demo: RunningDemo | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

const json = async (url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

async function redisReachable(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

describe('the demo', () => {
  it('starts the mock, both APIs and the dashboard on the memory store, and stops them all', async () => {
    demo = await runDemo(loadDemoConfig({ ...ANY_PORT, ADMIN_TOKEN }), { logLevel: 'silent' });
    expect(demo.store).toBe('memory');
    expect(demo.nodeEnv).toBe('production');
    expect(banner(demo)).not.toContain('NODE_ENV');
    expect(banner(demo)).toContain(`dashboard          ${demo.urls.dashboard}`);
    expect(demo.urls.micboardApi).toHaveLength(1);
    expect(demo.urls.adaptiveApi).toHaveLength(1);
    const urls = [demo.urls.mock, ...demo.urls.micboardApi, ...demo.urls.adaptiveApi, demo.urls.dashboard];
    expect(urls.every((url) => url.startsWith('http://127.0.0.1:'))).toBe(true);

    expect((await fetch(`${demo.urls.mock}/api/v1/devices`, { headers: { 'x-api-key': 'mock-api-key' } })).status).toBe(200);
    const refreshed = await json(`${demo.urls.micboardApi[0]}/api/refresh`, { method: 'POST' });
    expect(refreshed.status).toBe(200);
    expect((refreshed.body['devices'] as unknown[]).length).toBeGreaterThan(0);
    expect((await fetch(`${demo.urls.adaptiveApi[0]}/api/v1/items`)).status).toBe(200);
    const state = await json(`${demo.urls.dashboard}/api/state`);
    expect(state.body['store']).toBe('memory');
    expect(state.body['error']).toBeUndefined();
    expect((state.body['clients'] as Array<{ key: string }>).map((client) => client.key)).toContain('ip:127.0.0.1');

    // Whoever can reach the dashboard cannot raise limits through it: changes need the token in the link it printed.
    expect(banner(demo)).toContain(`dashboard          ${demo.urls.dashboardPage}`);
    const raise = (headers: Record<string, string> = {}) =>
      fetch(`${demo?.urls.dashboard}/api/profiles/anonymous`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ capacity: 1000, refillPerSecond: 100 }),
      });
    expect((await raise()).status).toBe(401);
    const capacity = async () => ((await json(`${demo?.urls.dashboard}/api/state`)).body['profiles'] as Record<string, { capacity: number }>)['anonymous']?.capacity;
    expect(await capacity()).toBe(50);
    const token = new URLSearchParams(new URL(demo.urls.dashboardPage).hash.slice(1)).get('token') ?? '';
    expect((await raise({ 'x-dashboard-token': token })).status).toBe(200);
    expect(await capacity()).toBe(1000);

    await demo.close();
    demo = undefined;
    for (const url of urls) await expect(fetch(url)).rejects.toThrow();
  });

  it('says so when NODE_ENV lets loopback clients through', async () => {
    demo = await runDemo(loadDemoConfig({ ...ANY_PORT, NODE_ENV: 'development' }), { logLevel: 'silent' });
    expect(demo.nodeEnv).toBe('development');
    expect(banner(demo)).toContain('NODE_ENV=development: loopback clients get the development profile');
  });

  it('refuses a taken port before starting anything, naming the variable to change', async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      const refused = await runDemo(loadDemoConfig({ ...ANY_PORT, ADAPTIVE_API_PORT: String(port) }), { logLevel: 'silent' }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(PortInUseError);
      expect((refused as Error).message).toContain(`ADAPTIVE_API_PORT=<port> pnpm demo`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('on Redis runs two instances of each API that share one limit per client', async () => {
    if (!(await redisReachable())) {
      // Under CI a missing Redis is a failure, never a skip.
      if (process.env['CI'] === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL}`);
      console.warn(`skipping: no Redis at ${REDIS_URL}`);
      return;
    }
    demo = await runDemo(loadDemoConfig({ ...ANY_PORT, ADMIN_TOKEN, REDIS_URL }), { logLevel: 'silent' });
    expect(demo.store).toBe('redis');
    const [first, second] = demo.urls.adaptiveApi as [string, string];
    expect(demo.urls.micboardApi).toHaveLength(2);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    // Start from a clean client (the Redis may hold an earlier run's state) and the seed's profile.
    await fetch(`${first}/api/v1/admin/rate-limit/reset/ip%3A127.0.0.1`, { method: 'POST', headers: admin });

    // 60 tokens (capacity 50 + burst 10), 5 per login, spent alternately on both instances.
    let limitedOn: string | undefined;
    for (let i = 0; i < 30 && limitedOn === undefined; i++) {
      const target = i % 2 === 0 ? first : second;
      const response = await fetch(`${target}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: `guess-${i}` }),
      });
      if (response.status === 429) limitedOn = target;
    }
    expect(limitedOn).toBeDefined();
    // The other instance refuses the same client too: the budget is one, in Redis.
    const other = limitedOn === first ? second : first;
    const login = await fetch(`${other}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'again' }),
    });
    expect(login.status).toBe(429);

    // The dashboard reads both instances: one store, the 429s of both.
    const state = await json(`${demo.urls.dashboard}/api/state`);
    expect(state.body['store']).toBe('redis');
    expect(state.body['error']).toBeUndefined();
    const denials = state.body['denials'] as Array<{ key: string; instance: string }>;
    expect(new Set(denials.filter((d) => d.key === 'ip:127.0.0.1').map((d) => d.instance))).toEqual(new Set(['adaptive-api#1', 'adaptive-api#2']));

    // A login on one instance is accepted by the other (shared AUTH_SECRET).
    await fetch(`${first}/api/v1/admin/rate-limit/reset/ip%3A127.0.0.1`, { method: 'POST', headers: admin });
    const credentials = { username: `demo-${Date.now()}`, password: 'long enough' };
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(credentials) };
    expect((await fetch(`${first}/api/v1/auth/register`, init)).status).toBe(201);
    const { token } = (await (await fetch(`${first}/api/v1/auth/login`, init)).json()) as { token: string };
    expect((await fetch(`${second}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    // Leave the shared Redis as we found it.
    for (const key of ['ip:127.0.0.1', `user:${credentials.username}`]) {
      await fetch(`${first}/api/v1/admin/rate-limit/reset/${encodeURIComponent(key)}`, { method: 'POST', headers: admin });
    }
  });

  it('`pnpm demo` prints the URLs and stops cleanly on Ctrl-C', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, ...ANY_PORT, REDIS_URL: '', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 40_000;
      while (!output.includes('Ctrl-C stops everything') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(output).toContain('Ctrl-C stops everything');
      const dashboard = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
      expect(dashboard).toBeDefined();
      expect((await fetch(`${dashboard}/api/state`)).status).toBe(200);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('stopped.');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

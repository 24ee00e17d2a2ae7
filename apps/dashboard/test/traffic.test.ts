import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTrafficGenerator, HARD_CAPS } from '../src/traffic.js';

/** A stand-in adaptive API: logs every request, limits items after `itemsAllowed`. */
function fakeApi(itemsAllowed: number): Promise<{ url: string; seen: Array<{ method: string; path: string; auth: string | undefined }>; server: Server }> {
  const seen: Array<{ method: string; path: string; auth: string | undefined }> = [];
  let items = 0;
  const server = createServer((req: IncomingMessage, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization });
    req.resume();
    req.on('end', () => {
      if (req.url === '/api/v1/auth/register') return void res.writeHead(201).end('{}');
      if (req.url === '/api/v1/auth/login') {
        if (req.headers.authorization === undefined && seen.filter((s) => s.path === '/api/v1/auth/register').length > 0) {
          // Logins by the generator's users succeed; guesses for "admin" do not.
          res.writeHead(seen.at(-2)?.path === '/api/v1/auth/register' ? 200 : 401, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ token: 'tok' }));
        }
        return void res.writeHead(401).end('{}');
      }
      if (req.url === '/api/v1/items') return void res.writeHead(++items > itemsAllowed ? 429 : 200).end('{}');
      res.writeHead(404).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })),
  );
}

describe('createTrafficGenerator', () => {
  let api: Awaited<ReturnType<typeof fakeApi>>;
  beforeEach(async () => {
    api = await fakeApi(10);
  });
  afterEach(async () => {
    await new Promise((resolve) => api.server.close(resolve));
  });

  it('refuses any target off loopback', () => {
    expect(() => createTrafficGenerator({ targets: ['http://example.com'] })).toThrow(TypeError);
    expect(() => createTrafficGenerator({ targets: [] })).toThrow(TypeError);
  });

  it('sends exactly the planned number of requests, logs in first, and tallies 429s', async () => {
    const traffic = createTrafficGenerator({ targets: [api.url], plans: { burst: { requests: 25, concurrency: 4, intervalMs: 0 } } });
    expect(traffic.start('burst')).toBe(true);
    expect(traffic.start('burst')).toBe(false);
    await traffic.settled('burst');
    const status = traffic.status().burst;
    expect(status).toMatchObject({ running: false, sent: 25, ok: 10, limited: 15, failed: 0, error: undefined });
    expect(api.seen.slice(0, 4).map((s) => s.path)).toEqual([
      '/api/v1/auth/register',
      '/api/v1/auth/login',
      '/api/v1/auth/register',
      '/api/v1/auth/login',
    ]);
    const items = api.seen.filter((s) => s.path === '/api/v1/items');
    expect(items).toHaveLength(25);
    expect(items.every((s) => s.auth === 'Bearer tok')).toBe(true);
  });

  it('the abusive client guesses passwords anonymously, after the other users have logged in', async () => {
    const traffic = createTrafficGenerator({ targets: [api.url], plans: { abusive: { requests: 12, intervalMs: 0 } } });
    traffic.start('abusive');
    await traffic.settled('abusive');
    expect(traffic.status().abusive).toMatchObject({ sent: 12, failed: 12, ok: 0 });
    expect(api.seen.slice(0, 4).map((s) => s.path)).toEqual([
      '/api/v1/auth/register',
      '/api/v1/auth/login',
      '/api/v1/auth/register',
      '/api/v1/auth/login',
    ]);
    const guesses = api.seen.slice(4);
    expect(guesses).toHaveLength(12);
    expect(guesses.every((s) => s.path === '/api/v1/auth/login' && s.auth === undefined)).toBe(true);
    // A second run logs nobody in again.
    traffic.start('abusive');
    await traffic.settled('abusive');
    expect(api.seen.slice(16).every((s) => s.path === '/api/v1/auth/login')).toBe(true);
    expect(api.seen).toHaveLength(28);
  });

  it('stops on request, and no plan can exceed the hard caps', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const traffic = createTrafficGenerator({
      targets: [api.url],
      fetch: counting,
      plans: { normal: { requests: 1e9, concurrency: 1e6, intervalMs: 20, maxDurationMs: 1e12 } },
    });
    traffic.start('normal');
    await new Promise((resolve) => setTimeout(resolve, 150));
    await traffic.stop();
    const { sent, running } = traffic.status().normal;
    expect(running).toBe(false);
    expect(sent).toBeGreaterThan(0);
    // 150 ms at one request per 20 ms per worker: the 32-worker cap, not a million, bounds it.
    expect(sent).toBeLessThanOrEqual(HARD_CAPS.concurrency * 9);
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls).toBe(after);
  });

  it('ends a run whose login fails, with the reason', async () => {
    await new Promise((resolve) => api.server.close(resolve));
    api = await fakeApi(0);
    const traffic = createTrafficGenerator({ targets: [`${api.url}/nothing-here`] });
    traffic.start('normal');
    await traffic.settled('normal');
    expect(traffic.status().normal).toMatchObject({ running: false, sent: 0 });
    expect(traffic.status().normal.error).toMatch(/register answered 404/);
  });
});

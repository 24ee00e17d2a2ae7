// The adapter conformance suite: one set of HTTP-level expectations, run against the express and
// koa adapters (and against each store) over real HTTP on a loopback port, with a manual clock.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock, DecisionEvent, DenialAlert, Logger, Store } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import { send, sendRaw, type SendOptions, type TestResponse } from './http-client.js';
import type { AdapterHarness, RunningApp, TestApp, TestGlobalOptions } from './http-harness.js';

/** A logger that keeps what it is told, for asserting on warnings. */
export interface MemoryLogger extends Logger {
  readonly lines: { level: string; fields: Record<string, unknown>; message: string }[];
}

export function memoryLogger(): MemoryLogger {
  const lines: MemoryLogger['lines'] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    lines.push({ level, fields, message });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** How the suite gets a fresh store on a given clock (memory, Redis...). */
export interface StoreFactory {
  readonly name: string;
  create(clock: ManualClock): Store | Promise<Store>;
  /** Called after each test with the store it made. */
  dispose?(store: Store): void | Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);

/** Seed 1's table: endpoint, limit per 60 s. */
export const SEED_1_TABLE = [
  { path: '/api/data', max: 120 },
  { path: '/api/discover', max: 5 },
  { path: '/api/refresh', max: 10 },
  { path: '/api/config', max: 60 },
  { path: '/api/group', max: 60 },
] as const;

/**
 * Runs the conformance suite against one adapter on one store.
 *
 * @example
 * testAdapter(expressHarness, { name: 'memory', create: (clock) => createMemoryStore({ clock }) });
 */
export function testAdapter(harness: AdapterHarness, stores: StoreFactory): void {
  describe(`${harness.name} adapter on the ${stores.name} store`, () => {
    const running: { app: RunningApp; store: Store }[] = [];
    afterEach(async () => {
      while (running.length > 0) {
        const { app, store } = running.pop() as { app: RunningApp; store: Store };
        await app.close();
        if (store !== undefined) await stores.dispose?.(store);
      }
    });

    interface Opened extends RunningApp {
      readonly clock: ManualClock;
      readonly store: Store;
      readonly logger: MemoryLogger;
      get(path: string, options?: SendOptions): Promise<TestResponse>;
      req(method: string, path: string, headers?: Record<string, string>): Promise<TestResponse>;
    }

    const open = async (
      spec: Omit<TestApp, 'store' | 'clock' | 'logger'>,
      shared?: { store: Store; clock: ManualClock },
    ): Promise<Opened> => {
      const clock = shared?.clock ?? new ManualClock(T0);
      const store = shared?.store ?? (await stores.create(clock));
      const logger = memoryLogger();
      const app = await harness.start({ ...spec, store, clock: clock as Clock, logger });
      // A shared store belongs to whoever created it; dispose it once.
      running.push({ app, store: shared ? (undefined as unknown as Store) : store });
      return {
        ...app,
        clock,
        store,
        logger,
        get: (path, options) => send(app.url, path, options),
        req: (method, path, headers = {}) => send(app.url, path, { method, headers }),
      };
    };

    // Delegates every method to `store` (called on it, so classes work too), but those in `overrides`.
    const wrapped = (store: Store, overrides: Partial<Store> & Pick<Store, 'name'>): Store => ({
      consume: (r) => store.consume(r),
      refund: (r) => store.refund(r),
      reserve: (k, s, c, m) => store.reserve(k, s, c, m),
      record: (k, o, a) => store.record(k, o, a),
      get: (k) => store.get(k),
      reset: (k) => store.reset(k),
      list: (o) => store.list(o),
      cleanup: (ms) => store.cleanup(ms),
      getConfig: () => store.getConfig(),
      setConfig: (d, o) => store.setConfig(d, o),
      ...overrides,
    });
    // Delegates everything but consume, which fails.
    const broken = (store: Store): Store =>
      wrapped(store, {
        name: 'broken',
        consume: () => {
          throw new Error('store down');
        },
      });
    const ip = (address: string): Record<string, string> => ({ 'x-forwarded-for': address });
    const adaptiveOff: TestGlobalOptions = { adaptive: false };

    describe("seed 1's per-route limits (sliding window, per IP)", () => {
      it.each(SEED_1_TABLE)('$path admits $max per 60 s, then 429 with Retry-After and the JSON body', async ({ path, max }) => {
        const app = await open({ global: false, routes: [{ method: 'GET', path, limits: [{ max, window: '60s' }] }] });
        for (let i = 0; i < max; i++) {
          const ok = await app.get(path);
          expect(ok.status).toBe(200);
          expect(ok.headers['x-ratelimit-remaining']).toBe(String(max - i - 1));
        }
        app.clock.advance(15_000);
        const denied = await app.get(path);
        expect(denied.status).toBe(429);
        expect(denied.headers['retry-after']).toBe('45');
        expect(denied.body).toEqual({
          error: 'Rate limit exceeded',
          detail: `Maximum ${max} requests per 60 seconds`,
          retry_after: 45,
        });
        expect(denied.headers['x-ratelimit-limit']).toBe(String(max));
        // The window slides: the first requests leave it 60 s after they were made.
        app.clock.advance(44_999);
        expect((await app.get(path)).status).toBe(429);
        app.clock.advance(1);
        expect((await app.get(path)).status).toBe(200);
      });

      it('logs a limited client as a warning once per window, not once per request', async () => {
        const app = await open({ global: false, routes: [{ method: 'GET', path: '/api/discover', limits: [{ max: 5, window: '60s' }] }] });
        for (let i = 0; i < 5; i++) await app.get('/api/discover');
        for (let i = 0; i < 20; i++) expect((await app.get('/api/discover')).status).toBe(429);
        const warnings = app.logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith('Rate limit exceeded'));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]?.message).toContain('ip:127.0.0.1');
        app.clock.advance(60_000);
        for (let i = 0; i < 6; i++) await app.get('/api/discover');
        expect(app.logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith('Rate limit exceeded'))).toHaveLength(2);
      });

      it("by: 'user' counts per authenticated user; anonymous requests fall back to the IP", async () => {
        const app = await open({ global: false, routes: [{ method: 'GET', path: '/api/me', limits: [{ max: 3, window: '60s', by: 'user' }] }] });
        for (let i = 0; i < 3; i++) expect((await app.get('/api/me', { headers: { 'x-user': 'alice' } })).status).toBe(200);
        expect((await app.get('/api/me', { headers: { 'x-user': 'alice' } })).status).toBe(429);
        expect((await app.get('/api/me', { headers: { 'x-user': 'bob' } })).status).toBe(200);
        for (let i = 0; i < 3; i++) expect((await app.get('/api/me')).status).toBe(200);
        expect((await app.get('/api/me')).status).toBe(429);
      });

      it("a custom key function (seed 1's api_key example) counts per key; no key falls back to the IP", async () => {
        const app = await open({
          global: false,
          routes: [{ method: 'GET', path: '/api/v', limits: [{ max: 2, window: '1h', by: { query: 'api_key' } }] }],
        });
        for (let i = 0; i < 2; i++) expect((await app.get('/api/v?api_key=a')).status).toBe(200);
        const denied = await app.get('/api/v?api_key=a');
        expect(denied.status).toBe(429);
        expect(denied.body).toMatchObject({ detail: 'Maximum 2 requests per 3600 seconds' });
        expect((await app.get('/api/v?api_key=b')).status).toBe(200);
        for (let i = 0; i < 2; i++) expect((await app.get('/api/v')).status).toBe(200);
        expect((await app.get('/api/v')).status).toBe(429);
        expect((await app.get('/api/v?api_key=')).status).toBe(429);
      });

      for (const separate of [false, true]) {
        it(`several limits on one route compose; a denial does not use up the others (${separate ? 'separate middlewares' : 'one list'})`, async () => {
          const app = await open({
            global: false,
            routes: [
              {
                method: 'GET',
                path: '/api/c',
                separateMiddlewares: separate,
                limits: [
                  { max: 5, window: '60s' },
                  { max: 2, window: '10s' },
                ],
              },
            ],
          });
          const statuses = async (n: number): Promise<number[]> => {
            const out: number[] = [];
            for (let i = 0; i < n; i++) out.push((await app.get('/api/c')).status);
            return out;
          };
          expect(await statuses(4)).toEqual([200, 200, 429, 429]);
          app.clock.advance(10_000);
          expect(await statuses(3)).toEqual([200, 200, 429]);
          app.clock.advance(10_000);
          // Had the denials above used up the 5-per-minute limit, this would be a 429.
          expect(await statuses(2)).toEqual([200, 429]);
          app.clock.advance(10_000);
          expect(await statuses(1)).toEqual([429]);
        });
      }

      it('a route denial gives back what the global bucket took', async () => {
        const app = await open({
          global: adaptiveOff,
          routes: [{ method: 'GET', path: '/api/r', limits: [{ max: 1, window: '60s', headers: 'none' }] }, { method: 'GET', path: '/api/free' }],
        });
        expect((await app.get('/api/r')).status).toBe(200);
        for (let i = 0; i < 5; i++) expect((await app.get('/api/r')).status).toBe(429);
        const after = await app.get('/api/free');
        // 60 tokens; one taken by the allowed /api/r, one by this request: the five denials took none.
        expect(after.headers['x-ratelimit-remaining']).toBe('58');
      });
    });

    describe("seed 2's adaptive middleware", () => {
      it('anonymous clients get capacity 50 + burst 10 at once, then 5 per second', async () => {
        const app = await open({ global: { ...adaptiveOff, userTypeHeader: true }, routes: [{ method: 'GET', path: '/api/x' }] });
        for (let i = 0; i < 60; i++) {
          const ok = await app.get('/api/x');
          expect(ok.status).toBe(200);
          expect(ok.headers['x-ratelimit-limit']).toBe('60');
          expect(ok.headers['x-ratelimit-remaining']).toBe(String(59 - i));
          expect(ok.headers['x-ratelimit-usertype']).toBe('anonymous');
        }
        const denied = await app.get('/api/x');
        expect(denied.status).toBe(429);
        expect(denied.headers['retry-after']).toBe('1');
        expect(denied.body).toMatchObject({ error: 'Rate limit exceeded', retry_after: 1 });
        app.clock.advance(1_000);
        for (let i = 0; i < 5; i++) expect((await app.get('/api/x')).status).toBe(200);
        expect((await app.get('/api/x')).status).toBe(429);
      });

      it('authenticated users get capacity 200 + burst 50', async () => {
        const app = await open({ global: { ...adaptiveOff, userTypeHeader: true }, routes: [{ method: 'GET', path: '/api/x' }] });
        const first = await app.get('/api/x', { headers: { 'x-user': 'u1' } });
        expect(first.headers['x-ratelimit-limit']).toBe('250');
        expect(first.headers['x-ratelimit-usertype']).toBe('authenticated');
      });

      it('X-RateLimit-UserType only with userTypeHeader', async () => {
        const app = await open({ global: adaptiveOff, routes: [{ method: 'GET', path: '/api/x' }] });
        const ok = await app.get('/api/x', { headers: { 'x-user': 'u1' } });
        expect(ok.headers['x-ratelimit-limit']).toBe('250');
        expect(ok.headers['x-ratelimit-usertype']).toBeUndefined();
      });

      it('a login costs 5 tokens: 12 logins empty an anonymous bucket', async () => {
        const app = await open({ global: adaptiveOff, routes: [{ method: 'POST', path: '/api/v1/auth/login' }] });
        for (let i = 0; i < 12; i++) {
          const ok = await app.req('POST', '/api/v1/auth/login');
          expect(ok.status).toBe(200);
          expect(ok.headers['x-ratelimit-remaining']).toBe(String(60 - 5 * (i + 1)));
        }
        expect((await app.req('POST', '/api/v1/auth/login')).status).toBe(429);
      });

      it('the adaptive bonus and penalty show in X-RateLimit-Limit', async () => {
        const app = await open({
          global: {},
          routes: [
            { method: 'GET', path: '/api/ok' },
            { method: 'GET', path: '/api/missing', status: 404 },
          ],
        });
        const first = await app.get('/api/ok');
        expect(first.headers['x-ratelimit-limit']).toBe('60');
        let last = first;
        for (let i = 0; i < 30; i++) {
          app.clock.advance(1_000);
          last = await app.get('/api/ok');
        }
        expect(Number(last.headers['x-ratelimit-limit'])).toBeGreaterThan(60);
        for (let i = 0; i < 40; i++) {
          app.clock.advance(1_000);
          last = await app.get('/api/missing');
        }
        expect(Number(last.headers['x-ratelimit-limit'])).toBeLessThan(60);
      });

      it("the limiter's own 429s cut the adaptive score only when the client ignores Retry-After", async () => {
        const app = await open({
          global: {},
          routes: [
            { method: 'GET', path: '/api/ok' },
            { method: 'GET', path: '/api/r', limits: [{ max: 1, window: '60s', headers: 'none' }] },
          ],
        });
        expect((await app.get('/api/r')).status).toBe(200);
        // Route denials: a 429 a route limit wrote after the global middleware admitted the request.
        for (let i = 0; i < 25; i++) expect((await app.get('/api/r')).status).toBe(429);
        // Global denials from a client that waits the Retry-After it was given each time.
        let denied = 0;
        for (let i = 0; i < 2_000 && denied < 25; i++) {
          const res = await app.get('/api/ok');
          if (res.status === 429) {
            denied++;
            app.clock.advance(Number(res.headers['retry-after']) * 1000);
          }
        }
        expect(denied).toBe(25);
        // 0.9^50 would sit on the 0.1 floor (a limit of 6); admitted successes only ever raised the score.
        app.clock.advance(60_000);
        const after = await app.get('/api/ok');
        expect(after.status).toBe(200);
        expect(Number(after.headers['x-ratelimit-limit'])).toBeGreaterThanOrEqual(60);

        // A client that keeps knocking inside its Retry-After is penalised for it.
        let knocked = 0;
        for (let i = 0; i < 200 && knocked < 25; i++) if ((await app.get('/api/ok')).status === 429) knocked++;
        expect(knocked).toBe(25);
        app.clock.advance(60_000);
        const penalised = await app.get('/api/ok');
        expect(Number(penalised.headers['x-ratelimit-limit'])).toBeLessThan(30);
      });

      it('an aborted response still feeds the score once its status was sent', async () => {
        const app = await open({
          global: {},
          routes: [{ method: 'GET', path: '/api/slow-missing', status: 404, unfinished: true }],
        });
        const failures = async (): Promise<number> => (await app.store.get('ip:127.0.0.1'))?.adaptive?.failures ?? 0;
        for (let i = 1; i <= 3; i++) {
          // The client reads the status line and hangs up before the body ends.
          const status = await sendRaw(app.url, Buffer.from('GET /api/slow-missing HTTP/1.1\r\nHost: x\r\n\r\n'));
          expect(status).toBe(404);
          // The server sees the close asynchronously: wait for it, boundedly (no clock involved).
          for (let spins = 0; spins < 200 && (await failures()) < i; spins++) await new Promise((resolve) => setTimeout(resolve, 5));
          expect(await failures()).toBe(i);
        }
      });

      it('the draft headers and both styles', async () => {
        const draft = await open({ global: { adaptive: false, headers: 'draft' }, routes: [{ method: 'GET', path: '/x' }] });
        const d = await draft.get('/x');
        expect(d.headers['ratelimit-policy']).toBe('"default";q=60');
        expect(d.headers['ratelimit']).toMatch(/^"default";r=59;t=\d+$/);
        expect(d.headers['x-ratelimit-limit']).toBeUndefined();
        const both = await open({ global: { adaptive: false, headers: 'both' }, routes: [{ method: 'GET', path: '/x' }] });
        const b = await both.get('/x');
        expect(b.headers['ratelimit-policy']).toBeDefined();
        expect(b.headers['x-ratelimit-limit']).toBe('60');
        const none = await open({ global: { adaptive: false, headers: 'none' }, routes: [{ method: 'GET', path: '/x' }] });
        const n = await none.get('/x');
        expect(n.headers['ratelimit-policy']).toBeUndefined();
        expect(n.headers['x-ratelimit-limit']).toBeUndefined();
      });

      it("the limiter's header names go out in lower case, on admissions and on 429s", async () => {
        const app = await open({
          global: { adaptive: false, headers: 'both', userTypeHeader: true, profiles: { anonymous: { capacity: 1, refillPerSecond: 1, burst: 0 } } },
          routes: [{ method: 'GET', path: '/x' }],
        });
        const limiterNames = (r: TestResponse): string[] => r.rawNames.filter((name) => /^(x-)?ratelimit|^retry-after$/i.test(name));
        const ok = await app.get('/x');
        expect(ok.status).toBe(200);
        expect(limiterNames(ok).sort()).toEqual(
          ['ratelimit', 'ratelimit-policy', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-usertype'],
        );
        const denied = await app.get('/x');
        expect(denied.status).toBe(429);
        expect(limiterNames(denied)).toContain('retry-after');
        expect(limiterNames(denied).every((name) => name === name.toLowerCase())).toBe(true);
      });

      it('skip and allow lists: not counted, no headers', async () => {
        const app = await open({
          global: { adaptive: false, skipHeader: 'x-health', allowList: ['10.0.0.0/8'] },
          trustProxy: true,
          routes: [{ method: 'GET', path: '/x' }],
        });
        const skipped = await app.get('/x', { headers: { 'x-health': '1' } });
        expect(skipped.status).toBe(200);
        expect(skipped.headers['x-ratelimit-limit']).toBeUndefined();
        for (let i = 0; i < 70; i++) expect((await app.get('/x', { headers: ip('10.1.2.3') })).status).toBe(200);
        expect((await app.get('/x')).headers['x-ratelimit-remaining']).toBe('59');
      });

      it('onLimited and onDecision see every decision with route, user type and store latency', async () => {
        const decisions: DecisionEvent[] = [];
        const limited: DecisionEvent[] = [];
        const app = await open({
          global: {
            adaptive: false,
            profiles: { anonymous: { capacity: 2, refillPerSecond: 1, burst: 0 } },
            onDecision: (e) => decisions.push(e),
            onLimited: (e) => limited.push(e),
          },
          routes: [{ method: 'GET', path: '/api/items/:id' }],
        });
        for (let i = 0; i < 3; i++) await app.get(`/api/items/${i}`);
        expect(decisions.map((e) => e.allowed)).toEqual([true, true, false]);
        expect(limited).toHaveLength(1);
        for (const e of decisions) {
          expect(e.limiter).toBe('global');
          expect(e.userType).toBe('anonymous');
          expect(e.method).toBe('GET');
          expect(e.key).toBe('ip:127.0.0.1');
          expect(e.storeLatencyMs).toBeGreaterThanOrEqual(0);
          expect(e.storeError).toBeUndefined();
        }
        expect(decisions[2]?.route).toBe('/api/items/2');
      });
    });

    describe('client addresses', () => {
      it('IPv6 clients are grouped by /56 (and the subnet is configurable); IPv4-mapped IPv6 is IPv4', async () => {
        const app = await open({ global: adaptiveOff, trustProxy: true, routes: [{ method: 'GET', path: '/x' }] });
        const remaining = async (address: string): Promise<string | undefined> =>
          (await app.get('/x', { headers: ip(address) })).headers['x-ratelimit-remaining'];
        expect(await remaining('2001:db8:0:1ab::1')).toBe('59');
        expect(await remaining('2001:db8:0:1ff:ffff::9')).toBe('58');
        expect(await remaining('2001:db8:0:200::1')).toBe('59');
        expect(await remaining('203.0.113.9')).toBe('59');
        expect(await remaining('::ffff:203.0.113.9')).toBe('58');
        const narrow = await open({ global: { adaptive: false, ipv6Subnet: 64 }, trustProxy: true, routes: [{ method: 'GET', path: '/x' }] });
        expect((await narrow.get('/x', { headers: ip('2001:db8:0:1ab::1') })).headers['x-ratelimit-remaining']).toBe('59');
        expect((await narrow.get('/x', { headers: ip('2001:db8:0:1ac::1') })).headers['x-ratelimit-remaining']).toBe('59');
        expect((await narrow.get('/x', { headers: ip('2001:db8:0:1ab:ffff::1') })).headers['x-ratelimit-remaining']).toBe('58');
      });

      it('behind a trusted proxy, X-Forwarded-For picks the client', async () => {
        const app = await open({ global: adaptiveOff, trustProxy: true, routes: [{ method: 'GET', path: '/x' }] });
        expect((await app.get('/x', { headers: ip('198.51.100.7') })).headers['x-ratelimit-remaining']).toBe('59');
        expect((await app.get('/x', { headers: ip('198.51.100.8') })).headers['x-ratelimit-remaining']).toBe('59');
        expect(app.logger.lines.filter((l) => l.message.includes('X-Forwarded-For'))).toHaveLength(0);
      });

      it('without a trusted proxy, X-Forwarded-For is ignored and warned about once', async () => {
        const app = await open({ global: adaptiveOff, routes: [{ method: 'GET', path: '/x' }] });
        for (let i = 0; i < 5; i++) {
          const res = await app.get('/x', { headers: ip(`198.51.100.${i}`) });
          expect(res.headers['x-ratelimit-remaining']).toBe(String(59 - i));
        }
        const warnings = app.logger.lines.filter((l) => l.level === 'warn' && l.message.includes('X-Forwarded-For'));
        expect(warnings).toHaveLength(1);
      });

      it('route limits alone ignore a forged X-Forwarded-For too, and warn once', async () => {
        const app = await open({ global: false, routes: [{ method: 'GET', path: '/r', limits: [{ max: 3, window: '60s' }] }] });
        for (let i = 0; i < 3; i++) expect((await app.get('/r', { headers: ip(`198.51.100.${i}`) })).status).toBe(200);
        expect((await app.get('/r', { headers: ip('198.51.100.99') })).status).toBe(429);
        expect(app.logger.lines.filter((l) => l.level === 'warn' && l.message.includes('X-Forwarded-For'))).toHaveLength(1);
      });
    });

    describe('spoofing in production mode leaves an anonymous client unchanged', () => {
      const spoofs: [string, Record<string, string>][] = [
        ['User-Agent: playwright', { 'user-agent': 'Mozilla/5.0 Playwright/1.40' }],
        ['User-Agent: jest', { 'user-agent': 'jest' }],
        ['User-Agent: cypress', { 'user-agent': 'Cypress/13' }],
        ['Host: localhost', { host: 'localhost' }],
        ['X-Test-Environment: true', { 'x-test-environment': 'true' }],
        ['X-Automated-Test: true', { 'x-automated-test': 'true' }],
        ['a forged X-Forwarded-For', { 'x-forwarded-for': '127.0.0.1' }],
      ];
      it.each(spoofs)('%s', async (_name, headers) => {
        const app = await open({ global: { ...adaptiveOff, userTypeHeader: true }, routes: [{ method: 'GET', path: '/x' }] });
        for (let i = 0; i < 60; i++) {
          const res = await app.get('/x', { headers: i % 2 === 0 ? headers : {} });
          expect(res.status).toBe(200);
          expect(res.headers['x-ratelimit-limit']).toBe('60');
          expect(res.headers['x-ratelimit-usertype']).toBe('anonymous');
          expect(res.headers['x-ratelimit-remaining']).toBe(String(59 - i));
        }
        expect((await app.get('/x', { headers })).status).toBe(429);
      });

      it('a new User-Agent on every request', async () => {
        const app = await open({ global: adaptiveOff, routes: [{ method: 'GET', path: '/x' }] });
        for (let i = 0; i < 60; i++) {
          const res = await app.get('/x', { headers: { 'user-agent': `agent-${i}-${Math.random()}` } });
          expect(res.headers['x-ratelimit-remaining']).toBe(String(59 - i));
        }
        expect((await app.get('/x', { headers: { 'user-agent': 'fresh' } })).status).toBe(429);
      });
    });

    describe('API keys', () => {
      const apiKeys = {
        resolve: (key: string) => (key === 'partner-secret' ? { id: 'partner-1', plan: 'partner' } : undefined),
        plans: { partner: { capacity: 2000, refillPerSecond: 200, burst: 500 } },
      };
      it("a known key selects its plan's limits; an unknown key is not a free pass", async () => {
        const app = await open({ global: { adaptive: false, apiKeys }, routes: [{ method: 'GET', path: '/x' }] });
        const partner = await app.get('/x', { headers: { 'x-api-key': 'partner-secret' } });
        expect(partner.headers['x-ratelimit-limit']).toBe('2500');
        const plain = await app.get('/x');
        expect(plain.headers['x-ratelimit-remaining']).toBe('59');
        const forged = await app.get('/x', { headers: { 'x-api-key': 'guess' } });
        expect(forged.headers['x-ratelimit-limit']).toBe('60');
        expect(forged.headers['x-ratelimit-remaining']).toBe('58');
        for (let i = 0; i < 58; i++) await app.get('/x', { headers: { 'x-api-key': `guess-${i}` } });
        expect((await app.get('/x', { headers: { 'x-api-key': 'another' } })).status).toBe(429);
        expect((await app.get('/x', { headers: { 'x-api-key': 'partner-secret' } })).status).toBe(200);
      });
    });

    describe('API keys whose lookup fails', () => {
      for (const mode of ['throws', 'rejects'] as const) {
        it(`a key whose lookup ${mode} is an unknown key: no free pass, and logged as such, not as a store failure`, async () => {
          const apiKeys = {
            // As a database lookup that refuses a malformed id.
            resolve: (key: string) => {
              if (/^[0-9a-f]{24}$/.test(key)) return undefined;
              if (mode === 'throws') throw new Error('CastError');
              return Promise.reject(new Error('CastError'));
            },
            plans: {},
          };
          const app = await open({ global: { adaptive: false, apiKeys }, routes: [{ method: 'GET', path: '/x' }] });
          const statuses: number[] = [];
          for (let i = 0; i < 61; i++) statuses.push((await app.get('/x', { headers: { 'x-api-key': `bogus-${i}` } })).status);
          expect(statuses.slice(0, 60).every((status) => status === 200)).toBe(true);
          expect(statuses[60]).toBe(429);
          expect((await app.get('/x')).status).toBe(429);
          expect(app.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
          expect(app.logger.lines.some((l) => l.level === 'warn' && l.message.includes('apiKeys.resolve failed'))).toBe(true);
        });
      }
    });

    describe('notifications', () => {
      it('alerts once when a client keeps hitting its limit (N denials in M minutes)', async () => {
        const alerts: DenialAlert[] = [];
        const app = await open({
          global: {
            adaptive: false,
            profiles: { anonymous: { capacity: 1, refillPerSecond: 0.01, burst: 0 } },
            notify: { threshold: 3, within: '1m', onAlert: (a) => void alerts.push(a) },
          },
          routes: [{ method: 'GET', path: '/x' }],
        });
        await app.get('/x');
        await app.get('/x');
        await app.get('/x');
        expect(alerts).toHaveLength(0);
        await app.get('/x');
        expect(alerts).toHaveLength(1);
        expect(alerts[0]).toMatchObject({ key: 'ip:127.0.0.1', limiter: 'global', denials: 3, windowMs: 60_000 });
        for (let i = 0; i < 10; i++) await app.get('/x');
        expect(alerts).toHaveLength(1);
      });
    });

    describe('the admin API', () => {
      const token = 'Bearer s3cret';
      const admin = {
        prefix: '/admin/rate-limit',
        authorize: (headers: Readonly<Record<string, string | string[] | undefined>>) =>
          headers.authorization === undefined ? (401 as const) : headers.authorization === token,
      };
      const auth = { authorization: token };
      const spec = (global: TestGlobalOptions = adaptiveOff) => ({
        global,
        admin,
        routes: [{ method: 'GET' as const, path: '/api/x' }, { method: 'POST' as const, path: '/api/special' }],
      });

      it('answers 401 without credentials and 403 with wrong ones', async () => {
        const app = await open(spec());
        expect((await app.get('/admin/rate-limit/stats')).status).toBe(401);
        expect((await app.get('/admin/rate-limit/stats', { headers: { authorization: 'Bearer nope' } })).status).toBe(403);
        expect((await app.req('POST', '/admin/rate-limit/reset/ip:127.0.0.1', { authorization: 'x' })).status).toBe(403);
        expect((await app.get('/admin/rate-limit/stats', { headers: auth })).status).toBe(200);
      });

      it('GET stats lists clients, or one by client_key', async () => {
        const app = await open(spec());
        await app.get('/api/x');
        // A page holds what a bounded amount of store work finds (a SCAN on Redis, whose shared
        // instance other suites fill at the same time): follow the cursor as a caller would.
        const keys: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const page = await app.get(`/admin/rate-limit/stats${cursor === null ? '' : `?cursor=${encodeURIComponent(cursor)}`}`, { headers: auth });
          expect(page.status).toBe(200);
          const body = page.body as { clients: { key: string }[]; cursor: string | null; profiles: Record<string, unknown> };
          expect(body.profiles).toHaveProperty('anonymous');
          keys.push(...body.clients.map((c) => c.key));
          cursor = body.cursor;
          pages++;
        } while (cursor !== null && !keys.includes('ip:127.0.0.1') && pages < 1000);
        expect(keys).toContain('ip:127.0.0.1');
        const one = await app.get('/admin/rate-limit/stats?client_key=ip:127.0.0.1', { headers: auth });
        expect(one.status).toBe(200);
        expect((one.body as { client: { key: string } }).client.key).toBe('ip:127.0.0.1');
        expect((await app.get('/admin/rate-limit/stats?client_key=ip:10.9.9.9', { headers: auth })).status).toBe(404);
      });

      it('POST reset/{client_key} forgets a client', async () => {
        const app = await open(spec());
        for (let i = 0; i < 60; i++) await app.get('/api/x');
        expect((await app.get('/api/x')).status).toBe(429);
        const reset = await app.req('POST', '/admin/rate-limit/reset/ip%3A127.0.0.1', auth);
        expect(reset.status).toBe(200);
        expect(reset.body).toEqual({ client_key: 'ip:127.0.0.1', reset: true });
        expect((await app.get('/api/x')).headers['x-ratelimit-remaining']).toBe('59');
      });

      it('PUT config changes a profile on every instance sharing the store', async () => {
        const one = await open(spec());
        const two = await open(spec(), { store: one.store, clock: one.clock });
        const put = await one.req('PUT', '/admin/rate-limit/config?user_type=anonymous&capacity=100&burst=20', auth);
        expect(put.status).toBe(200);
        expect(put.body).toMatchObject({ user_type: 'anonymous', profile: { capacity: 100, burst: 20, refillPerSecond: 5 } });
        expect((await one.get('/api/x')).headers['x-ratelimit-limit']).toBe('120');
        one.clock.advance(1_000);
        // An instance re-reads the shared config at most configRefreshMs after a change (one request
        // may still see the old one when the store answers asynchronously).
        await two.get('/api/x');
        expect((await two.get('/api/x')).headers['x-ratelimit-limit']).toBe('120');
      });

      it('PUT endpoint-cost changes a cost on every instance', async () => {
        const one = await open(spec());
        const two = await open(spec(), { store: one.store, clock: one.clock });
        const put = await one.req('PUT', '/admin/rate-limit/endpoint-cost?endpoint=/api/special&cost=7', auth);
        expect(put.status).toBe(200);
        one.clock.advance(1_000);
        expect((await two.get('/api/x')).headers['x-ratelimit-remaining']).toBe('59');
        expect((await two.req('POST', '/api/special')).headers['x-ratelimit-remaining']).toBe('52');
      });

      it('POST cleanup?inactive_hours=N removes idle clients', async () => {
        // Adaptive on: a client's score outlives its full bucket, so only cleanup removes it.
        const app = await open(spec({}));
        await app.get('/api/x');
        app.clock.advance(3 * 3_600_000);
        await app.get('/api/x', { headers: { 'x-user': 'fresh' } });
        expect((await app.get('/admin/rate-limit/stats?client_key=ip:127.0.0.1', { headers: auth })).status).toBe(200);
        const cleaned = await app.req('POST', '/admin/rate-limit/cleanup?inactive_hours=2', auth);
        expect(cleaned.status).toBe(200);
        expect((cleaned.body as { removed: number }).removed).toBeGreaterThanOrEqual(1);
        expect((await app.get('/admin/rate-limit/stats?client_key=ip:127.0.0.1', { headers: auth })).status).toBe(404);
        expect((await app.get('/admin/rate-limit/stats?client_key=user:fresh', { headers: auth })).status).toBe(200);
      });

      it.each([
        ['PUT', '/config?capacity=10', 'user_type is required'],
        ['PUT', '/config?user_type=root&capacity=10', 'user_type must be one of'],
        ['PUT', '/config?user_type=anonymous', 'at least one of capacity, refill, burst'],
        ['PUT', '/config?user_type=anonymous&capacity=-1', 'capacity must be a number'],
        ['PUT', '/config?user_type=anonymous&capacity=abc', 'capacity must be a number'],
        ['PUT', '/config?user_type=anonymous&refill=0', 'refill must be between'],
        ['POST', '/cleanup', 'inactive_hours is required'],
        ['POST', '/cleanup?inactive_hours=NaN', 'inactive_hours must be a number'],
        ['PUT', '/endpoint-cost?cost=5', 'endpoint is required'],
        ['PUT', '/endpoint-cost?endpoint=nope&cost=5', 'endpoint must be a path'],
        ['PUT', '/endpoint-cost?endpoint=/x&cost=0', 'cost must be between'],
        ['GET', '/stats?limit=0', 'limit must be between'],
        ['POST', '/reset/%E0%A4%A', 'not valid URL encoding'],
      ])('%s %s -> 400 (%s)', async (method, path, message) => {
        const app = await open(spec());
        const res = await app.req(method, `/admin/rate-limit${path}`, auth);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ error: 'Bad request' });
        expect((res.body as { detail: string }).detail).toContain(message);
      });

      it('unknown endpoints are 404 and wrong methods 405', async () => {
        const app = await open(spec());
        expect((await app.get('/admin/rate-limit/nope', { headers: auth })).status).toBe(404);
        const wrong = await app.req('DELETE', '/admin/rate-limit/stats', auth);
        expect(wrong.status).toBe(405);
        expect(wrong.headers['allow']).toBe('GET');
      });
    });

    describe('bad input', () => {
      const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
      // Weighted so most requests parse and reach the app; the rest exercise Node's own parser.
      const method = fc.oneof(
        { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), weight: 6 },
        { arbitrary: token, weight: 1 },
        { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
      );
      const path = fc.oneof(
        { arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)), weight: 3 },
        fc.constantFrom('/api/data', '/api/v1/auth/login', '/admin/rate-limit/stats', '/admin/rate-limit/reset/%ZZ', '/x?api_key='),
        fc.string({ maxLength: 200 }).map((p) => `/${p}`),
        fc.string({ unit: 'grapheme', maxLength: 50 }).map((p) => `/${p}`),
        fc.array(fc.constantFrom('..', '%00', '%2F', '//', '?', '#', ';', '%', '\\'), { maxLength: 10 }).map((parts) => `/${parts.join('')}`),
      );
      const badIp = fc.oneof(
        fc.ipV4(),
        fc.ipV6(),
        fc.constantFrom('::ffff:1.2.3.4', '999.1.1.1', '1.2.3', '::1::', 'fe80::1%eth0', '[::1]:80', 'unknown', '', ' , ,', '1.2.3.4:5678'),
        fc.string({ maxLength: 60 }),
      );
      const headerValue = fc.oneof(
        fc.string({ maxLength: 100 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.integer({ min: 1_000, max: 12_000 }).map((n) => 'a'.repeat(n)),
        fc.array(badIp, { maxLength: 8 }).map((ips) => ips.join(', ')),
        badIp,
      );
      const headerName = fc.oneof(
        {
          arbitrary: fc.constantFrom('x-forwarded-for', 'user-agent', 'host', 'x-api-key', 'x-user', 'x-test-environment', 'authorization', 'forwarded', 'x-real-ip'),
          weight: 4,
        },
        { arbitrary: token, weight: 1 },
      );
      const request = fc.record({
        method,
        path,
        headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
      });
      const apiKeys = {
        resolve: (key: string) => (key === 'partner' ? { id: 'p1', plan: 'partner' } : undefined),
        plans: { partner: { capacity: 100, refillPerSecond: 10, burst: 0 } },
      };

      it('a target the URL parser takes for a host (//a@b) never reaches a 5xx, with the admin API mounted', async () => {
        const app = await open({
          global: { adaptive: false },
          admin: { prefix: '/admin/rate-limit', authorize: (h) => h.authorization === 'ok' },
          routes: [{ method: 'GET', path: '/api/data', limits: [{ max: 3, window: '60s' }] }],
        });
        for (const target of ['//a@b', '//}2F@#', '//admin/rate-limit/stats', '//']) {
          const status = await sendRaw(app.url, Buffer.from(`GET ${target} HTTP/1.1\r\nConnection: close\r\nHost: 127.0.0.1\r\n\r\n`, 'utf8'));
          expect(status, target).toBeLessThan(500);
        }
      });

      const FUZZ_RUNS = 1000;
      for (const { trustProxy, storeDown } of [
        { trustProxy: false, storeDown: false },
        { trustProxy: true, storeDown: false },
        { trustProxy: false, storeDown: true },
      ]) {
        it(`random methods, paths and headers never crash it nor get a 5xx (trust proxy: ${trustProxy}, store down: ${storeDown})`, async () => {
          let shared: { store: Store; clock: ManualClock } | undefined;
          if (storeDown) {
            // Fail open (the default): a store that throws on every decision must not turn into 5xx either.
            const clock = new ManualClock(T0);
            const real = await stores.create(clock);
            running.push({ app: { url: '', limiter: undefined as never, close: async () => {} }, store: real });
            shared = { store: broken(real), clock };
          }
          const app = await open({
            global: { apiKeys, headers: 'both', notify: { threshold: 5, onAlert: () => {} } },
            trustProxy,
            admin: { prefix: '/admin/rate-limit', authorize: (h) => h.authorization === 'ok' },
            routes: [
              { method: 'GET', path: '/api/data', limits: [{ max: 3, window: '60s', by: { header: 'x-api-key' } }, { max: 5, window: '1m', by: 'user' }] },
              { method: 'POST', path: '/api/v1/auth/login' },
            ],
          }, shared);
          const seen = new Map<number, number>();
          await fc.assert(
            fc.asyncProperty(request, async ({ method, path, headers }) => {
              const lines = [`${method} ${path} HTTP/1.1`, 'Connection: close'];
              if (!headers.some(([name]) => name.toLowerCase() === 'host')) lines.push('Host: 127.0.0.1');
              for (const [name, value] of headers) lines.push(`${name}: ${value}`);
              const status = await sendRaw(app.url, Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8'));
              app.clock.advance(250);
              seen.set(status, (seen.get(status) ?? 0) + 1);
              // Node itself answers unparseable requests (400, 431); nothing may reach a 5xx.
              expect(status).toBeGreaterThanOrEqual(100);
              expect(status).toBeLessThan(500);
            }),
            { numRuns: FUZZ_RUNS },
          );
          // The generator must mostly reach the app, not only Node's parser.
          const parsed = [...seen].filter(([status]) => status !== 400 && status !== 431).reduce((n, [, count]) => n + count, 0);
          expect(parsed).toBeGreaterThan(300);
          expect((await app.get('/api/v1/auth/login', { method: 'POST' })).status).toBeLessThan(500);
          const errors = app.logger.lines.filter((l) => l.level === 'error');
          // A healthy store logs nothing; a dead one is logged, but throttled (at most once per 10 s of clock).
          if (storeDown) expect(errors.length).toBeLessThanOrEqual(1 + Math.ceil((FUZZ_RUNS * 250) / 10_000) * 2);
          else expect(errors).toEqual([]);
        });
      }
    });

    describe('a response an earlier middleware already sent', () => {
      // Delegates everything, but answers consume and refund a few ms late, as a remote store does.
      const late = (store: Store): Store => {
        const later = <T>(work: () => T | PromiseLike<T>): Promise<T> =>
          new Promise((resolve, reject) => setTimeout(() => Promise.resolve().then(work).then(resolve, reject), 5));
        return wrapped(store, { name: 'late', consume: (r) => later(() => store.consume(r)), refund: (r) => later(() => store.refund(r)) });
      };
      for (const when of ['at once', 'late'] as const) {
        it(`neither crashes the server nor throws, with the verdict ${when}, admitted or denied`, async () => {
          const clock = new ManualClock(T0);
          const real = await stores.create(clock);
          running.push({ app: { url: '', limiter: undefined as never, close: async () => {} }, store: real });
          const store = when === 'late' ? late(real) : real;
          const app = await open(
            { answeredFirst: true, global: {}, routes: [{ method: 'GET', path: '/x', limits: [{ max: 3, window: '60s' }] }] },
            { store, clock },
          );
          // The route limit denies from the fourth request on: the 429 must not be written over the sent answer either.
          for (let i = 0; i < 6; i++) expect((await app.get('/x')).status).toBe(503);
          // Let the last late verdicts land, then check that the server still answers and logged no error.
          await new Promise((resolve) => setTimeout(resolve, 30));
          expect((await app.get('/x')).status).toBe(503);
          expect(app.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
          expect(await app.store.get('ip:127.0.0.1')).toBeDefined();
        });
      }
    });

    describe('the admin API after an earlier middleware answered', () => {
      it('writes nothing, and nothing escapes as an unhandled rejection (which ends the process)', async () => {
        const rejections: unknown[] = [];
        const listeners = process.listeners('unhandledRejection');
        process.removeAllListeners('unhandledRejection');
        process.on('unhandledRejection', (error) => void rejections.push(error));
        try {
          const app = await open({
            answeredFirst: true,
            global: false,
            // Unauthenticated requests too: a 401 is written the same way.
            admin: { prefix: '/admin/rate-limit', authorize: (h) => (h.authorization === undefined ? 401 : h.authorization === 'ok') },
            routes: [],
          });
          for (const headers of [{ authorization: 'ok' }, {}, { authorization: 'no' }]) {
            const res = await app.get('/admin/rate-limit/stats', { headers });
            expect(res.status).toBe(503);
            expect(res.body).toEqual({ answeredFirst: true });
          }
          await new Promise((resolve) => setTimeout(resolve, 30));
          expect((await app.get('/admin/rate-limit/stats', { headers: { authorization: 'ok' } })).status).toBe(503);
          expect(app.logger.lines.filter((l) => l.level === 'error')).toEqual([]);
        } finally {
          process.removeAllListeners('unhandledRejection');
          for (const listener of listeners) process.on('unhandledRejection', listener);
        }
        expect(rejections).toEqual([]);
      });
    });

    describe('store failures', () => {
      it('fail open by default: requests go through without headers, and the failure is logged', async () => {
        const clock = new ManualClock(T0);
        const real = await stores.create(clock);
        running.push({ app: { url: '', limiter: undefined as never, close: async () => {} }, store: real });
        const store = broken(real);
        const events: DecisionEvent[] = [];
        const app = await open({ global: { adaptive: false, onDecision: (e) => events.push(e) }, routes: [{ method: 'GET', path: '/x' }] }, { store, clock });
        for (let i = 0; i < 3; i++) {
          const res = await app.get('/x');
          expect(res.status).toBe(200);
          // No decision was made: headers would report a limit nobody checked.
          for (const name of Object.keys(res.headers)) expect(name).not.toMatch(/ratelimit|retry-after/);
        }
        expect(app.logger.lines.filter((l) => l.level === 'error')).toHaveLength(1);
        expect(events[0]?.storeError).toBeInstanceOf(Error);
      });
      it("fail closed answers 503", async () => {
        const clock = new ManualClock(T0);
        const real = await stores.create(clock);
        running.push({ app: { url: '', limiter: undefined as never, close: async () => {} }, store: real });
        const store = broken(real);
        const app = await open({ global: { adaptive: false, failMode: 'closed' }, routes: [{ method: 'GET', path: '/x' }] }, { store, clock });
        const res = await app.get('/x');
        expect(res.status).toBe(503);
        expect(res.headers['retry-after']).toBe('1');
      });
    });
  });
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consumeAll,
  createEndpointCosts,
  createLimiter,
  createThrottle,
  fixedWindow,
  ipKey,
  LimiterError,
  slidingWindow,
  tokenBucket,
  type Logger,
  type LimiterRequest,
  type Store,
} from '@micboard/limiter-core';
import { createReferenceStore, ManualClock } from '@micboard/limiter-core/testing';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

function setup(options: Partial<Parameters<typeof createLimiter>[0]> = {}) {
  const clock = new ManualClock(T0);
  const store = createReferenceStore({ clock });
  const limiter = createLimiter({ store, clock, ...options });
  return { clock, store, limiter };
}

const get = (path: string, extra: Partial<LimiterRequest> = {}): LimiterRequest => ({
  method: 'GET',
  path,
  ip: '203.0.113.7',
  headers: {},
  ...extra,
});

/** Sync stores answer synchronously; the engine must stay synchronous on them. */
function sync<T>(value: T | Promise<T>): T {
  if (value instanceof Promise) throw new Error('expected a synchronous answer');
  return value;
}

function recordingLogger() {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, fields, message });
    };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

describe('createLimiter', () => {
  it('gives an anonymous client seed 2 capacity + burst at once, then the refill rate', () => {
    const { clock, limiter } = setup();
    let admitted = 0;
    for (let i = 0; i < 100; i++) if (sync(limiter.check(get('/api/items'))).decision.allowed) admitted++;
    expect(admitted).toBe(60);
    clock.advance(1_000);
    admitted = 0;
    for (let i = 0; i < 100; i++) if (sync(limiter.check(get('/api/items'))).decision.allowed) admitted++;
    expect(admitted).toBe(5);
  });

  it('keys anonymous clients by IP, IPv6 by /56, and users by id', () => {
    const { limiter } = setup();
    expect(sync(limiter.check(get('/x'))).key).toBe('ip:203.0.113.7');
    expect(sync(limiter.check(get('/x', { ip: '::ffff:203.0.113.7' }))).key).toBe('ip:203.0.113.7');
    const a = sync(limiter.check(get('/x', { ip: '2001:db8:0:1::1' }))).key;
    const b = sync(limiter.check(get('/x', { ip: '2001:db8:0:ff:ffff::9' }))).key;
    const c = sync(limiter.check(get('/x', { ip: '2001:db8:0:100::1' }))).key;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(sync(limiter.check(get('/x', { ip: undefined }))).key).toBe('ip:unknown');
    expect(sync(limiter.check(get('/x', { ip: 'not an ip' }))).key).toBe('ip:unknown');
    const user = sync(limiter.check(get('/x', { userId: '42' })));
    expect(user.key).toBe('user:42');
    expect(user.userType).toBe('authenticated');
    expect(user.decision.limit).toBe(250);
  });

  it('charges endpoint costs: a login costs 5', () => {
    const { limiter } = setup();
    const login = (): boolean => sync(limiter.check({ ...get('/api/v1/auth/login'), method: 'POST' })).decision.allowed;
    let admitted = 0;
    for (let i = 0; i < 20; i++) if (login()) admitted++;
    expect(admitted).toBe(12);
    expect(sync(limiter.check(get('/api/v1/auth/register'))).cost).toBe(10);
  });

  it('raises the limit of a well-behaved client and lowers it after a failure storm', () => {
    const { clock, limiter } = setup();
    const key = sync(limiter.check(get('/a'))).key;
    for (let i = 0; i < 50; i++) sync(limiter.record(key, 200));
    clock.advance(60_000);
    const good = sync(limiter.check(get('/a'))).decision;
    expect(good.multiplier).toBeGreaterThan(1.5);
    expect(good.limit).toBeGreaterThan(60);

    const other = get('/a', { ip: '198.51.100.1' });
    const badKey = sync(limiter.check(other)).key;
    for (let i = 0; i < 60; i++) sync(limiter.record(badKey, 404));
    const bad = sync(limiter.check(other)).decision;
    expect(bad.multiplier).toBeCloseTo(0.1, 5);
    expect(bad.limit).toBe(6);
  });

  it('never penalises a client for the server’s 5xx', () => {
    const { limiter } = setup();
    const key = sync(limiter.check(get('/a'))).key;
    for (let i = 0; i < 100; i++) sync(limiter.record(key, 503));
    expect(sync(limiter.check(get('/a'))).decision.multiplier).toBe(1);
  });

  it('ignores the score when adaptive scoring is off', () => {
    const { limiter } = setup({ adaptive: false });
    expect(limiter.adaptive).toBeUndefined();
    const key = sync(limiter.check(get('/a'))).key;
    expect(limiter.record(key, 404)).toBeUndefined();
    expect(sync(limiter.check(get('/a'))).decision.multiplier).toBe(1);
  });

  it('in production, no header a client sends changes its type, key or bucket', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(
            fc.constantFrom('user-agent', 'host', 'x-test-environment', 'x-automated-test', 'x-forwarded-for', 'x-real-ip', 'authorization', 'x-user-type'),
            fc.string({ maxLength: 20 }).map((s) => s.toLowerCase()),
          ),
          fc.oneof(
            fc.constantFrom('playwright', 'jest', 'cypress', 'selenium', 'localhost', '127.0.0.1', 'true', 'development', '10.0.0.1, 127.0.0.1'),
            fc.string({ maxLength: 200 }),
          ),
        ),
        (headers) => {
          const plain = setup();
          const spoofed = setup();
          const a = sync(plain.limiter.check(get('/api/items')));
          const b = sync(spoofed.limiter.check(get('/api/items', { headers })));
          expect(b.userType).toBe('anonymous');
          expect(b.key).toBe(a.key);
          expect(b.decision).toEqual(a.decision);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('identifies API-key clients by key and plan; an unknown key is not a free pass', () => {
    const keys = new Map([['k-partner', { id: 'acme', plan: 'partner' }]]);
    const { limiter } = setup({
      apiKeys: {
        resolve: (apiKey) => keys.get(apiKey),
        plans: { partner: { capacity: 2_000, refillPerSecond: 200, burst: 500 } },
      },
    });
    const partner = sync(limiter.check(get('/a', { headers: { 'x-api-key': 'k-partner' } })));
    expect(partner.key).toBe('apikey:acme');
    expect(partner.plan).toBe('partner');
    expect(partner.decision.limit).toBe(2_500);
    const unknown = sync(limiter.check(get('/a', { headers: { 'x-api-key': ['nope'] } })));
    expect(unknown.key).toBe('ip:203.0.113.7');
    expect(unknown.plan).toBeUndefined();
    expect(unknown.decision.limit).toBe(60);
  });

  it('awaits an async API-key lookup', async () => {
    const { limiter } = setup({
      apiKeys: {
        header: 'X-Key',
        resolve: async (apiKey) => (apiKey === 'good' ? { id: 'p', plan: 'gold' } : undefined),
        plans: { gold: { capacity: 10, refillPerSecond: 1, burst: 0 } },
      },
    });
    const result = await limiter.check(get('/a', { headers: { 'x-key': 'good' } }));
    expect(result.key).toBe('apikey:p');
    expect(result.decision.limit).toBe(10);
  });

  it.each(['throw', 'reject'] as const)(
    'an API-key lookup that fails (%s) treats the key as unknown, and logs it without the key',
    async (mode) => {
      const { logger, lines } = recordingLogger();
      const secret = 'not-a-valid-object-id-0123456789';
      const { limiter } = setup({
        logger,
        apiKeys: {
          resolve: (apiKey) => {
            if (apiKey !== secret) return undefined;
            const error = new Error('CastError');
            if (mode === 'throw') throw error;
            return Promise.reject(error);
          },
          plans: { partner: { capacity: 2_000, refillPerSecond: 200, burst: 500 } },
        },
      });
      // A lookup that fails is no way past the limit: the request counts as one without a key.
      const result = await limiter.check(get('/a', { headers: { 'x-api-key': secret } }));
      expect(result.key).toBe('ip:203.0.113.7');
      expect(result.plan).toBeUndefined();
      expect(result.decision.limit).toBe(60);
      expect(result.decision.remaining).toBe(59);
      expect(sync(limiter.check(get('/a'))).decision.remaining).toBe(58);
      const identity = await limiter.identify(get('/a', { headers: { 'x-api-key': secret } }));
      expect(identity.key).toBe('ip:203.0.113.7');
      // Two failures at one instant: the second is held back (see the next test).
      const warnings = lines.filter((l) => l.level === 'warn' && l.message.includes('API key'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.fields.err).toBeInstanceOf(Error);
      // Never the key itself: at most a short prefix of it.
      for (const line of warnings) {
        expect(line.message).not.toContain(secret.slice(0, 8));
        expect(JSON.stringify(line.fields)).not.toContain(secret.slice(0, 8));
      }
    },
  );

  it('logs failed API-key lookups at most once per 10 s, with the count held back: a client can send a bad key on every request', () => {
    const { logger, lines } = recordingLogger();
    const { clock, limiter } = setup({
      logger,
      apiKeys: {
        resolve: () => {
          throw new Error('bad key');
        },
        plans: {},
      },
    });
    const failures = () => lines.filter((l) => l.level === 'warn' && l.message.includes('apiKeys.resolve failed'));
    for (let i = 0; i < 300; i++) limiter.check(get('/a', { headers: { 'x-api-key': `key-${i}` } }));
    expect(failures()).toHaveLength(1);
    expect(failures()[0]?.fields).toMatchObject({ suppressed: 0 });
    clock.advance(9_999);
    limiter.check(get('/a', { headers: { 'x-api-key': 'key' } }));
    expect(failures()).toHaveLength(1);
    clock.advance(1);
    limiter.check(get('/a', { headers: { 'x-api-key': 'key' } }));
    expect(failures()).toHaveLength(2);
    expect(failures()[1]?.fields).toMatchObject({ suppressed: 300 });
    // A clock stepping back by less than the interval stays quiet; by more, it logs again rather
    // than stay quiet until it catches up.
    const loggedAt = clock.now();
    clock.set(loggedAt - 9_999);
    limiter.check(get('/a', { headers: { 'x-api-key': 'key' } }));
    expect(failures()).toHaveLength(2);
    clock.set(loggedAt - 10_001);
    limiter.check(get('/a', { headers: { 'x-api-key': 'key' } }));
    expect(failures()).toHaveLength(3);
    expect(failures()[2]?.fields).toMatchObject({ suppressed: 1 });
  });

  it('a synchronous API-key lookup that throws stays synchronous', () => {
    const { limiter } = setup({
      apiKeys: {
        resolve: () => {
          throw new Error('bad key');
        },
        plans: {},
      },
    });
    expect(sync(limiter.check(get('/a', { headers: { 'x-api-key': 'x' } }))).key).toBe('ip:203.0.113.7');
  });

  it('logs a limited client once per window, not once per request', () => {
    const { logger, lines } = recordingLogger();
    const { clock, limiter } = setup({ logger });
    for (let i = 0; i < 500; i++) limiter.check(get('/a'));
    const warnings = lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toBe('Rate limit exceeded for ip:203.0.113.7');
    expect(warnings[0]?.fields).toMatchObject({ key: 'ip:203.0.113.7', path: '/a', userType: 'anonymous' });
    clock.advance(60_000);
    for (let i = 0; i < 100; i++) limiter.check(get('/a'));
    expect(lines.filter((line) => line.level === 'warn')).toHaveLength(2);
  });

  it('shares profile and cost changes with every instance on the store within the refresh interval', () => {
    const clock = new ManualClock(T0);
    const store = createReferenceStore({ clock });
    const one = createLimiter({ store, clock });
    const two = createLimiter({ store, clock, configRefreshMs: 500 });
    sync(two.check(get('/warmup', { ip: '192.0.2.1' })));
    sync(one.setProfile('anonymous', { capacity: 300 }));
    sync(one.setEndpointCost('/api/v1/special', 7, 'post'));
    expect(one.profiles().anonymous.capacity).toBe(300);
    clock.advance(500);
    sync(two.check(get('/warmup', { ip: '192.0.2.1' })));
    expect(two.profiles().anonymous.capacity).toBe(300);
    expect(two.endpointCosts.costOf('POST', '/api/v1/special')).toBe(7);
    expect(two.endpointCosts.costOf('GET', '/api/v1/special')).toBe(1);
    expect(sync(two.check(get('/x', { ip: '192.0.2.99' }))).decision.limit).toBe(310);
    // A second write replaces the first rule rather than stacking.
    sync(two.setEndpointCost('/api/v1/special', 2, 'POST'));
    clock.advance(500);
    sync(one.check(get('/warmup', { ip: '192.0.2.1' })));
    expect(one.endpointCosts.costOf('POST', '/api/v1/special')).toBe(2);
    expect(one.endpointCosts.costOf('POST', '/api/v1/auth/login')).toBe(5);
  });

  it('property: the cost charged is always the table\'s, however requests and rule changes interleave', () => {
    const paths = ['/api/data', '/API/data/', '/api/v1/auth/login', '/api/items/7', '/api/items/7?x=1', 'http://h/api/data'];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('check' as const), method: fc.constantFrom('GET', 'get', 'POST', 'HEAD'), path: fc.constantFrom(...paths) }),
      fc.record({
        kind: fc.constant('set' as const),
        path: fc.constantFrom('/api/data', '/api/items/:id', '/api/*', '/api/v1/auth/login'),
        cost: fc.integer({ min: 1, max: 9 }),
        method: fc.constantFrom(undefined, 'GET', 'POST'),
      }),
      fc.record({ kind: fc.constant('remove' as const), path: fc.constantFrom('/api/data', '/api/items/:id', '/api/*'), method: fc.constantFrom(undefined, 'GET') }),
      fc.record({ kind: fc.constant('shared' as const), cost: fc.integer({ min: 1, max: 9 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const clock = new ManualClock(T0);
        const store = createReferenceStore({ clock });
        // Refreshing on every check, so a shared change is in force at the next request.
        const limiter = createLimiter({ store, clock, configRefreshMs: 0, profiles: { anonymous: { capacity: 1e9, refillPerSecond: 1, burst: 0 } } });
        const model = createEndpointCosts({});
        for (const o of ops) {
          if (o.kind === 'check') {
            expect(sync(limiter.check(get(o.path, { method: o.method }))).cost).toBe(model.costOf(o.method, o.path));
          } else if (o.kind === 'set') {
            limiter.endpointCosts.set(o.path, o.cost, o.method);
            model.set(o.path, o.cost, o.method);
          } else if (o.kind === 'remove') {
            expect(limiter.endpointCosts.remove(o.path, o.method)).toBe(model.remove(o.path, o.method));
          } else {
            // Another instance changes the shared config: the refresh rebuilds the table from the rules.
            sync(limiter.setEndpointCost('/api/data', o.cost, 'GET'));
            for (const rule of model.list()) model.remove(rule.path, rule.method);
            for (const rule of limiter.endpointCosts.list()) model.set(rule.path, rule.cost, rule.method);
          }
          clock.advance(1);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects bad settings at construction and at runtime, naming the option', () => {
    const store = createReferenceStore();
    expect(() => createLimiter({ store: undefined as unknown as Store })).toThrow(/^store must be a Store/);
    expect(() => createLimiter({ store, ipv6Subnet: 0 })).toThrow(/^ipv6Subnet must be/);
    expect(() => createLimiter({ store, configRefreshMs: 5_000 })).toThrow(/^configRefreshMs must be .*; got 5000/);
    expect(() => createLimiter({ store, profiles: { robots: { capacity: 1, refillPerSecond: 1, burst: 0 } } as never })).toThrow(
      /^profiles\.robots must be a user type/,
    );
    expect(() => createLimiter({ store, profiles: 'x' as never })).toThrow(/^profiles must be an object/);
    expect(() => createLimiter({ store, profiles: { anonymous: { capacity: -5 } as never } })).toThrow(/capacity/);
    expect(() => createLimiter({ store, apiKeys: { resolve: 'no' as never, plans: {} } })).toThrow(/^apiKeys\.resolve must be a function/);
    const limiter = createLimiter({ store });
    expect(() => limiter.setProfile('robots' as never, {})).toThrow(LimiterError);
    expect(() => limiter.setProfile('anonymous', { refillPerSecond: Number.NaN })).toThrow(/refillPerSecond/);
    expect(() => limiter.setEndpointCost('/x', 0)).toThrow(/cost/);
  });

  it('checks every refill rate against MAX_REFILL_PER_SECOND times adaptive.max: profiles, plans, setProfile, shared config', () => {
    const store = createReferenceStore();
    const tooFast = { capacity: 10, refillPerSecond: 6_000, burst: 0 };
    // With adaptive scoring (max 2 by default) a client can refill at twice its profile's rate.
    expect(() => createLimiter({ store, profiles: { testing: tooFast } })).toThrow(
      /^profiles\.testing\.refillPerSecond must be .* at most 10000 \/ 2 = 5000 \(adaptive\.max 2 can multiply it\).*count in larger units.*; got 6000$/,
    );
    expect(createLimiter({ store, adaptive: false, profiles: { testing: tooFast } }).profiles().testing).toEqual(tooFast);
    expect(() => createLimiter({ store, adaptive: false, profiles: { testing: { refillPerSecond: 20_000 } as never } })).toThrow(
      /^profiles\.testing\.refillPerSecond must be .* at most 10000: .*; got 20000$/,
    );
    // The defaults too: development's 1,000 per second, times an adaptive.max of 20.
    expect(() => createLimiter({ store, adaptive: { max: 20 } })).toThrow(/^profiles\.development\.refillPerSecond must be .*; got 1000$/);
    expect(() => createLimiter({ store, apiKeys: { resolve: () => undefined, plans: { firehose: tooFast } } })).toThrow(
      /^apiKeys\.plans\.firehose\.refillPerSecond must be .*; got 6000$/,
    );
    const { clock, store: shared, limiter } = setup();
    expect(() => limiter.setProfile('anonymous', { refillPerSecond: 1e6 })).toThrow(/^profiles\.anonymous\.refillPerSecond must be .*; got 1000000$/);
    expect(sync(shared.getConfig())).toBeUndefined();
    // Written by something else: ignored as a whole.
    shared.setConfig({ profiles: { anonymous: tooFast } });
    clock.advance(1000);
    sync(limiter.refreshConfig());
    expect(limiter.profiles().anonymous.refillPerSecond).toBe(5);
  });

  it('keeps answering when the shared config cannot be read, and logs it', async () => {
    const { logger, lines } = recordingLogger();
    const clock = new ManualClock(T0);
    const base = createReferenceStore({ clock });
    const failing: Store = { ...base, getConfig: () => Promise.reject(new Error('redis down')) };
    const limiter = createLimiter({ store: failing, clock, logger });
    expect((await limiter.check(get('/a'))).decision.allowed).toBe(true);
    await limiter.refreshConfig();
    expect(lines.some((line) => line.level === 'warn' && line.message.includes('shared rate-limit config'))).toBe(true);
    const throwing: Store = { ...base, getConfig: () => { throw new Error('sync failure'); } };
    expect(sync(createLimiter({ store: throwing, clock, logger }).check(get('/a'))).decision.allowed).toBe(true);
    const invalid: Store = { ...base, getConfig: () => ({ version: 9, data: { profiles: { anonymous: { capacity: 'lots' } } } }) };
    const tolerant = createLimiter({ store: invalid, clock, logger });
    expect(sync(tolerant.check(get('/a'))).decision.limit).toBe(60);
    expect(lines.some((line) => line.level === 'error')).toBe(true);
  });

  it('an invalid shared config is ignored as a whole: nothing of it is half-applied', () => {
    const { logger, lines } = recordingLogger();
    const { clock, store, limiter } = setup({ logger });
    sync(limiter.setProfile('anonymous', { capacity: 300 }));
    sync(limiter.setEndpointCost('/api/v1/special', 7, 'POST'));
    // Written by something else (an older instance, a hand edit): a valid profile change, then a
    // rule the cost table rejects.
    store.setConfig({
      profiles: { anonymous: { capacity: 10, refillPerSecond: 5, burst: 0 } },
      endpointCosts: [{ path: '/api/v1/cheap', cost: 2 }, { path: '/api/v1/broken', cost: -1 }],
    });
    clock.advance(1000);
    sync(limiter.refreshConfig());
    expect(lines.some((line) => line.level === 'error' && line.message.includes('ignoring invalid shared'))).toBe(true);
    expect(limiter.profiles().anonymous.capacity).toBe(300);
    expect(limiter.endpointCosts.costOf('POST', '/api/v1/special')).toBe(7);
    expect(limiter.endpointCosts.costOf('GET', '/api/v1/cheap')).toBe(1);
    expect(limiter.endpointCosts.costOf('POST', '/api/v1/auth/login')).toBe(5);
    // Not an array at all: ignored too.
    store.setConfig({ endpointCosts: { '/api/v1/special': 1 } });
    sync(limiter.refreshConfig());
    expect(limiter.endpointCosts.costOf('POST', '/api/v1/special')).toBe(7);
  });

  it('a change the store could not save is not applied locally either (instances never drift apart)', async () => {
    const clock = new ManualClock(T0);
    const base = createReferenceStore({ clock });
    const failing: Store = { ...base, setConfig: () => Promise.reject(new Error('redis down')) };
    const limiter = createLimiter({ store: failing, clock });
    await expect(limiter.setProfile('anonymous', { capacity: 300 })).rejects.toThrow('redis down');
    await expect(limiter.setEndpointCost('/api/v1/special', 7)).rejects.toThrow('redis down');
    expect(limiter.profiles().anonymous.capacity).toBe(50);
    expect(limiter.endpointCosts.costOf('GET', '/api/v1/special')).toBe(1);
    // Nor later: the next refresh still sees the store's (unchanged) config.
    clock.advance(1000);
    await limiter.refreshConfig();
    expect(limiter.profiles().anonymous.capacity).toBe(50);
  });

  it('property: check decides exactly as identify + specFor + costOf + consume, spelled out (ip cache, API keys, adaptive)', () => {
    const partner = { capacity: 4, refillPerSecond: 2, burst: 1 };
    const apiKeys = {
      resolve: (apiKey: string) => (apiKey === 'good' ? { id: '7', plan: 'partner' } : undefined),
      plans: { partner },
    };
    const profiles = { anonymous: { capacity: 3, refillPerSecond: 1, burst: 1 }, authenticated: { capacity: 5, refillPerSecond: 2, burst: 0 } };
    const adaptive = { failureFactor: 0.5, successStep: 0.3, idleHalfLifeMs: 2000 };
    const ips = ['203.0.113.7', '203.0.113.8', '2001:db8::1', '2001:db8:0:ff::2', '2001:db8:1::1', '', 'nonsense', undefined];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ip: fc.nat(ips.length - 1),
            userId: fc.constantFrom(undefined, undefined, '', 'u1'),
            apiKey: fc.constantFrom(undefined, undefined, undefined, 'good', 'bad', ''),
            path: fc.constantFrom('/api/data', '/api/data', '/auth/login'),
            status: fc.constantFrom(undefined, undefined, 200, 404, 500),
            dt: fc.constantFrom(0, 0, 10, 300, 2000),
          }),
          { minLength: 1, maxLength: 50 },
        ),
        (ops) => {
          const clock = new ManualClock(T0);
          const store = createReferenceStore({ clock });
          const limiter = createLimiter({ store, clock, apiKeys, profiles, adaptive });
          const model = createReferenceStore({ clock });
          const ref = createLimiter({ store: model, clock, apiKeys, profiles, adaptive });
          for (const op of ops) {
            clock.advance(op.dt);
            const ip = ips[op.ip];
            const request: LimiterRequest = {
              method: 'POST',
              path: op.path,
              ip,
              headers: op.apiKey === undefined ? {} : { 'x-api-key': op.apiKey },
              ...(op.userId === undefined ? {} : { userId: op.userId }),
            };
            const result = sync(limiter.check(request));
            // The key as the engine always defined it, without its cache.
            const plainKey = op.userId
              ? `user:${op.userId}`
              : `ip:${(ip !== undefined && ipKey(ip, { ipv6Subnet: 56 })) || 'unknown'}`;
            const identity = sync(ref.identify(request));
            expect(identity.key).toBe(op.apiKey === 'good' ? 'apikey:7' : plainKey);
            const cost = ref.endpointCosts.costOf(request.method, request.path);
            const decision = sync(model.consume({ key: identity.key, spec: ref.specFor(identity), cost, adaptive: ref.adaptive! }));
            expect(result).toEqual({ ...identity, decision, cost });
            if (op.status !== undefined) {
              limiter.record(result.key, op.status);
              ref.record(identity.key, op.status);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('classifies each request by its own headers (the classifier input object is reused)', () => {
    const { limiter } = setup({ classifier: { environment: 'test' } });
    const headers = { 'x-test-environment': 'true' };
    const result = sync(limiter.check(get('/a', { ip: '127.0.0.1', headers })));
    expect(result.userType).toBe('testing');
    // Same address, no header: the previous request's headers must not leak into this one.
    expect(sync(limiter.check(get('/a', { ip: '127.0.0.1' }))).userType).toBe('anonymous');
  });

  it('works the same over an asynchronous store', async () => {
    const clock = new ManualClock(T0);
    const base = createReferenceStore({ clock });
    const asyncStore: Store = {
      ...base,
      consume: async (request) => base.consume(request),
      record: async (key, outcome, adaptive) => base.record(key, outcome, adaptive),
      getConfig: async () => base.getConfig(),
      setConfig: async (data, options) => base.setConfig(data, options),
    };
    const limiter = createLimiter({ store: asyncStore, clock });
    let admitted = 0;
    for (let i = 0; i < 70; i++) if ((await limiter.check(get('/a'))).decision.allowed) admitted++;
    expect(admitted).toBe(60);
    await limiter.record('ip:203.0.113.7', 200);
    await limiter.setProfile('authenticated', { burst: 0 });
    expect(limiter.profiles().authenticated.burst).toBe(0);
  });
});

describe('consumeAll', () => {
  it('a request denied by one limit does not use up the others', () => {
    const clock = new ManualClock(T0);
    const store = createReferenceStore({ clock });
    const wide = { key: 'ip:1', limitId: 'wide', spec: slidingWindow({ limit: 100, window: '60s' }), cost: 1 };
    const narrow = { key: 'ip:1', limitId: 'narrow', spec: fixedWindow({ limit: 2, window: '60s' }), cost: 1 };
    expect(sync(consumeAll(store, [wide, narrow])).allowed).toBe(true);
    expect(sync(consumeAll(store, [wide, narrow])).allowed).toBe(true);
    for (let i = 0; i < 10; i++) {
      const denied = sync(consumeAll(store, [wide, narrow]));
      expect(denied.allowed).toBe(false);
      expect(denied.deniedBy).toBe(1);
      expect(denied.decisions).toHaveLength(2);
    }
    expect(sync(store.get('ip:1'))?.limits.wide?.remaining).toBe(98);
    expect(sync(consumeAll(store, [])).allowed).toBe(true);
  });

  it('waits for refunds from a store whose promises are not native (any thenable, as chain accepts)', async () => {
    const clock = new ManualClock(T0);
    const base = createReferenceStore({ clock });
    // A promise library's promise: thenable, but not \`instanceof Promise\`.
    const later = <T>(run: () => T): PromiseLike<T> => ({
      then: (onFulfilled, onRejected) => new Promise<T>((resolve) => setTimeout(() => resolve(run()), 5)).then(onFulfilled, onRejected),
    });
    const thenableStore = {
      ...base,
      consume: (request: Parameters<Store['consume']>[0]) => later(() => base.consume(request)),
      refund: (request: Parameters<Store['refund']>[0]) => later(() => base.refund(request)),
    } as unknown as Store;
    const wide = { key: 'k', limitId: 'wide', spec: fixedWindow({ limit: 10, window: '1m' }), cost: 1 };
    const narrow = { key: 'k', limitId: 'narrow', spec: fixedWindow({ limit: 1, window: '1m' }), cost: 1 };
    await consumeAll(thenableStore, [wide, narrow]);
    const denied = await consumeAll(thenableStore, [wide, narrow]);
    expect(denied.allowed).toBe(false);
    expect(base.get('k')?.limits.wide?.remaining).toBe(9);
  });

  it.each(['throw', 'reject', 'reject a thenable'] as const)(
    'a refund that fails (%s) leaves the denial standing',
    async (mode) => {
      const clock = new ManualClock(T0);
      const base = createReferenceStore({ clock });
      const refunded: unknown[] = [];
      const failing = {
        ...base,
        refund: (request: Parameters<Store['refund']>[0]) => {
          refunded.push(request);
          const error = new Error('refund: connection reset');
          if (mode === 'throw') throw error;
          if (mode === 'reject') return Promise.reject(error);
          // Rejected only once someone asks: a promise library's promise, not instanceof Promise.
          return { then: (ok: never, fail: (e: unknown) => unknown) => Promise.reject(error).then(ok, fail) };
        },
      } as unknown as Store;
      const wide = { key: 'k', limitId: 'wide', spec: fixedWindow({ limit: 10, window: '1m' }), cost: 1 };
      const narrow = { key: 'k', limitId: 'narrow', spec: fixedWindow({ limit: 1, window: '1m' }), cost: 1 };
      expect((await consumeAll(failing, [wide, narrow])).allowed).toBe(true);
      const denied = await consumeAll(failing, [wide, narrow]);
      expect(denied).toMatchObject({ allowed: false, deniedBy: 1 });
      // The refund was asked for, naming the decision that took the cost.
      expect(refunded).toEqual([{ ...wide, takenResetAt: denied.decisions[0]?.resetAt }]);
    },
  );

  it('refunds over an asynchronous store too', async () => {
    const clock = new ManualClock(T0);
    const base = createReferenceStore({ clock });
    const asyncStore: Store = {
      ...base,
      consume: async (request) => base.consume(request),
      refund: async (request) => base.refund(request),
    };
    const wide = { key: 'k', limitId: 'wide', spec: fixedWindow({ limit: 10, window: '1m' }), cost: 1 };
    const narrow = { key: 'k', limitId: 'narrow', spec: fixedWindow({ limit: 1, window: '1m' }), cost: 1 };
    await consumeAll(asyncStore, [wide, narrow]);
    const denied = await consumeAll(asyncStore, [wide, narrow]);
    expect(denied.allowed).toBe(false);
    expect(base.get('k')?.limits.wide?.remaining).toBe(9);
  });
});

describe('found by review: consumeAll when a store fails, and options checked', () => {
  const spec = tokenBucket({ capacity: 2, refillPerSecond: 0.001 });
  const failing = (mode: 'throw' | 'reject'): { store: Store; base: ReturnType<typeof createReferenceStore> } => {
    const base = createReferenceStore({ clock: new ManualClock(1_700_000_000_000) });
    const store: Store = {
      ...base,
      consume: (r) => {
        if (r.limitId !== 'b') return base.consume(r);
        if (mode === 'throw') throw new Error('boom');
        return Promise.reject(new Error('boom'));
      },
    };
    return { store, base };
  };

  it.each(['throw', 'reject'] as const)('a later limit whose store call fails (%s): the earlier ones are refunded, and the error goes on', async (mode) => {
    const { store, base } = failing(mode);
    const run = async (): Promise<unknown> => consumeAll(store, [{ key: 'k', limitId: 'a', spec, cost: 1 }, { key: 'k', limitId: 'b', spec, cost: 1 }]);
    await expect(run()).rejects.toThrow('boom');
    expect(base.get('k')?.limits['a']?.remaining).toBe(2);
  });

  it('createLimiter and createThrottle refuse a logger without its methods, and createLimiter a clock without now()', () => {
    const store = createReferenceStore();
    expect(() => createLimiter({ store, logger: {} as never })).toThrow(/^logger must be/);
    expect(() => createLimiter({ store, clock: {} as never })).toThrow(/^clock must be/);
    expect(() => createThrottle({ ratePerSecond: 1, logger: { debug() {} } as never })).toThrow(/^logger must be/);
  });
});

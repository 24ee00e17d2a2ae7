/**
 * `note`: outcomes held in the process and carried by the client's next adaptive bucket decision
 * (one round trip for both) must land exactly as `record` would have landed them at that time;
 * what waits is written by the timer, by `close`, by `get`, and when a bound is reached.
 *
 * numRuns: 1,000 sequences (up to 24 steps) against the shared Redis, about 2-4 s.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { adaptiveConfig } from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import type { AdaptiveConfig, ConsumeRequest, LimitSpec, Outcome } from '@micboard/limiter-core';
import { createMemoryStore } from '@micboard/limiter-store';
import { deleteByPrefix, uniquePrefix } from '@micboard/test-utils';
import { createRedisStore } from '@micboard/limiter-store/redis';
import { useSharedRedis } from './fixtures/shared-redis.js';
import { adaptiveConfigs } from './fixtures/arbitraries.js';

const RUNS = 1000;
const START = 1_700_000_000_000;
let client: Redis;
const { prefix } = useSharedRedis('note', (connected) => (client = connected));

const spec: LimitSpec = { algorithm: 'token-bucket', capacity: 6, refillPerSecond: 2, burst: 1.5 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('redis store: note', () => {
  it(`noted outcomes carried by the next decision land as record() would have landed them (${RUNS} sequences)`, async () => {
    const config = adaptiveConfigs;
    const specs: LimitSpec[] = [
      spec,
      { algorithm: 'gcra', capacity: 3, refillPerSecond: 0.7, burst: 0 },
      // A window decision does not carry outcomes: they are written just before it.
      { algorithm: 'fixed-window', limit: 7, windowMs: 1000 },
    ];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('note' as const), outcome: fc.constantFrom<Outcome>('success', 'failure', 'neutral'), dt: fc.integer({ min: 0, max: 2000 }) }),
      fc.record({ kind: fc.constant('consume' as const), limit: fc.nat(specs.length - 1), cost: fc.constantFrom(1, 2, 0.5), dt: fc.integer({ min: 0, max: 1500 }) }),
    );
    await fc.assert(
      fc.asyncProperty(config, fc.array(op, { minLength: 1, maxLength: 24 }), async (adaptive: AdaptiveConfig, ops) => {
        const clock = new ManualClock(START);
        // No timer flush and no per-key bound here: outcomes wait for the decision.
        const notes = { perKey: 1000, flushMs: 1e9 };
        // Prefixes of this sequence only, deleted when it ends: a thousand sequences' keys left
        // until the file ends would crowd the shared Redis other suites list clients from.
        const prefixes = [uniquePrefix('note'), uniquePrefix('note')] as const;
        const noting = createRedisStore({ client, prefix: prefixes[0], clock, onStoreError: 'throw', timeoutMs: 5000, notes });
        const recording = createRedisStore({ client, prefix: prefixes[1], clock, onStoreError: 'throw', timeoutMs: 5000 });
        try {
          // record() at the time the noted outcomes reach Redis: the next decision.
          // A bucket decision carries what waits and applies it at its own time; anything else
          // (a window decision, get) writes it first, each at the time it was noted (the store's
          // injected clock; with Redis time that is within notes.flushMs).
          let waiting: { outcome: Outcome; at: number }[] = [];
          const recordWaiting = async (atNoted: boolean): Promise<void> => {
            const now = clock.now();
            for (const { outcome, at } of waiting) {
              if (atNoted) clock.set(at);
              await recording.record('a', outcome, adaptive);
            }
            clock.set(now);
            waiting = [];
          };
          for (const o of ops) {
            clock.advance(o.dt);
            if (o.kind === 'note') {
              noting.note('a', o.outcome, adaptive);
              waiting.push({ outcome: o.outcome, at: clock.now() });
            } else {
              const request: ConsumeRequest = { key: 'a', limitId: `l${o.limit}`, spec: specs[o.limit] as LimitSpec, cost: o.cost, adaptive };
              await recordWaiting(request.spec.algorithm === 'fixed-window');
              expect(await noting.consume(request)).toEqual(await recording.consume(request));
            }
          }
          await recordWaiting(true);
          const [noted, recorded] = [await noting.get('a'), await recording.get('a')];
          // Last-seen times agree within their resolution: a decision that carries outcomes leaves
          // the activity to its bucket state (whole seconds), where record() writes the index's ms.
          expect(noted && { ...noted, lastSeen: 0 }).toEqual(recorded && { ...recorded, lastSeen: 0 });
          expect(Math.abs((noted?.lastSeen ?? 0) - (recorded?.lastSeen ?? 0))).toBeLessThan(1000);
        } finally {
          await noting.close();
          await recording.close();
          for (const p of prefixes) await deleteByPrefix([client], p);
        }
      }),
      { numRuns: RUNS },
    );
  }, 60_000);

  it('with an injected clock, what waits is written at the time it was noted: an idle client stays idle', async () => {
    const p = prefix();
    const clock = new ManualClock(START);
    const store = createRedisStore({ client, prefix: p, clock, onStoreError: 'throw', notes: { flushMs: 1e9 } });
    const adaptive = adaptiveConfig();
    store.note('idle', 'success', adaptive);
    clock.advance(3 * 3_600_000);
    const snapshot = await store.get('idle');
    expect(snapshot?.adaptive).toMatchObject({ requests: 1, successes: 1, lastSeen: START });
    expect(snapshot?.lastSeen).toBe(START);
    expect(await store.cleanup(2 * 3_600_000)).toBe(1);
    expect(await store.get('idle')).toBeUndefined();
    await store.close();
  });

  it('the timer writes what waits', async () => {
    const p = prefix();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', notes: { flushMs: 50 } });
    const peer = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const adaptive = adaptiveConfig();
    store.note('a', 'success', adaptive);
    store.note('a', 'failure', adaptive);
    store.note('a', 'neutral', adaptive);
    expect(await peer.get('a')).toBeUndefined();
    await sleep(300);
    expect((await peer.get('a'))?.adaptive).toMatchObject({ requests: 3, successes: 1, failures: 1 });
    await store.close();
  });

  it('close writes what waits; get writes the client’s; reset drops them', async () => {
    const p = prefix();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', notes: { flushMs: 1e9 } });
    const peer = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const adaptive = adaptiveConfig();
    store.note('a', 'success', adaptive);
    store.note('b', 'success', adaptive);
    store.note('b', 'success', adaptive);
    store.note('gone', 'failure', adaptive);
    expect((await store.get('a'))?.adaptive).toMatchObject({ requests: 1, successes: 1 });
    expect(await peer.get('b')).toBeUndefined();
    expect(await store.reset('gone')).toBe(false);
    await store.close();
    expect((await peer.get('b'))?.adaptive).toMatchObject({ requests: 2, successes: 2 });
    expect(await peer.get('gone')).toBeUndefined();
  });

  it('bounds what waits: per client, and in clients (the oldest is written)', async () => {
    const p = prefix();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', notes: { maxKeys: 2, perKey: 3, flushMs: 1e9 } });
    const peer = createRedisStore({ client, prefix: p, onStoreError: 'throw' });
    const adaptive = adaptiveConfig();
    store.note('a', 'success', adaptive);
    store.note('b', 'success', adaptive);
    store.note('c', 'success', adaptive);
    // The peer's reads go on the same connection, after the writes the bounds started.
    expect((await peer.get('a'))?.adaptive).toMatchObject({ requests: 1 });
    expect(await peer.get('b')).toBeUndefined();
    expect(await peer.get('c')).toBeUndefined();
    store.note('b', 'failure', adaptive);
    store.note('b', 'success', adaptive);
    expect((await peer.get('b'))?.adaptive).toMatchObject({ requests: 3, successes: 2, failures: 1 });
    expect(await peer.get('c')).toBeUndefined();
    await store.close();
    expect((await peer.get('c'))?.adaptive).toMatchObject({ requests: 1 });
  });

  it('a plain decision carries nothing; an adaptive one carries and applies in one round trip', async () => {
    const p = prefix();
    const clock = new ManualClock(START);
    const store = createRedisStore({ client, prefix: p, clock, onStoreError: 'throw', notes: { flushMs: 1e9 } });
    const adaptive = adaptiveConfig({ successStep: 0.5, max: 2 });
    store.note('a', 'success', adaptive);
    store.note('a', 'success', adaptive);
    let calls = 0;
    const evalsha = client.evalsha.bind(client);
    client.evalsha = ((...args: Parameters<typeof evalsha>) => {
      calls++;
      return evalsha(...args);
    }) as typeof client.evalsha;
    try {
      expect((await store.consume({ key: 'a', spec, cost: 1 })).multiplier).toBe(1);
      expect(calls).toBe(1);
      const decision = await store.consume({ key: 'a', spec, cost: 1, adaptive });
      expect(calls).toBe(2);
      expect(decision.multiplier).toBe(2);
    } finally {
      client.evalsha = evalsha;
    }
    expect((await store.get('a'))?.adaptive).toMatchObject({ requests: 2, successes: 2, multiplier: 2 });
    await store.close();
  });

  it('a decision that never reached Redis gives its outcomes back: they are recorded later, in order', async () => {
    // A client that cannot send (no connection, no offline queue): the store answers from its fallback.
    const calls: unknown[][] = [];
    const fake = {
      isCluster: false as const,
      options: { enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false },
      scan: () => Promise.resolve(['0', []]),
      eval: () => Promise.reject(new Error('eval not expected')),
      evalsha: (...args: unknown[]) => {
        calls.push(args.flat());
        return Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false"));
      },
    };
    const clock = new ManualClock(START);
    const fallback = createMemoryStore({ clock });
    const reference = createMemoryStore({ clock });
    const store = createRedisStore({ client: fake as never, clock, onStoreError: 'fallback', fallback, notes: { flushMs: 1e9 } });
    const adaptive = adaptiveConfig({ successStep: 0.3, failureFactor: 0.5 });
    store.note('a', 'failure', adaptive);
    store.note('a', 'success', adaptive);
    await store.consume({ key: 'a', spec, cost: 1, adaptive });
    // The failed call carried them ('fs' first in its third ARGV)...
    expect(calls).toHaveLength(1);
    expect(String(calls[0]?.[7])).toMatch(/^fs /);
    store.note('a', 'neutral', adaptive);
    // ...and close records them, before the one noted since (here in the fallback: Redis is down).
    await store.close();
    for (const outcome of ['failure', 'success', 'neutral'] as const) reference.record('a', outcome, adaptive);
    expect(fallback.get('a')?.adaptive).toEqual(reference.get('a')?.adaptive);
    expect(fallback.get('a')?.adaptive).toMatchObject({ requests: 3, successes: 1, failures: 1 });
  });

  it('two failed decisions that never reached Redis give their outcomes back in the order noted', async () => {
    const fake = {
      isCluster: false as const,
      options: { enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false },
      scan: () => Promise.resolve(['0', []]),
      eval: () => Promise.reject(new Error('eval not expected')),
      evalsha: () => Promise.reject(new Error("Stream isn't writeable and enableOfflineQueue options is false")),
    };
    const clock = new ManualClock(START);
    const fallback = createMemoryStore({ clock });
    const reference = createMemoryStore({ clock });
    const store = createRedisStore({ client: fake as never, clock, onStoreError: 'fallback', fallback, probeIntervalMs: 1e9, notes: { flushMs: 1e9 } });
    const adaptive = adaptiveConfig({ successStep: 0.3, failureFactor: 0.5 });
    store.note('a', 'failure', adaptive);
    const first = store.consume({ key: 'a', spec, cost: 1, adaptive });
    store.note('a', 'success', adaptive);
    const second = store.consume({ key: 'a', spec, cost: 1, adaptive });
    await Promise.all([first, second]);
    await store.close();
    for (const outcome of ['failure', 'success'] as const) reference.record('a', outcome, adaptive);
    expect(fallback.get('a')?.adaptive).toEqual(reference.get('a')?.adaptive);
    expect(fallback.get('a')?.adaptive?.multiplier).toBeCloseTo(0.8, 9);
  });

  it('a decision that failed after Redis ran it drops its outcomes: never counted twice', async () => {
    // Forwards to Redis, then fails the reply of the first call (a connection dropped after the send).
    let failNext = true;
    const fake = {
      isCluster: false as const,
      options: { enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false },
      scan: () => Promise.resolve(['0', []]),
      eval: (...args: unknown[]) => (client.eval as (...a: unknown[]) => Promise<unknown>)(...args),
      evalsha: async (...args: unknown[]) => {
        const reply = await (client.evalsha as (...a: unknown[]) => Promise<unknown>)(...args);
        if (failNext) {
          failNext = false;
          throw new Error('Connection is closed.');
        }
        return reply;
      },
    };
    const clock = new ManualClock(START);
    const p = prefix();
    const store = createRedisStore({ client: fake as never, prefix: p, clock, onStoreError: 'fail-open', timeoutMs: 5000, probeIntervalMs: 1, notes: { flushMs: 1e9 } });
    const adaptive = adaptiveConfig({ successStep: 0.3, failureFactor: 0.5 });
    store.note('a', 'failure', adaptive);
    store.note('a', 'success', adaptive);
    await store.consume({ key: 'a', spec, cost: 1, adaptive });
    clock.advance(10);
    await store.close();
    const reader = createRedisStore({ client, prefix: p, clock, onStoreError: 'throw', timeoutMs: 5000 });
    expect((await reader.get('a'))?.adaptive).toMatchObject({ requests: 2, successes: 1, failures: 1 });
  });

  it('rejects a bad outcome and bad note options, naming them', () => {
    const store = createRedisStore({ client, prefix: prefix() });
    expect(() => store.note('a', 'maybe' as Outcome, adaptiveConfig())).toThrow(/outcome/);
    expect(() => store.note('a', 'toString' as Outcome, adaptiveConfig())).toThrow(/outcome/);
    expect(() => store.note(42 as unknown as string, 'success', adaptiveConfig())).toThrow(/key.*42/);
    expect(() => store.note('a', 'success', null as unknown as AdaptiveConfig)).toThrow(/adaptive.*null/);
    expect(() => store.note('a', 'success', 'yes' as unknown as AdaptiveConfig)).toThrow(/adaptive/);
    expect(() => store.note('a', 'success', { ...adaptiveConfig(), min: 'x' } as unknown as AdaptiveConfig)).toThrow(/adaptive\.min/);
    expect(() => createRedisStore({ client, notes: null as never })).toThrow(/notes.*null/);
    expect(() => createRedisStore({ client, notes: [] as never })).toThrow(/notes/);
    expect(() => createRedisStore({ client, notes: { maxKeys: 0 } })).toThrow(/notes\.maxKeys/);
    expect(() => createRedisStore({ client, notes: { perKey: 1.5 } })).toThrow(/notes\.perKey/);
    expect(() => createRedisStore({ client, notes: { flushMs: -1 } })).toThrow(/notes\.flushMs/);
  });
});

/**
 * In-process limiters under test, each behind one `decide(key)` call. A worker process holds
 * exactly one implementation, so its call sites stay monomorphic and no implementation's JIT
 * state leaks into another's numbers.
 */
import { TokenBucket } from 'limiter';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { createFloorBucket } from './floor.js';
import type { ConsumeRequest, StoreDecision } from '@micboard/limiter-core';
import { bucketSpec, loadEngine, loadMemoryStore, type EngineRequest, type EngineResult } from './ours.js';

/** `allow`: limits far above the load, every decision admits. `deny`: one key exhausted, every decision denies. */
export type Mode = 'allow' | 'deny';

export type InProcess =
  | { readonly sync: true; decide(key: string): boolean }
  | { readonly sync: false; decide(key: string): Promise<boolean> };

export type Created = { ok: true; impl: InProcess } | { ok: false; reason: string };

export const IN_PROCESS = ['floor', 'ours', 'rate-limiter-flexible', 'limiter'] as const;
/** Informational rows of the decisions table: our whole engine (classify, key, cost, adaptive, store). */
export const IN_PROCESS_EXTRA = ['ours-engine'] as const;
export type InProcessName = (typeof IN_PROCESS)[number] | (typeof IN_PROCESS_EXTRA)[number];

// `allow`: a bucket far larger than any run can drain, refilling slowly, so every decision
// admits and every client's state is a partly used bucket (as a busy client's is), never one that
// is full again and could be dropped. `deny`: one token that (practically) never comes back.
const ALLOW_CAPACITY = 1e9;
const ALLOW_REFILL_PER_SECOND = 1e-3;
const NEVER_PER_SECOND = 1e-9;

export { ALLOW_CAPACITY, ALLOW_REFILL_PER_SECOND };

export async function createInProcess(name: InProcessName, mode: Mode, expectedKeys: number): Promise<Created> {
  const capacity = mode === 'allow' ? ALLOW_CAPACITY : 1;
  const refill = mode === 'allow' ? ALLOW_REFILL_PER_SECOND : NEVER_PER_SECOND;
  switch (name) {
    case 'floor': {
      const floor = createFloorBucket(capacity, refill);
      return { ok: true, impl: { sync: true, decide: (key) => floor.take(key, 1) } };
    }
    case 'ours': {
      const loaded = await loadMemoryStore();
      if (!loaded.ok) return loaded;
      // maxKeys above the largest key count measured, so eviction never runs inside a measurement.
      const store = loaded.module.createMemoryStore({ maxKeys: Math.max(expectedKeys * 2, 10_000) });
      const spec = bucketSpec(capacity, refill);
      const probe = store.consume({ key: '\u0000probe', spec, cost: 1 });
      if (typeof (probe as { then?: unknown }).then === 'function') {
        return { ok: false, reason: 'memory store returned a promise; expected a synchronous decision' };
      }
      await store.reset('\u0000probe');
      // The memory store answers synchronously (MaybePromise's plain branch), checked just above.
      const consume = store.consume as (request: ConsumeRequest) => StoreDecision;
      return { ok: true, impl: { sync: true, decide: (key) => consume({ key, spec, cost: 1 }).allowed } };
    }
    case 'ours-engine': {
      const [engine, stores] = [await loadEngine(), await loadMemoryStore()];
      if (!engine.ok) return engine;
      if (!stores.ok) return stores;
      const profile = { capacity, refillPerSecond: refill, burst: 0 };
      const limiter = engine.module.createLimiter({
        store: stores.module.createMemoryStore({ maxKeys: Math.max(expectedKeys * 2, 10_000) }),
        profiles: { anonymous: profile, authenticated: profile, testing: profile, development: profile },
      });
      const probe = limiter.check({ method: 'GET', path: '/api/data', ip: '192.0.2.1', headers: {} });
      if (typeof (probe as { then?: unknown }).then === 'function') {
        return { ok: false, reason: 'engine on the memory store returned a promise; expected a synchronous result' };
      }
      const check = limiter.check as (request: EngineRequest) => EngineResult;
      const headers = {};
      // The key's address part is the client IP, so the engine's own key is `ip:<address>` again.
      return {
        ok: true,
        impl: { sync: true, decide: (key) => check({ method: 'GET', path: '/api/data', ip: key.slice(3), headers }).decision.allowed },
      };
    }
    case 'rate-limiter-flexible': {
      // A fixed window of an hour: `points` above the load admits all; 1 point denies after the first.
      const limiter = new RateLimiterMemory({ points: mode === 'allow' ? 1e15 : 1, duration: 3600 });
      const admitted = (): boolean => true;
      const refused = (): boolean => false;
      return { ok: true, impl: { sync: false, decide: (key) => limiter.consume(key, 1).then(admitted, refused) } };
    }
    case 'limiter': {
      // `limiter` has one bucket per instance; a Map of them is how it is used per client.
      const buckets = new Map<string, TokenBucket>();
      // One token per `interval` ms: the same refill rates as above.
      const interval = 1000 / refill;
      return {
        ok: true,
        impl: {
          sync: true,
          decide(key) {
            let bucket = buckets.get(key);
            if (bucket === undefined) {
              bucket = new TokenBucket({ bucketSize: capacity, tokensPerInterval: 1, interval });
              bucket.content = capacity; // a new client starts with a full bucket, as ours does
              buckets.set(key, bucket);
            }
            return bucket.tryRemoveTokens(1);
          },
        },
      };
    }
  }
}

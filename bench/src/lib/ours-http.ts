/**
 * Mounts our middleware on an Express or Koa app as a user would: `rateLimit()` from the
 * adapter package with its defaults (adaptive scoring on, legacy `X-RateLimit-*` headers on),
 * limits far above the load so every request is admitted, and the Redis store when asked.
 */
import { ALLOW_CAPACITY, ALLOW_REFILL_PER_SECOND } from './impls.js';
import { loadExpress, loadKoa, loadRedisStore, type Loaded } from './ours.js';

/** Our package for this variant is not there (yet): the variant is reported, not failed. */
export class Unavailable extends Error {
  override readonly name = 'Unavailable';
}

function need<T>(loaded: Loaded<T>): T {
  if (!loaded.ok) throw new Unavailable(loaded.reason);
  return loaded.module;
}

// Far above the load (see impls.ts for why the refill is slow): every request is admitted.
const HIGH_PROFILE = { capacity: ALLOW_CAPACITY, refillPerSecond: ALLOW_REFILL_PER_SECOND, burst: 0 };

export async function mountOurs(framework: 'express' | 'koa', app: { use(middleware: never): unknown }, redisClient: unknown): Promise<void> {
  const adapter = need(framework === 'express' ? await loadExpress() : await loadKoa());
  const rateLimit = adapter.rateLimit;
  if (typeof rateLimit !== 'function') {
    throw new Unavailable(`@micboard/limiter-${framework}: no rateLimit() among exports [${Object.keys(adapter).join(', ')}]`);
  }
  const options: Record<string, unknown> = {
    profiles: { anonymous: HIGH_PROFILE, authenticated: HIGH_PROFILE, testing: HIGH_PROFILE, development: HIGH_PROFILE },
  };
  // Default store options, except that a Redis failure must not be hidden behind the in-memory
  // fallback: the run counts Redis script calls per request to prove Redis answered.
  if (redisClient) options.store = need(await loadRedisStore()).createRedisStore({ client: redisClient, onStoreError: 'throw', timeoutMs: 10_000 });
  app.use((rateLimit as (options: Record<string, unknown>) => never)(options));
}

/**
 * Mounts our middleware (engine + store + adapter) on an Express or Koa app, configured as a
 * user would with headers on, and with limits far above the load.
 */
import { loadCore, loadExpress, loadKoa, loadMemoryStore, loadRedisStore, type Loaded } from './ours.js';

/** Our package for this variant is not there (yet): the variant is reported, not failed. */
export class Unavailable extends Error {
  override readonly name = 'Unavailable';
}

function need<T>(loaded: Loaded<T>): T {
  if (!loaded.ok) throw new Unavailable(loaded.reason);
  return loaded.module;
}

const HIGH_PROFILE = { capacity: 1e12, refillPerSecond: 1e12, burst: 0 };

/** Candidate factory names, until the adapters' public names are fixed. */
const FACTORIES = ['rateLimit', 'createRateLimit', 'rateLimiter', 'createRateLimiter', 'createMiddleware', 'limiterMiddleware'];

export async function mountOurs(framework: 'express' | 'koa', app: { use(middleware: unknown): unknown }, redisClient: unknown): Promise<void> {
  const core = need(await loadCore());
  const store = redisClient
    ? need(await loadRedisStore()).createRedisStore({ client: redisClient })
    : need(await loadMemoryStore()).createMemoryStore({ maxKeys: 100_000 });
  const createLimiter = core.createLimiter as (options: Record<string, unknown>) => unknown;
  const limiter = createLimiter({
    store,
    profiles: { anonymous: HIGH_PROFILE, authenticated: HIGH_PROFILE, testing: HIGH_PROFILE, development: HIGH_PROFILE },
  });
  const adapter = need(framework === 'express' ? await loadExpress() : await loadKoa());
  const name = FACTORIES.find((candidate) => typeof adapter[candidate] === 'function');
  if (!name) throw new Unavailable(`@micboard/limiter-${framework}: no middleware factory among exports [${Object.keys(adapter).join(', ')}]`);
  const factory = adapter[name] as (options: Record<string, unknown>) => unknown;
  app.use(factory({ limiter }));
}

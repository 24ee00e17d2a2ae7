/** Names of what is measured. Kept apart from the workers: importing a worker would run it. */

/**
 * Informational rows, not targets: `ours-local-time` is our store with the opt-in
 * `timeSource: 'local'` (the local clock plus the measured offset instead of Redis TIME);
 * `ours-unbatched` our store with `batchWrites: false` (one socket write per command, as the
 * peers and the bare call send); `bare-batched` the bare call with its writes batched as our
 * store batches its own, so the effect of batching alone can be read off it.
 */
export const REDIS_IMPLS = [
  'ours',
  'ours-local-time',
  'ours-unbatched',
  'bare-batched',
  'rate-limiter-flexible',
  'rate-limit-redis',
] as const;
export type RedisImplName = (typeof REDIS_IMPLS)[number];

export const HTTP_VARIANTS = [
  'express-none',
  'express-headers',
  'express-ours',
  'express-rate-limit',
  'express-headers-redis',
  'express-ours-redis',
  'express-rate-limit-redis',
  'koa-none',
  'koa-headers',
  'koa-ours',
  'koa-ratelimit',
] as const;
export type HttpVariant = (typeof HTTP_VARIANTS)[number];

/** Names of what is measured. Kept apart from the workers: importing a worker would run it. */

/**
 * `ours-local-time` is informational, not a target row: our store with the opt-in
 * `timeSource: 'local'` (the local clock plus the measured offset instead of Redis TIME).
 */
export const REDIS_IMPLS = ['ours', 'ours-local-time', 'rate-limiter-flexible', 'rate-limit-redis'] as const;
export type RedisImplName = (typeof REDIS_IMPLS)[number];

export const HTTP_VARIANTS = [
  'express-none',
  'express-headers',
  'express-ours',
  'express-rate-limit',
  'express-ours-redis',
  'express-rate-limit-redis',
  'koa-none',
  'koa-headers',
  'koa-ours',
  'koa-ratelimit',
] as const;
export type HttpVariant = (typeof HTTP_VARIANTS)[number];

import type { RequestHandler } from 'express';
import type { Clock } from '@micboard/limiter-core';
import { limit } from '@micboard/limiter-express';

/** The mock's own protection: at most `limit` API requests per `windowMs` per client address. */
export interface SelfLimitOptions {
  /** Requests per window per client address. @default 1000 */
  limit?: number;
  /** Window length in ms. @default 1000 */
  windowMs?: number;
}

/**
 * The mock protects itself with our own express middleware: one fixed-window counter per client
 * address over all of /api (a shared `name`, so every path counts against the same limit). The
 * default is far above what any client test sends, so only a test that asks for a small limit sees 429s.
 */
export function selfLimit(options: SelfLimitOptions, clock: Clock): RequestHandler {
  return limit({
    max: options.limit ?? 1000,
    window: options.windowMs ?? 1000,
    algorithm: 'fixed-window',
    by: 'ip',
    name: 'shure-mock /api',
    headers: 'draft',
    clock,
  });
}

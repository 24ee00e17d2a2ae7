import type { Request, Response, NextFunction, RequestHandler } from 'express';
import { fixedWindow, step } from '@micboard/limiter-core';
import type { Clock, FixedWindowSpec } from '@micboard/limiter-core';

/** The mock's own protection: at most `limit` API requests per `windowMs` per client address. */
export interface SelfLimitOptions {
  /** Requests per window per client address. @default 1000 */
  limit?: number;
  /** Window length in ms. @default 1000 */
  windowMs?: number;
}

/**
 * A tiny fixed-window limiter over core's pure `step`, standing in until `@micboard/limiter-express`
 * exists (TODO: swap in that middleware). State is a Map bounded by clearing it when it grows large;
 * losing counts on clear only ever lets a little more through, which is fine for a mock.
 */
export function selfLimit(options: SelfLimitOptions, clock: Clock): RequestHandler {
  const spec: FixedWindowSpec = fixedWindow({ limit: options.limit ?? 1000, window: options.windowMs ?? 1000 });
  const states = new Map<string, unknown>();
  return function mockSelfLimit(req: Request, res: Response, next: NextFunction): void {
    const key = req.socket.remoteAddress ?? 'unknown';
    if (states.size > 10_000) states.clear();
    const { decision, state } = step(spec, states.get(key), 1, clock.now());
    states.set(key, state);
    res.setHeader('RateLimit-Limit', String(decision.limit));
    res.setHeader('RateLimit-Remaining', String(decision.remaining));
    if (decision.allowed) {
      next();
      return;
    }
    res.setHeader('Retry-After', String(Math.max(1, Math.ceil(decision.retryAfter / 1000))));
    res.status(429).json({ error: 'Rate limit exceeded', retry_after: Math.ceil(decision.retryAfter / 1000) });
  };
}

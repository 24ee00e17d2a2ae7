import type { HeaderStyle, LimitedBody, RateLimitHeadersOptions, UserType } from '../policy/index.js';
import { limitedBody, rateLimitHeaders } from '../policy/index.js';
import type { Decision } from '../types.js';
import type { HttpVerdict } from './types.js';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Seconds for `Retry-After`: whole seconds, rounded up, at least 1 on a denial. */
export function retryAfterSeconds(decision: Pick<Decision, 'retryAfter'>): number {
  return Math.max(1, Math.ceil(decision.retryAfter / 1000));
}

/** How to word a decision: header style, the store's time, and the limit's window if it has one. */
export interface VerdictContext {
  readonly style: HeaderStyle;
  /** The store's time in ms (decisions are in store time). */
  readonly now: number;
  readonly userType?: UserType | undefined;
  /** The window of a windowed limit, in seconds, for the body's detail and the draft policy. */
  readonly windowSeconds?: number | undefined;
}

/**
 * Builds the adapter's instructions from a decision: the one place headers and the 429 body are
 * decided for both frameworks.
 *
 * @example
 * const verdict = verdictOf(decision, { style: 'both', now: store.now(), windowSeconds: 60 }, undefined);
 * if (!verdict.allowed) res.status(verdict.status).set(verdict.headers).json(verdict.body);
 */
export function verdictOf(decision: Decision, context: VerdictContext, recordKey: string | undefined): HttpVerdict {
  if (decision.allowed) {
    const headers = context.style === 'none' ? NO_HEADERS : rateLimitHeaders(decision, headerOptions(context));
    return { allowed: true, status: 200, headers, body: undefined, recordKey };
  }
  // rateLimitHeaders adds Retry-After to every denial, whatever the style.
  const headers = rateLimitHeaders(decision, headerOptions(context));
  const body: LimitedBody =
    context.windowSeconds === undefined
      ? limitedBody(decision)
      : limitedBody(decision, { windowSeconds: context.windowSeconds });
  return { allowed: false, status: 429, headers, body, recordKey };
}

function headerOptions(context: VerdictContext): RateLimitHeadersOptions {
  const { style, now, userType, windowSeconds } = context;
  if (userType === undefined) return windowSeconds === undefined ? { style, now } : { style, now, windowSeconds };
  return windowSeconds === undefined ? { style, now, userType } : { style, now, userType, windowSeconds };
}

/** The answer when the store is down and the limiter fails closed. */
export function unavailableVerdict(): HttpVerdict {
  return {
    allowed: false,
    status: 503,
    headers: { 'Retry-After': '1' },
    body: {
      error: 'Rate limiter unavailable',
      detail: 'The rate-limit store is not answering; try again shortly',
      retry_after: 1,
    },
    recordKey: undefined,
  };
}

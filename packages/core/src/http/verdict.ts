import type { HeaderStyle, LimitedBody, RateLimitHeadersOptions, UserType } from '../policy/index.js';
import { limitedBody, rateLimitHeaders } from '../policy/index.js';
import { headerDigits } from '../policy/digits.js';
import type { Decision } from '../types.js';
import type { HttpVerdict } from './types.js';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * The verdict's header names as the adapters send them: in lower case. Header names are
 * case-insensitive (HTTP/2 sends nothing else), and node copies every name it is given into lower
 * case to index it, which a name already in lower case spares: about 65 ns a header (measured).
 * Null prototype: a name is looked up here, never inherited.
 */
const WIRE_NAMES: Readonly<Record<string, string | undefined>> = Object.assign(Object.create(null) as Record<string, string>, {
  'X-RateLimit-Limit': 'x-ratelimit-limit',
  'X-RateLimit-Remaining': 'x-ratelimit-remaining',
  'X-RateLimit-Reset': 'x-ratelimit-reset',
  'X-RateLimit-UserType': 'x-ratelimit-usertype',
  RateLimit: 'ratelimit',
  'RateLimit-Policy': 'ratelimit-policy',
  'Retry-After': 'retry-after',
});

/**
 * A verdict header's name as it goes on the wire: lower case for the names the limiter sends,
 * any other name unchanged (node lower-cases it for its index anyway).
 *
 * @example res.setHeader(wireHeaderName('X-RateLimit-Remaining'), '59') // sends x-ratelimit-remaining: 59
 */
export function wireHeaderName(name: string): string {
  return WIRE_NAMES[name] ?? name;
}

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

/**
 * Words an admitted decision: `verdictOf(decision, { style, now, userType, windowSeconds }, recordKey)`
 * with the context passed flat, so the hot path builds no context object.
 */
export type AdmittedVerdict = (
  decision: Decision,
  now: number,
  userType: UserType | undefined,
  windowSeconds: number | undefined,
  recordKey: string | undefined,
) => HttpVerdict;

/**
 * Builds the verdicts of admitted requests for one header style: the same verdict {@link verdictOf}
 * gives, made for the path every admitted request takes. For the default legacy style the headers
 * come from one object literal rather than through `rateLimitHeaders`, and the limit, reset and
 * user-type strings are reused while their numbers stay the same (from one request to the next
 * they often do). The other styles go through `verdictOf`. A property test pins the output to
 * `verdictOf`'s.
 *
 * @example
 * const admitted = admittedVerdicts('legacy');
 * const verdict = admitted(decision, 0, 'anonymous', undefined, 'ip:203.0.113.9');
 */
export function admittedVerdicts(style: HeaderStyle): AdmittedVerdict {
  if (style === 'none') {
    return (_decision, _now, _userType, _windowSeconds, recordKey) => ({
      allowed: true,
      status: 200,
      headers: NO_HEADERS,
      body: undefined,
      recordKey,
    });
  }
  if (style !== 'legacy') {
    return (decision, now, userType, windowSeconds, recordKey) =>
      verdictOf(decision, { style, now, userType, windowSeconds }, recordKey);
  }
  let limit = Number.NaN;
  let limitText = '0';
  let resetSeconds = Number.NaN;
  let resetText = '0';
  let lastUserType: string | undefined;
  let userTypeText = '';
  return (decision, _now, userType, _windowSeconds, recordKey) => {
    if (decision.limit !== limit) {
      limit = decision.limit;
      limitText = headerDigits(limit);
    }
    const reset = Math.ceil(decision.resetAt / 1000);
    if (reset !== resetSeconds) {
      resetSeconds = reset;
      resetText = headerDigits(reset);
    }
    const remaining = headerDigits(decision.remaining);
    if (userType === undefined) {
      const headers = { 'X-RateLimit-Limit': limitText, 'X-RateLimit-Remaining': remaining, 'X-RateLimit-Reset': resetText };
      return { allowed: true, status: 200, headers, body: undefined, recordKey };
    }
    if (userType !== lastUserType) {
      lastUserType = userType;
      // As the policy's token(): visible ASCII only, so a header value can never be malformed.
      userTypeText = userType.replace(/[^\x21-\x7e]/g, '');
    }
    const headers = {
      'X-RateLimit-Limit': limitText,
      'X-RateLimit-Remaining': remaining,
      'X-RateLimit-Reset': resetText,
      'X-RateLimit-UserType': userTypeText,
    };
    return { allowed: true, status: 200, headers, body: undefined, recordKey };
  };
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

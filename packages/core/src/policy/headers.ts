/**
 * Rate-limit response headers and the 429 body. Runs on every request, so it builds one small
 * object and does no parsing; numbers are formatted as plain ASCII digits whatever the decision
 * holds (NaN, negatives and huge values included), so a header can never be malformed.
 */
import { headerDigits } from './digits.js';
import { invalidOption } from '../errors.js';
import type { Decision } from '../types.js';

/**
 * Which rate-limit headers to send:
 * - `'legacy'`: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix seconds),
 *   `X-RateLimit-UserType` (the seed's set, which most clients read);
 * - `'draft'`: `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10);
 * - `'both'`: all of them; `'none'`: none of them.
 *
 * `Retry-After` is not a rate-limit header but plain HTTP (RFC 9110) for a 429: it is sent on every
 * denial whatever the style, `'none'` included.
 */
export type HeaderStyle = 'legacy' | 'draft' | 'both' | 'none';

/** Options of {@link rateLimitHeaders}. */
export interface RateLimitHeadersOptions {
  /** Which headers to send (required: the caller's configuration decides). */
  readonly style: HeaderStyle;
  /** The time the decision was made at, in ms since the epoch (for the draft's `t`). */
  readonly now: number;
  /** Sent as `X-RateLimit-UserType` (legacy style), e.g. `'authenticated'`. @default undefined (not sent) */
  readonly userType?: string;
  /** The policy name in the draft headers (quoted as a structured-field string). @default 'default' */
  readonly policy?: string;
  /** The policy's window in seconds (rounded up), sent as the draft's `w` parameter. @default undefined (no `w`) */
  readonly windowSeconds?: number;
}

/** Options of {@link limitedBody}. */
export interface LimitedBodyOptions {
  /** The limit to state in `detail`, in requests. @default decision.limit */
  readonly limit?: number;
  /** The window to state in `detail`, in seconds. @default undefined (the detail states the wait instead) */
  readonly windowSeconds?: number;
}

/** The JSON body of a 429 response (the shape micboard's clients already parse). */
export interface LimitedBody {
  /** Always `'Rate limit exceeded'`. */
  readonly error: string;
  /** A sentence for humans, e.g. `'Maximum 120 requests per 60 seconds'`. */
  readonly detail: string;
  /** Whole seconds to wait, >= 1 (same as the `Retry-After` header). */
  readonly retry_after: number;
}

const MAX_DIGITS = Number.MAX_SAFE_INTEGER;

/** Whole seconds to wait: ceil(ms / 1000), at least 1 (a 0 would invite an immediate retry). */
function retrySeconds(ms: number): number {
  const s = Math.ceil(ms / 1000);
  if (!(s >= 1)) return 1;
  return s >= MAX_DIGITS ? MAX_DIGITS : s;
}

let lastPolicy = 'default';
let lastQuoted = '"default"';

/** A structured-field string: printable ASCII only, with `\` and `"` escaped. Memoised: the name rarely changes. */
function sfString(text: string): string {
  if (text === lastPolicy) return lastQuoted;
  const quoted = `"${text.replace(/[^\x20-\x7e]/g, '').replace(/[\\"]/g, '\\$&')}"`;
  lastPolicy = text;
  lastQuoted = quoted;
  return quoted;
}

/** A header value made safe to send: visible ASCII only (a CR/LF would make Node throw). */
function token(text: string): string {
  return /^[\x21-\x7e]*$/.test(text) ? text : text.replace(/[^\x21-\x7e]/g, '');
}

/**
 * The rate-limit headers for a decision.
 *
 * Legacy: `X-RateLimit-Limit` = `limit`; `X-RateLimit-Remaining` = `remaining` (floored, never
 * negative); `X-RateLimit-Reset` = `ceil(resetAt / 1000)` (Unix seconds); `X-RateLimit-UserType`
 * when `userType` is given.
 * Draft: `RateLimit-Policy: "<policy>";q=<limit>[;w=<windowSeconds>]` and
 * `RateLimit: "<policy>";r=<remaining>;t=<ceil((resetAt - now) / 1000), at least 0>`.
 * Denied (any style): `Retry-After` = `ceil(retryAfter / 1000)`, at least 1.
 *
 * @throws LimiterError `INVALID_OPTION` for an unknown `style`.
 * @example
 * res.set(rateLimitHeaders(decision, { style: 'both', now: clock.now(), userType: 'anonymous', windowSeconds: 60 }));
 */
export function rateLimitHeaders(decision: Decision, options: RateLimitHeadersOptions): Record<string, string> {
  const style = options.style;
  const headers: Record<string, string> = {};
  let legacy = false;
  let draft = false;
  switch (style) {
    case 'legacy':
      legacy = true;
      break;
    case 'draft':
      draft = true;
      break;
    case 'both':
      legacy = true;
      draft = true;
      break;
    case 'none':
      break;
    default:
      throw invalidOption('headers', style, 'one of "legacy", "draft", "both", "none"');
  }
  const remaining = headerDigits(decision.remaining);
  if (legacy) {
    headers['X-RateLimit-Limit'] = headerDigits(decision.limit);
    headers['X-RateLimit-Remaining'] = remaining;
    headers['X-RateLimit-Reset'] = headerDigits(Math.ceil(decision.resetAt / 1000));
    if (options.userType !== undefined) headers['X-RateLimit-UserType'] = token(options.userType);
  }
  if (draft) {
    const name = sfString(options.policy ?? 'default');
    const w = options.windowSeconds;
    headers['RateLimit-Policy'] =
      w === undefined ? `${name};q=${headerDigits(decision.limit)}` : `${name};q=${headerDigits(decision.limit)};w=${headerDigits(Math.ceil(w))}`;
    headers['RateLimit'] = `${name};r=${remaining};t=${headerDigits(Math.ceil((decision.resetAt - options.now) / 1000))}`;
  }
  if (!decision.allowed) headers['Retry-After'] = String(retrySeconds(decision.retryAfter));
  return headers;
}

function plural(n: number, unit: string): string {
  return n === 1 ? `1 ${unit}` : `${n} ${unit}s`;
}

/**
 * The 429 body, as the seed sends it:
 * `{ error: 'Rate limit exceeded', detail: 'Maximum 120 requests per 60 seconds', retry_after: 45 }`.
 * Without `windowSeconds` the detail states the wait (`'Maximum 60 requests; try again in 3
 * seconds'`); for a request costing more than the limit can ever hold it says so.
 * @example
 * res.status(429).json(limitedBody(decision, { limit: 120, windowSeconds: 60 }));
 */
export function limitedBody(decision: Decision, options: LimitedBodyOptions = {}): LimitedBody {
  const retry = retrySeconds(decision.retryAfter);
  const count = headerDigits(options.limit ?? decision.limit);
  const limit = count === '1' ? '1 request' : `${count} requests`;
  const w = options.windowSeconds;
  const window = w !== undefined && Number.isFinite(w) && w > 0 ? ` per ${plural(w, 'second')}` : undefined;
  let detail: string;
  if (decision.exceedsLimit) {
    detail = `This request costs more than the limit of ${limit}${window ?? ''} allows`;
  } else if (window !== undefined) {
    detail = `Maximum ${limit}${window}`;
  } else {
    detail = `Maximum ${limit}; try again in ${plural(retry, 'second')}`;
  }
  return { error: 'Rate limit exceeded', detail, retry_after: retry };
}

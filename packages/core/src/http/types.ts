import type { LimiterRequest } from '../engine/index.js';
import type { HeaderStyle, LimitedBody, UserType } from '../policy/index.js';
import type { MaybePromise } from '../types.js';

/**
 * A request as the HTTP layer sees it: plain data the adapter copied from its framework.
 * Nothing here is trusted blindly: `ip` is what the framework resolved under its own
 * trusted-proxy setting, and headers are only read, never believed for identity.
 */
export interface HttpRequest extends LimiterRequest {
  /** The matched route pattern (e.g. `'/api/items/:id'`), when the framework knows it. */
  readonly route?: string | undefined;
  /** Whether the framework trusts a proxy in front of it (express `trust proxy`, koa `app.proxy`). */
  readonly trustProxy?: boolean;
}

/**
 * What an adapter must do with a request: let it through (after setting `headers`), or answer
 * it with `status`, `headers` and the JSON `body`.
 */
export interface HttpVerdict {
  readonly allowed: boolean;
  /** 429 when limited, 503 when the store is down and the limiter fails closed; 200 when allowed. */
  readonly status: number;
  /** Headers to set in either case (rate-limit headers; `Retry-After` on a denial). */
  readonly headers: Readonly<Record<string, string>>;
  /** The JSON body to answer with when not allowed. */
  readonly body: LimitedBody | undefined;
  /**
   * The client key whose adaptive score the response status should feed, once the response is
   * finished (see `finish`). Undefined when nothing should be recorded.
   */
  readonly recordKey: string | undefined;
}

/** What `onDecision` receives for every decided request: enough to feed metrics. */
export interface DecisionEvent {
  /** `'global'` for the adaptive middleware, or the route limit's id. */
  readonly limiter: string;
  /** The matched route pattern, or the path when the framework gave no pattern. */
  readonly route: string;
  readonly method: string;
  /** The client key, or undefined when the store failed before one was decided. */
  readonly key: string | undefined;
  readonly userType: UserType | undefined;
  readonly allowed: boolean;
  readonly cost: number;
  /** The limit in force (adaptive multiplier applied), or undefined on a store error. */
  readonly limit: number | undefined;
  readonly remaining: number | undefined;
  /** How long the store took to answer, in ms. */
  readonly storeLatencyMs: number;
  /** The store's error when it failed; the request then went through (fail open) or got 503. */
  readonly storeError: unknown;
}

/** Hooks and behaviour shared by the global middleware and per-route limits. `R` is the framework's request. */
export interface HttpHooks<R> {
  /** Requests for which this returns true are not counted and get no headers. @default none */
  readonly skip?: (request: R) => MaybePromise<boolean>;
  /** Client addresses or CIDR ranges that are never limited, e.g. `['10.0.0.0/8', '::1']`. @default [] */
  readonly allowList?: readonly string[];
  /**
   * Called when a request is denied, before the 429 is written. For logging or metrics; the
   * response is written by the middleware. A throw or rejection is logged, never propagated.
   * @default none
   */
  readonly onLimited?: (request: R, event: DecisionEvent) => void;
  /** Called for every decided request (allowed or not), e.g. to feed Prometheus. @default none */
  readonly onDecision?: (event: DecisionEvent) => void;
  /**
   * Which rate-limit headers to send: seed 2's `X-RateLimit-*` (`'legacy'`), the IETF draft's
   * `RateLimit`/`RateLimit-Policy` (`'draft'`), `'both'` or `'none'`. `Retry-After` is always sent on a 429.
   * @default 'legacy'
   */
  readonly headers?: HeaderStyle;
  /**
   * When the store fails: `'open'` lets the request through (and logs), `'closed'` answers 503.
   * @default 'open'
   */
  readonly failMode?: 'open' | 'closed';
}

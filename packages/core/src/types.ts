/**
 * The shared vocabulary of @micboard/limiter: decisions, limit specs, adaptive config and the
 * `Store` contract. Everything here is data; the algorithms live beside it as pure functions.
 */

/** A value, or a promise of it: a memory store answers synchronously and pays for no promise. */
export type MaybePromise<T> = T | Promise<T>;

/** The answer to "may this request go?". */
export interface Decision {
  /** Whether the request was admitted (and its cost taken). */
  readonly allowed: boolean;
  /** The most this limit admits at once, in whole units (for a bucket: floor(capacity + burst)). */
  readonly limit: number;
  /** Whole units left after this decision, in [0, limit]. */
  readonly remaining: number;
  /** When the limit is fully restored (bucket full, window clear), in ms since the epoch. */
  readonly resetAt: number;
  /**
   * How long to wait before the same request would be admitted, in ms: 0 exactly when allowed,
   * greater than 0 when denied.
   */
  readonly retryAfter: number;
  /**
   * True when the cost is larger than the limit can ever hold: the request is denied, nothing is
   * taken, and `retryAfter` is the time until the limit is fully restored (waiting will not help,
   * but it tells a well-behaved client to back off rather than hammer).
   */
  readonly exceedsLimit: boolean;
}

/**
 * Token bucket. The bucket holds at most `capacity + burst` tokens and a new client starts full.
 * It refills continuously at `refillPerSecond`. `capacity` is the sustained budget a profile is
 * sized by; `burst` is headroom above it, so a client that has been idle may spend
 * `capacity + burst` at once, and at most `capacity + burst + refillPerSecond * t` in any
 * interval of `t` seconds.
 */
export interface TokenBucketSpec {
  readonly algorithm: 'token-bucket';
  /** Tokens of sustained budget. Must be > 0. */
  readonly capacity: number;
  /** Tokens added per second, fractional allowed. Must be > 0. */
  readonly refillPerSecond: number;
  /** Extra tokens of headroom above `capacity`. Must be >= 0. @default 0 */
  readonly burst: number;
}

/** GCRA: the same admission as {@link TokenBucketSpec}, held as one number (the theoretical arrival time). */
export interface GcraSpec {
  readonly algorithm: 'gcra';
  /** Tokens of sustained budget. Must be > 0. */
  readonly capacity: number;
  /** Tokens added per second, fractional allowed. Must be > 0. */
  readonly refillPerSecond: number;
  /** Extra tokens of headroom above `capacity`. Must be >= 0. @default 0 */
  readonly burst: number;
}

/** Sliding window: at most `limit` units in any window of `windowMs`. */
export interface SlidingWindowSpec {
  readonly algorithm: 'sliding-window';
  /** Units admitted per window. Integer >= 1. */
  readonly limit: number;
  /** Window length in ms: a whole number, at least 1. */
  readonly windowMs: number;
  /** `exact`: a log of timestamps; `approximate`: two weighted fixed-window counters, O(1) state. */
  readonly precision: 'exact' | 'approximate';
}

/** Fixed window: at most `limit` units per window aligned to multiples of `windowMs` since the epoch. */
export interface FixedWindowSpec {
  readonly algorithm: 'fixed-window';
  /** Units admitted per window. Integer >= 1. */
  readonly limit: number;
  /** Window length in ms: a whole number, at least 1. */
  readonly windowMs: number;
}

/** Any limit a store can execute. Specs are plain data so a Redis script can take them as arguments. */
export type LimitSpec = TokenBucketSpec | GcraSpec | SlidingWindowSpec | FixedWindowSpec;

/** The rate-shaped specs, which also support reservations (outgoing throttles). */
export type RateSpec = TokenBucketSpec | GcraSpec;

/** What a pure algorithm step returns: the decision and the state to keep. */
export interface StepResult<S> {
  readonly decision: Decision;
  readonly state: S;
}

/** The answer to "when may this call go?", for outgoing throttles. */
export interface Reservation {
  /** False when the wait would exceed `maxWaitMs`; then nothing was reserved. */
  readonly granted: boolean;
  /** How long to wait before going, in ms (0 = now). When not granted: the wait it would have needed. */
  readonly delayMs: number;
}

/** How a finished response counts for a client's adaptive score. */
export type Outcome = 'success' | 'failure' | 'neutral';

/** Adaptive scoring: a per-client multiplier in [min, max] applied to its limits. */
export interface AdaptiveConfig {
  /** Lowest multiplier. @default 0.1 */
  readonly min: number;
  /** Highest multiplier. @default 2 */
  readonly max: number;
  /** Added to the multiplier per successful response (2xx/3xx). @default 0.02 */
  readonly successStep: number;
  /** The multiplier is multiplied by this per failure (401/403/404/429 by default). @default 0.9 */
  readonly failureFactor: number;
  /** Statuses that count as the client's failure. @default [400, 401, 403, 404, 405, 422, 429] */
  readonly failureStatuses: readonly number[];
  /** Half-life in ms of the drift of an idle client's multiplier back toward 1. @default 600_000 (10 min) */
  readonly idleHalfLifeMs: number;
  /** A client is long-standing after this long since first seen, in ms. @default 86_400_000 (24 h) */
  readonly longTermAfterMs: number;
  /** ...and at least this many requests. @default 100 */
  readonly longTermMinRequests: number;
  /** Long-standing clients' multiplier is multiplied by this (then clamped to max). @default 1.1 */
  readonly longTermBonus: number;
}

/** A client's adaptive score as kept by a store. */
export interface AdaptiveState {
  /** Stored multiplier as of `lastSeen` (before idle drift and long-term bonus). */
  readonly multiplier: number;
  readonly firstSeen: number;
  /** Time of the last scored outcome (success or failure); neutral outcomes leave it alone. */
  readonly lastSeen: number;
  /** Every recorded outcome, neutral ones included. */
  readonly requests: number;
  readonly successes: number;
  readonly failures: number;
}

/** One consume against a store. */
export interface ConsumeRequest {
  /** The client: adaptive score and admin operations (get, reset, list) are per client key. */
  readonly key: string;
  /** Which of the client's limits this is (a client may have one per route). @default 'default' */
  readonly limitId?: string;
  readonly spec: LimitSpec;
  /** Units this request costs; > 0. */
  readonly cost: number;
  /** When set, the spec is scaled by the client's multiplier, read in the same atomic step. */
  readonly adaptive?: AdaptiveConfig;
}

/** A refund: what an allowed consume took, and which decision took it. */
export interface RefundRequest extends ConsumeRequest {
  /**
   * The `resetAt` of the allowed decision that took `cost`. Windows need it to give back to the
   * window or log entry that took the cost rather than to one a later request of the same client
   * took from in the meantime (any request whose consume and refund are not one synchronous step:
   * a remote store, or limits in separate middlewares). Without it a window refund takes back
   * from the current window or the newest log entries. See core's `refundStep`.
   */
  readonly takenResetAt?: number;
}

/** A store's decision: the algorithm's, plus the multiplier that was applied. */
export interface StoreDecision extends Decision {
  /** The effective adaptive multiplier used (1 when `adaptive` was not given). */
  readonly multiplier: number;
}

/** What the admin API shows of a client. */
export interface ClientSnapshot {
  readonly key: string;
  /** Effective multiplier now (idle drift and long-term bonus applied); 1 with no score. */
  readonly multiplier: number;
  readonly adaptive: AdaptiveState | undefined;
  /** Per limit id: the limit as of the last decision, restored to now where the store can. */
  readonly limits: Readonly<Record<string, { readonly limit: number; readonly remaining: number; readonly resetAt: number }>>;
  /** Last activity, ms since the epoch. */
  readonly lastSeen: number;
}

/** Runtime configuration shared by every instance on one store (profiles, endpoint costs). */
export interface SharedConfig {
  /** Increases on every write; instances compare it to know when to reload. */
  readonly version: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * Where limiter state lives. Each method is one atomic step inside the store. A memory store
 * answers synchronously; a Redis store with a promise. Time is the store's own (an injected clock
 * for memory, Redis `TIME` for Redis), so every instance on one store shares one clock.
 */
export interface Store {
  /** A short name for logs and metrics, e.g. `'memory'`, `'redis'`. */
  readonly name: string;
  /** Reads the client's multiplier (if adaptive), scales the spec, runs the algorithm step, persists. */
  consume(request: ConsumeRequest): MaybePromise<StoreDecision>;
  /**
   * Gives back `cost` taken by an allowed consume (used when a later limit of the same request
   * denies). Pass the decision's `resetAt` as `takenResetAt`: see {@link RefundRequest}.
   */
  refund(request: RefundRequest): MaybePromise<void>;
  /** Reserves `cost` of a rate spec: when may this call go? Denied (nothing taken) above `maxWaitMs`. */
  reserve(key: string, spec: RateSpec, cost: number, maxWaitMs: number): MaybePromise<Reservation>;
  /** Feeds a finished response into the client's adaptive score; returns the new effective multiplier. */
  record(key: string, outcome: Outcome, adaptive: AdaptiveConfig): MaybePromise<number>;
  /**
   * Optional: `record` without waiting for it. The store may hold the outcome and apply it with
   * the client's next adaptive `consume` (one round trip for both on a remote store), or on its
   * own soon after; it applies pending outcomes before `get`, `reset` and `close` answer. The
   * HTTP layer uses it when present, since it never reads what `record` returns.
   */
  note?(key: string, outcome: Outcome, adaptive: AdaptiveConfig): void;
  /** One client's state, or undefined if the store has none. */
  get(key: string): MaybePromise<ClientSnapshot | undefined>;
  /** Forgets a client (all its limits and its score). Returns whether there was anything. */
  reset(key: string): MaybePromise<boolean>;
  /**
   * A bounded page of clients; pass the returned cursor back for the next page (undefined = done).
   * `limit` is the page size in clients (a hint for Redis, whose SCAN may return a few more). @default 100
   */
  list(options?: { cursor?: string; limit?: number }): MaybePromise<{ clients: ClientSnapshot[]; cursor: string | undefined }>;
  /** Removes clients inactive for at least `inactiveMs`; returns how many. */
  cleanup(inactiveMs: number): MaybePromise<number>;
  /** Reads the shared runtime config. */
  getConfig(): MaybePromise<SharedConfig | undefined>;
  /**
   * Replaces the shared runtime config; returns the new version (versions start at 1). With
   * `ifVersion`, writes only while the stored version is still that one (0: none stored yet) and
   * returns 0, writing nothing, when another write came first: a read-modify-write by one instance
   * then never undoes another's change.
   */
  setConfig(data: Readonly<Record<string, unknown>>, options?: { readonly ifVersion?: number }): MaybePromise<number>;
  /** The store's current time in ms (memory: its clock; Redis: may be approximate, from last TIME). */
  now?(): number;
  /** Releases timers/connections the store owns (never the user's Redis client). */
  close?(): MaybePromise<void>;
}

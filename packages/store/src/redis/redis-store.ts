import { DEFAULT_ADAPTIVE, LimiterError, checkAdaptiveConfig, checkClock, checkLogger, checkTakenResetAt, effectiveMultiplier, gcraStep, inspect, invalidOption, scaleSpec, silentLogger, validateSpec } from '@micboard/limiter-core';
import type {
  AdaptiveConfig,
  AdaptiveState,
  ClientSnapshot,
  Clock,
  ConsumeRequest,
  LimitSpec,
  Logger,
  Outcome,
  RateSpec,
  RefundRequest,
  Reservation,
  SharedConfig,
  Store,
  StoreDecision,
} from '@micboard/limiter-core';
import { createMemoryStore } from '../memory/memory-store.js';
import { BlockedCache } from './blocked-cache.js';
import {
  isNoScript,
  runScript,
  warnRiskyOptions,
  writeBatcher,
  type LuaScript,
  type RedisArg,
  type RedisClientLike,
  type Scanner,
  type ScriptCaller,
} from './client.js';
import { Breaker, Deadlines, storeError, UnreadableReply } from './guard.js';
import { KeyLayout } from './keys.js';
import { SCRIPTS } from './scripts.js';
import { checkIfVersion } from '../config-version.js';

/** What the store does with a decision when Redis fails or times out. */
export type StoreErrorMode = 'fail-open' | 'fail-closed' | 'fallback' | 'throw';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster`. The store never closes it. Recommended options (see the
   * README): `enableOfflineQueue: false`, `maxRetriesPerRequest: 1`,
   * `autoResendUnfulfilledCommands: false`, and a `retryStrategy` that reconnects within ~200 ms.
   * The store warns through `logger` at construction when these are risky.
   */
  readonly client: RedisClientLike;
  /** Prepended to every key; must not contain `{` or `}`. @default 'rl:' */
  readonly prefix?: string;
  /**
   * Longest wait for Redis per call, in ms; then the call counts as failed and `onStoreError`
   * answers it. Redis answers a decision in well under 1 ms on a healthy network, so 100 ms is
   * an outage, not a slow request, and it bounds the latency an outage adds to a request (one
   * shared timer sweeps the deadlines, so a call fails up to `timeoutMs / 8` after it).
   * At most 2^31 - 1 (what a timer can wait).
   * @default 100
   */
  readonly timeoutMs?: number;
  /**
   * When Redis fails or times out: `'fail-open'` admits, `'fail-closed'` denies (retry after
   * `failClosedRetryMs`), `'fallback'` answers from an in-memory limiter in this process (per
   * instance limits, logged once per outage), `'throw'` rejects with a `LimiterError`
   * (`STORE_ERROR` / `STORE_TIMEOUT`). Admin calls always reject.
   * @default 'fallback'
   */
  readonly onStoreError?: StoreErrorMode;
  /** The store `'fallback'` answers from. @default createMemoryStore({ logger }) */
  readonly fallback?: Store;
  /** `retryAfter` of a fail-closed denial, in ms. @default 1000 */
  readonly failClosedRetryMs?: number;
  /**
   * During an outage, how often one call probes Redis, in ms; the others are answered by
   * `onStoreError` at once instead of each waiting `timeoutMs`.
   * @default 250
   */
  readonly probeIntervalMs?: number;
  /**
   * Cache denials in this process until the client's retry time, so a client over its limit is
   * answered without a Redis call. `true` for the default size, or `{ maxKeys }`.
   * @default false
   */
  readonly blockedCache?: boolean | { readonly maxKeys?: number };
  /** How long an idle client's adaptive score is kept, in ms. @default 604_800_000 (7 days) */
  readonly scoreTtlMs?: number;
  /** Where the store logs (outages, risky client options). @default silentLogger */
  readonly logger?: Logger;
  /**
   * Outcomes given to {@link RedisStore.note} wait in this process for the client's next
   * adaptive token-bucket or GCRA decision, which applies them in the same round trip. At most
   * `maxKeys` clients hold some (the oldest is written when one more comes); a client with
   * `perKey` waiting has them written at once; every `flushMs` ms what still waits is written
   * (pipelined record calls), and so on `close()`. Many connections behind one address (a NAT,
   * a proxy, a load test) share one client key, and several of their responses finish between
   * two of its decisions: `perKey` leaves room for them, since writing them apart costs a
   * script call each.
   * @default { maxKeys: 10_000, perKey: 64, flushMs: 1000 }
   */
  readonly notes?: { readonly maxKeys?: number; readonly perKey?: number; readonly flushMs?: number };
  /**
   * TESTS ONLY: pass this clock's time into the scripts instead of Redis `TIME`. In production
   * leave it unset: Redis time is what lets instances with skewed clocks share one budget. With
   * `timeSource: 'local'` it is the local clock instead: every script gets its time corrected to
   * Redis time as a consume's local time is (so the time steps when the offset is measured), and
   * TTLs are not padded (a test holding this clock still for over a minute may see states expire).
   * @default undefined (Redis `TIME`)
   */
  readonly clock?: Clock;
  /**
   * Where a token-bucket or GCRA consume takes its time. `'redis'` reads Redis `TIME` in the
   * consume's script, so every instance on one Redis decides on one clock. `'local'` saves that
   * command (about 1 µs of Redis CPU per decision, which matters when Redis is the bottleneck):
   * the time is this process's monotonic clock (`performance.now()`, which no wall-clock step
   * moves) plus its offset to Redis time, which a consume that reads Redis `TIME` measures at
   * least every `timeSyncMs`; until a measurement has come back (at first, and while one is in
   * flight) consumes read `TIME`.
   *
   * The trade-off: instances no longer share one clock exactly. Each is off Redis time by its
   * offset's error: the time between the measuring script's run and this process handling its
   * reply (a round trip and the event loop's lag), plus the drift between its clock and Redis's
   * since then (Redis's own clock may be stepped, e.g. by NTP: that reaches this process at its
   * next measurement). A client whose
   * decisions land on several instances sees time step back and forth by that much: its bucket
   * refills a little early or late, by milliseconds on a healthy network. Other operations
   * (refund, reserve, windows, record, admin) keep Redis `TIME`.
   * @default 'redis'
   */
  readonly timeSource?: 'redis' | 'local';
  /**
   * With `timeSource: 'local'`, how often, in ms of the local clock, a consume reads Redis `TIME`
   * to measure the offset again: shorter bounds the drift, and costs one `TIME` per period.
   * @default 1000
   */
  readonly timeSyncMs?: number;
  /**
   * While another call of this store is in flight, cork the client's socket until the event
   * loop's next check phase (`setImmediate`), so the commands sent until then leave in one write
   * (one system call) instead of one each: under load that system call is most of what a
   * decision costs this process. It delays a write until that check phase, changes no order, and
   * also batches the other commands sent on the client meanwhile. A lone call is written at once.
   * No effect on a client that exposes no socket.
   * @default true
   */
  readonly batchWrites?: boolean;
}

/** The Redis store: {@link Store} plus what the admin API and tests need. */
export interface RedisStore extends Store {
  readonly name: 'redis';
  /** The shared config's version, or 0 when none: one small round trip, for polling. */
  configVersion(): Promise<number>;
  /** Whether the store currently treats Redis as unreachable. */
  readonly degraded: boolean;
  /**
   * {@link Store.record} without a round trip of its own: the outcome waits in this process and
   * goes to Redis with the client's next adaptive token-bucket or GCRA `consume` (applied before
   * that decision, in order, as `record` would at that time), or within `notes.flushMs`. `get`
   * writes the client's waiting outcomes first, `reset` drops them, `close` writes them all. An
   * outcome written apart from a decision counts at the time of the write (Redis time, at most
   * `notes.flushMs` late), or, with the `clock` option, at the time it was noted.
   *
   * At most once: when the decision carrying outcomes fails, they are given back (and written
   * later, in order) only if the call provably never reached Redis (the client could not send
   * it); after any other failure or a timeout Redis may already have applied them, so they are
   * dropped rather than risk counting them twice. A failed write apart from a decision drops them
   * too.
   */
  note(key: string, outcome: Outcome, adaptive: AdaptiveConfig): void;
  /** Writes waiting outcomes, then releases the fallback store and caches (never the Redis client). */
  close(): Promise<void>;
}

const DEFAULT_PREFIX = 'rl:';
const DEFAULT_TIMEOUT_MS = 100;
const DEFAULT_FAIL_CLOSED_RETRY_MS = 1000;
const DEFAULT_PROBE_INTERVAL_MS = 250;
const DEFAULT_BLOCKED_CACHE_KEYS = 10_000;
const DEFAULT_SCORE_TTL_MS = 604_800_000;
const DEFAULT_LIMIT_ID = 'default';
const RESERVE_LIMIT_ID = 'reserve';
const DEFAULT_PAGE = 100;
const DEFAULT_NOTE_KEYS = 10_000;
const DEFAULT_NOTE_PER_KEY = 64;
const DEFAULT_NOTE_FLUSH_MS = 1000;
const DEFAULT_TIME_SYNC_MS = 1000;
const OUTCOME_LETTER: Readonly<Record<Outcome, string>> = { success: 's', failure: 'f', neutral: 'n' };
const LETTER_OUTCOME: Readonly<Record<string, Outcome>> = { s: 'success', f: 'failure', n: 'neutral' };

/** Outcomes noted for one client, waiting for its next adaptive decision. */
interface Noted {
  readonly adaptive: AdaptiveConfig;
  /** One letter per outcome, in order ('s', 'f', 'n'). */
  outcomes: string;
  /**
   * With an injected clock (tests), when each outcome was noted: a flush then writes it at that
   * time, as `record` would have, however far the test moved the clock since. With Redis time a
   * flush comes within `notes.flushMs`, and writes at its own time.
   */
  times: number[] | undefined;
  /** When the first of these outcomes was noted (a store-wide count): keeps given-back outcomes in order. */
  seq: number;
}

/**
 * Whether a failed call's error proves Redis never received it, so never ran its script: ioredis
 * rejects so at once when it has no connection and may not queue. Any other failure (a Redis
 * error from a write late in the script, a connection dropped after the send, a timeout) may
 * come after the script ran.
 */
function neverSent(error: unknown): boolean {
  return error instanceof Error && /^(Stream|Cluster) isn't (writeable|ready) and enableOfflineQueue options is false/.test(error.message);
}

/** Which script runs a spec. */
function scriptOf(spec: LimitSpec): LuaScript {
  switch (spec.algorithm) {
    case 'token-bucket':
    case 'gcra':
      return SCRIPTS.bucket;
    case 'fixed-window':
      return SCRIPTS.fixedWindow;
    default:
      return spec.precision === 'approximate' ? SCRIPTS.approximateWindow : SCRIPTS.exactWindow;
  }
}

/** The algorithm's parameters, ARGV 7.. of the consume scripts. */
function paramsOf(spec: LimitSpec): RedisArg[] {
  return spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra'
    ? [spec.capacity, spec.burst, spec.refillPerSecond]
    : [spec.limit, spec.windowMs];
}

/** The adaptive slots after the parameters: sent only for an adaptive request. */
function adaptiveArgs(adaptive: AdaptiveConfig): RedisArg[] {
  return [
    adaptive.min,
    adaptive.max,
    adaptive.idleHalfLifeMs,
    adaptive.longTermAfterMs,
    adaptive.longTermMinRequests,
    adaptive.longTermBonus,
  ];
}

/**
 * A short tag of an index value: the algorithm's letter ('t' token bucket, 'g' GCRA; the consume
 * script builds the index entry from it) and 26 bits of FNV-1a in at most 5 base-36 digits. The
 * bucket scripts store it in the state to know, without reading the index, whether the index
 * still holds this spec. A collision would only leave an admin read showing the older spec,
 * never change a decision.
 */
function tagOf(text: string, algorithm: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (algorithm === 'gcra' ? 'g' : 't') + (h >>> 6).toString(36);
}

/**
 * A limit's entry in the client's index, for admin reads: the algorithm's letter ('t' token bucket,
 * 'g' GCRA, 'f' fixed window, 'e' exact and 'x' approximate sliding window), '+' when the limit is
 * scaled by the adaptive score, then the parameters as JavaScript's own number texts, joined by '|':
 * 't|capacity|refillPerSecond|burst', 'f|limit|windowMs'. Short on purpose: Redis keeps a hash whose
 * values are all within `hash-max-listpack-value` (64 bytes by default) as one compact listpack, and
 * a longer value (the spec as JSON was 80–100 bytes) turns the index into a hash table of about three
 * times the memory. The bucket scripts build the same text from their parameters.
 */
function indexValueOf(spec: LimitSpec, adaptive: boolean): string {
  const flag = adaptive ? '+' : '';
  switch (spec.algorithm) {
    case 'token-bucket':
    case 'gcra':
      return `${spec.algorithm === 'gcra' ? 'g' : 't'}${flag}|${String(spec.capacity)}|${String(spec.refillPerSecond)}|${String(spec.burst)}`;
    case 'fixed-window':
      return `f${flag}|${String(spec.limit)}|${String(spec.windowMs)}`;
    case 'sliding-window':
      return `${spec.precision === 'exact' ? 'e' : 'x'}${flag}|${String(spec.limit)}|${String(spec.windowMs)}`;
  }
}

/**
 * Reads an index entry (see {@link indexValueOf}), or the JSON an older store wrote
 * (`{"adaptive":true,"spec":{...}}`). Undefined for anything else, including a spec that
 * `validateSpec` refuses (a window of 7.7 ms an older version accepted, a hand edit): an admin
 * read skips the limit.
 */
function parseIndexValue(text: string): { spec: LimitSpec; adaptive: boolean } | undefined {
  const parsed = parseIndexText(text);
  if (parsed === undefined) return undefined;
  try {
    return { spec: validateSpec(parsed.spec), adaptive: parsed.adaptive };
  } catch {
    return undefined;
  }
}

function parseIndexText(text: string): { spec: unknown; adaptive: boolean } | undefined {
  if (text.startsWith('{')) {
    try {
      const held = JSON.parse(text) as { spec?: unknown; adaptive?: boolean } | null;
      return held?.spec === undefined ? undefined : { spec: held.spec, adaptive: held.adaptive === true };
    } catch {
      return undefined;
    }
  }
  const parts = text.split('|');
  const code = parts[0] ?? '';
  const adaptive = code.length === 2 && code[1] === '+';
  if (code.length !== (adaptive ? 2 : 1)) return undefined;
  const numbers = parts.slice(1).map(stored);
  if (!numbers.every(Number.isFinite)) return undefined;
  const [a = NaN, b = NaN, c = NaN] = numbers;
  let spec: LimitSpec;
  switch (code[0]) {
    case 't':
    case 'g':
      if (numbers.length !== 3) return undefined;
      spec = { algorithm: code[0] === 'g' ? 'gcra' : 'token-bucket', capacity: a, refillPerSecond: b, burst: c };
      break;
    case 'f':
      if (numbers.length !== 2) return undefined;
      spec = { algorithm: 'fixed-window', limit: a, windowMs: b };
      break;
    case 'e':
    case 'x':
      if (numbers.length !== 2) return undefined;
      spec = { algorithm: 'sliding-window', limit: a, windowMs: b, precision: code[0] === 'e' ? 'exact' : 'approximate' };
      break;
    default:
      return undefined;
  }
  return { spec, adaptive };
}

/**
 * The adaptive config as a client's score keeps it (field 'c'), for admin reads: what the
 * multiplier is computed from ('min max idleHalfLifeMs longTermAfterMs longTermMinRequests
 * longTermBonus', JavaScript's own number texts). Short for the reason the index entries are (see
 * {@link indexValueOf}): the whole config as JSON (about 200 bytes) made every score a hash table,
 * some 750 bytes where the listpack takes about 150.
 */
function scoreConfigText(adaptive: AdaptiveConfig): string {
  return [adaptive.min, adaptive.max, adaptive.idleHalfLifeMs, adaptive.longTermAfterMs, adaptive.longTermMinRequests, adaptive.longTermBonus]
    .map(String)
    .join(' ');
}

/**
 * Reads a score's config (see {@link scoreConfigText}), or the JSON an older store wrote; the
 * fields the multiplier does not use are the defaults. Undefined when it cannot be read.
 */
function parseScoreConfig(text: string | undefined): AdaptiveConfig | undefined {
  if (text === undefined) return undefined;
  if (text.startsWith('{')) {
    try {
      return JSON.parse(text) as AdaptiveConfig;
    } catch {
      return undefined;
    }
  }
  const numbers = text.split(' ').map(stored);
  if (numbers.length !== 6 || !numbers.every(Number.isFinite)) return undefined;
  const [min = 0, max = 0, idleHalfLifeMs = 0, longTermAfterMs = 0, longTermMinRequests = 0, longTermBonus = 0] = numbers;
  return { ...DEFAULT_ADAPTIVE, min, max, idleHalfLifeMs, longTermAfterMs, longTermMinRequests, longTermBonus };
}

/** What a consume script gets about a spec: index value, its tag and the parameters. */
interface SpecArgs {
  readonly text: string;
  readonly tag: string;
  readonly params: readonly RedisArg[];
}

/**
 * The bucket consume script's ARGV[1] for one spec and cost, plain and adaptive: 'inc lim tag'
 * and ' cost capacity burst refillPerSecond', which go either side of the time (see
 * BUCKET_CONSUME), and the whole text with Redis time ('-').
 */
interface BucketArgs {
  readonly cost: number;
  readonly plain: readonly [string, string, string];
  readonly adaptive: readonly [string, string, string];
}

/** The whole units a limit holds, for answers made up during an outage. */
function nominalLimit(spec: LimitSpec): number {
  return spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra'
    ? Math.floor(spec.capacity + spec.burst + 1e-9)
    : spec.limit;
}

/** Runs `answer` as a promise: its value, or its throw as a rejection. */
function settle<T>(answer: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(answer());
  } catch (error) {
    return Promise.reject(error);
  }
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** The last-seen time (ms) a raw bucket state (from the READ script) carries, or -Infinity. */
function seenFrom(raw: unknown): number {
  if (!Array.isArray(raw) || raw[0] !== 'string') return -Infinity;
  // Whole seconds in the state: the start of that second.
  const part = String(raw[1]).split('|')[1];
  const at = part === undefined ? NaN : Number(part);
  // An older store's state holds ms (13 digits; seconds have 10 until the year 5138).
  const seen = at >= 1e11 ? at : at * 1000;
  return Number.isFinite(seen) ? seen : -Infinity;
}

/** Turns HGETALL's flat [field, value, ...] into a record. */
function fields(flat: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(flat)) return out;
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = String(flat[i + 1]);
  return out;
}

/**
 * A raw Redis state (from the READ script) as core's state shape for `spec`, or undefined for none.
 * A state with something other than a finite number where a number belongs counts as none, as the
 * scripts count it (and replace it at the client's next decision).
 */
function stateFrom(spec: LimitSpec, raw: unknown): unknown {
  if (!Array.isArray(raw)) return undefined;
  const [type, value] = raw as [string, unknown];
  // A bucket state is 'tat|seen|expiryMinute|specTag' (or a bare TAT from an older store).
  if (type === 'string') {
    const tat = stored(String(value).split('|', 1)[0]);
    return Number.isFinite(tat) ? tat : undefined;
  }
  if (type === 'hash') {
    const h = fields(value);
    const windowStart = stored(h['w']);
    if (spec.algorithm === 'fixed-window') {
      const count = stored(h['c']);
      return Number.isFinite(windowStart) && Number.isFinite(count) ? { windowStart, count } : undefined;
    }
    const previous = stored(h['p']);
    const current = stored(h['c']);
    return Number.isFinite(windowStart) && Number.isFinite(previous) && Number.isFinite(current) ? { windowStart, previous, current } : undefined;
  }
  if (type === 'zset' && Array.isArray(value)) {
    const log: number[] = [];
    for (let i = 0; i + 1 < value.length; i += 2) {
      const member = String(value[i]);
      const bar = member.indexOf('|');
      const time = stored(member.slice(0, bar));
      const units = stored(member.slice(bar + 1));
      if (bar < 0 || !Number.isFinite(time) || !(units >= 0 && units < Infinity)) return undefined;
      log.push(time, units);
    }
    return log;
  }
  return undefined;
}

/**
 * A state's number text as Lua 5.1's tonumber (C's strtod) read it, where JavaScript's Number differs:
 * strtod also takes a hexadecimal float ('0x1.8p3'), which another program may have written. Left
 * unread, a TAT in the future written so would fail the client's every call: a denial keeps it.
 */
function luaNumber(text: string): number {
  const n = Number(text);
  if (n === n) return n;
  const hex = /^\s*([-+]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([-+]?\d+))?\s*$/.exec(text);
  if (hex === null) return NaN;
  const whole = hex[2] as string;
  const fraction = hex[3] ?? '';
  if (whole === '' && fraction === '') return NaN;
  let mantissa = 0;
  for (const digit of whole + fraction) mantissa = mantissa * 16 + parseInt(digit, 16);
  const value = mantissa * 2 ** (Number(hex[4] ?? 0) - 4 * fraction.length);
  return hex[1] === '-' ? -value : value;
}

/** A number stored as text, read as Lua's tonumber reads it: NaN for an absent or blank text (Number('') is 0). */
function stored(text: string | undefined): number {
  return text === undefined || text.trim() === '' ? NaN : Number(text);
}

/** Whether `value` has the methods a decision in fallback mode calls. */
function isStore(value: unknown): value is Store {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['consume', 'refund', 'reserve', 'record', 'get'].every((method) => typeof store[method] === 'function');
}

/** Reads of a client's index before reset or cleanup deletes what the last read listed (see deleteClient). */
const DELETE_ATTEMPTS = 5;

/** The longest score TTL: 1e15 ms (about 31,700 years), written by the scripts as an integer. */
const MAX_SCORE_TTL_MS = 1e15;

function checkPositive(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidOption(option, value, 'a finite number greater than 0');
  }
  return value;
}

/**
 * Creates the Redis store: one Lua script per algorithm, one round trip per decision, time from
 * Redis, every key of a client in one hash slot (works on Redis Cluster), TTLs on every key.
 *
 * @example
 * import Redis from 'ioredis';
 * import { createRedisStore } from '@micboard/limiter-store/redis';
 * const client = new Redis({ enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false });
 * const store = createRedisStore({ client, onStoreError: 'fallback', blockedCache: true });
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  const client = options.client;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof (client as Partial<ScriptCaller>).evalsha !== 'function' ||
    typeof (client as Partial<ScriptCaller>).eval !== 'function'
  ) {
    throw invalidOption('client', client, 'an ioredis Redis or Cluster');
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw invalidOption('prefix', prefix, 'a string without "{" or "}" (they delimit the Redis Cluster hash tag)');
  }
  const timeoutMs = checkPositive('timeoutMs', options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  // setTimeout fires at once past 2^31 - 1 ms, so every call would time out.
  if (timeoutMs > 2_147_483_647) throw invalidOption('timeoutMs', timeoutMs, 'at most 2147483647 ms');
  const mode = options.onStoreError ?? 'fallback';
  if (!['fail-open', 'fail-closed', 'fallback', 'throw'].includes(mode)) {
    throw invalidOption('onStoreError', mode, 'one of "fail-open", "fail-closed", "fallback", "throw"');
  }
  const failClosedRetryMs = checkPositive('failClosedRetryMs', options.failClosedRetryMs ?? DEFAULT_FAIL_CLOSED_RETRY_MS);
  const probeIntervalMs = checkPositive('probeIntervalMs', options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS);
  const scoreTtlMs = checkPositive('scoreTtlMs', options.scoreTtlMs ?? DEFAULT_SCORE_TTL_MS);
  // Redis takes a TTL as an integer text: past 1e15 the scripts would write it in exponent form,
  // and Redis would refuse every score write.
  if (scoreTtlMs > MAX_SCORE_TTL_MS) throw invalidOption('scoreTtlMs', scoreTtlMs, `at most ${MAX_SCORE_TTL_MS} ms`);
  const logger = checkLogger(options.logger ?? silentLogger);
  const clock = options.clock === undefined ? undefined : checkClock(options.clock);
  const timeSource = options.timeSource ?? 'redis';
  if (timeSource !== 'redis' && timeSource !== 'local') {
    throw invalidOption('timeSource', timeSource, 'one of "redis", "local"');
  }
  const localTime = timeSource === 'local';
  const timeSyncMs = checkPositive('timeSyncMs', options.timeSyncMs ?? DEFAULT_TIME_SYNC_MS);
  const batchWrites = options.batchWrites ?? true;
  if (typeof batchWrites !== 'boolean') throw invalidOption('batchWrites', batchWrites, 'a boolean');
  let blocked: BlockedCache | undefined;
  const blockedOption: unknown = options.blockedCache;
  if (blockedOption === true || (typeof blockedOption === 'object' && blockedOption !== null && !Array.isArray(blockedOption))) {
    const maxKeys = blockedOption === true ? DEFAULT_BLOCKED_CACHE_KEYS : ((blockedOption as { maxKeys?: number }).maxKeys ?? DEFAULT_BLOCKED_CACHE_KEYS);
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw invalidOption('blockedCache.maxKeys', maxKeys, 'an integer of at least 1');
    blocked = new BlockedCache(maxKeys);
  } else if (blockedOption !== undefined && blockedOption !== false) {
    throw invalidOption('blockedCache', blockedOption, 'a boolean or { maxKeys }');
  }
  const fallbackOption: unknown = options.fallback;
  if (fallbackOption !== undefined && !isStore(fallbackOption)) {
    throw invalidOption('fallback', fallbackOption, 'a store (such as createMemoryStore()), with consume, refund, reserve, record and get');
  }

  // Only an absent option takes the defaults: null or an array is a mistake worth naming.
  const notes = options.notes === undefined ? {} : options.notes;
  if (typeof notes !== 'object' || notes === null || Array.isArray(notes)) {
    throw invalidOption('notes', notes, 'an object { maxKeys, perKey, flushMs }');
  }
  const noteKeys = notes.maxKeys ?? DEFAULT_NOTE_KEYS;
  if (!Number.isInteger(noteKeys) || noteKeys < 1) throw invalidOption('notes.maxKeys', noteKeys, 'an integer of at least 1');
  const notePerKey = notes.perKey ?? DEFAULT_NOTE_PER_KEY;
  if (!Number.isInteger(notePerKey) || notePerKey < 1) throw invalidOption('notes.perKey', notePerKey, 'an integer of at least 1');
  const noteFlushMs = checkPositive('notes.flushMs', notes.flushMs ?? DEFAULT_NOTE_FLUSH_MS);
  if (noteFlushMs > 2_147_483_647) throw invalidOption('notes.flushMs', noteFlushMs, 'at most 2147483647 ms');

  const layout = new KeyLayout(prefix);
  const scripts = client as unknown as ScriptCaller;
  // Local time: for the blocked cache and the breaker (durations only), and now() between calls.
  const localNow = (): number => (clock ? clock.now() : Date.now());
  // timeSource 'local': a clock no wall-clock step moves (the injected one in tests).
  const steadyNow = (): number => (clock ? clock.now() : performance.now());
  // The time passed into the scripts with a clock (tests): with timeSource 'local' corrected like
  // the consumes' local time, so every script runs on one clock.
  const givenNow = (c: Clock): number => (localTime ? c.now() + offset : c.now());
  const timeArg = (): string => (clock ? String(givenNow(clock)) : '');
  const breaker = new Breaker(probeIntervalMs, logger, localNow);
  let fallback = options.fallback;
  let ownsFallback = false;
  // Redis time minus local time, from the last decision that read Redis TIME: now() without a
  // round trip, and the time of timeSource 'local' decisions.
  let offset = 0;
  // timeSource 'local': Redis time minus steadyNow(), whether it is measured (false again while a
  // new measurement is in flight), and when one last went to Redis.
  let steadyOffset = 0;
  let synced = false;
  let syncedAt = -Infinity;
  let configCache: SharedConfig | undefined;
  const serialized = new WeakMap<object, readonly [SpecArgs, SpecArgs]>();

  warnRiskyOptions(client, logger);

  const fallbackStore = (): Store => {
    if (fallback === undefined) {
      fallback = createMemoryStore({ logger });
      ownsFallback = true;
    }
    return fallback;
  };

  const deadlines = new Deadlines(timeoutMs);
  const hold = batchWrites ? writeBatcher(client) : undefined;
  const call = (what: string, script: LuaScript, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> => {
    if (hold !== undefined && deadlines.busy) hold();
    return deadlines.wrap(runScript(scripts, script, keys, args), what);
  };

  /**
   * Runs a hot-path call through the breaker: to Redis while it is up (and for a probe while it
   * is down), to the failure mode otherwise or when the call fails.
   */
  const guarded = async <T>(what: string, run: () => Promise<T>, onFailure: (error: unknown) => T | Promise<T>): Promise<T> => {
    if (!breaker.admit()) {
      return onFailure(new LimiterError('STORE_ERROR', `redis store: redis is unreachable (${what} not attempted)`));
    }
    let result: T;
    try {
      result = await run();
    } catch (error) {
      breaker.failed(error, mode);
      return onFailure(error);
    }
    breaker.succeeded();
    return result;
  };

  const specArgs = (spec: LimitSpec, adaptive: boolean): SpecArgs => {
    // Cached per spec object: the same few specs are sent on every request.
    let held = serialized.get(spec);
    if (held === undefined) {
      const params = paramsOf(spec);
      const plain = indexValueOf(spec, false);
      const scaled = indexValueOf(spec, true);
      // The bucket script builds the index entry from the parameters when it writes the index:
      // send only the algorithm's name (the tag still covers the whole text).
      const bucket = spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra';
      held = [
        { text: bucket ? spec.algorithm : plain, tag: tagOf(plain, spec.algorithm), params },
        { text: bucket ? spec.algorithm : scaled, tag: tagOf(scaled, spec.algorithm), params },
      ];
      serialized.set(spec, held);
    }
    return held[adaptive ? 1 : 0];
  };

  const validated = new WeakMap<object, LimitSpec>();
  const checkSpec = <S extends LimitSpec>(spec: S): S => {
    let normal = validated.get(spec);
    if (normal === undefined) {
      normal = validateSpec(spec);
      validated.set(spec, normal);
    }
    return normal as S;
  };
  const checkCost = (cost: number): void => {
    if (typeof cost !== 'number' || !(cost >= 0 && cost < Infinity)) throw invalidOption('cost', cost, 'a finite number of at least 0');
  };

  const failedDecision = (spec: LimitSpec, cost: number, request: ConsumeRequest, error: unknown): StoreDecision | Promise<StoreDecision> => {
    const limit = nominalLimit(spec);
    const now = localNow() + offset;
    switch (mode) {
      case 'fail-open':
        return { allowed: true, limit, remaining: limit, resetAt: now, retryAfter: 0, exceedsLimit: false, multiplier: 1 };
      case 'fail-closed':
        return {
          allowed: false,
          limit,
          remaining: 0,
          resetAt: now + failClosedRetryMs,
          retryAfter: failClosedRetryMs,
          exceedsLimit: false,
          multiplier: 1,
        };
      case 'fallback':
        return fallbackStore().consume({ ...request, spec, cost });
      default:
        throw error;
    }
  };

  /** ARGV of a consume script: see the head of scripts.ts. `extra` is reserve's maxWaitMs. */
  const scriptArgs = (op: string, request: ConsumeRequest, spec: LimitSpec, limitId: string, extra?: RedisArg): RedisArg[] => {
    const s = specArgs(spec, request.adaptive !== undefined);
    const args: RedisArg[] = [timeArg(), op, request.cost, `l:${limitId}`, s.text, s.tag, ...s.params];
    if (extra !== undefined) args.push(extra);
    else if (request.adaptive !== undefined) args.push(...adaptiveArgs(request.adaptive));
    return args;
  };

  /** KEYS of a consume script; the score only for an adaptive request (the script reads it then). */
  const keysOf = (key: string, limitId: string, adaptive: boolean): string[] => {
    const tag = layout.tag(key);
    return adaptive ? [layout.limit(tag, limitId), layout.index(tag), layout.score(tag)] : [layout.limit(tag, limitId), layout.index(tag)];
  };

  // The bucket consume script's ARGV[1] per spec object, plain and adaptive (their index values,
  // so tags, differ), for the last cost seen (nearly always the same one).
  const bucketArgs = new WeakMap<object, BucketArgs>();
  const bucketArgsOf = (spec: RateSpec, cost: number): BucketArgs => {
    let held = bucketArgs.get(spec);
    if (held === undefined || held.cost !== cost) {
      // What core's gcraStep computes first, in the same double arithmetic (EPSILON 1e-9,
      // TIME_EPSILON 1e-3): the script compares and adds these instead of computing them.
      const size = spec.capacity + spec.burst;
      const interval = 1000 / spec.refillPerSecond;
      const lim = cost > size + 1e-9 ? -1 : size * interval + (1e-9 * interval + 1e-3);
      // JavaScript's own number texts: exact, and what the index entry holds.
      const head = `${String(cost * interval)} ${String(lim)} `;
      const tail = ` ${String(cost)} ${String(spec.capacity)} ${String(spec.burst)} ${String(spec.refillPerSecond)}`;
      const plain = head + specArgs(spec, false).tag;
      const adaptive = head + specArgs(spec, true).tag;
      held = { cost, plain: [plain, tail, `${plain} -${tail}`], adaptive: [adaptive, tail, `${adaptive} -${tail}`] };
      bucketArgs.set(spec, held);
    }
    return held;
  };
  // ARGV[2] of an adaptive bucket consume (also the score's 'c', see scoreConfigText), and ARGV[3]'s
  // tail when outcomes go too.
  const adaptiveTexts = new WeakMap<AdaptiveConfig, { readonly slots: string; readonly steps: string }>();
  const adaptiveTextsOf = (adaptive: AdaptiveConfig): { readonly slots: string; readonly steps: string } => {
    let held = adaptiveTexts.get(adaptive);
    if (held === undefined) {
      held = {
        slots: scoreConfigText(adaptive),
        steps: ` ${String(adaptive.successStep)} ${String(adaptive.failureFactor)} ${String(scoreTtlMs)}`,
      };
      adaptiveTexts.set(adaptive, held);
    }
    return held;
  };

  /**
   * The hot path: a token-bucket or GCRA consume, one EVALSHA of the flat consume script, which
   * replies with the state it read and its time; core's `gcraStep` on them gives the decision.
   * Built without the generic helpers' closures and spreads: one argument array, and one
   * promise settled by the reply or by the shared deadline sweep.
   */
  const consumeBucket = (request: ConsumeRequest, spec: RateSpec, limitId: string): Promise<StoreDecision> => {
    const key = request.key;
    const cost = request.cost;
    const adaptive = request.adaptive;
    if (!breaker.admit()) {
      return settle(() => failedDecision(spec, cost, request, new LimiterError('STORE_ERROR', 'redis store: redis is unreachable (consume not attempted)')));
    }
    const tag = layout.tag(key);
    // The time after the tag: '-' (the script reads Redis TIME), the local clock corrected to
    // Redis time ('+' and ms: timeSource 'local', once an offset is measured and while it is
    // fresh) or the time passed in (tests). `given` is the time sent, if any.
    const texts = bucketArgsOf(spec, cost);
    const held = adaptive === undefined ? texts.plain : texts.adaptive;
    let given: number | undefined;
    let packed: string;
    if (localTime) {
      const local = steadyNow();
      // A clock stepped back past the last measurement (only an injected one can) measures again too.
      if (synced && local >= syncedAt && local - syncedAt < timeSyncMs) {
        // Whole ms, as Redis TIME's are: the TAT stays an integer, cheap to store.
        given = Math.floor(local + steadyOffset);
        packed = `${held[0]} +${String(given)}${held[1]}`;
      } else {
        // This decision measures the offset, and so do the others until it (or one of them) has
        // come back: none runs on an offset that may be stale, nor for long if this one fails.
        synced = false;
        syncedAt = local;
        packed = held[2];
      }
    } else if (clock !== undefined) {
      given = clock.now();
      packed = `${held[0]} ${String(given)}${held[1]}`;
    } else {
      packed = held[2];
    }
    const args: RedisArg[] =
      adaptive === undefined
        ? [2, layout.limit(tag, limitId), layout.index(tag), packed]
        : [3, layout.limit(tag, limitId), layout.index(tag), layout.score(tag), packed, adaptiveTextsOf(adaptive).slots];
    // Outcomes noted for this client go with this decision; given back if it fails before Redis
    // got it, else dropped (at most once: Redis may have applied them).
    let carried: Noted | undefined;
    if (adaptive !== undefined && noted.size > 0) {
      carried = noted.get(key);
      if (carried !== undefined) {
        noted.delete(key);
        if (carried.adaptive === adaptive) {
          const texts = adaptiveTextsOf(adaptive);
          args.push(carried.outcomes + texts.steps, texts.slots);
        } else {
          // Noted under another config: written on their own, before this decision (same
          // connection, so Redis runs them first).
          writeNoted(key, carried);
          carried = undefined;
        }
      }
    }
    // Sent before anything else is set up, so the request is on its way while the rest is (the
    // reply cannot come before this function returns). Another call in flight: this write
    // waits for the check phase with the others. ioredis flattens the array argument.
    if (hold !== undefined && deadlines.busy) hold();
    const flat = args as unknown as number;
    // What the client threw instead of sending, if it did (send answers undefined then).
    let thrown: unknown;
    const send = (source: boolean): Promise<unknown> | undefined => {
      try {
        return source ? scripts.eval(SCRIPTS.bucketConsume.source, flat) : scripts.evalsha(SCRIPTS.bucketConsume.sha, flat);
      } catch (error) {
        thrown = error;
        return undefined;
      }
    };
    const first = send(false);
    return new Promise<StoreDecision>((resolve, reject) => {
      // Every path below settles the promise once, whatever throws (a logger, a reply of an
      // unexpected shape, a client that throws instead of rejecting): never a call left pending.
      const failed = (error: LimiterError): void => {
        settle(() => {
          breaker.failed(error, mode);
          return failedDecision(spec, cost, request, error);
        }).then(resolve, reject);
      };
      const pending = deadlines.track('consume', failed);
      const onReply = (reply: unknown): void => {
        if (pending.done) return;
        pending.done = true;
        try {
          breaker.succeeded();
          // '[seconds micros ]tat[ multiplier]': with Redis TIME read, the same ms as the script
          // computed from its texts; the TAT read ('-': none). Read in place, not split.
          const text = String(reply);
          let at = 0;
          let now: number;
          if (given === undefined) {
            const space = text.indexOf(' ');
            const next = text.indexOf(' ', space + 1);
            if (space < 0 || next < 0) throw new UnreadableReply(text);
            now = Number(text.slice(0, space)) * 1000 + Math.floor(Number(text.slice(space + 1, next)) / 1000);
            offset = now - localNow();
            if (localTime) {
              steadyOffset = now - steadyNow();
              synced = true;
            }
            at = next + 1;
          } else {
            now = given;
          }
          // The TAT's text is the state's as stored: Lua reads spaces around it, so the multiplier is
          // found from the end, and Number reads the spaces as Lua did.
          const end = adaptive === undefined ? text.length : text.lastIndexOf(' ');
          const tatText = text.slice(at, end);
          const tat = tatText === '-' ? undefined : luaNumber(tatText);
          const multiplier = adaptive === undefined ? 1 : Number(text.slice(end + 1));
          // Any other reply (a text neither reads as a finite number): this call fails, as a call Redis
          // answered with an error does, and Redis is not marked down.
          if (end <= at || !(tat === undefined || tat - tat === 0) || !(multiplier > 0 && multiplier - multiplier === 0)) {
            throw new UnreadableReply(text);
          }
          const { decision } = gcraStep(tat, multiplier === 1 ? spec : (scaleSpec(spec, multiplier) as RateSpec), cost, now);
          const out: StoreDecision = {
            allowed: decision.allowed,
            limit: decision.limit,
            remaining: decision.remaining,
            resetAt: decision.resetAt,
            retryAfter: decision.retryAfter,
            exceedsLimit: decision.exceedsLimit,
            multiplier,
          };
          blocked?.remember(key, limitId, cost, out, localNow());
          resolve(out);
        } catch (error) {
          failed(storeError(error, 'consume'));
        }
      };
      let resent = false;
      const onError = (error: unknown): void => {
        if (pending.done) return;
        if (!resent && isNoScript(error)) {
          // Redis does not hold the script (flushed, or a new node): the source, once, with the
          // same handlers. Redis ran nothing, so outcomes carried go again with it.
          resent = true;
          listen(send(true), thrown);
          return;
        }
        pending.done = true;
        if (carried !== undefined && neverSent(error)) renote(key, carried);
        failed(storeError(error, 'consume'));
      };
      // Gives a sent call its handlers (the NOSCRIPT fallback is in them, not in a promise of its
      // own: one promise and one microtask less per decision). `sent` undefined: the client threw
      // `error` instead of sending, so Redis never saw the outcomes carried.
      const listen = (sent: Promise<unknown> | undefined, error: unknown): void => {
        try {
          if (sent !== undefined) {
            sent.then(onReply, onError);
            return;
          }
        } catch (notPromise) {
          error = notPromise;
        }
        pending.done = true;
        if (carried !== undefined) renote(key, carried);
        failed(storeError(error, 'consume'));
      };
      listen(first, thrown);
    });
  };

  /** One RECORD script call at `time` (a script time argument: '' = Redis TIME). */
  const recordAt = (key: string, outcome: Outcome, adaptive: AdaptiveConfig, time: string): Promise<number> => {
    const tag = layout.tag(key);
    return guarded(
      'record',
      async () => {
        const reply = await call('record', SCRIPTS.record, [layout.score(tag), layout.index(tag)], [
          time,
          outcome,
          adaptive.min,
          adaptive.max,
          adaptive.successStep,
          adaptive.failureFactor,
          adaptive.idleHalfLifeMs,
          adaptive.longTermAfterMs,
          adaptive.longTermMinRequests,
          adaptive.longTermBonus,
          scoreTtlMs,
          adaptiveTextsOf(adaptive).slots,
        ]);
        return num(reply);
      },
      (error) => {
        if (mode === 'fallback') return fallbackStore().record(key, outcome, adaptive);
        if (mode === 'throw') throw error;
        return 1;
      },
    );
  };

  // Noted outcomes (see RedisStore.note), by client key, oldest first.
  const noted = new Map<string, Noted>();
  let noteTimer: ReturnType<typeof setInterval> | undefined;
  let noteSeq = 0;
  /** Writes one client's noted outcomes with record calls, in order; settles when all have. */
  const writeNoted = (key: string, entry: Noted): Promise<unknown> => {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < entry.outcomes.length; i++) {
      const outcome = LETTER_OUTCOME[entry.outcomes[i] as string] as Outcome;
      const at = entry.times?.[i];
      // record answers failures by the store's mode; a rejection ('throw') is dropped here, as
      // `note` promises no answer.
      writes.push(recordAt(key, outcome, entry.adaptive, at === undefined ? timeArg() : String(at)).catch(() => undefined));
    }
    return Promise.all(writes);
  };
  const flushNoted = (key: string): Promise<unknown> => {
    const entry = noted.get(key);
    if (entry === undefined) return Promise.resolve();
    noted.delete(key);
    return writeNoted(key, entry);
  };
  const flushAllNoted = (): Promise<unknown> => {
    // Taken out first: record() writes a client's noted outcomes before its own.
    const all = [...noted];
    noted.clear();
    return Promise.all(all.map(([key, entry]) => writeNoted(key, entry)));
  };
  /**
   * Puts outcomes back (a decision that carried them never reached Redis), in the order they were
   * noted: ahead of those noted since, behind those another failed decision gave back first.
   */
  const renote = (key: string, entry: Noted): void => {
    const other = noted.get(key);
    if (other !== undefined && other.adaptive === entry.adaptive) {
      const first = entry.seq < other.seq ? entry : other;
      const second = first === entry ? other : entry;
      other.outcomes = first.outcomes + second.outcomes;
      if (first.times !== undefined && second.times !== undefined) other.times = [...first.times, ...second.times];
      other.seq = first.seq;
    } else {
      if (other !== undefined) void writeNoted(key, other);
      noted.set(key, { adaptive: entry.adaptive, outcomes: entry.outcomes, times: entry.times, seq: entry.seq });
    }
  };

  const decode = (reply: unknown): StoreDecision => {
    const r = reply as unknown[];
    // Time passed in (tests) measures nothing.
    if (clock === undefined) offset = num(r[7]) - localNow();
    return {
      allowed: num(r[0]) === 1,
      limit: num(r[1]),
      remaining: num(r[2]),
      resetAt: num(r[3]),
      retryAfter: num(r[4]),
      exceedsLimit: num(r[5]) === 1,
      multiplier: num(r[6]),
    };
  };

  /** Admin calls: Redis or a rejection (never a made-up answer). */
  const admin = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof LimiterError) throw error;
      throw new LimiterError('STORE_ERROR', `redis store: ${what} failed`, { cause: error });
    }
  };

  const snapshot = async (key: string): Promise<ClientSnapshot | undefined> => {
    const tag = layout.tag(key);
    const reply = (await call('get', SCRIPTS.snapshot, [layout.index(tag), layout.score(tag)], [timeArg()])) as unknown[];
    const now = num(reply[0]);
    const index = fields(reply[1]);
    const score = fields(reply[2]);
    const limitFields = Object.keys(index).filter((f) => f.startsWith('l:'));
    if (limitFields.length === 0 && score['m'] === undefined) return undefined;
    let adaptiveState: AdaptiveState | undefined;
    let adaptiveConfig: AdaptiveConfig | undefined;
    if (score['m'] !== undefined) {
      const state: AdaptiveState = {
        multiplier: stored(score['m']),
        firstSeen: stored(score['f']),
        lastSeen: stored(score['l']),
        requests: stored(score['r']),
        successes: stored(score['s']),
        failures: stored(score['x']),
      };
      // A score the scripts cannot read counts as none there (multiplier 1), and so here.
      if (Object.values(state).every(Number.isFinite)) adaptiveState = state;
      adaptiveConfig = parseScoreConfig(score['c']);
    }
    const multiplier = adaptiveConfig ? effectiveMultiplier(adaptiveState, adaptiveConfig, now) : 1;
    const limits: Record<string, { limit: number; remaining: number; resetAt: number }> = {};
    // The index's _seen (scores, windows) and each bucket state's own: the latest is the client's.
    let seen = index['_seen'] === undefined ? -Infinity : Number(index['_seen']);
    if (limitFields.length > 0) {
      const raws = (await call(
        'get',
        SCRIPTS.read,
        limitFields.map((f) => layout.limit(tag, f.slice(2))),
        [],
      )) as unknown[];
      limitFields.forEach((f, i) => {
        const held = parseIndexValue(index[f] as string);
        if (held === undefined) return;
        seen = Math.max(seen, seenFrom(raws[i]));
        const state = stateFrom(held.spec, raws[i]);
        const spec = held.adaptive ? scaleSpec(held.spec, multiplier) : held.spec;
        const view = inspect(spec, state, now);
        limits[f.slice(2)] = { limit: view.limit, remaining: view.remaining, resetAt: view.resetAt };
      });
    }
    return { key, multiplier, adaptive: adaptiveState, limits, lastSeen: Number.isFinite(seen) ? seen : now };
  };

  /**
   * Deletes a client's index, score and every limit its index lists, in the DELETE script: all of
   * them, or (`inactiveMs`) only if the client was inactive that long. Answers how many keys went
   * (0: none, or the client was active). The index is read first, in its own round trip, to name
   * the keys; a limit the client first used in between would survive unlisted, so the script
   * answers -1 then and this reads again (the last try deletes what it has read).
   */
  const deleteClient = async (what: string, key: string, inactiveMs: number | undefined): Promise<number> => {
    const tag = layout.tag(key);
    for (let attempt = 1; ; attempt++) {
      const reply = (await call(what, SCRIPTS.snapshot, [layout.index(tag), layout.score(tag)], [timeArg()])) as unknown[];
      const limitFields = Object.keys(fields(reply[1])).filter((f) => f.startsWith('l:'));
      const keys = [layout.index(tag), layout.score(tag), ...limitFields.map((f) => layout.limit(tag, f.slice(2)))];
      const force = attempt >= DELETE_ATTEMPTS ? '1' : '';
      const deleted = num(await call(what, SCRIPTS.delete, keys, [timeArg(), inactiveMs ?? '', force, ...limitFields]));
      if (deleted >= 0) return deleted;
    }
  };

  /** The scan targets: the client itself, or every master of a cluster, in a stable order. */
  const scanNodes = (): Scanner[] => {
    if (client.isCluster && 'nodes' in client && typeof client.nodes === 'function') {
      const name = (n: unknown): string => {
        const o = (n as { options?: { host?: string; port?: number } }).options;
        return `${o?.host ?? ''}:${o?.port ?? 0}`;
      };
      const nodes = [...client.nodes('master')].sort((a, b) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0));
      return nodes as unknown as Scanner[];
    }
    if (!('scan' in client) || typeof client.scan !== 'function') {
      throw new LimiterError('STORE_ERROR', 'redis store: the client has no scan()');
    }
    return [client as unknown as Scanner];
  };

  /** One SCAN step on one node: client keys found, and the node's next cursor ('0' = done). */
  const scanStep = async (node: Scanner, cursor: string, count: number): Promise<{ keys: string[]; next: string }> => {
    const [next, found] = await deadlines.wrap(node.scan(cursor, 'MATCH', layout.indexPattern, 'COUNT', count), 'list');
    const keys: string[] = [];
    for (const indexKey of found) {
      const key = layout.clientOfIndex(indexKey);
      if (key !== undefined) keys.push(key);
    }
    return { keys, next };
  };

  const store: RedisStore = {
    name: 'redis',

    get degraded() {
      return breaker.isDown;
    },

    now: () => localNow() + offset,

    consume(request: ConsumeRequest): Promise<StoreDecision> {
      const spec = checkSpec(request.spec);
      checkCost(request.cost);
      // Checked here, before the breaker is asked: a caller's mistake must fail its own call, not
      // count as Redis failing (nor take the probe and never report back).
      if (typeof request.key !== 'string') throw invalidOption('key', request.key, 'a string');
      if (request.adaptive !== undefined) checkAdaptiveConfig(request.adaptive);
      const limitId = request.limitId ?? DEFAULT_LIMIT_ID;
      if (blocked !== undefined) {
        const hit = blocked.lookup(request.key, limitId, request.cost, localNow());
        if (hit !== undefined) return Promise.resolve(hit);
      }
      if (spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra') return consumeBucket(request, spec, limitId);
      // Only the bucket script carries noted outcomes: written first here (sent before this call).
      if (request.adaptive !== undefined && noted.size > 0) void flushNoted(request.key);
      return guarded(
        'consume',
        async () => {
          const reply = await call('consume', scriptOf(spec), keysOf(request.key, limitId, request.adaptive !== undefined), scriptArgs('consume', request, spec, limitId));
          const decision = decode(reply);
          blocked?.remember(request.key, limitId, request.cost, decision, localNow());
          return decision;
        },
        (error) => failedDecision(spec, request.cost, request, error),
      );
    },

    refund(request: RefundRequest): Promise<void> {
      const spec = checkSpec(request.spec);
      checkCost(request.cost);
      const taken = request.takenResetAt;
      checkTakenResetAt(taken);
      if (typeof request.key !== 'string') throw invalidOption('key', request.key, 'a string');
      if (request.adaptive !== undefined) checkAdaptiveConfig(request.adaptive);
      const limitId = request.limitId ?? DEFAULT_LIMIT_ID;
      // Units given back may let a cached denial's request through now: ask Redis again.
      blocked?.forgetLimit(request.key, limitId);
      // A refund names the decision that took the cost by its resetAt ('' when not given). A
      // bucket's reads the score (a scaled rate): noted outcomes are written first. A window's
      // reads no score: the limit does not enter a window's refund.
      const bucket = spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra';
      const scored = bucket && request.adaptive !== undefined;
      if (scored && noted.size > 0) void flushNoted(request.key);
      const takenText = taken === undefined ? '' : String(taken);
      const args = scriptArgs('refund', request, spec, limitId, bucket ? undefined : takenText);
      // A bucket's goes last, after the adaptive slots when they are sent.
      if (bucket) args.push(takenText);
      return guarded(
        'refund',
        async () => {
          await call('refund', scriptOf(spec), keysOf(request.key, limitId, scored), args);
        },
        async (error) => {
          if (mode === 'fallback') return fallbackStore().refund({ ...request, spec });
          if (mode === 'throw') throw error;
        },
      );
    },

    reserve(key: string, rawSpec: RateSpec, cost: number, maxWaitMs: number): Promise<Reservation> {
      const spec = checkSpec(rawSpec);
      checkCost(cost);
      if (spec.algorithm !== 'token-bucket' && spec.algorithm !== 'gcra') {
        throw invalidOption('spec.algorithm', (spec as { algorithm: unknown }).algorithm, 'a rate spec ("token-bucket" or "gcra")');
      }
      if (typeof maxWaitMs !== 'number' || Number.isNaN(maxWaitMs) || maxWaitMs < 0) {
        throw invalidOption('maxWaitMs', maxWaitMs, 'a number of ms of at least 0');
      }
      const request: ConsumeRequest = { key, limitId: RESERVE_LIMIT_ID, spec, cost };
      return guarded(
        'reserve',
        async () => {
          // Redis has no Infinity: a wait longer than any TTL is the same as no bound.
          const bound = maxWaitMs === Infinity ? '1e300' : maxWaitMs;
          const r = (await call('reserve', SCRIPTS.bucket, keysOf(key, RESERVE_LIMIT_ID, false), scriptArgs('reserve', request, spec, RESERVE_LIMIT_ID, bound))) as unknown[];
          return { granted: num(r[0]) === 1, delayMs: num(r[1]) };
        },
        (error) => {
          if (mode === 'fallback') return fallbackStore().reserve(key, spec, cost, maxWaitMs);
          if (mode === 'fail-open') return { granted: true, delayMs: 0 };
          if (mode === 'fail-closed') return { granted: false, delayMs: failClosedRetryMs };
          throw error;
        },
      );
    },

    record(key: string, outcome: Outcome, adaptive: AdaptiveConfig): Promise<number> {
      if (outcome !== 'success' && outcome !== 'failure' && outcome !== 'neutral') {
        throw invalidOption('outcome', outcome, 'one of "success", "failure", "neutral"');
      }
      if (typeof key !== 'string') throw invalidOption('key', key, 'a string');
      checkAdaptiveConfig(adaptive);
      // Outcomes noted earlier go first, in order (sent before this call).
      if (noted.size > 0) void flushNoted(key);
      return recordAt(key, outcome, adaptive, timeArg());
    },

    note(key: string, outcome: Outcome, adaptive: AdaptiveConfig): void {
      const letter = OUTCOME_LETTER[outcome];
      if (letter === undefined || !Object.hasOwn(OUTCOME_LETTER, outcome)) {
        throw invalidOption('outcome', outcome, 'one of "success", "failure", "neutral"');
      }
      // Checked here, at the caller: a bad value found only when a later decision or flush sends
      // it would fail that call (and trip the breaker) far from the mistake.
      if (typeof key !== 'string') throw invalidOption('key', key, 'a string');
      checkAdaptiveConfig(adaptive);
      let entry = noted.get(key);
      if (entry !== undefined && entry.adaptive !== adaptive) {
        noted.delete(key);
        void writeNoted(key, entry);
        entry = undefined;
      }
      if (entry === undefined) {
        if (noted.size >= noteKeys) {
          // Full: the oldest client's outcomes go to Redis now.
          const oldest = noted.keys().next().value as string;
          void flushNoted(oldest);
        }
        entry = { adaptive, outcomes: '', times: clock === undefined ? undefined : [], seq: noteSeq++ };
        noted.set(key, entry);
      }
      entry.outcomes += letter;
      entry.times?.push(givenNow(clock as Clock));
      if (entry.outcomes.length >= notePerKey) void flushNoted(key);
      if (noteTimer === undefined) {
        noteTimer = setInterval(() => {
          void flushAllNoted();
        }, noteFlushMs);
        noteTimer.unref?.();
      }
    },

    get(key: string): Promise<ClientSnapshot | undefined> {
      return admin('get', async () => {
        await flushNoted(key);
        return snapshot(key);
      });
    },

    reset(key: string): Promise<boolean> {
      blocked?.forget(key);
      // Everything of the client goes; its waiting outcomes too.
      noted.delete(key);
      return admin('reset', async () => {
        return (await deleteClient('reset', key, undefined)) > 0;
      });
    },

    list(options: { cursor?: string; limit?: number } = {}) {
      const limit = options.limit ?? DEFAULT_PAGE;
      if (!Number.isInteger(limit) || limit < 1) throw invalidOption('limit', limit, 'an integer of at least 1');
      return admin('list', async () => {
        const nodes = scanNodes();
        // Cursor: '<node index>:<that node's SCAN cursor>'.
        let nodeIndex = 0;
        let cursor = '0';
        if (options.cursor !== undefined) {
          const m = /^(\d+):(\d+)$/.exec(options.cursor);
          if (!m) throw invalidOption('cursor', options.cursor, 'a cursor returned by list()');
          nodeIndex = Number(m[1]);
          cursor = m[2] as string;
        }
        const keys: string[] = [];
        // Bounded work per page: a few SCAN steps, stopping as soon as the page has clients.
        for (let steps = 0; nodeIndex < nodes.length && keys.length < limit && steps < 16; steps++) {
          const { keys: found, next } = await scanStep(nodes[nodeIndex] as Scanner, cursor, limit);
          keys.push(...found);
          if (next === '0') {
            nodeIndex++;
            cursor = '0';
          } else {
            cursor = next;
          }
        }
        const snaps = await Promise.all([...new Set(keys)].map((k) => snapshot(k)));
        const clients = snaps.filter((s): s is ClientSnapshot => s !== undefined);
        return { clients, cursor: nodeIndex < nodes.length ? `${nodeIndex}:${cursor}` : undefined };
      });
    },

    cleanup(inactiveMs: number): Promise<number> {
      if (typeof inactiveMs !== 'number' || !(inactiveMs >= 0)) {
        throw invalidOption('inactiveMs', inactiveMs, 'a number of ms of at least 0');
      }
      return admin('cleanup', async () => {
        let removed = 0;
        for (const node of scanNodes()) {
          let cursor = '0';
          do {
            const step = await scanStep(node, cursor, 500);
            cursor = step.next;
            // One SCAN batch at a time, its clients concurrently (ioredis pipelines them).
            const results = await Promise.all(
              step.keys.map(async (key) => {
                const deleted = await deleteClient('cleanup', key, inactiveMs);
                if (deleted > 0) blocked?.forget(key);
                return deleted > 0;
              }),
            );
            for (const r of results) if (r) removed++;
          } while (cursor !== '0');
        }
        return removed;
      });
    },

    getConfig(): Promise<SharedConfig | undefined> {
      return admin('getConfig', async () => {
        const held = configCache ? String(configCache.version) : '';
        const reply = (await call('getConfig', SCRIPTS.configGet, [layout.config], [held, 'data'])) as unknown[];
        if (reply.length === 0) {
          configCache = undefined;
        } else if (reply.length > 1) {
          configCache = {
            version: num(reply[0]),
            data: JSON.parse(String(reply[1])) as Record<string, unknown>,
          };
        }
        return configCache;
      });
    },

    setConfig(data: Readonly<Record<string, unknown>>, options?: { readonly ifVersion?: number }): Promise<number> {
      if (typeof data !== 'object' || data === null) throw invalidOption('data', data, 'an object');
      const ifVersion = checkIfVersion(options);
      const text = JSON.stringify(data);
      const expected = ifVersion === undefined ? '' : ifVersion;
      return admin('setConfig', async () => num(await call('setConfig', SCRIPTS.configSet, [layout.config], [text, expected])));
    },

    async configVersion(): Promise<number> {
      return admin('configVersion', async () => {
        const reply = (await call('configVersion', SCRIPTS.configGet, [layout.config], ['', 'version'])) as unknown[];
        return reply.length === 0 ? 0 : num(reply[0]);
      });
    },

    async close(): Promise<void> {
      if (noteTimer !== undefined) clearInterval(noteTimer);
      noteTimer = undefined;
      await flushAllNoted();
      blocked?.clear();
      if (ownsFallback) await fallback?.close?.();
    },
  };
  return store;
}

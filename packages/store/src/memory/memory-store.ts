import {
  EPSILON,
  TIME_EPSILON,
  checkAdaptiveConfig,
  checkClock,
  checkLogger,
  checkTakenResetAt,
  effectiveMultiplier,
  inspect,
  invalidOption,
  recordOutcome,
  refundStep,
  reserveStep,
  scaleSpec,
  silentLogger,
  step,
  systemClock,
  validateSpec,
} from '@micboard/limiter-core';
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
import { bucketStep, floorQuotient, type BucketOut } from './bucket.js';
import { checkIfVersion } from '../config-version.js';
import { SlotTable } from './slot-table.js';

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** Where time comes from, in ms since the epoch. @default systemClock (Date.now) */
  readonly clock?: Clock;
  /**
   * Most client states kept per limit (each `limitId` and algorithm has its own table, and so do
   * adaptive scores). When a table is full the least recently active state that is not currently
   * limited is evicted; limited clients are kept (the table may then exceed this) until their
   * state expires (a penalised adaptive score: for 7 idle half-lives after its last scored
   * response, when less than 1% of the penalty is left). About 45 bytes per token-bucket state
   * plus the key string.
   * @default 100_000
   */
  readonly maxKeys?: number;
  /**
   * How long an idle client's adaptive score is kept, in ms after its last scored response. By
   * then idle drift has brought its multiplier back to about 1.
   * @default 604_800_000 (7 days)
   */
  readonly scoreTtlMs?: number;
  /** Where the store logs. @default silentLogger */
  readonly logger?: Logger;
}

/** The memory store: a {@link Store} whose every method answers synchronously. */
export interface MemoryStore extends Store {
  readonly name: 'memory';
  consume(request: ConsumeRequest): StoreDecision;
  refund(request: RefundRequest): void;
  reserve(key: string, spec: RateSpec, cost: number, maxWaitMs: number): Reservation;
  record(key: string, outcome: Outcome, adaptive: AdaptiveConfig): number;
  get(key: string): ClientSnapshot | undefined;
  reset(key: string): boolean;
  list(options?: { cursor?: string; limit?: number }): { clients: ClientSnapshot[]; cursor: string | undefined };
  cleanup(inactiveMs: number): number;
  getConfig(): SharedConfig | undefined;
  setConfig(data: Readonly<Record<string, unknown>>, options?: { readonly ifVersion?: number }): number;
  now(): number;
  /** Client states held, over all tables (a client with two limits counts twice). */
  size(): number;
}

/**
 * One table of one limit id, with what snapshots need: the unscaled spec of each client's last
 * decision (clients of one limit id may differ: anonymous, authenticated, API plans) as a small
 * id per slot into a registry of distinct specs, and the adaptive config last used.
 */
interface Held<V> {
  readonly table: SlotTable<V>;
  /** The spec last used; snapshots fall back to it once the registry is full. */
  spec: LimitSpec;
  adaptive: AdaptiveConfig | undefined;
  readonly limitId: string;
  /** Distinct specs seen, by id. */
  readonly specs: LimitSpec[];
  readonly specIds: Map<string, number>;
  /** slot -> index into `specs` (2 bytes a client). */
  specOf: Uint16Array;
}

/** Most distinct specs one table remembers for snapshots (a few profiles and plans in practice). */
const MAX_SPECS = 0xffff;

// A spec's identity by value, computed once per (validated, cached) spec object.
const shapeKeys = new WeakMap<LimitSpec, string>();
function shapeKey(spec: LimitSpec): string {
  let key = shapeKeys.get(spec);
  if (key === undefined) {
    key =
      spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra'
        ? `${spec.algorithm}:${spec.capacity}:${spec.burst}:${spec.refillPerSecond}`
        : spec.algorithm === 'sliding-window'
          ? `${spec.algorithm}:${spec.precision}:${spec.limit}:${spec.windowMs}`
          : `${spec.algorithm}:${spec.limit}:${spec.windowMs}`;
    shapeKeys.set(spec, key);
  }
  return key;
}

/** The registry id of a spec in a table; MAX_SPECS (meaning "use held.spec") once it is full. */
function specIdOf(held: Held<unknown>, spec: LimitSpec): number {
  const key = shapeKey(spec);
  let id = held.specIds.get(key);
  if (id === undefined) {
    if (held.specs.length >= MAX_SPECS) return MAX_SPECS;
    id = held.specs.length;
    held.specs.push(spec);
    held.specIds.set(key, id);
  }
  return id;
}

/** Records which spec a slot's state was last decided with. */
function noteSpec(held: Held<unknown>, slot: number, id: number): void {
  if (slot >= held.specOf.length) {
    const grown = new Uint16Array(Math.max(slot + 1, held.specOf.length * 2));
    grown.set(held.specOf);
    held.specOf = grown;
  }
  held.specOf[slot] = id;
}

/** The spec a slot's state was last decided with. */
function specAt(held: Held<unknown>, slot: number): LimitSpec {
  return held.specs[held.specOf[slot] as number] ?? held.spec;
}

/** A limit id's tables: the bucket one stores numbers; each window kind stores core's state objects. */
interface LimitGroup {
  bucket: Held<never> | undefined;
  fixed: Held<unknown> | undefined;
  slidingExact: Held<unknown> | undefined;
  slidingApprox: Held<unknown> | undefined;
}

const DEFAULT_MAX_KEYS = 100_000;
const DEFAULT_SCORE_TTL_MS = 604_800_000;
const DEFAULT_LIMIT_ID = 'default';
const RESERVE_LIMIT_ID = 'reserve';
const DEFAULT_PAGE = 100;

/**
 * Creates the embedded store: synchronous, O(1) per decision, bounded by `maxKeys` per limit,
 * no timers. State lives in this process only; use the Redis store to share limits between
 * instances.
 *
 * @example
 * import { createMemoryStore } from '@micboard/limiter-store';
 * const store = createMemoryStore({ maxKeys: 200_000 });
 * const d = store.consume({ key: 'ip:203.0.113.9', spec: tokenBucket({ capacity: 50, refillPerSecond: 5, burst: 10 }), cost: 1 });
 * if (!d.allowed) res.status(429).set('Retry-After', String(Math.ceil(d.retryAfter / 1000))).end();
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  const clock = checkClock(options.clock ?? systemClock);
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (typeof maxKeys !== 'number' || !Number.isInteger(maxKeys) || maxKeys < 1) {
    throw invalidOption('maxKeys', maxKeys, 'an integer of at least 1');
  }
  const scoreTtlMs = options.scoreTtlMs ?? DEFAULT_SCORE_TTL_MS;
  if (typeof scoreTtlMs !== 'number' || !Number.isFinite(scoreTtlMs) || scoreTtlMs <= 0) {
    throw invalidOption('scoreTtlMs', scoreTtlMs, 'a finite number of ms greater than 0');
  }
  const logger = checkLogger(options.logger ?? silentLogger);

  const groups = new Map<string, LimitGroup>();
  const scores = new SlotTable<AdaptiveState>(maxKeys, true);
  /** Every table in creation order (scores first): the order of list() pages. */
  const tables: Held<unknown>[] = [];
  let lastAdaptive: AdaptiveConfig | undefined;
  let shared: SharedConfig | undefined;
  // Specs are plain data; each distinct object is validated (and normalised) once.
  const validated = new WeakMap<object, LimitSpec>();
  const out: BucketOut = { tat: 0 };
  let overflowWarned = false;

  // One-entry caches in front of the maps: a server mostly sends one spec object and one limit
  // id over and over, and an identity check is cheaper than a hash lookup.
  let lastSpec: LimitSpec | undefined;
  let lastNormal: LimitSpec | undefined;
  let lastLimitId: string | undefined;
  let lastGroup: LimitGroup | undefined;

  const checkSpec = <S extends LimitSpec>(spec: S): S => {
    if (spec === lastSpec) return lastNormal as S;
    let normal = validated.get(spec);
    if (normal === undefined) {
      normal = validateSpec(spec);
      validated.set(spec, normal);
    }
    lastSpec = spec;
    lastNormal = normal;
    return normal as S;
  };
  const checkCost = (cost: number): void => {
    // Written to reject NaN too: NaN fails every comparison.
    if (typeof cost !== 'number' || !(cost >= 0 && cost < Infinity)) throw invalidOption('cost', cost, 'a finite number of at least 0');
  };

  const group = (limitId: string): LimitGroup => {
    if (limitId === lastLimitId) return lastGroup as LimitGroup;
    let g = groups.get(limitId);
    if (g === undefined) {
      g = { bucket: undefined, fixed: undefined, slidingExact: undefined, slidingApprox: undefined };
      groups.set(limitId, g);
    }
    lastLimitId = limitId;
    lastGroup = g;
    return g;
  };

  const newHeld = <V>(limitId: string, spec: LimitSpec, values: boolean): Held<V> => {
    const held: Held<V> = {
      table: new SlotTable<V>(maxKeys, values),
      spec,
      adaptive: undefined,
      limitId,
      specs: [],
      specIds: new Map(),
      specOf: new Uint16Array(64),
    };
    tables.push(held as Held<unknown>);
    return held;
  };

  /** The window table for a spec (created on first use). */
  const windowHeld = (g: LimitGroup, limitId: string, spec: LimitSpec): Held<unknown> => {
    if (spec.algorithm === 'fixed-window') return (g.fixed ??= newHeld(limitId, spec, true));
    if (spec.algorithm === 'sliding-window' && spec.precision === 'exact') {
      return (g.slidingExact ??= newHeld(limitId, spec, true));
    }
    return (g.slidingApprox ??= newHeld(limitId, spec, true));
  };

  /**
   * A client's score, or undefined once it expired (scoreTtlMs after its last outcome): as on
   * Redis, where the key is gone then, an expired score counts as none even before a sweep frees it.
   */
  const scoreOf = (slot: number | undefined, now: number): AdaptiveState | undefined =>
    slot === undefined || (scores.data[slot * 2] as number) <= now ? undefined : scores.values?.[slot];

  const multiplierOf = (key: string, adaptive: AdaptiveConfig, now: number): number => {
    lastAdaptive = adaptive;
    return effectiveMultiplier(scoreOf(scores.index.get(key), now), adaptive, now);
  };

  const warnOverflow = (table: SlotTable<unknown>): void => {
    if (!overflowWarned && table.size > maxKeys) {
      overflowWarned = true;
      logger.warn(
        { maxKeys, size: table.size },
        'memory store: table is full of currently limited clients; keeping them past maxKeys until they expire',
      );
    }
  };

  const consumeBucket = (
    g: LimitGroup,
    limitId: string,
    request: ConsumeRequest,
    spec: RateSpec,
    now: number,
    multiplier: number,
  ): StoreDecision => {
    let held = g.bucket;
    if (held === undefined) held = g.bucket = newHeld<never>(limitId, spec, false);
    if (held.spec !== spec) held.spec = spec;
    if (held.adaptive !== request.adaptive) held.adaptive = request.adaptive;
    const table = held.table;
    const key = request.key;
    let slot = table.index.get(key);
    const m = multiplier;
    const decision =
      m === 1
        ? bucketStep(spec.capacity, spec.burst, spec.refillPerSecond, slot === undefined ? now : (table.data[slot * 2] as number), request.cost, now, 1, out)
        : bucketStep(
            spec.capacity * m,
            spec.burst * m,
            spec.refillPerSecond * m,
            slot === undefined ? now : (table.data[slot * 2] as number),
            request.cost,
            now,
            m,
            out,
          );
    if (slot === undefined) {
      // Even a denial (cost above the bucket) leaves core's state, tat = now: kept, so a clock
      // stepping back behaves as core says.
      slot = table.insert(key, now);
      warnOverflow(table);
      dropOthers(g, held as Held<unknown>, key);
    }
    table.data[slot * 2] = out.tat;
    table.touch(slot, now, !decision.allowed);
    noteSpec(held as Held<unknown>, slot, specIdOf(held as Held<unknown>, spec));
    return decision;
  };

  const consumeWindow = (
    g: LimitGroup,
    limitId: string,
    request: ConsumeRequest,
    base: LimitSpec,
    now: number,
    multiplier: number,
  ): StoreDecision => {
    const held = windowHeld(g, limitId, base);
    held.spec = base;
    held.adaptive = request.adaptive;
    const table = held.table;
    const values = table.values as unknown[];
    const spec = scaleSpec(base, multiplier);
    let slot = table.index.get(request.key);
    const result = step(spec, slot === undefined ? undefined : values[slot], request.cost, now);
    const decision = result.decision;
    if (slot === undefined) {
      slot = table.insert(request.key, now);
      warnOverflow(table);
      dropOthers(g, held, request.key);
    }
    values[slot] = result.state;
    // resetAt is when the window is clear again: from then on the state is the same as none.
    table.data[slot * 2] = decision.resetAt;
    table.touch(slot, now, !decision.allowed);
    noteSpec(held, slot, specIdOf(held, base));
    return { ...decision, multiplier };
  };

  // The hot path's spec (the caller's object, validated), its table, and its constants as
  // gcraStep computes them (same expressions, same order).
  let fastSpec: LimitSpec | undefined;
  let fastTable: SlotTable | undefined;
  let fastHeld: Held<unknown> | undefined;
  let fastSpecId = 0;
  // The adaptive config the hot path was armed with (undefined: none). A request must carry this
  // very object: its multiplier is then read from the scores table without re-checking anything.
  let fastAdaptive: AdaptiveConfig | undefined;
  // The validated spec's numbers, for the scaled math of a client with a multiplier other than 1.
  let fCapacity = 0;
  let fBurst = 0;
  let fRefill = 0;
  let bInterval = 0;
  let bInverse = 0;
  let bSlack = 0;
  let bTau = 0;
  let bTauSlack = 0;
  let bSizeEps = 0;
  let bLimit = 0;
  const shapeOf = (spec: RateSpec): void => {
    fCapacity = spec.capacity;
    fBurst = spec.burst;
    fRefill = spec.refillPerSecond;
    const size = spec.capacity + spec.burst;
    bInterval = 1000 / spec.refillPerSecond;
    bInverse = 1 / bInterval;
    bSlack = EPSILON * bInterval + TIME_EPSILON;
    bTau = size * bInterval;
    bTauSlack = bTau + bSlack;
    bSizeEps = size + EPSILON;
    bLimit = Math.floor(size + EPSILON);
  };

  /**
   * A limit id keeps one state per client, as in core: a client's first state in one algorithm's
   * table drops its states in the limit's other tables (left from before the spec changed).
   */
  const dropOthers = (g: LimitGroup, keep: Held<unknown> | undefined, key: string): void => {
    for (const held of [g.bucket as Held<unknown> | undefined, g.fixed, g.slidingExact, g.slidingApprox]) {
      if (held === undefined || held === keep) continue;
      const slot = held.table.index.get(key);
      if (slot !== undefined) held.table.remove(slot);
    }
  };

  const bucketOf = (spec: LimitSpec): spec is RateSpec =>
    spec.algorithm === 'token-bucket' || spec.algorithm === 'gcra';

  /** The held table a request's state lives in, if any. */
  const heldOf = (limitId: string, spec: LimitSpec): Held<unknown> | undefined => {
    const g = groups.get(limitId);
    if (g === undefined) return undefined;
    if (bucketOf(spec)) return g.bucket as Held<unknown> | undefined;
    if (spec.algorithm === 'fixed-window') return g.fixed;
    if (spec.algorithm === 'sliding-window' && spec.precision === 'exact') return g.slidingExact;
    return g.slidingApprox;
  };

  const stateOf = (held: Held<unknown>, slot: number): unknown =>
    held.table.values ? held.table.values[slot] : held.table.data[slot * 2];

  const snapshot = (key: string, now: number): ClientSnapshot | undefined => {
    const limits: Record<string, { limit: number; remaining: number; resetAt: number }> = {};
    let found = false;
    let lastSeen = -Infinity;
    const scoreSlot = scores.index.get(key);
    const adaptiveState = scoreOf(scoreSlot, now);
    if (adaptiveState !== undefined) {
      found = true;
      lastSeen = scores.lastSeen(scoreSlot as number);
    }
    const multiplier = lastAdaptive ? effectiveMultiplier(adaptiveState, lastAdaptive, now) : 1;
    for (const held of tables) {
      const slot = held.table.index.get(key);
      if (slot === undefined) continue;
      found = true;
      lastSeen = Math.max(lastSeen, held.table.lastSeen(slot));
      const m = held.adaptive ? effectiveMultiplier(adaptiveState, held.adaptive, now) : 1;
      const base = specAt(held, slot);
      const spec = m === 1 ? base : scaleSpec(base, m);
      const view = inspect(spec, stateOf(held, slot), now);
      limits[held.limitId] = { limit: view.limit, remaining: view.remaining, resetAt: view.resetAt };
    }
    if (!found) return undefined;
    return { key, multiplier, adaptive: adaptiveState, limits, lastSeen };
  };

  /** Every table, scores first: list() and cleanup() walk them in this order. */
  const allTables = (): SlotTable<unknown>[] => [scores as SlotTable<unknown>, ...tables.map((h) => h.table)];

  const admitted = (now: number, ahead: number): StoreDecision => {
    const wait = ahead - bSlack;
    const left = bTau - ahead + bSlack;
    // Less than one interval left (an empty bucket: the usual case for a denial) needs no
    // quotient at all. Exact: for 0 <= left < bInterval the rounded quotient is below 1, so the
    // floor is 0. Otherwise a multiply by the inverse stands in for the division, the costliest
    // step here, with the same result (see floorQuotient).
    const whole = left >= bInterval ? floorQuotient(left, bInterval, bInverse) : 0;
    return {
      allowed: true,
      limit: bLimit,
      remaining: whole > bLimit ? bLimit : whole,
      resetAt: now + (wait > 0 ? Math.ceil(wait) : 0),
      retryAfter: 0,
      exceedsLimit: false,
      multiplier: 1,
    };
  };

  const denied = (now: number, ahead: number, debt: number): StoreDecision => {
    const retry = Math.ceil(ahead - bTau - bSlack);
    const wait = debt - bSlack;
    const left = bTau - debt + bSlack;
    // As in admitted: under one interval left, no division.
    const whole = left >= bInterval ? floorQuotient(left, bInterval, bInverse) : 0;
    return {
      allowed: false,
      limit: bLimit,
      remaining: whole > bLimit ? bLimit : whole,
      resetAt: now + (wait > 0 ? Math.ceil(wait) : 0),
      retryAfter: retry > 1 ? retry : 1,
      exceedsLimit: false,
      multiplier: 1,
    };
  };

  /** Every consume that is not the hot path; it also (re)arms the hot path for the next one. */
  const consumeSlow = (request: ConsumeRequest): StoreDecision => {
    fastSpec = undefined;
    fastTable = undefined;
    fastHeld = undefined;
    const spec = checkSpec(request.spec);
    const cost = request.cost;
    // Written to reject NaN too: NaN fails every comparison.
    if (typeof cost !== 'number' || !(cost >= 0 && cost < Infinity)) throw invalidOption('cost', cost, 'a finite number of at least 0');
    if (request.adaptive !== undefined) checkAdaptiveConfig(request.adaptive);
    const now = clock.now();
    const limitId = request.limitId ?? DEFAULT_LIMIT_ID;
    const g = group(limitId);
    const multiplier = request.adaptive === undefined ? 1 : multiplierOf(request.key, request.adaptive, now);
    if (!bucketOf(spec)) return consumeWindow(g, limitId, request, spec, now, multiplier);
    const decision = consumeBucket(g, limitId, request, spec, now, multiplier);
    if (request.limitId === undefined && g.bucket !== undefined) {
      shapeOf(spec);
      fastAdaptive = request.adaptive;
      fastSpec = request.spec;
      fastTable = g.bucket.table;
      fastHeld = g.bucket as Held<unknown>;
      fastSpecId = specIdOf(fastHeld, spec);
    }
    return decision;
  };

  /**
   * The hot path's multiplier of a client: 1 without a score (no lookup beyond the index), else
   * core's effectiveMultiplier, exactly as consumeSlow's multiplierOf computes it.
   */
  const fastMultiplier = (adaptive: AdaptiveConfig, key: string, now: number): number => {
    lastAdaptive = adaptive;
    const s = scores.index.get(key);
    return s === undefined ? 1 : effectiveMultiplier(scoreOf(s, now), adaptive, now);
  };

  /** The hot path for a client whose multiplier is not 1: consumeBucket's scaled math on its slot. */
  const consumeScaled = (table: SlotTable, slot: number, cost: number, now: number, m: number): StoreDecision => {
    const decision = bucketStep(fCapacity * m, fBurst * m, fRefill * m, table.data[slot * 2] as number, cost, now, m, out);
    table.data[slot * 2] = out.tat;
    table.touch(slot, now, !decision.allowed);
    (fastHeld as Held<unknown>).specOf[slot] = fastSpecId;
    return decision;
  };

  const store: MemoryStore = {
    name: 'memory',
    now: () => clock.now(),
    size: () => allTables().reduce((n, t) => n + t.size, 0),

    consume(request: ConsumeRequest): StoreDecision {
      // The hot path: the default limit's token bucket, for the spec object and adaptive config
      // seen last, for a client with state. Kept small so the engine can inline it into the
      // caller, where the request and decision objects need not be allocated at all. Same math
      // as gcraStep. The engine sends its adaptive config on every request, so a client without
      // a score (multiplier exactly 1) must stay on the unscaled math here.
      const table = fastTable;
      if (request.spec === fastSpec && table !== undefined && request.limitId === undefined && request.adaptive === fastAdaptive) {
        const cost = request.cost;
        const slot = table.index.get(request.key);
        if (slot !== undefined && cost >= 0 && cost <= bSizeEps) {
          const now = clock.now();
          if (fastAdaptive !== undefined) {
            const m = fastMultiplier(fastAdaptive, request.key, now);
            if (m !== 1) return consumeScaled(table, slot, cost, now, m);
          }
          const data = table.data;
          const i = slot * 2;
          const tat = data[i] as number;
          const debt = tat > now ? tat - now : 0;
          const ahead = debt + cost * bInterval;
          (fastHeld as Held<unknown>).specOf[slot] = fastSpecId;
          if (ahead <= bTauSlack) {
            data[i] = (tat > now ? tat : now) + cost * bInterval;
            data[i + 1] = now;
            return admitted(now, ahead);
          }
          data[i + 1] = -now - 1;
          return denied(now, ahead, debt);
        }
      }
      return consumeSlow(request);
    },

    refund(request: RefundRequest): void {
      const base = checkSpec(request.spec);
      checkCost(request.cost);
      checkTakenResetAt(request.takenResetAt);
      if (request.adaptive !== undefined) checkAdaptiveConfig(request.adaptive);
      const limitId = request.limitId ?? DEFAULT_LIMIT_ID;
      const held = heldOf(limitId, base);
      const slot = held?.table.index.get(request.key);
      if (held === undefined || slot === undefined) return;
      const now = clock.now();
      const multiplier = request.adaptive === undefined ? 1 : multiplierOf(request.key, request.adaptive, now);
      const spec = scaleSpec(base, multiplier);
      const state = refundStep(spec, stateOf(held, slot), request.cost, now, request.takenResetAt);
      if (held.table.values) {
        held.table.values[slot] = state;
      } else {
        held.table.data[slot * 2] = state as number;
      }
      // A refund never makes a client limited; it may make it not limited.
      held.table.unlimit(slot);
    },

    reserve(key: string, rawSpec: RateSpec, cost: number, maxWaitMs: number): Reservation {
      const spec = checkSpec(rawSpec);
      checkCost(cost);
      if (!(maxWaitMs >= 0)) throw invalidOption('maxWaitMs', maxWaitMs, 'a number of ms of at least 0');
      const now = clock.now();
      const g = group(RESERVE_LIMIT_ID);
      let held = g.bucket;
      if (held === undefined) held = g.bucket = newHeld<never>(RESERVE_LIMIT_ID, spec, false);
      held.spec = spec;
      held.adaptive = undefined;
      const table = held.table;
      let slot = table.index.get(key);
      const result = reserveStep(spec, slot === undefined ? undefined : table.data[slot * 2], cost, now, maxWaitMs);
      if (!result.reservation.granted) return result.reservation;
      if (slot === undefined) slot = table.insert(key, now);
      table.data[slot * 2] = result.state as number;
      noteSpec(held as Held<unknown>, slot, specIdOf(held as Held<unknown>, spec));
      // A call that must wait is "limited": evicting its key would let the next call go at once,
      // alongside the ones still waiting for their slots.
      table.touch(slot, now, result.reservation.delayMs > 0);
      return result.reservation;
    },

    record(key: string, outcome: Outcome, adaptive: AdaptiveConfig): number {
      // A bad outcome or config would write a score that is NaN (denying the client, and failing
      // get and list) until scoreTtlMs passes.
      if (outcome !== 'success' && outcome !== 'failure' && outcome !== 'neutral') {
        throw invalidOption('outcome', outcome, 'one of "success", "failure", "neutral"');
      }
      checkAdaptiveConfig(adaptive);
      const now = clock.now();
      lastAdaptive = adaptive;
      let slot = scores.index.get(key);
      const values = scores.values as (AdaptiveState | undefined)[];
      const next = recordOutcome(scoreOf(slot, now), adaptive, outcome, now);
      if (slot === undefined) slot = scores.insert(key, now);
      values[slot] = next;
      scores.data[slot * 2] = next.lastSeen + scoreTtlMs;
      // A penalised client is "limited": evicting its score would forgive it. Only while the
      // penalty matters, though: after 7 idle half-lives it is under 2^-7 (< 1%) of the way from
      // 1, and a score kept past that would let one 404 per address pin a slot for scoreTtlMs.
      scores.limitedForMs = 7 * adaptive.idleHalfLifeMs;
      scores.touch(slot, now, next.multiplier < 1);
      return effectiveMultiplier(next, adaptive, now);
    },

    get(key: string): ClientSnapshot | undefined {
      return snapshot(key, clock.now());
    },

    reset(key: string): boolean {
      let removed = false;
      for (const table of allTables()) {
        const slot = table.index.get(key);
        if (slot !== undefined) {
          table.remove(slot);
          removed = true;
        }
      }
      return removed;
    },

    list(options: { cursor?: string; limit?: number } = {}) {
      const limit = options.limit ?? DEFAULT_PAGE;
      if (!Number.isInteger(limit) || limit < 1) throw invalidOption('limit', limit, 'an integer of at least 1');
      const all = allTables();
      let t = 0;
      let s = 0;
      if (options.cursor !== undefined) {
        const m = /^(\d+):(\d+)$/.exec(options.cursor);
        if (!m) throw invalidOption('cursor', options.cursor, 'a cursor returned by list()');
        t = Number(m[1]);
        s = Number(m[2]);
      }
      const now = clock.now();
      const clients: ClientSnapshot[] = [];
      for (; t < all.length; t++, s = 0) {
        const table = all[t] as SlotTable<unknown>;
        for (; s < table.end; s++) {
          const key = table.keys[s];
          if (key === undefined) continue;
          // A client with several tables is listed once: from the first table that holds it.
          let earlier = false;
          for (let u = 0; u < t && !earlier; u++) earlier = (all[u] as SlotTable<unknown>).index.has(key);
          if (earlier) continue;
          if (clients.length === limit) return { clients, cursor: `${t}:${s}` };
          const snap = snapshot(key, now);
          if (snap) clients.push(snap);
        }
      }
      return { clients, cursor: undefined };
    },

    cleanup(inactiveMs: number): number {
      if (!(inactiveMs >= 0)) throw invalidOption('inactiveMs', inactiveMs, 'a number of ms of at least 0');
      const cutoff = clock.now() - inactiveMs;
      const all = allTables();
      // A client goes only when all of its states are inactive: find the active keys first.
      const active = new Set<string>();
      for (const table of all) {
        for (let s = 0; s < table.end; s++) {
          const key = table.keys[s];
          if (key !== undefined && table.lastSeen(s) > cutoff) active.add(key);
        }
      }
      const removed = new Set<string>();
      for (const table of all) {
        for (let s = 0; s < table.end; s++) {
          const key = table.keys[s];
          if (key === undefined || active.has(key)) continue;
          table.remove(s);
          removed.add(key);
        }
      }
      return removed.size;
    },

    getConfig: () => shared,

    setConfig(data: Readonly<Record<string, unknown>>, options?: { readonly ifVersion?: number }): number {
      if (typeof data !== 'object' || data === null) throw invalidOption('data', data, 'an object');
      const ifVersion = checkIfVersion(options);
      if (ifVersion !== undefined && ifVersion !== (shared?.version ?? 0)) return 0;
      shared = { version: (shared?.version ?? 0) + 1, data: structuredClone(data) };
      return shared.version;
    },

    close(): void {
      for (const table of allTables()) table.clear();
      groups.clear();
      fastSpec = undefined;
      fastTable = undefined;
      fastHeld = undefined;
      fastAdaptive = undefined;
      lastLimitId = undefined;
      lastGroup = undefined;
      tables.length = 0;
    },
  };
  return store;
}

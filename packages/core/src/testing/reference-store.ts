import { systemClock, type Clock } from '../clock.js';
import { invalidOption } from '../errors.js';
import { integer } from '../validate.js';
import { inspect, refundStep, reserveStep, scaleSpec, step, validateSpec } from '../algorithms/index.js';
import { effectiveMultiplier, recordOutcome } from '../policy/index.js';
import type {
  AdaptiveConfig,
  AdaptiveState,
  ClientSnapshot,
  ConsumeRequest,
  Outcome,
  RateSpec,
  RefundRequest,
  Reservation,
  SharedConfig,
  Store,
  StoreDecision,
  LimitSpec,
} from '../types.js';

interface ClientRecord {
  adaptive: AdaptiveState | undefined;
  limits: Map<string, { spec: LimitSpec; state: unknown }>;
  lastSeen: number;
}

/** A store whose every method answers synchronously. */
export type SynchronousStore = {
  [K in keyof Store]: NonNullable<Store[K]> extends (...args: infer A) => infer R ? (...args: A) => Awaited<R> : Store[K];
};

/**
 * The simplest correct {@link Store}: plain maps, synchronous, unbounded. For tests and
 * examples of the core; production code uses `@micboard/limiter-store`.
 */
export function createReferenceStore(options: { clock?: Clock } = {}): SynchronousStore & { readonly clock: Clock } {
  const clock = options.clock ?? systemClock;
  const clients = new Map<string, ClientRecord>();
  let shared: SharedConfig | undefined;
  // get() has no adaptive config at hand: snapshots use the one the store last saw.
  let lastAdaptive: AdaptiveConfig | undefined;

  const client = (key: string): ClientRecord => {
    let record = clients.get(key);
    if (!record) {
      record = { adaptive: undefined, limits: new Map(), lastSeen: clock.now() };
      clients.set(key, record);
    }
    return record;
  };

  const multiplierOf = (record: ClientRecord, adaptive: AdaptiveConfig | undefined, now: number): number => {
    if (!adaptive) return 1;
    lastAdaptive = adaptive;
    return effectiveMultiplier(record.adaptive, adaptive, now);
  };

  const snapshot = (key: string, record: ClientRecord, now: number): ClientSnapshot => {
    const limits: Record<string, { limit: number; remaining: number; resetAt: number }> = {};
    for (const [id, { spec, state }] of record.limits) limits[id] = inspect(spec, state, now);
    return {
      key,
      multiplier: lastAdaptive ? effectiveMultiplier(record.adaptive, lastAdaptive, now) : 1,
      adaptive: record.adaptive,
      limits,
      lastSeen: record.lastSeen,
    };
  };

  return {
    name: 'reference',
    clock,
    now: () => clock.now(),
    consume(request: ConsumeRequest): StoreDecision {
      // Refused as the real stores refuse it (a window of 7.7 ms, a limit of 0), naming the field.
      const base = validateSpec(request.spec);
      const now = clock.now();
      const record = client(request.key);
      const id = request.limitId ?? 'default';
      const multiplier = multiplierOf(record, request.adaptive, now);
      const spec = scaleSpec(base, multiplier);
      const held = record.limits.get(id);
      const result = step(spec, held?.state, request.cost, now);
      record.limits.set(id, { spec, state: result.state });
      record.lastSeen = Math.max(record.lastSeen, now);
      return { ...result.decision, multiplier };
    },
    refund(request: RefundRequest): void {
      validateSpec(request.spec);
      const record = clients.get(request.key);
      const held = record?.limits.get(request.limitId ?? 'default');
      if (!record || !held) return;
      held.state = refundStep(held.spec, held.state, request.cost, clock.now(), request.takenResetAt);
    },
    reserve(key: string, spec: RateSpec, cost: number, maxWaitMs: number): Reservation {
      const now = clock.now();
      const record = client(key);
      const held = record.limits.get('reserve');
      const result = reserveStep(spec, held?.state, cost, now, maxWaitMs);
      record.limits.set('reserve', { spec, state: result.state });
      record.lastSeen = Math.max(record.lastSeen, now);
      return result.reservation;
    },
    record(key: string, outcome: Outcome, adaptive: AdaptiveConfig): number {
      const now = clock.now();
      const record = client(key);
      lastAdaptive = adaptive;
      record.adaptive = recordOutcome(record.adaptive, adaptive, outcome, now);
      record.lastSeen = Math.max(record.lastSeen, now);
      return effectiveMultiplier(record.adaptive, adaptive, now);
    },
    get(key: string): ClientSnapshot | undefined {
      const record = clients.get(key);
      return record ? snapshot(key, record, clock.now()) : undefined;
    },
    reset(key: string): boolean {
      return clients.delete(key);
    },
    list(options = {}) {
      const limit = integer('limit', options.limit ?? 100, 1);
      if (options.cursor !== undefined && !/^\d+$/.test(options.cursor)) {
        throw invalidOption('cursor', options.cursor, 'a cursor returned by list()');
      }
      const keys = [...clients.keys()].sort();
      const start = options.cursor === undefined ? 0 : Number(options.cursor);
      const page = keys.slice(start, start + limit);
      const now = clock.now();
      const next = start + limit < keys.length ? String(start + limit) : undefined;
      return { clients: page.map((key) => snapshot(key, clients.get(key) as ClientRecord, now)), cursor: next };
    },
    cleanup(inactiveMs: number): number {
      const cutoff = clock.now() - inactiveMs;
      let removed = 0;
      for (const [key, record] of clients) {
        if (record.lastSeen <= cutoff) {
          clients.delete(key);
          removed++;
        }
      }
      return removed;
    },
    getConfig: () => shared,
    setConfig(data, options) {
      if (options?.ifVersion !== undefined && options.ifVersion !== (shared?.version ?? 0)) return 0;
      shared = { version: (shared?.version ?? 0) + 1, data: structuredClone(data) };
      return shared.version;
    },
  };
}

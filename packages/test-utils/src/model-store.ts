import { effectiveMultiplier, recordOutcome, refundStep, scaleSpec, step } from '@micboard/limiter-core';
import type {
  AdaptiveConfig,
  AdaptiveState,
  Clock,
  ConsumeRequest,
  LimitSpec,
  Outcome,
  RefundRequest,
  StoreDecision,
} from '@micboard/limiter-core';

/**
 * The plainest model of a store's decisions, straight from core's pure functions: what every
 * store must answer for consume/refund/record. Unbounded, no admin; for differential tests.
 */
export interface ModelStore {
  consume(request: ConsumeRequest): StoreDecision;
  refund(request: RefundRequest): void;
  record(key: string, outcome: Outcome, adaptive: AdaptiveConfig): number;
}

export function createModelStore(clock: Clock): ModelStore {
  const limits = new Map<string, { spec: LimitSpec; state: unknown }>();
  const scores = new Map<string, AdaptiveState>();
  // A key and limit id as one map key; JSON keeps any characters apart.
  const id = (r: ConsumeRequest): string => JSON.stringify([r.key, r.limitId ?? 'default']);
  const multiplier = (r: ConsumeRequest, now: number): number =>
    r.adaptive ? effectiveMultiplier(scores.get(r.key), r.adaptive, now) : 1;
  return {
    consume(r) {
      const now = clock.now();
      const m = multiplier(r, now);
      const spec = scaleSpec(r.spec, m);
      const held = limits.get(id(r));
      const result = step(spec, held?.state, r.cost, now);
      limits.set(id(r), { spec, state: result.state });
      return { ...result.decision, multiplier: m };
    },
    refund(r) {
      const held = limits.get(id(r));
      if (held) held.state = refundStep(held.spec, held.state, r.cost, clock.now(), r.takenResetAt);
    },
    record(key, outcome, adaptive) {
      const now = clock.now();
      const next = recordOutcome(scores.get(key), adaptive, outcome, now);
      scores.set(key, next);
      return effectiveMultiplier(next, adaptive, now);
    },
  };
}

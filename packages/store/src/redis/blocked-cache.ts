import type { StoreDecision } from '@micboard/limiter-core';

interface Blocked {
  /** Local time (ms) until which the client is known to be denied. */
  readonly until: number;
  /** The cost that was denied; `until` is when that cost fits again. */
  readonly cost: number;
  readonly decision: StoreDecision;
}

/**
 * Remembers clients Redis denied, until their retry time, so a client hammering while over its
 * limit is answered here without a round trip. Only plain denials are kept (not `exceedsLimit`,
 * which depends on the cost alone), and only for the cost that was denied: a smaller request
 * might fit, and a larger one needs longer than the cached retry time (answering it from here
 * would send a Retry-After that is too short), so both go to Redis. Bounded: when full, the
 * oldest entry goes.
 *
 * A refund or reset through this instance clears the client's entries. Per instance: a reset
 * or refund made through another instance is not seen here until the entry expires (at most the
 * retry time the client was given).
 */
export class BlockedCache {
  private readonly entries = new Map<string, Map<string, Blocked>>();
  private count = 0;

  constructor(private readonly maxEntries: number) {}

  /** The cached denial for this request at local time `now`, or undefined. */
  lookup(key: string, limitId: string, cost: number, now: number): StoreDecision | undefined {
    const byLimit = this.entries.get(key);
    const hit = byLimit?.get(limitId);
    if (byLimit === undefined || hit === undefined) return undefined;
    if (now >= hit.until) {
      byLimit.delete(limitId);
      this.count--;
      if (byLimit.size === 0) this.entries.delete(key);
      return undefined;
    }
    if (cost !== hit.cost) return undefined;
    return { ...hit.decision, retryAfter: Math.max(1, Math.ceil(hit.until - now)) };
  }

  /** Records Redis's answer: a plain denial is cached, an admission clears any entry. */
  remember(key: string, limitId: string, cost: number, decision: StoreDecision, now: number): void {
    if (decision.allowed) {
      if (this.entries.has(key)) this.forgetLimit(key, limitId);
      return;
    }
    if (decision.exceedsLimit || decision.retryAfter <= 0) return;
    let byLimit = this.entries.get(key);
    if (byLimit === undefined) {
      if (this.count >= this.maxEntries) this.evictOldest();
      byLimit = new Map();
      this.entries.set(key, byLimit);
    }
    if (!byLimit.has(limitId)) this.count++;
    byLimit.set(limitId, { until: now + decision.retryAfter, cost, decision });
  }

  /** Forgets a client (after reset). */
  forget(key: string): void {
    const byLimit = this.entries.get(key);
    if (byLimit === undefined) return;
    this.count -= byLimit.size;
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }

  /** Forgets one limit of a client (a refund gave units back: Redis may admit it now). */
  forgetLimit(key: string, limitId: string): void {
    const byLimit = this.entries.get(key);
    if (byLimit?.delete(limitId)) {
      this.count--;
      if (byLimit.size === 0) this.entries.delete(key);
    }
  }

  private evictOldest(): void {
    // Map iteration is insertion order: the first client is the one blocked longest ago.
    for (const [key, byLimit] of this.entries) {
      this.count -= byLimit.size;
      this.entries.delete(key);
      return;
    }
  }
}

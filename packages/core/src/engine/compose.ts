import type { ConsumeRequest, MaybePromise, RefundRequest, Store, StoreDecision } from '../types.js';
import { chain, isThenable } from './maybe-promise.js';

/** The outcome of {@link consumeAll}. */
export interface ComposedDecision {
  readonly allowed: boolean;
  /** One decision per request, in order, up to and including the first denial. */
  readonly decisions: readonly StoreDecision[];
  /** Index of the request that denied, or -1. */
  readonly deniedBy: number;
}

/**
 * Consumes several limits for one request, in order. When one denies, the costs the earlier
 * ones took are refunded, so a request denied by one limit does not use up the others. When one
 * throws or rejects (the store failed), the earlier ones are refunded too, then the error goes
 * on: the request is answered by the failure mode, and a request not served costs nothing.
 */
export function consumeAll(store: Store, requests: readonly ConsumeRequest[]): MaybePromise<ComposedDecision> {
  const decisions: StoreDecision[] = [];
  const failed = (index: number, error: unknown): MaybePromise<ComposedDecision> =>
    chain(refundAll(store, requests, decisions, index), () => {
      throw error;
    });
  const decided = (index: number, decision: StoreDecision): MaybePromise<ComposedDecision> => {
    decisions.push(decision);
    if (decision.allowed) return next(index + 1);
    return chain(refundAll(store, requests, decisions, index), () => ({ allowed: false, decisions, deniedBy: index }));
  };
  const next = (index: number): MaybePromise<ComposedDecision> => {
    const request = requests[index];
    if (request === undefined) return { allowed: true, decisions, deniedBy: -1 };
    let pending: MaybePromise<StoreDecision>;
    try {
      pending = store.consume(request);
    } catch (error) {
      return failed(index, error);
    }
    if (isThenable(pending)) {
      return pending.then(
        (decision) => decided(index, decision),
        (error: unknown) => failed(index, error),
      );
    }
    return decided(index, pending);
  };
  return next(0);
}

function refundAll(
  store: Store,
  requests: readonly ConsumeRequest[],
  decisions: readonly StoreDecision[],
  upTo: number,
): MaybePromise<void> {
  const refunds: (readonly [Store, RefundRequest])[] = [];
  for (let i = 0; i < upTo; i++) {
    // Which decision took it: a window gives back to the window or entry that took the cost.
    const takenResetAt = (decisions[i] as StoreDecision).resetAt;
    refunds.push([store, { ...(requests[i] as ConsumeRequest), takenResetAt }]);
  }
  return refundEach(refunds);
}

/**
 * Gives back each `[store, refund]`, all at once, waiting for the remote ones; synchronous when
 * every store is. A refund that throws or rejects is dropped and the others still go ahead: the
 * denial (or the response) is decided, and a failed refund only costs the client a unit it did
 * not use. Let through, it would turn a denial into a store failure, which failing open admits.
 */
export function refundEach(refunds: readonly (readonly [Store, RefundRequest])[]): MaybePromise<void> {
  const pending: Promise<void>[] = [];
  for (const [store, refund] of refunds) {
    try {
      const refunded = store.refund(refund);
      // Any thenable, as chain() accepts: a promise library's promise is not instanceof Promise.
      // Promise.resolve adopts it, so its rejection is always handled here.
      if (isThenable(refunded)) pending.push(Promise.resolve(refunded).catch(() => undefined));
    } catch {
      // As a rejection.
    }
  }
  return pending.length > 0 ? Promise.all(pending).then(() => undefined) : undefined;
}

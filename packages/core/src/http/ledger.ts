import { refundEach } from '../engine/compose.js';
import type { ConsumeRequest, MaybePromise, Store } from '../types.js';

interface Entry {
  readonly store: Store;
  readonly request: ConsumeRequest;
  /** The `resetAt` of the decision that took it (see RefundRequest). */
  readonly takenResetAt: number;
}

// What each in-flight request has taken so far, across separate middlewares (the global one,
// then one or more route limits). Weakly keyed by the framework's own request object, so an
// entry lives exactly as long as its request.
const taken = new WeakMap<object, Entry[]>();
let enabled = false;

/** Turns the ledger on: only needed once some route limit exists that could deny after a global consume. */
export function enableLedger(): void {
  enabled = true;
}

/** Whether any route limit exists, so callers can skip building ledger entries. */
export function ledgerEnabled(): boolean {
  return enabled;
}

/**
 * Notes that `request` took its cost on `store` (an allowed consume whose decision reset at
 * `takenResetAt`), so a later denial can give it back.
 */
export function noteTaken(raw: object, store: Store, request: ConsumeRequest, takenResetAt: number): void {
  if (!enabled) return;
  const entries = taken.get(raw);
  if (entries) entries.push({ store, request, takenResetAt });
  else taken.set(raw, [{ store, request, takenResetAt }]);
}

/** Gives back everything `raw` took earlier: a request denied by one limit does not use up the others. */
export function refundTaken(raw: object): MaybePromise<void> {
  const entries = taken.get(raw);
  if (!entries) return undefined;
  taken.delete(raw);
  // Other requests of the client may have taken from the same limits since (the middlewares in
  // between may wait): the decision's resetAt says which window or entry to give back to.
  return refundEach(entries.map(({ store, request, takenResetAt }) => [store, { ...request, takenResetAt }] as const));
}

// Responses a limiter (global or route) answered with its own 429/503. Their status is the limiter's
// verdict, not the application's judgement of the client: fed back into the adaptive score, every
// denied retry would cut the client's limit again (down to the floor), so one burst would keep a
// client limited long after it stopped. Weakly keyed by the framework's response object.
const denied = new WeakSet<object>();

/** Notes that the limiter itself answered `response` (a 429 or 503 it wrote). */
export function noteDenied(response: object): void {
  denied.add(response);
}

/** Whether the limiter itself answered `response`, so its status must not feed the adaptive score. */
export function wasDenied(response: object): boolean {
  return denied.has(response);
}

import { reserveStep } from '../algorithms/index.js';
import type { Clock } from '../clock.js';
import type { RateSpec, Reservation } from '../types.js';

/** A reservation made in memory, with a way to give it back. */
export interface MemoryTicket {
  readonly reservation: Reservation;
  /** Gives the reservation back if no later one on the key depends on it; see {@link MemoryReservations.reserve}. */
  cancel(): void;
}

interface Entry {
  state: unknown;
  /** The number of the key's latest reservation, so a cancel can tell whether a later one was made. */
  seq: number;
  /** By this time (ms) the limit is full again, so the entry equals a fresh one and can be dropped. */
  idleAt: number;
}

/** Entries are swept for idle ones when the map grows past this (then past twice the survivors). */
const SWEEP_AT = 1024;

/**
 * The throttle's default reservation book: one algorithm state per key in a Map, stepped with the
 * pure `reserveStep`. Everything runs synchronously, so concurrent callers are served one at a
 * time and each gets its own slot.
 */
export class MemoryReservations {
  readonly #spec: RateSpec;
  readonly #clock: Clock;
  /** How long after a reservation's start the limit is surely full again, in ms. */
  readonly #refillMs: number;
  readonly #entries = new Map<string, Entry>();
  #sweepAt = SWEEP_AT;
  /** Numbers reservations across all keys; never reused, so a stale ticket can never match. */
  #seq = 0;

  constructor(spec: RateSpec, clock: Clock) {
    this.#spec = spec;
    this.#clock = clock;
    this.#refillMs = ((spec.capacity + spec.burst) / spec.refillPerSecond) * 1000;
  }

  /** How many keys hold state (for tests of the sweep). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Reserves `cost` on `key`: granted with the delay to wait, or denied (nothing taken) when the
   * wait would exceed `maxWaitMs`.
   *
   * `cancel()` gives the cost back only while this is still the key's latest reservation: a later
   * caller was scheduled after this slot, and handing the slot to yet another caller would let two
   * calls start together. A cancelled slot that is not the latest is therefore left unused.
   */
  reserve(key: string, cost: number, maxWaitMs: number): MemoryTicket {
    const now = this.#clock.now();
    const entry = this.#entries.get(key);
    const before = entry?.state;
    const { reservation, state } = reserveStep(this.#spec, before, cost, now, maxWaitMs);
    if (!reservation.granted) return { reservation, cancel: noop };

    const seq = ++this.#seq;
    const idleAt = now + reservation.delayMs + this.#refillMs;
    if (entry) Object.assign(entry, { state, seq, idleAt });
    else {
      this.#entries.set(key, { state, seq, idleAt });
      if (this.#entries.size > this.#sweepAt) this.#sweep(now);
    }
    return {
      reservation,
      cancel: () => {
        const current = this.#entries.get(key);
        if (current?.seq !== seq) return;
        // Restoring the state from before this reservation is exact: nothing else touched the key since.
        if (before === undefined) this.#entries.delete(key);
        // A fresh number: the ticket before this one stays uncancellable, erring toward fewer calls.
        else Object.assign(current, { state: before, seq: ++this.#seq });
      },
    };
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.idleAt <= now) this.#entries.delete(key);
    }
    this.#sweepAt = Math.max(SWEEP_AT, this.#entries.size * 2);
  }
}

const noop = (): void => {};

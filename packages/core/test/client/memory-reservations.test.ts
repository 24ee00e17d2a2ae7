import { describe, expect, it } from 'vitest';
import { ManualClock } from '@micboard/limiter-core/testing';
import { gcra } from '../../src/algorithms/index.js';
import { MemoryReservations } from '../../src/client/memory-reservations.js';

const START = 1_700_000_000_000;

describe('MemoryReservations', () => {
  const spec = gcra({ capacity: 1, refillPerSecond: 1, burst: 0 });

  it('books each call its own slot, and nothing when the wait is too long', () => {
    const book = new MemoryReservations(spec, new ManualClock(START));
    expect(book.reserve('k', 1, 5000).reservation).toEqual({ granted: true, delayMs: 0 });
    expect(book.reserve('k', 1, 5000).reservation).toEqual({ granted: true, delayMs: 1000 });
    expect(book.reserve('k', 1, 500).reservation).toEqual({ granted: false, delayMs: 2000 });
    expect(book.reserve('k', 1, 5000).reservation).toEqual({ granted: true, delayMs: 2000 });
  });

  it("cancel restores the key's state only while it is the latest reservation", () => {
    const book = new MemoryReservations(spec, new ManualClock(START));
    const first = book.reserve('k', 1, 5000);
    first.cancel(); // the key had no state before: it is forgotten
    expect(book.size).toBe(0);
    book.reserve('k', 1, 5000);
    const second = book.reserve('k', 1, 5000);
    second.cancel();
    expect(book.reserve('k', 1, 5000).reservation.delayMs).toBe(1000);
    const stale = book.reserve('k', 1, 5000);
    book.reserve('k', 1, 5000);
    stale.cancel(); // a later call depends on it: no effect
    expect(book.reserve('k', 1, 5000).reservation.delayMs).toBe(4000);
    // A denied reservation has nothing to give back.
    const denied = book.reserve('k', 1, 0);
    expect(denied.reservation.granted).toBe(false);
    denied.cancel();
    expect(book.reserve('k', 1, 10_000).reservation.delayMs).toBe(5000);
  });

  it('a cancelled ticket cannot be cancelled again, nor match a later one', () => {
    const book = new MemoryReservations(spec, new ManualClock(START));
    book.reserve('k', 1, 5000);
    const ticket = book.reserve('k', 1, 5000);
    ticket.cancel();
    const next = book.reserve('k', 1, 5000);
    expect(next.reservation.delayMs).toBe(1000);
    ticket.cancel();
    expect(book.reserve('k', 1, 5000).reservation.delayMs).toBe(2000);
  });

  it('sweeps keys whose limit is full again once the map grows past 1024', () => {
    const clock = new ManualClock(START);
    const book = new MemoryReservations(spec, clock);
    for (let i = 0; i < 1024; i++) book.reserve(`old-${i}`, 1, 0);
    expect(book.size).toBe(1024);
    clock.advance(999); // not yet refilled: nothing to sweep
    book.reserve('busy', 1, 0);
    expect(book.size).toBe(1025);
    clock.advance(1); // the 1024 old keys are full again; 'busy' is not
    for (let i = 0; i < 1026; i++) book.reserve(`new-${i}`, 1, 0);
    expect(book.size).toBeLessThan(1024 + 1026);
    // A swept key behaves exactly like one that was never seen.
    expect(book.reserve('old-1', 1, 0).reservation).toEqual({ granted: true, delayMs: 0 });
    // 'busy' kept its state: its next slot is still 999 ms away.
    expect(book.reserve('busy', 1, 5000).reservation.delayMs).toBe(999);
  });
});

import { describe, expect, it } from 'vitest';
import { createLimiter, type AdaptiveConfig, type Outcome, type Store } from '@micboard/limiter-core';
import { createReferenceStore, ManualClock } from '@micboard/limiter-core/testing';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('engine: record through Store.note', () => {
  it('hands outcomes to note() without waiting when the store has it, and never calls record()', () => {
    const clock = new ManualClock(T0);
    const base = createReferenceStore({ clock });
    const noted: [string, Outcome][] = [];
    const store: Store = {
      ...base,
      record: () => {
        throw new Error('record() must not be called when note() exists');
      },
      note: (key: string, outcome: Outcome, adaptive: AdaptiveConfig) => {
        noted.push([key, outcome]);
        void base.record(key, outcome, adaptive);
      },
    };
    const limiter = createLimiter({ store, clock });
    expect(limiter.record('ip:203.0.113.7', 200)).toBeUndefined();
    expect(limiter.record('ip:203.0.113.7', 404)).toBeUndefined();
    expect(limiter.record('ip:203.0.113.7', 503)).toBeUndefined();
    expect(noted).toEqual([
      ['ip:203.0.113.7', 'success'],
      ['ip:203.0.113.7', 'failure'],
      ['ip:203.0.113.7', 'neutral'],
    ]);
  });

  it('records nothing when adaptive scoring is off, note() or not', () => {
    const clock = new ManualClock(T0);
    const base = createReferenceStore({ clock });
    let calls = 0;
    const store: Store = { ...base, note: () => void calls++ };
    const limiter = createLimiter({ store, clock, adaptive: false });
    limiter.record('ip:203.0.113.7', 200);
    expect(calls).toBe(0);
  });
});

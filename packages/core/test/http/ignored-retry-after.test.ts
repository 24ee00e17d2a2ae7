import { describe, expect, it } from 'vitest';
import { createHttpLimiter } from '@micboard/limiter-core';
import { req, setup, sync } from './helpers.js';

describe('denials and the adaptive score', () => {
  const profile = { anonymous: { capacity: 1, refillPerSecond: 1, burst: 0 } };

  it('a client that waits its Retry-After is not penalised for being denied', () => {
    const { store, clock } = setup();
    const http = createHttpLimiter<object>({ store, clock, profiles: profile });
    for (let i = 0; i < 10; i++) {
      sync(http.check({}, req()));
      const denied = sync(http.check({}, req()));
      expect(denied?.allowed).toBe(false);
      clock.advance(Number(denied?.headers['Retry-After'] ?? denied?.headers['retry-after']) * 1000);
    }
    expect(sync(store.get('ip:203.0.113.7'))?.adaptive?.failures ?? 0).toBe(0);
  });

  it('each request inside the Retry-After it was given counts as a failure', () => {
    const { store, clock } = setup();
    const http = createHttpLimiter<object>({ store, clock, profiles: profile });
    sync(http.check({}, req()));
    for (let i = 0; i < 6; i++) expect(sync(http.check({}, req()))?.allowed).toBe(false);
    // The first denial told the client when to come back; the five after it ignored that.
    expect(sync(store.get('ip:203.0.113.7'))?.adaptive?.failures).toBe(5);
  });

  it('nothing is recorded when adaptive scoring is off', () => {
    const { store, clock } = setup();
    const http = createHttpLimiter<object>({ store, clock, profiles: profile, adaptive: false });
    for (let i = 0; i < 5; i++) sync(http.check({}, req()));
    expect(sync(store.get('ip:203.0.113.7'))?.adaptive).toBeUndefined();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActivityLog, type ActivityEvent } from '../src/activity.js';

const event = (key: string, allowed: boolean, overrides: Partial<ActivityEvent> = {}): ActivityEvent => ({
  limiter: 'global',
  route: '/api/v1/items',
  method: 'GET',
  key,
  userType: 'anonymous',
  allowed,
  cost: 1,
  limit: 60,
  remaining: 10,
  ...overrides,
});

describe('createActivityLog', () => {
  it('counts per client, newest first, and keeps the latest denials', () => {
    let now = 1000;
    const log = createActivityLog({ now: () => now });
    log.onDecision(event('ip:1', true));
    now = 2000;
    log.onDecision(event('user:a', true, { userType: 'authenticated' }));
    now = 3000;
    log.onDecision(event('ip:1', false, { route: '/api/v1/auth/login', method: 'POST', cost: 5, remaining: 0 }));
    log.onDecision(event('ignored', true, { key: undefined }));
    const snapshot = log.snapshot();
    expect(snapshot.clients.map((c) => c.key)).toEqual(['ip:1', 'user:a']);
    expect(snapshot.clients[0]).toEqual({ key: 'ip:1', userType: 'anonymous', allowed: 1, denied: 1, limit: 60, remaining: 0, lastSeen: 3000 });
    expect(snapshot.denials).toEqual([{ at: 3000, key: 'ip:1', userType: 'anonymous', method: 'POST', route: '/api/v1/auth/login', cost: 5 }]);
    log.forget('ip:1');
    expect(log.snapshot().clients.map((c) => c.key)).toEqual(['user:a']);
  });

  it('stays within its bounds and counts exactly while no client is evicted', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()), { maxLength: 200 }),
        (maxClients, maxDenials, events) => {
          const log = createActivityLog({ maxClients, maxDenials, now: () => 0 });
          for (const [client, allowed] of events) log.onDecision(event(`ip:${client}`, allowed));
          const { clients, denials } = log.snapshot();
          expect(clients.length).toBeLessThanOrEqual(maxClients);
          expect(denials.length).toBe(Math.min(maxDenials, events.filter(([, allowed]) => !allowed).length));
          const distinct = new Set(events.map(([client]) => client));
          if (distinct.size <= maxClients) {
            for (const client of clients) {
              const mine = events.filter(([id]) => `ip:${id}` === client.key);
              expect(client.allowed).toBe(mine.filter(([, allowed]) => allowed).length);
              expect(client.denied).toBe(mine.filter(([, allowed]) => !allowed).length);
            }
            expect(clients.length).toBe(distinct.size);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

import { getEventListeners, setMaxListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer } from '@micboard/shure-mock';
import { createShureClient } from '../src/index.js';
import type { FetchLike, FetchResponse, ShureFailure, ShureResult } from '../src/index.js';
import { anySignal } from '../src/signals.js';
import { recordingLogger, virtualTime } from './helpers.js';

const DEVICE = { hardwareIdentity: { deviceId: 'd', serialNumber: 's' }, softwareIdentity: { model: 'm', firmwareVersion: 'f' }, deviceState: 'ONLINE', capabilities: [] };

const answer = (status: number, body: unknown, retryAfter?: string): FetchResponse => ({
  status,
  headers: { get: (name) => (name === 'retry-after' ? (retryAfter ?? null) : null) },
  text: () => Promise.resolve(body === undefined ? '' : JSON.stringify(body)),
});

/** Lets ready callbacks run (one macrotask turn at a time) until `check` holds; no clock involved. */
async function turnsUntil(check: () => boolean, maxTurns = 200): Promise<void> {
  for (let turn = 0; !check(); turn++) {
    if (turn > maxTurns) throw new Error(`condition not met within ${maxTurns} turns`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Records a call's outcome when it comes, so a test can tell "settled" from "still pending" without waiting. */
function track<T>(call: Promise<ShureResult<T>>): { readonly result: ShureResult<T> | undefined } {
  const box: { result: ShureResult<T> | undefined } = { result: undefined };
  void call.then((result) => (box.result = result));
  return box;
}

const failureOf = (box: { readonly result: ShureResult<unknown> | undefined }): ShureFailure | undefined =>
  box.result === undefined || box.result.ok ? undefined : box.result.error;

afterEach(() => {
  vi.useRealTimers();
});

/**
 * Fakes setTimeout only (I/O and setImmediate run as usual), so `vi.getTimerCount()` tells exactly
 * which timers the client holds: a real sleep's or a request timeout's, each of which would keep the
 * process alive.
 */
const fakeTimeouts = (): void => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
};

describe('close() ends calls under way (virtual time)', () => {
  it('ends calls sleeping on a Retry-After as closed, leaving no sleep behind', async () => {
    const time = virtualTime();
    const logger = recordingLogger();
    const errors: string[] = [];
    // A 20 s Retry-After, as the real server sends when overloaded.
    const fetch: FetchLike = () => Promise.resolve(answer(503, undefined, '20'));
    const client = createShureClient({
      baseUrl: 'http://shure.test',
      fetch,
      clock: time.clock,
      sleep: time.sleep,
      logger,
      onError: (failure) => errors.push(failure.kind),
      retryBudget: false,
      breaker: false,
    });
    // A cached (shared) call and an uncached one: both paths must end.
    const devices = track(client.results.getDevices());
    const raw = track(client.results.request({ path: '/api/v1/devices' }));
    await turnsUntil(() => time.pending === 2);
    expect(logger.lines.filter((line) => line.level === 'warn')).toHaveLength(2);

    await client.close();
    // Aborted, not left to run out: no sleep is still parked once close() resolves.
    expect(time.pending).toBe(0);
    await nextTurn();
    // A cached call's caller leaves the shared request when it is stopped, before its count is known (as on abort).
    expect(failureOf(devices)).toMatchObject({
      kind: 'closed',
      transient: false,
      message: 'GET /api/v1/devices: the client is closed',
    });
    expect(failureOf(raw)).toMatchObject({ kind: 'closed', attempts: 1 });
    expect(errors).toEqual(['closed', 'closed']);
  });

  it('ends calls waiting for a rate slot as closed, without sending them', async () => {
    const time = virtualTime();
    const sent: string[] = [];
    const fetch: FetchLike = (url) => {
      sent.push(new URL(url).pathname);
      return Promise.resolve(answer(200, DEVICE));
    };
    const client = createShureClient({
      baseUrl: 'http://shure.test',
      fetch,
      clock: time.clock,
      sleep: time.sleep,
      rates: { getDevice: 0.1 },
    });
    expect(await client.getDevice('d1')).not.toBeNull();
    // The next getDevice slot is 10 s away. One caller brings a signal of its own that never aborts.
    const own = new AbortController();
    const cached = track(client.results.getDevice('d2'));
    const withSignal = track(client.results.getDevice('d3', { signal: own.signal }));
    await turnsUntil(() => time.pending === 2);

    await client.close();
    expect(time.pending).toBe(0);
    await nextTurn();
    expect(failureOf(cached)).toMatchObject({ kind: 'closed', attempts: 0, message: 'GET /api/v1/devices/d2: the client is closed' });
    // close() stopped it, not the caller: closed, not aborted.
    expect(failureOf(withSignal)).toMatchObject({ kind: 'closed', attempts: 0 });
    expect(sent).toEqual(['/api/v1/devices/d1']);
  });

  it('leaves the pollers to stop as they do, without reporting closed', async () => {
    const time = virtualTime();
    const fetch: FetchLike = () => Promise.resolve(answer(503, undefined, '20'));
    const seen: string[] = [];
    const client = createShureClient({ baseUrl: 'http://shure.test', fetch, clock: time.clock, sleep: time.sleep, onError: (f) => seen.push(f.kind) });
    const poller = client.poll({ onSnapshot: () => {}, onError: (f) => seen.push(f.kind) });
    await turnsUntil(() => time.pending === 1);
    await client.close();
    expect(poller.running).toBe(false);
    expect(time.pending).toBe(0);
    expect(seen).toEqual([]);
  });
});

describe('close() ends calls under way (real timers)', () => {
  it('ends a request in flight, shared by two callers, and clears its timeout', async () => {
    const signals: AbortSignal[] = [];
    // Never answers; gives up only when its signal aborts, as a fetch must.
    const fetch: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => {
        signals.push(init.signal);
        init.signal.addEventListener('abort', () => reject(init.signal.reason as Error), { once: true });
      });
    fakeTimeouts();
    const client = createShureClient({ baseUrl: 'http://shure.test', fetch, timeoutMs: 60_000 });
    const first = track(client.results.getDevices());
    const second = track(client.results.getDevices());
    await turnsUntil(() => signals.length === 1);
    // The request's 60 s timeout is armed.
    expect(vi.getTimerCount()).toBe(1);

    await client.close();
    // Checked as close() resolves: by then the request's timeout is cleared, not a turn later.
    expect(vi.getTimerCount()).toBe(0);
    expect(signals[0]?.aborted).toBe(true);
    await nextTurn();
    expect(failureOf(first)).toMatchObject({ kind: 'closed' });
    expect(failureOf(second)).toMatchObject({ kind: 'closed' });
  });

  describe('against the mock server', () => {
    const KEY = 'close-test-key';
    let mock: MockServer;
    beforeEach(async () => {
      mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
    });
    afterEach(async () => {
      await mock.close();
    });

    it('ends a call sleeping on Retry-After: 20 at once, and no timer outlives close()', async () => {
      const logger = recordingLogger();
      const client = createShureClient({ baseUrl: mock.url, apiKey: KEY, logger, retryBudget: false });
      mock.faults.failNext({ count: 1, status: 503, retryAfter: '20' });
      fakeTimeouts();
      const pending = track(client.results.getDevices());
      // A real request to the mock: more turns than in virtual time.
      await turnsUntil(() => logger.lines.some((line) => line.level === 'warn'), 100_000);
      // The core's real sleep, 20 s.
      expect(vi.getTimerCount()).toBe(1);

      const started = Date.now();
      await client.close();
      expect(vi.getTimerCount()).toBe(0);
      await nextTurn();
      expect(failureOf(pending)).toMatchObject({ kind: 'closed' });
      // Real time, but against a 20 s wait: the call ended with close(), not when the sleep ran out.
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(mock.requestLog).toHaveLength(1);
    });
  });
});

describe('signals of calls', () => {
  it('anySignal follows the first source to abort, and dispose() removes its listeners', () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = anySignal([a.signal, undefined, b.signal]);
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(1);
    expect(getEventListeners(b.signal, 'abort')).toHaveLength(1);
    b.abort('why');
    expect(linked.signal.aborted).toBe(true);
    expect(linked.signal.reason).toBe('why');
    // Aborting let go of the other source too.
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0);

    const other = anySignal([a.signal]);
    other.dispose();
    expect(getEventListeners(a.signal, 'abort')).toHaveLength(0);
    a.abort();
    expect(other.signal.aborted).toBe(false);
    expect(anySignal([a.signal]).signal.aborted).toBe(true);
  });

  it('leaves no listener on any long-lived signal (the client lifetime, a caller signal) once calls settle', async () => {
    const time = virtualTime();
    let sent = 0;
    // Every third request fails, so retries and their backoff sleeps are in the mix.
    const fetch: FetchLike = (url) => {
      sent++;
      if (sent % 3 === 0) return Promise.resolve(answer(503, undefined));
      return Promise.resolve(answer(200, new URL(url).pathname === '/api/v1/devices' ? { edges: [{ node: DEVICE }] } : DEVICE));
    };
    const watched = new Set<AbortSignal>();
    const add = EventTarget.prototype.addEventListener;
    const spy = vi.spyOn(EventTarget.prototype, 'addEventListener').mockImplementation(function (this: EventTarget, type, ...rest) {
      if (this instanceof AbortSignal && type === 'abort') watched.add(this);
      return add.call(this, type, ...rest);
    });
    try {
      const client = createShureClient({ baseUrl: 'http://shure.test', fetch, clock: time.clock, sleep: time.sleep, cacheTtlMs: 0, retry: { baseMs: 100 } });
      const caller = new AbortController();
      // One signal for 15 calls at once: more than node's default of 10 listeners, which it would warn about.
      setMaxListeners(0, caller.signal);
      const calls = Array.from({ length: 30 }, (_, i) =>
        i % 2 === 0 ? client.results.getDevice(`d${i % 4}`, { signal: caller.signal }) : client.results.request({ path: `/api/v1/devices/d${i}` }),
      );
      const results = await time.run(Promise.all(calls));
      expect(results.filter((r) => r.ok).length).toBeGreaterThan(0);
      expect(watched.has(caller.signal)).toBe(true);
      const leftOver = [...watched].filter((signal) => !signal.aborted && getEventListeners(signal, 'abort').length > 0);
      expect(leftOver).toHaveLength(0);
      await client.close();
    } finally {
      spy.mockRestore();
    }
  });
});

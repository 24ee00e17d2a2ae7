import { describe, expect, it } from 'vitest';
import {
  alertIdempotencyKey,
  createDenialNotifier,
  createWebhookSender,
  LimiterError,
  toHttpDate,
  type DenialAlert,
  type FetchLike,
} from '@micboard/limiter-core';
import { ManualClock } from '@micboard/limiter-core/testing';
import { recordingLogger, setup } from './helpers.js';

const alert: DenialAlert = { key: 'ip:1.2.3.4', limiter: 'global', denials: 3, windowMs: 60_000, firstAt: 0, lastAt: 1 };

describe('createDenialNotifier', () => {
  it('checks its options', () => {
    const { clock, logger } = setup();
    expect(() => createDenialNotifier(null as never, clock, logger)).toThrow(LimiterError);
    expect(() => createDenialNotifier({} as never, clock, logger)).toThrow(/notify\.onAlert/);
    expect(() => createDenialNotifier({ onAlert: () => {}, threshold: 0 }, clock, logger)).toThrow(/notify\.threshold/);
    expect(() => createDenialNotifier({ onAlert: () => {}, within: 0 }, clock, logger)).toThrow(/notify\.within/);
    expect(() => createDenialNotifier({ onAlert: () => {}, maxClients: 0 }, clock, logger)).toThrow(/notify\.maxClients/);
  });

  it('counts denials in a sliding window, alerts once per window, forgets old clients', async () => {
    const { clock, logger } = setup();
    const alerts: DenialAlert[] = [];
    const notify = createDenialNotifier({ threshold: 3, within: '1m', maxClients: 2, onAlert: (a) => void alerts.push(a) }, clock, logger);
    notify('a', 'global');
    notify('a', 'global');
    clock.advance(60_000);
    notify('a', 'global');
    expect(alerts).toHaveLength(0);
    notify('a', 'global');
    notify('a', 'global');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ key: 'a', denials: 3, firstAt: clock.now() });
    notify('a', 'global');
    expect(alerts).toHaveLength(1);
    notify('b', 'r');
    notify('c', 'r');
    notify('a', 'global');
    clock.advance(60_000);
    for (let i = 0; i < 3; i++) notify('a', 'global');
    expect(alerts).toHaveLength(2);
  });

  it('a throwing or rejecting hook is logged', async () => {
    const { clock } = setup();
    const logger = recordingLogger();
    createDenialNotifier({ threshold: 1, onAlert: () => { throw new Error('x'); } }, clock, logger)('a', 'g');
    createDenialNotifier({ threshold: 1, onAlert: () => Promise.reject(new Error('y')) }, clock, logger)('a', 'g');
    // A promise library's promise (not instanceof Promise) that rejects once asked.
    const thenable = { then: (ok: never, fail: (error: unknown) => unknown) => Promise.reject(new Error('z')).then(ok, fail) };
    createDenialNotifier({ threshold: 1, onAlert: () => thenable as unknown as Promise<void> }, clock, logger)('a', 'g');
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.lines.filter((l) => l.message.includes('alert hook failed'))).toHaveLength(3);
  });
});

describe('createWebhookSender', () => {
  const sleeps: number[] = [];
  const sleep = async (ms: number) => void sleeps.push(ms);

  it('checks its options', () => {
    expect(() => createWebhookSender(null as never)).toThrow(LimiterError);
    expect(() => createWebhookSender({ url: 'ftp://x' })).toThrow(/webhook\.url/);
    expect(() => createWebhookSender({ url: 'https://x', sleep: 1 as never })).toThrow(/webhook\.sleep/);
    expect(() => createWebhookSender({ url: 'https://x', fetch: 1 as never })).toThrow(/webhook\.fetch/);
    expect(() => createWebhookSender({ url: 'https://x', timeoutMs: 0 })).toThrow(/webhook\.timeoutMs/);
    expect(() => createWebhookSender({ url: 'https://x', maxPending: 0 })).toThrow(/webhook\.maxPending/);
    expect(() => createWebhookSender({ url: 'https://x', retry: { retries: -1 } })).toThrow(/retries/);
    expect(() => createWebhookSender({ url: 'https://x', clock: {} as never })).toThrow(/webhook\.clock/);
  });

  it('POSTs the alert as JSON, retrying retryable failures with backoff', async () => {
    sleeps.length = 0;
    const calls: { url: string; body: string; headers: Record<string, string> }[] = [];
    const answers = [503, 0, 200];
    const fetch: FetchLike = async (url, init) => {
      calls.push({ url, body: init.body, headers: init.headers });
      const status = answers.shift() as number;
      if (status === 0) throw new Error('connection reset');
      return { ok: status < 300, status };
    };
    const send = createWebhookSender({ url: 'https://ops.example/hook', fetch, sleep, retry: { jitter: 'none' }, headers: { authorization: 't' } });
    await send(alert);
    expect(calls).toHaveLength(3);
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual(alert);
    expect(calls[0]?.headers).toEqual({ 'content-type': 'application/json', authorization: 't', 'idempotency-key': alertIdempotencyKey(alert) });
    expect(sleeps).toEqual([500, 1000]);
  });

  it('sends the same Idempotency-Key on every attempt of one alert, and another for another alert', async () => {
    const keys: (string | undefined)[] = [];
    const answers = [0, 0, 200, 200];
    const fetch: FetchLike = async (_url, init) => {
      keys.push(init.headers['idempotency-key']);
      // A timeout or a lost connection: the POST may well have arrived.
      if (answers.shift() === 0) throw Object.assign(new Error('timed out'), { name: 'TimeoutError' });
      return { ok: true, status: 200 };
    };
    // A caller's header of that name, in any case, does not replace it.
    const send = createWebhookSender({ url: 'https://x', fetch, sleep, headers: { 'Idempotency-Key': 'mine' } });
    await send(alert);
    const later: DenialAlert = { ...alert, firstAt: 300_000, lastAt: 300_001 };
    await send(later);
    expect(keys).toEqual([alertIdempotencyKey(alert), alertIdempotencyKey(alert), alertIdempotencyKey(alert), alertIdempotencyKey(later)]);
    expect(alertIdempotencyKey(alert)).toMatch(/^alert-0-[0-9a-f]{16}$/);
    // Derived from the alert alone (limiter, key, first denial): a restart or another instance
    // retrying the same alert sends the same key; any of those three changing makes another.
    expect(alertIdempotencyKey({ ...alert, denials: 9, lastAt: 50 })).toBe(alertIdempotencyKey(alert));
    const others = [{ ...alert, key: 'ip:1.2.3.5' }, { ...alert, limiter: '/api' }, later].map(alertIdempotencyKey);
    expect(new Set([alertIdempotencyKey(alert), ...others]).size).toBe(4);
    // Whatever the key holds, the header value is plain ASCII.
    expect(alertIdempotencyKey({ ...alert, key: 'user:é\r\n"x' })).toMatch(/^alert-0-[0-9a-f]{16}$/);
  });

  it("waits the receiver's Retry-After on 429 and 503 (seconds or a date), capped by the policy", async () => {
    sleeps.length = 0;
    const clock = new ManualClock(1_700_000_000_000);
    const date = toHttpDate(clock.now() + 7_000);
    const answers: [number, string | null][] = [[429, '3'], [503, date], [503, null], [200, null]];
    const fetch: FetchLike = async () => {
      const [status, retryAfter] = answers.shift() as [number, string | null];
      return { ok: status < 300, status, headers: new Headers(retryAfter === null ? {} : { 'Retry-After': retryAfter }) };
    };
    const send = createWebhookSender({ url: 'https://x', fetch, sleep, clock, retry: { jitter: 'none' } });
    await send(alert);
    // The later of the backoff (500, 1000, 2000) and Retry-After (3 s, then 7 s from the clock).
    expect(sleeps).toEqual([3_000, 7_000, 2_000]);

    // Above the cap, 'give-up' (the default) stops rather than wait; 'clamp' waits the cap.
    sleeps.length = 0;
    const logger = recordingLogger();
    const tooLong: FetchLike = async () => ({ ok: false, status: 503, headers: new Headers({ 'retry-after': '3600' }) });
    await createWebhookSender({ url: 'https://x', fetch: tooLong, sleep, logger, retry: { retryAfterCapMs: 60_000, onRetryAfterAboveCap: 'give-up' } })(alert);
    expect(sleeps).toEqual([]);
    expect(logger.lines.find((l) => l.message === 'rate-limit webhook failed')?.fields).toMatchObject({ reason: 'retry-after-too-long', attempts: 1 });
    await createWebhookSender({ url: 'https://x', fetch: tooLong, sleep, retry: { retries: 1, retryAfterCapMs: 60_000, onRetryAfterAboveCap: 'clamp' } })(alert);
    expect(sleeps).toEqual([60_000]);
  });

  it('gives up on a non-retryable status or after the retries, and logs', async () => {
    const logger = recordingLogger();
    let calls = 0;
    const send = createWebhookSender({
      url: 'http://localhost:9/hook',
      logger,
      sleep,
      retry: { retries: 2 },
      fetch: async () => ((calls += 1), { ok: false, status: calls === 1 ? 400 : 500 }),
    });
    await send(alert);
    expect(calls).toBe(1);
    await send(alert);
    expect(calls).toBe(4);
    expect(logger.lines.filter((l) => l.message === 'rate-limit webhook failed')).toHaveLength(2);
  });

  it('never queues without bound: past maxPending an alert is dropped', async () => {
    const logger = recordingLogger();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const send = createWebhookSender({ url: 'https://x', logger, maxPending: 1, sleep, fetch: async () => (await gate, { ok: true, status: 200 }) });
    const first = send(alert);
    await send(alert);
    expect(logger.lines.some((l) => l.message.includes('dropped'))).toBe(true);
    release();
    await first;
  });

  it('defaults to the global fetch', async () => {
    const original = globalThis.fetch;
    let seen = '';
    globalThis.fetch = (async (url: string) => ((seen = url), new Response(null, { status: 204 }))) as typeof fetch;
    try {
      await createWebhookSender({ url: 'https://hooks.example/x' })(alert);
    } finally {
      globalThis.fetch = original;
    }
    expect(seen).toBe('https://hooks.example/x');
  });
});

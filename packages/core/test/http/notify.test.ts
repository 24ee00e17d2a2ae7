import { describe, expect, it } from 'vitest';
import { createDenialNotifier, createWebhookSender, LimiterError, type DenialAlert, type FetchLike } from '@micboard/limiter-core';
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
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.lines.filter((l) => l.message.includes('alert hook failed'))).toHaveLength(2);
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
    expect(calls[0]?.headers).toEqual({ 'content-type': 'application/json', authorization: 't' });
    expect(sleeps).toEqual([500, 1000]);
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

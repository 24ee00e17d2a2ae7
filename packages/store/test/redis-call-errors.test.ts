/**
 * An error Redis answers for one call (a script error on one client's state) fails that call
 * alone: Redis stays up for every other client. Errors that mean no call can succeed now still
 * mark it down, as an unreachable Redis does.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Redis } from 'ioredis';
import { DEFAULT_ADAPTIVE, type ConsumeRequest, type LimitSpec, type Logger, type RateSpec } from '@micboard/limiter-core';
import { createRedisStore, type RedisStore } from '@micboard/limiter-store/redis';
import { useSharedRedis } from './fixtures/shared-redis.js';

let client: Redis;
const { prefix } = useSharedRedis('call-errors', (connected) => (client = connected));

const spec: RateSpec = { algorithm: 'token-bucket', capacity: 5, refillPerSecond: 1, burst: 0 };
const adaptive = DEFAULT_ADAPTIVE;

function countingLogger(): Logger & { errors: string[]; infos: string[] } {
  const logger = {
    errors: [] as string[],
    infos: [] as string[],
    debug: () => undefined,
    info: (_fields: object, message: string) => {
      logger.infos.push(message);
    },
    warn: () => undefined,
    error: (_fields: object, message: string) => {
      logger.errors.push(message);
    },
  };
  return logger;
}

/**
 * Makes Redis answer every script call that names `tag`'s keys with a script error of its own (a
 * real error reply, from a script that fails); other calls go through. Every state the scripts
 * read is guarded, so no value left in Redis makes them fail any more. Returns the undo.
 */
function failScriptsOf(tag: string): () => void {
  const evalsha = client.evalsha.bind(client);
  (client as { evalsha: unknown }).evalsha = (...args: unknown[]) =>
    args.some((arg) => String(arg).includes(`{${tag}}`))
      ? client.eval("return redis.error_reply('ERR user_script:1: a failure on this client''s state')", 0)
      : (evalsha as (...a: unknown[]) => Promise<unknown>)(...args);
  return () => {
    (client as { evalsha: unknown }).evalsha = evalsha;
  };
}

/** Gives the request's limit a state through `store`, then overwrites it with `value`, as another program might. */
async function overwriteState(store: RedisStore, p: string, request: ConsumeRequest, value: string): Promise<string> {
  await store.consume(request);
  const [stateKey] = await client.keys(`${p}{${request.key}}:l:*`);
  await client.set(stateKey as string, value);
  return stateKey as string;
}

/** Each value with a plain request and with an adaptive one (a new client's multiplier is 1: the same limits). */
function plainAndAdaptive<T>(values: readonly T[]): (readonly [T, typeof adaptive | undefined])[] {
  return values.flatMap((v) => [[v, undefined], [v, adaptive]] as const);
}

describe('redis store: errors Redis answers for one call', () => {
  it("a script error on one client's state fails that call only; the next client is decided by Redis", async () => {
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger });
    expect((await store.consume({ key: 'poisoned', spec, cost: 1 })).allowed).toBe(true);
    const undo = failScriptsOf('poisoned');
    onTestFinished(undo);
    await expect(store.consume({ key: 'poisoned', spec, cost: 1 })).rejects.toThrow(/STORE_ERROR|failed/);
    // Redis answered: it is not down, and other clients are still decided there.
    expect(store.degraded).toBe(false);
    const other = await store.consume({ key: 'healthy', spec, cost: 1 });
    expect(other).toMatchObject({ allowed: true, remaining: 4 });
    // Logged, though not as an outage, and at most once a minute however often it recurs.
    await expect(store.consume({ key: 'poisoned', spec, cost: 1 })).rejects.toThrow();
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]).not.toMatch(/unreachable/);
    await store.close();
  });

  it('a score or index key of another type counts as none and is replaced, on every path that meets it', async () => {
    // Left in place, it would fail every call of the client until someone deleted it (it has no TTL).
    const p = prefix();
    const logger = countingLogger();
    const notes = { perKey: 10, flushMs: 1e9 };
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger, notes });
    const fixed: LimitSpec = { algorithm: 'fixed-window', limit: 3, windowMs: 3_600_000 };
    const foreign = async (key: string, which: 'score' | 'index'): Promise<void> => {
      await client.del(`${p}{${key}}:${which}`);
      await client.set(`${p}{${key}}:${which}`, 'not-a-hash');
    };
    const paths: [string, (key: string) => unknown][] = [
      ['a new bucket limit', (key) => store.consume({ key, limitId: `new-${key}`, spec, cost: 1, adaptive })],
      ['a bucket decision', (key) => store.consume({ key, spec, cost: 1, adaptive })],
      ['a window decision', (key) => store.consume({ key, spec: fixed, cost: 1, adaptive })],
      ['a decision carrying outcomes', (key) => (store.note(key, 'success', adaptive), store.consume({ key, spec, cost: 1, adaptive }))],
      ['a changed spec', (key) => store.consume({ key, spec: { ...spec, capacity: 6 }, cost: 1, adaptive })],
      ['a denial under a changed spec', (key) => store.consume({ key, spec: { ...spec, capacity: 6 }, cost: 100, adaptive })],
      ['a record', (key) => store.record(key, 'failure', adaptive)],
      ['an admin read', (key) => store.get(key)],
    ];
    for (const which of ['score', 'index'] as const) {
      for (const [label, run] of paths) {
        const key = `${which}-${label.replaceAll(' ', '-')}`;
        await store.record(key, 'success', adaptive);
        // A decision carrying an outcome: the score then keeps a bound on the index's lifetime.
        store.note(key, 'success', adaptive);
        await store.consume({ key, spec, cost: 1, adaptive });
        await foreign(key, which);
        // No error (a decision on a known bucket limit does not touch the index at all), and a key
        // written anew has a TTL.
        await run(key);
        const written = `${p}{${key}}:${which}`;
        if ((await client.type(written)) === 'hash') expect(await client.pttl(written), `${which}: ${label}`).toBeGreaterThan(0);
        // The client is decided again, and the key is replaced by the first path that writes it (a
        // read alone leaves it dropped).
        expect((await store.consume({ key, limitId: 'then', spec: fixed, cost: 1, adaptive })).allowed, `${which}: ${label}`).toBe(true);
        expect(await client.type(`${p}{${key}}:${which}`), `${which}: ${label}`).toMatch(/^(hash|none)$/);
      }
    }
    // Admin reset and cleanup get past one too.
    await store.consume({ key: 'reset-me', spec, cost: 1 });
    await foreign('reset-me', 'index');
    await store.reset('reset-me');
    await foreign('cleaned', 'index');
    await store.cleanup(0);
    expect(logger.errors).toEqual([]);
    expect(store.degraded).toBe(false);
    await store.close();
  });

  it('a token-bucket state the script cannot read counts as none and is replaced: the client is limited again', async () => {
    // Left in place, such a state would fail every call of the client until it expired, and a store
    // failing open would let the client through unlimited all that time.
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger });
    const values = ['not-a-number|x|y|z', 'garbage', '', 'nan|1795690000|29928166|tx', '1|2|inf|tx', '-inf', '12|1795690000|nope|t'];
    for (const [i, [value, scored]] of plainAndAdaptive(values).entries()) {
      const label = `${JSON.stringify(value)}${scored ? ' adaptive' : ''}`;
      const request = { key: `damaged-${i}`, spec, cost: 1, ...(scored ? { adaptive: scored } : {}) };
      const stateKey = await overwriteState(store, p, request, value);
      // A full bucket (capacity 5): this call and four more admitted, the sixth denied.
      const first = await store.consume(request);
      expect(first, label).toMatchObject({ allowed: true, remaining: 4, multiplier: 1 });
      for (let n = 0; n < 4; n++) expect((await store.consume(request)).allowed, label).toBe(true);
      expect((await store.consume(request)).allowed, label).toBe(false);
      expect(await client.get(stateKey), label).toMatch(/^\d+(\.\d+)?\|\d+\|\d+\|t/);
    }
    expect(logger.errors).toEqual([]);
    expect(store.degraded).toBe(false);
    await store.close();
  });

  it('a TAT text with spaces around it is read as Lua reads it; one JavaScript cannot read fails that call only', async () => {
    // The script replies with the TAT's text as stored, and the store decides again from it: both
    // must read the same number, or the store would admit a client Lua denied.
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger });
    // A minute ahead: the bucket (5 at 1/s) is empty for the next 55 s.
    const tat = String(Date.now() + 60_000);
    const spaced = [` ${tat}|1795690000|29928166|tx`, `${tat} |1795690000|29928166|tx`, ` ${tat}`, `${tat}\t`];
    for (const [i, [value, scored]] of plainAndAdaptive(spaced).entries()) {
      const label = `${JSON.stringify(value)}${scored ? ' adaptive' : ''}`;
      const request = { key: `spaced-${i}`, spec, cost: 1, ...(scored ? { adaptive: scored } : {}) };
      await overwriteState(store, p, request, value);
      const denied = await store.consume(request);
      expect(denied, label).toMatchObject({ allowed: false, remaining: 0, multiplier: 1 });
      expect(denied.retryAfter, label).toBeGreaterThan(50_000);
    }
    // Hexadecimal floats, which Lua's tonumber takes: read alike. One a minute ahead is kept by the
    // denials (it must not fail every call of the client), one in the past is admitted and replaced.
    const ahead = (Date.now() + 60_000).toString(16);
    for (const [i, [value, allowed]] of ([[`0x${ahead}p0`, false], [`0x${ahead}.8p0|1795690000|29928166|tx`, false], ['0x1p40|1795690000|29928166|tx', true]] as const).entries()) {
      const request = { key: `hex-${i}`, spec, cost: 1, adaptive };
      await overwriteState(store, p, request, value);
      for (let n = 0; n < 3; n++) expect((await store.consume(request)).allowed, value).toBe(allowed);
    }
    // A reply that reads as no number at all fails that call alone; Redis is not down.
    const evalsha = client.evalsha.bind(client);
    (client as { evalsha: unknown }).evalsha = () => Promise.resolve('1796594433 591000 0xzz 1');
    try {
      await expect(store.consume({ key: 'odd', spec, cost: 1, adaptive })).rejects.toThrow(/unexpected reply/);
    } finally {
      (client as { evalsha: unknown }).evalsha = evalsha;
    }
    expect(store.degraded).toBe(false);
    expect(await store.consume({ key: 'other', spec, cost: 1 })).toMatchObject({ allowed: true, remaining: 4 });
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]).not.toMatch(/unreachable/);
    await store.close();
  });

  it('window states the scripts cannot read count as none and are replaced: the client is limited again', async () => {
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger });
    const cases: { spec: LimitSpec; damage: (key: string, start: string) => Promise<unknown> }[] = [];
    const fixed: LimitSpec = { algorithm: 'fixed-window', limit: 3, windowMs: 3_600_000 };
    const approximate: LimitSpec = { algorithm: 'sliding-window', limit: 3, windowMs: 3_600_000, precision: 'approximate' };
    const exact: LimitSpec = { algorithm: 'sliding-window', limit: 3, windowMs: 3_600_000, precision: 'exact' };
    // `start` is the window start the first consume wrote: a damaged count beside a valid start.
    for (const fields of [['w', 'x', 'c', '1'], ['w', 'inf', 'c', '0'], ['c', 'nan'], ['c', ''], ['w', '-inf']]) {
      cases.push({ spec: fixed, damage: (key, start) => client.hset(key, 'w', start, ...fields) });
    }
    for (const fields of [['w', 'x'], ['p', 'nan'], ['c', 'inf'], ['c', 'many']]) {
      cases.push({ spec: approximate, damage: (key, start) => client.hset(key, 'w', start, 'p', '0', ...fields) });
    }
    // Scores within the window (an entry older than it is dropped unread).
    for (const [score, member] of [['now', 'garbage'], ['now', '5|x'], ['now', '2|-1'], ['+inf', '1|1'], ['now', '1|nan']] as const) {
      cases.push({ spec: exact, damage: (key) => client.zadd(key, score === 'now' ? String(Date.now()) : score, member) });
    }
    for (const [i, { spec: windowSpec, damage }] of cases.entries()) {
      const key = `window-${i}`;
      await store.consume({ key, spec: windowSpec, cost: 1 });
      const [stateKey] = await client.keys(`${p}{${key}}:l:*`);
      const start = windowSpec === exact ? '' : await client.hget(stateKey as string, 'w');
      await client.del(stateKey as string);
      await damage(stateKey as string, start as string);
      const label = `${JSON.stringify(windowSpec)} ${i}`;
      // Admin reads count it as none too: the whole limit left.
      expect((await store.get(key))?.limits['default'], label).toMatchObject({ limit: 3, remaining: 3 });
      // A fresh window (limit 3): this call and two more admitted, the fourth denied.
      expect(await store.consume({ key, spec: windowSpec, cost: 1 }), label).toMatchObject({ allowed: true, remaining: 2 });
      for (let n = 0; n < 2; n++) expect((await store.consume({ key, spec: windowSpec, cost: 1 })).allowed, label).toBe(true);
      expect((await store.consume({ key, spec: windowSpec, cost: 1 })).allowed, label).toBe(false);
      // A refund on the state now works too.
      await store.refund({ key, spec: windowSpec, cost: 1 });
      expect((await store.consume({ key, spec: windowSpec, cost: 1 })).allowed, label).toBe(true);
    }
    expect(logger.errors).toEqual([]);
    expect(store.degraded).toBe(false);
    await store.close();
  });

  it('a token-bucket refund or reserve on a state it cannot read treats it as none', async () => {
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger });
    await store.consume({ key: 'r', spec, cost: 1 });
    const [stateKey] = await client.keys(`${p}{r}:l:*`);
    await client.set(stateKey as string, 'nan|x|y|z');
    expect((await store.get('r'))?.limits['default']).toMatchObject({ limit: 5, remaining: 5 });
    // Nothing to give back from no state, and the next consume finds a full bucket (5).
    await store.refund({ key: 'r', spec, cost: 1 });
    expect(await store.consume({ key: 'r', spec, cost: 1 })).toMatchObject({ allowed: true, remaining: 4 });
    // A reserve's state (its own limit id), damaged: a full bucket, so 5 are granted at once.
    expect(await store.reserve('r', spec, 1, 0)).toMatchObject({ granted: true, delayMs: 0 });
    await client.set(`${p}{r}:l:reserve`, '12|garbage|1|t');
    expect(await store.reserve('r', spec, 5, 0)).toMatchObject({ granted: true, delayMs: 0 });
    expect(await store.reserve('r', spec, 1, 0)).toMatchObject({ granted: false });
    expect(logger.errors).toEqual([]);
    await store.close();
  });

  it('an adaptive score the scripts cannot read counts as none and is replaced by the next record', async () => {
    const p = prefix();
    const logger = countingLogger();
    const notes = { perKey: 10, flushMs: 1e9 };
    const store = createRedisStore({ client, prefix: p, onStoreError: 'throw', timeoutMs: 5000, logger, notes });
    const fixed: LimitSpec = { algorithm: 'fixed-window', limit: 3, windowMs: 3_600_000 };
    const damaged = [['m', 'x'], ['m', 'nan'], ['l', 'inf'], ['f', 'nan'], ['s', ''], ['x', '-inf'], ['r', 'many']];
    for (const [i, [field, value]] of damaged.entries()) {
      const key = `scored-${i}`;
      // A score above 1: four successes.
      for (let n = 0; n < 4; n++) await store.record(key, 'success', adaptive);
      const scoreKey = `${p}{${key}}:score`;
      expect(await client.exists(scoreKey)).toBe(1);
      await client.hset(scoreKey, field as string, value as string);
      const label = `${field}=${value}`;
      expect(await store.get(key), label).toMatchObject({ multiplier: 1, adaptive: undefined });
      // Read by a plain decision and a window decision: multiplier 1. Neither reads the request
      // count 'r', so with only 'r' damaged the score still scales them.
      const plain = await store.consume({ key, spec, cost: 1, adaptive });
      if (field !== 'r') expect(plain.multiplier, label).toBe(1);
      const windowed = await store.consume({ key, spec: fixed, cost: 1, adaptive });
      if (field !== 'r') expect(windowed.multiplier, label).toBe(1);
      // Outcomes carried with a decision, and a record: each replaces the whole score.
      store.note(key, 'failure', adaptive);
      const carried = await store.consume({ key, spec, cost: 1, adaptive });
      expect(carried.multiplier, label).toBeCloseTo(adaptive.failureFactor, 9);
      await client.hset(scoreKey, field as string, value as string);
      expect(await store.record(key, 'failure', adaptive), label).toBeCloseTo(adaptive.failureFactor, 9);
      const m = Number(await client.hget(scoreKey, 'm'));
      expect(Number.isFinite(m), label).toBe(true);
    }
    expect(logger.errors).toEqual([]);
    expect(store.degraded).toBe(false);
    await store.close();
  });

  it('a probe that Redis answers with such an error brings the store back up', async () => {
    const p = prefix();
    const logger = countingLogger();
    const store = createRedisStore({ client, prefix: p, onStoreError: 'fail-open', timeoutMs: 5000, probeIntervalMs: 1, logger });
    const evalsha = client.evalsha.bind(client);
    // Unreachable first: the store marks Redis down.
    (client as { evalsha: unknown }).evalsha = () => Promise.reject(new Error('Connection is closed.'));
    try {
      await store.consume({ key: 'a', spec, cost: 1 });
      expect(store.degraded).toBe(true);
    } finally {
      (client as { evalsha: unknown }).evalsha = evalsha;
    }
    // Redis answers this client's calls with a script error (see the first test).
    onTestFinished(failScriptsOf('a'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The probe reaches Redis, which answers with a script error for this client: Redis is back.
    await store.consume({ key: 'a', spec, cost: 1 });
    expect(store.degraded).toBe(false);
    expect((await store.consume({ key: 'b', spec, cost: 1 })).remaining).toBe(4);
    await store.close();
  });

  for (const reply of ['LOADING Redis is loading the dataset in memory', 'READONLY You can\'t write against a read only replica.', 'BUSY Redis is busy running a script.']) {
    it(`"${reply.split(' ')[0]}" still marks Redis down: no call can succeed there now`, async () => {
      const store = createRedisStore({ client, prefix: prefix(), onStoreError: 'fail-open', timeoutMs: 5000, logger: countingLogger() });
      const evalsha = client.evalsha.bind(client);
      const error = Object.assign(new Error(reply), { name: 'ReplyError' });
      (client as { evalsha: unknown }).evalsha = () => Promise.reject(error);
      try {
        expect((await store.consume({ key: 'a', spec, cost: 1 })).allowed).toBe(true);
        expect(store.degraded).toBe(true);
      } finally {
        (client as { evalsha: unknown }).evalsha = evalsha;
      }
      await store.close();
    });
  }
});

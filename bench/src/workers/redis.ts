/**
 * Worker: one implementation against the bench's own Redis: throughput with many decisions in
 * flight, latency with one, round trips, Redis CPU, bytes on the wire and memory per key.
 */
import { Redis } from 'ioredis';
import { RedisStore } from 'rate-limit-redis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { ALLOW_CAPACITY, ALLOW_REFILL_PER_SECOND } from '../lib/impls.js';
import { makeKeys } from '../lib/keys.js';
import type { RedisImplName } from '../lib/names.js';
import { bucketSpec, loadRedisStore } from '../lib/ours.js';
import { ADMIN_COMMANDS, commandCalls, num, parseInfo, SCRIPT_COMMANDS, type Info } from '../lib/redis-info.js';
import { median, quantile } from '../lib/stats.js';
import { workerMain } from '../lib/worker.js';


export interface RedisPayload {
  readonly impl: RedisImplName;
  readonly port: number;
  readonly keys: number;
  /** Decisions per throughput round. */
  readonly ops: number;
  readonly rounds: number;
  readonly inflight: number;
  /** Decisions timed one at a time for latency. */
  readonly latencyOps: number;
}

export type RedisResult =
  | { readonly available: false; readonly reason: string }
  | {
      readonly available: true;
      /** Decisions per second with `inflight` in flight (median of rounds). */
      readonly throughput: number;
      /** The bare `EVALSHA return 1` on the same connection, interleaved with the rounds above. */
      readonly bareThroughput: number;
      readonly throughputVsBare: number;
      /** Latency of one decision in flight, µs. */
      readonly p50us: number;
      readonly p99us: number;
      readonly bareP50us: number;
      readonly p50VsBare: number;
      /** Requests the client sent per decision (counted at the ioredis client). */
      readonly roundTrips: number;
      /** Script invocations (EVALSHA/EVAL/FCALL) per decision, from INFO commandstats. */
      readonly scriptCalls: number;
      /** Every command Redis ran per decision, nested ones included, from INFO commandstats. */
      readonly commands: Readonly<Record<string, number>>;
      /** Redis CPU (user + sys) per decision, µs. */
      readonly cpuUs: number;
      /** Bytes in + out on the wire per decision. */
      readonly bytes: number;
      /** Redis used_memory per client key, bytes (undefined when the implementation keeps no state). */
      readonly memoryPerKey: number | undefined;
      readonly admittedRate: number;
    };

type Decide = (key: string) => Promise<boolean>;

async function create(name: RedisImplName, client: Redis): Promise<{ ok: true; decide: Decide } | { ok: false; reason: string }> {
  const admitted = (): boolean => true;
  const refused = (): boolean => false;
  switch (name) {
    case 'ours':
    case 'ours-local-time':
    case 'ours-unbatched': {
      const loaded = await loadRedisStore();
      if (!loaded.ok) return loaded;
      // 'throw' and a long timeout: a Redis hiccup must fail the run, never be answered from the
      // store's in-memory fallback (which would then be what got measured). Defaults otherwise;
      // the second row opts in to the local clock instead of Redis TIME.
      const store = loaded.module.createRedisStore({
        client,
        onStoreError: 'throw',
        timeoutMs: 10_000,
        ...(name === 'ours-local-time' ? { timeSource: 'local' } : {}),
        ...(name === 'ours-unbatched' ? { batchWrites: false } : {}),
      });
      const spec = bucketSpec(ALLOW_CAPACITY, ALLOW_REFILL_PER_SECOND);
      return {
        ok: true,
        decide: async (key) => (await store.consume({ key, spec, cost: 1 })).allowed,
      };
    }
    case 'bare-batched': {
      // The bare call, written as the store's batchWrites writes: while another call is in
      // flight, the socket is corked until the event loop's check phase.
      const sha = (await client.script('LOAD', 'return 1')) as string;
      let inflight = 0;
      let held = false;
      const release = (socket: typeof client.stream): void => {
        held = false;
        socket.uncork();
      };
      const settled = (): boolean => {
        inflight--;
        return true;
      };
      return {
        ok: true,
        decide: () => {
          if (inflight > 0 && !held) {
            held = true;
            client.stream.cork();
            setImmediate(release, client.stream);
          }
          inflight++;
          return client.evalsha(sha, 0).then(settled);
        },
      };
    }
    case 'rate-limiter-flexible': {
      const limiter = new RateLimiterRedis({ storeClient: client, points: 1e15, duration: 3600, keyPrefix: 'rlf' });
      return { ok: true, decide: (key) => limiter.consume(key, 1).then(admitted, refused) };
    }
    case 'rate-limit-redis': {
      const store = new RedisStore({
        sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<never>,
      });
      store.init({ windowMs: 3_600_000 } as Parameters<typeof store.init>[0]);
      await store.incrementScriptSha;
      const limit = 1e15;
      return { ok: true, decide: async (key) => (await store.increment(key)).totalHits <= limit };
    }
  }
}

/** Runs `ops` decisions over the keys in turn with `inflight` outstanding; returns admitted count. */
async function drive(decide: Decide, keys: readonly string[], ops: number, inflight: number, offset: number): Promise<number> {
  let next = 0;
  let admitted = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < ops; i = next++) {
      if (await decide(keys[(offset + i) % keys.length] as string)) admitted++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inflight, ops) }, lane));
  return admitted;
}

workerMain<RedisPayload, RedisResult>(async (payload) => {
  const options = { host: '127.0.0.1', port: payload.port, enableAutoPipelining: false, maxRetriesPerRequest: 1 };
  const client = new Redis(options);
  // INFO and CONFIG go over their own connection so they never queue behind decisions.
  const admin = new Redis(options);
  try {
    await admin.flushall();
    const info = async (): Promise<Info> => parseInfo(await admin.info('all'));
    const created = await create(payload.impl, client);
    if (!created.ok) return { available: false, reason: created.reason };
    const impl = created.decide;
    // The baseline runs on the same connection, interleaved with the implementation, so both
    // see the same machine load: on a shared machine only such paired ratios are stable.
    const bareSha = (await client.script('LOAD', 'return 1')) as string;
    const bare: Decide = () => client.evalsha(bareSha, 0).then(() => true);

    let sent = 0;
    const send = client.sendCommand.bind(client);
    client.sendCommand = ((...args: Parameters<typeof send>) => {
      sent++;
      return send(...args);
    }) as typeof client.sendCommand;

    const keys = makeKeys(payload.keys);
    const memBefore = num(await info(), 'used_memory');
    // Warm-up pass: creates every client's state, so the timed rounds measure existing clients.
    await drive(impl, keys, keys.length, payload.inflight, 0);
    const memAfter = num(await info(), 'used_memory');
    const dbsize = await admin.dbsize();
    await drive(bare, keys, Math.min(keys.length, 20_000), payload.inflight, 0);

    const rates: number[] = [];
    const bareRates: number[] = [];
    const calls = new Map<string, number>();
    let cpuSeconds = 0;
    let netBytes = 0;
    let implSent = 0;
    let admitted = 0;
    const cpu = (i: Info): number => num(i, 'used_cpu_user') + num(i, 'used_cpu_sys');
    const net = (i: Info): number => num(i, 'total_net_input_bytes') + num(i, 'total_net_output_bytes');
    for (let round = 0; round < payload.rounds; round++) {
      let t0 = process.hrtime.bigint();
      await drive(bare, keys, payload.ops, payload.inflight, 0);
      bareRates.push(payload.ops / (Number(process.hrtime.bigint() - t0) / 1e9));

      const before = await info();
      const sentBefore = sent;
      t0 = process.hrtime.bigint();
      admitted += await drive(impl, keys, payload.ops, payload.inflight, round * payload.ops);
      rates.push(payload.ops / (Number(process.hrtime.bigint() - t0) / 1e9));
      implSent += sent - sentBefore;
      const after = await info();
      cpuSeconds += cpu(after) - cpu(before);
      netBytes += net(after) - net(before);
      const callsBefore = commandCalls(before);
      for (const [command, count] of commandCalls(after)) {
        calls.set(command, (calls.get(command) ?? 0) + count - (callsBefore.get(command) ?? 0));
      }
    }
    const decisions = payload.ops * payload.rounds;
    const commands: Record<string, number> = {};
    let scriptCalls = 0;
    for (const [command, count] of calls) {
      // INFO itself is counted by the snapshot that follows it; admin traffic is not a decision's.
      if (ADMIN_COMMANDS.has(command) || count === 0) continue;
      commands[command] = count / decisions;
      if (SCRIPT_COMMANDS.has(command)) scriptCalls += count / decisions;
    }

    // Latency with one in flight, in alternating blocks of the baseline and the implementation.
    const latencies: number[] = [];
    const bareLatencies: number[] = [];
    const block = 250;
    for (let done = 0; done < payload.latencyOps; done += block) {
      for (const [decide, into] of [[bare, bareLatencies], [impl, latencies]] as const) {
        for (let i = done; i < Math.min(done + block, payload.latencyOps); i++) {
          const t0 = process.hrtime.bigint();
          await decide(keys[i % keys.length] as string);
          into.push(Number(process.hrtime.bigint() - t0) / 1000);
        }
      }
    }
    await admin.flushall();
    const throughput = median(rates);
    const bareThroughput = median(bareRates);
    const p50us = quantile(latencies, 0.5);
    const bareP50us = quantile(bareLatencies, 0.5);
    return {
      available: true,
      throughput,
      bareThroughput,
      throughputVsBare: throughput / bareThroughput,
      p50us,
      p99us: quantile(latencies, 0.99),
      bareP50us,
      p50VsBare: p50us / bareP50us,
      roundTrips: implSent / decisions,
      scriptCalls,
      commands,
      // INFO's own few kB per round are in these deltas: negligible at full size, visible in smoke.
      cpuUs: (cpuSeconds * 1e6) / decisions,
      bytes: netBytes / decisions,
      memoryPerKey: dbsize > 0 ? (memAfter - memBefore) / keys.length : undefined,
      admittedRate: admitted / decisions,
    };
  } finally {
    client.disconnect();
    admin.disconnect();
  }
});

import { createHash } from 'node:crypto';
import type { Logger } from '@micboard/limiter-core';
import type { Cluster, Redis } from 'ioredis';

/** One argument of a Redis command. */
export type RedisArg = string | number;

/** One Redis node as the store calls it (ioredis's `Redis`). */
export type RedisNodeLike = Pick<Redis, 'evalsha' | 'eval' | 'scan'>;

/**
 * The client you pass: an ioredis `Redis` or `Cluster`, typed by just the methods the store
 * calls (ioredis stays an optional peer dependency). On a cluster (`isCluster: true`) scripts
 * are routed by their first key and the admin listing scans every master from `nodes('master')`.
 */
export type RedisClientLike =
  | (Pick<Redis, 'evalsha' | 'eval' | 'scan' | 'isCluster'> & { readonly options?: unknown })
  | (Pick<Cluster, 'evalsha' | 'eval' | 'nodes' | 'isCluster'> & { readonly options?: unknown });

/** The plain call shapes used internally (ioredis's overloads collapse to these). */
export interface ScriptCaller {
  evalsha(sha1: string, numkeys: number, ...args: RedisArg[]): Promise<unknown>;
  eval(script: string, numkeys: number, ...args: RedisArg[]): Promise<unknown>;
}

/** SCAN as used internally. */
export interface Scanner {
  scan(cursor: string, ...args: RedisArg[]): Promise<[cursor: string, elements: string[]]>;
}

/** A Lua script with its SHA1, for EVALSHA. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Whether Redis answered NOSCRIPT: the script cache does not hold the script (flushed, or a new node). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs a script in one round trip: EVALSHA, and on NOSCRIPT (script cache flushed, server
 * restarted or failed over) EVAL, which also loads it again for the next EVALSHA.
 */
export async function runScript(
  client: ScriptCaller,
  script: LuaScript,
  keys: readonly string[],
  args: readonly RedisArg[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return client.eval(script.source, keys.length, ...keys, ...args);
  }
}

/** A socket as the batching below uses it (Node's `net.Socket`, `tls.TLSSocket`). */
interface Corkable {
  cork(): void;
  uncork(): void;
}

function corkable(stream: unknown): stream is Corkable {
  return typeof stream === 'object' && stream !== null && typeof (stream as Corkable).cork === 'function' && typeof (stream as Corkable).uncork === 'function';
}

// Taken when this module loads: a test that fakes timers afterwards (Vitest, Jest, sinon fake
// setImmediate) must not leave the client's socket corked until it advances them. A runtime
// without setImmediate releases on a timer instead.
const checkPhase: (callback: () => void) => unknown =
  typeof globalThis.setImmediate === 'function' ? globalThis.setImmediate : (callback) => setTimeout(callback, 0);

/**
 * Writes coalesced per turn of the event loop. ioredis writes every command to its socket at
 * once: one system call per command, which under load costs the process more than the rest of a
 * decision. The returned `hold()` corks the client's socket (a cluster's: every node's) until the
 * next check phase (`setImmediate`, as ioredis's own auto-pipelining waits), so every command
 * sent until then (by the store, or by anyone else on that client; the requests of every
 * connection that became readable together) leaves in one `writev`. Replies are unaffected, and
 * so is the order of commands. A client that exposes no socket (not ioredis, or not connected
 * yet) sends as it always does.
 */
export function writeBatcher(client: RedisClientLike): () => void {
  const source = client as { readonly stream?: unknown; readonly isCluster?: boolean; nodes?: (role: 'all') => readonly { readonly stream?: unknown }[] };
  let held: Corkable[] | undefined;
  const release = (): void => {
    const streams = held as Corkable[];
    held = undefined;
    for (const stream of streams) {
      try {
        stream.uncork();
      } catch {
        // A socket that cannot flush fails its commands through the client's own error path;
        // the others must still be released.
      }
    }
  };
  return (): void => {
    if (held !== undefined) return;
    // Read each time: ioredis makes a new socket on every reconnect.
    const streams =
      source.isCluster === true && typeof source.nodes === 'function' ? source.nodes('all').map((node) => node.stream) : [source.stream];
    const corked: Corkable[] = [];
    for (const stream of streams) {
      if (!corkable(stream)) continue;
      try {
        stream.cork();
        corked.push(stream);
      } catch {
        // Not corked: that socket writes as it always does.
      }
    }
    if (corked.length === 0) return;
    held = corked;
    checkPhase(release);
  };
}

/**
 * Warns (once, at construction) about ioredis options that turn an outage into hung requests
 * or late replays: the offline queue holds commands while disconnected and sends them on
 * reconnect (a burst of stale decisions that double-count); per-request retries and the resend
 * of unanswered commands do the same after a reconnect.
 */
export function warnRiskyOptions(client: RedisClientLike, logger: Logger): void {
  const options = (client.options ?? {}) as Record<string, unknown>;
  const nodeOptions = (client.isCluster ? (options['redisOptions'] ?? {}) : options) as Record<string, unknown>;
  const risks: string[] = [];
  if (options['enableOfflineQueue'] !== false) {
    risks.push('enableOfflineQueue is not false: commands queue during an outage and replay late');
  }
  const retries = nodeOptions['maxRetriesPerRequest'];
  if (retries === null || (typeof retries === 'number' && retries > 1) || (retries === undefined && !client.isCluster)) {
    risks.push(`maxRetriesPerRequest is ${retries === undefined ? 'the default (20)' : String(retries)}: use 0 or 1`);
  }
  if (nodeOptions['autoResendUnfulfilledCommands'] !== false && !client.isCluster) {
    risks.push('autoResendUnfulfilledCommands is not false: unanswered decisions are re-sent after a reconnect');
  }
  if (risks.length > 0) {
    logger.warn(
      { risks, recommended: { enableOfflineQueue: false, maxRetriesPerRequest: 1, autoResendUnfulfilledCommands: false } },
      'redis store: risky ioredis client options for a rate limiter',
    );
  }
}

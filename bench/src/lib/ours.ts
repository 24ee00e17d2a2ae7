/**
 * Loads our own packages lazily. The bench must keep running (and say why) while a package is
 * missing or unbuilt, so imports are dynamic and typed here by the little the bench calls.
 */
import type { MaybePromise, Store, StoreDecision, TokenBucketSpec } from '@micboard/limiter-core';

export interface MemoryStoreModule {
  createMemoryStore(options?: { maxKeys?: number }): Store & {
    consume(request: Parameters<Store['consume']>[0]): StoreDecision;
  };
}

/** The part of the engine's request the bench fills in. */
export interface EngineRequest {
  readonly method: string;
  readonly path: string;
  readonly ip: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface EngineResult {
  readonly decision: StoreDecision;
}

export interface EngineModule {
  createLimiter(options: {
    store: Store;
    profiles?: Record<string, { capacity: number; refillPerSecond: number; burst: number }>;
  }): { check(request: EngineRequest): MaybePromise<EngineResult> };
}

export interface RedisStoreModule {
  createRedisStore(options: { client: unknown; [option: string]: unknown }): Store;
}

export type Loaded<T> = { ok: true; module: T } | { ok: false; reason: string };

async function load<T>(specifier: string, check: (module: Record<string, unknown>) => string | undefined): Promise<Loaded<T>> {
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    const missing = check(module);
    return missing ? { ok: false, reason: `${specifier}: ${missing}` } : { ok: true, module: module as T };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { ok: false, reason: `${specifier}: ${message}` };
  }
}

const needs = (name: string) => (module: Record<string, unknown>) =>
  typeof module[name] === 'function' ? undefined : `no export ${name}()`;

export const loadMemoryStore = (): Promise<Loaded<MemoryStoreModule>> =>
  load('@micboard/limiter-store', needs('createMemoryStore'));

export const loadRedisStore = (): Promise<Loaded<RedisStoreModule>> =>
  load('@micboard/limiter-store/redis', needs('createRedisStore'));

export const loadExpress = (): Promise<Loaded<Record<string, unknown>>> => load('@micboard/limiter-express', () => undefined);

export const loadKoa = (): Promise<Loaded<Record<string, unknown>>> => load('@micboard/limiter-koa', () => undefined);



/** A token-bucket spec as plain data (the same shape `tokenBucket()` returns). */
export function bucketSpec(capacity: number, refillPerSecond: number): TokenBucketSpec {
  return { algorithm: 'token-bucket', capacity, refillPerSecond, burst: 0 };
}

export const loadEngine = (): Promise<Loaded<EngineModule>> => load('@micboard/limiter-core', needs('createLimiter'));

import type { HttpRequest, Logger, Store } from '@micboard/limiter-core';
import { createReferenceStore, ManualClock } from '@micboard/limiter-core/testing';

export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

export function recordingLogger(): Logger & { lines: { level: string; fields: Record<string, unknown>; message: string }[] } {
  const lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function setup() {
  const clock = new ManualClock(T0);
  const store = createReferenceStore({ clock });
  const logger = recordingLogger();
  return { clock, store, logger };
}

/** The same store answering every call with a promise, as a Redis store would. */
export function asyncStore(store: Store): Store {
  return {
    name: 'async',
    now: () => (store.now ? store.now() : 0),
    consume: async (r) => store.consume(r),
    refund: async (r) => store.refund(r),
    reserve: async (k, s, c, m) => store.reserve(k, s, c, m),
    record: async (k, o, a) => store.record(k, o, a),
    get: async (k) => store.get(k),
    reset: async (k) => store.reset(k),
    list: async (o) => store.list(o),
    cleanup: async (ms) => store.cleanup(ms),
    getConfig: async () => store.getConfig(),
    setConfig: async (d, o) => store.setConfig(d, o),
  };
}

/** A store whose every call fails, synchronously or with a rejected promise. */
export function brokenStore(mode: 'throw' | 'reject'): Store {
  const fail = (): never => {
    throw new Error('store down');
  };
  const f = mode === 'throw' ? fail : () => Promise.reject(new Error('store down'));
  return {
    name: 'broken',
    consume: f,
    refund: f,
    reserve: f,
    record: f,
    get: f,
    reset: f,
    list: f,
    cleanup: f,
    getConfig: f,
    setConfig: f,
  } as unknown as Store;
}

export const req = (extra: Partial<HttpRequest> = {}): HttpRequest => ({
  method: 'GET',
  path: '/api/data',
  ip: '203.0.113.7',
  headers: {},
  ...extra,
});

/** Unwraps a synchronous MaybePromise, failing the test if it was a promise. */
export function sync<T>(value: T | Promise<T>): T {
  if (value instanceof Promise) throw new Error('expected a synchronous answer');
  return value;
}

/**
 * Bytes per key and ns per decision of the memory store against the floor (a minimal
 * Map<string, {tokens, last}> bucket). Each timing runs in its own process, so every call site
 * stays monomorphic (as in the repository's bench). Reports figures; it is not a test.
 * Run: node --expose-gc --import tsx bench/memory-store.ts [keys]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TokenBucketSpec } from '@micboard/limiter-core';
import { createMemoryStore } from '../src/index.js';

const HUGE = 1e12;
const self = fileURLToPath(import.meta.url);

function floor(capacity: number, refill: number) {
  const buckets = new Map<string, { tokens: number; last: number }>();
  const perMs = refill / 1000;
  return {
    take(key: string, cost: number): boolean {
      const now = Date.now();
      let b = buckets.get(key);
      if (b === undefined) {
        b = { tokens: capacity, last: now };
        buckets.set(key, b);
      } else if (now > b.last) {
        b.tokens = Math.min(capacity, b.tokens + (now - b.last) * perMs);
        b.last = now;
      }
      if (b.tokens < cost) return false;
      b.tokens -= cost;
      return true;
    },
  };
}

const keyFor = (i: number): string => `ip:10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

function worker(impl: string, mode: string, n: number): void {
  const keys = Array.from({ length: n }, (_, i) => keyFor(i));
  const gc = (globalThis as { gc?: () => void }).gc;
  if (mode === 'memory') {
    const heap = (): number => {
      gc?.();
      gc?.();
      return process.memoryUsage().heapUsed;
    };
    const realistic: TokenBucketSpec = { algorithm: 'token-bucket', capacity: 100, refillPerSecond: 1, burst: 0 };
    const before = heap();
    let held: unknown;
    if (impl === 'floor') {
      const f = floor(100, 1);
      for (const k of keys) f.take(k, 1);
      held = f;
    } else {
      const s = createMemoryStore({ maxKeys: n * 2 });
      for (const k of keys) s.consume({ key: k, spec: realistic, cost: 1 });
      held = s;
    }
    const after = heap();
    process.stdout.write(`${((after - before) / n).toFixed(1)}${held ? '' : '?'}`);
    return;
  }
  const allow = mode === 'allow';
  const capacity = allow ? HUGE : 1;
  const refill = allow ? HUGE : 1e-9;
  let decide: (key: string) => boolean;
  if (impl === 'floor') {
    const f = floor(capacity, refill);
    decide = (key) => f.take(key, 1);
  } else {
    const spec: TokenBucketSpec = { algorithm: 'token-bucket', capacity, refillPerSecond: refill, burst: 0 };
    const s = createMemoryStore({ maxKeys: n * 2 });
    decide = (key) => s.consume({ key, spec, cost: 1 }).allowed;
  }
  let admitted = 0;
  let best = Infinity;
  for (let round = 0; round < 12; round++) {
    const start = process.hrtime.bigint();
    for (let r = 0; r < 20; r++) for (const k of keys) if (decide(k)) admitted++;
    best = Math.min(best, Number(process.hrtime.bigint() - start) / (20 * keys.length));
  }
  process.stdout.write(`${best.toFixed(1)}${admitted < 0 ? '?' : ''}`);
}

if (process.argv[2] === 'worker') {
  worker(process.argv[3] as string, process.argv[4] as string, Number(process.argv[5]));
} else {
  const n = Number(process.argv[2] ?? 1_000_000);
  const run = (impl: string, mode: string, keys: number): number =>
    Number(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, 'worker', impl, mode, String(keys)]).toString());
  const floorBytes = run('floor', 'memory', n);
  const ourBytes = run('ours', 'memory', n);
  console.log(`bytes/key at ${n} keys (key strings excluded): floor ${floorBytes}, memory store ${ourBytes} (${(ourBytes / floorBytes).toFixed(2)}x)`);
  for (const mode of ['allow', 'deny']) {
    const f = run('floor', mode, 10_000);
    const o = run('ours', mode, 10_000);
    console.log(`ns/decision ${mode} (10k hot keys): floor ${f}, memory store ${o} (${(o / f).toFixed(2)}x)`);
  }
}

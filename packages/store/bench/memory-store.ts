/**
 * Bytes per key and ns per decision of the memory store against the floor (a minimal
 * Map<string, {tokens, last}> bucket). Reports figures; it is not a test.
 * Run: node --expose-gc --import tsx bench/memory-store.ts [keys]
 */
import type { TokenBucketSpec } from '@micboard/limiter-core';
import { createMemoryStore } from '../src/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const keys = Array.from({ length: N }, (_, i) => `ip:10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

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

function memory(label: string, fill: () => unknown): void {
  const before = heap();
  const held = fill();
  const after = heap();
  console.log(`${label}: ${((after - before) / N).toFixed(1)} B/key`);
  if (held === undefined) throw new Error('unreachable');
}

function timeIt(label: string, decide: (key: string) => boolean, keySet: string[], rounds: number): number {
  let admitted = 0;
  for (let r = 0; r < 2; r++) for (const k of keySet) if (decide(k)) admitted++;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const k of keySet) if (decide(k)) admitted++;
  const ns = Number(process.hrtime.bigint() - start) / (rounds * keySet.length);
  console.log(`${label}: ${ns.toFixed(1)} ns/decision (${admitted})`);
  return ns;
}

const HUGE = 1e12;
const spec: TokenBucketSpec = { algorithm: 'token-bucket', capacity: HUGE, refillPerSecond: HUGE, burst: 0 };
const realistic: TokenBucketSpec = { algorithm: 'token-bucket', capacity: 100, refillPerSecond: 1, burst: 0 };
memory('floor', () => {
  const f = floor(HUGE, HUGE);
  for (const k of keys) f.take(k, 1);
  return f;
});
memory('memory store', () => {
  const s = createMemoryStore({ maxKeys: N * 2 });
  for (const k of keys) s.consume({ key: k, spec: realistic, cost: 1 });
  return s;
});

const hot = keys.slice(0, 10_000);
const f = floor(HUGE, HUGE);
const s = createMemoryStore({ maxKeys: N * 2 });
const denySpec: TokenBucketSpec = { algorithm: 'token-bucket', capacity: 1, refillPerSecond: 1e-9, burst: 0 };
const fd0 = floor(1, 1e-9);
const sd0 = createMemoryStore({ maxKeys: N * 2 });
// Interleaved rounds, best of each: the machine is shared, so the minimum is the least noisy figure.
const best = { fa: Infinity, sa: Infinity, fd: Infinity, sd: Infinity };
for (let round = 0; round < 5; round++) {
  best.fa = Math.min(best.fa, timeIt('floor allow', (k) => f.take(k, 1), hot, 100));
  best.sa = Math.min(best.sa, timeIt('store allow', (k) => s.consume({ key: k, spec, cost: 1 }).allowed, hot, 100));
  best.fd = Math.min(best.fd, timeIt('floor deny', (k) => fd0.take(k, 1), hot, 100));
  best.sd = Math.min(best.sd, timeIt('store deny', (k) => sd0.consume({ key: k, spec: denySpec, cost: 1 }).allowed, hot, 100));
}
console.log(`best ns: ${JSON.stringify(best)}; ratio allow ${(best.sa / best.fa).toFixed(2)}x, deny ${(best.sd / best.fd).toFixed(2)}x`);

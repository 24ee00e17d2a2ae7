/**
 * Worker: heap bytes per key and ns per decision with `keys` clients, for one implementation.
 * Run with --expose-gc in a fresh process, so the heap delta is this implementation's alone.
 */
import { createInProcess, type InProcessName } from '../lib/impls.js';
import { keyFor, makeKeys } from '../lib/keys.js';
import { median } from '../lib/stats.js';
import { timeLoop } from '../lib/timing.js';
import { settledHeap, workerMain } from '../lib/worker.js';

export interface KeysPayload {
  readonly impl: InProcessName;
  readonly keys: number;
  /** Decisions per timed round (after the heap measurement); at least one pass over the keys is advisable. */
  readonly ops: number;
  readonly rounds: number;
}

export type KeysResult =
  | { readonly available: false; readonly reason: string }
  | { readonly available: true; readonly bytesPerKey: number; readonly ns: number; readonly admittedRate: number };

workerMain<KeysPayload, KeysResult>(async ({ impl: name, keys: keyCount, ops, rounds }) => {
  const created = await createInProcess(name, 'allow', keyCount);
  if (!created.ok) return { available: false, reason: created.reason };
  const impl = created.impl;
  // Warm the code paths on keys outside the measured range, then forget nothing: they stay as a
  // constant offset well under a byte per key at 1M keys and under 1% at 1k.
  await timeLoop(impl, ['warm:a', 'warm:b'], 1000);

  const before = settledHeap();
  // Keys are built inside the loop and kept only by the limiter: the key string is part of the cost.
  if (impl.sync) {
    for (let i = 0; i < keyCount; i++) impl.decide(keyFor(i));
  } else {
    for (let i = 0; i < keyCount; i++) await impl.decide(keyFor(i));
  }
  const after = settledHeap();
  const bytesPerKey = (after - before) / keyCount;

  // Equal-content strings built anew: lookups hash and compare, as for a new request's key.
  const keys = makeKeys(keyCount);
  const roundOps = Math.max(ops, keyCount);
  await timeLoop(impl, keys, Math.min(roundOps, 200_000));
  const samples: number[] = [];
  let admitted = 0;
  for (let round = 0; round < rounds; round++) {
    const result = await timeLoop(impl, keys, roundOps);
    samples.push(result.ns);
    admitted += result.admitted;
  }
  return { available: true, bytesPerKey, ns: median(samples), admittedRate: admitted / (roundOps * rounds) };
});

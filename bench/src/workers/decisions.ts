/** Worker: ns per in-process decision for one implementation in one scenario. */
import { createInProcess, type InProcessName, type Mode } from '../lib/impls.js';
import { makeKeys } from '../lib/keys.js';
import { median } from '../lib/stats.js';
import { timeLoop } from '../lib/timing.js';
import { workerMain } from '../lib/worker.js';

export interface DecisionsPayload {
  readonly impl: InProcessName;
  readonly mode: Mode;
  readonly keys: number;
  readonly ops: number;
  readonly rounds: number;
}

export type DecisionsResult =
  | { readonly available: false; readonly reason: string }
  | {
      readonly available: true;
      /** Median ns per decision over the rounds. */
      readonly ns: number;
      readonly nsMin: number;
      /** Fraction of measured decisions that admitted (1 for `allow`, 0 for `deny`). */
      readonly admittedRate: number;
    };

workerMain<DecisionsPayload, DecisionsResult>(async ({ impl: name, mode, keys: keyCount, ops, rounds }) => {
  const created = await createInProcess(name, mode, keyCount);
  if (!created.ok) return { available: false, reason: created.reason };
  const impl = created.impl;
  // Warm up: create every key once (the measured rounds see existing clients) and let the JIT settle.
  await timeLoop(impl, makeKeys(keyCount), Math.max(keyCount, Math.min(ops, 200_000)));
  // Measure with equal-content but distinct strings, as each request brings its own key string:
  // a lookup then compares contents, never just the pointer of the string the limiter stored.
  const keys = makeKeys(keyCount);
  const samples: number[] = [];
  let admitted = 0;
  for (let round = 0; round < rounds; round++) {
    const result = await timeLoop(impl, keys, ops);
    samples.push(result.ns);
    admitted += result.admitted;
  }
  return { available: true, ns: median(samples), nsMin: Math.min(...samples), admittedRate: admitted / (ops * rounds) };
});

/** Timed loops over `decide(key)`, with the keys taken in turn. */
import type { InProcess } from './impls.js';

export interface LoopResult {
  /** Nanoseconds per decision. */
  readonly ns: number;
  /** Decisions that admitted. */
  readonly admitted: number;
}

function syncLoop(decide: (key: string) => boolean, keys: readonly string[], ops: number): number {
  let admitted = 0;
  const n = keys.length;
  let j = 0;
  for (let i = 0; i < ops; i++) {
    if (decide(keys[j] as string)) admitted++;
    if (++j === n) j = 0;
  }
  return admitted;
}

async function asyncLoop(decide: (key: string) => Promise<boolean>, keys: readonly string[], ops: number): Promise<number> {
  let admitted = 0;
  const n = keys.length;
  let j = 0;
  for (let i = 0; i < ops; i++) {
    if (await decide(keys[j] as string)) admitted++;
    if (++j === n) j = 0;
  }
  return admitted;
}

/** Runs `ops` decisions one after another and times them. */
export async function timeLoop(impl: InProcess, keys: readonly string[], ops: number): Promise<LoopResult> {
  const start = process.hrtime.bigint();
  const admitted = impl.sync ? syncLoop(impl.decide, keys, ops) : await asyncLoop(impl.decide, keys, ops);
  const elapsed = Number(process.hrtime.bigint() - start);
  return { ns: elapsed / ops, admitted };
}

/** Sizes of every scenario, for the full run and for the CI smoke run. */
import type { Target } from './lib/worker.js';

export type Section = 'decisions' | 'growth' | 'redis' | 'http';
export const SECTIONS: readonly Section[] = ['decisions', 'growth', 'redis', 'http'];

export interface Config {
  readonly mode: 'full' | 'smoke';
  readonly target: Target;
  readonly sections: ReadonlySet<Section>;
  /** Our packages must load: a missing one fails the run instead of being reported. */
  readonly requireOurs: boolean;
  readonly decisions: {
    /** Distinct keys of the "many keys" scenario. */
    readonly manyKeys: number;
    readonly ops: number;
    readonly rounds: number;
    /** Each worker runs this many times, interleaved with the others; the median is kept. */
    readonly repeats: number;
  };
  readonly growth: { readonly sizes: readonly number[]; readonly ops: number; readonly rounds: number };
  readonly redis: {
    readonly keys: number;
    readonly ops: number;
    readonly rounds: number;
    readonly inflight: number;
    readonly latencyOps: number;
  };
  /**
   * Every server stays up for the section; `seconds` is one slice of load, and a round loads the
   * no-limiter server and each other variant in turn, the baseline between every two.
   */
  readonly http: { readonly connections: number; readonly warmupSeconds: number; readonly seconds: number; readonly rounds: number };
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Config {
  const flag = (name: string): string | undefined => {
    const hit = argv.find((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
    return hit === undefined ? undefined : (hit.split('=')[1] ?? 'true');
  };
  const smoke = flag('smoke') !== undefined;
  const target = (flag('target') ?? (smoke ? 'src' : 'dist')) as Target;
  if (target !== 'src' && target !== 'dist') throw new Error(`--target must be src or dist, got ${String(target)}`);
  const only = flag('only');
  const sections = new Set<Section>(only ? (only.split(',') as Section[]) : SECTIONS);
  for (const section of sections) if (!SECTIONS.includes(section)) throw new Error(`--only: unknown section ${section}`);
  const requireOurs = flag('require-ours') !== undefined || env.CI === 'true';
  if (smoke) {
    return {
      mode: 'smoke',
      target,
      sections,
      requireOurs,
      decisions: { manyKeys: 1000, ops: 2000, rounds: 1, repeats: 1 },
      growth: { sizes: [1000, 10_000], ops: 2000, rounds: 1 },
      redis: { keys: 1000, ops: 1000, rounds: 1, inflight: 256, latencyOps: 200 },
      http: { connections: 10, warmupSeconds: 0, seconds: 1, rounds: 1 },
    };
  }
  return {
    mode: 'full',
    target,
    sections,
    requireOurs,
    decisions: { manyKeys: 100_000, ops: 1_000_000, rounds: 5, repeats: 5 },
    growth: { sizes: [1000, 10_000, 100_000, 1_000_000], ops: 500_000, rounds: 3 },
    redis: { keys: 100_000, ops: 100_000, rounds: 3, inflight: 256, latencyOps: 10_000 },
    http: { connections: 10, warmupSeconds: 1, seconds: 1, rounds: 15 },
  };
}

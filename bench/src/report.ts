/** Turns a run's results into the markdown report (stdout, bench/out/report.md, RESULTS.md). */
import type { Config } from './config.js';
import type { InProcessName } from './lib/impls.js';
import type { MachineInfo } from './lib/machine.js';
import { fmt, fmtRatio, ratio } from './lib/stats.js';
import type { HttpVariant, RedisImplName } from './lib/names.js';
import type { RedisResult } from './workers/redis.js';

type Available<T> = Extract<T, { available: true }>;

export interface Results {
  date: string;
  mode: Config['mode'];
  target: Config['target'];
  config: Config;
  machine: MachineInfo;
  redisVersion: string | undefined;
  /** Where each of our packages resolved in the workers (src/… or dist/…). */
  resolved: Record<string, string>;
  decisions: Partial<Record<'hot' | 'many' | 'denied', Partial<Record<InProcessName, { ns: number; samples: number[] }>>>>;
  growth: Partial<Record<InProcessName, Record<number, { bytesPerKey: number; ns: number }>>>;
  redis: Partial<Record<RedisImplName, Available<RedisResult>>>;
  http: Partial<
    Record<HttpVariant, { rps: number; p50ms: number; p99ms: number; vsNone: number | undefined; headers: string[]; redisScriptsPerRequest: number | undefined }>
  >;
  seconds: number;
  loadAfter: number[];
  failures: string[];
  notes: string[];
}

interface TargetRow {
  readonly id: string;
  readonly what: string;
  readonly measured: string;
  readonly goal: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
}

const table = (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string =>
  [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

const status = (met: boolean | undefined): string => (met === undefined ? 'not measured' : met ? 'met' : '**missed**');

function check(id: string, what: string, value: number | undefined, op: '<=' | '>=', goal: number, unit = 'x'): TargetRow {
  const shown = value === undefined ? '—' : unit === 'x' ? fmtRatio(value) : `${fmt(value)}${unit}`;
  return {
    id,
    what,
    measured: shown,
    goal: `${op === '<=' ? '≤' : '≥'} ${unit === 'x' ? `${goal.toFixed(2)}x` : `${goal}${unit}`}`,
    met: value === undefined ? undefined : op === '<=' ? value <= goal : value >= goal,
  };
}

/** A second reading of an in-process target, shown beside the median's: not what decides met or missed. */
function alsoAt(row: TargetRow, fastest: number | undefined): TargetRow {
  return fastest === undefined ? row : { ...row, measured: `${row.measured} (fastest process: ${fmtRatio(fastest)})` };
}

export function targets(results: Results): TargetRow[] {
  const d = results.decisions;
  const nsRatio = (scenario: 'hot' | 'many' | 'denied'): number | undefined => ratio(d[scenario]?.ours?.ns, d[scenario]?.floor?.ns);
  // Each cell at its fastest process: on a machine whose processes run at one of two speeds, the
  // median of a few processes is a draw; the fastest is each cell undisturbed.
  const fastest = (scenario: 'hot' | 'many' | 'denied', impl: InProcessName): number | undefined => {
    const samples = d[scenario]?.[impl]?.samples;
    return samples !== undefined && samples.length > 1 ? Math.min(...samples) : undefined;
  };
  const fastRatio = (scenario: 'hot' | 'many' | 'denied'): number | undefined => ratio(fastest(scenario, 'ours'), fastest(scenario, 'floor'));
  const sizes = Object.keys(results.growth.floor ?? {}).map(Number);
  const largest = sizes.length ? Math.max(...sizes) : undefined;
  const bytes = (impl: InProcessName): number | undefined =>
    largest === undefined ? undefined : results.growth[impl]?.[largest]?.bytesPerKey;
  const ours = results.redis.ours;
  const rlf = results.redis['rate-limiter-flexible'];
  const http = results.http;
  const keysLabel = largest === undefined ? 'the largest size' : largest.toLocaleString('en-US');
  return [
    alsoAt(check('1a', 'memory store, one hot key: ns/decision vs the Map bucket', nsRatio('hot'), '<=', 1.2), fastRatio('hot')),
    alsoAt(
      check('1b', `memory store, ${results.config.decisions.manyKeys.toLocaleString('en-US')} keys in turn: vs the Map bucket`, nsRatio('many'), '<=', 1.2),
      fastRatio('many'),
    ),
    alsoAt(check('1c', 'memory store, always denied: vs the Map bucket', nsRatio('denied'), '<=', 1.2), fastRatio('denied')),
    alsoAt(
      check('1d', 'memory store: a denial vs an admission (ours denied / ours hot)', ratio(d.denied?.ours?.ns, d.hot?.ours?.ns), '<=', 1.0),
      ratio(fastest('denied', 'ours'), fastest('hot', 'ours')),
    ),
    check('2', `heap bytes per key at ${keysLabel} keys: vs the Map bucket`, ratio(bytes('ours'), bytes('floor')), '<=', 0.8),
    {
      id: '3a',
      what: 'Redis: round trips per decision (client count; script calls from INFO commandstats)',
      measured: ours ? `${fmt(ours.roundTrips)} (scripts ${fmt(ours.scriptCalls)})` : '—',
      goal: '= 1',
      met: ours ? Math.abs(ours.roundTrips - 1) < 1e-9 && Math.abs(ours.scriptCalls - 1) < 1e-3 : undefined,
    },
    check('3b', `Redis, ${results.config.redis.inflight} in flight: throughput vs bare EVALSHA`, ours?.throughputVsBare, '>=', 0.9),
    // Each worker's throughput is normalised by its own interleaved bare EVALSHA, so the two
    // workers' different moments on a shared machine cancel out.
    check('3c', 'Redis, 256 in flight: throughput vs rate-limiter-flexible', ratio(ours?.throughputVsBare, rlf?.throughputVsBare), '>=', 1.2),
    check('3d', 'Redis, 1 in flight: p50 latency vs bare EVALSHA', ours?.p50VsBare, '<=', 1.1),
    check('4a', 'HTTP Express, our middleware (memory): req/s vs no limiter', http['express-ours']?.vsNone, '>=', 0.95),
    check('4b', 'HTTP Koa, our middleware (memory): req/s vs no limiter', http['koa-ours']?.vsNone, '>=', 0.9),
    check('4c', 'HTTP Express, our middleware (Redis): req/s vs no limiter', http['express-ours-redis']?.vsNone, '>=', 0.85),
  ];
}

function decisionsSection(results: Results): string {
  const impls: InProcessName[] = ['floor', 'ours', 'rate-limiter-flexible', 'limiter', 'ours-engine'];
  const labels = {
    hot: 'one hot key, admitted',
    many: `${results.config.decisions.manyKeys.toLocaleString('en-US')} keys in turn, admitted`,
    denied: 'one hot key, always denied',
  } as const;
  const rows = (['hot', 'many', 'denied'] as const).map((scenario) => {
    const row = results.decisions[scenario] ?? {};
    return [
      labels[scenario],
      ...impls.map((impl) => {
        const ns = row[impl]?.ns;
        return impl === 'floor' ? fmt(ns) : `${fmt(ns)} (${fmtRatio(ratio(ns, row.floor?.ns))})`;
      }),
    ];
  });
  return table(['scenario', 'Map bucket (floor) ns', 'ours (memory store) ns', 'rate-limiter-flexible ns', 'limiter ns', 'ours, whole engine (createLimiter().check) ns'], rows);
}

function growthSection(results: Results): string {
  const impls = Object.keys(results.growth) as InProcessName[];
  const sizes = [...new Set(impls.flatMap((impl) => Object.keys(results.growth[impl] ?? {}).map(Number)))].sort((a, b) => a - b);
  // Absolute ns rise with the key count for everyone once the working set leaves the CPU caches;
  // the ratio to the floor at the same size is what shows whether our own cost stays flat.
  const rows = sizes.map((size) => {
    const floor = results.growth.floor?.[size];
    return [
      size.toLocaleString('en-US'),
      ...impls.map((impl) => {
        const r = results.growth[impl]?.[size];
        if (!r) return '—';
        if (impl === 'floor') return `${fmt(r.ns)} ns · ${fmt(r.bytesPerKey)} B`;
        return `${fmt(r.ns)} ns (${fmtRatio(ratio(r.ns, floor?.ns))}) · ${fmt(r.bytesPerKey)} B (${fmtRatio(ratio(r.bytesPerKey, floor?.bytesPerKey))})`;
      }),
    ];
  });
  return table(['keys', ...impls.map((impl) => `${impl === 'floor' ? 'Map bucket (floor)' : impl}: ns/decision · heap B/key`)], rows);
}

function redisSection(results: Results): string {
  const entries = Object.entries(results.redis) as Array<[RedisImplName, Available<RedisResult>]>;
  if (entries.length === 0) return '_not measured_';
  const rlf = results.redis['rate-limiter-flexible'];
  const bare = entries[0]?.[1];
  const rows = entries.map(([name, r]) => [
    name,
    fmt(r.throughput),
    fmtRatio(r.throughputVsBare),
    fmtRatio(ratio(r.throughputVsBare, rlf?.throughputVsBare)),
    fmt(r.p50us),
    fmtRatio(r.p50VsBare),
    fmt(r.p99us),
    fmt(r.roundTrips),
    Object.entries(r.commands)
      .map(([command, calls]) => `${command} ${fmt(calls)}`)
      .join(', '),
    fmt(r.cpuUs),
    fmt(r.bytes),
    fmt(r.memoryPerKey),
  ]);
  if (bare) {
    rows.unshift(['bare EVALSHA `return 1` (interleaved, from the first row\'s worker)', fmt(bare.bareThroughput), '1.00x', '', fmt(bare.bareP50us), '1.00x', '', '1', 'evalsha 1', '', '', '']);
  }
  return table(
    ['implementation', 'decisions/s', 'x bare', 'x rlf', 'p50 µs (1 in flight)', 'x bare', 'p99 µs', 'round trips', 'Redis commands per decision', 'Redis CPU µs', 'bytes on wire', 'Redis memory B/key'],
    rows,
  );
}

function httpSection(results: Results): string {
  const entries = Object.entries(results.http);
  if (entries.length === 0) return '_not measured_';
  return table(
    ['server', 'req/s', 'x no limiter (same framework)', 'p50 ms', 'p99 ms', 'rate-limit headers', 'Redis scripts per request'],
    entries.map(([variant, r]) => [
      variant,
      fmt(r!.rps),
      fmtRatio(r!.vsNone),
      fmt(r!.p50ms),
      fmt(r!.p99ms),
      r!.headers.join(', ') || '—',
      fmt(r!.redisScriptsPerRequest),
    ]),
  );
}

export function buildReport(results: Results, plotPath: string): string {
  const m = results.machine;
  const c = results.config;
  const lines = [
    `## Run of ${results.date.replace('T', ' ').slice(0, 16)} UTC — ${results.mode}${results.mode === 'smoke' ? ' (tiny counts: checks the harness, numbers mean nothing)' : ''}`,
    '',
    table(
      ['', ''],
      [
        ['machine', `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`],
        ['load average (1/5/15 min) before → after', `${m.loadavg.join(' / ')} → ${results.loadAfter.join(' / ')}`],
        ['runtime', `Node ${m.node} (V8 ${m.v8}), Redis ${results.redisVersion ?? '—'} on loopback (own redis-server)`],
        ['code measured', `${results.target === 'dist' ? 'built dist (`pnpm build`), as users run it' : 'TypeScript source through tsx'}; commit ${m.commit}`],
        ['our packages resolved to', Object.entries(results.resolved).map(([name, file]) => `${name} → \`${file}\``).join('<br>') || '—'],
        ['peers', Object.entries(m.versions).map(([name, version]) => `${name} ${version}`).join(', ')],
        ['duration', `${results.seconds.toFixed(0)} s`],
      ],
    ),
    '',
    '### Targets',
    '',
    table(['#', 'what', 'measured', 'target', ''], targets(results).map((t) => [t.id, t.what, t.measured, t.goal, status(t.met)])),
    '',
    `### In-process decisions (ns per decision, median of ${c.decisions.repeats} interleaved process runs × ${c.decisions.rounds} rounds of ${c.decisions.ops.toLocaleString('en-US')}; ratio to the Map bucket)`,
    '',
    decisionsSection(results),
    '',
    `### Growth (one fresh process per cell, --expose-gc; heap = heapUsed delta after inserting the keys, key strings included)`,
    '',
    growthSection(results),
    '',
    `![growth](${plotPath})`,
    '',
    `### Redis (${c.redis.keys.toLocaleString('en-US')} keys; ${c.redis.inflight} in flight for throughput, 1 for latency; bare EVALSHA interleaved on the same connection in each worker)`,
    '',
    redisSection(results),
    '',
    `### HTTP (autocannon, ${c.http.connections} connections; every server of a framework in its own process for the whole section, each warmed up for ${c.http.warmupSeconds} s, then loaded in turn in slices of ${c.http.seconds} s, ${c.http.rounds} round(s); GET /api/data, JSON body; each ratio against the mean of the no-limiter slices just before and just after, median over rounds; req/s and latencies are medians over slices; \`-headers\` rows are a reference, not a limiter: a middleware that sets the same three headers as ours to constant values and does nothing else; \`express-headers-redis\` first waits for one bare EVALSHA of \`return 1\` on Redis: the floor of any limiter on Redis that sends them)`,
    '',
    httpSection(results),
    '',
  ];
  if (results.notes.length) lines.push('### Notes', '', ...results.notes.map((note) => `- ${note}`), '');
  if (results.failures.length) lines.push('### Broken scenarios', '', ...results.failures.map((failure) => `- ${failure}`), '');
  return lines.join('\n');
}

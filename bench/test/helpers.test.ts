import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { keyFor, makeKeys } from '../src/lib/keys.js';
import { commandCalls, num, parseInfo } from '../src/lib/redis-info.js';
import { median, quantile, ratio } from '../src/lib/stats.js';
import { targets, type Results } from '../src/report.js';

describe('stats', () => {
  it('quantiles lie between the extremes and the median of an odd sample is its middle element', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const sorted = [...values].sort((a, b) => a - b);
        const value = quantile(values, q);
        expect(value).toBeGreaterThanOrEqual(sorted[0] as number);
        expect(value).toBeLessThanOrEqual(sorted[sorted.length - 1] as number);
        // `===`, not Object.is: -0 and 0 are the same middle value.
        if (values.length % 2 === 1) expect(median(values) === sorted[(values.length - 1) / 2]).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('a ratio with a missing or zero side is undefined', () => {
    expect(ratio(2, 4)).toBe(0.5);
    expect(ratio(undefined, 4)).toBeUndefined();
    expect(ratio(2, 0)).toBeUndefined();
    expect(ratio(Number.NaN, 1)).toBeUndefined();
  });
});

describe('keys', () => {
  it('are distinct for every client index the bench uses (up to 1M)', () => {
    const keys = makeKeys(1 << 20);
    expect(new Set(keys).size).toBe(1 << 20);
    expect(keyFor(0)).toBe('ip:10.0.0.0');
    expect(keyFor(65_793)).toBe('ip:10.1.1.1');
  });
});

describe('Redis INFO parsing', () => {
  const info = parseInfo(
    [
      '# Stats',
      'total_net_input_bytes:1234',
      '# CPU',
      'used_cpu_user:1.500000',
      '# Commandstats',
      'cmdstat_evalsha:calls=100,usec=500,usec_per_call=5.00,rejected_calls=0,failed_calls=0',
      'cmdstat_config|resetstat:calls=1,usec=3,usec_per_call=3.00,rejected_calls=0,failed_calls=0',
      '',
    ].join('\r\n'),
  );

  it('reads numeric fields and per-command call counts, subcommands included', () => {
    expect(num(info, 'total_net_input_bytes')).toBe(1234);
    expect(num(info, 'used_cpu_user')).toBe(1.5);
    expect(Number.isNaN(num(info, 'missing'))).toBe(true);
    expect(commandCalls(info)).toEqual(
      new Map([
        ['evalsha', 100],
        ['config|resetstat', 1],
      ]),
    );
  });
});

describe('config', () => {
  it('smoke runs are small, on source; full runs use dist; CI requires our packages', () => {
    const smoke = parseConfig(['--smoke'], {});
    const full = parseConfig([], {});
    expect(smoke.mode).toBe('smoke');
    expect(smoke.target).toBe('src');
    expect(full.target).toBe('dist');
    expect(smoke.decisions.ops).toBeLessThan(full.decisions.ops);
    expect(Math.max(...smoke.growth.sizes)).toBeLessThan(Math.max(...full.growth.sizes));
    expect(full.growth.sizes).toContain(1_000_000);
    expect(full.redis.keys).toBe(100_000);
    expect(full.redis.inflight).toBe(256);
    expect(full.http.connections).toBe(10);
    expect(smoke.requireOurs).toBe(false);
    expect(parseConfig(['--smoke'], { CI: 'true' }).requireOurs).toBe(true);
    expect([...parseConfig(['--only=redis,http'], {}).sections]).toEqual(['redis', 'http']);
  });

  it('rejects an unknown target or section', () => {
    expect(() => parseConfig(['--target=prod'], {})).toThrow(/--target/);
    expect(() => parseConfig(['--only=disk'], {})).toThrow(/--only/);
  });
});

describe('targets', () => {
  it('decide 1a–1d by the median of the processes, and show each cell at its fastest process beside it', () => {
    const cell = (samples: number[]) => ({ ns: median(samples), samples });
    const results = {
      config: parseConfig([], {}),
      decisions: {
        hot: { floor: cell([64.6, 110, 112]), ours: cell([74.6, 130, 77]) },
        denied: { floor: cell([62.4, 109, 113]), ours: cell([73.4, 119, 94]) },
      },
      growth: {},
      redis: {},
      http: {},
    } as unknown as Results;
    const byId = new Map(targets(results).map((row) => [row.id, row]));
    // Median: 77 / 110 = 0.70x, met; fastest: 74.6 / 64.6 = 1.15x, shown only.
    expect(byId.get('1a')).toMatchObject({ measured: '0.70x (fastest process: 1.15x)', met: true });
    expect(byId.get('1c')).toMatchObject({ measured: '0.86x (fastest process: 1.18x)', met: true });
    // 94 / 77 = 1.22x by the median, missed; 73.4 / 74.6 = 0.98x at the fastest.
    expect(byId.get('1d')).toMatchObject({ measured: '1.22x (fastest process: 0.98x)', met: false });
    // No samples: no second reading.
    expect(byId.get('1b')).toMatchObject({ measured: '—', met: undefined });
  });
});

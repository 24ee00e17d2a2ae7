/** What the run was measured on: recorded with every result, since ratios still depend on it. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('../../', import.meta.url));

export const PEERS = [
  'rate-limiter-flexible',
  'express-rate-limit',
  'rate-limit-redis',
  'koa-ratelimit',
  'limiter',
  'autocannon',
  'express',
  'koa',
  '@koa/router',
  'ioredis',
] as const;

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
  readonly loadavg: number[];
  readonly commit: string;
  readonly versions: Record<string, string>;
}

function version(name: string): string {
  try {
    return (JSON.parse(readFileSync(`${benchDir}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

export function machineInfo(): MachineInfo {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: benchDir, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', '..'], { cwd: benchDir, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (with uncommitted changes)';
  } catch {
    // not a git checkout: leave unknown
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadavg: os.loadavg().map((value) => Number(value.toFixed(2))),
    commit,
    versions: Object.fromEntries(PEERS.map((name) => [name, version(name)])),
  };
}

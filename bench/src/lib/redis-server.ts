/**
 * The bench starts its own redis-server on a free loopback port: the shared instance on 6379
 * belongs to the tests, and FLUSHALL / CONFIG RESETSTAT between runs must not touch it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

export interface BenchRedis {
  readonly port: number;
  readonly version: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command and returns the raw reply (enough for PING and INFO server). */
function ask(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.startsWith('+') || (data.startsWith('$') && data.endsWith('\r\n') && data.split('\r\n').length > 2)) {
        socket.end();
        resolve(data);
      }
    });
    socket.write(`${command}\r\n`);
  });
}

export async function startRedis(binary = process.env.REDIS_SERVER ?? 'redis-server'): Promise<BenchRedis> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  for (let attempt = 0; attempt < 100; attempt++) {
    if (spawnError) throw new Error(`could not start ${binary}: ${spawnError.message}`);
    try {
      if ((await ask(port, 'PING')).startsWith('+PONG')) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (attempt === 99) {
      child.kill('SIGKILL');
      throw new Error(`${binary} did not answer on port ${port}`);
    }
  }
  const info = await ask(port, 'INFO server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // Never leave the server behind, whatever ends the run.
  process.once('exit', () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { port, version, stop };
}

import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { listen, serveApp } from '../src/index.js';

/** A handler that answers only when `release()` is called, to have a request in flight during close. */
function heldHandler() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  return {
    release,
    arrival,
    handler: (_req: unknown, res: { end(body: string): void }) => {
      arrived();
      void released.then(() => res.end('done'));
    },
  };
}

/**
 * GET on a connection of its own (no keep-alive, so a close does not wait for the agent's idle
 * socket): resolves with the body, or with the error that ended it.
 */
function get(url: string): Promise<string | Error> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(body));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.end();
  });
}

describe('listen', () => {
  it('listens on a free port when given 0, says where, and stops accepting on close', async () => {
    const listening = await listen((_req, res) => res.end('hello'), { host: '127.0.0.1', port: 0 });
    expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listening.url).not.toMatch(/:0$/);
    expect(await get(listening.url)).toBe('hello');
    await listening.close();
    expect(listening.server.listening).toBe(false);
    expect(await get(listening.url)).toBeInstanceOf(Error);
  });

  it('shows 0.0.0.0 as 127.0.0.1, where a browser on this machine reaches it', async () => {
    const listening = await listen((_req, res) => res.end('hello'), { host: '0.0.0.0', port: 0 });
    try {
      expect(listening.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await get(listening.url)).toBe('hello');
    } finally {
      await listening.close();
    }
  });

  it('rejects when the port is taken', async () => {
    const first = await listen((_req, res) => res.end(), { host: '127.0.0.1', port: 0 });
    try {
      const port = Number(new URL(first.url).port);
      await expect(listen((_req, res) => res.end(), { host: '127.0.0.1', port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });

  it("lets a request in flight finish on close by default ('idle')", async () => {
    const held = heldHandler();
    const listening = await listen(held.handler, { host: '127.0.0.1', port: 0 });
    const response = get(listening.url);
    await held.arrival;
    const closed = listening.close();
    held.release();
    expect(await response).toBe('done');
    await closed;
  });

  it("drops open connections at once with drop: 'all'", async () => {
    const held = heldHandler();
    const listening = await listen(held.handler, { host: '127.0.0.1', port: 0, drop: 'all' });
    const response = get(listening.url);
    await held.arrival;
    await listening.close();
    held.release();
    expect(await response).toBeInstanceOf(Error);
  });
});

describe('serveApp', () => {
  it('adds the url, and closes the server before the app', async () => {
    const events: string[] = [];
    const built = { name: 'app', close: async () => void events.push('app closed') };
    const running = await serveApp(built, (_req, res) => res.end('served'), { host: '127.0.0.1', port: 0 });
    expect(running.name).toBe('app');
    expect(await get(running.url)).toBe('served');
    await running.close();
    expect(events).toEqual(['app closed']);
    expect(await get(running.url)).toBeInstanceOf(Error);
  });

  it('closes the app and rethrows when it cannot listen', async () => {
    const taken = await listen((_req, res) => res.end(), { host: '127.0.0.1', port: 0 });
    try {
      let closed = 0;
      const built = { close: async () => void (closed += 1) };
      await expect(serveApp(built, (_req, res) => res.end(), { host: '127.0.0.1', port: Number(new URL(taken.url).port) })).rejects.toThrow(
        /EADDRINUSE/,
      );
      expect(closed).toBe(1);
    } finally {
      await taken.close();
    }
  });
});

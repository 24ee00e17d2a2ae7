import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where to listen and how to stop. */
export interface ListenOptions {
  /** The address to listen on; `0.0.0.0` is reported as `127.0.0.1` in the URL. */
  readonly host: string;
  /** The TCP port; 0 asks the OS for a free one. */
  readonly port: number;
  /**
   * Which open connections `close()` ends at once: `'idle'` lets requests in flight finish (an API);
   * `'all'` drops every connection (the dashboard, whose browsers keep theirs open).
   * @default 'idle'
   */
  readonly drop?: 'idle' | 'all';
}

/** A listening HTTP server. */
export interface Listening {
  readonly server: Server;
  /** e.g. `http://127.0.0.1:3000`: where a person (or a test) on this machine reaches it. */
  readonly url: string;
  /** Stops accepting connections and resolves once the server has closed. */
  close(): Promise<void>;
}

/**
 * Listens with `listener` on `host:port` and resolves once it does; rejects if it cannot
 * (port taken, address not local).
 *
 * @example
 * const listening = await listen(app.callback(), { host: '127.0.0.1', port: 0 });
 * console.log(listening.url);
 * await listening.close();
 */
export async function listen(listener: RequestListener, options: ListenOptions): Promise<Listening> {
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const dropAll = options.drop === 'all';
  return {
    server,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (dropAll) server.closeAllConnections();
        else server.closeIdleConnections();
      });
    },
  };
}

/**
 * Serves a built app: listens, and on failure releases what the app opened before rethrowing.
 * The result is the app with its `url`, and a `close()` that stops the server, then the app.
 *
 * @example
 * const built = await createApp(config, deps);
 * const running = await serveApp(built, built.app.callback(), config);
 */
export async function serveApp<T extends { close(): Promise<void> }>(
  built: T,
  listener: RequestListener,
  options: ListenOptions,
): Promise<T & { readonly url: string }> {
  let listening: Listening;
  try {
    listening = await listen(listener, options);
  } catch (error) {
    await built.close();
    throw error;
  }
  return {
    ...built,
    url: listening.url,
    async close() {
      await listening.close();
      await built.close();
    },
  };
}

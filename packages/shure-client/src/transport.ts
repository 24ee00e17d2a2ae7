import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { invalidOption } from '@micboard/limiter-core';

/** The part of a fetch Response the client reads. The global `fetch`'s Response fits. */
export interface FetchResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** What the client passes to a fetch. */
export interface FetchInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly signal: AbortSignal;
}

/** A fetch the client can use: the global `fetch` fits, and so does {@link createNodeFetch}. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponse>;

/** TLS options for HTTPS base URLs (the Shure System API usually runs with a self-signed certificate). */
export interface TlsOptions {
  /** Certificate authorities to trust (PEM), instead of Node's bundled list. The safe way to trust a self-signed server. */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /**
   * Accept any certificate, including a self-signed one, without checking it. This gives up
   * protection against an impostor on the network: prefer `ca`. Must be set explicitly.
   * @default false
   */
  readonly allowSelfSigned?: boolean;
}

/** Options of {@link createNodeFetch}. */
export interface NodeFetchOptions {
  readonly tls?: TlsOptions;
  /** Largest response body read, in bytes; a larger one fails the request. @default 10_485_760 (10 MiB) */
  readonly maxBodyBytes?: number;
  /** Sockets kept open per host between requests. @default 4 */
  readonly maxSockets?: number;
}

/** A fetch over node:http/node:https with its own keep-alive agents; `close()` ends their sockets. */
export interface NodeFetch extends FetchLike {
  close(): void;
}

class NodeHeaders {
  readonly #headers: NodeJS.Dict<string | string[]>;
  constructor(headers: NodeJS.Dict<string | string[]>) {
    this.#headers = headers;
  }
  get(name: string): string | null {
    const value = this.#headers[name.toLowerCase()];
    if (value === undefined) return null;
    return Array.isArray(value) ? value.join(', ') : value;
  }
}

/**
 * A fetch built on node:http and node:https. Node 20's global fetch cannot be given a CA without
 * undici's Agent (not a dependency here), so this is the default transport: it takes `tls.ca`
 * and `tls.allowSelfSigned` through an https.Agent.
 *
 * @example
 * ```ts
 * const fetch = createNodeFetch({ tls: { ca: readFileSync('shure-ca.pem') } });
 * const client = createShureClient({ baseUrl: 'https://10.0.0.5:10000', apiKey, fetch });
 * ```
 */
export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  const maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw invalidOption('maxBodyBytes', maxBodyBytes, 'an integer number of bytes >= 1');
  }
  const maxSockets = options.maxSockets ?? 4;
  const tls = options.tls ?? {};
  if (tls.allowSelfSigned !== undefined && typeof tls.allowSelfSigned !== 'boolean') {
    throw invalidOption('tls.allowSelfSigned', tls.allowSelfSigned, 'true or false');
  }
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets });
  const httpsAgent = new HttpsAgent({
    keepAlive: true,
    maxSockets,
    rejectUnauthorized: tls.allowSelfSigned !== true,
    ...(tls.ca === undefined ? {} : { ca: tls.ca as string | Buffer | Array<string | Buffer> }),
  });

  const nodeFetch = (url: string, init: FetchInit): Promise<FetchResponse> =>
    new Promise<FetchResponse>((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
      const send = secure ? httpsRequest : httpRequest;
      if (init.signal.aborted) {
        reject(init.signal.reason);
        return;
      }
      const req = send(target, { method: init.method, headers, agent: secure ? httpsAgent : httpAgent });
      const onAbort = (): void => {
        req.destroy(init.signal.reason instanceof Error ? init.signal.reason : new Error('aborted'));
      };
      init.signal.addEventListener('abort', onAbort, { once: true });
      const done = (): void => init.signal.removeEventListener('abort', onAbort);
      req.on('error', (error) => {
        done();
        reject(error);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBodyBytes) {
            req.destroy(new Error(`response body larger than ${maxBodyBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error) => {
          done();
          reject(error);
        });
        res.on('end', () => {
          done();
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: new NodeHeaders(res.headers), text: () => Promise.resolve(body) });
        });
      });
      req.end(init.body);
    });

  return Object.assign(nodeFetch, {
    close(): void {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  });
}

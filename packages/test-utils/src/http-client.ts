// A small HTTP client for adapter tests: node:http with full control over headers (Host included),
// and a raw-socket sender for inputs no well-behaved client would produce.
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';

/** A response as the tests read it. */
export interface TestResponse {
  readonly status: number;
  /** Header values by lower-case name (first value when repeated). */
  readonly headers: Readonly<Record<string, string>>;
  /** Header names as they came on the wire, case kept. */
  readonly rawNames: readonly string[];
  readonly body: unknown;
  readonly text: string;
}

/** Options of one request. */
export interface SendOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/** Sends one request to `baseUrl + path` and reads the whole response. */
export function send(baseUrl: string, path: string, options: SendOptions = {}): Promise<TestResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent,
        setHost: options.headers?.host === undefined && options.headers?.Host === undefined,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) headers[name] = Array.isArray(value) ? (value[0] ?? '') : value;
          }
          let body: unknown = text;
          if ((headers['content-type'] ?? '').includes('json') && text !== '') {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          const rawNames = res.rawHeaders.filter((_, i) => i % 2 === 0);
          resolve({ status: res.statusCode ?? 0, headers, rawNames, body, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Writes raw bytes to the server and returns the status code of its answer (0 if the server
 * closed without one, as Node does for requests it cannot parse at all).
 */
export function sendRaw(baseUrl: string, bytes: Buffer, timeoutMs = 5_000): Promise<number> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (status: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => {
      if (!settled) {
        settled = true;
        socket.destroy();
        reject(new Error('server did not answer a raw request in time'));
      }
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const head = Buffer.concat(chunks).toString('latin1');
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (match) done(Number(match[1]));
    });
    socket.on('end', () => done(0));
    socket.on('close', () => done(0));
    socket.on('error', () => done(0));
    socket.write(bytes);
  });
}

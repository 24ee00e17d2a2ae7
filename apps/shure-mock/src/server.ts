import { createServer as createHttpServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { systemClock } from '@micboard/limiter-core';
import type { Clock } from '@micboard/limiter-core';
import { createDevices, DEFAULT_DEVICES, seededRandom, tickDevices } from './devices.js';
import type { DeviceSeed, MockDevice } from './devices.js';
import { createFaults } from './faults.js';
import type { FaultController, FaultPatch } from './faults.js';
import { selfLimit } from './self-limit.js';
import type { SelfLimitOptions } from './self-limit.js';

/** Options of {@link createMockServer}. Every option is optional. */
export interface MockServerOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Address to listen on. @default '127.0.0.1' (loopback only) */
  host?: string;
  /** The x-api-key every /api request must carry; null turns the check off. @default 'mock-api-key' */
  apiKey?: string | null;
  /** The simulated devices. @default three devices (two transmitters with batteries, one 4-channel receiver) */
  devices?: readonly DeviceSeed[];
  /** Devices per page of GET /api/v1/devices (the client must follow `pageInfo.endCursor`). @default 50 */
  pageSize?: number;
  /** Seed of the simulation's random numbers. @default 1 */
  seed?: number;
  /** How often batteries and audio levels change, in ms; 0 = only on `tick()`. @default 1000 */
  tickMs?: number;
  /** Faults in force from the start (same shape as the control endpoint's JSON). @default none */
  faults?: FaultPatch;
  /**
   * The mock's own rate limit per client address over /api, or false for none.
   * @default { limit: 1000, windowMs: 1000 }
   */
  selfLimit?: SelfLimitOptions | false;
  /** The request log keeps at most this many entries (oldest dropped first). @default 10_000 */
  maxLogEntries?: number;
  /** Time for the request log and the self limit. @default systemClock */
  clock?: Clock;
  /** The discovery IP list at start. @default [] */
  discoveryIps?: readonly string[];
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** One API request as the mock saw it (control endpoints are not logged). */
export interface RequestLogEntry {
  /** Arrival time, ms since the epoch (from `clock`). */
  at: number;
  method: string;
  /** The raw path as sent (still URL-encoded), without the query. */
  path: string;
  /** The query string without '?', '' when none. */
  query: string;
  /** The status sent; 0 while in flight or when the connection was dropped. */
  status: number;
  /** What the mock did. */
  outcome: 'ok' | 'fault' | 'dropped' | 'unauthorized' | 'limited' | 'error';
  /** The Content-Type header the client sent, if any. */
  contentType: string | undefined;
}

/** A running mock. */
export interface MockServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Live log of API requests in arrival order (bounded by `maxLogEntries`). */
  readonly requestLog: RequestLogEntry[];
  /** Fault injection, in-process. */
  readonly faults: FaultController;
  /** The simulated devices (live objects; change them to script a test). */
  readonly devices: MockDevice[];
  /** The discovery IP list as the server holds it. */
  discoveryIps(): string[];
  /** Advances the simulation one step. */
  tick(): void;
  /** Empties the request log. */
  clearLog(): void;
  /** Stops listening, drops open connections, stops the simulation. */
  close(): Promise<void>;
}

/**
 * The device index a cursor stands for, when it is one the mock issues (the base64 of an index in
 * `[0, count)`), else undefined. Strict: Buffer's base64 decoder skips what it does not know, so
 * `%%%` or an empty string would otherwise decode to '' and then to index 0.
 */
function cursorIndex(after: unknown, count: number): number | undefined {
  if (typeof after !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(after)) return undefined;
  const text = Buffer.from(after, 'base64').toString('latin1');
  if (!/^(0|[1-9]\d{0,8})$/.test(text) || Buffer.from(text).toString('base64') !== after) return undefined;
  const index = Number(text);
  return index < count ? index : undefined;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * Starts the mock Shure System API (GET /api/v1/devices and friends, discovery IPs) on a loopback
 * port, with simulated devices, x-api-key checking and fault injection.
 *
 * @example
 * ```ts
 * const mock = await createMockServer({ apiKey: 'k' });
 * mock.faults.failNext({ count: 2, status: 503 });
 * const res = await fetch(`${mock.url}/api/v1/devices`, { headers: { 'x-api-key': 'k' } });
 * await mock.close();
 * ```
 */
export async function createMockServer(options: MockServerOptions = {}): Promise<MockServer> {
  const clock = options.clock ?? systemClock;
  const apiKey = options.apiKey === undefined ? 'mock-api-key' : options.apiKey;
  const pageSize = options.pageSize ?? 50;
  if (!Number.isInteger(pageSize) || pageSize < 1) throw new TypeError(`pageSize must be an integer >= 1; got ${pageSize}`);
  const maxLogEntries = options.maxLogEntries ?? 10_000;
  const random = seededRandom(options.seed ?? 1);
  const devices = createDevices(options.devices ?? DEFAULT_DEVICES, random);
  const faults = createFaults(options.faults ?? {});
  let discoveryIps = [...(options.discoveryIps ?? [])];
  const requestLog: RequestLogEntry[] = [];

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const findDevice = (id: string): MockDevice | undefined =>
    devices.find((device) => device.node.hardwareIdentity.deviceId === id);
  const notFound = (res: Response, what: string): void => {
    res.status(404).json({ error: 'Not Found', detail: what });
  };

  // Control endpoints first: no key, not logged, not limited, no faults (tests must always reach them).
  const control = express.Router();
  control.use(express.json());
  control.get('/faults', (_req, res) => {
    res.json(faults.state());
  });
  control.post('/faults', (req, res) => {
    try {
      faults.apply((req.body ?? {}) as FaultPatch);
      res.json(faults.state());
    } catch (error) {
      res.status(400).json({ error: (error as Error).message });
    }
  });
  control.delete('/faults', (_req, res) => {
    faults.clear();
    res.json(faults.state());
  });
  control.get('/requests', (_req, res) => {
    res.json(requestLog);
  });
  control.delete('/requests', (_req, res) => {
    requestLog.length = 0;
    res.status(204).end();
  });
  control.post('/tick', (_req, res) => {
    tickDevices(devices, random);
    res.status(204).end();
  });
  app.use('/_control', control);

  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    const raw = req.originalUrl;
    const queryAt = raw.indexOf('?');
    const entry: RequestLogEntry = {
      at: clock.now(),
      method: req.method,
      path: queryAt === -1 ? raw : raw.slice(0, queryAt),
      query: queryAt === -1 ? '' : raw.slice(queryAt + 1),
      status: 0,
      outcome: 'ok',
      contentType: req.headers['content-type'],
    };
    requestLog.push(entry);
    if (requestLog.length > maxLogEntries) requestLog.splice(0, requestLog.length - maxLogEntries);
    res.on('finish', () => {
      entry.status = res.statusCode;
      if (entry.outcome === 'ok' && res.statusCode === 429) entry.outcome = 'limited';
      else if (entry.outcome === 'ok' && res.statusCode >= 500) entry.outcome = 'error';
    });
    res.locals['logEntry'] = entry;
    next();
  });

  if (options.selfLimit !== false) app.use('/api', selfLimit(options.selfLimit ?? {}, clock));

  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    if (apiKey !== null && req.headers['x-api-key'] !== apiKey) {
      (res.locals['logEntry'] as RequestLogEntry).outcome = 'unauthorized';
      res.status(401).json({ error: 'Unauthorized', detail: 'missing or wrong x-api-key' });
      return;
    }
    next();
  });

  const delayed = new Set<ReturnType<typeof setTimeout>>();
  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    const entry = res.locals['logEntry'] as RequestLogEntry;
    const action = faults.decide(entry.path);
    const act = (): void => {
      if (action.kind === 'drop') {
        entry.outcome = 'dropped';
        req.socket.destroy();
        return;
      }
      if (action.kind === 'fail') {
        entry.outcome = 'fault';
        if (action.retryAfter !== undefined) res.setHeader('Retry-After', action.retryAfter);
        res.status(action.status).json({ error: 'Injected fault', status: action.status });
        return;
      }
      next();
    };
    const latency = faults.state().latencyMs;
    if (latency <= 0) return act();
    // Tracked so close() can clear it: a pending delay must not keep the process (or a test) waiting.
    const timer = setTimeout(() => {
      delayed.delete(timer);
      if (!res.destroyed) act();
    }, latency);
    delayed.add(timer);
  });

  // The real server rejects a JSON content type with no body; so does the mock, to catch clients that send one.
  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    const type = req.headers['content-type'] ?? '';
    const length = req.headers['content-length'];
    const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (type.toLowerCase().startsWith('application/json') && !hasBody) {
      res.status(400).json({ error: 'Bad Request', detail: 'Content-Type application/json with an empty body' });
      return;
    }
    next();
  });
  app.use('/api', express.json({ limit: '64kb' }));

  const api = express.Router();
  api.get('/devices', (req, res) => {
    const after = req.query['after'] === undefined ? -1 : cursorIndex(req.query['after'], devices.length);
    if (after === undefined) {
      // A client that drops or mangles endCursor must find out here, not get a plausible page.
      res.status(400).json({ error: 'Bad Request', detail: 'after must be a cursor from a previous page (an edge cursor or pageInfo.endCursor)' });
      return;
    }
    const first = typeof req.query['first'] === 'string' ? Number(req.query['first']) : pageSize;
    const size = Number.isInteger(first) && first > 0 ? Math.min(first, pageSize) : pageSize;
    const start = after + 1;
    const page = devices.slice(start, start + size);
    const cursorOf = (index: number): string => Buffer.from(String(index)).toString('base64');
    res.json({
      pageInfo: {
        hasNextPage: start + size < devices.length,
        hasPreviousPage: start > 0,
        startCursor: page.length > 0 ? cursorOf(start) : null,
        endCursor: page.length > 0 ? cursorOf(start + page.length - 1) : null,
      },
      edges: page.map((device, i) => ({ cursor: cursorOf(start + i), node: device.node })),
    });
  });
  api.get('/devices/:id', (req, res) => {
    const device = findDevice(req.params.id);
    if (!device) return notFound(res, `no device ${req.params.id}`);
    res.json(device.node);
  });
  api.get('/devices/:id/battery-level', (req, res) => {
    const device = findDevice(req.params.id);
    if (!device?.battery) return notFound(res, `no battery on ${req.params.id}`);
    res.json({ percentage: device.battery.percentage, status: device.battery.status });
  });
  api.get('/devices/:id/battery-health', (req, res) => {
    const device = findDevice(req.params.id);
    if (!device?.battery) return notFound(res, `no battery on ${req.params.id}`);
    res.json({ percentage: device.battery.health, cycleCount: device.battery.cycleCount });
  });
  api.get('/devices/:id/audio-channels', (req, res) => {
    const device = findDevice(req.params.id);
    if (!device) return notFound(res, `no device ${req.params.id}`);
    res.json(device.channels.map((channel) => ({ id: channel.id, name: channel.name })));
  });
  api.get('/devices/:id/audio-channels/:ch/activity', (req, res) => {
    const channel = findDevice(req.params.id)?.channels.find((c) => c.id === req.params.ch);
    if (!channel) return notFound(res, `no channel ${req.params.ch} on ${req.params.id}`);
    res.json({ audioLevel: channel.audioLevel });
  });
  // Mock-only: a POST without a body, for checking that clients send no JSON content type with it.
  api.post('/devices/:id/identify', (req, res) => {
    if (!findDevice(req.params.id)) return notFound(res, `no device ${req.params.id}`);
    res.status(204).end();
  });
  api.get('/config/discovery/ips', (_req, res) => {
    res.json({ ips: discoveryIps });
  });
  api.put('/config/discovery/ips', (req, res) => {
    const ips = (req.body as { ips?: unknown } | undefined)?.ips;
    if (!Array.isArray(ips) || ips.length > 1000 || !ips.every((ip) => typeof ip === 'string' && IPV4.test(ip))) {
      res.status(400).json({ error: 'Bad Request', detail: 'body must be { "ips": [IPv4 address, ...] }' });
      return;
    }
    discoveryIps = [...new Set(ips as string[])];
    res.json({ ips: discoveryIps });
  });
  app.use('/api/v1', api);
  app.use('/api', (_req: Request, res: Response) => notFound(res, 'no such endpoint'));
  // Express 5 passes body-parser failures here; answer JSON, as the API does.
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.status ?? 500).json({ error: error.message });
  });

  const server: Server = options.tls ? createHttpsServer(options.tls, app) : createHttpServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.tls ? 'https' : 'http'}://${host}:${address.port}`;

  const tickMs = options.tickMs ?? 1000;
  const ticker = tickMs > 0 ? setInterval(() => tickDevices(devices, random), tickMs) : undefined;
  ticker?.unref();

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    requestLog,
    faults,
    devices,
    discoveryIps: () => [...discoveryIps],
    tick: () => tickDevices(devices, random),
    clearLog: () => {
      requestLog.length = 0;
    },
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        if (ticker) clearInterval(ticker);
        for (const timer of delayed) clearTimeout(timer);
        delayed.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

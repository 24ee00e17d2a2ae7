import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '@micboard/limiter-core';
import { listen } from '@micboard/app-kit';
import { BackendError, createBackend, type Backend, type Profile } from './backend.js';
import { checkLoopbackHost, type DashboardConfig } from './config.js';
import { createTrafficGenerator, SCENARIOS, type Scenario, type TrafficGenerator, type TrafficGeneratorOptions } from './traffic.js';

/** What tests may inject. */
export interface DashboardDeps {
  readonly backend?: Backend;
  /** Shrinks the traffic plans (tests). */
  readonly trafficPlans?: TrafficGeneratorOptions['plans'];
  /** @default silentLogger */
  readonly logger?: Logger;
}

/** A listening dashboard. */
export interface RunningDashboard {
  /** e.g. `http://127.0.0.1:3002`: where the page and its JSON API are. */
  readonly url: string;
  /**
   * This run's token, new at every start: every change (admin actions, traffic) must carry it in
   * `X-Dashboard-Token`. Reading the state needs none.
   */
  readonly token: string;
  /** The link to open: `url` with the token in its fragment (`/#token=...`), which the page keeps and sends. */
  readonly pageUrl: string;
  readonly traffic: TrafficGenerator;
  /** Stops the traffic generator and the server. */
  close(): Promise<void>;
}

const PUBLIC = new URL('../public/', import.meta.url);
const STATIC: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};
const USER_TYPES = new Set(['anonymous', 'authenticated', 'testing', 'development']);
const TOKEN_HEADER = 'x-dashboard-token';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Starts the dashboard: the page, its JSON API (state, admin actions, traffic generator).
 *
 * @throws ConfigError naming `HOST` when `config.host` is not a loopback address.
 * @example
 * const dashboard = await startDashboard(loadConfig(process.env));
 * console.log(`open ${dashboard.pageUrl}`);
 */
export async function startDashboard(config: DashboardConfig, deps: DashboardDeps = {}): Promise<RunningDashboard> {
  // Also here, not only in loadConfig: a caller may build the config itself.
  checkLoopbackHost(config.host);
  const logger = deps.logger ?? silentLogger;
  // Loopback is not a boundary between the users and programs of one machine: every change needs this
  // token, which only whoever started the dashboard saw (in the link it printed).
  const token = randomBytes(24).toString('base64url');
  const expectedToken = Buffer.from(token);
  const backend = deps.backend ?? createBackend({ urls: config.adaptiveApiUrls, adminToken: config.adminToken });
  const traffic = createTrafficGenerator(
    deps.trafficPlans === undefined ? { targets: config.adaptiveApiUrls } : { targets: config.adaptiveApiUrls, plans: deps.trafficPlans },
  );
  const apis = [...config.adaptiveApiUrls.map((url) => `adaptive-api ${url}`), ...config.micboardApiUrls.map((url) => `micboard-api ${url}`)];
  let port = config.port;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    // A page on another origin must not drive this one (CSRF), nor reach it by a rebound DNS name.
    if (!isOwnHost(req.headers.host, port)) throw new HttpError(421, 'Open the dashboard by its loopback address');

    const asset = STATIC[path];
    if (asset && (method === 'GET' || method === 'HEAD')) {
      const body = await readFile(new URL(asset.file, PUBLIC));
      res.writeHead(200, { 'Content-Type': asset.type, ...SECURITY_HEADERS });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/api/state' && method === 'GET') {
      const state = await backend.state();
      return send(res, 200, { ...state, apis, traffic: traffic.status() });
    }
    if (!path.startsWith('/api/')) throw new HttpError(404, 'Not found');
    if (method !== 'POST' && method !== 'PUT') throw new HttpError(405, 'Method not allowed');
    checkToken(req.headers[TOKEN_HEADER], expectedToken);
    const body = await readJsonBody(req, port);

    if (path === '/api/traffic/stop') {
      await traffic.stop();
      return send(res, 200, { stopped: true });
    }
    const scenario = /^\/api\/traffic\/([a-z]+)$/.exec(path)?.[1];
    if (scenario !== undefined) {
      if (!SCENARIOS.includes(scenario as Scenario)) throw new HttpError(404, `No traffic scenario ${JSON.stringify(scenario)}`);
      if (!traffic.start(scenario as Scenario)) throw new HttpError(409, `The ${scenario} client is already running`);
      logger.info({ scenario }, 'traffic started');
      return send(res, 202, { started: scenario });
    }
    const resetKey = /^\/api\/clients\/([^/]+)\/reset$/.exec(path)?.[1];
    if (resetKey !== undefined && method === 'POST') {
      let key: string;
      try {
        key = decodeURIComponent(resetKey);
      } catch {
        throw new HttpError(400, 'The client key is not valid URL encoding');
      }
      await backend.resetClient(key);
      return send(res, 200, { reset: key });
    }
    const userType = /^\/api\/profiles\/([a-z]+)$/.exec(path)?.[1];
    if (userType !== undefined && method === 'PUT') {
      if (!USER_TYPES.has(userType)) throw new HttpError(400, `No user type ${JSON.stringify(userType)}`);
      const patch: { -readonly [K in keyof Profile]?: number } = {};
      for (const field of ['capacity', 'refillPerSecond', 'burst'] as const) {
        const value = (body as Record<string, unknown>)[field];
        if (value === undefined) continue;
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new HttpError(400, `${field} must be a number`);
        patch[field] = value;
      }
      if (Object.keys(patch).length === 0) throw new HttpError(400, 'Give at least one of capacity, refill per second, burst');
      await backend.setProfile(userType, patch);
      return send(res, 200, { userType, ...patch });
    }
    if (path === '/api/costs' && method === 'PUT') {
      const { path: endpoint, cost, method: costMethod } = body as { path?: unknown; cost?: unknown; method?: unknown };
      if (typeof endpoint !== 'string' || !endpoint.startsWith('/')) throw new HttpError(400, 'path must start with /');
      if (typeof cost !== 'number' || !Number.isFinite(cost)) throw new HttpError(400, 'cost must be a number');
      if (costMethod !== undefined && typeof costMethod !== 'string') throw new HttpError(400, 'method must be a string');
      await backend.setCost(endpoint, cost, costMethod);
      return send(res, 200, { path: endpoint, cost });
    }
    throw new HttpError(404, 'Not found');
  };

  const listening = await listen((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpError || error instanceof BackendError ? error.status : 500;
      if (status >= 500 && !(error instanceof BackendError)) logger.error({ err: error }, 'dashboard request failed');
      if (!res.headersSent) send(res, status, { error: status === 500 ? 'Internal error' : (error as Error).message });
      else res.end();
    });
  }, { host: config.host, port: config.port, drop: 'all' });
  port = (listening.server.address() as AddressInfo).port;

  return {
    url: listening.url,
    token,
    pageUrl: `${listening.url}/#token=${token}`,
    traffic,
    async close() {
      await traffic.stop();
      await listening.close();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
}

/** Checks a change's `X-Dashboard-Token` against this run's, in constant time. */
function checkToken(given: string | string[] | undefined, expected: Buffer): void {
  if (typeof given !== 'string' || given === '') {
    throw new HttpError(401, "Changes need this run's dashboard token: open the link the dashboard printed at start");
  }
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new HttpError(403, 'Wrong dashboard token (from an earlier run?): open the link the dashboard printed at start');
  }
}

function isOwnHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}

async function readJsonBody(req: IncomingMessage, port: number): Promise<unknown> {
  // JSON only: a cross-site form cannot send it without a CORS preflight, which this server never grants.
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'Send JSON');
  const origin = req.headers.origin;
  if (origin !== undefined && !isOwnHost(origin.replace(/^https?:\/\//, ''), port)) throw new HttpError(403, 'Cross-origin request refused');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 16 * 1024) throw new HttpError(413, 'Body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch {
    throw new HttpError(400, 'The body is not a JSON object');
  }
}

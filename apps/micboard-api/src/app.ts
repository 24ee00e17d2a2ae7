import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createLimiter, silentLogger, type DecisionEvent, type Limiter, type Logger, type Store } from '@micboard/limiter-core';
import { limit, rateLimitAdmin } from '@micboard/limiter-express';
import { createShureClient, type ShureClient } from '@micboard/shure-client';
import { createLimiterMetrics, serveApp, useOrOpenStore, type LimiterMetrics } from '@micboard/app-kit';
import type { MicboardApiConfig } from './config.js';
import { createDeviceService, ShureUnavailable, type DeviceService } from './devices.js';

/** Seed 1's limits on micboard's endpoints: requests per 60 s per client (IP, or user when logged in). */
export const ENDPOINT_LIMITS = {
  data: { path: '/api/data', max: 120 },
  discover: { path: '/api/discover', max: 5 },
  refresh: { path: '/api/refresh', max: 10 },
  config: { path: '/api/config', max: 60 },
  group: { path: '/api/group', max: 60 },
} as const;

export const ADMIN_PREFIX = '/api/admin/rate-limit';

/** What tests (and the demo) may inject instead of what the config would create. */
export interface MicboardApiDeps {
  /** Use this store instead of the one `redisUrl` selects. It is not closed by the app. */
  readonly store?: Store;
  /** Use this client instead of one built from `config.shure`. It is not closed by the app. */
  readonly shureClient?: ShureClient;
  /** @default silentLogger */
  readonly logger?: Logger;
}

export interface MicboardApi {
  readonly app: express.Express;
  readonly limiter: Limiter;
  readonly metrics: LimiterMetrics;
  readonly devices: DeviceService;
  /** Starts polling the Shure System API. */
  startPolling(): void;
  /** Stops polling and releases what the app opened. */
  close(): Promise<void>;
}

export interface RunningMicboardApi extends MicboardApi {
  /** e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
}

interface Group {
  readonly group: number;
  readonly title: string;
  readonly slots: readonly number[];
}

/**
 * Builds micboard's API (seed 1): device data polled from the Shure System API, and the
 * per-endpoint sliding-window limits; `/metrics`; the admin API behind `ADMIN_TOKEN`.
 *
 * @example
 * const api = await createApp(loadConfig(process.env));
 * api.startPolling();
 * api.app.listen(3000);
 */
export async function createApp(config: MicboardApiConfig, deps: MicboardApiDeps = {}): Promise<MicboardApi> {
  const logger = deps.logger ?? silentLogger;
  const opened = await useOrOpenStore(deps.store, config.redisUrl, logger);
  const { store } = opened;
  const ownClient = deps.shureClient === undefined;
  const client =
    deps.shureClient ??
    createShureClient({
      baseUrl: config.shure.baseUrl,
      ...(config.shure.apiKey === undefined ? {} : { apiKey: config.shure.apiKey }),
      timeoutMs: config.shure.timeoutMs,
      retry: { retries: config.shure.maxRetries, baseMs: config.shure.retryBackoffMs },
      cacheTtlMs: config.cacheTimeoutMs,
      pollIntervalMs: config.pollIntervalMs,
      // On Redis, every instance polling the same Shure server shares one set of call rates.
      ...(config.redisUrl === undefined ? {} : { store }),
      logger,
    });
  const devices = createDeviceService({ client, pollIntervalMs: config.pollIntervalMs, cacheTimeoutMs: config.cacheTimeoutMs, logger });
  const metrics = createLimiterMetrics({ store: store.name, isDegraded: opened.degraded });
  // Route limits do not classify clients; a user key means a logged-in user, anything else is anonymous.
  const onDecision = (event: DecisionEvent): void =>
    metrics.onDecision({
      ...event,
      userType: event.userType ?? (event.key === undefined ? undefined : event.key.startsWith('user:') ? 'authenticated' : 'anonymous'),
    });
  // The engine behind the admin API: stats and reset over the same store as the route limits.
  const limiter = createLimiter({ store, logger, adaptive: false });

  const limitFor = (name: keyof typeof ENDPOINT_LIMITS): RequestHandler =>
    limit({
      store,
      logger,
      max: ENDPOINT_LIMITS[name].max,
      window: '60s',
      // GET and POST of one endpoint share one counter, as one decorated view did in micboard.
      name: ENDPOINT_LIMITS[name].path,
      by: 'user',
      headers: 'legacy',
      onDecision,
    });

  let micboardConfig: Record<string, unknown> = { title: 'micboard', slots: [] };
  const groups = new Map<number, Group>();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  // JSON is parsed per route, after the route's limit has counted the request, and only where a body is
  // taken (POST): parsed up front, a malformed body was refused with a 400 before any limit saw it, so a
  // client could send them without end, each parsed for nothing.
  const json = express.json({ limit: '16kb' });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.render());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', store: store.name, shure: client.circuitState, polling: devices.data().updated_at !== null });
  });
  if (config.adminToken !== undefined) {
    app.use(ADMIN_PREFIX, rateLimitAdmin({ limiter, authorize: adminAuthorizer(config.adminToken), logger }));
  }

  app.get(ENDPOINT_LIMITS.data.path, limitFor('data'), (_req, res) => {
    res.json(devices.data());
  });

  const discover = limitFor('discover');
  app.get(ENDPOINT_LIMITS.discover.path, discover, async (_req, res) => {
    res.json(await devices.discover());
  });
  app.post(ENDPOINT_LIMITS.discover.path, discover, json, async (req, res) => {
    const ips = (req.body as { ips?: unknown } | undefined)?.ips;
    if (!Array.isArray(ips) || ips.length === 0 || ips.length > 64) {
      res.status(400).json({ error: 'Bad request', detail: 'ips must be a list of 1-64 addresses' });
      return;
    }
    // Checked here, not left to the Shure server: its refusal would come back as a failed upstream
    // call (an outage to alerts and logs), after two calls spent on the client's typo.
    const bad = ips.findIndex((ip) => typeof ip !== 'string' || isIP(ip) === 0);
    if (bad !== -1) {
      const shown = JSON.stringify(ips[bad]) ?? String(ips[bad]);
      res.status(400).json({ error: 'Bad request', detail: `ips[${bad}] must be an IP address; got ${shown.length > 80 ? `${shown.slice(0, 80)}...` : shown}` });
      return;
    }
    res.json(await devices.discover(ips as string[]));
  });

  const refresh = limitFor('refresh');
  app.post(ENDPOINT_LIMITS.refresh.path, refresh, json, async (_req, res) => {
    res.json(await devices.refresh());
  });

  const configLimit = limitFor('config');
  app.get(ENDPOINT_LIMITS.config.path, configLimit, (_req, res) => {
    res.json(micboardConfig);
  });
  app.post(ENDPOINT_LIMITS.config.path, configLimit, json, (req, res) => {
    const body = req.body as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      res.status(400).json({ error: 'Bad request', detail: 'Send the configuration as a JSON object' });
      return;
    }
    micboardConfig = body as Record<string, unknown>;
    res.json(micboardConfig);
  });

  const groupLimit = limitFor('group');
  app.get(ENDPOINT_LIMITS.group.path, groupLimit, (_req, res) => {
    res.json({ groups: [...groups.values()].sort((a, b) => a.group - b.group) });
  });
  app.post(ENDPOINT_LIMITS.group.path, groupLimit, json, (req, res) => {
    const { group, title, slots } = (req.body ?? {}) as { group?: unknown; title?: unknown; slots?: unknown };
    if (typeof group !== 'number' || !Number.isInteger(group) || group < 1 || group > 100) {
      res.status(400).json({ error: 'Bad request', detail: 'group must be a whole number from 1 to 100' });
      return;
    }
    if (typeof title !== 'string' || title.length > 100) {
      res.status(400).json({ error: 'Bad request', detail: 'title must be a string of at most 100 characters' });
      return;
    }
    if (!Array.isArray(slots) || slots.length > 100 || !slots.every((slot) => Number.isInteger(slot) && slot >= 1 && slot <= 1000)) {
      res.status(400).json({ error: 'Bad request', detail: 'slots must be a list of up to 100 slot numbers (1-1000)' });
      return;
    }
    const saved: Group = { group, title, slots: slots as number[] };
    groups.set(group, saved);
    res.json(saved);
  });

  app.use((req, res) => {
    res.status(404).json({ error: 'Not found', detail: `No endpoint ${req.method} ${req.path}` });
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof ShureUnavailable && error.failure.kind === 'rejected') {
      // The server is up and refused what we sent on the client's behalf (a 4xx other than 401, 403,
      // 404 and 429): the client's request is at fault, not the upstream, so no 5xx.
      res.status(422).json({ error: 'Shure System API refused the request', detail: error.failure.message });
      return;
    }
    if (error instanceof ShureUnavailable) {
      const status = error.failure.kind === 'timeout' ? 504 : 502;
      res.status(status).json({ error: 'Shure System API unavailable', detail: error.failure.message });
      return;
    }
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // express.json's refusals: bad JSON, too large, wrong charset.
      res.status(status).json({ error: 'Bad request', detail: (error as Error).message });
      return;
    }
    logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    res.status(500).json({ error: 'Internal server error', detail: 'See the server log' });
  });

  return {
    app,
    limiter,
    metrics,
    devices,
    startPolling: () => devices.start(),
    async close() {
      await devices.stop();
      if (ownClient) await client.close();
      await opened.close();
    },
  };
}

/**
 * Builds the app, starts polling and listens on `config.host:config.port` (port 0: a free one).
 *
 * @example
 * const api = await start(loadConfig(process.env));
 * console.log(api.url);
 * await api.close();
 */
export async function start(config: MicboardApiConfig, deps: MicboardApiDeps = {}): Promise<RunningMicboardApi> {
  const built = await createApp(config, deps);
  const running = await serveApp(built, built.app, config);
  built.startPolling();
  return running;
}

/** Checks the admin token in `Authorization: Bearer` or `X-Admin-Token`, in constant time. */
export function adminAuthorizer(token: string): (req: Request) => true | 401 | 403 {
  const expected = Buffer.from(token);
  return (req) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const given = bearer ?? req.get('x-admin-token');
    if (given === undefined || given === '') return 401;
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected) ? true : 403;
  };
}

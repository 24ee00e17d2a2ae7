import { randomBytes, timingSafeEqual } from 'node:crypto';
import Koa from 'koa';
import Router from '@koa/router';
import { silentLogger, type DecisionEvent, type Limiter, type Logger, type Store } from '@micboard/limiter-core';
import { rateLimit } from '@micboard/limiter-koa';
import { createLimiterMetrics, serveApp, useOrOpenStore, type LimiterMetrics } from '@micboard/app-kit';
import { createActivityLog, type ActivityLog } from './activity.js';
import { bearerToken, createAuth, type Auth } from './auth.js';
import { BodyError, readJson } from './body.js';
import type { AdaptiveApiConfig } from './config.js';

/** Where the admin API lives (seed 2's paths). */
export const ADMIN_PREFIX = '/api/v1/admin/rate-limit';
/** The app's own admin view for the dashboard: per-client user types, counts and recent 429s. */
export const ACTIVITY_PATH = '/api/v1/admin/activity';

/** What tests (and the demo) may inject instead of what the config would create. */
export interface AdaptiveApiDeps {
  /** Use this store instead of the one `redisUrl` selects. It is not closed by the app. */
  readonly store?: Store;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** A name for this instance in the activity view. @default a random id */
  readonly instance?: string;
  /** Use these users and tokens instead of an in-memory set signed with `authSecret` (e.g. a smaller `maxUsers`). */
  readonly auth?: Auth;
}

/** The app before it listens. */
export interface AdaptiveApi {
  readonly app: Koa;
  readonly limiter: Limiter;
  readonly metrics: LimiterMetrics;
  readonly activity: ActivityLog;
  readonly auth: Auth;
  /** Releases what the app opened (the store, when it created one). */
  close(): Promise<void>;
}

/** A listening app. */
export interface RunningAdaptiveApi extends AdaptiveApi {
  /** e.g. `http://127.0.0.1:3001` (no trailing slash). */
  readonly url: string;
  /** Stops listening (letting requests in flight finish) and releases the store. */
  close(): Promise<void>;
}

interface Item {
  readonly id: number;
  readonly name: string;
  readonly owner: string | undefined;
}

const MAX_ITEMS = 1000;
const MAX_IMPORT = 100;

/**
 * Builds the adaptive API (seed 2): auth endpoints with their costs, a data import, ordinary item
 * endpoints, all under the adaptive middleware; the admin API behind `ADMIN_TOKEN`; `/metrics`.
 *
 * @example
 * const api = await createApp(loadConfig(process.env));
 * api.app.listen(3001);
 */
export async function createApp(config: AdaptiveApiConfig, deps: AdaptiveApiDeps = {}): Promise<AdaptiveApi> {
  const logger = deps.logger ?? silentLogger;
  const opened = await useOrOpenStore(deps.store, config.redisUrl, logger);
  const { store } = opened;
  const instance = deps.instance ?? randomBytes(3).toString('hex');
  const auth = deps.auth ?? createAuth({ secret: config.authSecret });
  const metrics = createLimiterMetrics({ store: store.name, isDegraded: opened.degraded });
  const activity = createActivityLog();

  const router = new Router();
  // The global middleware runs before routing (so unknown paths are limited too, and a scanner's
  // 404s lower its score); the router tells the metrics which route pattern a path belongs to.
  const routeOf = (method: string, path: string): string => {
    const matched = router.match(path, method).pathAndMethod;
    const layer = matched.find((candidate) => candidate.methods.length > 0);
    return layer ? String(layer.path) : 'unmatched';
  };
  const onDecision = (event: DecisionEvent): void => {
    const labelled = { ...event, route: routeOf(event.method, event.route) };
    metrics.onDecision(labelled);
    activity.onDecision(labelled);
  };

  const userIdOf = (ctx: Koa.Context): string | undefined => {
    const state = ctx.state as { userId?: string | null };
    if (state.userId === undefined) state.userId = auth.verify(bearerToken(ctx.get('authorization') || undefined)) ?? null;
    return state.userId ?? undefined;
  };

  const limiter = rateLimit({
    store,
    logger,
    getUserId: userIdOf,
    classifier: { environment: config.nodeEnv },
    headers: 'legacy',
    // Seed 2's header set: this example API shows each client how it was classified.
    userTypeHeader: true,
    onDecision,
  });

  const items: Item[] = Array.from({ length: 20 }, (_, index) => ({
    id: index + 1,
    name: `item ${index + 1}`,
    owner: undefined,
  }));

  const requireUser = (ctx: Koa.Context): string => {
    const user = userIdOf(ctx);
    if (user === undefined) {
      ctx.set('WWW-Authenticate', 'Bearer');
      ctx.throw(401, 'Log in first: send Authorization: Bearer <token from /api/v1/auth/login>');
    }
    return user as string;
  };

  // Registration sets the password rules; login accepts anything and just fails, as a login should.
  const credentials = async (ctx: Koa.Context, minPassword: number): Promise<{ username: string; password: string }> => {
    const body = (await readJson(ctx.req)) as { username?: unknown; password?: unknown } | null;
    const username = body?.username;
    const password = body?.password;
    if (typeof username !== 'string' || !/^[A-Za-z0-9_.-]{3,64}$/.test(username)) {
      ctx.throw(400, 'username must be 3-64 letters, digits, dots, dashes or underscores');
    }
    if (typeof password !== 'string' || password.length < minPassword || password.length > 256) {
      ctx.throw(400, `password must be ${minPassword}-256 characters`);
    }
    return { username: username as string, password: password as string };
  };

  router.post('/api/v1/auth/register', async (ctx) => {
    const { username, password } = await credentials(ctx, 8);
    const result = await auth.register(username, password);
    if (result === 'taken') ctx.throw(409, 'That username is taken');
    if (result === 'full') {
      // Not the client's fault and not a name clash: the server keeps at most so many users (so a
      // spammer cannot fill its memory). Set here, as a thrown 5xx has its message hidden and is logged.
      ctx.status = 503;
      ctx.body = { error: 'Service unavailable', detail: 'Registration is closed: this server has as many users as it keeps' };
      return;
    }
    ctx.status = 201;
    ctx.body = { username };
  });

  router.post('/api/v1/auth/login', async (ctx) => {
    const { username, password } = await credentials(ctx, 1);
    const token = await auth.login(username, password);
    if (token === undefined) ctx.throw(401, 'Wrong username or password');
    ctx.body = { token, token_type: 'Bearer', expires_in: auth.tokenTtlSeconds };
  });

  router.get('/api/v1/me', (ctx) => {
    ctx.body = { username: requireUser(ctx) };
  });

  router.get('/api/v1/items', (ctx) => {
    ctx.body = { items: items.slice(0, 50), total: items.length };
  });

  router.get('/api/v1/items/:id', (ctx) => {
    const item = items.find((candidate) => String(candidate.id) === ctx.params['id']);
    if (!item) ctx.throw(404, 'No such item');
    ctx.body = item;
  });

  router.post('/api/v1/data-import/store-import', async (ctx) => {
    const owner = requireUser(ctx);
    const body = (await readJson(ctx.req)) as { items?: unknown } | null;
    const names = body?.items;
    if (!Array.isArray(names) || names.length === 0 || names.length > MAX_IMPORT || !names.every((n) => typeof n === 'string' && n.length <= 200)) {
      ctx.throw(400, `items must be a list of 1-${MAX_IMPORT} names (strings of at most 200 characters)`);
    }
    const room = Math.max(0, MAX_ITEMS - items.length);
    const accepted = (names as string[]).slice(0, room);
    for (const name of accepted) items.push({ id: items.length + 1, name, owner });
    ctx.status = 201;
    ctx.body = { imported: accepted.length, total: items.length };
  });

  // Behind one reverse proxy: the client is the address that proxy appended (the rightmost
  // X-Forwarded-For entry), never the leftmost one, which the client itself could have written.
  const app = new Koa(config.trustProxy ? { proxy: true, maxIpsCount: 1 } : { proxy: false });

  // Errors as JSON, never a stack trace.
  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.body = { error: 'Not found', detail: `No endpoint ${ctx.method} ${ctx.path}` };
        // Setting a body makes koa answer 200; keep the 404.
        ctx.status = 404;
      }
    } catch (error) {
      const status = error instanceof BodyError ? error.status : ((error as { status?: number }).status ?? 500);
      const expose = status < 500;
      if (!expose) logger.error({ err: error, method: ctx.method, path: ctx.path }, 'request failed');
      ctx.status = status;
      ctx.body = { error: expose ? errorTitle(status) : 'Internal server error', detail: expose ? (error as Error).message : 'See the server log' };
    }
  });

  // Operational endpoints are not limited: a scraper or health check must not use up anyone's budget.
  app.use(async (ctx, next) => {
    if (ctx.path === '/metrics' && ctx.method === 'GET') {
      ctx.type = metrics.contentType;
      ctx.body = await metrics.render();
      return;
    }
    if (ctx.path === '/api/v1/health' && ctx.method === 'GET') {
      ctx.body = { status: 'ok', store: store.name, instance };
      return;
    }
    await next();
  });

  if (config.adminToken !== undefined) {
    const authorize = adminAuthorizer(config.adminToken);
    app.use(async (ctx, next) => {
      if (ctx.path !== ACTIVITY_PATH) return next();
      const verdict = authorize(ctx);
      if (verdict !== true) ctx.throw(verdict, verdict === 401 ? 'Send Authorization: Bearer <ADMIN_TOKEN>' : 'Wrong admin token');
      if (ctx.method !== 'GET') ctx.throw(405, 'Use GET');
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { instance, store: store.name, defaultCost: limiter.limiter.endpointCosts.defaultCost, ...activity.snapshot() };
    });
    // Forget a client's counts when the admin API resets it, so the dashboard starts it afresh.
    app.use(async (ctx, next) => {
      await next();
      const reset = `${ADMIN_PREFIX}/reset/`;
      if (ctx.method === 'POST' && ctx.status === 200 && ctx.path.startsWith(reset)) {
        activity.forget(safeDecode(ctx.path.slice(reset.length)));
      }
    });
    app.use(limiter.admin({ prefix: ADMIN_PREFIX, authorize, logger }));
  }

  app.use(limiter);
  app.use(router.routes());
  app.use(router.allowedMethods());

  return { app, limiter: limiter.limiter, metrics, activity, auth, close: opened.close };
}

/**
 * Builds the app and listens on `config.host:config.port` (port 0: a free one).
 *
 * @example
 * const api = await start(loadConfig(process.env));
 * console.log(api.url);
 * await api.close();
 */
export async function start(config: AdaptiveApiConfig, deps: AdaptiveApiDeps = {}): Promise<RunningAdaptiveApi> {
  const built = await createApp(config, deps);
  return serveApp(built, built.app.callback(), config);
}

/** Checks the admin token in `Authorization: Bearer` or `X-Admin-Token`, in constant time. */
export function adminAuthorizer(token: string): (ctx: Koa.Context) => true | 401 | 403 {
  const expected = Buffer.from(token);
  return (ctx) => {
    const given = bearerToken(ctx.get('authorization') || undefined) ?? (ctx.get('x-admin-token') || undefined);
    if (given === undefined) return 401;
    const actual = Buffer.from(given);
    return actual.length === expected.length && timingSafeEqual(actual, expected) ? true : 403;
  };
}

function errorTitle(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not found',
    405: 'Method not allowed',
    409: 'Conflict',
    413: 'Payload too large',
    415: 'Unsupported media type',
  };
  return titles[status] ?? 'Request failed';
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

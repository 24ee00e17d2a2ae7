import type { Limiter } from '../engine/index.js';
import { invalidOption } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import type { Profile, UserType } from '../policy/index.js';
import type { MaybePromise } from '../types.js';

/** What `authorize` answers: true lets the call through; false or 403 forbids it; 401 asks for credentials. */
export type AdminAuthorization = boolean | 401 | 403;

/** Options of the admin API (seed 2's endpoints). `R` is the framework's request. */
export interface AdminOptions<R> {
  /** The engine whose store and shared config the admin API manages (from the global middleware). */
  readonly limiter: Limiter;
  /**
   * Decides whether a request may use the admin API. Required: the admin API refuses to exist
   * without it. A throw counts as 403.
   */
  readonly authorize: (request: R) => MaybePromise<AdminAuthorization>;
  /** Clients per page of `GET stats`, at most. @default 100 */
  readonly pageSize?: number;
  /** Where admin actions are logged (info) and failures (error). @default silentLogger */
  readonly logger?: Logger;
}

/** An admin call as plain data: the adapter strips its mount prefix from the path. */
export interface AdminRequest {
  readonly method: string;
  /** The path below the admin API's prefix, e.g. `'/stats'`, `'/reset/ip:203.0.113.9'` (still URL-encoded). */
  readonly path: string;
  /** A query parameter's first value, or undefined. */
  readonly query: (name: string) => string | undefined;
}

/** What the adapter writes back: always JSON. */
export interface AdminResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** The framework-neutral admin API. */
export interface AdminApi<R> {
  handle(raw: R, request: AdminRequest): Promise<AdminResponse>;
}

const USER_TYPES: readonly UserType[] = ['anonymous', 'authenticated', 'testing', 'development'];
const MAX_KEY_LENGTH = 512;
const NUMBER = /^\d{1,12}(?:\.\d{1,6})?$/;

/**
 * Reads query parameters from a framework's parsed query object for `AdminRequest.query`: a string
 * as is, the first of a repeated parameter, and nothing for anything else (express 4's qs may nest objects).
 *
 * @example
 * api.handle(req, { method: req.method, path: req.path, query: queryReader(req.query) });
 */
export function queryReader(query: Readonly<Record<string, unknown>>): (name: string) => string | undefined {
  return (name) => {
    const value = query[name];
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    return undefined;
  };
}

class BadRequest extends Error {}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): AdminResponse => ({ status, headers, body });
const bad = (message: string): never => {
  throw new BadRequest(message);
};

function numberParam(request: AdminRequest, name: string, { min, max, required }: { min: number; max: number; required: boolean }): number | undefined {
  const raw = request.query(name);
  if (raw === undefined || raw === '') return required ? bad(`${name} is required`) : undefined;
  if (!NUMBER.test(raw)) return bad(`${name} must be a number; got ${JSON.stringify(raw.slice(0, 40))}`);
  const value = Number(raw);
  if (value < min || value > max) return bad(`${name} must be between ${min} and ${max}; got ${raw}`);
  return value;
}

function keyParam(value: string | undefined, name: string): string {
  if (value === undefined || value === '') return bad(`${name} is required`);
  if (value.length > MAX_KEY_LENGTH) return bad(`${name} must be at most ${MAX_KEY_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return bad(`${name} must not contain control characters`);
  return value;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return bad('client_key is not valid URL encoding');
  }
}

/**
 * Builds the admin API: `GET /stats[?client_key=]`, `POST /reset/{client_key}`,
 * `PUT /config?user_type=&capacity=&refill=&burst=`, `POST /cleanup?inactive_hours=`,
 * `PUT /endpoint-cost?endpoint=&cost=[&method=]`. Every change goes through the shared store,
 * so it is in force on every instance using that store.
 *
 * @example
 * const admin = createAdminApi<express.Request>({ limiter, authorize: (req) => req.get('x-admin-token') === token });
 */
export function createAdminApi<R>(options: AdminOptions<R>): AdminApi<R> {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  if (typeof options.authorize !== 'function') {
    throw invalidOption('authorize', options.authorize, 'a function (request) => boolean: the admin API is never open');
  }
  const limiter = options.limiter;
  if (!limiter || typeof limiter.check !== 'function') throw invalidOption('limiter', limiter, 'a Limiter');
  const pageSize = options.pageSize ?? 100;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 10_000) {
    throw invalidOption('pageSize', pageSize, 'an integer from 1 to 10000');
  }
  const authorize = options.authorize;
  const logger = options.logger ?? silentLogger;
  const store = limiter.store;

  const stats = async (request: AdminRequest): Promise<AdminResponse> => {
    const clientKey = request.query('client_key');
    if (clientKey !== undefined) {
      const key = keyParam(clientKey, 'client_key');
      const client = await store.get(key);
      return client ? json(200, { client }) : json(404, { error: 'Not found', detail: `No client ${JSON.stringify(key)}` });
    }
    const limit = numberParam(request, 'limit', { min: 1, max: pageSize, required: false }) ?? pageSize;
    if (!Number.isInteger(limit)) bad('limit must be a whole number');
    const cursor = request.query('cursor');
    if (cursor !== undefined && (cursor === '' || cursor.length > MAX_KEY_LENGTH)) bad('cursor is not valid');
    const page = await store.list(cursor === undefined ? { limit } : { cursor, limit });
    return json(200, {
      clients: page.clients,
      cursor: page.cursor ?? null,
      profiles: limiter.profiles(),
      endpoint_costs: limiter.endpointCosts.list(),
    });
  };

  const reset = async (segment: string): Promise<AdminResponse> => {
    const key = keyParam(decodeSegment(segment), 'client_key');
    const existed = await store.reset(key);
    logger.info({ key, existed }, 'rate limiter admin: client reset');
    return json(200, { client_key: key, reset: existed });
  };

  const config = async (request: AdminRequest): Promise<AdminResponse> => {
    const userType = request.query('user_type');
    if (userType === undefined || userType === '') bad('user_type is required');
    if (!USER_TYPES.includes(userType as UserType)) {
      bad(`user_type must be one of ${USER_TYPES.join(', ')}; got ${JSON.stringify(String(userType).slice(0, 40))}`);
    }
    const capacity = numberParam(request, 'capacity', { min: 1, max: 1e9, required: false });
    const refill = numberParam(request, 'refill', { min: 0.001, max: 1e9, required: false });
    const burst = numberParam(request, 'burst', { min: 0, max: 1e9, required: false });
    if (capacity === undefined && refill === undefined && burst === undefined) {
      bad('give at least one of capacity, refill, burst');
    }
    const patch: { -readonly [K in keyof Profile]?: Profile[K] } = {};
    if (capacity !== undefined) patch.capacity = capacity;
    if (refill !== undefined) patch.refillPerSecond = refill;
    if (burst !== undefined) patch.burst = burst;
    try {
      await limiter.setProfile(userType as UserType, patch);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'INVALID_OPTION') bad((error as Error).message);
      throw error;
    }
    await limiter.refreshConfig();
    logger.info({ userType, ...patch }, 'rate limiter admin: profile changed');
    return json(200, { user_type: userType, profile: limiter.profiles()[userType as UserType] });
  };

  const cleanup = async (request: AdminRequest): Promise<AdminResponse> => {
    const hours = numberParam(request, 'inactive_hours', { min: 0, max: 24 * 366, required: true }) as number;
    const removed = await store.cleanup(hours * 3_600_000);
    logger.info({ hours, removed }, 'rate limiter admin: cleanup');
    return json(200, { inactive_hours: hours, removed });
  };

  const endpointCost = async (request: AdminRequest): Promise<AdminResponse> => {
    const endpoint = request.query('endpoint');
    if (endpoint === undefined || endpoint === '') bad('endpoint is required');
    if (!String(endpoint).startsWith('/') || String(endpoint).length > 2048) bad('endpoint must be a path starting with /');
    const cost = numberParam(request, 'cost', { min: 0.001, max: 1e6, required: true }) as number;
    const method = request.query('method');
    if (method !== undefined && !/^[A-Za-z]{1,16}$/.test(method)) bad('method must be an HTTP method name');
    try {
      await limiter.setEndpointCost(endpoint as string, cost, method);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'INVALID_OPTION') bad((error as Error).message);
      throw error;
    }
    logger.info({ endpoint, cost, method }, 'rate limiter admin: endpoint cost changed');
    return json(200, { endpoint, cost, method: method?.toUpperCase() ?? null });
  };

  const route = (request: AdminRequest): { allow: string; run?: () => Promise<AdminResponse> } | undefined => {
    const path = request.path.length > 1 && request.path.endsWith('/') ? request.path.slice(0, -1) : request.path;
    const method = request.method.toUpperCase();
    if (path === '/stats') return { allow: 'GET', ...(method === 'GET' || method === 'HEAD' ? { run: () => stats(request) } : {}) };
    if (path === '/config') return { allow: 'PUT', ...(method === 'PUT' ? { run: () => config(request) } : {}) };
    if (path === '/cleanup') return { allow: 'POST', ...(method === 'POST' ? { run: () => cleanup(request) } : {}) };
    if (path === '/endpoint-cost') return { allow: 'PUT', ...(method === 'PUT' ? { run: () => endpointCost(request) } : {}) };
    if (path === '/reset' || path.startsWith('/reset/')) {
      const segment = path.slice('/reset/'.length);
      return { allow: 'POST', ...(method === 'POST' ? { run: () => reset(segment) } : {}) };
    }
    return undefined;
  };

  return {
    async handle(raw, request) {
      let verdict: AdminAuthorization;
      try {
        verdict = await authorize(raw);
      } catch (error) {
        logger.error({ err: error }, 'rate limiter admin: authorize threw; refusing');
        verdict = 403;
      }
      if (verdict === 401) {
        return json(401, { error: 'Unauthorized', detail: 'Credentials are required' }, { 'WWW-Authenticate': 'Bearer' });
      }
      if (verdict !== true) return json(403, { error: 'Forbidden', detail: 'Not allowed to manage rate limits' });
      const found = route(request);
      if (!found) return json(404, { error: 'Not found', detail: `No admin endpoint ${request.method} ${request.path.slice(0, 100)}` });
      if (!found.run) {
        return json(405, { error: 'Method not allowed', detail: `Use ${found.allow}` }, { Allow: found.allow });
      }
      try {
        return await found.run();
      } catch (error) {
        if (error instanceof BadRequest) return json(400, { error: 'Bad request', detail: error.message });
        logger.error({ err: error }, 'rate limiter admin: store failed');
        return json(503, { error: 'Store unavailable', detail: 'The rate-limit store did not answer' });
      }
    },
  };
}

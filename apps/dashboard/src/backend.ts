/**
 * The dashboard's view of the adaptive API: its admin API (seed 2's endpoints: stats, reset,
 * config, endpoint-cost) and the app's activity view, read from every instance and merged.
 */

export interface Profile {
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly burst: number;
}

export interface CostRule {
  readonly path: string;
  readonly cost: number;
  readonly method?: string;
}

/** One client as the page shows it. */
export interface DashboardClient {
  readonly key: string;
  readonly userType: string | undefined;
  /** Effective adaptive multiplier now (1 when the store has no score). */
  readonly multiplier: number;
  /** Whole tokens left after the client's last request (what its `X-RateLimit-Remaining` said). */
  readonly remaining: number | undefined;
  readonly limit: number | undefined;
  /** Requests allowed and denied, summed over the instances. */
  readonly allowed: number;
  readonly denied: number;
  /** ms since the epoch. */
  readonly lastSeen: number | undefined;
}

export interface DashboardDenial {
  readonly at: number;
  readonly key: string;
  readonly userType: string | undefined;
  readonly method: string;
  readonly route: string;
  readonly cost: number;
  readonly instance: string;
}

export interface BackendState {
  readonly store: string | undefined;
  readonly clients: DashboardClient[];
  readonly denials: DashboardDenial[];
  readonly profiles: Readonly<Record<string, Profile>>;
  readonly costs: CostRule[];
  readonly defaultCost: number;
  /** Set when an instance could not be read; what could be read is still returned. */
  readonly error: string | undefined;
}

export interface Backend {
  state(): Promise<BackendState>;
  resetClient(key: string): Promise<void>;
  setProfile(userType: string, patch: Partial<Profile>): Promise<void>;
  setCost(path: string, cost: number, method?: string): Promise<void>;
}

/** The admin API answered with an error; `status` and its `detail` are passed on to the page. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface BackendOptions {
  /** Base URLs of the adaptive API instances (they share one store when there are several). */
  readonly urls: readonly string[];
  readonly adminToken: string | undefined;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Per request, in ms. @default 3000 */
  readonly timeoutMs?: number;
  /** Most clients shown. @default 50 */
  readonly maxClients?: number;
  /** Most denials shown. @default 30 */
  readonly maxDenials?: number;
}

interface ClientSnapshot {
  key: string;
  multiplier: number;
  limits: Record<string, { limit: number; remaining: number; resetAt: number }>;
  lastSeen: number;
}

interface StatsAnswer {
  clients: ClientSnapshot[];
  profiles: Record<string, Profile>;
  endpoint_costs: CostRule[];
}

interface ActivityAnswer {
  instance: string;
  store: string;
  defaultCost: number;
  clients: Array<{ key: string; userType?: string; allowed: number; denied: number; limit?: number; remaining?: number; lastSeen: number }>;
  denials: Array<{ at: number; key: string; userType?: string; method: string; route: string; cost: number }>;
}

const ADMIN = '/api/v1/admin/rate-limit';
const ACTIVITY = '/api/v1/admin/activity';

/**
 * @example
 * const backend = createBackend({ urls: ['http://127.0.0.1:3001'], adminToken: process.env.ADMIN_TOKEN });
 * const state = await backend.state();
 */
export function createBackend(options: BackendOptions): Backend {
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 3000;
  const maxClients = options.maxClients ?? 50;
  const maxDenials = options.maxDenials ?? 30;
  const [primary] = options.urls;
  if (primary === undefined) throw new TypeError('urls must name at least one adaptive API instance');

  const call = async <T>(base: string, method: string, path: string): Promise<T> => {
    if (options.adminToken === undefined) throw new BackendError(503, 'The dashboard has no ADMIN_TOKEN: start it with the same ADMIN_TOKEN as the adaptive API');
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.adminToken}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new BackendError(502, `${base} is not answering (${(error as Error).message})`);
    }
    const body = (await response.json().catch(() => ({}))) as { detail?: unknown; error?: unknown };
    if (!response.ok) {
      const detail = typeof body.detail === 'string' ? body.detail : typeof body.error === 'string' ? body.error : '';
      // An admin-side refusal is the page's problem (bad input); anything else is the API's.
      throw new BackendError(response.status === 400 ? 400 : 502, `${method} ${path.split('?')[0]}: ${response.status} ${detail}`.trim());
    }
    return body as T;
  };

  return {
    async state() {
      const errors: string[] = [];
      const [stats, ...activities] = await Promise.all([
        call<StatsAnswer>(primary, 'GET', `${ADMIN}/stats?limit=100`).catch((error: Error) => {
          errors.push(error.message);
          return undefined;
        }),
        ...options.urls.map((url) =>
          call<ActivityAnswer>(url, 'GET', ACTIVITY).catch((error: Error) => {
            errors.push(error.message);
            return undefined;
          }),
        ),
      ]);
      const seen = activities.filter((answer): answer is ActivityAnswer => answer !== undefined);
      return {
        store: seen[0]?.store,
        clients: mergeClients(stats?.clients ?? [], seen).slice(0, maxClients),
        denials: seen
          .flatMap((answer) => answer.denials.map((denial) => ({ ...denial, userType: denial.userType, instance: answer.instance })))
          .sort((a, b) => b.at - a.at)
          .slice(0, maxDenials),
        profiles: stats?.profiles ?? {},
        costs: stats?.endpoint_costs ?? [],
        defaultCost: seen[0]?.defaultCost ?? 1,
        error: errors.length > 0 ? [...new Set(errors)].join('; ') : undefined,
      };
    },
    async resetClient(key) {
      // Every instance, not only the first: each keeps its own activity counts and forgets the
      // client only when it handles the reset itself, and the page sums those counts. The store
      // reset is idempotent, so resetting a shared store once per instance is harmless.
      const results = await Promise.allSettled(options.urls.map((url) => call(url, 'POST', `${ADMIN}/reset/${encodeURIComponent(key)}`)));
      const failed = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected').map((result) => result.reason as Error);
      const [first] = failed;
      if (first === undefined) return;
      const status = first instanceof BackendError ? first.status : 502;
      const messages = [...new Set(failed.map((error) => error.message))].join('; ');
      const partly = failed.length < results.length ? ' (the other instances were reset: Reset again once every instance answers)' : '';
      throw new BackendError(status, `${messages}${partly}`);
    },
    async setProfile(userType, patch) {
      const query = new URLSearchParams({ user_type: userType });
      if (patch.capacity !== undefined) query.set('capacity', String(patch.capacity));
      if (patch.refillPerSecond !== undefined) query.set('refill', String(patch.refillPerSecond));
      if (patch.burst !== undefined) query.set('burst', String(patch.burst));
      await call(primary, 'PUT', `${ADMIN}/config?${query}`);
    },
    async setCost(path, cost, method) {
      const query = new URLSearchParams({ endpoint: path, cost: String(cost) });
      if (method !== undefined) query.set('method', method);
      await call(primary, 'PUT', `${ADMIN}/endpoint-cost?${query}`);
    },
  };
}

function mergeClients(snapshots: readonly ClientSnapshot[], activities: readonly ActivityAnswer[]): DashboardClient[] {
  const merged = new Map<string, { -readonly [K in keyof DashboardClient]: DashboardClient[K] }>();
  for (const answer of activities) {
    for (const client of answer.clients) {
      const current = merged.get(client.key);
      if (!current) {
        merged.set(client.key, {
          key: client.key,
          userType: client.userType,
          multiplier: 1,
          remaining: client.remaining,
          limit: client.limit,
          allowed: client.allowed,
          denied: client.denied,
          lastSeen: client.lastSeen,
        });
        continue;
      }
      current.allowed += client.allowed;
      current.denied += client.denied;
      current.userType ??= client.userType;
      // Tokens as the client was last told (its X-RateLimit headers), by whichever instance saw it last.
      if ((current.lastSeen ?? 0) < client.lastSeen) {
        current.lastSeen = client.lastSeen;
        current.remaining = client.remaining;
        current.limit = client.limit;
      }
    }
  }
  // The store knows the multiplier now (idle drift applied). Its per-limit view is used only for
  // clients no instance has seen: the memory store restores every client of a limit id with the
  // spec last used, which is another user type's when profiles differ.
  for (const snapshot of snapshots) {
    const current = merged.get(snapshot.key);
    if (current) {
      current.multiplier = snapshot.multiplier;
      continue;
    }
    const limits = snapshot.limits['default'] ?? Object.values(snapshot.limits)[0];
    merged.set(snapshot.key, {
      key: snapshot.key,
      userType: undefined,
      multiplier: snapshot.multiplier,
      remaining: limits?.remaining,
      limit: limits?.limit,
      allowed: 0,
      denied: 0,
      lastSeen: snapshot.lastSeen,
    });
  }
  return [...merged.values()].sort((a, b) => (b.lastSeen ?? 0) - (a.lastSeen ?? 0));
}

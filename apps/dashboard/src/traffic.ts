import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { isLoopbackUrl } from './config.js';

/** The traffic the dashboard can generate. */
export type Scenario = 'normal' | 'burst' | 'abusive';

export const SCENARIOS: readonly Scenario[] = ['normal', 'burst', 'abusive'];

/** How one scenario sends its requests. Every field is capped by {@link HARD_CAPS}. */
export interface ScenarioPlan {
  /** Requests to send in all (not counting logging in). */
  readonly requests: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Pause between two requests of one worker, in ms. */
  readonly intervalMs: number;
  /** The run stops after this long whatever is left, in ms. */
  readonly maxDurationMs: number;
}

/** Limits no plan can exceed: the generator is a demo, never a load tool. */
export const HARD_CAPS = { requests: 1000, concurrency: 32, maxDurationMs: 60_000 } as const;

export const DEFAULT_PLANS: Readonly<Record<Scenario, ScenarioPlan>> = {
  // A well-behaved logged-in user: 2 requests a second, far inside the authenticated profile.
  normal: { requests: 40, concurrency: 1, intervalMs: 500, maxDurationMs: 30_000 },
  // More than the authenticated profile holds at once, even after its successes double it (2 x 250).
  burst: { requests: 600, concurrency: 16, intervalMs: 0, maxDurationMs: 20_000 },
  // Password guessing: each login costs 5 tokens and each 401 shrinks the client's multiplier.
  abusive: { requests: 200, concurrency: 2, intervalMs: 40, maxDurationMs: 15_000 },
};

/** What a run has done so far. */
export interface RunStatus {
  readonly running: boolean;
  readonly sent: number;
  /** 2xx answers. */
  readonly ok: number;
  /** 429 answers. */
  readonly limited: number;
  /** Other statuses and network errors. */
  readonly failed: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly error: string | undefined;
}

export interface TrafficGeneratorOptions {
  /** Base URLs of the adaptive API instances; loopback only. Requests rotate over them. */
  readonly targets: readonly string[];
  /** Overrides of the default plans (tests shrink them). */
  readonly plans?: Partial<Record<Scenario, Partial<ScenarioPlan>>>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Per-request timeout, in ms. @default 5000 */
  readonly requestTimeoutMs?: number;
}

export interface TrafficGenerator {
  /** Starts a scenario; false when it is already running. */
  start(scenario: Scenario): boolean;
  /** Stops every run and waits for in-flight requests to settle. */
  stop(): Promise<void>;
  status(): Record<Scenario, RunStatus>;
  /** Resolves when the scenario's current run (if any) has finished. */
  settled(scenario: Scenario): Promise<void>;
}

const IDLE: RunStatus = {
  running: false,
  sent: 0,
  ok: 0,
  limited: 0,
  failed: 0,
  startedAt: undefined,
  finishedAt: undefined,
  error: undefined,
};

/**
 * Bounded demo traffic against the demo's own adaptive API.
 *
 * @example
 * const traffic = createTrafficGenerator({ targets: ['http://127.0.0.1:3001'] });
 * traffic.start('abusive');
 */
export function createTrafficGenerator(options: TrafficGeneratorOptions): TrafficGenerator {
  if (options.targets.length === 0 || !options.targets.every(isLoopbackUrl)) {
    throw new TypeError(`targets must be loopback URLs; got ${JSON.stringify(options.targets)}`);
  }
  const targets = options.targets.map((url) => url.replace(/\/+$/, ''));
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const plans = Object.fromEntries(
    SCENARIOS.map((scenario) => [scenario, capPlan({ ...DEFAULT_PLANS[scenario], ...options.plans?.[scenario] })]),
  ) as Record<Scenario, ScenarioPlan>;

  // Users are per generator: a second dashboard on the same API never collides with this one's passwords.
  const suffix = randomBytes(2).toString('hex');
  const password = randomBytes(12).toString('base64url');
  const tokens = new Map<string, string>();

  const status: Record<Scenario, RunStatus> = { normal: IDLE, burst: IDLE, abusive: IDLE };
  const runs = new Map<Scenario, { controller: AbortController; done: Promise<void> }>();

  const send = async (url: string, init: RequestInit, signal: AbortSignal): Promise<Response> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    return doFetch(url, { ...init, signal: AbortSignal.any([signal, timeout]) });
  };

  const tokenFor = async (username: string, signal: AbortSignal): Promise<string> => {
    const cached = tokens.get(username);
    if (cached) return cached;
    const json = { 'content-type': 'application/json' };
    const body = JSON.stringify({ username, password });
    const base = targets[0] as string;
    const registered = await send(`${base}/api/v1/auth/register`, { method: 'POST', headers: json, body }, signal);
    await registered.body?.cancel();
    if (registered.status !== 201 && registered.status !== 409) throw new Error(`register answered ${registered.status}`);
    const login = await send(`${base}/api/v1/auth/login`, { method: 'POST', headers: json, body }, signal);
    const data = (await login.json().catch(() => ({}))) as { token?: unknown };
    if (login.status !== 200 || typeof data.token !== 'string') throw new Error(`login answered ${login.status}`);
    tokens.set(username, data.token);
    return data.token;
  };

  const requestOf = (index: number, token: string | undefined): [string, RequestInit] => {
    const base = targets[index % targets.length] as string;
    if (token === undefined) {
      const body = JSON.stringify({ username: 'admin', password: `guess-${index}` });
      return [`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }];
    }
    return [`${base}/api/v1/items`, { headers: { authorization: `Bearer ${token}` } }];
  };

  const run = async (scenario: Scenario, signal: AbortSignal): Promise<void> => {
    const plan = plans[scenario];
    const deadline = Date.now() + plan.maxDurationMs;
    // Every run first makes sure both users are logged in (once; tokens are kept). Logging in is
    // anonymous, from the same loopback address as the abusive client: done after an abusive run,
    // it would be refused with the abuser, so it is done before the first run of any kind.
    const logins = new Map<string, string | Error>();
    for (const user of ['normal', 'burst']) {
      try {
        logins.set(user, await tokenFor(`${user}-${suffix}`, signal));
      } catch (error) {
        logins.set(user, error instanceof Error ? error : new Error(String(error)));
      }
    }
    const username = `${scenario}-${suffix}`;
    const login = logins.get(scenario);
    if (login instanceof Error) throw login;
    const token = login;
    let next = 0;
    const tally = (field: 'ok' | 'limited' | 'failed'): void => {
      const current = status[scenario];
      status[scenario] = { ...current, [field]: current[field] + 1 };
    };
    const worker = async (): Promise<void> => {
      while (!signal.aborted && next < plan.requests && Date.now() < deadline) {
        const index = next++;
        const [url, init] = requestOf(index, token);
        status[scenario] = { ...status[scenario], sent: status[scenario].sent + 1 };
        try {
          const response = await send(url, init, signal);
          await response.body?.cancel();
          // A token the API no longer accepts (it restarted with a new secret) is fetched again next run.
          if (response.status === 401 && token !== undefined) tokens.delete(username);
          tally(response.status === 429 ? 'limited' : response.status < 300 ? 'ok' : 'failed');
        } catch {
          if (signal.aborted) return;
          tally('failed');
        }
        if (plan.intervalMs > 0) await pause(plan.intervalMs, signal);
      }
    };
    await Promise.all(Array.from({ length: plan.concurrency }, worker));
  };

  const start = (scenario: Scenario): boolean => {
    if (runs.has(scenario)) return false;
    const controller = new AbortController();
    // Each of a plan's concurrent workers waits on it: more than ten at once is no leak.
    setMaxListeners(0, controller.signal);
    status[scenario] = { ...IDLE, running: true, startedAt: Date.now() };
    const done = run(scenario, controller.signal)
      .catch((error: unknown) => {
        if (!controller.signal.aborted) status[scenario] = { ...status[scenario], error: errorText(error) };
      })
      .finally(() => {
        status[scenario] = { ...status[scenario], running: false, finishedAt: Date.now() };
        runs.delete(scenario);
      });
    runs.set(scenario, { controller, done });
    return true;
  };

  return {
    start,
    async stop() {
      const pending = [...runs.values()];
      for (const { controller } of pending) controller.abort();
      await Promise.all(pending.map(({ done }) => done));
    },
    status: () => ({ ...status }),
    settled: async (scenario) => {
      await runs.get(scenario)?.done;
    },
  };
}

function capPlan(plan: ScenarioPlan): ScenarioPlan {
  const whole = (value: number, max: number, min: number): number =>
    Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : min;
  return {
    requests: whole(plan.requests, HARD_CAPS.requests, 0),
    concurrency: whole(plan.concurrency, HARD_CAPS.concurrency, 1),
    intervalMs: whole(plan.intervalMs, 10_000, 0),
    maxDurationMs: whole(plan.maxDurationMs, HARD_CAPS.maxDurationMs, 0),
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
  return String(error);
}

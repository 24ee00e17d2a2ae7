// What an adapter test provides so the shared conformance suite can drive it: build an app
// from a framework-neutral description, listen on a loopback port, close.
import type { AdminAuthorization, Clock, DecisionEvent, HttpLimiterOptions, Limiter, Logger, RouteLimitAlgorithm, Store } from '@micboard/limiter-core';

/** Who a route limit counts per, in framework-neutral terms the harness turns into a key function. */
export type TestLimitBy = 'ip' | 'user' | { readonly header: string } | { readonly query: string };

/** One route limit of a test app. */
export interface TestLimit {
  readonly max: number;
  readonly window: string | number;
  readonly by?: TestLimitBy;
  readonly algorithm?: RouteLimitAlgorithm;
  readonly name?: string;
  readonly headers?: 'legacy' | 'draft' | 'both' | 'none';
}

/** One route of a test app: answers `{ ok: true }` with `status` (default 200). */
export interface TestRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly limits?: readonly TestLimit[];
  /** Each limit as its own middleware (true) or all in one `limits` list (false). @default false */
  readonly separateMiddlewares?: boolean;
  readonly status?: number;
  /** Send the status and a first chunk of the body, then never end: the client has to abort. @default false */
  readonly unfinished?: boolean;
}

/** The global middleware's options the suite sets (hooks over the raw request are expressed as data). */
export type TestGlobalOptions = Omit<
  HttpLimiterOptions<unknown>,
  'store' | 'clock' | 'logger' | 'skip' | 'onLimited' | 'getUserId' | 'latencyClock'
> & {
  /** Requests carrying this header (any value) are skipped. */
  readonly skipHeader?: string;
  readonly onLimited?: (event: DecisionEvent) => void;
};

/** A test app. The user id (the app's own authentication) comes from the `x-user` header. */
export interface TestApp {
  readonly store: Store;
  readonly clock: Clock;
  readonly logger?: Logger;
  /** Trust the loopback proxy (express `trust proxy: 'loopback'`, koa `app.proxy = true`). @default false */
  readonly trustProxy?: boolean;
  /**
   * A middleware before all others answers 503 at once and still passes the request on, as a timeout
   * middleware can: whatever runs after it finds the response sent. @default false
   */
  readonly answeredFirst?: boolean;
  /** The global adaptive middleware's options, or false to mount none (route limits still share its store). */
  readonly global: TestGlobalOptions | false;
  readonly routes: readonly TestRoute[];
  /** Mount the admin API under `prefix`; `authorize` sees the request headers. */
  readonly admin?: {
    readonly prefix: string;
    readonly authorize: (headers: Readonly<Record<string, string | string[] | undefined>>) => AdminAuthorization;
  };
}

/** A running test app. */
export interface RunningApp {
  /** e.g. `http://127.0.0.1:39211` */
  readonly url: string;
  /** The engine behind the global middleware. */
  readonly limiter: Limiter;
  close(): Promise<void>;
}

/** An adapter under test. */
export interface AdapterHarness {
  readonly name: string;
  start(app: TestApp): Promise<RunningApp>;
}

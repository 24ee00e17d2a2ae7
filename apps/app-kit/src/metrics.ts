import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What the metrics read from a middleware's `onDecision` event. A structural subset of the
 * HTTP layer's `DecisionEvent`, so any app (and any adapter) can feed the same counters.
 */
export interface DecisionLike {
  /** `'global'` for the adaptive middleware, or a route limit's id. */
  readonly limiter: string;
  readonly route: string;
  readonly userType: string | undefined;
  readonly allowed: boolean;
  /** How long the store took, in ms. */
  readonly storeLatencyMs: number;
  /** Set when the store failed; if the request was still allowed, that was a fail-open fallback. */
  readonly storeError: unknown;
}

export interface LimiterMetrics {
  readonly registry: Registry;
  /** Pass as the middleware's `onDecision`. */
  readonly onDecision: (event: DecisionLike) => void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
  readonly contentType: string;
}

export interface LimiterMetricsOptions {
  /** Name of the store, for the `store` label (e.g. `'memory'`, `'redis'`). */
  readonly store: string;
  /**
   * Whether the store is answering from its fallback (the Redis store's `degraded`): decisions made
   * meanwhile count as fallbacks, and `ratelimit_store_degraded` shows it. @default never
   */
  readonly isDegraded?: () => boolean;
  /** Also export Node's process metrics (CPU, memory, event loop). @default true */
  readonly processMetrics?: boolean;
  /**
   * Most distinct `route` label values kept; later ones are counted as `other`. A global middleware
   * sees raw paths for unmatched requests, and a scanner must not be able to grow the series without bound.
   * @default 100
   */
  readonly maxRoutes?: number;
}

/**
 * Prometheus metrics fed by a limiter decision hook.
 *
 * @example
 * const metrics = createLimiterMetrics({ store: store.name });
 * app.use(rateLimit({ limiter, onDecision: metrics.onDecision }));
 * app.get('/metrics', async (_req, res) => res.type(metrics.contentType).send(await metrics.render()));
 */
export function createLimiterMetrics(options: LimiterMetricsOptions): LimiterMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const maxRoutes = options.maxRoutes ?? 100;
  const routes = new Set<string>();

  const decisions = new Counter({
    name: 'ratelimit_decisions_total',
    help: 'Rate-limit decisions, by limiter, route, user type and outcome (allowed or denied).',
    labelNames: ['limiter', 'route', 'user_type', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'ratelimit_store_latency_seconds',
    help: 'Time the rate-limit store took to decide, in seconds.',
    labelNames: ['store', 'limiter'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'ratelimit_store_errors_total',
    help: 'Rate-limit store failures.',
    labelNames: ['store', 'limiter'] as const,
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'ratelimit_store_fallbacks_total',
    help: 'Decisions not made by the store: let through because it failed (fail open), or answered by its in-process fallback.',
    labelNames: ['store', 'limiter'] as const,
    registers: [registry],
  });
  const isDegraded = options.isDegraded;
  new Gauge({
    name: 'ratelimit_store_degraded',
    help: '1 while the store is unreachable and decisions come from its fallback, else 0.',
    labelNames: ['store'] as const,
    registers: [registry],
    collect() {
      this.set({ store: options.store }, isDegraded?.() ? 1 : 0);
    },
  });

  const routeLabel = (route: string): string => {
    if (routes.has(route)) return route;
    if (routes.size >= maxRoutes) return 'other';
    routes.add(route);
    return route;
  };

  const onDecision = (event: DecisionLike): void => {
    const storeLabels = { store: options.store, limiter: event.limiter };
    latency.observe(storeLabels, event.storeLatencyMs / 1000);
    if (event.storeError !== undefined && event.storeError !== null) {
      errors.inc(storeLabels);
      if (event.allowed) fallbacks.inc(storeLabels);
    } else if (isDegraded?.()) {
      // The store hid its failure by answering from its fallback: count both.
      errors.inc(storeLabels);
      fallbacks.inc(storeLabels);
    }
    decisions.inc({
      limiter: event.limiter,
      route: routeLabel(event.route),
      user_type: event.userType ?? 'unknown',
      outcome: event.allowed ? 'allowed' : 'denied',
    });
  };

  return { registry, onDecision, render: () => registry.metrics(), contentType: registry.contentType };
}

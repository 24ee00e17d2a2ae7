import { describe, expect, it } from 'vitest';
import { createLimiterMetrics, type DecisionLike } from '../src/metrics.js';

const event = (overrides: Partial<DecisionLike> = {}): DecisionLike => ({
  limiter: '/api/data',
  route: '/api/data',
  userType: 'anonymous',
  allowed: true,
  storeLatencyMs: 0.4,
  storeError: undefined,
  ...overrides,
});

describe('createLimiterMetrics', () => {
  it('counts decisions by route, user type and outcome, and store latency, errors and fallbacks', async () => {
    const metrics = createLimiterMetrics({ store: 'memory', processMetrics: false });
    metrics.onDecision(event());
    metrics.onDecision(event());
    metrics.onDecision(event({ allowed: false }));
    metrics.onDecision(event({ route: '/api/discover', limiter: '/api/discover', userType: 'authenticated' }));
    metrics.onDecision(event({ storeError: new Error('down'), userType: undefined }));
    metrics.onDecision(event({ storeError: new Error('down'), allowed: false, userType: undefined }));
    const text = await metrics.render();
    expect(text).toContain('ratelimit_decisions_total{limiter="/api/data",route="/api/data",user_type="anonymous",outcome="allowed"} 2');
    expect(text).toContain('ratelimit_decisions_total{limiter="/api/data",route="/api/data",user_type="anonymous",outcome="denied"} 1');
    expect(text).toContain('ratelimit_decisions_total{limiter="/api/discover",route="/api/discover",user_type="authenticated",outcome="allowed"} 1');
    expect(text).toContain('ratelimit_decisions_total{limiter="/api/data",route="/api/data",user_type="unknown",outcome="allowed"} 1');
    expect(text).toContain('ratelimit_store_errors_total{store="memory",limiter="/api/data"} 2');
    // Only the allowed one was a fail-open fallback; the denied one failed closed.
    expect(text).toContain('ratelimit_store_fallbacks_total{store="memory",limiter="/api/data"} 1');
    expect(text).toContain('ratelimit_store_latency_seconds_count{store="memory",limiter="/api/data"} 5');
    expect(text).toContain('ratelimit_store_latency_seconds_bucket{le="0.0005",store="memory",limiter="/api/data"} 5');
    expect(metrics.contentType).toMatch(/^text\/plain/);
  });

  it('bounds the route label so raw paths cannot grow the series without end', async () => {
    const metrics = createLimiterMetrics({ store: 'memory', processMetrics: false, maxRoutes: 3 });
    for (let i = 0; i < 50; i++) metrics.onDecision(event({ route: `/scan/${i}` }));
    const text = await metrics.render();
    const routes = new Set([...text.matchAll(/ratelimit_decisions_total\{[^}]*route="([^"]+)"/g)].map((m) => m[1]));
    expect(routes).toEqual(new Set(['/scan/0', '/scan/1', '/scan/2', 'other']));
    expect(text).toContain('route="other",user_type="anonymous",outcome="allowed"} 47');
  });

  it('counts decisions answered by a degraded store as errors and fallbacks, and shows the degraded gauge', async () => {
    let degraded = false;
    const metrics = createLimiterMetrics({ store: 'redis', processMetrics: false, isDegraded: () => degraded });
    metrics.onDecision(event());
    expect(await metrics.render()).toContain('ratelimit_store_degraded{store="redis"} 0');
    degraded = true;
    metrics.onDecision(event());
    metrics.onDecision(event({ allowed: false }));
    const text = await metrics.render();
    expect(text).toContain('ratelimit_store_degraded{store="redis"} 1');
    expect(text).toContain('ratelimit_store_errors_total{store="redis",limiter="/api/data"} 2');
    expect(text).toContain('ratelimit_store_fallbacks_total{store="redis",limiter="/api/data"} 2');
  });

  it('exports process metrics by default', async () => {
    const metrics = createLimiterMetrics({ store: 'redis' });
    expect(await metrics.render()).toContain('process_cpu_user_seconds_total');
  });
});

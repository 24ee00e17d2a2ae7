// A tour of @micboard/limiter-core in the terminal. Time is a manual clock, so it runs instantly and
// prints the same thing every time. Run it with `pnpm demo` (until the full demo lands) or
// `pnpm --filter @micboard/limiter-core run example`.
import {
  backoffDelay,
  createLimiter,
  parseRetryAfter,
  rateLimitHeaders,
  retryPolicy,
  type LimiterRequest,
} from '../src/index.js';
import { createReferenceStore, ManualClock } from '../src/testing/index.js';

const clock = new ManualClock(Date.UTC(2026, 10, 25, 12, 0, 0));
const limiter = createLimiter({ store: createReferenceStore({ clock }), clock });
const request = (path: string, extra: Partial<LimiterRequest> = {}): LimiterRequest => ({
  method: 'GET',
  path,
  ip: '203.0.113.7',
  headers: {},
  ...extra,
});
const check = (req: LimiterRequest) => {
  const result = limiter.check(req);
  if (result instanceof Promise) throw new Error('the reference store answers synchronously');
  return result;
};
const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

out('@micboard/limiter-core — a token bucket per client, seed 2 profiles, manual clock\n');

out('1. An anonymous client (capacity 50 + burst 10, refill 5/s) sends 70 requests at once:');
let allowed = 0;
let last = check(request('/api/items'));
if (last.decision.allowed) allowed++;
for (let i = 1; i < 70; i++) {
  last = check(request('/api/items'));
  if (last.decision.allowed) allowed++;
}
out(`   admitted ${allowed}, denied ${70 - allowed}; the 70th gets:`);
for (const [name, value] of Object.entries(rateLimitHeaders(last.decision, { style: 'both', now: clock.now(), userType: last.userType }))) {
  out(`     ${name}: ${value}`);
}

clock.advance(1_000);
allowed = 0;
for (let i = 0; i < 10; i++) if (check(request('/api/items')).decision.allowed) allowed++;
out(`\n2. One second later, 10 more requests: ${allowed} admitted (the refill rate).`);

out('\n3. A login costs 5 tokens: a fresh client gets 12 logins (60 / 5) before a 429.');
let logins = 0;
for (let i = 0; i < 20; i++) if (check(request('/api/v1/auth/login', { method: 'POST', ip: '198.51.100.4' })).decision.allowed) logins++;
out(`   logins admitted: ${logins}`);

out('\n4. Spoofing test mode in production changes nothing:');
const spoofed = check(
  request('/api/items', {
    ip: '192.0.2.10',
    headers: { 'user-agent': 'playwright', host: 'localhost', 'x-test-environment': 'true', 'x-automated-test': 'true' },
  }),
);
out(`   user type ${spoofed.userType}, limit ${spoofed.decision.limit}`);

out('\n5. Adaptive scoring: 50 successful responses raise a client’s limit; a 404 storm lowers it.');
const good = request('/api/items', { ip: '192.0.2.20' });
const goodKey = check(good).key;
for (let i = 0; i < 50; i++) limiter.record(goodKey, 200);
const bad = request('/api/items', { ip: '192.0.2.30' });
const badKey = check(bad).key;
for (let i = 0; i < 30; i++) limiter.record(badKey, 404);
clock.advance(30_000);
const g = check(good).decision;
const b = check(bad).decision;
out(`   well-behaved: ×${g.multiplier.toFixed(2)} → limit ${g.limit}; abusive: ×${b.multiplier.toFixed(2)} → limit ${b.limit}`);
for (let i = 0; i < 50; i++) limiter.record(badKey, 503);
out(`   50 server errors later the abusive client is still ×${check(bad).decision.multiplier.toFixed(2)} (a 5xx is the server's fault)`);

out('\n6. The client side: seed 1 retry schedule (3 retries, 0.5 s base, ×2), without and with full jitter:');
const plain = retryPolicy({ jitter: 'none' });
out(`   ${[1, 2, 3].map((retry) => `${backoffDelay(plain, retry)} ms`).join(', ')}`);
const jittered = retryPolicy();
out(`   ${[1, 2, 3].map((retry) => `${Math.round(backoffDelay(jittered, retry, () => 0.5))} ms`).join(', ')} (random() = 0.5)`);
out(`   Retry-After "120" → ${parseRetryAfter('120', clock.now())} ms; as an HTTP-date → ${parseRetryAfter(new Date(clock.now() + 90_000).toUTCString(), clock.now())} ms`);

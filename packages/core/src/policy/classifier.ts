/**
 * User types and their profiles. The seed design detected test and development traffic from what
 * the client sent (User-Agent, Host, X-Test-Environment), so any client could claim the
 * 1000-per-second development profile with one header. Here the operator decides: in production
 * nothing the client sends changes its type, and elsewhere only requests from trusted networks
 * can be upgraded.
 */
import { invalidOption } from '../errors.js';
import { nonNegative, oneOf, positive, refillRate } from '../validate.js';
import { cidrMatcher } from './ip.js';

/** The classes of client a limiter sizes its limits by. */
export type UserType = 'anonymous' | 'authenticated' | 'testing' | 'development';

/** The token bucket a user type gets (see `TokenBucketSpec` for the exact meaning). */
export interface Profile {
  /** Tokens of sustained budget, > 0. */
  readonly capacity: number;
  /** Tokens refilled per second, > 0 and (times `adaptive.max`) at most `MAX_REFILL_PER_SECOND`. */
  readonly refillPerSecond: number;
  /** Extra tokens of headroom above `capacity`, >= 0. */
  readonly burst: number;
}

/** Where the limiter runs; decides which upgrades are possible at all. */
export type ClassifierEnvironment = 'production' | 'development' | 'test';

/** Options of {@link createClassifier}. */
export interface ClassifierOptions {
  /**
   * `'production'`: a request is `'anonymous'` or `'authenticated'`, nothing else, whatever it sends.
   * `'development'`: requests from `trustedNetworks` are `'development'`.
   * `'test'`: requests from `trustedNetworks` that carry a test signal are `'testing'`.
   * Pass it from your own configuration; the core never reads `NODE_ENV`.
   * @default 'production'
   */
  readonly environment?: ClassifierEnvironment;
  /**
   * Networks (CIDRs or bare addresses) whose requests may be upgraded outside production. A request
   * from anywhere else is never upgraded, whatever it sends. Ignored in production.
   * @default [] in production; ['127.0.0.0/8', '::1/128'] (loopback) otherwise
   */
  readonly trustedNetworks?: readonly string[];
  /**
   * In `'development'`, also honour test signals: a trusted request carrying one is `'testing'`
   * rather than `'development'` (for e2e suites run against a development server that should see
   * test-sized limits). In `'test'` signals are always honoured; in `'production'` never.
   * @default false
   */
  readonly testSignals?: boolean;
}

/** What the classifier looks at. */
export interface ClassifyInput {
  /** The client address as the app determined it (after its own proxy handling), or undefined. */
  readonly ip: string | undefined;
  /** Request headers, any key case; values as Node gives them. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The app's own authentication result. Only `true` counts; no header can set it. */
  readonly authenticated: boolean;
}

/** Classifies requests into {@link UserType}s. */
export interface Classifier {
  classify(input: ClassifyInput): UserType;
}

function profile(capacity: number, refillPerSecond: number, burst: number): Profile {
  return Object.freeze({ capacity, refillPerSecond, burst });
}

/** The seed's table: roughly 300, 1,200, 6,000 and 60,000 requests per minute sustained. */
export const DEFAULT_PROFILES: Readonly<Record<UserType, Profile>> = Object.freeze({
  anonymous: profile(50, 5, 10),
  authenticated: profile(200, 20, 50),
  testing: profile(500, 100, 200),
  development: profile(1000, 1000, 1000),
});

/**
 * Checks a profile (from options or from shared runtime config) and returns a frozen copy.
 * A missing `burst` is 0.
 * @param p The candidate profile.
 * @param option The option name to blame, e.g. `'profiles.anonymous'`; fields are appended.
 * @param maxMultiplier The most an adaptive multiplier can scale the rate by (`adaptive.max`):
 *   `refillPerSecond * maxMultiplier` must be at most `MAX_REFILL_PER_SECOND`. @default 1
 * @throws LimiterError `INVALID_OPTION` naming the field, e.g. `profiles.anonymous.capacity`.
 * @example
 * const anonymous = validateProfile(JSON.parse(body), 'profiles.anonymous');
 */
export function validateProfile(p: unknown, option: string, maxMultiplier = 1): Profile {
  if (typeof p !== 'object' || p === null) {
    throw invalidOption(option, p, 'an object { capacity, refillPerSecond, burst }');
  }
  const candidate = p as Partial<Record<keyof Profile, unknown>>;
  return profile(
    positive(`${option}.capacity`, candidate.capacity),
    refillRate(`${option}.refillPerSecond`, candidate.refillPerSecond, maxMultiplier),
    nonNegative(`${option}.burst`, candidate.burst ?? 0),
  );
}

const LOOPBACK: readonly string[] = ['127.0.0.0/8', '::1/128'];
// Only this much of a header value is inspected: signals sit at the start of real values, and a
// client must not be able to make classification cost more by sending megabytes.
const MAX_INSPECTED = 512;
const AGENT_SIGNALS = ['jest', 'playwright', 'cypress', 'selenium', 'automated', 'e2e', 'integration'];
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '0.0.0.0', '::1']);
const STAGE_LABELS = new Set(['dev', 'development', 'staging']);

/** Case-insensitive header lookup that tolerates any value shape; lists flatten to their strings. */
function headerValues(headers: ClassifyInput['headers'], name: string): string[] {
  if (typeof headers !== 'object' || headers === null) return [];
  let value: unknown = headers[name];
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.length === name.length && key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  const list = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of list) {
    if (typeof item === 'string') out.push((item.length > MAX_INSPECTED ? item.slice(0, MAX_INSPECTED) : item).toLowerCase());
  }
  return out;
}

function isLocalHost(host: string): boolean {
  let name = host.trim();
  if (name.startsWith('[')) {
    const close = name.indexOf(']');
    name = close === -1 ? name.slice(1) : name.slice(1, close);
  } else {
    const colon = name.indexOf(':');
    if (colon !== -1) name = name.slice(0, colon);
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (LOCAL_HOSTS.has(name) || name.endsWith('.localhost')) return true;
  for (const label of name.split('.')) if (STAGE_LABELS.has(label)) return true;
  return false;
}

/** The seed's test signals: tool User-Agents, local/staging Host, or an explicit test header. */
function hasTestSignal(headers: ClassifyInput['headers']): boolean {
  for (const name of ['x-test-environment', 'x-automated-test']) {
    for (const value of headerValues(headers, name)) if (value.trim() === 'true') return true;
  }
  for (const agent of headerValues(headers, 'user-agent')) {
    for (const signal of AGENT_SIGNALS) if (agent.includes(signal)) return true;
  }
  for (const host of headerValues(headers, 'host')) if (isLocalHost(host)) return true;
  return false;
}

/**
 * Builds a classifier. Secure by default: with no options every request is `'anonymous'` or
 * `'authenticated'` (from `input.authenticated` only). Upgrades to `'development'` or `'testing'`
 * happen only when the operator set `environment`, and only for requests from `trustedNetworks`;
 * an upgrade wins over `'authenticated'` (those profiles are the larger ones).
 *
 * Test signals (honoured only as described on {@link ClassifierOptions}): a User-Agent containing
 * jest, playwright, cypress, selenium, automated, e2e or integration; a Host of localhost,
 * *.localhost, 127.0.0.1, 0.0.0.0 or [::1], or with a dev/development/staging label; or
 * `X-Test-Environment: true` / `X-Automated-Test: true`. Header names and values are
 * case-insensitive; lists, huge and non-ASCII values are handled without throwing.
 *
 * @throws LimiterError `INVALID_OPTION` for an unknown environment, a bad CIDR or a non-boolean `testSignals`.
 * @example
 * const classifier = createClassifier({ environment: 'test' });
 * classifier.classify({ ip: '127.0.0.1', headers: { 'x-test-environment': 'true' }, authenticated: false }); // 'testing'
 * classifier.classify({ ip: '203.0.113.7', headers: { 'x-test-environment': 'true' }, authenticated: false }); // 'anonymous'
 */
export function createClassifier(options: ClassifierOptions = {}): Classifier {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('classifier', options, 'an object of classifier options');
  }
  const environment = oneOf('environment', options.environment ?? 'production', ['production', 'development', 'test']);
  const testSignals = options.testSignals ?? false;
  if (typeof testSignals !== 'boolean') throw invalidOption('testSignals', testSignals, 'a boolean');
  // Validated even in production, so a typo fails at startup rather than on the first deploy to staging.
  const trusted = cidrMatcher(options.trustedNetworks ?? (environment === 'production' ? [] : LOOPBACK), 'trustedNetworks');

  const base = (input: ClassifyInput): UserType => (input.authenticated === true ? 'authenticated' : 'anonymous');

  if (environment === 'production') {
    // Never looks at ip or headers: nothing the client controls can reach the result.
    return { classify: base };
  }
  const signals = environment === 'test' || testSignals;
  const upgraded: UserType = environment === 'test' ? 'testing' : 'development';
  return {
    classify(input: ClassifyInput): UserType {
      if (typeof input.ip !== 'string' || !trusted(input.ip)) return base(input);
      if (!signals) return upgraded;
      if (hasTestSignal(input.headers)) return 'testing';
      return environment === 'test' ? base(input) : upgraded;
    },
  };
}

/**
 * Endpoint costs: how many tokens a request to a route takes. Expensive or abuse-prone routes
 * (login, registration, imports) cost more, so one budget covers them all fairly.
 */
import { invalidOption } from '../errors.js';
import { positive } from '../validate.js';

/** One cost rule. */
export interface EndpointCostRule {
  /**
   * Path pattern: exact (`/api/v1/auth/login`), with `:param` segments (`/api/users/:id`), or
   * ending in a `*` segment (`/api/v1/data-import/*`, matching that path and everything below it).
   * Case-insensitive, trailing slash ignored.
   */
  readonly path: string;
  /** Tokens a matching request costs, a finite number > 0. */
  readonly cost: number;
  /** HTTP method this rule is for (case-insensitive); `'*'` for any method. @default any method */
  readonly method?: string;
}

/** Options of {@link createEndpointCosts}. */
export interface EndpointCostsOptions {
  /** The rules. Pass `[]` to start empty. @default DEFAULT_ENDPOINT_COSTS */
  readonly rules?: readonly EndpointCostRule[];
  /** Tokens a request matching no rule costs, a finite number > 0. @default 1 */
  readonly defaultCost?: number;
}

/** A mutable table of endpoint costs (the admin API updates it at runtime). */
export interface EndpointCosts {
  /**
   * The cost of a request. Query string, fragment, trailing slash and case are ignored. The most
   * specific path wins — exact, then `:param` patterns (a literal segment beats a parameter,
   * left to right), then `*` patterns (longer prefix first); for the same path a rule for the
   * request's method beats an any-method rule. A HEAD request also matches GET rules, as routers
   * run GET handlers for HEAD.
   */
  costOf(method: string, path: string): number;
  /** Adds or replaces the rule for `path` (and `method`, if given). @throws LimiterError on a bad path, cost or method. */
  set(path: string, cost: number, method?: string): void;
  /** Removes the rule for `path` and `method` (any-method when omitted); returns whether there was one. */
  remove(path: string, method?: string): boolean;
  /** All rules, in a stable order (normalised paths, upper-case methods). */
  list(): EndpointCostRule[];
  /** The cost of a request matching no rule. */
  readonly defaultCost: number;
}

/** The seed's costs: login 5, register 10, store import 3 (any method); everything else 1. */
export const DEFAULT_ENDPOINT_COSTS: readonly EndpointCostRule[] = Object.freeze([
  Object.freeze({ path: '/api/v1/auth/login', cost: 5 }),
  Object.freeze({ path: '/api/v1/auth/register', cost: 10 }),
  Object.freeze({ path: '/api/v1/data-import/store-import', cost: 3 }),
]);

const ANY = '*';
const PATTERN_HINT = 'a path like "/api/users/:id" or "/api/*" (starting with "/", no query string)';

interface Entry {
  /** Identity: normalised pattern with parameter names dropped ("/u/:id" and "/u/:user" are one rule). */
  readonly key: string;
  /** Normalised pattern as first written, for `list()`. */
  readonly path: string;
  /** Lower-case segments; `:x` a parameter, a final `*` a wildcard. */
  readonly segments: readonly string[];
  readonly kind: 0 | 1 | 2; // exact, param, wildcard
  /** Cost by upper-case method, `'*'` for any method. */
  readonly costs: Map<string, number>;
}

function normalisePattern(
  path: unknown,
  option: string,
): { key: string; path: string; segments: string[]; kind: 0 | 1 | 2 } {
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
    throw invalidOption(option, path, PATTERN_HINT);
  }
  const segments = path.toLowerCase().split('/').slice(1);
  while (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  let kind: 0 | 1 | 2 = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '') throw invalidOption(option, path, `${PATTERN_HINT} without empty segments`);
    if (segment === '*') {
      if (i !== segments.length - 1) throw invalidOption(option, path, `${PATTERN_HINT} with "*" only at the end`);
      kind = 2;
    } else if (segment.includes('*')) {
      throw invalidOption(option, path, `${PATTERN_HINT} with "*" only as a whole final segment`);
    } else if (segment.startsWith(':')) {
      if (segment.length === 1) throw invalidOption(option, path, `${PATTERN_HINT} with named parameters`);
      if (kind === 0) kind = 1;
    }
  }
  // Parameter names do not matter for matching, so "/u/:id" and "/u/:user" are the same rule.
  const canonical = segments.map((s) => (s.startsWith(':') ? ':' : s));
  return { key: `/${canonical.join('/')}`, path: `/${segments.join('/')}`, segments: canonical, kind };
}

function normaliseMethod(method: unknown, option: string): string {
  if (method === undefined || method === ANY) return ANY;
  if (typeof method !== 'string' || !/^[A-Za-z-]{1,32}$/.test(method)) {
    throw invalidOption(option, method, 'an HTTP method such as "POST", or "*" for any');
  }
  return method.toUpperCase();
}

/**
 * Request path -> lower-case path without query, fragment or trailing slashes; '/' at least.
 * An absolute-form target ("http://host/login", legal in a request line) is reduced to its path,
 * so it cannot dodge a rule.
 */
function normaliseRequestPath(raw: string): string {
  let path = raw;
  if (path.charCodeAt(0) !== 47 /* / */) {
    const scheme = path.indexOf('://');
    const slash = scheme === -1 ? -1 : path.indexOf('/', scheme + 3);
    path = slash === -1 ? (scheme === -1 ? `/${path}` : '/') : path.slice(slash);
  }
  let end = path.length;
  const query = path.indexOf('?');
  if (query !== -1) end = query;
  const hash = path.indexOf('#');
  if (hash !== -1 && hash < end) end = hash;
  while (end > 1 && path.charCodeAt(end - 1) === 47 /* / */) end--;
  return (end === path.length ? path : path.slice(0, end)).toLowerCase();
}

/** Orders patterns most specific first: params before wildcards; literal before param, left to right; longer first. */
function compareEntries(a: Entry, b: Entry): number {
  if (a.kind !== b.kind) return a.kind - b.kind;
  if (a.kind === 2 && a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const pa = a.segments[i] === ':' ? 1 : 0;
    const pb = b.segments[i] === ':' ? 1 : 0;
    if (pa !== pb) return pa - pb;
  }
  return byText(a.key, b.key);
}

/** Sort order for keys known to be distinct. */
function byText(a: string, b: string): number {
  return a < b ? -1 : 1;
}

function matches(entry: Entry, request: readonly string[]): boolean {
  const pattern = entry.segments;
  if (entry.kind === 2) {
    const prefix = pattern.length - 1;
    if (request.length < prefix) return false;
    for (let i = 0; i < prefix; i++) {
      if (pattern[i] !== ':' && pattern[i] !== request[i]) return false;
    }
    return true;
  }
  if (request.length !== pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== ':' && pattern[i] !== request[i]) return false;
  }
  return true;
}

function costFor(entry: Entry, method: string): number | undefined {
  return entry.costs.get(method) ?? (method === 'HEAD' ? entry.costs.get('GET') : undefined) ?? entry.costs.get(ANY);
}

/**
 * Builds an endpoint-cost table.
 * @throws LimiterError `INVALID_OPTION` naming the rule (`rules[2].cost`) or `defaultCost`.
 * @example
 * const costs = createEndpointCosts({
 *   rules: [...DEFAULT_ENDPOINT_COSTS, { path: '/api/reports/:id/export', cost: 20, method: 'GET' }],
 * });
 * costs.costOf('POST', '/api/v1/auth/login?next=/') // 5
 * costs.costOf('GET', '/api/reports/42/export') // 20
 * costs.costOf('GET', '/api/anything') // 1
 */
export function createEndpointCosts(options: EndpointCostsOptions = {}): EndpointCosts {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption('endpointCosts', options, 'an object of endpoint cost options');
  }
  const defaultCost = positive('defaultCost', options.defaultCost ?? 1);
  const rules = options.rules ?? DEFAULT_ENDPOINT_COSTS;
  if (!Array.isArray(rules)) throw invalidOption('rules', rules, 'an array of { path, cost, method? }');

  const exact = new Map<string, Entry>();
  let patterns: Entry[] = [];

  function set(path: string, cost: number, method?: string, option = 'path'): void {
    const pattern = normalisePattern(path, option);
    const m = normaliseMethod(method, option === 'path' ? 'method' : option.replace(/path$/, 'method'));
    const c = positive(option === 'path' ? 'cost' : option.replace(/path$/, 'cost'), cost);
    let entry = pattern.kind === 0 ? exact.get(pattern.key) : patterns.find((e) => e.key === pattern.key);
    if (entry === undefined) {
      entry = { ...pattern, costs: new Map() };
      if (pattern.kind === 0) exact.set(pattern.key, entry);
      else patterns = [...patterns, entry].sort(compareEntries);
    }
    entry.costs.set(m, c);
  }

  rules.forEach((rule: EndpointCostRule, i: number) => {
    if (typeof rule !== 'object' || rule === null) throw invalidOption(`rules[${i}]`, rule, 'an object { path, cost, method? }');
    set(rule.path, rule.cost, rule.method, `rules[${i}].path`);
  });

  return {
    defaultCost,
    costOf(method: string, path: string): number {
      if (typeof path !== 'string') return defaultCost;
      const m = typeof method === 'string' ? method.toUpperCase() : '';
      const key = normaliseRequestPath(path);
      const hit = exact.get(key);
      if (hit !== undefined) {
        const cost = costFor(hit, m);
        if (cost !== undefined) return cost;
      }
      if (patterns.length === 0) return defaultCost;
      const segments = key.split('/').slice(1);
      for (const entry of patterns) {
        if (!matches(entry, segments)) continue;
        const cost = costFor(entry, m);
        if (cost !== undefined) return cost;
      }
      return defaultCost;
    },
    set(path: string, cost: number, method?: string): void {
      set(path, cost, method);
    },
    remove(path: string, method?: string): boolean {
      const pattern = normalisePattern(path, 'path');
      const m = normaliseMethod(method, 'method');
      const entry = pattern.kind === 0 ? exact.get(pattern.key) : patterns.find((e) => e.key === pattern.key);
      if (entry === undefined || !entry.costs.delete(m)) return false;
      if (entry.costs.size === 0) {
        if (pattern.kind === 0) exact.delete(pattern.key);
        else patterns = patterns.filter((e) => e !== entry);
      }
      return true;
    },
    list(): EndpointCostRule[] {
      const out: EndpointCostRule[] = [];
      const entries = [...[...exact.values()].sort((a, b) => byText(a.key, b.key)), ...patterns];
      for (const entry of entries) {
        for (const [method, cost] of [...entry.costs].sort(([a], [b]) => byText(a, b))) {
          out.push(method === ANY ? { path: entry.path, cost } : { path: entry.path, cost, method });
        }
      }
      return out;
    },
  };
}

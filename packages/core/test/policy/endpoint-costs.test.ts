import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ENDPOINT_COSTS, createEndpointCosts } from '../../src/policy/endpoint-costs.js';
import type { EndpointCostRule, EndpointCostsOptions } from '../../src/policy/endpoint-costs.js';
import { LimiterError } from '../../src/errors.js';

const RUNS = { numRuns: 1000 };

function expectInvalid(fn: () => unknown, option: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LimiterError);
  expect((caught as LimiterError).code).toBe('INVALID_OPTION');
  expect((caught as LimiterError).option).toBe(option);
}

describe('default endpoint costs', () => {
  const costs = createEndpointCosts();

  it('are the seed’s, for any method, with 1 elsewhere', () => {
    expect(DEFAULT_ENDPOINT_COSTS).toEqual([
      { path: '/api/v1/auth/login', cost: 5 },
      { path: '/api/v1/auth/register', cost: 10 },
      { path: '/api/v1/data-import/store-import', cost: 3 },
    ]);
    expect(Object.isFrozen(DEFAULT_ENDPOINT_COSTS)).toBe(true);
    expect(costs.defaultCost).toBe(1);
    expect(costs.costOf('POST', '/api/v1/auth/login')).toBe(5);
    expect(costs.costOf('GET', '/api/v1/auth/login')).toBe(5);
    expect(costs.costOf('post', '/api/v1/auth/register')).toBe(10);
    expect(costs.costOf('PUT', '/api/v1/data-import/store-import')).toBe(3);
    expect(costs.costOf('GET', '/api/v1/devices')).toBe(1);
    expect(costs.costOf('GET', '/')).toBe(1);
  });

  it.each([
    '/api/v1/auth/login/',
    '/api/v1/auth/login//',
    '/API/V1/Auth/Login',
    '/api/v1/auth/login?next=/home',
    '/api/v1/auth/login/?a=1#x',
    '/api/v1/auth/login#top',
    'http://evil.example/api/v1/auth/login',
    'https://h:8443/api/v1/auth/login?x',
    'api/v1/auth/login',
  ])('cannot be dodged with %j', (path) => {
    expect(costs.costOf('POST', path)).toBe(5);
  });

  it('treats odd inputs as the default', () => {
    expect(costs.costOf('GET', 'http://host-only')).toBe(1);
    expect(costs.costOf('GET', '')).toBe(1);
    expect(costs.costOf('GET', '?q')).toBe(1);
    expect(costs.costOf(undefined as unknown as string, '/api/v1/auth/login')).toBe(5);
    expect(costs.costOf('GET', undefined as unknown as string)).toBe(1);
  });
});

describe('pattern precedence', () => {
  const costs = createEndpointCosts({
    defaultCost: 0.5,
    rules: [
      { path: '/users/me', cost: 2 },
      { path: '/users/:id', cost: 3 },
      { path: '/users/:id', cost: 4, method: 'DELETE' },
      { path: '/users/:id/posts/:post', cost: 5 },
      { path: '/users/me/posts/:post', cost: 6 },
      { path: '/users/:id/posts/latest', cost: 7 },
      { path: '/users/*', cost: 8 },
      { path: '/users/:id/files/*', cost: 9 },
      { path: '/*', cost: 10, method: 'PATCH' },
      { path: '/reports/:id/export', cost: 20, method: 'get' },
      { path: '/login', cost: 5, method: 'POST' },
      { path: '/search', cost: 1.5, method: '*' },
    ],
  });

  it.each([
    ['GET', '/users/me', 2], // exact beats param
    ['DELETE', '/users/me', 2], // a more specific path beats a method-specific rule on a less specific one
    ['GET', '/users/42', 3],
    ['DELETE', '/users/42', 4], // method-specific beats any-method on the same path
    ['GET', '/users/42/posts/7', 5],
    ['GET', '/users/me/posts/7', 6], // literal before parameter, left to right
    ['GET', '/users/42/posts/latest', 7],
    ['GET', '/users/me/posts/latest', 6], // the leftmost literal decides
    ['GET', '/users/42/settings', 8], // param patterns of another length fall through to the wildcard
    ['GET', '/users', 8], // a wildcard covers its own prefix too
    ['GET', '/users/42/files/a/b/c', 9], // longer wildcard prefix first
    ['PATCH', '/anything/at/all', 10],
    ['PATCH', '/', 10],
    ['GET', '/reports/1/export', 20],
    ['HEAD', '/reports/1/export', 20], // HEAD runs the GET handler
    ['POST', '/reports/1/export', 0.5],
    ['POST', '/login', 5],
    ['GET', '/login', 0.5], // an exact rule for another method falls through
    ['PATCH', '/login', 10],
    ['PUT', '/search', 1.5],
    ['GET', '/other', 0.5],
  ])('%s %s costs %s', (method, path, cost) => {
    expect(costs.costOf(method, path)).toBe(cost);
  });
});

describe('runtime updates', () => {
  it('set, remove and list', () => {
    const costs = createEndpointCosts({ rules: [] });
    expect(costs.list()).toEqual([]);
    expect(costs.costOf('GET', '/x')).toBe(1);
    costs.set('/x/', 4);
    costs.set('/x', 6, 'post');
    costs.set('/items/:itemId', 2);
    costs.set('/Files/*', 3, 'GET');
    expect(costs.costOf('POST', '/x')).toBe(6);
    expect(costs.costOf('GET', '/x')).toBe(4);
    expect(costs.list()).toEqual([
      { path: '/x', cost: 4 },
      { path: '/x', cost: 6, method: 'POST' },
      { path: '/items/:itemid', cost: 2 },
      { path: '/files/*', cost: 3, method: 'GET' },
    ]);
    costs.set('/x', 7); // replaces
    expect(costs.costOf('GET', '/x')).toBe(7);
    // Parameter names do not matter: this is the same rule.
    costs.set('/items/:other', 9);
    expect(costs.costOf('GET', '/items/1')).toBe(9);
    expect(costs.list().filter((r) => r.path.startsWith('/items'))).toEqual([{ path: '/items/:itemid', cost: 9 }]);

    expect(costs.remove('/x', 'PUT')).toBe(false);
    expect(costs.remove('/nope')).toBe(false);
    expect(costs.remove('/nope/*')).toBe(false);
    expect(costs.remove('/x', 'POST')).toBe(true);
    expect(costs.costOf('POST', '/x')).toBe(7);
    expect(costs.remove('/x')).toBe(true);
    expect(costs.costOf('POST', '/x')).toBe(1);
    expect(costs.remove('/items/:whatever')).toBe(true);
    expect(costs.costOf('GET', '/items/1')).toBe(1);
    expect(costs.remove('/files/*')).toBe(false); // only a GET rule exists
    expect(costs.remove('/files/*', 'get')).toBe(true);
    expect(costs.list()).toEqual([]);
  });

  it('keeps a pattern entry while another method still uses it', () => {
    const costs = createEndpointCosts({ rules: [{ path: '/a/:id', cost: 2 }, { path: '/a/:id', cost: 3, method: 'PUT' }] });
    expect(costs.remove('/a/:id')).toBe(true);
    expect(costs.costOf('PUT', '/a/1')).toBe(3);
    expect(costs.costOf('GET', '/a/1')).toBe(1);
  });
});

describe('validation', () => {
  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '2'])('rejects defaultCost %j', (defaultCost) => {
    expectInvalid(() => createEndpointCosts({ defaultCost: defaultCost as number }), 'defaultCost');
  });

  it.each(['api', '', '/a?b', '/a#b', '/a b', '/a/*/b', '/a/b*', '/a/:', '/a//b', 42, undefined])('rejects path %j', (path) => {
    expectInvalid(() => createEndpointCosts({ rules: [{ path: '/ok', cost: 1 }, { path: path as string, cost: 1 }] }), 'rules[1].path');
    expectInvalid(() => createEndpointCosts({ rules: [] }).set(path as string, 1), 'path');
    expectInvalid(() => createEndpointCosts({ rules: [] }).remove(path as string), 'path');
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5'])('rejects cost %j', (cost) => {
    expectInvalid(() => createEndpointCosts({ rules: [{ path: '/a', cost: cost as number }] }), 'rules[0].cost');
    expectInvalid(() => createEndpointCosts().set('/a', cost as number), 'cost');
  });

  it.each(['GE T', '', 'X'.repeat(33), 5])('rejects method %j', (method) => {
    expectInvalid(() => createEndpointCosts({ rules: [{ path: '/a', cost: 1, method: method as string }] }), 'rules[0].method');
    expectInvalid(() => createEndpointCosts().set('/a', 1, method as string), 'method');
    expectInvalid(() => createEndpointCosts().remove('/a', method as string), 'method');
  });

  it('rejects malformed options and rules', () => {
    expectInvalid(() => createEndpointCosts(null as unknown as EndpointCostsOptions), 'endpointCosts');
    expectInvalid(() => createEndpointCosts({ rules: {} as unknown as EndpointCostRule[] }), 'rules');
    expectInvalid(() => createEndpointCosts({ rules: [null as unknown as EndpointCostRule] }), 'rules[0]');
  });
});

const segment = fc.constantFrom('a', 'b', 'c', 'D', ':p', ':q');
const patternArb = fc
  .tuple(fc.array(segment, { maxLength: 4 }), fc.boolean())
  .map(([segs, wild]) => `/${[...segs, ...(wild ? ['*'] : [])].join('/')}`);
const ruleArb: fc.Arbitrary<EndpointCostRule> = fc
  .tuple(patternArb, fc.integer({ min: 2, max: 50 }), fc.option(fc.constantFrom('GET', 'POST', 'head', 'DELETE'), { nil: undefined }))
  .map(([path, cost, method]) => (method === undefined ? { path, cost } : { path, cost, method }));
const requestPathArb = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'A', 'x1'), { maxLength: 6 }).map((segs) => `/${segs.join('/')}`);
const methodArb = fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE', 'PUT', 'get');

describe('endpoint cost properties', () => {
  it('always answers a configured cost, never throws, for any input', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 12 }), fc.oneof(methodArb, fc.string()), fc.oneof(requestPathArb, fc.string()), (rules, method, path) => {
        const costs = createEndpointCosts({ rules });
        const cost = costs.costOf(method, path);
        return cost === 1 || rules.some((r) => r.cost === cost);
      }),
      RUNS,
    );
  });

  it('query string, fragment, trailing slash and case never change the cost', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 12 }), methodArb, requestPathArb, fc.string({ maxLength: 10 }), (rules, method, path, query) => {
        const costs = createEndpointCosts({ rules });
        const cost = costs.costOf(method, path);
        return (
          costs.costOf(method, `${path}/`) === cost &&
          costs.costOf(method, `${path}?${query}`) === cost &&
          costs.costOf(method, `${path}#${query}`) === cost &&
          costs.costOf(method, path.toUpperCase()) === cost &&
          costs.costOf(method.toLowerCase(), path) === cost
        );
      }),
      RUNS,
    );
  });

  it('an exact rule for the request’s method always wins; an any-method exact rule wins unless one does', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 12 }), methodArb, requestPathArb, (rules, method, path) => {
        const costs = createEndpointCosts({ rules });
        costs.set(path, 1000);
        const m = method.toUpperCase();
        // A HEAD request also takes GET rules (routers run the GET handler for it).
        const methods = m === 'HEAD' ? ['HEAD', 'GET'] : [m];
        const specific = rules.some((r) => r.method !== undefined && methods.includes(r.method.toUpperCase()) && r.path.toLowerCase() === path.toLowerCase());
        const anyOk = specific || costs.costOf(method, path) === 1000;
        costs.set(path, 2000, method);
        return anyOk && costs.costOf(method, path) === 2000;
      }),
      RUNS,
    );
  });

  it('set then remove leaves every answer as it was', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 12 }), ruleArb, fc.array(fc.tuple(methodArb, requestPathArb), { minLength: 1, maxLength: 20 }), (rules, extra, queries) => {
        const key = (r: EndpointCostRule): string => `${r.path.toLowerCase().replace(/:[a-z]+/g, ':')} ${(r.method ?? '*').toUpperCase()}`;
        fc.pre(!rules.some((r) => key(r) === key(extra)));
        const reference = createEndpointCosts({ rules });
        const costs = createEndpointCosts({ rules });
        costs.set(extra.path, extra.cost, extra.method);
        const removed = costs.remove(extra.path, extra.method);
        return removed && queries.every(([m, p]) => costs.costOf(m, p) === reference.costOf(m, p)) && JSON.stringify(costs.list()) === JSON.stringify(reference.list());
      }),
      RUNS,
    );
  });
});

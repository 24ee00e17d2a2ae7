import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILES, createClassifier, validateProfile } from '../../src/policy/classifier.js';
import type { ClassifierOptions, ClassifyInput, UserType } from '../../src/policy/classifier.js';
import { LimiterError } from '../../src/errors.js';

const RUNS = { numRuns: 1000 };
type Headers = ClassifyInput['headers'];

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

/** Every client-side signal the seed honoured, one header set each. */
const SEED_SIGNALS: Headers[] = [
  ...['jest', 'playwright', 'cypress', 'selenium', 'automated', 'e2e', 'integration'].map((ua) => ({
    'user-agent': `Mozilla/5.0 (X11) ${ua.toUpperCase()}/1.0`,
  })),
  ...['localhost', 'localhost:3000', '[::1', '127.0.0.1:8080', '0.0.0.0', '[::1]:3000', 'dev.example.com', 'development', 'api.staging.example.com', 'app.localhost', 'localhost.'].map(
    (host) => ({ host }),
  ),
  { 'x-test-environment': 'true' },
  { 'X-Test-Environment': ' TRUE ' },
  { 'x-automated-test': 'true' },
  { 'X-AUTOMATED-TEST': ['false', 'true'] },
];

const NOT_SIGNALS: Headers[] = [
  {},
  { 'user-agent': 'Mozilla/5.0 (Macintosh) Safari/605.1.15' },
  { 'user-agent': `${'a'.repeat(600)} jest` },
  { 'user-agent': 'Mozilla/5.0 😀 ünïcödé' },
  { host: 'devices.example.com' },
  { host: 'example.com:443' },
  { host: '[2001:db8::1]:443' },
  { 'x-test-environment': 'false' },
  { 'x-test-environment': '1' },
  { 'x-automated-test': 'yes' },
  { 'x-test-environment': undefined },
  { 'x-test-environment': 42 as unknown as string },
];

const base = (authenticated: boolean): UserType => (authenticated ? 'authenticated' : 'anonymous');

describe('profiles', () => {
  it('has the seed’s table, frozen', () => {
    expect(DEFAULT_PROFILES).toEqual({
      anonymous: { capacity: 50, refillPerSecond: 5, burst: 10 },
      authenticated: { capacity: 200, refillPerSecond: 20, burst: 50 },
      testing: { capacity: 500, refillPerSecond: 100, burst: 200 },
      development: { capacity: 1000, refillPerSecond: 1000, burst: 1000 },
    });
    expect(Object.isFrozen(DEFAULT_PROFILES)).toBe(true);
    expect(Object.isFrozen(DEFAULT_PROFILES.anonymous)).toBe(true);
  });

  it('validates a profile and returns a frozen copy', () => {
    const input = { capacity: 10, refillPerSecond: 0.5, burst: 2, extra: 'ignored' };
    const p = validateProfile(input, 'profiles.anonymous');
    expect(p).toEqual({ capacity: 10, refillPerSecond: 0.5, burst: 2 });
    expect(Object.isFrozen(p)).toBe(true);
    expect(validateProfile({ capacity: 1, refillPerSecond: 1 }, 'p').burst).toBe(0);
  });

  it.each([
    ['capacity', { capacity: 0, refillPerSecond: 1, burst: 0 }],
    ['capacity', { refillPerSecond: 1, burst: 0 }],
    ['refillPerSecond', { capacity: 1, refillPerSecond: Number.POSITIVE_INFINITY, burst: 0 }],
    ['refillPerSecond', { capacity: 1, refillPerSecond: '5', burst: 0 }],
    ['burst', { capacity: 1, refillPerSecond: 1, burst: -1 }],
  ])('rejects a bad %s', (field, p) => {
    expectInvalid(() => validateProfile(p, 'profiles.testing'), `profiles.testing.${field}`);
  });

  it('rejects a non-object', () => {
    expectInvalid(() => validateProfile(null, 'profiles.x'), 'profiles.x');
    expectInvalid(() => validateProfile(5, 'profiles.x'), 'profiles.x');
  });
});

describe('createClassifier options', () => {
  it('rejects bad options at construction', () => {
    expectInvalid(() => createClassifier({ environment: 'staging' as 'test' }), 'environment');
    expectInvalid(() => createClassifier({ testSignals: 'yes' as unknown as boolean }), 'testSignals');
    expectInvalid(() => createClassifier({ trustedNetworks: ['10.0.0.0/8', 'lan'] }), 'trustedNetworks[1]');
    // Validated in production too, where it has no effect, so a typo fails before it matters.
    expectInvalid(() => createClassifier({ environment: 'production', trustedNetworks: ['nope'] }), 'trustedNetworks[0]');
    expectInvalid(() => createClassifier(null as unknown as ClassifierOptions), 'classifier');
  });
});

describe('classify', () => {
  it('production (the default) uses only the app’s auth result', () => {
    const classifier = createClassifier();
    for (const headers of [...SEED_SIGNALS, ...NOT_SIGNALS]) {
      for (const ip of ['127.0.0.1', '::1', '203.0.113.5', undefined]) {
        expect(classifier.classify({ ip, headers, authenticated: false })).toBe('anonymous');
        expect(classifier.classify({ ip, headers, authenticated: true })).toBe('authenticated');
      }
    }
    // Only a real `true` counts: a JS caller passing a header string gets nothing.
    expect(classifier.classify({ ip: '127.0.0.1', headers: {}, authenticated: 'true' as unknown as boolean })).toBe('anonymous');
  });

  it('production ignores trusted networks and test signals even when configured', () => {
    const classifier = createClassifier({ environment: 'production', trustedNetworks: ['0.0.0.0/0', '::/0'], testSignals: true });
    expect(classifier.classify({ ip: '127.0.0.1', headers: { 'x-test-environment': 'true' }, authenticated: false })).toBe('anonymous');
  });

  it('development upgrades trusted requests only', () => {
    const classifier = createClassifier({ environment: 'development' });
    expect(classifier.classify({ ip: '127.0.0.1', headers: {}, authenticated: false })).toBe('development');
    expect(classifier.classify({ ip: '::1', headers: {}, authenticated: true })).toBe('development');
    expect(classifier.classify({ ip: '::ffff:127.0.0.1', headers: {}, authenticated: false })).toBe('development');
    for (const headers of SEED_SIGNALS) {
      expect(classifier.classify({ ip: '203.0.113.5', headers, authenticated: false })).toBe('anonymous');
      expect(classifier.classify({ ip: '127.0.0.1', headers, authenticated: false })).toBe('development');
    }
    expect(classifier.classify({ ip: undefined, headers: { host: 'localhost' }, authenticated: true })).toBe('authenticated');
    expect(classifier.classify({ ip: 'garbage', headers: {}, authenticated: false })).toBe('anonymous');
  });

  it('development with testSignals: trusted requests with a signal are testing', () => {
    const classifier = createClassifier({ environment: 'development', testSignals: true });
    expect(classifier.classify({ ip: '127.0.0.1', headers: { 'user-agent': 'Playwright' }, authenticated: false })).toBe('testing');
    expect(classifier.classify({ ip: '127.0.0.1', headers: {}, authenticated: false })).toBe('development');
    expect(classifier.classify({ ip: '198.51.100.1', headers: { 'user-agent': 'Playwright' }, authenticated: false })).toBe('anonymous');
  });

  it('test: trusted requests carrying a seed signal are testing; others keep their base type', () => {
    const classifier = createClassifier({ environment: 'test' });
    for (const headers of SEED_SIGNALS) {
      expect(classifier.classify({ ip: '127.0.0.1', headers, authenticated: false })).toBe('testing');
      expect(classifier.classify({ ip: '::1', headers, authenticated: true })).toBe('testing');
      expect(classifier.classify({ ip: '203.0.113.5', headers, authenticated: false })).toBe('anonymous');
      expect(classifier.classify({ ip: '2001:db8::1', headers, authenticated: true })).toBe('authenticated');
    }
    for (const headers of NOT_SIGNALS) {
      expect(classifier.classify({ ip: '127.0.0.1', headers, authenticated: false })).toBe('anonymous');
      expect(classifier.classify({ ip: '127.0.0.1', headers, authenticated: true })).toBe('authenticated');
    }
    expect(classifier.classify({ ip: '127.0.0.1', headers: null as unknown as Headers, authenticated: false })).toBe('anonymous');
  });

  it('test with custom trusted networks replaces the loopback default', () => {
    const classifier = createClassifier({ environment: 'test', trustedNetworks: ['10.0.0.0/8'] });
    const headers = { 'x-test-environment': 'true' };
    expect(classifier.classify({ ip: '10.9.8.7', headers, authenticated: false })).toBe('testing');
    expect(classifier.classify({ ip: '127.0.0.1', headers, authenticated: false })).toBe('anonymous');
  });
});

const signalHeaderArb: fc.Arbitrary<[string, string | string[] | undefined]> = fc.oneof(
  fc.tuple(
    fc.constantFrom('user-agent', 'User-Agent', 'USER-AGENT', 'host', 'Host', 'x-test-environment', 'X-Test-Environment', 'x-automated-test', 'X-Automated-Test', 'x-forwarded-for', 'authorization'),
    fc.oneof(
      fc.constantFrom('true', 'TRUE', ' true', 'jest', 'Playwright/1.4', 'cypress', 'selenium', 'automated', 'e2e', 'integration', 'localhost', '127.0.0.1', '0.0.0.0', 'dev', 'development', 'staging.example.com', 'Bearer admin', '127.0.0.1, 10.0.0.1'),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ maxLength: 2000 }),
    ),
  ),
  fc.tuple(fc.string({ maxLength: 20 }), fc.oneof(fc.string({ maxLength: 40 }), fc.constant(undefined))),
  fc.tuple(fc.constantFrom('user-agent', 'host', 'x-test-environment'), fc.array(fc.constantFrom('true', 'jest', 'localhost', 'x'), { maxLength: 4 })),
);
const headersArb: fc.Arbitrary<Headers> = fc.array(signalHeaderArb, { maxLength: 8 }).map((entries) => {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of entries) headers[k] = v;
  return headers;
});
const ipArb = fc.oneof(
  fc.constantFrom('127.0.0.1', '::1', '::ffff:127.0.0.1', '10.0.0.1', '0.0.0.0', undefined, '', 'localhost'),
  fc.ipV4(),
  fc.ipV6(),
  fc.string({ maxLength: 30 }),
);
const networksArb = fc.constantFrom<string[] | undefined>(undefined, [], ['127.0.0.0/8', '::1/128'], ['0.0.0.0/0', '::/0'], ['10.0.0.0/8']);

describe('classifier properties', () => {
  it('no header combination changes a production client’s type (any networks, any testSignals, any ip)', () => {
    fc.assert(
      fc.property(networksArb, fc.boolean(), ipArb, headersArb, fc.boolean(), (trustedNetworks, testSignals, ip, headers, authenticated) => {
        const options: ClassifierOptions =
          trustedNetworks === undefined ? { environment: 'production', testSignals } : { environment: 'production', testSignals, trustedNetworks };
        return createClassifier(options).classify({ ip, headers, authenticated }) === base(authenticated);
      }),
      RUNS,
    );
  });

  it('a request from outside the trusted networks is never upgraded, whatever it sends', () => {
    fc.assert(
      fc.property(fc.constantFrom('development', 'test') as fc.Arbitrary<'development' | 'test'>, fc.boolean(), fc.ipV4(), headersArb, fc.boolean(), (environment, testSignals, ip, headers, authenticated) => {
        fc.pre(!ip.startsWith('127.'));
        return createClassifier({ environment, testSignals }).classify({ ip, headers, authenticated }) === base(authenticated);
      }),
      RUNS,
    );
  });

  it('never throws, and header-name case never matters', () => {
    const classifiers = [createClassifier({ environment: 'test' }), createClassifier({ environment: 'development', testSignals: true })];
    fc.assert(
      fc.property(ipArb, headersArb, fc.boolean(), (ip, headers, authenticated) => {
        const upper: Record<string, string | string[] | undefined> = {};
        // Only rename keys that do not collide once case is changed, so both objects carry the same headers.
        const lowerKeys = Object.keys(headers).map((k) => k.toLowerCase());
        if (new Set(lowerKeys).size !== lowerKeys.length) return true;
        for (const [k, v] of Object.entries(headers)) upper[k.toUpperCase() === k ? k.toLowerCase() : k.toUpperCase()] = v;
        return classifiers.every((c) => c.classify({ ip, headers, authenticated }) === c.classify({ ip, headers: upper, authenticated }));
      }),
      RUNS,
    );
  });
});

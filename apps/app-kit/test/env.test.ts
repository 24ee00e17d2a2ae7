import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, readChoice, readHost, readInteger, readPort, readRaw, readSeconds, readToken, readUrl } from '../src/index.js';

/** Runs `read` and returns the ConfigError it throws (fails the test if it throws something else or nothing). */
function refusal(read: () => unknown): ConfigError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('environment readers', () => {
  it('treat unset, empty and blank as unset, and trim what is set', () => {
    expect(readRaw({}, 'X')).toBeUndefined();
    expect(readRaw({ X: '' }, 'X')).toBeUndefined();
    expect(readRaw({ X: ' \t' }, 'X')).toBeUndefined();
    expect(readRaw({ X: ' a b ' }, 'X')).toBe('a b');
    expect(readPort({ PORT: '' }, 'PORT', 3000)).toBe(3000);
  });

  it('readInteger: accepts exactly the integers in range, written in decimal, and names the variable otherwise', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -2000, max: 2000 }), (a, b, n) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        const read = () => readInteger({ N: ` ${n} ` }, 'N', 7, { min, max });
        if (n >= min && n <= max) {
          expect(read()).toBe(n);
        } else {
          const error = refusal(read);
          expect(error.variable).toBe('N');
          expect(error.value).toBe(String(n));
          expect(error.message).toBe(`Invalid environment variable N="${n}": expected an integer from ${min} to ${max}`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('readInteger and readPort refuse what is not a plain integer', () => {
    for (const raw of ['1.5', '1e3', '0x10', 'eighty', '9007199254740993', '- 1']) {
      expect(refusal(() => readInteger({ N: raw }, 'N', 0, { min: -1e20, max: 1e20 })).variable).toBe('N');
    }
    expect(refusal(() => readPort({ PORT: '65536' }, 'PORT', 0)).message).toBe(
      'Invalid environment variable PORT="65536": expected a TCP port from 0 to 65535',
    );
    expect(readPort({ PORT: '+8080' }, 'PORT', 0)).toBe(8080);
  });

  it('readSeconds: returns whole ms for every value in range, and refuses the rest', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 3 }), (thousandths, decimals) => {
        const seconds = thousandths / 1000;
        const raw = seconds.toFixed(decimals);
        const value = Number(raw);
        const read = () => readSeconds({ T: raw }, 'T', 5, { min: 0.5, max: 60 });
        if (value >= 0.5 && value <= 60) expect(read()).toBe(Math.round(value * 1000));
        else expect(refusal(read).message).toBe(`Invalid environment variable T="${raw}": expected a number of seconds from 0.5 to 60`);
      }),
      { numRuns: 1000 },
    );
    expect(readSeconds({}, 'T', 0.5, { min: 0, max: 1 })).toBe(500);
    expect(refusal(() => readSeconds({ T: '-1' }, 'T', 1, { min: 0, max: 10 })).value).toBe('-1');
  });

  it('readUrl: keeps the allowed protocols, drops trailing slashes, and says what it expected', () => {
    expect(readUrl({ U: 'http://h:1/api//' }, 'U', 'http://x', ['http:', 'https:'])).toBe('http://h:1/api');
    expect(readUrl({}, 'U', undefined, ['redis:'])).toBeUndefined();
    expect(refusal(() => readUrl({ U: 'ftp://h' }, 'U', 'http://x', ['http:', 'https:'])).message).toBe(
      'Invalid environment variable U="ftp://h": expected a URL starting with http: or https://',
    );
    // An unparseable value may hold a secret anywhere in it: it is not echoed.
    expect(refusal(() => readUrl({ U: 'not a url' }, 'U', undefined, ['redis:'])).message).toBe(
      'Invalid environment variable U="<unparseable>": expected an absolute URL (redis:)',
    );
  });

  it('readUrl: never echoes the credentials of a URL it refuses', () => {
    const error = refusal(() => readUrl({ REDIS_URL: 'tcp://:hunter2@10.0.0.9:6379' }, 'REDIS_URL', undefined, ['redis:', 'rediss:']));
    expect(error.variable).toBe('REDIS_URL');
    expect(error.value).toBe('tcp://:***@10.0.0.9:6379');
    expect(error.message).toBe('Invalid environment variable REDIS_URL="tcp://:***@10.0.0.9:6379": expected a URL starting with redis: or rediss://');
    const query = refusal(() => readUrl({ U: 'ftp://admin:pw@h/?token=hunter2' }, 'U', 'http://x', ['http:']));
    expect(query.message).not.toMatch(/hunter2|admin|pw@/);
  });

  it('readChoice: is case-insensitive and lists the choices when refusing', () => {
    expect(readChoice({ L: 'WARN' }, 'L', 'info', ['info', 'warn'])).toBe('warn');
    expect(readChoice({}, 'L', 'info', ['info', 'warn'])).toBe('info');
    expect(refusal(() => readChoice({ L: 'loud' }, 'L', 'info', ['info', 'warn'])).message).toBe(
      'Invalid environment variable L="loud": expected one of info, warn',
    );
  });

  it('readToken: never echoes the secret it refuses', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (secret) => {
        const raw = secret.trim();
        const read = () => readToken({ T: secret }, 'T', 16);
        if (raw === '') expect(read()).toBeUndefined();
        else if (raw.length >= 16 && !/\s/.test(raw)) expect(read()).toBe(raw);
        else {
          const error = refusal(read);
          expect(error.value).toBe(`<${raw.length} characters>`);
          if (raw.length > 3) expect(error.message).not.toContain(raw);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('readHost: accepts names and addresses, refuses anything else', () => {
    expect(readHost({ H: '0.0.0.0' }, 'H', '127.0.0.1')).toBe('0.0.0.0');
    expect(readHost({ H: '::1' }, 'H', '127.0.0.1')).toBe('::1');
    expect(readHost({}, 'H', '127.0.0.1')).toBe('127.0.0.1');
    expect(refusal(() => readHost({ H: 'http://x' }, 'H', '')).message).toBe(
      'Invalid environment variable H="http://x": expected a host name or IP address to listen on',
    );
  });
});

import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrMatcher, ipKey, normalizeIp, parseIp } from '../../src/policy/ip.js';
import { LimiterError } from '../../src/errors.js';

const RUNS = { numRuns: 1000 };

const bytes16 = fc.uint8Array({ minLength: 16, maxLength: 16 });
const bytes4 = fc.uint8Array({ minLength: 4, maxLength: 4 });

const dotted = (b: Uint8Array): string => Array.from(b).join('.');
const groupsOf = (b: Uint8Array): number[] => Array.from({ length: 8 }, (_, i) => ((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
const isMapped = (b: Uint8Array): boolean => b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
/** The WHATWG URL parser as an independent RFC 5952 serialiser. */
const urlCanonical = (text: string): string => new URL(`http://[${text}]/`).hostname.slice(1, -1);
/** The first `bits` bits of two byte arrays agree. */
function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i & 7);
    if (((a[i >> 3] as number) & mask) !== ((b[i >> 3] as number) & mask)) return false;
  }
  return true;
}

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

describe('parseIp / normalizeIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['fe80::1%eth0', 'fe80::1'],
    ['[::1]', '::1'],
    ['[fe80::a%25en0]', 'fe80::a'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:102:304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1'],
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ])('%s -> %s', (text, canonical) => {
    expect(normalizeIp(text)).toBe(canonical);
  });

  it('reports the version and bytes; mapped addresses are IPv4', () => {
    expect(parseIp('10.0.0.1')).toEqual({ version: 4, bytes: new Uint8Array([10, 0, 0, 1]) });
    expect(parseIp('::ffff:10.0.0.1')).toEqual({ version: 4, bytes: new Uint8Array([10, 0, 0, 1]) });
    expect(parseIp('::2')?.version).toBe(6);
    expect(parseIp('::2')?.bytes).toHaveLength(16);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    '1..2.3',
    '1.2.3.4.',
    ' 1.2.3.4',
    '1.2.3.4:80',
    '1:2:3:4:5:6:7::8',
    '1::2::3',
    ':1::',
    '1::2:',
    '12345::',
    'g::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '::ffff:1.2.3.256',
    '::ffff:01.2.3.4',
    '1.2.3.4::',
    '1:2:3:4:5:6:7:1.2.3.4',
    '[::1',
    '[1.2.3.4]',
    '::1%',
    'x'.repeat(101),
    `::${'0:'.repeat(40)}1`,
  ])('rejects %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
    expect(normalizeIp(text)).toBeUndefined();
    expect(ipKey(text)).toBeUndefined();
  });

  it('rejects non-strings without throwing', () => {
    for (const value of [undefined, null, 42, {}, ['1.2.3.4']]) {
      expect(parseIp(value as unknown as string)).toBeUndefined();
    }
  });

  it('property: arbitrary strings never throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
        parseIp(text);
        normalizeIp(text);
        ipKey(text);
        return true;
      }),
      RUNS,
    );
  });

  it('property: accepts exactly what node:net accepts, over strings of address characters', () => {
    const addressish = fc.string({
      unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''), '::', 'ffff:', '255', '1.2.3.4', '0', '00'),
      maxLength: 14,
    });
    fc.assert(fc.property(addressish, (text) => (parseIp(text) !== undefined) === (isIP(text) !== 0)), RUNS);
  });

  it('property: any IPv6 text form round-trips to the same bytes and the RFC 5952 text', () => {
    fc.assert(
      fc.property(bytes16, fc.boolean(), fc.boolean(), (bytes, upper, padded) => {
        const full = groupsOf(bytes)
          .map((g) => {
            const hex = padded ? g.toString(16).padStart(4, '0') : g.toString(16);
            return upper ? hex.toUpperCase() : hex;
          })
          .join(':');
        const parsed = parseIp(full);
        if (isMapped(bytes)) {
          return parsed?.version === 4 && normalizeIp(full) === dotted(bytes.slice(12));
        }
        const canonical = normalizeIp(full) as string;
        return (
          parsed?.version === 6 &&
          parsed.bytes.every((b, i) => b === bytes[i]) &&
          canonical === urlCanonical(full) &&
          normalizeIp(canonical) === canonical
        );
      }),
      RUNS,
    );
  });

  it('property: IPv4, and IPv4-mapped IPv6 in either notation, give the same canonical IPv4', () => {
    fc.assert(
      fc.property(bytes4, (bytes) => {
        const v4 = dotted(bytes);
        const hex = `::ffff:${(((bytes[0] as number) << 8) | (bytes[1] as number)).toString(16)}:${(((bytes[2] as number) << 8) | (bytes[3] as number)).toString(16)}`;
        return (
          normalizeIp(v4) === v4 &&
          normalizeIp(`::ffff:${v4}`) === v4 &&
          normalizeIp(hex) === v4 &&
          ipKey(`::ffff:${v4}`) === ipKey(v4) &&
          ipKey(v4) === v4
        );
      }),
      RUNS,
    );
  });
});

describe('ipKey', () => {
  it('keys IPv6 by its /56 by default, or the given prefix', () => {
    expect(ipKey('2001:db8:0:1ab:1:2:3:4')).toBe('2001:db8:0:100::/56');
    expect(ipKey('2001:db8::1', { ipv6Subnet: 64 })).toBe('2001:db8::/64');
    expect(ipKey('2001:db8::1', { ipv6Subnet: 128 })).toBe('2001:db8::1/128');
    expect(ipKey('ffff::1', { ipv6Subnet: 1 })).toBe('8000::/1');
    expect(ipKey('203.0.113.9')).toBe('203.0.113.9');
  });

  it.each([0, 129, 56.5, Number.NaN])('rejects ipv6Subnet %s', (ipv6Subnet) => {
    expectInvalid(() => ipKey('::1', { ipv6Subnet }), 'ipv6Subnet');
  });

  it('property: two IPv6 addresses share a key exactly when they share the /56', () => {
    fc.assert(
      fc.property(bytes16, bytes16, fc.integer({ min: 0, max: 16 }), (a, b, shared) => {
        // Make b share `shared` leading bytes with a, so both outcomes are well exercised.
        const c = Uint8Array.from(b, (x, i) => (i < shared ? (a[i] as number) : x));
        if (isMapped(a) || isMapped(c)) return true;
        const text = (x: Uint8Array): string => groupsOf(x).map((g) => g.toString(16)).join(':');
        return (ipKey(text(a)) === ipKey(text(c))) === samePrefix(a, c, 56);
      }),
      RUNS,
    );
  });

  it('property: any prefix length groups exactly the addresses of that network', () => {
    fc.assert(
      fc.property(bytes16, bytes16, fc.integer({ min: 1, max: 128 }), fc.integer({ min: 0, max: 128 }), (a, b, subnet, sharedBits) => {
        const c = Uint8Array.from(b, (x, i) => {
          const keep = sharedBits - i * 8;
          if (keep <= 0) return x;
          if (keep >= 8) return a[i] as number;
          const mask = (0xff << (8 - keep)) & 0xff;
          return ((a[i] as number) & mask) | (x & ~mask & 0xff);
        });
        if (isMapped(a) || isMapped(c)) return true;
        const text = (x: Uint8Array): string => groupsOf(x).map((g) => g.toString(16)).join(':');
        const key = ipKey(text(a), { ipv6Subnet: subnet }) as string;
        return key.endsWith(`/${subnet}`) && (key === ipKey(text(c), { ipv6Subnet: subnet })) === samePrefix(a, c, subnet);
      }),
      RUNS,
    );
  });
});

describe('cidrMatcher', () => {
  it('matches IPv4 and IPv6 networks, bare hosts and mapped clients', () => {
    const trusted = cidrMatcher(['127.0.0.1/8', '::1/128', '10.1.2.3', 'fd00::/8', '::ffff:192.168.0.0/112']);
    expect(trusted('127.200.0.1')).toBe(true);
    expect(trusted('::ffff:127.0.0.1')).toBe(true);
    expect(trusted('128.0.0.1')).toBe(false);
    expect(trusted('::1')).toBe(true);
    expect(trusted('::2')).toBe(false);
    expect(trusted('10.1.2.3')).toBe(true);
    expect(trusted('10.1.2.4')).toBe(false);
    expect(trusted('fdab::1')).toBe(true);
    expect(trusted('fe00::1')).toBe(false);
    expect(trusted('192.168.7.7')).toBe(true);
    expect(trusted('192.169.0.1')).toBe(false);
    expect(trusted('not an ip')).toBe(false);
    expect(trusted(undefined as unknown as string)).toBe(false);
  });

  it('keeps families apart and handles /0', () => {
    const v4all = cidrMatcher(['0.0.0.0/0']);
    expect(v4all('1.2.3.4')).toBe(true);
    expect(v4all('::1')).toBe(false);
    const v6all = cidrMatcher(['::/0']);
    expect(v6all('2001:db8::1')).toBe(true);
    expect(v6all('1.2.3.4')).toBe(false);
    expect(cidrMatcher([])('127.0.0.1')).toBe(false);
  });

  it.each(['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/8/8', 'x', '::/129', '::ffff:10.0.0.0/95', '', 42])(
    'rejects %j naming the entry',
    (entry) => {
      expectInvalid(() => cidrMatcher(['127.0.0.0/8', entry as string]), 'trustedNetworks[1]');
    },
  );

  it('names the caller’s option and rejects a non-array', () => {
    expectInvalid(() => cidrMatcher(['nope'], 'allowList'), 'allowList[0]');
    expectInvalid(() => cidrMatcher('10.0.0.0/8' as unknown as string[]), 'trustedNetworks');
  });

  it('property: an address matches a network exactly when it shares the prefix', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        bytes16,
        bytes16,
        fc.integer({ min: 0, max: 128 }),
        fc.integer({ min: 0, max: 128 }),
        (v4, net, other, prefix, sharedBits) => {
          const size = v4 ? 4 : 16;
          const p = Math.min(prefix, size * 8);
          const a = net.slice(0, size);
          const b = Uint8Array.from(other.slice(0, size), (x, i) => {
            const keep = sharedBits - i * 8;
            if (keep <= 0) return x;
            if (keep >= 8) return a[i] as number;
            const mask = (0xff << (8 - keep)) & 0xff;
            return ((a[i] as number) & mask) | (x & ~mask & 0xff);
          });
          if (!v4 && (isMapped(a) || isMapped(b))) return true;
          const text = (x: Uint8Array): string => (v4 ? dotted(x) : groupsOf(x).map((g) => g.toString(16)).join(':'));
          return cidrMatcher([`${text(a)}/${p}`])(text(b)) === samePrefix(a, b, p);
        },
      ),
      RUNS,
    );
  });
});

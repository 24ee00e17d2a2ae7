/**
 * IP address utilities for keying clients and matching trusted networks. Hand-written (no
 * `node:net`) so the core stays free of ambient I/O and runs in any runtime. Every function here
 * takes untrusted text — a forwarded-for value, a socket address — and answers `undefined` or
 * `false` for garbage rather than throwing.
 */
import { invalidOption } from '../errors.js';

/** A parsed address: 4 bytes for IPv4 (IPv4-mapped IPv6 included), 16 bytes for IPv6. */
export interface ParsedIp {
  readonly version: 4 | 6;
  readonly bytes: Uint8Array;
}

/** Options of {@link ipKey}. */
export interface IpKeyOptions {
  /**
   * Prefix length, in bits, that groups IPv6 addresses into one client. One subscriber is
   * usually handed a whole /56 (or /48, /64), so keying by the full address would let a single
   * client rotate through billions of keys. Integer in [1, 128].
   * @default 56
   */
  readonly ipv6Subnet?: number;
}

// Longer than any textual address plus a sane zone id: rejected before any work is done.
const MAX_TEXT = 100;

function parseIpv4Into(text: string, start: number, end: number, out: Uint8Array, offset: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 /* '.' sentinel */ : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[offset + part] = value;
      part++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // Leading zeros are rejected: inet_aton reads them as octal, so "010.0.0.1" is ambiguous.
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parses the groups of one side of a `::` into `out` (16-bit words); returns how many, or -1. */
function parseGroups(text: string, out: number[], allowIpv4Tail: boolean): number {
  if (text === '') return 0;
  const parts = text.split(':');
  let count = 0;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p] as string;
    if (allowIpv4Tail && p === parts.length - 1 && part.includes('.')) {
      const v4 = new Uint8Array(4);
      if (!parseIpv4Into(part, 0, part.length, v4, 0)) return -1;
      out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
      count += 2;
      continue;
    }
    if (part.length === 0 || part.length > 4) return -1;
    let value = 0;
    for (let i = 0; i < part.length; i++) {
      const h = hexValue(part.charCodeAt(i));
      if (h < 0) return -1;
      value = (value << 4) | h;
    }
    out.push(value);
    count++;
  }
  return count;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const gap = text.indexOf('::');
  const head: number[] = [];
  const tail: number[] = [];
  if (gap === -1) {
    if (parseGroups(text, head, true) !== 8) return undefined;
  } else {
    if (text.indexOf('::', gap + 1) !== -1) return undefined;
    const left = text.slice(0, gap);
    const right = text.slice(gap + 2);
    if (parseGroups(left, head, false) < 0 || parseGroups(right, tail, true) < 0) return undefined;
    // "::" stands for at least one group of zeros.
    if (head.length + tail.length > 7) return undefined;
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < head.length; i++) {
    bytes[i * 2] = (head[i] as number) >> 8;
    bytes[i * 2 + 1] = (head[i] as number) & 0xff;
  }
  const tailStart = 8 - tail.length;
  for (let i = 0; i < tail.length; i++) {
    bytes[(tailStart + i) * 2] = (tail[i] as number) >> 8;
    bytes[(tailStart + i) * 2 + 1] = (tail[i] as number) & 0xff;
  }
  return bytes;
}

function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Parses an IPv4 or IPv6 address. IPv6 may use `::` compression, a dotted IPv4 tail, a zone id
 * (`fe80::1%eth0`, dropped: it names an interface, not an address) and surrounding brackets
 * (`[::1]`). An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, what a dual-stack socket reports for
 * an IPv4 peer) comes back as version 4, so one client has one identity on both stacks.
 * Never throws: anything else, including non-strings, gives `undefined`.
 */
export function parseIp(text: string): ParsedIp | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT) return undefined;
  if (!text.includes(':')) {
    const bytes = new Uint8Array(4);
    return parseIpv4Into(text, 0, text.length, bytes, 0) ? { version: 4, bytes } : undefined;
  }
  let body = text;
  if (body.charCodeAt(0) === 91 /* [ */) {
    if (body.charCodeAt(body.length - 1) !== 93 /* ] */) return undefined;
    body = body.slice(1, -1);
  }
  const zone = body.indexOf('%');
  if (zone !== -1) {
    if (zone === body.length - 1) return undefined;
    body = body.slice(0, zone);
  }
  const bytes = parseIpv6(body);
  if (bytes === undefined) return undefined;
  if (isMapped(bytes)) return { version: 4, bytes: bytes.slice(12) };
  return { version: 6, bytes };
}

function formatIpv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** RFC 5952 text: lowercase hex, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/**
 * The canonical text of an address: dotted decimal for IPv4 (and IPv4-mapped IPv6), RFC 5952
 * for IPv6. `undefined` for anything that is not an address.
 * @example normalizeIp('2001:DB8:0:0:0:0:0:1') // '2001:db8::1'
 * @example normalizeIp('::ffff:10.0.0.1') // '10.0.0.1'
 */
export function normalizeIp(text: string): string | undefined {
  const ip = parseIp(text);
  if (ip === undefined) return undefined;
  return ip.version === 4 ? formatIpv4(ip.bytes) : formatIpv6(ip.bytes);
}

function maskInPlace(bytes: Uint8Array, prefix: number): void {
  for (let i = 0; i < bytes.length; i++) {
    const keep = prefix - i * 8;
    if (keep >= 8) continue;
    bytes[i] = keep <= 0 ? 0 : (bytes[i] as number) & (0xff << (8 - keep));
  }
}

/**
 * The rate-limit key of a client address: the canonical IPv4 address, or for IPv6 the canonical
 * `/ipv6Subnet` network with its prefix (every address of one subscriber's allocation shares one
 * key). `undefined` for anything that is not an address.
 * @throws LimiterError `INVALID_OPTION` when `ipv6Subnet` is not an integer in [1, 128].
 * @example
 * ipKey('203.0.113.9') // '203.0.113.9'
 * ipKey('2001:db8:0:1ab:1:2:3:4') // '2001:db8:0:100::/56'
 * ipKey('2001:db8::1', { ipv6Subnet: 64 }) // '2001:db8::/64'
 */
export function ipKey(text: string, options: IpKeyOptions = {}): string | undefined {
  const subnet = options.ipv6Subnet ?? 56;
  if (!Number.isInteger(subnet) || subnet < 1 || subnet > 128) {
    throw invalidOption('ipv6Subnet', subnet, 'an integer between 1 and 128');
  }
  const ip = parseIp(text);
  if (ip === undefined) return undefined;
  if (ip.version === 4) return formatIpv4(ip.bytes);
  maskInPlace(ip.bytes, subnet);
  return `${formatIpv6(ip.bytes)}/${subnet}`;
}

interface Network {
  readonly version: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

function parseCidr(text: unknown): Network | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  const written = address.includes(':') ? 128 : 32;
  let prefix = written;
  if (slash !== -1) {
    const digits = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(digits)) return undefined;
    prefix = Number(digits);
    if (prefix > written) return undefined;
  }
  if (ip.version === 4 && written === 128) {
    // "::ffff:10.0.0.0/104" is an IPv4 network written in IPv6: its prefix counts the 96 mapped bits.
    if (prefix < 96) return undefined;
    prefix -= 96;
  }
  // Host bits are masked rather than rejected: "127.0.0.1/8" is how loopback is commonly written.
  maskInPlace(ip.bytes, prefix);
  return { version: ip.version, bytes: ip.bytes, prefix };
}

function contains(network: Network, ip: ParsedIp): boolean {
  if (network.version !== ip.version) return false;
  const whole = network.prefix >> 3;
  for (let i = 0; i < whole; i++) if (network.bytes[i] !== ip.bytes[i]) return false;
  const rest = network.prefix & 7;
  if (rest === 0) return true;
  const mask = 0xff << (8 - rest);
  return (((ip.bytes[whole] as number) & mask) & 0xff) === network.bytes[whole];
}

/**
 * Builds a membership test for a list of networks. Each entry is a CIDR (`'10.0.0.0/8'`,
 * `'fd00::/8'`) or a bare address (one host); host bits are ignored. An IPv4 client seen as
 * IPv4-mapped IPv6 matches IPv4 networks. Addresses that do not parse are never members.
 * @param cidrs The networks.
 * @param option The option name to blame in errors. @default 'trustedNetworks'
 * @throws LimiterError `INVALID_OPTION` naming `option[i]` for an entry that is not a CIDR.
 * @example
 * const trusted = cidrMatcher(['127.0.0.0/8', '::1/128']);
 * trusted('::ffff:127.0.0.1') // true
 */
export function cidrMatcher(cidrs: readonly string[], option = 'trustedNetworks'): (ip: string) => boolean {
  if (!Array.isArray(cidrs)) throw invalidOption(option, cidrs, 'an array of CIDR strings');
  const networks: Network[] = [];
  for (let i = 0; i < cidrs.length; i++) {
    const network = parseCidr(cidrs[i]);
    if (network === undefined) {
      throw invalidOption(`${option}[${i}]`, cidrs[i], 'a CIDR such as "10.0.0.0/8" or "::1/128"');
    }
    networks.push(network);
  }
  if (networks.length === 0) return () => false;
  return (ip: string): boolean => {
    const parsed = parseIp(ip);
    if (parsed === undefined) return false;
    for (const network of networks) if (contains(network, parsed)) return true;
    return false;
  };
}

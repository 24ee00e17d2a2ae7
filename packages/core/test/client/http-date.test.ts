import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHttpDate, toHttpDate } from '../../src/client/index.js';
import { httpDateMs } from './support/arbitraries.js';

const NOV_6_1994 = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
const NOW_2026 = Date.UTC(2026, 10, 25);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

describe('parseHttpDate', () => {
  it('reads the three forms of RFC 9110 section 5.6.7', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT', NOW_2026)).toBe(NOV_6_1994);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW_2026)).toBe(NOV_6_1994);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', NOW_2026)).toBe(NOV_6_1994);
    expect(parseHttpDate('Sun Nov 06 08:49:37 1994', NOW_2026)).toBe(NOV_6_1994);
  });

  it('reads an RFC 850 two-digit year as the nearest, never more than 50 years ahead', () => {
    const year = (yy: string, now: number): number | undefined => {
      const ms = parseHttpDate(`Monday, 01-Jan-${yy} 00:00:00 GMT`, now);
      return ms === undefined ? undefined : new Date(ms).getUTCFullYear();
    };
    expect(year('26', NOW_2026)).toBe(2026);
    expect(year('76', NOW_2026)).toBe(2076);
    expect(year('77', NOW_2026)).toBe(1977);
    expect(year('00', NOW_2026)).toBe(2000);
    const now2090 = Date.UTC(2090, 0, 1);
    expect(year('10', now2090)).toBe(2110);
    expect(year('41', now2090)).toBe(2041);
    expect(year('40', now2090)).toBe(2140);
  });

  it('does not check the day name against the date', () => {
    expect(parseHttpDate('Mon, 06 Nov 1994 08:49:37 GMT', NOW_2026)).toBe(NOV_6_1994);
  });

  it('takes second 60 (a leap second) as the next minute', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:60 GMT', NOW_2026)).toBe(NOV_6_1994 + 23_000);
  });

  it('knows leap years', () => {
    expect(parseHttpDate('Tue, 29 Feb 2000 00:00:00 GMT', NOW_2026)).toBe(Date.UTC(2000, 1, 29));
    expect(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT', NOW_2026)).toBe(Date.UTC(2024, 1, 29));
    expect(parseHttpDate('Thu, 29 Feb 1900 00:00:00 GMT', NOW_2026)).toBeUndefined();
    expect(parseHttpDate('Thu, 29 Feb 2023 00:00:00 GMT', NOW_2026)).toBeUndefined();
    expect(parseHttpDate('Thu, 31 Apr 2023 00:00:00 GMT', NOW_2026)).toBeUndefined();
  });

  it('reads years 0000-0099 literally, not as 19xx', () => {
    expect(parseHttpDate('Sat, 01 Jan 0000 00:00:00 GMT', NOW_2026)).toBe(-62_167_219_200_000);
    expect(new Date(parseHttpDate('Fri, 01 Jan 0099 00:00:00 GMT', NOW_2026) ?? 0).getUTCFullYear()).toBe(99);
  });

  it('rejects anything else', () => {
    for (const text of [
      '',
      '1',
      '2020',
      '2020-01-01T00:00:00Z',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 94 08:49:37 GMT',
      'Sun, 06 Nov 1994 08:49:37 gmt',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 06 nov 1994 08:49:37 GMT',
      'Sux, 06 Nov 1994 08:49:37 GMT',
      'Sun,  06 Nov 1994 08:49:37 GMT',
      'Sun, 00 Nov 1994 08:49:37 GMT',
      'Sun, 32 Dec 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:60:00 GMT',
      'Sun, 06 Nov 1994 08:49:61 GMT',
      'Sun, 06 Nov 1994 8:49:37 GMT',
      'Sun, 06-Nov-94 08:49:37 GMT',
      'Sunday, 06 Nov 1994 08:49:37 GMT',
      'Sunday, 06-Nov-1994 08:49:37 GMT',
      'Sun Nov 6 08:49:37 1994',
      'Sun Nov  6 08:49:37 94',
      'Sun Nov  6 08:49:37 1994 GMT',
    ]) {
      expect(parseHttpDate(text, NOW_2026), text).toBeUndefined();
    }
  });

  it('property: parseHttpDate(toHttpDate(t)) is t to the whole second', () => {
    fc.assert(
      fc.property(httpDateMs(), fc.integer(), (t, now) => parseHttpDate(toHttpDate(t), now) === Math.floor(t / 1000) * 1000),
      { numRuns: 1000 },
    );
  });

  it('property: the obsolete RFC 850 and asctime forms read the same instant', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2150, 0, 1) }), (t) => {
        const d = new Date(Math.floor(t / 1000) * 1000);
        const two = (n: number): string => String(n).padStart(2, '0');
        const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
        const month = MONTHS[d.getUTCMonth()];
        const longDay = LONG_DAYS[d.getUTCDay()] ?? '';
        const rfc850 = `${longDay}, ${two(d.getUTCDate())}-${month}-${two(d.getUTCFullYear() % 100)} ${time} GMT`;
        const asctime = `${longDay.slice(0, 3)} ${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${time} ${d.getUTCFullYear()}`;
        // RFC 850 needs a "now" within 50 years of the date to recover the century.
        return parseHttpDate(rfc850, d.getTime()) === d.getTime() && parseHttpDate(asctime, 0) === d.getTime();
      }),
      { numRuns: 1000 },
    );
  });
});

describe('toHttpDate', () => {
  it('formats an IMF-fixdate, dropping sub-seconds', () => {
    expect(toHttpDate(NOV_6_1994)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(toHttpDate(NOV_6_1994 + 999)).toBe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(toHttpDate(0)).toBe('Thu, 01 Jan 1970 00:00:00 GMT');
    expect(toHttpDate(-62_167_219_200_000)).toBe('Sat, 01 Jan 0000 00:00:00 GMT');
    expect(toHttpDate(253_402_300_799_999)).toBe('Fri, 31 Dec 9999 23:59:59 GMT');
  });

  it('rejects times it cannot show', () => {
    for (const ms of [-62_167_219_200_001, 253_402_300_800_000, Number.NaN, Number.POSITIVE_INFINITY, '0' as never]) {
      expect(() => toHttpDate(ms)).toThrow(/ms must be a time in years 0000 to 9999/);
    }
  });

  it("property: matches the engine's own toUTCString, which is IMF-fixdate for these years", () => {
    fc.assert(
      fc.property(httpDateMs(), (t) => toHttpDate(t) === new Date(t).toUTCString()),
      { numRuns: 1000 },
    );
  });
});

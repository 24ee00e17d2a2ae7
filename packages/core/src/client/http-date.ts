import { invalidOption } from '../errors.js';

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const DAY_LONG = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';

// The three forms of RFC 9110 section 5.6.7, matched exactly (names and "GMT" are case-sensitive
// there). Date.parse is not used: it accepts far too much ("1", "2020") and varies by engine.
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(`^${DAY_LONG}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`);

/** The first and last instants an IMF-fixdate (a 4-digit year) can show, in ms since the epoch. */
const MIN_HTTP_DATE_MS = -62_167_219_200_000; // 0000-01-01T00:00:00Z
const MAX_HTTP_DATE_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/**
 * Parses an HTTP-date (RFC 9110 section 5.6.7) into ms since the epoch, or `undefined` if it is not
 * one. Accepts the preferred IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and, as recipients must,
 * the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`)
 * forms. The day name must be a real one but is not checked against the date (senders get it wrong
 * more often than the date itself).
 *
 * @param now Ms since the epoch; used only for RFC 850's two-digit year, which is read as the year
 *   with those last two digits nearest to now, never more than 50 years ahead (RFC 9110's rule).
 */
export function parseHttpDate(value: string, now: number): number | undefined {
  let match = IMF_FIXDATE.exec(value);
  if (match) return toEpochMs(Number(match[3]), match[2], match[1], match[4], match[5], match[6]);
  match = RFC850_DATE.exec(value);
  if (match) return toEpochMs(fullYear(Number(match[3]), now), match[2], match[1], match[4], match[5], match[6]);
  match = ASCTIME_DATE.exec(value);
  if (match) return toEpochMs(Number(match[6]), match[1], match[2], match[3], match[4], match[5]);
  return undefined;
}

/**
 * Formats a time as an IMF-fixdate, the preferred HTTP-date form (`Sun, 06 Nov 1994 08:49:37 GMT`),
 * e.g. for a `Retry-After` or `Date` header. Sub-second precision is dropped (rounded down).
 * Throws `INVALID_OPTION` for times outside years 0000-9999, which the format cannot show.
 *
 * @param ms Ms since the epoch.
 * @example
 * ```ts
 * toHttpDate(784_111_777_000); // 'Sun, 06 Nov 1994 08:49:37 GMT'
 * ```
 */
export function toHttpDate(ms: number): string {
  if (typeof ms !== 'number' || !(ms >= MIN_HTTP_DATE_MS && ms <= MAX_HTTP_DATE_MS)) {
    throw invalidOption('ms', ms, 'a time in years 0000 to 9999, in ms since the epoch');
  }
  const date = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${DAY_NAMES[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ` +
    `${String(date.getUTCFullYear()).padStart(4, '0')} ` +
    `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} GMT`
  );
}

function fullYear(twoDigits: number, now: number): number {
  const nowYear = new Date(now).getUTCFullYear();
  let year = nowYear - (nowYear % 100) + twoDigits;
  if (year > nowYear + 50) year -= 100;
  else if (year <= nowYear - 50) year += 100;
  return year;
}

function toEpochMs(
  year: number,
  monthName: string | undefined,
  dayText: string | undefined,
  hourText: string | undefined,
  minuteText: string | undefined,
  secondText: string | undefined,
): number | undefined {
  // The regexes guarantee every group is present; the fallbacks only satisfy the type checker.
  const month = MONTHS.indexOf((monthName ?? '') as (typeof MONTHS)[number]);
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText);
  // Second 60 is a leap second; it lands on the next minute's 00, as POSIX time has no leap seconds.
  if (day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0-99 as 1900-1999.
  date.setUTCFullYear(year, month, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

function daysInMonth(year: number, month: number): number {
  if (month === 1) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month] ?? 0;
}

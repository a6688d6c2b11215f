/**
 * HTTP dates (RFC 7231 section 7.1.1.1), as carried in the `timestamp` field of every Push Jobs
 * ZeroMQ message body.
 *
 * {@link formatHttpDate} always emits the preferred IMF-fixdate / RFC 1123 form
 * (`Mon, 24 Nov 2025 10:00:00 GMT`). {@link parseHttpDate} also accepts the two obsolete forms,
 * RFC 850 (`Monday, 24-Nov-25 10:00:00 GMT`) and asctime (`Mon Nov 24 10:00:00 2025`), as the
 * Erlang server and the Ruby client do.
 *
 * @module
 */

import { InvalidArgumentError } from './errors.js';

const SHORT_DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const LONG_DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

const SHORT_DAY_SET: ReadonlySet<string> = new Set(SHORT_DAYS);
const LONG_DAY_SET: ReadonlySet<string> = new Set(LONG_DAYS);
const MONTH_INDEX: ReadonlyMap<string, number> = new Map(MONTHS.map((m, i) => [m, i]));

/** `Monday, 24-Nov-25 10:00:00 GMT` */
const RFC850 = /^([A-Z][a-z]{5,8}), (\d\d)-([A-Z][a-z][a-z])-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/;
/** `Mon Nov 24 10:00:00 2025`, and `Mon Nov  4 10:00:00 2025` (day padded with a space). */
const ASCTIME = /^([A-Z][a-z][a-z]) ([A-Z][a-z][a-z]) ( \d|\d\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;

let lastFormattedSecond = Number.NaN;
let lastFormatted = '';

/**
 * Formats `d` as an RFC 1123 HTTP date in GMT, e.g. `Mon, 24 Nov 2025 10:00:00 GMT` (two-digit
 * day, four-digit year, milliseconds dropped).
 *
 * The result for the most recent second is cached, so calling this once per message is cheap.
 *
 * @throws {@link InvalidArgumentError} when `d` is an invalid date or its year is outside 0..9999.
 */
export function formatHttpDate(d: Date): string {
  const ms = d.getTime();
  const second = Math.floor(ms / 1000);
  if (second === lastFormattedSecond) return lastFormatted;
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('formatHttpDate: invalid Date');
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) {
    throw new InvalidArgumentError(`formatHttpDate: year ${year} cannot be written as an HTTP date`);
  }
  // toUTCString() is exactly the IMF-fixdate layout (ECMA-262 21.4.4.43): "Www, DD Mmm YYYY HH:mm:ss GMT".
  const s = d.toUTCString();
  lastFormattedSecond = second;
  lastFormatted = s;
  return s;
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : Number.NaN;
}

function twoDigits(s: string, i: number): number {
  return digit(s, i) * 10 + digit(s, i + 1);
}

function daysInMonth(year: number, month: number): number {
  if (month === 1) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 3 || month === 5 || month === 8 || month === 10 ? 30 : 31;
}

/** Validated field values to epoch milliseconds, or NaN when any field is out of range. */
function toMillis(
  year: number,
  month: number | undefined,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number {
  if (month === undefined || !(year >= 0 && year <= 9999)) return Number.NaN;
  if (!(day >= 1 && day <= daysInMonth(year, month))) return Number.NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59)) return Number.NaN; // NaN fails too
  if (year >= 100) return Date.UTC(year, month, day, hour, minute, second);
  // Date.UTC maps years 0..99 to 1900..1999; set the full year explicitly instead.
  const d = new Date(Date.UTC(2000, month, day, hour, minute, second));
  d.setUTCFullYear(year);
  return d.getTime();
}

/** Fixed-layout RFC 1123 parse without regular expressions: the hot path of every message. */
function parseRfc1123(s: string): number {
  // 0123456789012345678901234567 8
  // Mon, 24 Nov 2025 10:00:00 GMT
  if (
    s.charCodeAt(3) !== 44 /* , */ ||
    s.charCodeAt(4) !== 32 ||
    s.charCodeAt(7) !== 32 ||
    s.charCodeAt(11) !== 32 ||
    s.charCodeAt(16) !== 32 ||
    s.charCodeAt(19) !== 58 /* : */ ||
    s.charCodeAt(22) !== 58 ||
    s.charCodeAt(25) !== 32 ||
    !s.endsWith('GMT') ||
    !SHORT_DAY_SET.has(s.slice(0, 3))
  ) {
    return Number.NaN;
  }
  const year = twoDigits(s, 12) * 100 + twoDigits(s, 14);
  return toMillis(
    year,
    MONTH_INDEX.get(s.slice(8, 11)),
    twoDigits(s, 5),
    twoDigits(s, 17),
    twoDigits(s, 20),
    twoDigits(s, 23),
  );
}

function parseRfc850(s: string): number {
  const m = RFC850.exec(s);
  if (m === null || !LONG_DAY_SET.has(m[1] ?? '')) return Number.NaN;
  const yy = Number(m[4]);
  // Two-digit years: 00-49 are 20xx, 50-99 are 19xx (Ruby's Time.httpdate does the same).
  const year = yy < 50 ? 2000 + yy : 1900 + yy;
  return toMillis(year, MONTH_INDEX.get(m[3] ?? ''), Number(m[2]), Number(m[5]), Number(m[6]), Number(m[7]));
}

function parseAsctime(s: string): number {
  const m = ASCTIME.exec(s);
  if (m === null || !SHORT_DAY_SET.has(m[1] ?? '')) return Number.NaN;
  return toMillis(
    Number(m[7]),
    MONTH_INDEX.get(m[2] ?? ''),
    Number((m[3] ?? '').trim()),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
}

/**
 * Parses an HTTP date to epoch milliseconds, or NaN when `s` is not one. Allocation-free for the
 * RFC 1123 form; see {@link parseHttpDate} for the accepted forms.
 */
export function parseHttpDateMillis(s: unknown): number {
  if (typeof s !== 'string') return Number.NaN;
  if (s.length === 29) return parseRfc1123(s);
  if (s.length === 24) return parseAsctime(s);
  if (s.length >= 30 && s.length <= 33) return parseRfc850(s);
  return Number.NaN;
}

/**
 * Parses an HTTP date in any of the three forms of RFC 7231 section 7.1.1.1:
 *
 * - RFC 1123: `Mon, 24 Nov 2025 10:00:00 GMT`
 * - RFC 850: `Monday, 24-Nov-25 10:00:00 GMT` (years 00-49 are 20xx, 50-99 are 19xx)
 * - asctime: `Mon Nov 24 10:00:00 2025` or `Mon Nov  4 10:00:00 2025` (taken as UTC)
 *
 * Parsing is strict: exact layout and case, no surrounding whitespace, `GMT` only, day, hour,
 * minute and second in range (no leap second). The day name must be a valid name but is not
 * checked against the date. Anything else gives `undefined`; this never throws.
 */
export function parseHttpDate(s: string): Date | undefined {
  const ms = parseHttpDateMillis(s);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

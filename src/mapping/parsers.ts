/**
 * Value parsers of the mapping engine. Hot path: no Date objects, no regular expressions for the common formats,
 * only character codes and arithmetic. Each parser returns `null` for an invalid value; the caller words the error.
 */

/** Date layouts a mapping can name in `format`. `/Date(ms)/` is SAP OData V2 JSON (`/Date(1704067200000)/`). */
export const DATE_FORMATS = ['YYYY-MM-DD', 'DD.MM.YYYY', 'YYYYMMDD', 'DD/MM/YYYY', 'MM/DD/YYYY', '/Date(ms)/'] as const;
export type DateFormat = (typeof DATE_FORMATS)[number];

/** Parses a date in `format` to an ISO date (YYYY-MM-DD); `null` if it is not a real calendar date. */
export type DateParser = (s: string) => string | null;

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

function num2(s: string, i: number): number {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function num4(s: string, i: number): number {
  const a = num2(s, i);
  const b = num2(s, i + 2);
  return a < 0 || b < 0 ? -1 : a * 100 + b;
}

/** Days in month `m` (1–12) of year `y`, proleptic Gregorian. */
export function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Whether y-m-d is a real date with a year from 1 to 9999. */
export function isValidYmd(y: number, m: number, d: number): boolean {
  return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth(y, m);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function parseIso(s: string): string | null {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return null;
  return isValidYmd(num4(s, 0), num2(s, 5), num2(s, 8)) ? s : null;
}

function parseCompact(s: string): string | null {
  if (s.length !== 8) return null;
  const y = num4(s, 0);
  const m = num2(s, 4);
  const d = num2(s, 6);
  return isValidYmd(y, m, d) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}` : null;
}

/** DD?MM?YYYY (dayFirst) or MM?DD?YYYY with separator code `sep`. */
function parseSeparated(sep: number, dayFirst: boolean): DateParser {
  return (s) => {
    if (s.length !== 10 || s.charCodeAt(2) !== sep || s.charCodeAt(5) !== sep) return null;
    const a = num2(s, 0);
    const b = num2(s, 3);
    const y = num4(s, 6);
    const d = dayFirst ? a : b;
    const m = dayFirst ? b : a;
    return isValidYmd(y, m, d) ? `${s.slice(6, 10)}-${pad(m, 2)}-${pad(d, 2)}` : null;
  };
}

const MS_PER_DAY = 86_400_000;

/**
 * Civil date of a day number (days since 1970-01-01), after Howard Hinnant's `civil_from_days`. Pure arithmetic, so
 * it works for any day without building a Date.
 */
export function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

const SAP_DATE = /^\/Date\((-?\d{1,16})(?:([+-])(\d{1,4}))?\)\/$/;

/**
 * SAP OData V2 `/Date(ms)/`, or Edm.DateTimeOffset's `/Date(ms+offset)/` where the offset is in minutes (OData V2
 * JSON: `+0120` is two hours ahead of UTC, not one hour twenty). The calendar date is taken in that offset (UTC
 * without one); a time of day is ignored, as SAP sends dates as midnight.
 */
function parseSapJson(s: string): string | null {
  const m = SAP_DATE.exec(s);
  if (!m) return null;
  let ms = Number(m[1]);
  if (!Number.isSafeInteger(ms)) return null;
  if (m[2]) ms += (m[2] === '-' ? -1 : 1) * Number(m[3]) * 60_000;
  const { y, m: mo, d } = civilFromDays(Math.floor(ms / MS_PER_DAY));
  return isValidYmd(y, mo, d) ? `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}` : null;
}

/** The parser for a date format; compiled once per field. */
export function dateParser(format: DateFormat): DateParser {
  switch (format) {
    case 'YYYY-MM-DD':
      return parseIso;
    case 'YYYYMMDD':
      return parseCompact;
    case 'DD.MM.YYYY':
      return parseSeparated(46, true);
    case 'DD/MM/YYYY':
      return parseSeparated(47, true);
    case 'MM/DD/YYYY':
      return parseSeparated(47, false);
    case '/Date(ms)/':
      return parseSapJson;
    default: {
      const never: never = format;
      throw new Error(`unhandled date format ${String(never)}`);
    }
  }
}

/**
 * A source value that means "no date" in that format: SAP's initial DATS value `00000000` (and `0000-00-00`, which some
 * exports write), handled like an empty column so `default` and `required` apply.
 */
export function isInitialDate(s: string): boolean {
  return s === '00000000' || s === '0000-00-00' || s === '00.00.0000';
}

/** Parses an optionally signed decimal integer (`7`, `-3`, `+12`, `007`); `null` if not one or not a safe integer. */
export function parseInt10(s: string): number | null {
  const n = s.length;
  let i = 0;
  const c0 = s.charCodeAt(0);
  if (c0 === 43 || c0 === 45) i = 1;
  if (i === n) return null;
  let v = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (!Number.isSafeInteger(v)) return null;
  return c0 === 45 && v !== 0 ? -v : v;
}

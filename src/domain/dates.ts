import { IntegrationError } from './errors';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether `text` is a day of the calendar written YYYY-MM-DD: 2024-02-29 is, 2023-02-29 and 2024-02-30 are not, nor
 * is any day of year 0000, which the calendar (and PostgreSQL) does not have. (`Date.parse` takes any day up to 31 in
 * any month and rolls it over into the next, so a check that only asks it whether the text parses lets 2024-02-30
 * through as 1 March.)
 */
export function isCalendarDate(text: string): boolean {
  const m = ISO_DATE.exec(text);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/** `text` when it is a calendar date (see {@link isCalendarDate}); otherwise an error naming `field`. */
export function checkCalendarDate(text: string, field: string): string {
  if (!isCalendarDate(text)) throw new IntegrationError(`"${text}" is not a date (YYYY-MM-DD)`, field);
  return text;
}

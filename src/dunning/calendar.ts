/**
 * Public holidays, business days and contact windows: the calendar guardrails of a dunning run. Pure functions over
 * `YYYY-MM-DD` dates and IANA time zones; holidays are computed (Easter by the Gregorian computus), not listed.
 */

import { easterSunday } from '../domain/calendar';
import { IntegrationError } from '../domain/errors';
import { dateOfDay, dayNumber, WEEKDAYS, type Weekday } from '../rules/facts';

/** German states (ISO 3166-2:DE without the prefix), for the holidays that only some of them keep. */
export const GERMAN_STATES = [
  'BW',
  'BY',
  'BE',
  'BB',
  'HB',
  'HH',
  'HE',
  'MV',
  'NI',
  'NW',
  'RP',
  'SL',
  'SN',
  'ST',
  'SH',
  'TH',
] as const;
export type GermanState = (typeof GERMAN_STATES)[number];

export { easterSunday };

const cache = new Map<string, ReadonlyMap<string, string>>();

/**
 * The public holidays of Germany in a year: the nine nationwide ones, plus the state's own when `state` is given
 * (Epiphany, Women's Day, Berlin's one-off Liberation Day in 2020 and 2025, Corpus Christi, Assumption, Children's
 * Day, Reformation Day, All Saints, Repentance Day).
 * Returns date → name. Assumption is listed for Saarland (Bavaria keeps it only in Catholic municipalities).
 */
export function germanHolidays(year: number, state?: GermanState): ReadonlyMap<string, string> {
  const key = `${year}/${state ?? ''}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const easter = dayNumber(easterSunday(year));
  const rel = (days: number) => dateOfDay(easter + days);
  const fixed = (md: string) => `${year}-${md}`;
  const out = new Map<string, string>([
    [fixed('01-01'), 'Neujahr'],
    [rel(-2), 'Karfreitag'],
    [rel(1), 'Ostermontag'],
    [fixed('05-01'), 'Tag der Arbeit'],
    [rel(39), 'Christi Himmelfahrt'],
    [rel(50), 'Pfingstmontag'],
    [fixed('10-03'), 'Tag der Deutschen Einheit'],
    [fixed('12-25'), '1. Weihnachtstag'],
    [fixed('12-26'), '2. Weihnachtstag'],
  ]);
  const s = state;
  if (s) {
    if (['BW', 'BY', 'ST'].includes(s)) out.set(fixed('01-06'), 'Heilige Drei Könige');
    if ((s === 'BE' && year >= 2019) || (s === 'MV' && year >= 2023))
      out.set(fixed('03-08'), 'Internationaler Frauentag');
    // Berlin kept the 75th and the 80th anniversary of the end of the Second World War as one-off holidays.
    if (s === 'BE' && (year === 2020 || year === 2025)) out.set(fixed('05-08'), 'Tag der Befreiung');
    if (s === 'BB') {
      out.set(rel(0), 'Ostersonntag');
      out.set(rel(49), 'Pfingstsonntag');
    }
    if (['BW', 'BY', 'HE', 'NW', 'RP', 'SL'].includes(s)) out.set(rel(60), 'Fronleichnam');
    if (s === 'SL') out.set(fixed('08-15'), 'Mariä Himmelfahrt');
    if (s === 'TH' && year >= 2019) out.set(fixed('09-20'), 'Weltkindertag');
    if (['BB', 'MV', 'SN', 'ST', 'TH'].includes(s) || (['HB', 'HH', 'NI', 'SH'].includes(s) && year >= 2018)) {
      out.set(fixed('10-31'), 'Reformationstag');
    }
    if (['BW', 'BY', 'NW', 'RP', 'SL'].includes(s)) out.set(fixed('11-01'), 'Allerheiligen');
    if (s === 'SN') {
      // Buß- und Bettag: the Wednesday before 23 November.
      const nov23 = dayNumber(fixed('11-23'));
      let d = nov23 - 1;
      while (weekdayOfDay(d) !== 'Wed') d--;
      out.set(dateOfDay(d), 'Buß- und Bettag');
    }
  }
  // Reformation Day 2017 (the 500th anniversary) was a holiday everywhere.
  if (year === 2017) out.set('2017-10-31', 'Reformationstag (500 Jahre)');
  cache.set(key, out);
  return out;
}

export function weekdayOfDay(day: number): Weekday {
  // Day 0 (1970-01-01) was a Thursday.
  return WEEKDAYS[(((day + 3) % 7) + 7) % 7]!;
}

export function weekdayOf(date: string): Weekday {
  return weekdayOfDay(dayNumber(date));
}

/** Where and when contacts may happen: the days that count as business days, the holidays and the quiet hours. */
export interface ContactCalendar {
  /** IANA time zone the hours are in. */
  timezone: string;
  /** Weekdays on which debtors may be contacted. */
  businessDays: readonly Weekday[];
  /** Country whose public holidays are kept (only DE is built in). */
  country: string;
  state?: GermanState;
  /** Quiet hours as minutes after midnight, local: from `quietFrom` (evening) to `quietTo` (morning), no contact. */
  quietFrom: number;
  quietTo: number;
}

export function holidayName(cal: Pick<ContactCalendar, 'country' | 'state'>, date: string): string | undefined {
  if (cal.country !== 'DE') return undefined;
  return germanHolidays(Number(date.slice(0, 4)), cal.state).get(date);
}

export function isBusinessDay(cal: ContactCalendar, date: string): boolean {
  return cal.businessDays.includes(weekdayOf(date)) && holidayName(cal, date) === undefined;
}

/** `"08:30"` → 510. */
export function minutesOf(hhmm: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new IntegrationError(`"${hhmm}" is not a time of day (HH:MM)`, 'time');
  return Number(m[1]) * 60 + Number(m[2]);
}

export function hhmmOf(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/**
 * The first moment at or after `date` `sendAt` (local time) at which a debtor may be contacted: on a business day,
 * outside the quiet hours. Deterministic for a date: the run's notices carry it as `scheduled_at`, and the channels
 * send no earlier. Returns an ISO instant (UTC).
 */
export function contactSlot(cal: ContactCalendar, date: string, sendAt: number): { date: string; at: string } {
  let memo = slots.get(cal);
  if (!memo) {
    memo = new Map();
    slots.set(cal, memo);
  }
  const key = `${date}|${sendAt}`;
  let slot = memo.get(key);
  if (!slot) {
    slot = computeSlot(cal, date, sendAt);
    memo.set(key, slot);
  }
  return slot;
}

const slots = new WeakMap<ContactCalendar, Map<string, { date: string; at: string }>>();

function computeSlot(cal: ContactCalendar, date: string, sendAt: number): { date: string; at: string } {
  // On a later day the notice goes out at its own time, or when the quiet hours end if its time is in them.
  const laterDays = sendAt < cal.quietTo || sendAt >= cal.quietFrom ? cal.quietTo : sendAt;
  let day = dayNumber(date);
  let minutes = Math.max(sendAt, cal.quietTo);
  for (let guard = 0; guard < 400; guard++) {
    const d = dateOfDay(day);
    if (minutes >= cal.quietFrom || !isBusinessDay(cal, d)) {
      day++;
      minutes = laterDays;
      continue;
    }
    return { date: d, at: zonedToUtc(d, minutes, cal.timezone) };
  }
  throw new IntegrationError('no business day within 400 days: check guardrails.businessDays', 'businessDays');
}

/** Local wall-clock time `date` + `minutes` in `timezone` → the UTC instant (ISO), correct across DST changes. */
export function zonedToUtc(date: string, minutes: number, timezone: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d, Math.floor(minutes / 60), minutes % 60);
  // Two rounds: the offset at the guess, then at the corrected instant (they differ only next to a DST change).
  let t = wall - offsetMs(wall, timezone);
  t = wall - offsetMs(t, timezone);
  return new Date(t).toISOString();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function offsetMs(instant: number, timezone: string): number {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timezone, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(instant))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The local date and minutes after midnight of an instant in `timezone`. */
export function localTime(instant: Date, timezone: string): { date: string; minutes: number } {
  const shifted = new Date(instant.getTime() + offsetMs(instant.getTime(), timezone));
  return {
    date: shifted.toISOString().slice(0, 10),
    minutes: shifted.getUTCHours() * 60 + shifted.getUTCMinutes(),
  };
}

/** Whether debtors may be contacted at `instant`: a business day, outside the quiet hours. */
export function mayContactAt(cal: ContactCalendar, instant: Date): boolean {
  const { date, minutes } = localTime(instant, cal.timezone);
  return isBusinessDay(cal, date) && minutes >= cal.quietTo && minutes < cal.quietFrom;
}

/**
 * The German legal pack's guardrails: limits no strategy can loosen. A strategy file may tighten them (wider quiet
 * hours, fewer contacts, fewer business days); loosening one is a load-time error at its position, and the run
 * enforces them whatever the levels ask for (a level that wants to send at 23:00 is moved to the next allowed slot,
 * a level with no spacing is held back by the contact cap).
 */
import type { CompiledCondition } from '../rules';
import type { Weekday } from '../rules/facts';
import type { ContactCalendar, GermanState } from './calendar';
import { minutesOf } from './calendar';

export interface Moratorium {
  name: string;
  /** Which items it covers (item facts allowed), e.g. contracts concluded before a date. */
  condition: CompiledCondition;
  /** The period in which covered items are not dunned, inclusive. */
  from: string;
  until: string;
}

export interface Guardrails {
  calendar: ContactCalendar;
  /** Notices to one debtor within any 7 days (the run date and the 6 before it). */
  maxContactsPerWeek: number;
  /** A debtor whose due total is below this is not dunned. */
  minTotalMinor: number;
  /** Channels used only with the debtor's consent (`consent:<channel>` tag). */
  requireConsentFor: readonly string[];
  moratoria: readonly Moratorium[];
}

/** What the pack allows at most: the floor every strategy starts from. */
export const GERMAN_PACK = {
  country: 'DE',
  /** No contact from 20:00 to 08:00 local time. */
  quietFrom: minutesOf('20:00'),
  quietTo: minutesOf('08:00'),
  /** No contact on Sundays and public holidays. */
  allowedDays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as readonly Weekday[],
  defaultBusinessDays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] as readonly Weekday[],
  maxContactsPerWeek: 3,
  defaultContactsPerWeek: 2,
  /** §288 (5) BGB lump sum applies to claims in euro. */
  lumpSumCurrency: 'EUR',
  /** The first notice after the due date (the Mahnung that puts the debtor in default) carries no fee. */
  firstOverdueNoticeFree: true,
} as const;

/** The pack's guardrails for a tenant in `timezone`, used when a strategy says nothing (and by the inline levels). */
export function defaultGuardrails(timezone: string, minTotalMinor: number, state?: GermanState): Guardrails {
  return {
    calendar: {
      timezone,
      businessDays: GERMAN_PACK.defaultBusinessDays,
      country: GERMAN_PACK.country,
      ...(state ? { state } : {}),
      quietFrom: GERMAN_PACK.quietFrom,
      quietTo: GERMAN_PACK.quietTo,
    },
    maxContactsPerWeek: GERMAN_PACK.defaultContactsPerWeek,
    minTotalMinor,
    requireConsentFor: [],
    moratoria: [],
  };
}

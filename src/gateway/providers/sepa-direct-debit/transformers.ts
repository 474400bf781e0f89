/**
 * Pure functions of the SEPA direct debit provider: the TARGET2 calendar and the rulebook's dates, mandate data, the
 * pre-notification text, identifiers, and the mapping of our collection states onto `PaymentState`.
 */
import { checkSepaIdentifier } from '../../../cash/pain001';
import type { SequenceType } from '../../../cash/pain008';
import { easterSunday } from '../../../domain/calendar';
import { IntegrationError } from '../../../domain/errors';
import { formatMoney } from '../../../domain/money';
import type { PaymentState } from '../../../domain/types';

// --- dates ------------------------------------------------------------------------------------------------------------

const DAY_MS = 86_400_000;
const toUtc = (date: string) => Date.parse(`${date}T00:00:00Z`);
const fromUtc = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function addCalendarDays(date: string, days: number): string {
  return fromUtc(toUtc(date) + days * DAY_MS);
}

export { easterSunday };

/**
 * Whether TARGET2 (T2) settles on this day: not on Saturdays and Sundays, New Year's Day, Good Friday, Easter Monday,
 * 1 May, 25 and 26 December. SEPA collections settle only on these days.
 */
export function isTarget2BusinessDay(date: string): boolean {
  const weekday = new Date(toUtc(date)).getUTCDay();
  if (weekday === 0 || weekday === 6) return false;
  const md = date.slice(5);
  if (md === '01-01' || md === '05-01' || md === '12-25' || md === '12-26') return false;
  const easter = easterSunday(Number(date.slice(0, 4)));
  return date !== addCalendarDays(easter, -2) && date !== addCalendarDays(easter, 1);
}

/** The date itself when it is a TARGET2 business day, otherwise the next one. */
export function rollToTarget2BusinessDay(date: string): string {
  let d = date;
  while (!isTarget2BusinessDay(d)) d = addCalendarDays(d, 1);
  return d;
}

/** The `n`-th TARGET2 business day after `date` (negative: before). */
export function addTarget2BusinessDays(date: string, n: number): string {
  let d = date;
  const step = n < 0 ? -1 : 1;
  for (let left = Math.abs(n); left > 0; ) {
    d = addCalendarDays(d, step);
    if (isTarget2BusinessDay(d)) left--;
  }
  return d;
}

/** The calendar date and the time (`HH:MM`) of an instant in a time zone. */
export function localDateTime(now: Date, timeZone: string): { date: string; time: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}` };
}

export interface CollectionTiming {
  /** Calendar days of notice before the due date (rulebook: 14 unless agreed shorter). */
  preNotificationDays: number;
  /** TARGET2 business days the file must be at the bank before the due date (CORE and B2B: 1). */
  submissionLeadDays: number;
  /** The bank's cut-off, `HH:MM` in `timeZone`. */
  cutOffTime?: string;
  timeZone: string;
}

/** The day a file made now reaches the bank: today if it is a TARGET2 day before the cut-off, else the next one. */
export function submissionDay(now: Date, t: CollectionTiming): string {
  const { date, time } = localDateTime(now, t.timeZone);
  if (isTarget2BusinessDay(date) && (t.cutOffTime === undefined || time < t.cutOffTime)) return date;
  return addTarget2BusinessDays(date, 1);
}

/** The last day a collection due on `dueDate` can be submitted: `submissionLeadDays` TARGET2 days before it. */
export function latestSubmissionDay(dueDate: string, t: Pick<CollectionTiming, 'submissionLeadDays'>): string {
  return addTarget2BusinessDays(dueDate, -t.submissionLeadDays);
}

/**
 * The earliest due date for a collection pre-notified now: at least `preNotificationDays` calendar days away, at least
 * `submissionLeadDays` TARGET2 days after the day the file can reach the bank, and itself a TARGET2 business day.
 */
export function earliestDueDate(now: Date, t: CollectionTiming): string {
  const today = localDateTime(now, t.timeZone).date;
  const byNotice = rollToTarget2BusinessDay(addCalendarDays(today, t.preNotificationDays));
  const byBank = addTarget2BusinessDays(submissionDay(now, t), t.submissionLeadDays);
  // ISO dates order as strings; the later of the two.
  return [byNotice, byBank].sort()[1]!;
}

/**
 * The due date of a new collection: the requested one rolled forward to a TARGET2 business day, or the earliest
 * possible. A requested date earlier than the rules allow is an IntegrationError naming `field`.
 */
export function dueDateFor(now: Date, t: CollectionTiming, requested: string | undefined, field: string): string {
  const earliest = earliestDueDate(now, t);
  if (requested === undefined) return earliest;
  const due = rollToTarget2BusinessDay(requested);
  if (due < earliest) {
    throw new IntegrationError(
      `${requested} is too early: with ${t.preNotificationDays} days of pre-notification and submission ${t.submissionLeadDays} TARGET2 day(s) ahead, the earliest due date is ${earliest}`,
      field,
    );
  }
  return due;
}

// --- identifiers and mandates -------------------------------------------------------------------------------------------

/** The EndToEndId of a collection: our payment id without dashes (a UUID is 36 characters, the field takes 35). */
export function endToEndIdOf(paymentId: string): string {
  return checkSepaIdentifier(paymentId.replace(/-/g, ''), 'paymentId');
}

/**
 * A mandate reference (`MndtId`, EPC AT-01): 1 to 35 characters of the SEPA set, no leading or trailing space. Unique
 * per creditor, compared without regard to case (the rulebook treats `m-1` and `M-1` as the same mandate).
 */
export function mandateReference(reference: string, field: string): string {
  if (reference !== reference.trim()) throw new IntegrationError('must not start or end with a space', field);
  return checkSepaIdentifier(reference, field);
}

/** A mandate lapses when no collection was presented for 36 months (SDD rulebook, 4.5.1). */
export function mandateExpired(lastCollectionDate: string | undefined, signedOn: string, today: string): boolean {
  const since = lastCollectionDate ?? signedOn;
  const [y, m, d] = since.split('-').map(Number) as [number, number, number];
  const lapse = `${y + 3}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  return today > lapse;
}

/** FRST for the first collection of a recurring mandate, RCUR after it, OOFF on a one-off mandate. */
export function sequenceTypeFor(mandateType: 'recurring' | 'one-off', earlierCollections: number): SequenceType {
  if (mandateType === 'one-off') return 'OOFF';
  return earlierCollections === 0 ? 'FRST' : 'RCUR';
}

/** `DE89 **** 3000`: enough for the debtor to recognise the account, not enough to be personal data in a log. */
export function maskIban(iban: string): string {
  return `${iban.slice(0, 4)} **** ${iban.slice(-4)}`;
}

// --- pre-notification -----------------------------------------------------------------------------------------------

export interface PreNotification {
  locale?: string;
  creditorName: string;
  creditorId: string;
  mandateReference: string;
  amountMinor: number;
  currency: string;
  dueDate: string;
  iban: string;
  localInstrument: 'CORE' | 'B2B';
  /** What the debit is for, as it will appear on the debtor's statement. */
  remittance: string;
}

/**
 * The pre-notification the debtor is shown at checkout and sent before the collection (SDD rulebook: amount, due date,
 * creditor identifier and mandate reference). German for `de*` locales, English otherwise. The IBAN is masked.
 */
export function preNotificationText(p: PreNotification): string {
  const german = (p.locale ?? 'de-DE').toLowerCase().startsWith('de');
  const locale = german ? 'de-DE' : 'en-GB';
  const amount = formatMoney({ amountMinor: p.amountMinor, currency: p.currency }, locale);
  const date = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeZone: 'UTC' }).format(
    new Date(toUtc(p.dueDate)),
  );
  const scheme = german
    ? p.localInstrument === 'B2B'
      ? 'SEPA-Firmenlastschrift'
      : 'SEPA-Basislastschrift'
    : p.localInstrument === 'B2B'
      ? 'SEPA B2B direct debit'
      : 'SEPA Core direct debit';
  return german
    ? `Vorabankündigung: ${p.creditorName} zieht ${amount} am ${date} per ${scheme} von Ihrem Konto ${maskIban(p.iban)} ein. ` +
        `Gläubiger-Identifikationsnummer ${p.creditorId}, Mandatsreferenz ${p.mandateReference}, ` +
        `Verwendungszweck: ${p.remittance}. Bitte sorgen Sie für ausreichende Deckung.`
    : `Pre-notification: ${p.creditorName} will collect ${amount} on ${date} by ${scheme} from your account ` +
        `${maskIban(p.iban)}. Creditor identifier ${p.creditorId}, mandate reference ${p.mandateReference}, ` +
        `remittance: ${p.remittance}. Please make sure the account is covered.`;
}

// --- states ---------------------------------------------------------------------------------------------------------

/**
 * Our collection's life: `scheduled` (pre-notified, not yet in a file; can be canceled), `submitted` (in a pain.008 at
 * the bank), `collected` (the credit is on our statement), `returned` (an R-transaction came back), `canceled`.
 */
export const COLLECTION_STATUSES = ['scheduled', 'submitted', 'collected', 'returned', 'canceled'] as const;
export type CollectionStatus = (typeof COLLECTION_STATUSES)[number];

/** Maps a collection to our payment state; refunds issued (pain.001 written) count as refunded. */
export function paymentStateOf(status: CollectionStatus, amountMinor: number, refundedMinor: number): PaymentState {
  switch (status) {
    case 'scheduled':
    case 'submitted':
      return 'pending';
    case 'collected':
      if (refundedMinor === 0) return 'succeeded';
      return refundedMinor >= amountMinor ? 'refunded' : 'partially_refunded';
    case 'returned':
      return 'returned';
    case 'canceled':
      return 'canceled';
    default: {
      const never: never = status;
      throw new Error(`unknown collection status ${String(never)}`);
    }
  }
}

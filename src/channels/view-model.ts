/**
 * The notice view model: everything a notice says, typed and in integer minor units, independent of the channel.
 * The dunning run builds one per notice; `renderNoticeView` (templates.ts) turns it into the subject, text, HTML and
 * SMS of the notice, and the letter channel into a DIN 5008 PDF. Amounts are formatted only there, for the locale.
 *
 * @example
 * const view: NoticeViewModel = {
 *   noticeId: 'ntc-4f1c…', locale: 'de', tone: 'firm', address: 'Sie', asOf: '2025-03-31', level: 3,
 *   currency: 'EUR',
 *   creditor: { name: 'Acme Mobil GmbH', addressLines: ['Hafenstraße 1', '20457 Hamburg'], phone: '+49 40 1234560' },
 *   debtor: { debtorId: 'd-1', name: 'Erika Muster', type: 'B2C', email: 'erika@example.org',
 *             postalAddress: ['Erika Muster', 'Lindenweg 5', '50667 Köln'] },
 *   items: [{ source: 'billing', documentNumber: 'R-1001', dueDate: '2025-03-01', openMinor: 4999 }],
 *   fees: [{ kind: 'dunning-fee', amountMinor: 250 }],
 *   interest: [],
 *   totals: noticeTotals({ items, fees, interest }),
 *   payLink: 'https://pay.example.com/s/abc',
 *   bankTransfer: { beneficiary: 'Acme Mobil GmbH', iban: 'DE89370400440532013000', reference: 'RF18N4F1C…' },
 *   contact: { phone: '+49 40 1234560', callbackUrl: 'https://acme.example/rueckruf' },
 * };
 */

import { isCalendarDate } from '../domain/dates';
import { IntegrationError } from '../domain/errors';
import { sumMinor } from '../domain/money';

export const LOCALES = ['de', 'en'] as const;
/** A two-letter language: the shipped templates are written in de and en; a tenant may add its own folders. */
export type NoticeLocale = (typeof LOCALES)[number] | (string & {});

export const TONES = ['friendly', 'neutral', 'firm', 'final'] as const;
/** How firmly the notice speaks: a nudge, a plain notice, a demand, the last notice before escalation. */
export type Tone = (typeof TONES)[number];

export const ADDRESS_FORMS = ['du', 'Sie'] as const;
/** German form of address; English has one form and ignores it. */
export type AddressForm = (typeof ADDRESS_FORMS)[number];

/** The templates the first dunning profiles name; each stands for the standard notice in one tone. */
export const TEMPLATE_ALIASES: Readonly<Record<string, { template: string; tone: Tone }>> = Object.freeze({
  reminder: { template: 'notice', tone: 'friendly' },
  first: { template: 'notice', tone: 'neutral' },
  second: { template: 'notice', tone: 'firm' },
  final: { template: 'notice', tone: 'final' },
});

export interface NoticeCreditor {
  /** The tenant's name as printed on the notice and in the letter's sender block. */
  name: string;
  /** Street, postal code and city, one line each (the letter's return address and footer). */
  addressLines: readonly string[];
  phone?: string;
  email?: string;
  website?: string;
  /** Legal footer lines of a letter (register court, managing directors, VAT id). */
  legalLines?: readonly string[];
}

export interface NoticeDebtor {
  /** Ours. */
  debtorId: string;
  /** The source's customer number, printed as "Kundennummer". */
  externalId?: string;
  /** Full name or company name. */
  name: string;
  /** For the `du` greeting ("Hallo Erika"); the full name is used when absent. */
  firstName?: string;
  type: 'B2B' | 'B2C';
  email?: string;
  /** E.164, e.g. `+4915112345678`. */
  phone?: string;
  /** The address as printed in the letter window, one line each, recipient name first; the last line may be a country. */
  postalAddress?: readonly string[];
  /** ISO 3166-1 alpha-2, for the print service's postage. */
  country?: string;
}

export interface NoticeItem {
  /** The subledger, e.g. `billing`, `fica`; shown so the debtor can see where each debt comes from. */
  source: string;
  /** A readable name of the source for the notice, e.g. `Mobilfunk`; defaults to `source`. */
  sourceLabel?: string;
  documentNumber: string;
  /** YYYY-MM-DD */
  documentDate?: string;
  /** YYYY-MM-DD */
  dueDate: string;
  /** Days past due at `asOf`; computed from `dueDate` when absent. Negative before the due date. */
  daysPastDue?: number;
  /** The original amount, when it differs from the open amount (part paid). */
  amountMinor?: number;
  openMinor: number;
  contractRef?: string;
}

export type FeeKind = 'dunning-fee' | 'lump-sum' | 'return-debit' | 'other';

export interface NoticeFee {
  kind: FeeKind;
  amountMinor: number;
  /** Overrides the locale's label for the kind, e.g. `Rücklastschriftgebühr Ihrer Bank`. */
  label?: string;
}

export interface NoticeInterest {
  amountMinor: number;
  /** The principal the interest runs on. */
  principalMinor: number;
  /** YYYY-MM-DD, inclusive. */
  from: string;
  /** YYYY-MM-DD, inclusive. */
  to: string;
  /** Annual rate in basis points (e.g. 862 for 8.62 %); when it changed in the period, the last one. */
  rateBasisPoints: number;
  /** Documents the interest is on, for the line's label. */
  documentNumbers?: readonly string[];
}

export interface NoticeTotals {
  itemsMinor: number;
  feesMinor: number;
  interestMinor: number;
  /** items + fees + interest: what the debtor is asked to pay. */
  totalMinor: number;
}

export interface NoticeBankTransfer {
  /** Account holder, at most 70 characters (GiroCode). */
  beneficiary: string;
  iban: string;
  bic?: string;
  /** ISO 11649 RF reference of this notice (see `noticeReference`); cash application matches transfers by it. */
  reference: string;
}

/** How the debtor can talk to us instead of paying at once: the notice offers each one given. */
export interface NoticeContact {
  phone?: string;
  email?: string;
  /** A page where the debtor asks for a call back. */
  callbackUrl?: string;
  /** A page where the debtor promises to pay by a date (or asks for instalments). */
  promiseUrl?: string;
  /** Office hours as shown, e.g. `Mo–Fr 8–18 Uhr`. */
  hours?: string;
}

export interface NoticeViewModel {
  /** Our id of the notice: the idempotency key of every delivery. */
  noticeId: string;
  locale: NoticeLocale;
  tone: Tone;
  /** @defaultValue `'Sie'` */
  address?: AddressForm;
  /** The run date, YYYY-MM-DD: the date printed on the notice. */
  asOf: string;
  /** The dunning level, printed small ("Mahnstufe 2"). */
  level: number;
  /** YYYY-MM-DD the debtor is asked to pay by; absent: no date is named. */
  payBy?: string;
  currency: string;
  creditor: NoticeCreditor;
  debtor: NoticeDebtor;
  /** Every due item across subledgers, in the order shown (oldest due date first is usual). */
  items: readonly NoticeItem[];
  fees: readonly NoticeFee[];
  interest: readonly NoticeInterest[];
  /** Must equal {@link noticeTotals} of the items, fees and interest: rendering refuses a model that does not add up. */
  totals: NoticeTotals;
  /** The checkout link of the notice (gateway); shown as a link and, in letters, as a QR code. */
  payLink?: string;
  /** Our bank account and the notice's RF reference; letters print the EPC QR code (GiroCode) for euro amounts. */
  bankTransfer?: NoticeBankTransfer;
  contact?: NoticeContact;
}

/** Sums a notice's lines. */
export function noticeTotals(v: Pick<NoticeViewModel, 'items' | 'fees' | 'interest'>): NoticeTotals {
  const itemsMinor = sumMinor(v.items.map((i) => i.openMinor));
  const feesMinor = sumMinor(v.fees.map((f) => f.amountMinor));
  const interestMinor = sumMinor(v.interest.map((i) => i.amountMinor));
  return { itemsMinor, feesMinor, interestMinor, totalMinor: sumMinor([itemsMinor, feesMinor, interestMinor]) };
}

/**
 * Checks a view model before anything is rendered from it: amounts are integers, dates are dates, the totals add up.
 * @throws IntegrationError naming the field.
 */
export function checkViewModel(v: NoticeViewModel): void {
  const fail = (field: string, message: string): never => {
    throw new IntegrationError(message, `notice ${v.noticeId}: ${field}`);
  };
  if (!/^[a-z]{2}$/.test(v.locale)) fail('locale', `"${v.locale}" is not a two-letter language such as de or en`);
  if (!(TONES as readonly string[]).includes(v.tone)) fail('tone', `"${v.tone}" is not one of ${TONES.join(', ')}`);
  if (v.address !== undefined && !(ADDRESS_FORMS as readonly string[]).includes(v.address)) {
    fail('address', `"${v.address}" is not du or Sie`);
  }
  if (!isCalendarDate(v.asOf)) fail('asOf', `"${v.asOf}" is not a date (YYYY-MM-DD)`);
  if (v.payBy !== undefined && !isCalendarDate(v.payBy)) fail('payBy', `"${v.payBy}" is not a date (YYYY-MM-DD)`);
  if (v.items.length === 0) fail('items', 'a notice lists at least one item');
  const whole = (n: number, field: string) => {
    if (!Number.isSafeInteger(n)) fail(field, `${n} is not an integer amount of minor units`);
  };
  v.items.forEach((i, k) => {
    whole(i.openMinor, `items[${k}].openMinor`);
    if (i.amountMinor !== undefined) whole(i.amountMinor, `items[${k}].amountMinor`);
    if (!isCalendarDate(i.dueDate)) fail(`items[${k}].dueDate`, `"${i.dueDate}" is not a date (YYYY-MM-DD)`);
  });
  v.fees.forEach((f, k) => {
    whole(f.amountMinor, `fees[${k}].amountMinor`);
  });
  v.interest.forEach((i, k) => {
    whole(i.amountMinor, `interest[${k}].amountMinor`);
    whole(i.principalMinor, `interest[${k}].principalMinor`);
  });
  const expected = noticeTotals(v);
  for (const key of ['itemsMinor', 'feesMinor', 'interestMinor', 'totalMinor'] as const) {
    if (v.totals[key] !== expected[key]) {
      fail(`totals.${key}`, `is ${v.totals[key]} but the lines add up to ${expected[key]}`);
    }
  }
}

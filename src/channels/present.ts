/**
 * Turns a {@link NoticeViewModel} into what templates see: every amount formatted for the locale, every optional
 * field present (empty string or `false`), so templates run in strict mode and a misspelt field is an error.
 */
import { createHash } from 'node:crypto';
import { IntegrationError } from '../domain/errors';
import { formatMoney } from '../domain/money';
import { creditorReference, groupInFours } from '../gateway/providers/bank-transfer/transformers';
import type { AddressForm, NoticeLocale, NoticeViewModel, Tone } from './view-model';

/** Labels of a locale (`config/templates/<locale>/labels.yaml`): nouns and column heads, no sentences. */
export type Labels = Readonly<Record<LabelKey, string>>;

export const LABEL_KEYS = [
  'source',
  'document',
  'dueDate',
  'daysPastDue',
  'open',
  'itemsTotal',
  'feeDunning',
  'feeLumpSum',
  'feeReturnDebit',
  'feeOther',
  'interestLine',
  'total',
  'payOnline',
  'payOnlineButton',
  'scanToPay',
  'bankDetails',
  'beneficiary',
  'iban',
  'bic',
  'amount',
  'reference',
  'giroCode',
  'customerNumber',
  'date',
  'level',
  'asOf',
  'page',
  'phone',
  'email',
  'titleFriendly',
  'titleNeutral',
  'titleFirm',
  'titleFinal',
] as const;
export type LabelKey = (typeof LABEL_KEYS)[number];

export interface NoticeContext {
  noticeId: string;
  locale: string;
  tone: Tone;
  address: AddressForm;
  /** German `du` form: for templates that write both forms in one file (`{{#if du}}…{{else}}…{{/if}}`). */
  du: boolean;
  /** firm and final notices: templates set the request in bold. */
  emphasis: boolean;
  asOf: string;
  level: number;
  /** YYYY-MM-DD or ''. */
  payBy: string;
  currency: string;
  /** The document title for the tone (letter heading, attachment name), e.g. `Zahlungserinnerung`. */
  title: string;
  tenant: { name: string };
  creditor: {
    name: string;
    addressLines: string[];
    phone: string;
    email: string;
    website: string;
    legalLines: string[];
  };
  debtor: {
    name: string;
    salutation: string;
    firstName: string;
    customerNumber: string;
    isBusiness: boolean;
    postalAddress: string[];
  };
  items: {
    source: string;
    sourceLabel: string;
    documentNumber: string;
    documentDate: string;
    dueDate: string;
    daysPastDue: number;
    openAmount: string;
    /** The original amount when part of it is paid, else ''. */
    amount: string;
    /** Past its due date (daysPastDue > 0). */
    overdue: boolean;
  }[];
  fees: { label: string; amount: string }[];
  interest: { label: string; amount: string }[];
  hasFees: boolean;
  hasInterest: boolean;
  /** Sum of the fees, or '' (kept for templates written against the first view). */
  fee: string;
  totals: { items: string; fees: string; interest: string; total: string };
  /** Same as `totals.total`. */
  total: string;
  payLink: string;
  bank:
    | false
    | { beneficiary: string; iban: string; bic: string; reference: string; referenceCompact: string; amount: string };
  contact: { phone: string; email: string; callbackUrl: string; promiseUrl: string; hours: string };
  /** Whether any way to talk to us is given besides replying. */
  hasContact: boolean;
  /**
   * Image sources of the QR codes for HTML, or '' when the notice has none: `cid:` URLs of the inline images the
   * e-mail channel attaches (see qr.ts).
   */
  images: { payLink: string; giroCode: string };
}

/** Content-IDs of the QR code images an e-mail carries inline. */
export const IMAGE_CIDS = { payLink: 'qr-paylink@clearhub', giroCode: 'qr-girocode@clearhub' } as const;

const INTL: Record<string, string> = { de: 'de-DE', en: 'en-GB' };

export function intlLocale(locale: string): string {
  return INTL[locale] ?? locale;
}

/** `2025-03-01` → `01.03.2025` (de) or `1 Mar 2025` (en); anything that is not a date is returned as it is. */
export function formatDate(value: string, locale: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  try {
    return dateFormat(intlLocale(locale)).format(new Date(`${value}T00:00:00Z`));
  } catch {
    return value;
  }
}

/** Intl formatters are costly to make (~0.1 ms each, a notice prints dozens of dates): one per locale. */
const dateFormats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(locale: string): Intl.DateTimeFormat {
  let f = dateFormats.get(locale);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
    dateFormats.set(locale, f);
  }
  return f;
}

/** Whole days from `from` to `to` (YYYY-MM-DD), negative when `to` is earlier. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** `asOf` plus `days`, YYYY-MM-DD. */
export function addDays(asOf: string, days: number): string {
  return new Date(Date.parse(`${asOf}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Paragraphs of a section: separated by blank lines; whitespace inside a paragraph collapses to one space. */
export function paragraphsOf(text: string): string[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter((p) => p !== '');
}

/** Fills `{name}` placeholders of a label. */
export function fillLabel(label: string, values: Record<string, string>): string {
  return label.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}

/**
 * The RF creditor reference of a notice: `N` and 20 hex digits of the notice id's SHA-256, upper case, with ISO 11649
 * check digits. Deterministic, so every channel and every resend of the notice prints the same reference and cash
 * application can map a transfer back to the notice.
 * @example noticeReference('ntc-4f1c…') // 'RF..N…' (25 characters)
 */
export function noticeReference(noticeId: string): string {
  const hex = createHash('sha256').update(noticeId).digest('hex').slice(0, 20).toUpperCase();
  return creditorReference(`N${hex}`);
}

/** `DE89370400440532013000` → `DE89 3704 0044 0532 0130 00`. */
export function groupIban(iban: string): string {
  return groupInFours(iban.replace(/\s/g, '').toUpperCase());
}

function salutation(locale: string, address: AddressForm, d: NoticeViewModel['debtor']): string {
  if (locale === 'de') {
    if (address === 'du') return d.type === 'B2B' ? 'Hallo zusammen' : `Hallo ${d.firstName ?? d.name}`;
    return d.type === 'B2B' ? 'Sehr geehrte Damen und Herren' : `Guten Tag ${d.name}`;
  }
  return d.type === 'B2B' ? 'Dear Sir or Madam' : `Dear ${d.name}`;
}

const TITLE_KEY: Record<Tone, LabelKey> = {
  friendly: 'titleFriendly',
  neutral: 'titleNeutral',
  firm: 'titleFirm',
  final: 'titleFinal',
};

const FEE_KEY: Record<NoticeViewModel['fees'][number]['kind'], LabelKey> = {
  'dunning-fee': 'feeDunning',
  'lump-sum': 'feeLumpSum',
  'return-debit': 'feeReturnDebit',
  other: 'feeOther',
};

/** The template context of a view model (which must have passed `checkViewModel`). */
export function presentNotice(v: NoticeViewModel, labels: Labels): NoticeContext {
  const locale: NoticeLocale = v.locale;
  const address: AddressForm = v.address ?? 'Sie';
  const fmt = (minor: number) => formatMoney({ amountMinor: minor, currency: v.currency }, intlLocale(locale));
  const percent = (bp: number) =>
    new Intl.NumberFormat(intlLocale(locale), { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(bp / 100);
  const c = v.contact ?? {};
  let bank: NoticeContext['bank'] = false;
  if (v.bankTransfer) {
    const ref = v.bankTransfer.reference.replace(/\s/g, '').toUpperCase();
    if (!/^RF\d{2}[A-Z0-9]{1,21}$/.test(ref)) {
      throw new IntegrationError(`"${v.bankTransfer.reference}" is not an RF reference`, 'bankTransfer.reference');
    }
    bank = {
      beneficiary: v.bankTransfer.beneficiary,
      iban: groupIban(v.bankTransfer.iban),
      bic: v.bankTransfer.bic ?? '',
      reference: groupInFours(ref),
      referenceCompact: ref,
      amount: fmt(v.totals.totalMinor),
    };
  }
  const fees = v.fees.map((f) => ({ label: f.label ?? labels[FEE_KEY[f.kind]], amount: fmt(f.amountMinor) }));
  const interest = v.interest.map((i) => ({
    label: fillLabel(labels.interestLine, {
      rate: percent(i.rateBasisPoints),
      principal: fmt(i.principalMinor),
      from: formatDate(i.from, locale),
      to: formatDate(i.to, locale),
      documents: (i.documentNumbers ?? []).join(', '),
    }),
    amount: fmt(i.amountMinor),
  }));
  const contact = {
    phone: c.phone ?? '',
    email: c.email ?? '',
    callbackUrl: c.callbackUrl ?? '',
    promiseUrl: c.promiseUrl ?? '',
    hours: c.hours ?? '',
  };
  const total = fmt(v.totals.totalMinor);
  return {
    noticeId: v.noticeId,
    locale,
    tone: v.tone,
    address,
    du: locale === 'de' && address === 'du',
    emphasis: v.tone === 'firm' || v.tone === 'final',
    asOf: v.asOf,
    level: v.level,
    payBy: v.payBy ?? '',
    currency: v.currency,
    title: labels[TITLE_KEY[v.tone]],
    tenant: { name: v.creditor.name },
    creditor: {
      name: v.creditor.name,
      addressLines: [...v.creditor.addressLines],
      phone: v.creditor.phone ?? '',
      email: v.creditor.email ?? '',
      website: v.creditor.website ?? '',
      legalLines: [...(v.creditor.legalLines ?? [])],
    },
    debtor: {
      name: v.debtor.name,
      salutation: salutation(locale, address, v.debtor),
      firstName: v.debtor.firstName ?? v.debtor.name,
      customerNumber: v.debtor.externalId ?? '',
      isBusiness: v.debtor.type === 'B2B',
      postalAddress: [...(v.debtor.postalAddress ?? [])],
    },
    items: v.items.map((i) => ({
      source: i.source,
      sourceLabel: i.sourceLabel ?? i.source,
      documentNumber: i.documentNumber,
      documentDate: i.documentDate ?? '',
      dueDate: i.dueDate,
      daysPastDue: i.daysPastDue ?? daysBetween(i.dueDate, v.asOf),
      openAmount: fmt(i.openMinor),
      amount: i.amountMinor !== undefined && i.amountMinor !== i.openMinor ? fmt(i.amountMinor) : '',
      overdue: (i.daysPastDue ?? daysBetween(i.dueDate, v.asOf)) > 0,
    })),
    fees,
    interest,
    hasFees: fees.length > 0,
    hasInterest: interest.length > 0,
    fee: v.totals.feesMinor > 0 ? fmt(v.totals.feesMinor) : '',
    totals: {
      items: fmt(v.totals.itemsMinor),
      fees: fmt(v.totals.feesMinor),
      interest: fmt(v.totals.interestMinor),
      total,
    },
    total,
    payLink: v.payLink ?? '',
    bank,
    contact,
    hasContact: Boolean(contact.phone || contact.email || contact.callbackUrl || contact.promiseUrl),
    images: {
      payLink: v.payLink ? `cid:${IMAGE_CIDS.payLink}` : '',
      giroCode: bank && v.currency === 'EUR' ? `cid:${IMAGE_CIDS.giroCode}` : '',
    },
  };
}

/**
 * Builds a {@link NoticeViewModel} from what the store holds about a debtor and their items, plus the tenant's
 * notice settings (creditor, bank account, contact). Used by `sendPendingNotices` and `clearhub template preview`;
 * the dunning run may build its models itself.
 */
import { addDays, daysBetween, noticeReference } from './present';
import {
  type AddressForm,
  type NoticeBankTransfer,
  type NoticeContact,
  type NoticeCreditor,
  type NoticeFee,
  type NoticeInterest,
  type NoticeLocale,
  type NoticeViewModel,
  noticeTotals,
  TEMPLATE_ALIASES,
  type Tone,
} from './view-model';

/** A tenant's settings for notices. */
export interface NoticeSettings {
  /** The creditor as printed; `name` defaults to the tenant's name. */
  creditor: NoticeCreditor;
  /** Our account for transfers; each notice gets its RF reference (`noticeReference`). */
  bankAccount?: Omit<NoticeBankTransfer, 'reference' | 'beneficiary'> & { beneficiary?: string };
  contact?: NoticeContact;
  /**
   * Days the debtor is given to pay, per tone; the notice names the date (`asOf` + days).
   * @defaultValue `{ friendly: 10, neutral: 10, firm: 7, final: 7 }`
   */
  payWithinDays?: Partial<Record<Tone, number>>;
}

export const DEFAULT_PAY_WITHIN_DAYS: Readonly<Record<Tone, number>> = { friendly: 10, neutral: 10, firm: 7, final: 7 };

export interface DebtorRow {
  debtor_id: string;
  name: string;
  type: 'B2B' | 'B2C';
  email: string | null;
  phone: string | null;
  language: string;
  country: string | null;
}

export interface ItemRow {
  item_id: string;
  source: string;
  document_number: string;
  document_date?: string | null;
  due_date: string;
  amount_minor?: number;
  open_minor: number;
  external_id?: string;
  contract_ref?: string | null;
}

export interface BuildViewInput {
  noticeId: string;
  locale: NoticeLocale;
  tone: Tone;
  address: AddressForm;
  asOf: string;
  level: number;
  currency: string;
  debtor: DebtorRow;
  /** Address lines as printed, recipient first; absent: the debtor cannot get letters. */
  postalAddress?: readonly string[];
  items: readonly ItemRow[];
  fees?: readonly NoticeFee[];
  interest?: readonly NoticeInterest[];
  payLink?: string;
  settings: NoticeSettings;
}

/** The view model of one notice. */
export function buildViewModel(i: BuildViewInput): NoticeViewModel {
  const items = i.items.map((it) => ({
    source: it.source,
    documentNumber: it.document_number,
    documentDate: it.document_date ?? undefined,
    dueDate: it.due_date,
    daysPastDue: daysBetween(it.due_date, i.asOf),
    amountMinor: it.amount_minor,
    openMinor: it.open_minor,
    contractRef: it.contract_ref ?? undefined,
  }));
  const fees = [...(i.fees ?? [])];
  const interest = [...(i.interest ?? [])];
  const s = i.settings;
  const days = s.payWithinDays?.[i.tone] ?? DEFAULT_PAY_WITHIN_DAYS[i.tone];
  const externalIds = [...new Set(i.items.map((it) => it.external_id).filter((x): x is string => Boolean(x)))];
  return {
    noticeId: i.noticeId,
    locale: i.locale,
    tone: i.tone,
    address: i.address,
    asOf: i.asOf,
    level: i.level,
    payBy: addDays(i.asOf, days),
    currency: i.currency,
    creditor: s.creditor,
    debtor: {
      debtorId: i.debtor.debtor_id,
      // One customer number when all items agree on it; several subledgers may number the customer differently.
      externalId: externalIds.length === 1 ? externalIds[0] : undefined,
      name: i.debtor.name,
      type: i.debtor.type,
      email: i.debtor.email ?? undefined,
      phone: i.debtor.phone ?? undefined,
      postalAddress: i.postalAddress ? [...i.postalAddress] : undefined,
      country: i.debtor.country ?? undefined,
    },
    items,
    fees,
    interest,
    totals: noticeTotals({ items, fees, interest }),
    payLink: i.payLink,
    bankTransfer: s.bankAccount
      ? {
          beneficiary: s.bankAccount.beneficiary ?? s.creditor.name.slice(0, 70),
          iban: s.bankAccount.iban,
          bic: s.bankAccount.bic,
          reference: noticeReference(i.noticeId),
        }
      : undefined,
    contact: s.contact,
  };
}

/** The tone a template name stands for (`first` → neutral), or the given default. */
export function toneOfTemplate(template: string, fallback: Tone = 'neutral'): Tone {
  return TEMPLATE_ALIASES[template]?.tone ?? fallback;
}

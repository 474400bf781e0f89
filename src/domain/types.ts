import type { CurrencyCode } from './money';

/** An ISO date (YYYY-MM-DD), the way due dates and booking dates are kept: no time zone ambiguity. */
export type IsoDate = string;

export type DebtorType = 'B2B' | 'B2C';

/** Our customer record; one debtor may own items in several subledgers (DESIGN §3, debtor unification). */
export interface Debtor {
  /** Ours: stable across sources. */
  debtorId: string;
  tenantId: string;
  name: string;
  type: DebtorType;
  email?: string | null;
  phone?: string | null;
  /** BCP 47 primary language, e.g. `de` or `en`. */
  language: string;
  country?: string | null;
  tags: string[];
}

/** A source's customer number linked to our debtor: `(source, externalId) → debtorId`. */
export interface DebtorLink {
  tenantId: string;
  source: string;
  externalId: string;
  debtorId: string;
}

export type ItemStatus = 'open' | 'closed';

/** An open item (invoice, credit memo, fee) as one source knows it, identified by `(tenant, source, sourceKey)`. */
export interface OpenItem {
  itemId: string;
  tenantId: string;
  source: string;
  /** The source's own key fields joined in a fixed order, e.g. `1010|2024|1800000012|001` for SAP. */
  sourceKey: string;
  debtorId: string;
  /** The source's customer number, kept for write-backs. */
  externalId: string;
  documentNumber: string;
  /** Subscription, SIM or line the item belongs to; blocking acts on it (DESIGN §3, contract level). */
  contractRef?: string | null;
  currency: CurrencyCode;
  /** Original amount, signed: credit memos are negative. */
  amountMinor: number;
  /** What is still owed. */
  openMinor: number;
  documentDate?: IsoDate | null;
  dueDate: IsoDate;
  dunningLevel: number;
  /** The source's dunning block key (SAP MANSP); empty means not blocked. */
  dunningBlock?: string | null;
  status: ItemStatus;
  version: number;
}

/** Payment states (DESIGN §3). */
export const PAYMENT_STATES = [
  'created',
  'requires_action',
  'pending',
  'authorized',
  'succeeded',
  'failed',
  'canceled',
  'expired',
  'refunded',
  'partially_refunded',
  'charged_back',
  'returned',
] as const;
export type PaymentState = (typeof PAYMENT_STATES)[number];

export interface Payment {
  paymentId: string;
  tenantId: string;
  debtorId?: string | null;
  method: string;
  provider: string;
  /** Ours. */
  merchantReference: string;
  /** Theirs (the PSP's or the bank's). */
  providerReference?: string | null;
  currency: CurrencyCode;
  amountMinor: number;
  state: PaymentState;
  receivedAt: string;
}

/** A share of a payment applied to one item. */
export interface Allocation {
  allocationId: string;
  tenantId: string;
  paymentId: string;
  itemId: string;
  amountMinor: number;
}

export type NoticeChannel = 'email' | 'sms' | 'letter' | 'webhook';
export type NoticeStatus = 'pending' | 'sent' | 'bounced' | 'failed';

/** One dunning notice per debtor per run, covering all due items across subledgers. */
export interface Notice {
  noticeId: string;
  tenantId: string;
  debtorId: string;
  runId: string;
  level: number;
  channel: NoticeChannel;
  template: string;
  strategy: string;
  strategyVersion: number;
  variant: string;
  currency: CurrencyCode;
  totalMinor: number;
  feeMinor: number;
  itemIds: string[];
  status: NoticeStatus;
}

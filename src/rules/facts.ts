/**
 * The facts a condition sees, declared once: the checker resolves every `scope.field` against {@link FACT_SCHEMA} at
 * load time, and the dunning run fills a {@link Facts} object of exactly this shape for each debtor and item.
 *
 * Representations (what the compiled closures compare): money in integer minor units of the tenant currency, shares
 * in basis points (0–10000, so 90% is 9000), dates as day numbers (days since 1970-01-01), never floats.
 */

/** A value's type in the condition language. `string` with `values` is a closed set (checked at load). */
export type RuleType =
  | { t: 'int' }
  | { t: 'money' }
  | { t: 'ratio' }
  | { t: 'bool' }
  | { t: 'date' }
  | { t: 'string'; values?: readonly string[] }
  | { t: 'list'; of: RuleType };

export const INT: RuleType = { t: 'int' };
export const MONEY: RuleType = { t: 'money' };
export const RATIO: RuleType = { t: 'ratio' };
export const BOOL: RuleType = { t: 'bool' };
export const DATE: RuleType = { t: 'date' };
export const STRING: RuleType = { t: 'string' };
export const oneOf = (values: readonly string[]): RuleType => ({ t: 'string', values });
export const listOf = (of: RuleType): RuleType => ({ t: 'list', of });

export const CHANNEL_NAMES = ['email', 'sms', 'letter', 'webhook'] as const;
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface FactField {
  type: RuleType;
  doc: string;
}

export type FactScope = 'debtor' | 'item' | 'account' | 'history' | 'calendar';

/** Every fact a condition may name. A field not listed here is a load-time error. */
export const FACT_SCHEMA: Record<FactScope, Record<string, FactField>> = {
  debtor: {
    type: { type: oneOf(['B2B', 'B2C']), doc: 'B2B (a business) or B2C (a consumer)' },
    tags: { type: listOf(STRING), doc: 'free tags from the source or the API, e.g. "vip", "key-account"' },
    tenureDays: { type: INT, doc: 'days since the debtor became a customer (first seen by Clearhub)' },
    language: { type: STRING, doc: 'two-letter language code, e.g. "de"' },
    country: { type: STRING, doc: 'ISO 3166 country code, "" when unknown' },
    channels: {
      type: listOf(oneOf(CHANNEL_NAMES)),
      doc: 'channels the debtor can be reached on (email needs an address, sms a phone number and no "no-sms" tag)',
    },
    consent: {
      type: listOf(oneOf(CHANNEL_NAMES)),
      doc: 'channels the debtor consented to (tags "consent:sms", "consent:email", …)',
    },
  },
  item: {
    amount: { type: MONEY, doc: 'the open amount' },
    daysPastDue: { type: INT, doc: 'days since the due date; negative before it' },
    level: { type: INT, doc: 'the dunning level the item has reached (0: never dunned)' },
    contract: { type: STRING, doc: 'the contract (SIM, line, subscription) the item belongs to, "" when none' },
    source: { type: STRING, doc: 'the subledger the item came from' },
    dueDate: { type: DATE, doc: 'the due date' },
    documentDate: { type: DATE, doc: 'the document (invoice) date; the due date when the source has none' },
  },
  account: {
    totalOverdue: { type: MONEY, doc: "the debtor's open amount past its due dates" },
    totalOpen: { type: MONEY, doc: "the debtor's whole open amount" },
    oldestDaysPastDue: { type: INT, doc: 'days past due of the oldest open item' },
    itemCount: { type: INT, doc: 'number of open items' },
    overdueCount: { type: INT, doc: 'number of open items past their due date' },
    maxLevel: { type: INT, doc: 'the highest dunning level among the open items' },
  },
  history: {
    paidOnTimeShare: { type: RATIO, doc: 'share of paid items paid by their due date (100% when nothing was paid)' },
    lastPaymentDays: { type: INT, doc: 'days since the last payment; 99999 when the debtor never paid' },
    brokenPromises: { type: INT, doc: 'promises to pay and payment plans the debtor broke' },
    returnedDebits: { type: INT, doc: 'direct debits returned (SEPA R-transactions)' },
    lastContactDays: { type: INT, doc: 'days since the last notice; 99999 when never contacted' },
  },
  calendar: {
    weekday: { type: oneOf(WEEKDAYS), doc: 'weekday of the run date: "Mon" … "Sun"' },
    month: { type: INT, doc: 'month of the run date, 1–12' },
    day: { type: INT, doc: 'day of the month of the run date' },
    isHoliday: { type: BOOL, doc: 'the run date is a public holiday' },
    isBusinessDay: { type: BOOL, doc: 'the run date is a business day (not a weekend day or holiday)' },
    today: { type: DATE, doc: 'the run date' },
  },
};

export interface DebtorFacts {
  type: 'B2B' | 'B2C';
  tags: string[];
  tenureDays: number;
  language: string;
  country: string;
  channels: string[];
  consent: string[];
}

export interface ItemFacts {
  amount: number;
  daysPastDue: number;
  level: number;
  contract: string;
  source: string;
  dueDate: number;
  documentDate: number;
}

export interface AccountFacts {
  totalOverdue: number;
  totalOpen: number;
  oldestDaysPastDue: number;
  itemCount: number;
  overdueCount: number;
  maxLevel: number;
}

export interface HistoryFacts {
  paidOnTimeShare: number;
  lastPaymentDays: number;
  brokenPromises: number;
  returnedDebits: number;
  lastContactDays: number;
}

export interface CalendarFacts {
  weekday: Weekday;
  month: number;
  day: number;
  isHoliday: boolean;
  isBusinessDay: boolean;
  today: number;
}

/** What a compiled condition is called with. Segment conditions run without an item (`item` is not read). */
export interface Facts {
  debtor: DebtorFacts;
  item: ItemFacts;
  account: AccountFacts;
  history: HistoryFacts;
  calendar: CalendarFacts;
}

/** "Never" for day counts (last payment, last contact): larger than any real distance, still an integer. */
export const NEVER_DAYS = 99_999;

const DAY_MS = 86_400_000;
const dayCache = new Map<string, number>();

/** `YYYY-MM-DD` → days since 1970-01-01 (UTC calendar arithmetic). Memoised: a ledger has few distinct dates. */
export function dayNumber(date: string): number {
  let n = dayCache.get(date);
  if (n === undefined) {
    n = Math.round(Date.parse(`${date}T00:00:00Z`) / DAY_MS);
    if (dayCache.size > 100_000) dayCache.clear();
    dayCache.set(date, n);
  }
  return n;
}
/** Days since 1970-01-01 → `YYYY-MM-DD`. */
export function dateOfDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function describeType(type: RuleType): string {
  switch (type.t) {
    case 'int':
      return 'a whole number';
    case 'money':
      return 'an amount of money';
    case 'ratio':
      return 'a share (e.g. 90% or 0.9)';
    case 'bool':
      return 'true or false';
    case 'date':
      return 'a date';
    case 'string':
      return type.values ? `text (one of ${type.values.map((v) => `"${v}"`).join(', ')})` : 'text';
    case 'list':
      return `a list of ${type.of.t === 'string' && !type.of.values ? 'texts' : `values (${describeType(type.of)})`}`;
  }
}

import type { ColumnType, Generated } from 'kysely';

/** Tables of cash application (statement import, matching, returns); created by migrations/0003-cash.ts. */

type JsonDefault<T> = ColumnType<T, string | undefined, string>;
type Json<T> = ColumnType<T, string, string>;

/** How a payment is spread over a debtor's items (see src/cash/allocation-rules.ts). */
export type AllocationOrder = 'oldest-first' | 'fees-last' | 'fees-first';

export interface CashSettingsTable {
  tenant_id: string;
  /** Entries matched with at least this confidence (0..1) are allocated without review. */
  auto_threshold: Generated<number>;
  allocation_order: Generated<AllocationOrder>;
  /** A regular expression on document numbers that marks fee and interest items (besides Clearhub's own fee items). */
  fee_document_pattern: string | null;
  /** What a payment above what it was meant for does: stay as credit, or pay the debtor's other open items. */
  overpayment: Generated<'credit' | 'other-items'>;
  /** Add the cost of a SEPA return to the debtor's account as an item of its own. */
  return_fee_item: Generated<boolean>;
  /** The return fee when the statement carries no charges for the return. */
  return_fee_minor: Generated<number>;
  updated_at: Generated<string>;
}

export interface PaymentReferencesTable {
  tenant_id: string;
  /** ISO 11649 RF creditor reference, without spaces. */
  reference: string;
  debtor_id: string;
  /** The items the reference was issued for (a checkout, a notice); null for the debtor's account as a whole. */
  item_ids: Json<string[]> | null;
  payment_id: string | null;
  created_at: Generated<string>;
}

export interface DebtorAccountsTable {
  tenant_id: string;
  iban: string;
  debtor_id: string;
  /** Where we learnt it: a SEPA mandate, a payment matched to the debtor, or a person. */
  origin: 'mandate' | 'payment' | 'manual';
  first_seen_at: Generated<string>;
  last_seen_at: Generated<string>;
}

export interface StatementsTable {
  tenant_id: string;
  statement_id: string;
  account: string;
  /** The bank's statement id with its opening and closing dates: a re-imported statement is recognised by it. */
  statement_key: string;
  bank_statement_id: string | null;
  format: string;
  currency: string;
  file_name: string | null;
  opening_minor: number | null;
  opening_date: string | null;
  closing_minor: number | null;
  closing_date: string | null;
  entry_count: number;
  imported_at: Generated<string>;
}

export type EntryKind = 'credit' | 'debit' | 'return';
export type EntryStatus = 'allocated' | 'suggested' | 'unmatched' | 'returned' | 'ignored';
export type MatchedBy = 'reference' | 'document' | 'iban' | 'amount' | 'collection' | 'manual' | 'return';

/** One ranked proposal of the matcher for an entry it did not allocate itself. */
export interface Suggestion {
  debtorId: string;
  debtorName: string | null;
  itemIds: string[];
  documentNumbers: string[];
  /** What the items would take of the entry, in minor units. */
  amountMinor: number;
  confidence: number;
  reasons: string[];
}

export interface StatementEntriesTable {
  tenant_id: string;
  entry_id: string;
  statement_id: string;
  account: string;
  /** Business identity of the entry within the account (the bank's reference, else statement and position). */
  entry_key: string;
  position: number;
  currency: string;
  amount_minor: number;
  booking_date: string;
  value_date: string | null;
  bank_reference: string | null;
  end_to_end_id: string | null;
  mandate_id: string | null;
  creditor_reference: string | null;
  remittance: string | null;
  counterparty_name: string | null;
  counterparty_iban: string | null;
  counterparty_bic: string | null;
  return_reason: string | null;
  charges_minor: number | null;
  kind: EntryKind;
  status: EntryStatus;
  confidence: number | null;
  matched_by: MatchedBy | null;
  debtor_id: string | null;
  payment_id: string | null;
  suggestions: JsonDefault<Suggestion[]>;
  note: string | null;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

export interface CashTables {
  cash_settings: CashSettingsTable;
  payment_references: PaymentReferencesTable;
  debtor_accounts: DebtorAccountsTable;
  statements: StatementsTable;
  statement_entries: StatementEntriesTable;
}

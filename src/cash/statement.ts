/**
 * One statement model for every bank format (camt.052/053/054, MT940/942). Amounts are signed integer minor units:
 * credits positive, debits negative. Dates are YYYY-MM-DD.
 */
export interface Balance {
  amountMinor: number;
  date: string;
}

export interface Counterparty {
  name?: string;
  iban?: string;
  bic?: string;
}

export interface StatementEntry {
  amountMinor: number;
  bookingDate: string;
  valueDate?: string;
  /** The bank's reference (camt AcctSvcrRef / MT940 bank reference). */
  reference?: string;
  endToEndId?: string;
  mandateId?: string;
  /** ISO 11649 creditor reference when the remittance carries one. */
  creditorReference?: string;
  /** Unstructured remittance text (camt Ustrd / MT940 :86: purpose), joined. */
  remittance?: string;
  counterparty?: Counterparty;
  /** SEPA return reason (AC04, AM04, MD06, MS02, …) for R-transactions. */
  returnReason?: string;
  /** Charges the bank took on this entry (camt `Chrgs`; MT940 the difference to `OAMT+`), positive minor units. */
  chargesMinor?: number;
  /** The amount of the original transaction of a return (camt `AmtDtls/InstdAmt`; MT940 `OAMT+`), positive. */
  originalAmountMinor?: number;
  /**
   * The single transactions of a batch entry (one `TxDtls` each), when it has more than one: a collection batch is
   * booked as one entry, and its transactions are matched to the collections by end-to-end id.
   */
  transactions?: { amountMinor?: number; endToEndId?: string; mandateId?: string }[];
  /** Structured German :86: subfields (GVC, ?20–?29, ?32/?33, ?60–?63 …) when present. */
  details?: Record<string, string>;
}

export interface Statement {
  /** IBAN or account number. */
  account: string;
  currency: string;
  /** Statement id / sequence (camt Id, MT940 :20:/:28C:), to name it in errors. */
  id?: string;
  openingBalance?: Balance;
  closingBalance?: Balance;
  entries: StatementEntry[];
}

export type StatementFormat = 'camt.052' | 'camt.053' | 'camt.054' | 'mt940' | 'mt942';

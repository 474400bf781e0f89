/**
 * Business identities of what a statement import records (DESIGN §3: idempotency keys from business ids, never from
 * hashes of payloads): a statement within its account, an entry within its account, and the payment an entry books.
 */
import type { EntryKind } from '../store/schema-cash';
import { normaliseIban } from './remittance';
import type { Statement, StatementEntry, StatementFormat } from './statement';

/**
 * The identity of each entry within its account: booking date, currency and amount, and the bank's reference (else the
 * payer's end-to-end id, mandate or IBAN). The currency because one IBAN may hold several: its EUR and USD statements
 * (MT940 `:25:` with a currency suffix, camt `Acct/Ccy`) are the same account, and an entry of one is no entry of the
 * other. A camt.052 intraday report and the camt.053 of the same day give the same keys, so
 * importing both books each entry once. Two entries with the same identity in one statement (two equal transfers on
 * one day without references) are numbered `#2`, `#3`, … in statement order.
 */
export function entryKeys(statement: Statement): string[] {
  const seen = new Map<string, number>();
  return statement.entries.map((e) => {
    const id = e.reference ?? e.endToEndId ?? e.mandateId ?? normaliseIban(e.counterparty?.iban) ?? '-';
    const base = `${e.bookingDate}/${statement.currency}/${e.amountMinor}/${id}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}#${n}`;
  });
}

/**
 * The identity of a statement within its account (format, the bank's id, currency, first and last day): a re-import
 * finds it. (Banks give the statements of every currency of an account the same id, e.g. MT940 `:20:STARTUMSE`.)
 */
export function statementKeyOf(s: Statement, format: StatementFormat): string {
  const first = s.entries[0]?.bookingDate ?? '';
  const last = s.entries.at(-1)?.bookingDate ?? '';
  return [format, s.id ?? '-', s.currency, s.openingBalance?.date ?? first, s.closingBalance?.date ?? last].join('|');
}

/** Idempotency key (and merchant reference) of the payment an entry books. */
export const paymentKeyOf = (account: string, entryKey: string) => `statement:${account}:${entryKey}`;

/** Money in, money out, or money that came back (an R-transaction carries a return reason). */
export function kindOf(e: StatementEntry): EntryKind {
  if (e.returnReason) return 'return';
  return e.amountMinor > 0 ? 'credit' : 'debit';
}

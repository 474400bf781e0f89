import { IntegrationError } from '../../domain/errors';

/**
 * The store of a provider whose payments are payables waiting for money (bank transfer, invoice): records keyed by
 * their RF reference, found by our payment id too. The database implementation is `gateway/provider-records.ts`.
 */
export interface PayableRecord {
  reference: string;
  paymentId: string;
}

export interface PayableStore<R extends PayableRecord> {
  get(reference: string): Promise<R | undefined>;
  getByPaymentId(paymentId: string): Promise<R | undefined>;
  save(record: R): Promise<void>;
}

/** For tests and a single process; state is lost with the process. */
export class InMemoryPayableStore<R extends PayableRecord> implements PayableStore<R> {
  readonly #byReference = new Map<string, R>();
  readonly #byPayment = new Map<string, string>();
  async get(reference: string) {
    const r = this.#byReference.get(reference);
    return r && structuredClone(r);
  }
  async getByPaymentId(paymentId: string) {
    const ref = this.#byPayment.get(paymentId);
    return ref === undefined ? undefined : this.get(ref);
  }
  async save(record: R) {
    this.#byReference.set(record.reference, structuredClone(record));
    this.#byPayment.set(record.paymentId, record.reference);
  }
}

/** What a payable needs for a credit to be booked on it. */
export interface CreditedPayable extends PayableRecord {
  amountMinor: number;
  currency: string;
  status: string;
  receivedMinor: number;
  /** Statement entries already counted (their ids), so a statement read twice counts once. */
  creditEntries: string[];
}

/**
 * Books a credit from a bank statement on a payable: once per statement entry, in its currency, only while the payable
 * can take money (`acceptsMoney`); fully paid, it becomes `paid`.
 * @returns whether the record changed (and must be saved).
 * @throws IntegrationError naming the field (currency, amountMinor, providerReference) when the credit cannot be booked
 */
export function bookCredit(
  r: CreditedPayable,
  credit: { entryId: string; amountMinor: number; currency: string },
  o: { what: string; acceptsMoney: boolean },
): boolean {
  if (credit.currency !== r.currency) throw new IntegrationError(`the ${o.what} is in ${r.currency}`, 'currency');
  if (!Number.isSafeInteger(credit.amountMinor) || credit.amountMinor < 1) {
    throw new IntegrationError('must be a positive amount in minor units', 'amountMinor');
  }
  if (!o.acceptsMoney) {
    throw new IntegrationError(`the ${o.what} is ${r.status}; allocate or pay back the credit`, 'providerReference');
  }
  if (r.creditEntries.includes(credit.entryId)) return false;
  r.creditEntries.push(credit.entryId);
  r.receivedMinor += credit.amountMinor;
  if (r.receivedMinor >= r.amountMinor) r.status = 'paid';
  return true;
}

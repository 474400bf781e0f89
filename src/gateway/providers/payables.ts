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

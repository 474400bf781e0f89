import { IntegrationError } from '../../domain/errors';
import { type PaymentProvider, type ProviderCapabilities, type ProviderPayment, WebhookRejected } from './types';

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

/** What our payable providers can do: the payer pushes the money, and statements (not webhooks) tell us it came. */
export const PAYABLE_CAPABILITIES: ProviderCapabilities = {
  partialCapture: false,
  partialRefund: false,
  multipleCaptures: false,
  manualCapture: false,
  recurring: false,
  webhooks: false,
  statusSync: true,
};

/**
 * The payable a `create` made before for this payment, which a retry answers with; none for a new payment.
 * @throws IntegrationError on idempotencyKey when the payment was created under another key
 */
export async function createdBefore<R extends PayableRecord & { idempotencyKey: string }>(
  store: PayableStore<R>,
  input: { paymentId: string; idempotencyKey: string },
): Promise<R | undefined> {
  const existing = await store.getByPaymentId(input.paymentId);
  if (existing && existing.idempotencyKey !== input.idempotencyKey) {
    throw new IntegrationError(
      `payment ${input.paymentId} was created with a different idempotency key`,
      'idempotencyKey',
    );
  }
  return existing;
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

/** How one payable provider words and decides the flows {@link payableFlows} serves. */
export interface PayableFlowOptions<R extends CreditedPayable> {
  /** `bank-transfer`: named in the webhook refusal. */
  provider: string;
  store: PayableStore<R>;
  toPayment(r: R): ProviderPayment;
  /** What a payment is called when it is not found, e.g. `bank transfer`: `no bank transfer "RF…"`. */
  missing: string;
  /** What a payment is called when a credit cannot be booked, e.g. `payment`: `the payment is canceled; …`. */
  credited: string;
  /** The whole message of `capture`, which never works: the payer pushes the money. */
  capture: string;
  /** Who is paid back, e.g. `a bank transfer`: `a bank transfer is paid back by a payout …`. */
  refunded: string;
  /** Where the money is found instead of webhooks, e.g. `transfers are found in bank statements`. */
  found: string;
  /** Statuses `cancel` moves to `canceled` (and saves) when no money has arrived; in others it answers as is. */
  cancels: readonly R['status'][];
  /** Statuses in which a credit is booked; in others `recordTransfer` refuses it. */
  acceptsMoney: readonly R['status'][];
}

export type PayableFlows = Pick<
  PaymentProvider,
  'capture' | 'complete' | 'retrieve' | 'cancel' | 'refund' | 'parseWebhook'
> & {
  recordTransfer(
    reference: string,
    credit: { entryId: string; amountMinor: number; currency: string },
  ): Promise<ProviderPayment>;
};

/**
 * The flows of a provider whose payments are payables the payer pushes money to: nothing to capture or complete, no
 * refund (cash application pays back from the statement), no webhooks (credits come from statements through
 * `recordTransfer`), cancel only before money arrived.
 */
export function payableFlows<R extends CreditedPayable>(o: PayableFlowOptions<R>): PayableFlows {
  const { store, toPayment } = o;

  async function load(reference: string): Promise<R> {
    const r = await store.get(reference);
    if (!r) throw new IntegrationError(`no ${o.missing} "${reference}"`, 'providerReference');
    return r;
  }
  async function retrieve(reference: string): Promise<ProviderPayment> {
    return toPayment(await load(reference));
  }

  return {
    async capture() {
      throw new IntegrationError(o.capture, 'capture');
    },
    complete: retrieve,
    retrieve,
    async cancel(reference) {
      const r = await load(reference);
      if (r.status === 'paid' || r.receivedMinor > 0) {
        throw new IntegrationError('money has already arrived for it; refund instead', 'providerReference');
      }
      if (o.cancels.includes(r.status)) {
        r.status = 'canceled';
        await store.save(r);
      }
      return toPayment(r);
    },
    async refund() {
      throw new IntegrationError(
        `${o.refunded} is paid back by a payout to the payer's IBAN from the statement (cash application writes it as pain.001); this provider does not refund`,
        'refund',
      );
    },
    async parseWebhook() {
      throw new WebhookRejected(`${o.provider} has no webhooks: ${o.found}`, 'malformed');
    },
    async recordTransfer(reference, credit) {
      const r = await load(reference);
      const acceptsMoney = o.acceptsMoney.includes(r.status);
      if (bookCredit(r, credit, { what: o.credited, acceptsMoney })) await store.save(r);
      return toPayment(r);
    },
  };
}

import { IntegrationError } from '../../../domain/errors';
import type { PaymentState } from '../../../domain/types';
import {
  createdBefore,
  InMemoryPayableStore,
  PAYABLE_CAPABILITIES,
  type PayableStore,
  payableFlows,
} from '../payables';
import type { CreatePaymentInput, NextAction, PaymentProvider, ProviderPayment } from '../types';
import { type BankTransferConfig, type BankTransferConfigInput, parseBankTransferConfig } from './config';
import { creditorReference, giroCodePayload } from './transformers';

type BankInstructions = Extract<NextAction, { type: 'bank_instructions' }>;

/**
 * `awaiting` until the statement shows the transfer (in full: `paid`; in part it keeps waiting with `receivedMinor`),
 * `canceled` when the checkout withdrew the instructions before any money came.
 */
export type BankTransferStatus = 'awaiting' | 'paid' | 'canceled';

export interface BankTransferRecord {
  /** The RF creditor reference, also our `providerReference`: the key cash application matches a credit on. */
  reference: string;
  paymentId: string;
  idempotencyKey: string;
  amountMinor: number;
  currency: 'EUR';
  status: BankTransferStatus;
  receivedMinor: number;
  /** Statement entries already counted (their ids), so a statement read twice counts once. */
  creditEntries: string[];
  instructions: BankInstructions;
  createdAt: string;
}

/** Where the provider keeps its payments: in memory here, in the database through `gateway/provider-records.ts`. */
export type BankTransferStore = PayableStore<BankTransferRecord>;

export class InMemoryBankTransferStore extends InMemoryPayableStore<BankTransferRecord> {}

export interface BankTransferProviderOptions {
  config: BankTransferConfigInput;
  /** @defaultValue a new {@link InMemoryBankTransferStore} */
  store?: BankTransferStore;
  now?: () => Date;
}

export interface BankTransferProvider extends PaymentProvider {
  readonly name: 'bank-transfer';
  readonly config: BankTransferConfig;
  /**
   * Cash application calls this for a credit on the statement that carries the payment's RF reference. The payment is
   * `succeeded` once the credits reach its amount; an over-payment is the matcher's to allocate or pay back.
   */
  recordTransfer(
    reference: string,
    credit: { entryId: string; amountMinor: number; currency: string },
  ): Promise<ProviderPayment>;
}

function stateOf(r: BankTransferRecord): PaymentState {
  switch (r.status) {
    case 'awaiting':
      return 'pending';
    case 'paid':
      return 'succeeded';
    case 'canceled':
      return 'canceled';
    default: {
      const never: never = r.status;
      throw new Error(`unknown status ${String(never)}`);
    }
  }
}

function toPayment(r: BankTransferRecord): ProviderPayment {
  return {
    providerReference: r.reference,
    status: stateOf(r),
    providerStatus: r.status,
    amountMinor: r.amountMinor,
    currency: r.currency,
    capturedMinor: Math.min(r.receivedMinor, r.amountMinor),
    refundedMinor: 0,
    nextAction: r.status === 'awaiting' ? r.instructions : { type: 'none' },
  };
}

/**
 * The RF reference of a payment: from the payable's own reference when the checkout passes one
 * (`methodData.extra.payableReference`, e.g. the invoice number), otherwise from our payment id (its last 21 letters
 * and digits: the random part of the UUID).
 */
export function referenceFor(input: Pick<CreatePaymentInput, 'paymentId' | 'methodData'>): string {
  const payable = input.methodData?.extra?.payableReference;
  if (payable !== undefined) {
    if (typeof payable !== 'string')
      throw new IntegrationError('must be a string', 'methodData.extra.payableReference');
    try {
      return creditorReference(payable);
    } catch (err) {
      if (err instanceof IntegrationError) {
        throw new IntegrationError('must be 1 to 21 letters and digits', 'methodData.extra.payableReference');
      }
      throw err;
    }
  }
  const compact = input.paymentId.replace(/[^A-Za-z0-9]/g, '');
  if (compact.length === 0)
    throw new IntegrationError('has no letters or digits to build a reference from', 'paymentId');
  return creditorReference(compact.slice(-21));
}

/**
 * Bank transfer with a structured reference: `create` answers with the instructions (our account, the amount, an ISO
 * 11649 RF reference, the EPC QR payload) and the payment stays `pending` until cash application finds the credit.
 */
export function createBankTransferProvider(options: BankTransferProviderOptions): BankTransferProvider {
  const config = parseBankTransferConfig(options.config);
  const store = options.store ?? new InMemoryBankTransferStore();
  const clock = options.now ?? (() => new Date());

  const provider: BankTransferProvider = {
    name: 'bank-transfer',
    capabilities: PAYABLE_CAPABILITIES,
    config,

    async create(input) {
      if (input.currency !== 'EUR') {
        throw new IntegrationError('bank transfers with an EPC QR code are in EUR', 'currency');
      }
      const existing = await createdBefore(store, input);
      if (existing) return toPayment(existing);
      const reference = referenceFor(input);
      const other = await store.get(reference);
      if (other && other.status === 'awaiting') {
        throw new IntegrationError(
          `${reference} is already the reference of payment ${other.paymentId}, which awaits its transfer`,
          'methodData.extra.payableReference',
        );
      }
      const qrPayload = giroCodePayload({
        name: config.creditorName,
        iban: config.iban,
        ...(config.bic ? { bic: config.bic } : {}),
        amountMinor: input.amountMinor,
        currency: 'EUR',
        reference,
      });
      const record: BankTransferRecord = {
        reference,
        paymentId: input.paymentId,
        idempotencyKey: input.idempotencyKey,
        amountMinor: input.amountMinor,
        currency: 'EUR',
        status: 'awaiting',
        receivedMinor: 0,
        creditEntries: [],
        instructions: {
          type: 'bank_instructions',
          creditorName: config.creditorName,
          iban: config.iban,
          ...(config.bic ? { bic: config.bic } : {}),
          amountMinor: input.amountMinor,
          currency: 'EUR',
          reference,
          qrPayload,
        },
        createdAt: clock().toISOString(),
      };
      await store.save(record);
      return toPayment(record);
    },

    ...payableFlows({
      provider: 'bank-transfer',
      store,
      toPayment,
      missing: 'bank transfer',
      credited: 'payment',
      capture: 'the payer pushes a bank transfer; there is nothing to capture',
      refunded: 'a bank transfer',
      found: 'transfers are found in bank statements',
      // A canceled one again too (saved again): only money that has arrived stops a cancel.
      cancels: ['awaiting', 'canceled'],
      acceptsMoney: ['awaiting', 'paid'],
    }),
  };
  return provider;
}

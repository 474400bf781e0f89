import { IntegrationError } from '../../../domain/errors';
import { formatMoney } from '../../../domain/money';
import type { PaymentState } from '../../../domain/types';
import { creditorReference, groupInFours } from '../bank-transfer/transformers';
import {
  createdBefore,
  InMemoryPayableStore,
  PAYABLE_CAPABILITIES,
  type PayableStore,
  payableFlows,
} from '../payables';
import type { CreatePaymentInput, PaymentProvider, ProviderPayment } from '../types';
import { type InvoiceConfig, type InvoiceConfigInput, parseInvoiceConfig } from './config';

/** What the eligibility hook sees: enough to decide (amount, country, the debtor) before any payment exists. */
export interface InvoiceEligibilityContext {
  amountMinor: number;
  currency: string;
  country?: string;
  debtorId?: string;
  payer?: CreatePaymentInput['payer'];
  /** Set when `create` asks; absent when the checkout asks whether to offer the method at all. */
  paymentId?: string;
}

/**
 * Decides whether a debtor may pay on invoice (credit check, dunning status, limits). The checkout passes the real
 * rules; the provider asks it before offering (`isEligible`) and again in `create`.
 */
export type InvoiceEligibility = (ctx: InvoiceEligibilityContext) => boolean | Promise<boolean>;

/** `open` until paid, `paid`, `canceled`, or `declined` when the eligibility hook said no. */
export type InvoiceStatus = 'open' | 'paid' | 'canceled' | 'declined';

export interface InvoicePaymentRecord {
  /** The RF creditor reference printed on the invoice, also our `providerReference`. */
  reference: string;
  paymentId: string;
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  dueDate: string;
  note: string;
  status: InvoiceStatus;
  receivedMinor: number;
  creditEntries: string[];
  createdAt: string;
}

export type InvoiceStore = PayableStore<InvoicePaymentRecord>;

export class InMemoryInvoiceStore extends InMemoryPayableStore<InvoicePaymentRecord> {}

export interface InvoiceProviderOptions {
  config: InvoiceConfigInput;
  /** Required: without a rule nobody is offered pay on invoice. */
  eligible: InvoiceEligibility;
  store?: InvoiceStore;
  now?: () => Date;
}

export interface InvoiceProvider extends PaymentProvider {
  readonly name: 'invoice';
  readonly config: InvoiceConfig;
  /** Whether to offer pay on invoice to this debtor for this amount. */
  isEligible(ctx: InvoiceEligibilityContext): Promise<boolean>;
  /** Cash application calls this for a credit with the invoice's reference; a statement read twice counts once. */
  recordTransfer(
    reference: string,
    credit: { entryId: string; amountMinor: number; currency: string },
  ): Promise<ProviderPayment>;
}

function stateOf(status: InvoiceStatus): PaymentState {
  switch (status) {
    case 'open':
      return 'pending';
    case 'paid':
      return 'succeeded';
    case 'canceled':
      return 'canceled';
    case 'declined':
      return 'failed';
    default: {
      const never: never = status;
      throw new Error(`unknown status ${String(never)}`);
    }
  }
}

function toPayment(r: InvoicePaymentRecord): ProviderPayment {
  return {
    providerReference: r.reference,
    status: stateOf(r.status),
    providerStatus: r.status,
    amountMinor: r.amountMinor,
    currency: r.currency,
    capturedMinor: Math.min(r.receivedMinor, r.amountMinor),
    refundedMinor: 0,
    nextAction: r.status === 'open' ? { type: 'await', dueDate: r.dueDate, note: r.note } : { type: 'none' },
    ...(r.status === 'declined'
      ? {
          decline: {
            code: 'not_supported' as const,
            providerCode: 'not_eligible',
            message: 'pay on invoice is not available for this payment',
          },
        }
      : {}),
  };
}

function referenceOf(payable: string): string {
  try {
    return creditorReference(payable);
  } catch (err) {
    if (err instanceof IntegrationError) {
      throw new IntegrationError('must be 1 to 21 letters and digits', 'methodData.extra.payableReference');
    }
    throw err;
  }
}

function localDate(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/**
 * Pay on invoice: `create` asks the eligibility hook, then answers `pending` with the due date (today + the payment
 * term) and what to transfer where; cash application marks it paid from the statement. A refusal is a decline
 * (`failed`, `not_supported`), not an exception.
 */
export function createInvoiceProvider(options: InvoiceProviderOptions): InvoiceProvider {
  const config = parseInvoiceConfig(options.config);
  const store = options.store ?? new InMemoryInvoiceStore();
  const clock = options.now ?? (() => new Date());
  if (typeof options.eligible !== 'function') {
    throw new IntegrationError('pass the rule that decides who may pay on invoice', 'eligible');
  }

  function noteFor(locale: string | undefined, amount: string, dueDate: string, reference: string): string {
    const german = (locale ?? 'de-DE').toLowerCase().startsWith('de');
    const date = new Intl.DateTimeFormat(german ? 'de-DE' : 'en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(
      new Date(`${dueDate}T00:00:00Z`),
    );
    const account = `${config.creditorName}, IBAN ${groupInFours(config.iban)}${config.bic ? `, BIC ${config.bic}` : ''}`;
    return german
      ? `Bitte überweisen Sie ${amount} bis zum ${date} an ${account}, Verwendungszweck ${groupInFours(reference)}.`
      : `Please transfer ${amount} by ${date} to ${account}, reference ${groupInFours(reference)}.`;
  }

  const provider: InvoiceProvider = {
    name: 'invoice',
    capabilities: PAYABLE_CAPABILITIES,
    config,

    async isEligible(ctx) {
      return (await options.eligible(ctx)) === true;
    },

    async create(input) {
      if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor < 1) {
        throw new IntegrationError('must be a positive amount in minor units', 'amountMinor');
      }
      const existing = await createdBefore(store, input);
      if (existing) return toPayment(existing);
      const payable = input.methodData?.extra?.payableReference;
      if (payable !== undefined && (typeof payable !== 'string' || !/^[A-Za-z0-9\s-]{1,40}$/.test(payable))) {
        throw new IntegrationError('must be 1 to 21 letters and digits', 'methodData.extra.payableReference');
      }
      const now = clock();
      const eligible = await provider.isEligible({
        amountMinor: input.amountMinor,
        currency: input.currency,
        paymentId: input.paymentId,
        ...(input.country ? { country: input.country } : {}),
        ...(input.payer?.debtorId ? { debtorId: input.payer.debtorId } : {}),
        ...(input.payer ? { payer: input.payer } : {}),
      });
      // A declined payment gets no RF reference: nobody is asked to pay it, and the reference stays free.
      const reference = eligible
        ? referenceOf(payable ?? input.paymentId.replace(/[^A-Za-z0-9]/g, '').slice(-21))
        : `declined-${input.paymentId}`;
      const other = eligible ? await store.get(reference) : undefined;
      if (other && other.status === 'open') {
        throw new IntegrationError(
          `${reference} is already the reference of open invoice payment ${other.paymentId}`,
          'methodData.extra.payableReference',
        );
      }
      const today = localDate(now, config.timeZone);
      const due = new Date(Date.parse(`${today}T00:00:00Z`) + config.paymentTermDays * 86_400_000)
        .toISOString()
        .slice(0, 10);
      const record: InvoicePaymentRecord = {
        reference,
        paymentId: input.paymentId,
        idempotencyKey: input.idempotencyKey,
        amountMinor: input.amountMinor,
        currency: input.currency,
        dueDate: due,
        note: noteFor(
          input.locale,
          formatMoney({ amountMinor: input.amountMinor, currency: input.currency }, input.locale ?? 'de-DE'),
          due,
          reference,
        ),
        status: eligible ? 'open' : 'declined',
        receivedMinor: 0,
        creditEntries: [],
        createdAt: now.toISOString(),
      };
      await store.save(record);
      return toPayment(record);
    },

    ...payableFlows({
      provider: 'invoice',
      store,
      toPayment,
      missing: 'invoice payment',
      credited: 'invoice payment',
      capture: 'an invoice is paid by the payer; there is nothing to capture',
      refunded: 'an invoice',
      found: 'payments are found in bank statements',
      cancels: ['open'],
      acceptsMoney: ['open', 'paid'],
    }),
  };
  return provider;
}

/**
 * The one interface every payment provider implements (DESIGN §6), SDK-backed (Stripe, Adyen, PayPal) or ours
 * (SEPA direct debit, bank transfer, invoice). The router, the checkout and the webhook pipeline speak only this.
 *
 * Rules every provider keeps (DESIGN §3):
 * - Amounts are integer minor units; a provider converts at its boundary once and checks the echo
 *   (`assertEcho`): an echoed amount or currency that differs is an IntegrityError.
 * - Every mutating call takes the caller's idempotency key (built from business ids) and forwards it to the PSP
 *   (Stripe `Idempotency-Key`, Adyen `Idempotency-Key`, PayPal `PayPal-Request-Id`). A repeat with the same key
 *   returns the first result and never moves money twice.
 * - A decline is a result (`status: 'failed'` with `decline`), not an exception. Exceptions are the error tiers:
 *   `IntegrationError` (bad credentials or request: say which), `ConnectorError` (transport, 5xx, timeout; when the
 *   PSP may have acted, `indeterminate: true` so the caller syncs the status or waits for the webhook; never failed).
 * - Provider statuses map to our `PaymentState` through an exhaustive switch; nothing falls into a default.
 * - Secrets (API keys, webhook secrets) never appear in errors or logs.
 */
import type { PaymentState } from '../../domain/types';

export type ProviderName = 'stripe' | 'adyen' | 'paypal' | 'sepa-direct-debit' | 'bank-transfer' | 'invoice';

/** Closed set of unified decline codes (DESIGN §3); each provider maps its own codes onto these. */
export const DECLINE_CODES = [
  'insufficient_funds',
  'card_declined',
  'expired_card',
  'incorrect_cvc',
  'fraud_suspected',
  'authentication_failed',
  'limit_exceeded',
  'invalid_account',
  'not_supported',
  'canceled_by_shopper',
  'processing_error',
  'other',
] as const;
export type DeclineCode = (typeof DECLINE_CODES)[number];

export interface Decline {
  code: DeclineCode;
  /** The provider's own code or reason, verbatim (e.g. Stripe `insufficient_funds`, Adyen refusalReasonCode `5`). */
  providerCode: string;
  message: string;
}

/** What the payer has to do next; the checkout API returns it as is. */
export type NextAction =
  | { type: 'none' }
  /** Send the payer's browser here (3-D Secure, PayPal approval, iDEAL, Klarna …). */
  | { type: 'redirect'; url: string }
  /** Confirm in the browser with the PSP's own JS (Stripe Elements, Adyen Drop-in); no card data touches us. */
  | { type: 'client_secret'; clientSecret: string; publishableKey?: string }
  /** Push payment: transfer this amount with this reference (bank transfer, the RF reference and a GiroCode). */
  | {
      type: 'bank_instructions';
      creditorName: string;
      iban: string;
      bic?: string;
      amountMinor: number;
      currency: string;
      reference: string;
      /** EPC069-12 payload (GiroCode) the page renders as a QR code. */
      qrPayload: string;
    }
  /** Nothing to do now; the money comes later (SEPA collection after pre-notification, invoice). */
  | { type: 'await'; dueDate?: string; note?: string };

/** The payer's means, as the checkout hands it over. Never raw card numbers: tokens or PSP test handles only. */
export interface PaymentMethodData {
  /** PSP token or test handle: Stripe `pm_card_visa`, Adyen encrypted-card test values, a PayPal vault id. */
  token?: string;
  /** SEPA direct debit: the payer's IBAN and name (the mandate is created from them). */
  iban?: string;
  accountHolder?: string;
  /** A stored mandate or recurring reference for a repeat payment. */
  mandateId?: string;
  /** Provider-specific extra fields, passed through as the provider documents them. */
  extra?: Record<string, unknown>;
}

export interface CreatePaymentInput {
  /** Ours; the provider sends it as the merchant reference so webhooks and status syncs find the payment. */
  paymentId: string;
  /** `payment:<paymentId>:create`. */
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  /** Canonical method id (catalogue), e.g. `card`, `paypal`, `ideal`. */
  method: string;
  /** The provider's type string for the method, from the catalogue row (e.g. Stripe `card`, Adyen `scheme`). */
  providerType: string;
  /** `automatic` captures at once; `manual` stops at `authorized` for a later capture. */
  capture: 'automatic' | 'manual';
  /** Where the payer's browser returns after a redirect; the provider appends its own parameters. */
  returnUrl: string;
  country?: string;
  /** BCP 47, e.g. `de-DE`. */
  locale?: string;
  description?: string;
  payer?: { debtorId?: string; name?: string; email?: string };
  methodData?: PaymentMethodData;
  /** Keep the means for later payments (card on file, PayPal vault, SEPA mandate) where the provider offers it. */
  recurring?: 'first' | 'subsequent';
}

/** The provider's view of a payment, normalised. */
export interface ProviderPayment {
  /** Theirs: Stripe PaymentIntent id, Adyen pspReference, PayPal order id, our mandate/collection id. */
  providerReference: string;
  status: PaymentState;
  /** The provider's status string, verbatim, for the record. */
  providerStatus: string;
  amountMinor: number;
  currency: string;
  capturedMinor: number;
  refundedMinor: number;
  nextAction: NextAction;
  decline?: Decline;
  /** Recurring reference the provider returned (Stripe payment method, Adyen recurringDetailReference, mandate id). */
  recurringReference?: string;
}

export interface CaptureInput {
  /** Omit for the whole authorised amount; less than that is a partial capture. */
  amountMinor?: number;
  currency: string;
  /** `payment:<paymentId>:capture:<n>`. */
  idempotencyKey: string;
  /** Our payment id; some PSPs want the merchant reference again. */
  paymentId: string;
}

export interface RefundInput {
  amountMinor: number;
  currency: string;
  /** `payment:<paymentId>:refund:<refundId>`. */
  idempotencyKey: string;
  paymentId: string;
  refundId: string;
  reason?: string;
}

export interface ProviderRefund {
  providerRefundReference: string;
  /** `pending` until the PSP confirms; webhooks move it on. */
  status: 'pending' | 'succeeded' | 'failed';
  amountMinor: number;
  currency: string;
}

/** A webhook request as it arrived: headers lower-cased, body untouched (signatures are over the raw bytes). */
export interface RawWebhook {
  headers: Record<string, string>;
  body: Buffer;
}

export const WEBHOOK_EVENT_TYPES = [
  'payment.authorized',
  'payment.succeeded',
  'payment.failed',
  'payment.canceled',
  'payment.expired',
  'payment.requires_action',
  'payment.pending',
  'payment.refunded',
  'payment.refund_failed',
  'payment.charged_back',
  'payment.chargeback_reversed',
  'payment.dispute_opened',
  'payment.dispute_closed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * One verified event out of a webhook delivery (Adyen batches several items into one request).
 * `payment.refunded` is one refund of `amountMinor` that went through (partial or the rest); the pipeline works out
 * partially_refunded vs refunded from the sum. `payment.succeeded` carries the captured amount.
 */
export interface WebhookEvent {
  /** Unique per provider; deliveries with the same id are the same event (de-duplication key). */
  eventId: string;
  type: WebhookEventType;
  providerReference: string;
  /** Our payment id, when the provider echoes the merchant reference. */
  paymentId?: string;
  /** For refunds, chargebacks and captures: the amount this event is about. */
  amountMinor?: number;
  currency?: string;
  /** When the provider says it happened (ISO 8601); orders out-of-order deliveries. */
  occurredAt: string;
  /** Decline details for `payment.failed`. */
  decline?: Decline;
  /** For refunds: our refund id when the provider echoes it. */
  refundId?: string;
  /** For refunds: the provider's id of the refund (Stripe `re_…`, Adyen modification pspReference, PayPal refund id). */
  providerRefundReference?: string;
}

/** Raised by `parseWebhook` for a delivery that must be rejected with 400 and change nothing. */
export class WebhookRejected extends Error {
  override readonly name = 'WebhookRejected';
  constructor(
    message: string,
    readonly reason: 'signature' | 'timestamp' | 'certificate' | 'malformed',
  ) {
    super(message);
  }
}

export interface ProviderCapabilities {
  partialCapture: boolean;
  partialRefund: boolean;
  /** Several partial captures of one authorisation. */
  multipleCaptures: boolean;
  manualCapture: boolean;
  recurring: boolean;
  webhooks: boolean;
  /**
   * `retrieve` reports refunds and captures. Adyen's Checkout API has no status read: its provider answers `retrieve`
   * from the last synchronous response and the outcome of captures and refunds arrives only by webhook.
   */
  statusSync: boolean;
}

export interface PaymentProvider {
  readonly name: ProviderName;
  readonly capabilities: ProviderCapabilities;
  create(input: CreatePaymentInput): Promise<ProviderPayment>;
  capture(providerReference: string, input: CaptureInput): Promise<ProviderPayment>;
  /**
   * Called when the payer is back from a redirect or a challenge, with the query parameters the provider appended to
   * the return URL. Providers that need a server call to finish make it here (Adyen `/payments/details` with
   * `redirectResult`; PayPal capture or authorize of an approved order, honouring `capture`); the others retrieve.
   * `idempotencyKey` is `payment:<paymentId>:complete`.
   */
  complete(
    providerReference: string,
    input: {
      paymentId: string;
      idempotencyKey: string;
      returnParams: Record<string, string>;
      capture: 'automatic' | 'manual';
    },
  ): Promise<ProviderPayment>;
  cancel(providerReference: string, input: { idempotencyKey: string; paymentId: string }): Promise<ProviderPayment>;
  refund(providerReference: string, input: RefundInput): Promise<ProviderRefund>;
  /** Status sync: asks the provider what it knows now. */
  retrieve(providerReference: string): Promise<ProviderPayment>;
  /**
   * Verifies a delivery with the provider's real scheme and returns its events. Throws `WebhookRejected` for a bad
   * signature, an old timestamp, a certificate host off the allow-list or a body that is not the provider's format.
   */
  parseWebhook(raw: RawWebhook): Promise<WebhookEvent[]>;
  /** What to answer a verified delivery with (Adyen's `[accepted]`); default 200 with `{"received":true}`. */
  webhookAck?(): { status: number; contentType: string; body: string };
  close?(): Promise<void>;
}

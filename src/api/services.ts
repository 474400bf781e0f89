import type { SmsReceiptEndpoint } from '../channels/sms/receipts';
import type { GatewayContext } from '../gateway/checkout';
import type { RecordPaymentInput, RecordPaymentResult } from '../gateway/payments';
import type { QueueDriver } from '../queue/types';
/**
 * What the HTTP API calls. The API parses and formats; the services decide. `serve` wires the real implementations
 * (`recordPayment` from gateway/payments.ts); tests may wire others.
 */
export interface ApiServices {
  /**
   * Records a payment made outside the gateway (shop counter, cash desk) and allocates it to open items.
   *
   * Throws `IntegrationError` when the input cannot be recorded (answered 422 with its field), or with
   * `details.conflict === true` when the idempotency key was used for a different payment (answered 409).
   */
  recordPayment(input: RecordPaymentRequest): Promise<RecordPaymentOutcome>;
  /**
   * Upserts records a push source sends, through that source's mapping (`POST /v1/items`). Rejected records are
   * quarantined and reported by position. Optional: without it the route answers 501.
   */
  pushItems?(input: { tenantId: string; source: string; records: Record<string, string>[] }): Promise<PushItemsOutcome>;
  /**
   * The payment gateway: checkout sessions, payments, provider webhooks. Optional: without it those routes answer 501.
   * With `queue`, webhook events are processed by workers; without it, in the request.
   */
  gateway?: {
    ctx: GatewayContext;
    queue?: QueueDriver;
    /** The tenant whose provider account sent a webhook to `/v1/webhooks/{provider}` (one tenant per provider). */
    webhookTenant(provider: string): string;
  };
  /**
   * The tenant's SMS receipt endpoint (`POST /v1/channels/sms/receipts/{tenant}`): its provider and the URL the
   * provider was given. Undefined for a tenant without an SMS channel or without `gateway.publicUrl`.
   */
  smsReceipts?(tenantId: string): SmsReceiptEndpoint | undefined;
}

export interface PushItemsOutcome {
  inserted: number;
  updated: number;
  unchanged: number;
  quarantined: number;
  rejected: { index: number; reason: string }[];
}

export const PAYMENT_METHODS = ['cash', 'card_present', 'bank_transfer', 'cheque', 'other'] as const;
export type CounterPaymentMethod = (typeof PAYMENT_METHODS)[number];

/** What the API hands the payment service: the gateway's input with the counter methods the API accepts. */
export type RecordPaymentRequest = RecordPaymentInput & { method: CounterPaymentMethod };

export type RecordPaymentOutcome = RecordPaymentResult;

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
}

export const PAYMENT_METHODS = ['cash', 'card_present', 'bank_transfer', 'cheque', 'other'] as const;
export type CounterPaymentMethod = (typeof PAYMENT_METHODS)[number];

export interface RecordPaymentRequest {
  tenantId: string;
  /** The client's `Idempotency-Key` header: a repeat with the same body returns the first result. */
  idempotencyKey: string;
  /** Our debtor id; or `externalId` with `source`. */
  debtorId?: string;
  externalId?: string;
  source?: string;
  /** Restricts allocation to these items. */
  itemIds?: string[];
  amountMinor: number;
  currency: string;
  method: CounterPaymentMethod;
  /** The merchant reference (receipt number). */
  reference?: string;
  /** ISO 8601 date-time. */
  receivedAt?: string;
}

export interface RecordPaymentOutcome {
  payment: { paymentId: string; state: string; amountMinor: number; currency: string; allocatedMinor: number };
  allocations: { itemId: string; documentNumber: string; amountMinor: number; cleared: boolean }[];
  /** True when the idempotency key was seen before and this is the first result again. */
  replayed: boolean;
}

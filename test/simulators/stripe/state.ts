/**
 * The Stripe simulator's bookkeeping: PaymentIntents, charges, refunds and disputes as Stripe keeps them, the test
 * payment methods that decide an outcome, and the events each change produces. No HTTP here (see server.ts).
 *
 * Behaviour follows Stripe's API reference for the version the SDK pins; where Stripe documents an effect only in
 * prose it is noted at the spot (e.g. a partial capture books the uncaptured rest as refunded on the charge).
 */
import { randomBytes } from 'node:crypto';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export function stripeId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return `${prefix}_${s}`;
}
export const nowSec = (): number => Math.floor(Date.now() / 1000);

/** An error answer in Stripe's shape; `status` 402 for card errors, 400/404 for invalid requests. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: {
      type: 'invalid_request_error' | 'card_error' | 'api_error' | 'idempotency_error';
      message: string;
      code?: string;
      param?: string;
      decline_code?: string;
      charge?: string;
      payment_intent?: JsonObject;
    },
    /** Whether an idempotent replay must return this answer (the request got as far as acting). */
    readonly saveable = false,
    /** Events the failed request still produced (a decline: `charge.failed`, `payment_intent.payment_failed`). */
    readonly events: EmittedEvent[] = [],
  ) {
    super(body.message);
  }
}

export const invalid = (message: string, param?: string, code?: string, status = 400): ApiError =>
  new ApiError(status, {
    type: 'invalid_request_error',
    message,
    ...(code ? { code } : {}),
    ...(param ? { param } : {}),
  });

// ---- test payment methods ----------------------------------------------------------------------------------------

export type Outcome =
  | { kind: 'succeed' }
  | { kind: 'decline'; code: string; declineCode?: string; message: string }
  | { kind: 'challenge' }
  | { kind: 'dispute' };

interface TestMethod {
  brand: string;
  last4: string;
  outcome: Outcome;
}

const ok = (brand: string, last4: string): TestMethod => ({ brand, last4, outcome: { kind: 'succeed' } });
const declined = (last4: string, code: string, declineCode: string | undefined, message: string): TestMethod => ({
  brand: 'visa',
  last4,
  outcome: { kind: 'decline', code, ...(declineCode ? { declineCode } : {}), message },
});

/** Stripe's documented test PaymentMethods ("Testing" page) and what each does here. */
// biome-ignore format: a data table
export const TEST_PAYMENT_METHODS: Readonly<Record<string, TestMethod>> = {
  pm_card_visa: ok('visa', '4242'),
  pm_card_visa_debit: ok('visa', '5556'),
  pm_card_mastercard: ok('mastercard', '4444'),
  pm_card_amex: ok('amex', '8431'),
  pm_card_de: ok('visa', '0016'),
  pm_card_visa_chargeDeclined: declined('0002', 'card_declined', 'generic_decline', 'Your card was declined.'),
  pm_card_chargeDeclined: declined('0002', 'card_declined', 'generic_decline', 'Your card was declined.'),
  pm_card_chargeDeclinedInsufficientFunds: declined('9995', 'card_declined', 'insufficient_funds', 'Your card has insufficient funds.'),
  pm_card_chargeDeclinedFraudulent: declined('0019', 'card_declined', 'fraudulent', 'Your card was declined.'),
  pm_card_chargeDeclinedExpiredCard: declined('0069', 'expired_card', 'expired_card', 'Your card has expired.'),
  pm_card_chargeDeclinedIncorrectCvc: declined('0127', 'incorrect_cvc', 'incorrect_cvc', "Your card's security code is incorrect."),
  pm_card_chargeDeclinedProcessingError: declined('0119', 'processing_error', undefined, 'An error occurred while processing your card. Try again in a little bit.'),
  pm_card_chargeDeclinedVelocityLimitExceeded: declined('6975', 'card_declined', 'card_velocity_exceeded', 'Your card was declined.'),
  pm_card_threeDSecure2Required: { brand: 'visa', last4: '3220', outcome: { kind: 'challenge' } },
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', outcome: { kind: 'challenge' } },
  pm_card_createDispute: { brand: 'visa', last4: '0259', outcome: { kind: 'dispute' } },
};

// ---- objects ------------------------------------------------------------------------------------------------------

export const INTENT_STATUSES = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;
export type IntentStatus = (typeof INTENT_STATUSES)[number];

export interface LastPaymentError {
  type: 'card_error' | 'invalid_request_error';
  code: string;
  decline_code?: string;
  message: string;
  charge?: string;
  payment_method_type?: string;
}

export interface Intent {
  id: string;
  clientSecret: string;
  amount: number;
  currency: string;
  captureMethod: 'automatic' | 'automatic_async' | 'manual';
  status: IntentStatus;
  created: number;
  description: string | null;
  metadata: Record<string, string>;
  paymentMethod: string | null;
  /** The test handle the payment method was made from (`pm_card_visa`), which decides the outcome. */
  testMethod: string | null;
  methodTypes: string[];
  allowedMethodTypes: string[] | null;
  returnUrl: string | null;
  lastPaymentError: LastPaymentError | null;
  nextAction: JsonObject | null;
  amountCapturable: number;
  amountReceived: number;
  canceledAt: number | null;
  cancellationReason: string | null;
  latestCharge: string | null;
  /** Captures booked (an automatic capture counts as one). */
  captures: number;
  /** Nonce of the open 3-D Secure page. */
  challenge: string | null;
}

export interface Charge {
  id: string;
  amount: number;
  amountCaptured: number;
  amountRefunded: number;
  captured: boolean;
  currency: string;
  created: number;
  description: string | null;
  metadata: Record<string, string>;
  paymentIntent: string;
  paymentMethod: string;
  brand: string;
  last4: string;
  status: 'succeeded' | 'failed' | 'pending';
  failureCode: string | null;
  failureMessage: string | null;
  declineCode: string | null;
  disputed: boolean;
  refunds: string[];
}

export interface Refund {
  id: string;
  amount: number;
  currency: string;
  charge: string;
  paymentIntent: string;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled' | 'requires_action';
  reason: string | null;
  metadata: Record<string, string>;
  created: number;
  failureReason: string | null;
}

export interface Dispute {
  id: string;
  amount: number;
  currency: string;
  charge: string;
  paymentIntent: string;
  status:
    | 'warning_needs_response'
    | 'warning_under_review'
    | 'warning_closed'
    | 'needs_response'
    | 'under_review'
    | 'won'
    | 'lost';
  reason: string;
  created: number;
  metadata: Record<string, string>;
  fundsWithdrawn: boolean;
}

// ---- wire snapshots (what the API and events carry) ----------------------------------------------------------------

export function intentJson(pi: Intent): JsonObject {
  return {
    id: pi.id,
    object: 'payment_intent',
    allowed_payment_method_types: pi.allowedMethodTypes,
    amount: pi.amount,
    amount_capturable: pi.amountCapturable,
    amount_received: pi.amountReceived,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: pi.canceledAt,
    cancellation_reason: pi.cancellationReason,
    capture_method: pi.captureMethod,
    client_secret: pi.clientSecret,
    confirmation_method: 'automatic',
    created: pi.created,
    currency: pi.currency,
    customer: null,
    description: pi.description,
    last_payment_error: pi.lastPaymentError ? { ...pi.lastPaymentError, ...docUrl(pi.lastPaymentError.code) } : null,
    latest_charge: pi.latestCharge,
    livemode: false,
    metadata: { ...pi.metadata },
    next_action: pi.nextAction ? structuredClone(pi.nextAction) : null,
    on_behalf_of: null,
    payment_method: pi.paymentMethod,
    payment_method_options: {},
    payment_method_types: [...pi.methodTypes],
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: pi.status,
    transfer_data: null,
    transfer_group: null,
  };
}

export function chargeJson(ch: Charge): JsonObject {
  const failed = ch.status === 'failed';
  return {
    id: ch.id,
    object: 'charge',
    amount: ch.amount,
    amount_captured: ch.amountCaptured,
    amount_refunded: ch.amountRefunded,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: failed ? null : `txn_${ch.id.slice(3)}`,
    billing_details: {
      address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
      email: null,
      name: null,
      phone: null,
    },
    calculated_statement_descriptor: 'CLEARHUB',
    captured: ch.captured,
    created: ch.created,
    currency: ch.currency,
    customer: null,
    description: ch.description,
    disputed: ch.disputed,
    failure_balance_transaction: null,
    failure_code: ch.failureCode,
    failure_message: ch.failureMessage,
    fraud_details: {},
    livemode: false,
    metadata: { ...ch.metadata },
    on_behalf_of: null,
    outcome: failed
      ? {
          network_status: 'declined_by_network',
          reason: ch.declineCode,
          risk_level: 'normal',
          risk_score: 20,
          seller_message: `The bank returned the decline code \`${ch.declineCode ?? ch.failureCode}\`.`,
          type: 'issuer_declined',
        }
      : {
          network_status: 'approved_by_network',
          reason: null,
          risk_level: 'normal',
          risk_score: 20,
          seller_message: 'Payment complete.',
          type: 'authorized',
        },
    paid: !failed,
    payment_intent: ch.paymentIntent,
    payment_method: ch.paymentMethod,
    payment_method_details: {
      card: {
        brand: ch.brand,
        country: 'DE',
        exp_month: 12,
        exp_year: 2034,
        funding: 'credit',
        last4: ch.last4,
        network: ch.brand,
      },
      type: 'card',
    },
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: ch.amountRefunded >= ch.amount && ch.amount > 0,
    review: null,
    shipping: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: ch.status,
    transfer_data: null,
    transfer_group: null,
  };
}

export function refundJson(r: Refund): JsonObject {
  return {
    id: r.id,
    object: 'refund',
    amount: r.amount,
    balance_transaction: r.status === 'succeeded' ? `txn_${r.id.slice(3)}` : null,
    charge: r.charge,
    created: r.created,
    currency: r.currency,
    ...(r.failureReason ? { failure_reason: r.failureReason } : {}),
    metadata: { ...r.metadata },
    payment_intent: r.paymentIntent,
    reason: r.reason,
    receipt_number: null,
    source_transfer_reversal: null,
    status: r.status,
    transfer_reversal: null,
  };
}

export function disputeJson(d: Dispute): JsonObject {
  return {
    id: d.id,
    object: 'dispute',
    amount: d.amount,
    balance_transactions: [],
    charge: d.charge,
    created: d.created,
    currency: d.currency,
    evidence_details: { due_by: d.created + 21 * 86_400, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: d.status.startsWith('warning_'),
    livemode: false,
    metadata: { ...d.metadata },
    payment_intent: d.paymentIntent,
    reason: d.reason,
    status: d.status,
  };
}

function docUrl(code: string | undefined): { doc_url?: string } {
  return code ? { doc_url: `https://stripe.com/docs/error-codes/${code.replace(/_/g, '-')}` } : {};
}

/** A list object as Stripe returns it. */
export const listJson = (data: Json[], url: string, hasMore = false): JsonObject => ({
  object: 'list',
  data,
  has_more: hasMore,
  url,
});

// ---- the ledger ---------------------------------------------------------------------------------------------------

export interface EmittedEvent {
  type: string;
  object: JsonObject;
  /** `data.previous_attributes`: the changed fields' old values. */
  previous?: { [k: string]: Json | undefined };
}

/** Drops undefined entries (previous attributes that were absent). */
export function compact(o: { [k: string]: Json | undefined }): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * Holds every object and applies Stripe's state changes. Each change returns the events it produces, in the order
 * Stripe sends them; the server signs and delivers them.
 */
export class Ledger {
  readonly intents = new Map<string, Intent>();
  readonly charges = new Map<string, Charge>();
  readonly refunds = new Map<string, Refund>();
  readonly disputes = new Map<string, Dispute>();
  /** The next refund is created with this status (and stays there until `settleRefund`). */
  nextRefundStatus: Refund['status'] = 'succeeded';

  constructor(private readonly challengeUrl: (pi: Intent) => string) {}

  intent(id: string, param = 'intent'): Intent {
    const pi = this.intents.get(id);
    if (!pi) throw invalid(`No such payment_intent: '${id}'`, param, 'resource_missing', 404);
    return pi;
  }

  charge(id: string, param = 'charge'): Charge {
    const ch = this.charges.get(id);
    if (!ch) throw invalid(`No such charge: '${id}'`, param, 'resource_missing', 404);
    return ch;
  }

  createIntent(p: {
    amount: number;
    currency: string;
    captureMethod: Intent['captureMethod'];
    description: string | null;
    metadata: Record<string, string>;
    methodTypes: string[];
    allowedMethodTypes: string[] | null;
  }): { pi: Intent; events: EmittedEvent[] } {
    const id = stripeId('pi');
    const pi: Intent = {
      id,
      clientSecret: `${id}_secret_${stripeId('x', 25).slice(2)}`,
      amount: p.amount,
      currency: p.currency,
      captureMethod: p.captureMethod,
      status: 'requires_payment_method',
      created: nowSec(),
      description: p.description,
      metadata: p.metadata,
      paymentMethod: null,
      testMethod: null,
      methodTypes: p.methodTypes,
      allowedMethodTypes: p.allowedMethodTypes,
      returnUrl: null,
      lastPaymentError: null,
      nextAction: null,
      amountCapturable: 0,
      amountReceived: 0,
      canceledAt: null,
      cancellationReason: null,
      latestCharge: null,
      captures: 0,
      challenge: null,
    };
    this.intents.set(id, pi);
    return { pi, events: [{ type: 'payment_intent.created', object: intentJson(pi) }] };
  }

  /** Attaches a payment method (a test handle) without confirming. */
  attach(pi: Intent, handle: string): void {
    if (!TEST_PAYMENT_METHODS[handle]) {
      throw invalid(`No such PaymentMethod: '${handle}'`, 'payment_method', 'resource_missing');
    }
    pi.testMethod = handle;
    pi.paymentMethod = stripeId('pm');
    if (pi.status === 'requires_payment_method') pi.status = 'requires_confirmation';
  }

  /**
   * Confirms: the outcome comes from the test payment method. A decline answers 402 with the intent inside (and the
   * answer is kept for idempotent replays, as Stripe does once it has acted).
   */
  confirm(pi: Intent, returnUrl: string | null): EmittedEvent[] {
    if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(pi.status)) {
      throw unexpectedState(pi, 'confirm', ['requires_payment_method', 'requires_confirmation', 'requires_action']);
    }
    if (!pi.testMethod) {
      throw invalid(
        "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the PaymentIntent with cus_, you must specify a payment method.",
        'payment_method',
        'payment_intent_unexpected_state',
      );
    }
    if (!pi.methodTypes.includes('card')) {
      throw invalid(
        `The PaymentMethod provided (card) is not allowed for this PaymentIntent. Please attach a PaymentMethod of one of the following types: ${pi.methodTypes.join(', ')}.`,
        'payment_method',
        'payment_intent_incompatible_payment_method',
      );
    }
    pi.returnUrl = returnUrl ?? pi.returnUrl;
    pi.lastPaymentError = null;
    const method = TEST_PAYMENT_METHODS[pi.testMethod]!;
    switch (method.outcome.kind) {
      case 'succeed':
        return this.authorise(pi, method);
      case 'dispute': {
        // Stripe's pm_card_createDispute: the payment goes through and the cardholder disputes it straight away.
        const evs = this.authorise(pi, method);
        if (pi.status === 'succeeded') evs.push(...this.openDispute(pi.id).events);
        return evs;
      }
      case 'decline':
        return this.decline(pi, method, method.outcome);
      case 'challenge': {
        pi.status = 'requires_action';
        pi.challenge = stripeId('nonce', 16).slice(6);
        pi.nextAction = pi.returnUrl
          ? { type: 'redirect_to_url', redirect_to_url: { return_url: pi.returnUrl, url: this.challengeUrl(pi) } }
          : {
              type: 'use_stripe_sdk',
              use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: this.challengeUrl(pi) },
            };
        return [{ type: 'payment_intent.requires_action', object: intentJson(pi) }];
      }
      default: {
        const never: never = method.outcome;
        throw new Error(`unhandled outcome ${JSON.stringify(never)}`);
      }
    }
  }

  /** The payer approved or rejected the 3-D Secure challenge. */
  finishChallenge(pi: Intent, approve: boolean): EmittedEvent[] {
    pi.challenge = null;
    pi.nextAction = null;
    if (approve) return this.authorise(pi, TEST_PAYMENT_METHODS[pi.testMethod ?? 'pm_card_visa']!);
    pi.status = 'requires_payment_method';
    pi.lastPaymentError = {
      type: 'invalid_request_error',
      code: 'payment_intent_authentication_failure',
      message:
        'The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.',
      payment_method_type: 'card',
    };
    return [{ type: 'payment_intent.payment_failed', object: intentJson(pi) }];
  }

  private newCharge(pi: Intent, method: TestMethod, status: Charge['status']): Charge {
    const ch: Charge = {
      id: stripeId('ch'),
      amount: pi.amount,
      amountCaptured: 0,
      amountRefunded: 0,
      captured: false,
      currency: pi.currency,
      created: nowSec(),
      description: pi.description,
      // Charges made by a PaymentIntent carry its metadata.
      metadata: { ...pi.metadata },
      paymentIntent: pi.id,
      paymentMethod: pi.paymentMethod ?? stripeId('pm'),
      brand: method.brand,
      last4: method.last4,
      status,
      failureCode: null,
      failureMessage: null,
      declineCode: null,
      disputed: false,
      refunds: [],
    };
    this.charges.set(ch.id, ch);
    pi.latestCharge = ch.id;
    return ch;
  }

  private authorise(pi: Intent, method: TestMethod): EmittedEvent[] {
    const ch = this.newCharge(pi, method, 'succeeded');
    if (pi.captureMethod === 'manual') {
      pi.status = 'requires_capture';
      pi.amountCapturable = pi.amount;
      return [
        { type: 'charge.succeeded', object: chargeJson(ch) },
        { type: 'payment_intent.amount_capturable_updated', object: intentJson(pi) },
      ];
    }
    ch.captured = true;
    ch.amountCaptured = pi.amount;
    pi.status = 'succeeded';
    pi.amountReceived = pi.amount;
    pi.captures++;
    return [
      { type: 'charge.succeeded', object: chargeJson(ch) },
      { type: 'payment_intent.succeeded', object: intentJson(pi) },
    ];
  }

  private decline(pi: Intent, method: TestMethod, o: Extract<Outcome, { kind: 'decline' }>): EmittedEvent[] {
    const ch = this.newCharge(pi, method, 'failed');
    ch.failureCode = o.code;
    ch.failureMessage = o.message;
    ch.declineCode = o.declineCode ?? null;
    pi.status = 'requires_payment_method';
    pi.lastPaymentError = {
      type: 'card_error',
      code: o.code,
      ...(o.declineCode ? { decline_code: o.declineCode } : {}),
      message: o.message,
      charge: ch.id,
      payment_method_type: 'card',
    };
    const events: EmittedEvent[] = [
      { type: 'charge.failed', object: chargeJson(ch) },
      { type: 'payment_intent.payment_failed', object: intentJson(pi) },
    ];
    throw new ApiError(
      402,
      {
        type: 'card_error',
        code: o.code,
        ...(o.declineCode ? { decline_code: o.declineCode } : {}),
        message: o.message,
        charge: ch.id,
        payment_intent: intentJson(pi),
      },
      true,
      events,
    );
  }

  /**
   * Captures all or part of an authorisation. Stripe: "Any additional amount will be automatically refunded" — the
   * uncaptured rest is booked into the charge's `amount_refunded` (and `charge.refunded` is sent), no Refund object.
   */
  capture(pi: Intent, amountToCapture: number | undefined): EmittedEvent[] {
    if (pi.status !== 'requires_capture') throw unexpectedState(pi, 'capture', ['requires_capture']);
    const amount = amountToCapture ?? pi.amountCapturable;
    if (amount > pi.amountCapturable) {
      throw invalid(
        `The amount to capture (${amount}) is greater than the amount capturable (${pi.amountCapturable}) on this PaymentIntent.`,
        'amount_to_capture',
        'amount_too_large',
      );
    }
    const ch = this.charge(pi.latestCharge ?? '');
    const before = chargeJson(ch);
    ch.captured = true;
    ch.amountCaptured = amount;
    const released = ch.amount - amount;
    ch.amountRefunded += released;
    pi.status = 'succeeded';
    pi.amountReceived = amount;
    pi.amountCapturable = 0;
    pi.captures++;
    const events: EmittedEvent[] = [
      {
        type: 'charge.captured',
        object: chargeJson(ch),
        previous: { captured: false, amount_captured: before.amount_captured },
      },
    ];
    if (released > 0) {
      events.push({
        type: 'charge.refunded',
        object: chargeJson(ch),
        previous: { amount_refunded: before.amount_refunded, refunded: before.refunded },
      });
    }
    events.push({ type: 'payment_intent.succeeded', object: intentJson(pi) });
    return events;
  }

  cancel(pi: Intent, reason: string | null): EmittedEvent[] {
    const cancelable: IntentStatus[] = [
      'requires_payment_method',
      'requires_capture',
      'requires_confirmation',
      'requires_action',
      'processing',
    ];
    if (!cancelable.includes(pi.status)) throw unexpectedState(pi, 'cancel', cancelable);
    const events: EmittedEvent[] = [];
    if (pi.status === 'requires_capture' && pi.latestCharge) {
      // The authorisation is released: Stripe books the whole uncaptured charge as refunded.
      const ch = this.charge(pi.latestCharge);
      const before = chargeJson(ch);
      ch.amountRefunded = ch.amount;
      events.push({
        type: 'charge.refunded',
        object: chargeJson(ch),
        previous: { amount_refunded: before.amount_refunded, refunded: before.refunded },
      });
    }
    pi.status = 'canceled';
    pi.canceledAt = nowSec();
    pi.cancellationReason = reason;
    pi.amountCapturable = 0;
    pi.nextAction = null;
    pi.challenge = null;
    events.push({ type: 'payment_intent.canceled', object: intentJson(pi) });
    return events;
  }

  /** What can still be refunded of a captured charge (captured minus real refunds). */
  refundable(ch: Charge): number {
    const released = ch.amount - ch.amountCaptured;
    return ch.amountCaptured - (ch.amountRefunded - released);
  }

  refund(p: { pi: Intent; amount: number | undefined; reason: string | null; metadata: Record<string, string> }): {
    refund: Refund;
    events: EmittedEvent[];
  } {
    const { pi } = p;
    const ch = pi.latestCharge ? this.charges.get(pi.latestCharge) : undefined;
    if (pi.status !== 'succeeded' || !ch || !ch.captured) {
      throw invalid(
        `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
        'payment_intent',
        'charge_not_refundable',
      );
    }
    const left = this.refundable(ch);
    if (left <= 0) {
      throw invalid(`Charge ${ch.id} has already been refunded.`, undefined, 'charge_already_refunded');
    }
    const amount = p.amount ?? left;
    if (amount > left) {
      throw invalid(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
        'amount',
        'amount_too_large',
      );
    }
    const before = chargeJson(ch);
    const r: Refund = {
      id: stripeId('re'),
      amount,
      currency: ch.currency,
      charge: ch.id,
      paymentIntent: pi.id,
      status: this.nextRefundStatus,
      reason: p.reason,
      metadata: p.metadata,
      created: nowSec(),
      failureReason: null,
    };
    this.nextRefundStatus = 'succeeded';
    this.refunds.set(r.id, r);
    ch.refunds.push(r.id);
    ch.amountRefunded += amount;
    return {
      refund: r,
      events: [
        { type: 'refund.created', object: refundJson(r) },
        {
          type: 'charge.refunded',
          object: chargeJson(ch),
          previous: { amount_refunded: before.amount_refunded, refunded: before.refunded },
        },
      ],
    };
  }

  /** A pending refund goes through or fails (a failed one gives its amount back to the charge). */
  settleRefund(id: string, status: 'succeeded' | 'failed'): EmittedEvent[] {
    const r = this.refunds.get(id);
    if (!r) throw new Error(`no refund ${id}`);
    const previous = refundJson(r);
    r.status = status;
    if (status === 'failed') {
      r.failureReason = 'expired_or_canceled_card';
      const ch = this.charge(r.charge);
      ch.amountRefunded -= r.amount;
    }
    const events: EmittedEvent[] = [
      { type: 'refund.updated', object: refundJson(r), previous: { status: previous.status } },
      { type: 'charge.refund.updated', object: refundJson(r), previous: { status: previous.status } },
    ];
    if (status === 'failed') events.push({ type: 'refund.failed', object: refundJson(r) });
    return events;
  }

  /**
   * Opens a dispute on a captured charge. A dispute proper takes the money at once (`charge.dispute.funds_withdrawn`);
   * an inquiry (`warning_needs_response`) takes nothing yet.
   */
  openDispute(
    chargeOrIntent: string,
    o: { reason?: string; inquiry?: boolean; amount?: number } = {},
  ): { dispute: Dispute; events: EmittedEvent[] } {
    const ch = chargeOrIntent.startsWith('pi_')
      ? this.charge(this.intent(chargeOrIntent).latestCharge ?? '')
      : this.charge(chargeOrIntent);
    if (!ch.captured) throw new Error(`charge ${ch.id} is not captured; nothing to dispute`);
    const d: Dispute = {
      id: stripeId('dp'),
      amount: o.amount ?? ch.amountCaptured,
      currency: ch.currency,
      charge: ch.id,
      paymentIntent: ch.paymentIntent,
      status: o.inquiry ? 'warning_needs_response' : 'needs_response',
      reason: o.reason ?? 'fraudulent',
      created: nowSec(),
      metadata: {},
      fundsWithdrawn: !o.inquiry,
    };
    this.disputes.set(d.id, d);
    ch.disputed = true;
    const events: EmittedEvent[] = [{ type: 'charge.dispute.created', object: disputeJson(d) }];
    if (d.fundsWithdrawn) events.push({ type: 'charge.dispute.funds_withdrawn', object: disputeJson(d) });
    return { dispute: d, events };
  }

  closeDispute(id: string, outcome: 'won' | 'lost'): EmittedEvent[] {
    const d = this.disputes.get(id);
    if (!d) throw new Error(`no dispute ${id}`);
    const previous = d.status;
    d.status = d.status.startsWith('warning_') ? 'warning_closed' : outcome;
    const events: EmittedEvent[] = [
      { type: 'charge.dispute.closed', object: disputeJson(d), previous: { status: previous } },
    ];
    if (d.fundsWithdrawn && outcome === 'won') {
      events.push({ type: 'charge.dispute.funds_reinstated', object: disputeJson(d) });
    }
    return events;
  }
}

function unexpectedState(pi: Intent, action: string, allowed: readonly string[]): ApiError {
  return new ApiError(400, {
    type: 'invalid_request_error',
    code: 'payment_intent_unexpected_state',
    message: `This PaymentIntent's ${action === 'confirm' ? 'payment_method could not be confirmed' : `could not be ${action === 'capture' ? 'captured' : 'canceled'}`} because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be ${action === 'capture' ? 'captured' : action === 'cancel' ? 'canceled' : 'confirmed'}: ${allowed.join(', ')}.`,
    payment_intent: intentJson(pi),
  });
}

// ---- Checkout Sessions ----------------------------------------------------------------------------------------------

/**
 * Stripe's test card numbers ("Testing" page) as the hosted Checkout page takes them, and the test PaymentMethod each
 * behaves like. Any other number that passes the Luhn check is a live card, which test mode declines.
 */
// biome-ignore format: a data table
export const TEST_CARD_NUMBERS: Readonly<Record<string, keyof typeof TEST_PAYMENT_METHODS>> = {
  '4242424242424242': 'pm_card_visa',
  '4000056655665556': 'pm_card_visa_debit',
  '5555555555554444': 'pm_card_mastercard',
  '378282246310005': 'pm_card_amex',
  '4000002760000016': 'pm_card_de',
  '4000000000000002': 'pm_card_chargeDeclined',
  '4000000000009995': 'pm_card_chargeDeclinedInsufficientFunds',
  '4000000000000069': 'pm_card_chargeDeclinedExpiredCard',
  '4000000000000127': 'pm_card_chargeDeclinedIncorrectCvc',
  '4000000000000119': 'pm_card_chargeDeclinedProcessingError',
  '4000000000006975': 'pm_card_chargeDeclinedVelocityLimitExceeded',
  '4000000000003220': 'pm_card_threeDSecure2Required',
  '4000002760003184': 'pm_card_authenticationRequired',
  '4000000000000259': 'pm_card_createDispute',
};

/** The Luhn check digit test every card number passes. */
export function luhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export interface CheckoutLineItem {
  name: string;
  description: string | null;
  unitAmount: number;
  quantity: number;
}

export interface CheckoutSession {
  id: string;
  created: number;
  expiresAt: number;
  status: 'open' | 'complete' | 'expired';
  paymentStatus: 'unpaid' | 'paid';
  amount: number;
  currency: string;
  lineItems: CheckoutLineItem[];
  successUrl: string;
  cancelUrl: string | null;
  clientReferenceId: string | null;
  customerEmail: string | null;
  locale: string | null;
  metadata: Record<string, string>;
  methodTypes: string[];
  allowedMethodTypes: string[] | null;
  /** `payment_intent_data`: what the PaymentIntent is created with when the payer first submits the page. */
  intentData: {
    captureMethod: Intent['captureMethod'];
    description: string | null;
    metadata: Record<string, string>;
  };
  /** Created lazily, at the payer's first attempt (Stripe does so since API 2022-08-01). */
  paymentIntent: string | null;
  customerName: string | null;
  /** The hosted page. */
  url: string;
}

export function checkoutSessionJson(s: CheckoutSession): JsonObject {
  return {
    id: s.id,
    object: 'checkout.session',
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: s.allowedMethodTypes ? [...s.allowedMethodTypes] : null,
    amount_subtotal: s.amount,
    amount_total: s.amount,
    automatic_tax: { enabled: false, status: null },
    billing_address_collection: null,
    cancel_url: s.cancelUrl,
    client_reference_id: s.clientReferenceId,
    consent: null,
    consent_collection: null,
    created: s.created,
    currency: s.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: { shipping_address: null, submit: null },
    customer: null,
    customer_creation: 'if_required',
    customer_details:
      s.status === 'complete'
        ? {
            address: null,
            email: s.customerEmail,
            name: s.customerName,
            phone: null,
            tax_exempt: 'none',
            tax_ids: [],
          }
        : null,
    customer_email: s.customerEmail,
    expires_at: s.expiresAt,
    invoice: null,
    invoice_creation: null,
    livemode: false,
    locale: s.locale,
    metadata: { ...s.metadata },
    mode: 'payment',
    payment_intent: s.paymentIntent,
    payment_link: null,
    payment_method_collection: 'if_required',
    payment_method_options: {},
    payment_method_types: [...s.methodTypes],
    payment_status: s.paymentStatus,
    phone_number_collection: { enabled: false },
    recovered_from: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_details: null,
    shipping_options: [],
    status: s.status,
    submit_type: null,
    subscription: null,
    success_url: s.successUrl,
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    // Stripe: "only present when the session is active".
    url: s.status === 'open' ? s.url : null,
  };
}

/** What one submission of the hosted page led to. */
export type CheckoutAttempt =
  | { kind: 'complete'; events: EmittedEvent[] }
  | { kind: 'challenge'; url: string; events: EmittedEvent[] }
  | { kind: 'declined'; code: string; declineCode?: string; message: string; events: EmittedEvent[] };

/**
 * Checkout Sessions on top of the ledger: created open, paid through the hosted page (which creates the PaymentIntent
 * at the first attempt and confirms it again on each retry), completed, or expired.
 */
export class CheckoutBook {
  readonly sessions = new Map<string, CheckoutSession>();

  constructor(
    private readonly ledger: Ledger,
    private readonly pageUrl: (id: string) => string,
  ) {}

  session(id: string): CheckoutSession {
    const s = this.sessions.get(id);
    if (!s) throw invalid(`No such checkout.session: '${id}'`, 'session', 'resource_missing', 404);
    return s;
  }

  create(
    p: Omit<
      CheckoutSession,
      'id' | 'created' | 'status' | 'paymentStatus' | 'paymentIntent' | 'customerName' | 'url' | 'amount'
    >,
  ): CheckoutSession {
    const id = stripeId('cs_test', 58);
    const s: CheckoutSession = {
      ...p,
      id,
      created: nowSec(),
      status: 'open',
      paymentStatus: 'unpaid',
      amount: p.lineItems.reduce((sum, li) => sum + li.unitAmount * li.quantity, 0),
      paymentIntent: null,
      customerName: null,
      url: this.pageUrl(id),
    };
    this.sessions.set(id, s);
    return s;
  }

  /** Stripe expires an open session itself once `expires_at` has passed. */
  lapse(s: CheckoutSession, now = nowSec()): EmittedEvent[] {
    return s.status === 'open' && now >= s.expiresAt ? this.expire(s) : [];
  }

  expire(s: CheckoutSession): EmittedEvent[] {
    if (s.status !== 'open') {
      throw invalid(
        `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of ${s.status}.`,
        'session',
        'checkout_session_not_open',
      );
    }
    s.status = 'expired';
    return [{ type: 'checkout.session.expired', object: checkoutSessionJson(s) }];
  }

  /** One submission of the hosted page with a test payment method; `returnUrl` is where 3-D Secure comes back to. */
  attempt(s: CheckoutSession, handle: string, o: { name: string | null; returnUrl: string }): CheckoutAttempt {
    const events: EmittedEvent[] = [];
    let pi = s.paymentIntent ? this.ledger.intent(s.paymentIntent) : undefined;
    if (!pi) {
      const created = this.ledger.createIntent({
        amount: s.amount,
        currency: s.currency,
        captureMethod: s.intentData.captureMethod,
        description: s.intentData.description,
        metadata: { ...s.intentData.metadata },
        methodTypes: s.methodTypes,
        allowedMethodTypes: s.allowedMethodTypes,
      });
      pi = created.pi;
      s.paymentIntent = pi.id;
      events.push(...created.events);
    }
    s.customerName = o.name;
    this.ledger.attach(pi, handle);
    try {
      events.push(...this.ledger.confirm(pi, o.returnUrl));
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 402) throw e;
      events.push(...e.events);
      return {
        kind: 'declined',
        code: e.body.code ?? 'card_declined',
        ...(e.body.decline_code ? { declineCode: e.body.decline_code } : {}),
        message: e.body.message,
        events,
      };
    }
    return this.settle(s, pi, events);
  }

  /** After the payer is back from 3-D Secure (the ledger has applied the outcome). */
  afterChallenge(s: CheckoutSession): CheckoutAttempt {
    const pi = this.ledger.intent(s.paymentIntent ?? '');
    return this.settle(s, pi, []);
  }

  private settle(s: CheckoutSession, pi: Intent, events: EmittedEvent[]): CheckoutAttempt {
    switch (pi.status) {
      case 'succeeded':
      case 'requires_capture':
      case 'processing':
        s.status = 'complete';
        // An authorisation awaiting capture has not paid yet.
        s.paymentStatus = pi.status === 'succeeded' ? 'paid' : 'unpaid';
        events.push({ type: 'checkout.session.completed', object: checkoutSessionJson(s) });
        return { kind: 'complete', events };
      case 'requires_action': {
        const next = pi.nextAction?.redirect_to_url as JsonObject | undefined;
        return { kind: 'challenge', url: String(next?.url ?? ''), events };
      }
      default: {
        const err = pi.lastPaymentError;
        return {
          kind: 'declined',
          code: err?.code ?? 'payment_intent_authentication_failure',
          ...(err?.decline_code ? { declineCode: err.decline_code } : {}),
          message: err?.message ?? 'The payment could not be completed.',
          events,
        };
      }
    }
  }
}

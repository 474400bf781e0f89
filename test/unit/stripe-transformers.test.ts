import Stripe from 'stripe';
import { IntegrationError, IntegrityError } from '../../src/domain/errors';
import { Secret } from '../../src/gateway/providers/stripe/config';
import { declineOf, scrub, unifiedDeclineCode } from '../../src/gateway/providers/stripe/errors';
import { verifyStripeSignature } from '../../src/gateway/providers/stripe/provider';
import {
  captureParams,
  createParams,
  eventsFromWire,
  fromStripeAmount,
  isEventEnvelope,
  nextActionOf,
  paymentFromWire,
  paymentStateOf,
  refundParams,
  refundStatusOf,
  type StripeEventEnvelope,
  toStripeAmount,
  wireRefunded,
} from '../../src/gateway/providers/stripe/transformers';
import type { CreatePaymentInput } from '../../src/gateway/providers/types';
import { WebhookRejected } from '../../src/gateway/providers/types';

const PAYMENT_ID = '0190a5c1-7e2b-7c3d-8e4f-5a6b7c8d9e0f';

const baseInput: CreatePaymentInput = {
  paymentId: PAYMENT_ID,
  idempotencyKey: `payment:${PAYMENT_ID}:create`,
  amountMinor: 1_999,
  currency: 'EUR',
  method: 'card',
  providerType: 'card',
  capture: 'automatic',
  returnUrl: 'https://shop.example/return',
  payer: { debtorId: 'D-7', name: 'Erika Mustermann', email: 'erika@example.de' },
  methodData: { token: 'pm_card_visa' },
};

describe('amounts at the Stripe boundary', () => {
  test.each([
    [1_999, 'EUR', 1_999],
    [500, 'JPY', 500],
    [1_500, 'ISK', 150_000],
    [5_120, 'KWD', 5_120],
    [0, 'EUR', 0],
  ])('%d minor %s goes to Stripe as %d', (minor, currency, wire) => {
    expect(toStripeAmount(minor, currency)).toBe(wire);
    expect(fromStripeAmount(wire, currency.toLowerCase())).toEqual({ amountMinor: minor, currency });
  });

  test('a three-decimal amount that does not end in 0 is refused, not rounded', () => {
    expect(() => toStripeAmount(5_124, 'KWD')).toThrow(IntegrationError);
  });

  test('floats, negatives and unknown currencies are refused', () => {
    expect(() => toStripeAmount(19.99, 'EUR')).toThrow(IntegrationError);
    expect(() => toStripeAmount(-1, 'EUR')).toThrow(IntegrationError);
    expect(() => toStripeAmount(100, 'XXX')).toThrow(IntegrationError);
  });

  test('an ISK amount from Stripe that is not whole krónur is an integrity error', () => {
    expect(() => fromStripeAmount(150_050, 'isk')).toThrow(IntegrityError);
    expect(() => fromStripeAmount(12.5, 'eur')).toThrow(IntegrityError);
  });
});

describe('PaymentIntent states', () => {
  const declined = { type: 'card_error', code: 'card_declined' } as Stripe.PaymentIntent.LastPaymentError;
  test.each([
    ['requires_payment_method', null, null, 0, 0, 'created'],
    ['requires_payment_method', declined, null, 0, 0, 'failed'],
    ['requires_confirmation', null, null, 0, 0, 'created'],
    ['requires_action', null, null, 0, 0, 'requires_action'],
    ['processing', null, null, 0, 0, 'pending'],
    ['requires_capture', null, null, 0, 0, 'authorized'],
    ['canceled', null, 'requested_by_customer', 0, 0, 'canceled'],
    ['canceled', null, 'automatic', 0, 0, 'expired'],
    ['succeeded', null, null, 1_000, 0, 'succeeded'],
    ['succeeded', null, null, 1_000, 400, 'partially_refunded'],
    ['succeeded', null, null, 1_000, 1_000, 'refunded'],
  ] as const)(
    '%s (error %j, cancellation %s, captured %d, refunded %d) → %s',
    (status, error, reason, cap, ref, want) => {
      const pi = { status, last_payment_error: error, cancellation_reason: reason } as Pick<
        Stripe.PaymentIntent,
        'status' | 'last_payment_error' | 'cancellation_reason'
      >;
      expect(paymentStateOf(pi, cap, ref)).toBe(want);
    },
  );

  test('a status Stripe adds later is an integrity error, never a guess', () => {
    const pi = { status: 'requires_reauthorization', last_payment_error: null, cancellation_reason: null };
    expect(() => paymentStateOf(pi as unknown as Stripe.PaymentIntent, 0, 0)).toThrow(IntegrityError);
  });

  test.each([
    ['pending', 'pending'],
    ['requires_action', 'pending'],
    ['succeeded', 'succeeded'],
    ['failed', 'failed'],
    ['canceled', 'failed'],
  ] as const)('refund status %s → %s', (wire, ours) => {
    expect(refundStatusOf(wire)).toBe(ours);
  });

  test('refunded amount leaves out what a partial capture or a cancel released', () => {
    expect(wireRefunded({ amount: 12_345, amount_captured: 12_345, amount_refunded: 2_345 })).toBe(2_345);
    expect(wireRefunded({ amount: 12_345, amount_captured: 10_000, amount_refunded: 2_345 })).toBe(0);
    expect(wireRefunded({ amount: 12_345, amount_captured: 10_000, amount_refunded: 6_345 })).toBe(4_000);
    expect(wireRefunded({ amount: 12_345, amount_captured: 0, amount_refunded: 12_345 })).toBe(0);
  });
});

describe('next actions', () => {
  const pi = (over: Partial<Stripe.PaymentIntent>) =>
    ({
      status: 'requires_action',
      next_action: null,
      client_secret: 'pi_1_secret_2',
      last_payment_error: null,
      ...over,
    }) as Stripe.PaymentIntent;

  test('3-D Secure with a return URL is a redirect', () => {
    const a = nextActionOf(
      pi({
        next_action: {
          type: 'redirect_to_url',
          redirect_to_url: {
            url: 'https://hooks.stripe.com/3d_secure_2/hosted?x=1',
            return_url: 'https://shop.example/r',
          },
        },
      }),
    );
    expect(a).toEqual({ type: 'redirect', url: 'https://hooks.stripe.com/3d_secure_2/hosted?x=1' });
  });

  test('hosted voucher or bank-transfer instructions are a redirect too', () => {
    const a = nextActionOf(
      pi({
        next_action: {
          type: 'multibanco_display_details',
          multibanco_display_details: { hosted_voucher_url: 'https://payments.stripe.com/multibanco/voucher/x' },
        } as unknown as Stripe.PaymentIntent.NextAction,
      }),
    );
    expect(a).toEqual({ type: 'redirect', url: 'https://payments.stripe.com/multibanco/voucher/x' });
  });

  test('use_stripe_sdk and an unconfirmed intent hand the client secret and publishable key to the browser', () => {
    const sdk = pi({ next_action: { type: 'use_stripe_sdk', use_stripe_sdk: {} } as Stripe.PaymentIntent.NextAction });
    expect(nextActionOf(sdk, 'pk_test_1')).toEqual({
      type: 'client_secret',
      clientSecret: 'pi_1_secret_2',
      publishableKey: 'pk_test_1',
    });
    expect(nextActionOf(pi({ status: 'requires_payment_method' }))).toEqual({
      type: 'client_secret',
      clientSecret: 'pi_1_secret_2',
    });
  });

  test('processing waits; a declined intent needs nothing from the payer', () => {
    expect(nextActionOf(pi({ status: 'processing' }))).toEqual({ type: 'await' });
    const failed = pi({
      status: 'requires_payment_method',
      last_payment_error: { type: 'card_error' } as Stripe.PaymentIntent.LastPaymentError,
    });
    expect(nextActionOf(failed)).toEqual({ type: 'none' });
  });
});

describe('outgoing requests', () => {
  test('create: confirmed with the token, our references in metadata, no personal data', () => {
    expect(createParams(baseInput)).toEqual({
      amount: 1_999,
      currency: 'eur',
      capture_method: 'automatic',
      allowed_payment_method_types: ['card'],
      metadata: { clearhub_payment_id: PAYMENT_ID, clearhub_debtor_id: 'D-7' },
      payment_method: 'pm_card_visa',
      confirm: true,
      return_url: 'https://shop.example/return',
      expand: ['latest_charge'],
    });
  });

  test('create without a token leaves confirmation to Stripe.js', () => {
    const p = createParams({ ...baseInput, capture: 'manual', methodData: undefined, description: 'Invoice 7' });
    expect(p).toMatchObject({ capture_method: 'manual', description: 'Invoice 7' });
    expect(p).not.toHaveProperty('confirm');
    expect(p).not.toHaveProperty('payment_method');
  });

  test('extra fields pass through but cannot change amount, currency or method', () => {
    const p = createParams({
      ...baseInput,
      methodData: { token: 'pm_card_visa', extra: { amount: 1, statement_descriptor_suffix: 'INV 7' } },
    });
    expect(p).toMatchObject({ amount: 1_999, statement_descriptor_suffix: 'INV 7' });
  });

  test('recurring payments are refused until there is a Customer to keep the card on', () => {
    expect(() => createParams({ ...baseInput, recurring: 'first' })).toThrow(IntegrationError);
  });

  test('capture in part, or everything', () => {
    expect(captureParams({ amountMinor: 1_000, currency: 'EUR', idempotencyKey: 'k', paymentId: 'p' })).toEqual({
      amount_to_capture: 1_000,
      expand: ['latest_charge'],
    });
    expect(captureParams({ currency: 'EUR', idempotencyKey: 'k', paymentId: 'p' })).toEqual({
      expand: ['latest_charge'],
    });
  });

  test('refund: Stripe reasons pass, others go to metadata', () => {
    const common = { amountMinor: 500, currency: 'EUR', idempotencyKey: 'k', paymentId: PAYMENT_ID, refundId: 'r9' };
    expect(refundParams('pi_1', { ...common, reason: 'duplicate' })).toEqual({
      payment_intent: 'pi_1',
      amount: 500,
      reason: 'duplicate',
      metadata: { clearhub_refund_id: 'r9', clearhub_payment_id: PAYMENT_ID },
    });
    expect(refundParams('pi_1', { ...common, reason: 'goodwill after complaint' })).toEqual({
      payment_intent: 'pi_1',
      amount: 500,
      metadata: {
        clearhub_refund_id: 'r9',
        clearhub_payment_id: PAYMENT_ID,
        clearhub_reason: 'goodwill after complaint',
      },
    });
  });
});

describe('a recorded PaymentIntent', () => {
  // Shape of a live answer to POST /v1/payment_intents?expand[]=latest_charge after a partial capture (trimmed).
  const recorded = {
    id: 'pi_3QxYzA2eZvKYlo2C1aBcDeFg',
    object: 'payment_intent',
    amount: 12_345,
    amount_capturable: 0,
    amount_received: 10_000,
    capture_method: 'manual',
    client_secret: 'pi_3QxYzA2eZvKYlo2C1aBcDeFg_secret_hIjKlMnOpQrStUvWx',
    currency: 'eur',
    last_payment_error: null,
    latest_charge: {
      id: 'ch_3QxYzA2eZvKYlo2C1HiJkLmN',
      object: 'charge',
      amount: 12_345,
      amount_captured: 10_000,
      amount_refunded: 2_345,
      captured: true,
      currency: 'eur',
      refunded: false,
      status: 'succeeded',
    },
    metadata: { clearhub_payment_id: PAYMENT_ID },
    next_action: null,
    status: 'succeeded',
  } as unknown as Stripe.PaymentIntent;

  test('reads as succeeded with what was captured and nothing refunded', () => {
    expect(paymentFromWire(recorded)).toEqual({
      providerReference: 'pi_3QxYzA2eZvKYlo2C1aBcDeFg',
      status: 'succeeded',
      providerStatus: 'succeeded',
      amountMinor: 12_345,
      currency: 'EUR',
      capturedMinor: 10_000,
      refundedMinor: 0,
      nextAction: { type: 'none' },
    });
  });
});

describe('recorded webhook events', () => {
  const event = (type: string, object: Record<string, unknown>, created = 1_700_000_000): StripeEventEnvelope => ({
    id: 'evt_3QxYzA2eZvKYlo2C0aAaAaAa',
    object: 'event',
    type,
    created,
    data: { object },
  });

  test('payment_intent.succeeded carries our payment id and the amount received', () => {
    const e = event('payment_intent.succeeded', {
      id: 'pi_1',
      object: 'payment_intent',
      amount: 12_345,
      amount_received: 12_345,
      currency: 'eur',
      metadata: { clearhub_payment_id: PAYMENT_ID },
      status: 'succeeded',
    });
    expect(eventsFromWire(e)).toEqual([
      {
        eventId: 'evt_3QxYzA2eZvKYlo2C0aAaAaAa',
        type: 'payment.succeeded',
        providerReference: 'pi_1',
        paymentId: PAYMENT_ID,
        amountMinor: 12_345,
        currency: 'EUR',
        occurredAt: '2023-11-14T22:13:20.000Z',
      },
    ]);
  });

  test('payment_intent.payment_failed carries the decline', () => {
    const e = event('payment_intent.payment_failed', {
      id: 'pi_2',
      object: 'payment_intent',
      amount: 500,
      amount_received: 0,
      currency: 'eur',
      metadata: {},
      status: 'requires_payment_method',
      last_payment_error: {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
      },
    });
    expect(eventsFromWire(e)).toEqual([
      expect.objectContaining({
        type: 'payment.failed',
        providerReference: 'pi_2',
        decline: {
          code: 'insufficient_funds',
          providerCode: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        },
      }),
    ]);
  });

  // Recorded by a public integration (API 2020-03-02): a card refund that failed after it had succeeded.
  test('charge.refund.updated for a failed refund is a refund_failed keyed by the refund', () => {
    const e = event('charge.refund.updated', {
      id: 're_1Gib6ZHLwdCOCoR7VrzCnXlj',
      object: 'refund',
      amount: 30_000_000,
      charge: 'ch_1Gib61HLwdCOCoR71rnkccye',
      created: 1_589_439_823,
      currency: 'inr',
      failure_reason: 'expired_or_canceled_card',
      metadata: {},
      payment_intent: 'pi_1Gib60HLwdCOCoR7KJbTO3U7',
      reason: null,
      status: 'failed',
    });
    expect(eventsFromWire(e)).toEqual([
      expect.objectContaining({
        eventId: 're_1Gib6ZHLwdCOCoR7VrzCnXlj:failed',
        providerRefundReference: 're_1Gib6ZHLwdCOCoR7VrzCnXlj',
        type: 'payment.refund_failed',
        providerReference: 'pi_1Gib60HLwdCOCoR7KJbTO3U7',
        amountMinor: 30_000_000,
        currency: 'INR',
      }),
    ]);
  });

  // Recorded by a public integration (API 2016-07-06): charges still embedded their refunds then.
  test('charge.refunded with embedded refunds gives one refund event per refund, keyed like refund.created', () => {
    const e = event('charge.refunded', {
      id: 'ch_18rMf3FzKb8aMux1h2gjCzWm',
      object: 'charge',
      amount: 61_798,
      amount_refunded: 10_000,
      captured: true,
      currency: 'ils',
      refunded: false,
      refunds: {
        object: 'list',
        data: [
          {
            id: 're_18rMfgFzKb8aMux1MENpRk3T',
            object: 'refund',
            amount: 10_000,
            charge: 'ch_18rMf3FzKb8aMux1h2gjCzWm',
            created: 1_473_318_604,
            currency: 'ils',
            metadata: [],
            reason: null,
            status: 'succeeded',
          },
        ],
        has_more: false,
      },
      status: 'succeeded',
    });
    const created = event('refund.created', {
      id: 're_18rMfgFzKb8aMux1MENpRk3T',
      object: 'refund',
      amount: 10_000,
      charge: 'ch_18rMf3FzKb8aMux1h2gjCzWm',
      currency: 'ils',
      status: 'succeeded',
    });
    const fromCharge = eventsFromWire(e);
    expect(fromCharge).toEqual([
      expect.objectContaining({
        type: 'payment.refunded',
        providerReference: 'ch_18rMf3FzKb8aMux1h2gjCzWm',
        amountMinor: 10_000,
        currency: 'ILS',
      }),
    ]);
    expect(eventsFromWire(created)[0]!.eventId).toBe(fromCharge[0]!.eventId);
  });

  test('charge.refunded without embedded refunds (current API) gives none: refund.* events carry them', () => {
    const e = event('charge.refunded', {
      id: 'ch_1',
      object: 'charge',
      amount: 100,
      amount_refunded: 100,
      currency: 'eur',
    });
    expect(eventsFromWire(e)).toEqual([]);
  });

  test('a pending refund is not reported until it is through', () => {
    const e = event('refund.created', {
      id: 're_1',
      object: 'refund',
      amount: 100,
      currency: 'eur',
      payment_intent: 'pi_1',
      status: 'pending',
    });
    expect(eventsFromWire(e)).toEqual([]);
  });

  // Dispute shape from stripe-mock's fixtures (stripe/openapi fixtures3.json): a Visa inquiry.
  test('an inquiry opens a dispute; a dispute proper is a chargeback keyed by the dispute', () => {
    const dispute = {
      id: 'dp_1Pgc71B7WZ01zgkWMevJiAUx',
      object: 'dispute',
      amount: 1_000,
      charge: 'ch_1PgafuB7WZ01zgkWXYmPNZs8',
      currency: 'usd',
      payment_intent: null,
      reason: 'general',
      status: 'warning_needs_response',
    };
    expect(eventsFromWire(event('charge.dispute.created', dispute))).toEqual([
      expect.objectContaining({
        type: 'payment.dispute_opened',
        providerReference: 'ch_1PgafuB7WZ01zgkWXYmPNZs8',
        amountMinor: 1_000,
        currency: 'USD',
      }),
    ]);
    const proper = { ...dispute, status: 'needs_response', payment_intent: 'pi_9' };
    const created = eventsFromWire(event('charge.dispute.created', proper));
    const withdrawn = eventsFromWire(event('charge.dispute.funds_withdrawn', proper));
    expect(created).toEqual([expect.objectContaining({ type: 'payment.charged_back', providerReference: 'pi_9' })]);
    expect(withdrawn[0]!.eventId).toBe(created[0]!.eventId);
  });

  test('events Clearhub does not read give nothing; a mislabelled object is an integrity error', () => {
    expect(eventsFromWire(event('customer.created', { id: 'cus_1', object: 'customer' }))).toEqual([]);
    expect(() => eventsFromWire(event('payment_intent.succeeded', { id: 'ch_1', object: 'charge' }))).toThrow(
      IntegrityError,
    );
  });

  test('only v1 snapshot events are envelopes', () => {
    expect(isEventEnvelope(event('x', { id: 'a', object: 'b' }))).toBe(true);
    expect(isEventEnvelope({ object: 'v2.core.event', id: 'evt_1', type: 'x', created: '2026-01-01' })).toBe(false);
    expect(isEventEnvelope('evt')).toBe(false);
  });
});

describe('webhook signatures (checked against the SDK’s own header generator)', () => {
  const secret = 'whsec_test_secret_for_unit_tests';
  const body = Buffer.from('{"id":"evt_1","object":"event"}');
  const now = 1_700_000_000_000;

  test('a header made by stripe.webhooks.generateTestHeaderString verifies', () => {
    const header = Stripe.webhooks.generateTestHeaderString({
      payload: body.toString(),
      secret,
      timestamp: 1_700_000_000,
    });
    expect(() => verifyStripeSignature(body, header, new Secret(secret), 300, now)).not.toThrow();
  });

  const reason = (f: () => void) => {
    try {
      f();
    } catch (e) {
      return e instanceof WebhookRejected ? e.reason : `not rejected: ${String(e)}`;
    }
    return 'accepted';
  };

  test('too old is a timestamp rejection; tolerance 0 turns the age check off; the future passes as in the SDK', () => {
    const old = Stripe.webhooks.generateTestHeaderString({
      payload: body.toString(),
      secret,
      timestamp: 1_699_999_000,
    });
    expect(reason(() => verifyStripeSignature(body, old, new Secret(secret), 300, now))).toBe('timestamp');
    expect(reason(() => verifyStripeSignature(body, old, new Secret(secret), 0, now))).toBe('accepted');
    const future = Stripe.webhooks.generateTestHeaderString({
      payload: body.toString(),
      secret,
      timestamp: 1_700_000_600,
    });
    expect(reason(() => verifyStripeSignature(body, future, new Secret(secret), 300, now))).toBe('accepted');
  });

  test('wrong secret, changed body, no header, garbage header are signature rejections', () => {
    const header = Stripe.webhooks.generateTestHeaderString({
      payload: body.toString(),
      secret,
      timestamp: 1_700_000_000,
    });
    expect(reason(() => verifyStripeSignature(body, header, new Secret('whsec_other'), 300, now))).toBe('signature');
    expect(reason(() => verifyStripeSignature(Buffer.from(`${body} `), header, new Secret(secret), 300, now))).toBe(
      'signature',
    );
    expect(reason(() => verifyStripeSignature(body, undefined, new Secret(secret), 300, now))).toBe('signature');
    expect(reason(() => verifyStripeSignature(body, 't=abc,v1=xyz', new Secret(secret), 300, now))).toBe('signature');
  });
});

describe('declines and scrubbing', () => {
  test('decline_code wins over code; unknown codes are "other"', () => {
    expect(unifiedDeclineCode({ code: 'card_declined', decline_code: 'insufficient_funds' })).toBe(
      'insufficient_funds',
    );
    expect(unifiedDeclineCode({ code: 'card_declined', decline_code: 'something_new' })).toBe('card_declined');
    expect(unifiedDeclineCode({ code: 'expired_card' })).toBe('expired_card');
    expect(unifiedDeclineCode({ code: 'brand_new_code' })).toBe('other');
    expect(declineOf({}).providerCode).toBe('unknown');
  });

  test('keys, signing secrets, client secrets, auth headers and signatures are masked, once', () => {
    const text =
      'key sk_live_51AbCdEf rk_test_9 whsec_abc/def= pi_123_secret_456 Authorization: Bearer sk_test_x ' +
      `v1=${'a'.repeat(64)}`;
    const once = scrub(text);
    expect(once).not.toMatch(/51AbCdEf|rk_test_9|abc\/def|secret_456|sk_test_x|a{64}/);
    expect(scrub(once)).toBe(once);
  });
});

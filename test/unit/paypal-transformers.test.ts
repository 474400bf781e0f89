/**
 * Pure conversions of the PayPal provider on recorded payloads: PayPal's decimal strings to minor units and back,
 * order states to ours, webhook events (PayPal's JSON) to our events.
 */
import { inspect } from 'node:util';
import { type Order, OrderStatus } from '@paypal/paypal-server-sdk';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { parsePayPalConfig, Secret } from '../../src/gateway/providers/paypal/config';
import {
  cancelUrlOf,
  eventsFromWebhook,
  MalformedEvent,
  type OrderResolver,
  type PayPalWebhookEnvelope,
  paymentFromOrder,
  refundIdOf,
  refundRequestFrom,
  scrub,
  toWireMoney,
  WEBHOOK_EVENTS,
} from '../../src/gateway/providers/paypal/transformers';
import { WEBHOOK_EVENT_TYPES } from '../../src/gateway/providers/types';

const ORDER_ID = '5O190127TN364715T';
const PID = 'pay-1';
const eur = (value: string) => ({ currencyCode: 'EUR', value });
const links = [
  { href: `https://api-m.paypal.com/v2/checkout/orders/${ORDER_ID}`, rel: 'self' },
  { href: `https://www.paypal.com/checkoutnow?token=${ORDER_ID}`, rel: 'approve' },
];

function order(status: OrderStatus, payments?: NonNullable<Order['purchaseUnits']>[number]['payments']): Order {
  return { id: ORDER_ID, status, links, purchaseUnits: [{ customId: PID, amount: eur('100.00'), payments }] };
}

describe('amounts', () => {
  test.each([
    [12_345, 'EUR', '123.45'],
    [5, 'EUR', '0.05'],
    [500, 'JPY', '500'],
    [1_500_00, 'HUF', '1500'],
    [1_000, 'KWD', '1.000'],
  ])('%i minor %s is "%s"', (minor, currency, value) => {
    expect(toWireMoney(minor, currency)).toEqual({ currencyCode: currency, value });
  });

  test('PayPal takes HUF in whole forints only; zero, negative and fractional minor units are refused', () => {
    expect(() => toWireMoney(1_500_50, 'HUF')).toThrow(IntegrationError);
    expect(() => toWireMoney(0, 'EUR')).toThrow(IntegrationError);
    expect(() => toWireMoney(-1, 'EUR')).toThrow(IntegrationError);
    expect(() => toWireMoney(1.5, 'EUR')).toThrow(IntegrationError);
  });
});

describe('order states', () => {
  test('an order waiting for the payer needs the approval link', () => {
    const p = paymentFromOrder(order(OrderStatus.Created));
    expect(p).toMatchObject({ status: 'requires_action', amountMinor: 100_00, currency: 'EUR' });
    expect(p.nextAction).toEqual({ type: 'redirect', url: `https://www.paypal.com/checkoutnow?token=${ORDER_ID}` });
    expect(() => paymentFromOrder({ ...order(OrderStatus.PayerActionRequired), links: [] })).toThrow(ConnectorError);
  });

  test.each([
    ['APPROVED', undefined, 'pending', 0, 0],
    ['VOIDED', undefined, 'canceled', 0, 0],
    ['COMPLETED', { captures: [{ id: 'C1', status: 'COMPLETED', amount: eur('100.00') }] }, 'succeeded', 100_00, 0],
    [
      'COMPLETED',
      {
        captures: [{ id: 'C1', status: 'PARTIALLY_REFUNDED', amount: eur('100.00') }],
        refunds: [
          { id: 'R1', status: 'COMPLETED', amount: eur('30.00') },
          { id: 'R2', status: 'PENDING', amount: eur('10.00') },
        ],
      },
      'partially_refunded',
      100_00,
      30_00,
    ],
    [
      'COMPLETED',
      {
        captures: [{ id: 'C1', status: 'REFUNDED', amount: eur('100.00') }],
        refunds: [
          { id: 'R1', status: 'COMPLETED', amount: eur('30.00') },
          { id: 'R2', status: 'COMPLETED', amount: eur('70.00') },
        ],
      },
      'refunded',
      100_00,
      100_00,
    ],
    ['COMPLETED', { captures: [{ id: 'C1', status: 'PENDING', amount: eur('100.00') }] }, 'pending', 0, 0],
    ['COMPLETED', { captures: [{ id: 'C1', status: 'DECLINED', amount: eur('100.00') }] }, 'failed', 0, 0],
    ['COMPLETED', { authorizations: [{ id: 'A1', status: 'CREATED', amount: eur('100.00') }] }, 'authorized', 0, 0],
    ['COMPLETED', { authorizations: [{ id: 'A1', status: 'VOIDED', amount: eur('100.00') }] }, 'canceled', 0, 0],
    ['COMPLETED', { authorizations: [{ id: 'A1', status: 'DENIED', amount: eur('100.00') }] }, 'failed', 0, 0],
    [
      'COMPLETED',
      {
        authorizations: [{ id: 'A1', status: 'VOIDED', amount: eur('100.00') }],
        captures: [{ id: 'C1', status: 'COMPLETED', amount: eur('60.00') }],
      },
      'succeeded',
      60_00,
      0,
    ],
  ] as const)('order %s with %j is %s (captured %i, refunded %i)', (status, payments, state, captured, refunded) => {
    const p = paymentFromOrder(order(status as OrderStatus, payments as never));
    expect(p).toMatchObject({ status: state, capturedMinor: captured, refundedMinor: refunded });
    if (state === 'failed') expect(p.decline?.code).toBe('card_declined');
  });

  test('a status PayPal adds later is an error, not a guess', () => {
    expect(() => paymentFromOrder(order('ON_HOLD' as OrderStatus))).toThrow(/unknown order status "ON_HOLD"/);
    expect(() =>
      paymentFromOrder(order(OrderStatus.Completed, { captures: [{ id: 'C', status: 'FROZEN' as never }] })),
    ).toThrow(/unknown capture status/);
  });
});

describe('refund ids and URLs', () => {
  test('our refund id travels in invoice_id and comes back', () => {
    const body = refundRequestFrom({
      paymentId: PID,
      refundId: 'r-9',
      amountMinor: 5_00,
      currency: 'EUR',
      idempotencyKey: 'k',
    });
    expect(body).toEqual({ amount: { currencyCode: 'EUR', value: '5.00' }, customId: PID, invoiceId: `${PID}:r-9` });
    expect(refundIdOf(PID, `${PID}:r-9`)).toBe('r-9');
    expect(refundIdOf(PID, 'someone-elses-invoice')).toBeUndefined();
    expect(refundIdOf(undefined, `${PID}:r-9`)).toBeUndefined();
  });

  test('the cancel URL is the return URL with paypal_cancel=1, other parameters kept', () => {
    expect(cancelUrlOf('https://shop.example/back?s=1#top')).toBe('https://shop.example/back?s=1&paypal_cancel=1#top');
  });
});

describe('webhook events', () => {
  const resolver = (orders: Record<string, string> = {}): OrderResolver & { asked: string[] } => {
    const asked: string[] = [];
    return {
      asked,
      orderOfCapture: async (id) => {
        asked.push(`capture:${id}`);
        const o = orders[id];
        if (!o) throw new Error(`unknown capture ${id}`);
        return o;
      },
      orderOfAuthorization: async (id) => {
        asked.push(`authorization:${id}`);
        return orders[id] ?? 'NONE';
      },
    };
  };
  const envelope = (
    event_type: string,
    resource_type: string,
    resource: Record<string, unknown>,
  ): PayPalWebhookEnvelope => ({
    id: 'WH-2WR32451HC0233532-67976317FL4543714',
    event_type,
    resource_type,
    create_time: '2026-11-29T10:05:00.000Z',
    resource,
  });
  const captureResource = {
    id: '42311647XV020574X',
    status: 'COMPLETED',
    amount: { currency_code: 'EUR', value: '123.45' },
    custom_id: PID,
    supplementary_data: { related_ids: { order_id: ORDER_ID } },
    update_time: '2026-11-29T10:04:59Z',
  };

  test('PAYMENT.CAPTURE.COMPLETED names the order, our payment and the captured amount without a lookup', async () => {
    const r = resolver();
    const events = await eventsFromWebhook(envelope('PAYMENT.CAPTURE.COMPLETED', 'capture', captureResource), r);
    expect(events).toEqual([
      {
        eventId: 'WH-2WR32451HC0233532-67976317FL4543714',
        type: 'payment.succeeded',
        providerReference: ORDER_ID,
        paymentId: PID,
        amountMinor: 123_45,
        currency: 'EUR',
        occurredAt: '2026-11-29T10:04:59Z',
      },
    ]);
    expect(r.asked).toEqual([]);
  });

  test('PAYMENT.CAPTURE.DENIED is payment.failed with a unified decline', async () => {
    const [e] = await eventsFromWebhook(
      envelope('PAYMENT.CAPTURE.DENIED', 'capture', { ...captureResource, status: 'DECLINED' }),
      resolver(),
    );
    expect(e).toMatchObject({ type: 'payment.failed', decline: { code: 'card_declined', providerCode: 'DECLINED' } });
  });

  test('PAYMENT.CAPTURE.REFUNDED: one refund, its amount and our refund id; the order comes from its capture', async () => {
    const r = resolver({ '42311647XV020574X': ORDER_ID });
    const [e] = await eventsFromWebhook(
      envelope('PAYMENT.CAPTURE.REFUNDED', 'refund', {
        id: '1Y107995YT783435V',
        status: 'COMPLETED',
        amount: { currency_code: 'EUR', value: '23.45' },
        custom_id: PID,
        invoice_id: `${PID}:r1`,
        links: [
          { href: 'https://api.paypal.com/v2/payments/refunds/1Y107995YT783435V', rel: 'self', method: 'GET' },
          { href: 'https://api.paypal.com/v2/payments/captures/42311647XV020574X', rel: 'up', method: 'GET' },
        ],
      }),
      r,
    );
    expect(e).toMatchObject({
      type: 'payment.refunded',
      providerReference: ORDER_ID,
      paymentId: PID,
      refundId: 'r1',
      amountMinor: 23_45,
    });
    expect(r.asked).toEqual(['capture:42311647XV020574X']);
  });

  test('disputes name the capture; CHECKOUT.ORDER.APPROVED names the order itself', async () => {
    const dispute = {
      dispute_id: 'PP-D-27803',
      status: 'OPEN',
      dispute_amount: { currency_code: 'EUR', value: '123.45' },
      disputed_transactions: [{ seller_transaction_id: '42311647XV020574X', custom: PID }],
    };
    const r = resolver({ '42311647XV020574X': ORDER_ID });
    const [opened] = await eventsFromWebhook(envelope('CUSTOMER.DISPUTE.CREATED', 'dispute', dispute), r);
    expect(opened).toMatchObject({ type: 'payment.dispute_opened', providerReference: ORDER_ID, paymentId: PID });
    const [approved] = await eventsFromWebhook(
      envelope('CHECKOUT.ORDER.APPROVED', 'checkout-order', {
        id: ORDER_ID,
        status: 'APPROVED',
        purchase_units: [{ custom_id: PID, amount: { currency_code: 'EUR', value: '123.45' } }],
      }),
      r,
    );
    expect(approved).toMatchObject({ type: 'payment.pending', providerReference: ORDER_ID, paymentId: PID });
  });

  test('event types we do not handle give no events; a resource without its fields is malformed', async () => {
    expect(await eventsFromWebhook(envelope('PAYMENT.PAYOUTSBATCH.SUCCESS', 'payouts', {}), resolver())).toEqual([]);
    await expect(
      eventsFromWebhook(envelope('PAYMENT.CAPTURE.COMPLETED', 'capture', { id: 'X' }), resolver()),
    ).rejects.toBeInstanceOf(MalformedEvent);
  });

  test('every mapped type is one of ours', () => {
    for (const row of Object.values(WEBHOOK_EVENTS)) expect(WEBHOOK_EVENT_TYPES).toContain(row.type);
  });
});

describe('config and secrets', () => {
  test('defaults, and the secret is kept out of every rendering', () => {
    const c = parsePayPalConfig({
      clientId: 'AY',
      clientSecret: 'EG-very-secret',
      webhookId: 'WH1',
      baseUrl: 'http://127.0.0.1:9/',
    });
    expect(c).toMatchObject({
      environment: 'sandbox',
      baseUrl: 'http://127.0.0.1:9',
      timeoutMs: 30_000,
      webhookToleranceSec: 300,
      allowHttpCertUrlsForTests: false,
      certHosts: ['api.paypal.com', 'api-m.paypal.com', 'api.sandbox.paypal.com', 'api-m.sandbox.paypal.com'],
    });
    expect(c.clientSecret).toBeInstanceOf(Secret);
    expect(c.clientSecret.reveal()).toBe('EG-very-secret');
    for (const shown of [String(c.clientSecret), `${c.clientSecret}`, JSON.stringify(c), inspect(c, { depth: 5 })]) {
      expect(shown).not.toContain('EG-very-secret');
    }
    // A config that was parsed already passes again unchanged.
    expect(parsePayPalConfig(c).clientSecret.reveal()).toBe('EG-very-secret');
  });

  test('scrub masks tokens, secrets and e-mail addresses', () => {
    expect(scrub('Authorization: Bearer A21AAabcdefghijk')).toBe('Authorization: [REDACTED]');
    expect(scrub('{"client_secret":"EGabc","email_address":"erika@example.de"}')).toBe(
      '{"client_secret":"[REDACTED]","email_address":"[EMAIL]"}',
    );
  });
});

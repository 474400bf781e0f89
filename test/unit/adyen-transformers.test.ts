import { inspect } from 'node:util';
import { Types } from '@adyen/api-library';
import { ConnectorError, IntegrationError, IntegrityError } from '../../src/domain/errors';
import { PAYMENT_STATES } from '../../src/domain/types';
import { parseAdyenProviderConfig } from '../../src/gateway/providers/adyen/config';
import {
  EVENT_CODE_TABLE,
  EVENT_CODES,
  eventOf,
  fromPaymentResult,
  idempotencyKeyFor,
  nextActionOf,
  parseMerchantReference,
  parseNotificationRequest,
  RESULT_CODES,
  refundReference,
  scrub,
  stateOf,
  toDetailsRequest,
  toPaymentRequest,
  toRefundRequest,
} from '../../src/gateway/providers/adyen/transformers';
import type { CreatePaymentInput } from '../../src/gateway/providers/types';

const payment = (over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => ({
  paymentId: '0195f3c2-7a1b-7000-8000-000000000001',
  idempotencyKey: 'payment:0195f3c2-7a1b-7000-8000-000000000001:create',
  amountMinor: 1_190_00,
  currency: 'EUR',
  method: 'card',
  providerType: 'scheme',
  capture: 'automatic',
  returnUrl: 'https://shop.example/return',
  country: 'DE',
  locale: 'de-DE',
  payer: { debtorId: 'D-1', email: 'erika@example.de' },
  methodData: {
    extra: {
      encryptedCardNumber: 'test_4111111111111111',
      encryptedExpiryMonth: 'test_03',
      encryptedExpiryYear: 'test_2030',
      encryptedSecurityCode: 'test_737',
    },
  },
  ...over,
});
const opts = { merchantAccount: 'ClearhubECOM', recurringProcessingModel: 'UnscheduledCardOnFile' as const };

describe('adyen /payments request', () => {
  test('an automatic-capture card payment, field by field', () => {
    expect(toPaymentRequest(payment(), opts)).toEqual({
      merchantAccount: 'ClearhubECOM',
      amount: { value: 119_000, currency: 'EUR' },
      reference: '0195f3c2-7a1b-7000-8000-000000000001',
      returnUrl: 'https://shop.example/return',
      paymentMethod: {
        type: 'scheme',
        encryptedCardNumber: 'test_4111111111111111',
        encryptedExpiryMonth: 'test_03',
        encryptedExpiryYear: 'test_2030',
        encryptedSecurityCode: 'test_737',
      },
      authenticationData: { threeDSRequestData: { nativeThreeDS: 'disabled' } },
      captureDelayHours: 0,
      countryCode: 'DE',
      shopperLocale: 'de_DE',
      shopperEmail: 'erika@example.de',
      shopperReference: 'D-1',
    });
  });

  test('manual capture asks for it per payment, whatever the merchant account says', () => {
    const req = toPaymentRequest(payment({ capture: 'manual' }), opts);
    expect(req.additionalData).toEqual({ manualCapture: 'true' });
    expect(req.captureDelayHours).toBeUndefined();
  });

  test('a JPY amount goes out as it is (exponent 0); floats and unknown currencies are refused', () => {
    expect(toPaymentRequest(payment({ amountMinor: 5_000, currency: 'JPY' }), opts).amount).toEqual({
      value: 5_000,
      currency: 'JPY',
    });
    expect(() => toPaymentRequest(payment({ amountMinor: 12.5 }), opts)).toThrow(IntegrationError);
    expect(() => toPaymentRequest(payment({ currency: 'XYZ' }), opts)).toThrow(/currency/);
  });

  test("CLP and ISK go out in Adyen's two decimals, not ISO 4217's none; the answer comes back in ours", () => {
    // Adyen "Currency codes": CLP 2 (differs from standard), ISK 2. 15 000 pesos are 1 500 000 at Adyen.
    expect(toPaymentRequest(payment({ amountMinor: 15_000, currency: 'CLP' }), opts).amount).toEqual({
      value: 1_500_000,
      currency: 'CLP',
    });
    expect(toRefundRequest('ClearhubECOM', { amountMinor: 2_790, currency: 'ISK' }, 'p-1', 'r-9').amount).toEqual({
      value: 279_000,
      currency: 'ISK',
    });
    const p = fromPaymentResult(
      { pspReference: 'A', resultCode: 'Authorised', amount: { value: 1_500_000, currency: 'CLP' } },
      { paymentId: 'p', capture: 'automatic', sent: { amountMinor: 15_000, currency: 'CLP' } },
    );
    expect(p).toMatchObject({ status: 'succeeded', amountMinor: 15_000, capturedMinor: 15_000 });
  });

  test('recurring: the first stores the method, a subsequent charges the stored one without the shopper', () => {
    expect(toPaymentRequest(payment({ recurring: 'first' }), opts)).toMatchObject({
      storePaymentMethod: true,
      shopperInteraction: 'Ecommerce',
      recurringProcessingModel: 'UnscheduledCardOnFile',
      shopperReference: 'D-1',
    });
    const next = toPaymentRequest(
      payment({ recurring: 'subsequent', methodData: { mandateId: 'M5N7TQ4TG5PFWR50' } }),
      opts,
    );
    expect(next).toMatchObject({
      shopperInteraction: 'ContAuth',
      paymentMethod: { type: 'scheme', storedPaymentMethodId: 'M5N7TQ4TG5PFWR50' },
    });
    expect(() => toPaymentRequest(payment({ recurring: 'first', payer: {} }), opts)).toThrow(/payer.debtorId/);
    expect(() => toPaymentRequest(payment({ recurring: 'subsequent', methodData: {} }), opts)).toThrow(/mandateId/);
  });

  test('extra top-level fields pass through, but never over ours', () => {
    const req = toPaymentRequest(
      payment({
        providerType: 'klarna',
        methodData: {
          extra: {
            paymentRequest: {
              lineItems: [{ quantity: 1, amountIncludingTax: 119_000 }],
              amount: { value: 1, currency: 'EUR' },
            },
          },
        },
      }),
      opts,
    );
    expect(req.lineItems).toEqual([{ quantity: 1, amountIncludingTax: 119_000 }]);
    expect(req.amount).toEqual({ value: 119_000, currency: 'EUR' });
    expect(req.paymentMethod).toEqual({ type: 'klarna' });
  });

  test('a reference longer than Adyen takes is refused, naming the field', () => {
    expect(() => toPaymentRequest(payment({ paymentId: 'x'.repeat(81) }), opts)).toThrow(/paymentId/);
  });

  test('completion sends the redirectResult, and says which parameter is missing', () => {
    expect(toDetailsRequest({ redirectResult: 'X6XtfGC3!Y...' })).toEqual({
      details: { redirectResult: 'X6XtfGC3!Y...' },
    });
    expect(() => toDetailsRequest({ foo: 'bar' })).toThrow(/returnParams.redirectResult/);
  });

  test('refunds carry payment and refund id in the reference; long keys are shortened the same way every time', () => {
    const req = toRefundRequest('ClearhubECOM', { amountMinor: 500, currency: 'EUR' }, 'p-1', 'r-9');
    expect(req).toEqual({
      merchantAccount: 'ClearhubECOM',
      amount: { value: 500, currency: 'EUR' },
      reference: 'p-1:refund:r-9',
    });
    expect(parseMerchantReference(req.reference!)).toEqual({ paymentId: 'p-1', refundId: 'r-9' });
    expect(parseMerchantReference('p-1')).toEqual({ paymentId: 'p-1' });
    expect(refundReference('p'.repeat(70), 'r'.repeat(20))).toBe('p'.repeat(70));
    const long = `payment:${'a'.repeat(36)}:refund:${'b'.repeat(40)}`;
    expect(idempotencyKeyFor(long)).toHaveLength(64);
    expect(idempotencyKeyFor(long)).toBe(idempotencyKeyFor(long));
    expect(idempotencyKeyFor('payment:1:create')).toBe('payment:1:create');
  });
});

describe('adyen /payments answers (recorded from the CheckoutService-v72 examples)', () => {
  const sent = { amountMinor: 1_000, currency: 'USD' };

  test('Authorised without amount (card-securedfields-200) succeeds with what we sent', () => {
    const res = {
      additionalData: { cvcResult: '1 Matches', authCode: '065696', refusalReasonRaw: 'AUTHORISED' },
      pspReference: '993617895215577D',
      resultCode: 'Authorised',
      merchantReference: 'Your order number',
    };
    const p = fromPaymentResult(res, { paymentId: 'Your order number', capture: 'automatic', sent });
    expect(p).toEqual({
      providerReference: '993617895215577D',
      status: 'succeeded',
      providerStatus: 'Authorised',
      amountMinor: 1_000,
      currency: 'USD',
      capturedMinor: 1_000,
      refundedMinor: 0,
      nextAction: { type: 'none' },
    });
    expect(fromPaymentResult(res, { paymentId: 'Your order number', capture: 'manual', sent }).status).toBe(
      'authorized',
    );
  });

  test('RedirectShopper (card-3d-secure-redirect-200) sends the payer to the URL', () => {
    const p = fromPaymentResult(
      {
        pspReference: 'JLCMPCQ8HXSKGK82',
        resultCode: 'RedirectShopper',
        action: {
          paymentMethodType: 'scheme',
          url: 'https://checkoutshopper-test.adyen.com/checkoutshopper/threeDS/redirect...',
          method: 'GET',
          type: 'redirect',
        },
      },
      { paymentId: 'p', capture: 'automatic', sent },
    );
    expect(p.status).toBe('requires_action');
    expect(p.nextAction).toEqual({
      type: 'redirect',
      url: 'https://checkoutshopper-test.adyen.com/checkoutshopper/threeDS/redirect...',
    });
  });

  test('a POST redirect or a native action goes to the Drop-in as its action object', () => {
    const post = { type: 'redirect', method: 'POST', url: 'https://issuer.example/acs', data: { PaReq: 'x' } };
    expect(nextActionOf(post)).toEqual({ type: 'client_secret', clientSecret: JSON.stringify(post) });
    const qr = { type: 'qrCode', paymentMethodType: 'twint', qrCodeData: 'abc' };
    expect(nextActionOf(qr)).toEqual({ type: 'client_secret', clientSecret: JSON.stringify(qr) });
  });

  test('Refused carries the mapped decline; Error without a known reason is a processing error', () => {
    const refused = fromPaymentResult(
      { pspReference: 'A', resultCode: 'Refused', refusalReason: 'Not enough balance', refusalReasonCode: '12' },
      { paymentId: 'p', capture: 'automatic', sent },
    );
    expect(refused).toMatchObject({
      status: 'failed',
      capturedMinor: 0,
      decline: { code: 'insufficient_funds', providerCode: '12', message: 'Not enough balance' },
    });
    const error = fromPaymentResult(
      { pspReference: 'A', resultCode: 'Error', refusalReason: 'Something odd' },
      { paymentId: 'p', capture: 'automatic', sent },
    );
    expect(error.decline).toEqual({
      code: 'processing_error',
      providerCode: 'Something odd',
      message: 'Something odd',
    });
  });

  test('an echo that differs is an integrity error; an unknown resultCode is indeterminate', () => {
    const ctx = { paymentId: 'p', capture: 'automatic' as const, sent };
    expect(() =>
      fromPaymentResult(
        { pspReference: 'A', resultCode: 'Authorised', amount: { value: 100_000, currency: 'USD' } },
        ctx,
      ),
    ).toThrow(IntegrityError);
    expect(() =>
      fromPaymentResult({ pspReference: 'A', resultCode: 'Authorised', merchantReference: 'q' }, ctx),
    ).toThrow(IntegrityError);
    expect(() =>
      fromPaymentResult({ pspReference: 'B', resultCode: 'Authorised' }, { ...ctx, providerReference: 'A' }),
    ).toThrow(IntegrityError);
    const unknown = (() => {
      try {
        fromPaymentResult({ pspReference: 'A', resultCode: 'Settled' }, ctx);
      } catch (e) {
        return e;
      }
    })();
    expect(unknown).toBeInstanceOf(ConnectorError);
    expect((unknown as ConnectorError).indeterminate).toBe(true);
  });

  test('PartiallyAuthorised reports the reserved amount and waits for a capture or cancel', () => {
    const p = fromPaymentResult(
      { pspReference: 'A', resultCode: 'PartiallyAuthorised', amount: { value: 600, currency: 'USD' } },
      { paymentId: 'p', capture: 'automatic', sent },
    );
    expect(p).toMatchObject({ status: 'authorized', amountMinor: 600, capturedMinor: 0 });
  });

  test('the resultCode list is the SDK’s v72 enum, and every code maps to a payment state', () => {
    expect([...RESULT_CODES].sort()).toEqual(Object.values(Types.checkout.PaymentResponse.ResultCodeEnum).sort());
    for (const code of RESULT_CODES) {
      expect(PAYMENT_STATES).toContain(stateOf(code, 'automatic'));
      expect(PAYMENT_STATES).toContain(stateOf(code, 'manual'));
    }
  });
});

describe('adyen Standard webhooks', () => {
  const body = (item: Record<string, unknown>, live = 'false') =>
    Buffer.from(JSON.stringify({ live, notificationItems: [{ NotificationRequestItem: item }] }));
  /** Adyen's CHARGEBACK example (Webhooks-v1), hmacSignature shortened as there. */
  const chargeback = {
    additionalData: {
      chargebackReasonCode: ' 4853',
      hmacSignature: 'b0ea55c2fe60d4d1d605e9c385e0e7...',
      chargebackSchemeCode: 'mc',
    },
    amount: { currency: 'EUR', value: 1000 },
    eventCode: 'CHARGEBACK',
    eventDate: '2021-01-01T01:00:00+01:00',
    merchantAccountCode: 'YOUR_MERCHANT_ACCOUNT',
    merchantReference: 'YOUR_MERCHANT_REFERENCE',
    originalReference: '9913140798220028',
    paymentMethod: 'mc',
    pspReference: 'QFQTPCQ8HXSKGK82',
    reason: 'Payment.TxId=300000000524534724 dispute',
    success: 'true',
  };

  test("Adyen's CHARGEBACK example becomes a chargeback of the original payment", () => {
    const [item] = parseNotificationRequest(body(chargeback)).items;
    expect(eventOf(item!)).toEqual({
      eventId: 'CHARGEBACK:QFQTPCQ8HXSKGK82:true',
      type: 'payment.charged_back',
      providerReference: '9913140798220028',
      paymentId: 'YOUR_MERCHANT_REFERENCE',
      amountMinor: 1000,
      currency: 'EUR',
      occurredAt: '2021-01-01T00:00:00.000Z',
    });
  });

  test('an ISK refund of 279000 in Adyen minor units is 2790 kronur', () => {
    const refund = { ...chargeback, eventCode: 'REFUND', amount: { currency: 'ISK', value: 279_000 } };
    expect(eventOf(parseNotificationRequest(body(refund)).items[0]!)).toMatchObject({
      type: 'payment.refunded',
      amountMinor: 2_790,
      currency: 'ISK',
    });
  });

  test('AUTHORISATION: captured at once (captureDelayHours 0) is succeeded, otherwise authorized; false is failed', () => {
    const auth = {
      ...chargeback,
      eventCode: 'AUTHORISATION',
      originalReference: undefined,
      merchantReference: 'p-1',
      pspReference: 'V4HZ4RBFJGXXGN82',
      reason: undefined,
    };
    const parse = (over: Record<string, unknown>) =>
      eventOf(parseNotificationRequest(body({ ...auth, ...over })).items[0]!);
    expect(parse({ additionalData: { captureDelayHours: '0' } })?.type).toBe('payment.succeeded');
    expect(parse({ additionalData: {} })?.type).toBe('payment.authorized');
    expect(parse({ success: 'false', reason: 'CVC Declined' })).toMatchObject({
      type: 'payment.failed',
      eventId: 'AUTHORISATION:V4HZ4RBFJGXXGN82:false',
      providerReference: 'V4HZ4RBFJGXXGN82',
      decline: { code: 'incorrect_cvc', providerCode: 'CVC Declined' },
    });
  });

  test('modifications name the payment by originalReference; refunds carry our refund id', () => {
    const refund = {
      ...chargeback,
      eventCode: 'REFUND',
      merchantReference: 'p-1:refund:r-2',
      pspReference: 'REFUNDPSP0000001',
      originalReference: 'PAYMENTPSP000001',
    };
    expect(eventOf(parseNotificationRequest(body(refund)).items[0]!)).toMatchObject({
      type: 'payment.refunded',
      providerReference: 'PAYMENTPSP000001',
      paymentId: 'p-1',
      refundId: 'r-2',
      eventId: 'REFUND:REFUNDPSP0000001:true',
    });
    const cor = { ...refund, eventCode: 'CANCEL_OR_REFUND', additionalData: { 'modification.action': 'refund' } };
    expect(eventOf(parseNotificationRequest(body(cor)).items[0]!)?.type).toBe('payment.refunded');
    const cancel = { ...cor, additionalData: { 'modification.action': 'cancel' } };
    expect(eventOf(parseNotificationRequest(body(cancel)).items[0]!)?.type).toBe('payment.canceled');
    expect(
      eventOf(parseNotificationRequest(body({ ...refund, eventCode: 'CAPTURE', success: 'false' })).items[0]!),
    ).toBe(undefined);
    expect(eventOf(parseNotificationRequest(body({ ...refund, eventCode: 'SOMETHING_NEW' })).items[0]!)).toBe(
      undefined,
    );
  });

  test('the event table covers the spec’s eventCode enum and the SDK’s', () => {
    expect(Object.keys(EVENT_CODE_TABLE).sort()).toEqual([...EVENT_CODES].sort());
    for (const code of Object.values(Types.notification.NotificationRequestItem.EventCodeEnum)) {
      expect(EVENT_CODES).toContain(code);
    }
  });

  test.each([
    ['not JSON', Buffer.from('eventCode=AUTHORISATION')],
    ['no items', Buffer.from('{"live":"false","notificationItems":[]}')],
    ['an amount as a decimal', body({ ...chargeback, amount: { value: 10.5, currency: 'EUR' } })],
    ['success not a string', body({ ...chargeback, success: true })],
    ['no eventDate', body({ ...chargeback, eventDate: undefined })],
    ['additionalData with a number', body({ ...chargeback, additionalData: { hmacSignature: 1 } })],
  ])('a body with %s is malformed', (_name, raw) => {
    expect(() => parseNotificationRequest(raw)).toThrow(
      expect.objectContaining({ name: 'WebhookRejected', reason: 'malformed' }),
    );
  });
});

describe('adyen config and scrub', () => {
  const base = { apiKey: 'AQE_secret_key_value', merchantAccount: 'ClearhubECOM', hmacKeyHex: 'AB'.repeat(32) };

  test('secrets never print', () => {
    const c = parseAdyenProviderConfig(base);
    expect(c.apiKey.reveal()).toBe('AQE_secret_key_value');
    const printed = `${JSON.stringify(c)} ${inspect(c, { depth: 5 })} ${String(c.apiKey)}`;
    expect(printed).not.toContain('AQE_secret_key_value');
    expect(printed).not.toContain('AB'.repeat(32));
    expect(c).toMatchObject({ environment: 'TEST', timeoutMs: 30_000, multiplePartialCaptures: false });
  });

  test('LIVE needs the endpoint prefix and takes no baseUrl; the HMAC key must be hex; errors show no values', () => {
    expect(() => parseAdyenProviderConfig({ ...base, environment: 'LIVE' })).toThrow(/liveEndpointUrlPrefix/);
    expect(() =>
      parseAdyenProviderConfig({
        ...base,
        environment: 'LIVE',
        liveEndpointUrlPrefix: 'abc-Co',
        baseUrl: 'http://127.0.0.1:1',
      }),
    ).toThrow(/baseUrl/);
    const err = (() => {
      try {
        parseAdyenProviderConfig({ ...base, hmacKeyHex: 'not-hex-AQE_secret_key_value' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/hmacKeyHex/);
    expect(err?.message).not.toContain('AQE_secret_key_value');
  });

  test('scrub masks keys, card fields, card numbers, IBANs and e-mails in wire text', () => {
    const wire =
      'X-API-Key: AQE_secret_key_value {"encryptedCardNumber":"test_4111111111111111","encryptedSecurityCode":"test_737",' +
      '"hmacSignature":"coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=","iban":"DE89370400440532013000","shopperEmail":"erika@example.de",' +
      '"note":"card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00"}';
    const out = scrub(wire);
    for (const secret of [
      'AQE_secret_key_value',
      '4111111111111111',
      'test_737',
      'coqCmt',
      'DE89370400440532013000',
      'erika@example.de',
      '4111 1111',
      'DE89 3704',
    ]) {
      expect(out).not.toContain(secret);
    }
  });
});

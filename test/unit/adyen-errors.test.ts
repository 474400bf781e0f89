import { HttpClientException, hmacValidator, type Types } from '@adyen/api-library';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { declineOf, REFUSAL_REASONS, toAdyenError } from '../../src/gateway/providers/adyen/errors';
import { DECLINE_CODES } from '../../src/gateway/providers/types';
import { HOLDER_NAME_OUTCOMES } from '../simulators/adyen/cards';
import { hmacSignature, type NotificationItem, signedData } from '../simulators/adyen/notifications';

const ctx = { merchantAccount: 'ClearhubECOM', environment: 'TEST', mutating: true };

/** An error as the SDK's client (and ours) raises it for a non-2xx answer. */
const http = (statusCode: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new HttpClientException({
    message: `HTTP ${statusCode}`,
    statusCode,
    responseHeaders: headers,
    responseBody: JSON.stringify(body),
    apiError: body as unknown as Types.checkout.ServiceError,
  });

describe('adyen refusal reasons', () => {
  test.each([
    ['12', 'Not enough balance', 'insufficient_funds'],
    ['6', 'Expired Card', 'expired_card'],
    ['24', 'CVC Declined', 'incorrect_cvc'],
    ['20', 'FRAUD', 'fraud_suspected'],
    ['11', '3D Not Authenticated', 'authentication_failed'],
    ['28', 'Withdrawal amount exceeded', 'limit_exceeded'],
    ['2', 'Refused', 'card_declined'],
    ['16', 'Shopper Cancelled', 'canceled_by_shopper'],
    ['10', 'Not supported', 'not_supported'],
  ])('refusalReasonCode %s (%s) is %s, by code and by the text alone', (code, reason, unified) => {
    expect(declineOf(code, reason)).toEqual({ code: unified, providerCode: code, message: reason });
    expect(declineOf(undefined, reason.toUpperCase()).code).toBe(unified);
  });

  test('an unknown reason is other, keeping Adyen’s words; every row maps to one of our codes', () => {
    expect(declineOf('99', 'Moon in the wrong phase')).toEqual({
      code: 'other',
      providerCode: '99',
      message: 'Moon in the wrong phase',
    });
    for (const row of REFUSAL_REASONS) expect(DECLINE_CODES).toContain(row.decline);
  });

  test("every refusal the simulator's holderName table can produce is in the table with the same code", () => {
    for (const [holder, o] of Object.entries(HOLDER_NAME_OUTCOMES)) {
      if (!o.refusalReasonCode) continue;
      const row = REFUSAL_REASONS.find((r) => r.code === o.refusalReasonCode);
      expect({ holder, reason: row?.reason }).toEqual({ holder, reason: o.refusalReason });
    }
  });
});

describe('adyen error tiers', () => {
  test('401 names apiKey, 403 the merchant account', () => {
    const e401 = toAdyenError(
      http(401, {
        status: 401,
        errorCode: '000',
        message: 'HTTP Status Response - Unauthorized',
        errorType: 'security',
      }),
      'POST /payments',
      ctx,
    );
    expect(e401).toBeInstanceOf(IntegrationError);
    expect((e401 as IntegrationError).field).toBe('apiKey');
    const e403 = toAdyenError(
      http(403, { status: 403, errorCode: '901', message: 'Invalid Merchant Account', errorType: 'security' }),
      'POST /payments',
      ctx,
    );
    expect((e403 as IntegrationError).field).toBe('merchantAccount');
    expect(e403.message).toContain('ClearhubECOM');
  });

  test('422 names the field from Adyen’s errorCode and quotes Adyen’s message', () => {
    const e = toAdyenError(
      http(422, {
        status: 422,
        errorCode: '14_030',
        message: 'Return URL is missing.',
        errorType: 'validation',
        pspReference: '8816118280275544',
      }),
      'POST /payments',
      ctx,
    );
    expect(e).toBeInstanceOf(IntegrationError);
    expect((e as IntegrationError).field).toBe('returnUrl');
    expect(e.message).toContain('Return URL is missing.');
    expect((e as IntegrationError).details).toMatchObject({
      status: 422,
      errorCode: '14_030',
      pspReference: '8816118280275544',
    });
  });

  test('5xx and timeouts are indeterminate for money-moving calls; a refused connection moved nothing', () => {
    const e500 = toAdyenError(
      http(500, {
        status: 500,
        errorCode: '905',
        message: 'Payment details are not supported',
        errorType: 'configuration',
      }),
      'POST /payments',
      ctx,
    );
    expect(e500).toBeInstanceOf(ConnectorError);
    expect((e500 as ConnectorError).indeterminate).toBe(true);
    const timeout = toAdyenError(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' }), 'POST /payments', ctx);
    expect((timeout as ConnectorError).indeterminate).toBe(true);
    const refused = toAdyenError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'POST /payments', ctx);
    expect(refused).toBeInstanceOf(ConnectorError);
    expect((refused as ConnectorError).indeterminate).toBe(false);
    expect(toAdyenError(http(429, { status: 429 }), 'POST /payments', ctx)).toMatchObject({ indeterminate: false });
  });

  test('704: in progress (transient-error) is retried with the same key; reused for another request is our mistake', () => {
    const body = {
      status: 422,
      errorCode: '704',
      message: 'request already processed or in progress',
      errorType: 'validation',
    };
    const transient = toAdyenError(http(409, body, { 'transient-error': 'true' }), 'POST /payments', ctx);
    expect(transient).toBeInstanceOf(ConnectorError);
    expect((transient as ConnectorError).indeterminate).toBe(true);
    const reused = toAdyenError(http(422, body), 'POST /payments', ctx);
    expect(reused).toBeInstanceOf(IntegrationError);
    expect((reused as IntegrationError).field).toBe('idempotencyKey');
  });
});

describe('adyen webhook HMAC: the simulator signs as Adyen documents, the SDK validator agrees', () => {
  const item: NotificationItem = {
    additionalData: {},
    amount: { value: 1130, currency: 'EUR' },
    eventCode: 'AUTHORISATION',
    eventDate: '2014-08-06T13:39:03+00:00',
    merchantAccountCode: 'TestMerchant',
    merchantReference: 'TestPayment-1407325143704',
    pspReference: '7914073381342284',
    success: 'true',
  };
  const key = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';

  test('signed data and signature of the vector in NOTES §2', () => {
    expect(signedData(item)).toBe(
      '7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true',
    );
    expect(hmacSignature(item, key)).toBe('coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=');
  });

  test('the SDK validates the simulator’s signature and refuses a changed amount', () => {
    const signed = { ...item, additionalData: { hmacSignature: hmacSignature(item, key) } };
    const v = new hmacValidator();
    expect(v.validateHMAC(signed as unknown as Types.notification.NotificationRequestItem, key)).toBe(true);
    const changed = { ...signed, amount: { value: 11300, currency: 'EUR' } };
    expect(v.validateHMAC(changed as unknown as Types.notification.NotificationRequestItem, key)).toBe(false);
  });
});

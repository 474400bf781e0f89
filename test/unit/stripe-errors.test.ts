/**
 * The provider on recorded Stripe traffic: the SDK runs unchanged, only its HTTP client is replaced by one that
 * records what would go on the wire and plays back a recorded answer. Asserts the outgoing request and how each
 * answer (or failure) lands in our tiers.
 */
import { inspect } from 'node:util';
import type Stripe from 'stripe';
import { ConnectorError, IntegrationError, IntegrityError } from '../../src/domain/errors';
import { createStripeProvider, type StripeProvider } from '../../src/gateway/providers/stripe/provider';
import type { CreatePaymentInput } from '../../src/gateway/providers/types';

const KEY = 'sk_test_51RecordedKeyNeverPrinted4321';
const PAYMENT_ID = '0190a5c1-7e2b-7c3d-8e4f-5a6b7c8d9e0f';

type MakeRequest = Stripe.HttpClient['makeRequest'];
interface Sent {
  host: string;
  port: string;
  path: string;
  method: string;
  headers: Parameters<MakeRequest>[4];
  body: string;
  timeout: number;
}
interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

class RecordedHttp implements Stripe.HttpClient {
  readonly sent: Sent[] = [];
  constructor(private readonly replies: (Reply | Error)[]) {}
  getClientName(): string {
    return 'recorded';
  }
  async makeRequest(...[host, port, path, method, headers, body, _protocol, timeout]: Parameters<MakeRequest>) {
    this.sent.push({ host, port, path, method, headers, body, timeout });
    const r = this.replies.shift();
    if (!r) throw new Error('no recorded answer left');
    if (r instanceof Error) throw r;
    return {
      getStatusCode: () => r.status,
      getHeaders: () => ({ 'request-id': 'req_recorded01', ...r.headers }),
      getRawResponse: () => ({}),
      toStream: () => {
        throw new Error('not streamed');
      },
      toJSON: async () => r.body,
    };
  }
}

function provider(replies: (Reply | Error)[]): { p: StripeProvider; http: RecordedHttp } {
  const http = new RecordedHttp(replies);
  const p = createStripeProvider(
    { secretKey: KEY, webhookSecret: 'whsec_recorded', timeoutMs: 5_000 },
    { httpClient: http },
  );
  return { p, http };
}

const input: CreatePaymentInput = {
  paymentId: PAYMENT_ID,
  idempotencyKey: `payment:${PAYMENT_ID}:create`,
  amountMinor: 12_345,
  currency: 'EUR',
  method: 'card',
  providerType: 'card',
  capture: 'automatic',
  returnUrl: 'https://shop.example/return?o=7',
  description: 'Invoice 7',
  methodData: { token: 'pm_card_chargeDeclinedInsufficientFunds' },
};

const intent = (over: Record<string, unknown> = {}) => ({
  id: 'pi_3QxYzA2eZvKYlo2C1aBcDeFg',
  object: 'payment_intent',
  amount: 12_345,
  amount_capturable: 0,
  amount_received: 0,
  capture_method: 'automatic',
  client_secret: 'pi_3QxYzA2eZvKYlo2C1aBcDeFg_secret_hIjKlMnOpQrStUvWx',
  currency: 'eur',
  last_payment_error: null,
  latest_charge: null,
  metadata: { clearhub_payment_id: PAYMENT_ID },
  next_action: null,
  status: 'requires_payment_method',
  ...over,
});

/** A card decline as Stripe answers it: 402 with the PaymentIntent in the error. */
const DECLINE_402: Reply = {
  status: 402,
  body: {
    error: {
      charge: 'ch_3QxYzA2eZvKYlo2C1HiJkLmN',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      doc_url: 'https://stripe.com/docs/error-codes/card-declined',
      message: 'Your card has insufficient funds.',
      payment_intent: intent({
        last_payment_error: {
          charge: 'ch_3QxYzA2eZvKYlo2C1HiJkLmN',
          code: 'card_declined',
          decline_code: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
          type: 'card_error',
        },
        latest_charge: 'ch_3QxYzA2eZvKYlo2C1HiJkLmN',
      }),
      request_log_url: 'https://dashboard.stripe.com/test/logs/req_recorded01?t=1700000000',
      type: 'card_error',
    },
  },
};

async function thrown(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );
}

test('a decline: the request on the wire, and the 402 read as a failed payment with its decline', async () => {
  const { p, http } = provider([DECLINE_402]);
  const out = await p.create(input);
  expect(out).toMatchObject({
    providerReference: 'pi_3QxYzA2eZvKYlo2C1aBcDeFg',
    status: 'failed',
    providerStatus: 'requires_payment_method',
    decline: { code: 'insufficient_funds', providerCode: 'insufficient_funds' },
    nextAction: { type: 'none' },
  });
  const [req] = http.sent;
  expect(req).toMatchObject({ host: 'api.stripe.com', port: '443', method: 'POST', path: '/v1/payment_intents' });
  expect(req!.headers).toMatchObject({
    Authorization: `Bearer ${KEY}`,
    'Idempotency-Key': `payment:${PAYMENT_ID}:create`,
    'Content-Type': 'application/x-www-form-urlencoded',
    'Stripe-Version': '2026-10-28.endive',
  });
  expect(req!.timeout).toBe(5_000);
  expect(req!.body).toBe(
    'amount=12345&currency=eur&capture_method=automatic&allowed_payment_method_types[0]=card' +
      `&metadata[clearhub_payment_id]=${PAYMENT_ID}&description=Invoice%207` +
      '&payment_method=pm_card_chargeDeclinedInsufficientFunds&confirm=true' +
      '&return_url=https%3A%2F%2Fshop.example%2Freturn%3Fo%3D7&expand[0]=latest_charge',
  );
});

test('a partial capture: amount_to_capture on the wire; the released rest is not counted as refunded', async () => {
  const charge = {
    id: 'ch_1',
    object: 'charge',
    amount: 12_345,
    amount_captured: 10_000,
    amount_refunded: 2_345,
    captured: true,
    currency: 'eur',
    status: 'succeeded',
  };
  const { p, http } = provider([
    { status: 200, body: intent({ status: 'succeeded', amount_received: 10_000, latest_charge: charge }) },
  ]);
  const out = await p.capture('pi_3QxYzA2eZvKYlo2C1aBcDeFg', {
    paymentId: PAYMENT_ID,
    amountMinor: 10_000,
    currency: 'EUR',
    idempotencyKey: `payment:${PAYMENT_ID}:capture:1`,
  });
  expect(out).toMatchObject({ status: 'succeeded', capturedMinor: 10_000, refundedMinor: 0 });
  expect(http.sent[0]).toMatchObject({
    method: 'POST',
    path: '/v1/payment_intents/pi_3QxYzA2eZvKYlo2C1aBcDeFg/capture',
    body: 'amount_to_capture=10000&expand[0]=latest_charge',
  });
  expect(http.sent[0]!.headers).toMatchObject({ 'Idempotency-Key': `payment:${PAYMENT_ID}:capture:1` });
});

test('a refund: the request on the wire and the answer', async () => {
  const { p, http } = provider([
    {
      status: 200,
      body: {
        id: 're_1',
        object: 'refund',
        amount: 2_345,
        currency: 'eur',
        payment_intent: 'pi_1',
        status: 'succeeded',
        metadata: { clearhub_refund_id: 'r1' },
      },
    },
  ]);
  const r = await p.refund('pi_1', {
    paymentId: PAYMENT_ID,
    refundId: 'r1',
    amountMinor: 2_345,
    currency: 'EUR',
    idempotencyKey: `payment:${PAYMENT_ID}:refund:r1`,
  });
  expect(r).toEqual({ providerRefundReference: 're_1', status: 'succeeded', amountMinor: 2_345, currency: 'EUR' });
  expect(http.sent[0]!.body).toBe(
    `payment_intent=pi_1&amount=2345&metadata[clearhub_refund_id]=r1&metadata[clearhub_payment_id]=${PAYMENT_ID}`,
  );
});

describe('echo checks', () => {
  test('Stripe echoing another amount is an integrity error', async () => {
    const { p } = provider([
      { status: 200, body: intent({ amount: 12_346, status: 'succeeded', amount_received: 12_346 }) },
    ]);
    expect(await thrown(p.create({ ...input, methodData: { token: 'pm_card_visa' } }))).toBeInstanceOf(IntegrityError);
  });

  test('an answer for another payment under our idempotency key is an integrity error', async () => {
    const { p } = provider([{ status: 200, body: intent({ metadata: { clearhub_payment_id: 'someone-else' } }) }]);
    expect(await thrown(p.create(input))).toBeInstanceOf(IntegrityError);
  });

  test('a refund echoed with another amount is an integrity error', async () => {
    const { p } = provider([
      { status: 200, body: { id: 're_1', object: 'refund', amount: 2_344, currency: 'eur', status: 'succeeded' } },
    ]);
    const err = await thrown(
      p.refund('pi_1', { paymentId: 'p', refundId: 'r', amountMinor: 2_345, currency: 'EUR', idempotencyKey: 'k' }),
    );
    expect(err).toBeInstanceOf(IntegrityError);
  });
});

const stripeError = (status: number, error: Record<string, unknown>, headers?: Record<string, string>): Reply => ({
  status,
  body: { error },
  ...(headers ? { headers } : {}),
});

const socketError = (code: string): Error => Object.assign(new Error(code), { code });

describe('errors land in the right tier', () => {
  test.each([
    [
      '401 bad key',
      stripeError(401, {
        message: `Invalid API Key provided: sk_test_${'*'.repeat(24)}4321`,
        type: 'invalid_request_error',
      }),
      IntegrationError,
      'secretKey',
    ],
    [
      '403 restricted key',
      stripeError(403, {
        message: 'The provided key rk_test_***4321 does not have the required permissions for this endpoint.',
        type: 'invalid_request_error',
      }),
      IntegrationError,
      'secretKey',
    ],
    [
      '400 bad parameter',
      stripeError(400, {
        code: 'parameter_invalid_integer',
        message: 'Invalid integer: 12.5',
        param: 'amount',
        type: 'invalid_request_error',
      }),
      IntegrationError,
      'amount',
    ],
    [
      '400 idempotency key reused with other parameters',
      stripeError(400, {
        message:
          "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'payment:x:create' if you meant to execute a different request.",
        type: 'idempotency_error',
      }),
      IntegrationError,
      'idempotencyKey',
    ],
  ])('%s → IntegrationError on %s, without the key', async (_name, reply, cls, field) => {
    const { p } = provider([reply]);
    const err = await thrown(p.create(input));
    expect(err).toBeInstanceOf(cls);
    expect((err as IntegrationError).field).toBe(field);
    const all = `${err.message} ${inspect(err, { depth: 10 })} ${JSON.stringify(err)}`;
    expect(all).not.toContain('4321');
    expect(all).not.toContain(KEY);
  });

  test('the 401 message says the secret key is wrong and what to check', async () => {
    const { p } = provider([
      stripeError(401, { message: 'Invalid API Key provided: sk_test_****4321', type: 'invalid_request_error' }),
    ]);
    expect((await thrown(p.create(input))).message).toMatch(/rejected the secret key.*check secretKey/);
  });

  test('the 400 message names the parameter and Stripe’s code', async () => {
    const { p } = provider([
      stripeError(400, {
        code: 'amount_too_small',
        message: 'Amount must be at least €0.50 eur',
        param: 'amount',
        type: 'invalid_request_error',
      }),
    ]);
    expect((await thrown(p.create(input))).message).toMatch(/parameter amount.*amount_too_small/);
  });

  test.each([
    [
      '409 same key in flight',
      [stripeError(409, { code: 'idempotency_key_in_use', message: 'in progress', type: 'invalid_request_error' })],
      true,
    ],
    // The same conflict typed as an idempotency error is no proof that nothing was charged: no failover on it.
    [
      '409 same key in flight, typed idempotency_error',
      [stripeError(409, { code: 'idempotency_key_in_use', message: 'in progress', type: 'idempotency_error' })],
      true,
    ],
    ['500', [stripeError(500, { message: 'Sorry, something went wrong.', type: 'api_error' })], true],
    ['503', [stripeError(503, { message: 'unavailable', type: 'api_error' })], true],
    ['timeout', [socketError('ETIMEDOUT')], true],
    // The SDK retries a reset connection once even with maxNetworkRetries 0, with the same Idempotency-Key.
    ['connection reset twice', [socketError('ECONNRESET'), socketError('ECONNRESET')], true],
    [
      '429 rate limited',
      [stripeError(429, { code: 'rate_limit', message: 'Too many requests', type: 'invalid_request_error' })],
      false,
    ],
    [
      'lock timeout',
      [stripeError(429, { code: 'lock_timeout', message: 'locked', type: 'invalid_request_error' })],
      false,
    ],
    ['connection refused', [socketError('ECONNREFUSED')], false],
    ['host not found', [socketError('ENOTFOUND')], false],
  ] as const)(
    'a POST that fails with %s is a ConnectorError, indeterminate: %s',
    async (_name, replies, indeterminate) => {
      const { p, http } = provider([...replies]);
      const err = await thrown(p.create({ ...input, methodData: { token: 'pm_card_visa' } }));
      expect(err).toBeInstanceOf(ConnectorError);
      expect((err as ConnectorError).indeterminate).toBe(indeterminate);
      expect(new Set(http.sent.map((s) => s.headers['Idempotency-Key']))).toEqual(
        new Set([`payment:${PAYMENT_ID}:create`]),
      );
    },
  );

  test('a GET that fails is a ConnectorError that is never indeterminate (it changed nothing)', async () => {
    const { p } = provider([socketError('ETIMEDOUT')]);
    const err = await thrown(p.retrieve('pi_1'));
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(false);
  });

  test('a 404 names the missing object', async () => {
    const { p, http } = provider([
      stripeError(404, {
        code: 'resource_missing',
        message: "No such payment_intent: 'pi_x'",
        param: 'intent',
        type: 'invalid_request_error',
      }),
    ]);
    const err = await thrown(p.retrieve('pi_x'));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.message).toContain("No such payment_intent: 'pi_x'");
    expect(http.sent[0]).toMatchObject({ method: 'GET', path: '/v1/payment_intents/pi_x?expand[0]=latest_charge' });
  });
});

test('options are validated, naming the option and never echoing a secret', () => {
  const attempt = () =>
    createStripeProvider({ secretKey: 'pk_test_notASecretKey', webhookSecret: 'whsec_x', timeoutMs: 0 });
  expect(attempt).toThrow(IntegrationError);
  try {
    attempt();
  } catch (e) {
    expect((e as Error).message).toMatch(/secretKey: expected a Stripe secret key/);
    expect((e as Error).message).toMatch(/timeoutMs/);
    expect((e as Error).message).not.toContain('pk_test_notASecretKey');
  }
});

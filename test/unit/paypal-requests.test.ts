/**
 * The PayPal provider's traffic on recorded payloads: what the official SDK sends for each flow (method, URL, headers,
 * snake_case body) and how recorded answers — including PayPal's error JSON and transport failures — come out.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { createPayPalProvider, PAYPAL_SDK_VERSION } from '../../src/gateway/providers/paypal';
import type { CreatePaymentInput } from '../../src/gateway/providers/types';
import { type Reply, recordingAdapter, TOKEN_REPLY, transportError } from '../simulators/paypal/recorder';

const ORDER_ID = '5O190127TN364715T';
const PAYMENT_ID = '0196c3a2-1111-7000-8000-000000000001';

const CONFIG = { clientId: 'AYclient', clientSecret: 'EGsecret-value', webhookId: 'WH1234567890' };

const input: CreatePaymentInput = {
  paymentId: PAYMENT_ID,
  idempotencyKey: `payment:${PAYMENT_ID}:create`,
  amountMinor: 1_190_00,
  currency: 'EUR',
  method: 'paypal',
  providerType: 'paypal',
  capture: 'automatic',
  returnUrl: 'https://shop.example/return?session=42',
  locale: 'de-DE',
  description: 'Rechnung 4711',
  payer: { email: 'erika@example.de' },
};

const link = (href: string, rel: string, method = 'GET') => ({ href, rel, method });
const amount = { currency_code: 'EUR', value: '1190.00' };
const unit = { reference_id: PAYMENT_ID, amount, custom_id: PAYMENT_ID, invoice_id: PAYMENT_ID };

/** Recorded answers shaped like PayPal's (values made up). */
const ORDER_CREATED = {
  status: 200,
  body: {
    id: ORDER_ID,
    intent: 'CAPTURE',
    status: 'PAYER_ACTION_REQUIRED',
    payment_source: { paypal: { email_address: 'erika@example.de' } },
    purchase_units: [unit],
    create_time: '2026-11-29T10:00:00Z',
    links: [
      link(`https://api-m.sandbox.paypal.com/v2/checkout/orders/${ORDER_ID}`, 'self'),
      link(`https://www.sandbox.paypal.com/checkoutnow?token=${ORDER_ID}`, 'payer-action'),
    ],
  },
};
const ORDER_APPROVED = {
  status: 200,
  body: { ...ORDER_CREATED.body, status: 'APPROVED', links: [ORDER_CREATED.body.links[0]] },
};
const capture = (status: string, extra: object = {}) => ({
  id: '3C679366HH908993F',
  status,
  amount,
  final_capture: true,
  custom_id: PAYMENT_ID,
  invoice_id: PAYMENT_ID,
  create_time: '2026-11-29T10:01:00Z',
  update_time: '2026-11-29T10:01:00Z',
  ...extra,
});
const ORDER_CAPTURED = {
  status: 201,
  body: {
    ...ORDER_APPROVED.body,
    status: 'COMPLETED',
    purchase_units: [{ ...unit, payments: { captures: [capture('COMPLETED')] } }],
  },
};
const error422 = (issue: string, field?: string) => ({
  status: 422,
  body: {
    name: 'UNPROCESSABLE_ENTITY',
    message: 'The requested action could not be performed, semantically incorrect, or failed business validation.',
    debug_id: 'f1e2d3c4b5a69',
    details: [{ ...(field ? { field, location: 'body' } : {}), issue, description: `${issue} (recorded)` }],
  },
});

function provider(routes: Record<string, Reply | Reply[]>, over: object = {}) {
  const rec = recordingAdapter({ 'POST /v1/oauth2/token': TOKEN_REPLY, ...routes });
  const paypal = createPayPalProvider({ ...CONFIG, ...over }, { adapter: rec.adapter });
  return { paypal, requests: rec.requests };
}

const completeInput = {
  paymentId: PAYMENT_ID,
  idempotencyKey: `payment:${PAYMENT_ID}:complete`,
  capture: 'automatic' as const,
};

test('the installed SDK is the version the base-URL rewrite was written for', () => {
  // dist/cjs/index.js → the package root (its exports hide package.json from require.resolve).
  const root = path.resolve(require.resolve('@paypal/paypal-server-sdk'), '../../..');
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  expect(pkg).toMatchObject({ name: '@paypal/paypal-server-sdk', version: PAYPAL_SDK_VERSION });
});

test('create: a token first, then the order with intent, our ids, the amount as a decimal string and the wallet', async () => {
  const { paypal, requests } = provider({ 'POST /v2/checkout/orders': ORDER_CREATED });
  const p = await paypal.create(input);

  expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
    'POST https://api-m.sandbox.paypal.com/v1/oauth2/token',
    'POST https://api-m.sandbox.paypal.com/v2/checkout/orders',
  ]);
  const [token, create] = requests;
  expect(token!.headers.authorization).toBe(`Basic ${Buffer.from('AYclient:EGsecret-value').toString('base64')}`);
  expect(token!.body).toBe('grant_type=client_credentials');
  expect(create!.headers).toMatchObject({
    authorization: 'Bearer A21AAtest-access-token-0001',
    'paypal-request-id': `payment:${PAYMENT_ID}:create`,
    prefer: 'return=representation',
    'content-type': 'application/json',
  });
  expect(create!.body).toEqual({
    intent: 'CAPTURE',
    purchase_units: [
      {
        reference_id: PAYMENT_ID,
        custom_id: PAYMENT_ID,
        invoice_id: PAYMENT_ID,
        description: 'Rechnung 4711',
        amount: { currency_code: 'EUR', value: '1190.00' },
      },
    ],
    payment_source: {
      paypal: {
        email_address: 'erika@example.de',
        experience_context: {
          return_url: 'https://shop.example/return?session=42',
          cancel_url: 'https://shop.example/return?session=42&paypal_cancel=1',
          user_action: 'PAY_NOW',
          shipping_preference: 'NO_SHIPPING',
          locale: 'de-DE',
        },
      },
    },
  });
  expect(p).toEqual({
    providerReference: ORDER_ID,
    status: 'requires_action',
    providerStatus: 'PAYER_ACTION_REQUIRED',
    amountMinor: 1_190_00,
    currency: 'EUR',
    capturedMinor: 0,
    refundedMinor: 0,
    nextAction: { type: 'redirect', url: `https://www.sandbox.paypal.com/checkoutnow?token=${ORDER_ID}` },
  });
});

test('manual capture asks for intent AUTHORIZE; production goes to api-m.paypal.com; baseUrl rewrites the host', async () => {
  const prod = provider({ 'POST /v2/checkout/orders': ORDER_CREATED }, { environment: 'production' });
  await prod.paypal.create({ ...input, capture: 'manual' });
  expect(prod.requests[1]!.url).toBe('https://api-m.paypal.com/v2/checkout/orders');
  expect((prod.requests[1]!.body as { intent: string }).intent).toBe('AUTHORIZE');

  const local = provider({ 'POST /v2/checkout/orders': ORDER_CREATED }, { baseUrl: 'http://127.0.0.1:4010/' });
  await local.paypal.create(input);
  expect(local.requests.map((r) => r.url)).toEqual([
    'http://127.0.0.1:4010/v1/oauth2/token',
    'http://127.0.0.1:4010/v2/checkout/orders',
  ]);
});

test('an order amount PayPal echoes differently is an integrity error', async () => {
  const wrong = {
    status: 200,
    body: { ...ORDER_CREATED.body, purchase_units: [{ ...unit, amount: { currency_code: 'EUR', value: '11.90' } }] },
  };
  const { paypal } = provider({ 'POST /v2/checkout/orders': wrong });
  await expect(paypal.create(input)).rejects.toMatchObject({ name: 'IntegrityError' });
});

test('complete captures an approved order with the complete key; the capture is in the result', async () => {
  const { paypal, requests } = provider({
    [`GET /v2/checkout/orders/${ORDER_ID}`]: ORDER_APPROVED,
    [`POST /v2/checkout/orders/${ORDER_ID}/capture`]: ORDER_CAPTURED,
  });
  const p = await paypal.complete(ORDER_ID, {
    ...completeInput,
    returnParams: { token: ORDER_ID, PayerID: 'QYR5Z8XDVJNXQ' },
  });
  const cap = requests.find((r) => r.url.endsWith('/capture'))!;
  expect(cap.method).toBe('POST');
  expect(cap.headers['paypal-request-id']).toBe(`payment:${PAYMENT_ID}:complete`);
  expect(p).toMatchObject({ status: 'succeeded', capturedMinor: 1_190_00, providerStatus: 'COMPLETED/COMPLETED' });
});

test('complete: INSTRUMENT_DECLINED is a decline result; ORDER_ALREADY_CAPTURED reads the order instead', async () => {
  const declined = provider({
    [`GET /v2/checkout/orders/${ORDER_ID}`]: ORDER_APPROVED,
    [`POST /v2/checkout/orders/${ORDER_ID}/capture`]: error422('INSTRUMENT_DECLINED'),
  });
  const d = await declined.paypal.complete(ORDER_ID, { ...completeInput, returnParams: { token: ORDER_ID } });
  expect(d).toMatchObject({
    status: 'failed',
    decline: { code: 'card_declined', providerCode: 'INSTRUMENT_DECLINED' },
    capturedMinor: 0,
  });

  const raced = provider({
    [`GET /v2/checkout/orders/${ORDER_ID}`]: [ORDER_APPROVED, { status: 200, body: ORDER_CAPTURED.body }],
    [`POST /v2/checkout/orders/${ORDER_ID}/capture`]: error422('ORDER_ALREADY_CAPTURED'),
  });
  const r = await raced.paypal.complete(ORDER_ID, { ...completeInput, returnParams: { token: ORDER_ID } });
  expect(r.status).toBe('succeeded');
});

test('complete with a token of another order is refused before any call', async () => {
  const { paypal, requests } = provider({});
  await expect(
    paypal.complete(ORDER_ID, { ...completeInput, returnParams: { token: 'OTHERORDER0000001' } }),
  ).rejects.toMatchObject({ name: 'IntegrationError', field: 'returnParams.token' });
  expect(requests).toEqual([]);
});

test('a capture that times out is indeterminate, and the error carries no credentials', async () => {
  const { paypal } = provider({
    [`GET /v2/checkout/orders/${ORDER_ID}`]: ORDER_APPROVED,
    [`POST /v2/checkout/orders/${ORDER_ID}/capture`]: transportError('ECONNABORTED', 'timeout of 30000ms exceeded'),
  });
  const err = await paypal.complete(ORDER_ID, { ...completeInput, returnParams: { token: ORDER_ID } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectorError);
  expect(err).toMatchObject({ indeterminate: true, options: { code: 'ECONNABORTED' } });
  const shown = `${JSON.stringify(err)} ${(err as Error).message} ${String((err as Error).cause)}`;
  expect(shown).not.toContain('A21AAtest-access-token-0001');
  expect(shown).not.toContain('EGsecret-value');
});

test('capture of an authorization: amount, final_capture and the capture key go to Payments v2', async () => {
  const authorized = {
    status: 200,
    body: {
      ...ORDER_APPROVED.body,
      intent: 'AUTHORIZE',
      status: 'COMPLETED',
      purchase_units: [
        { ...unit, payments: { authorizations: [{ id: '0VF52814937998046', status: 'CREATED', amount }] } },
      ],
    },
  };
  const afterCapture = {
    status: 200,
    body: {
      ...authorized.body,
      purchase_units: [
        {
          ...unit,
          payments: {
            authorizations: [{ id: '0VF52814937998046', status: 'CAPTURED', amount }],
            captures: [capture('COMPLETED', { amount: { currency_code: 'EUR', value: '1000.00' } })],
          },
        },
      ],
    },
  };
  const { paypal, requests } = provider({
    [`GET /v2/checkout/orders/${ORDER_ID}`]: [authorized, afterCapture],
    'POST /v2/payments/authorizations/0VF52814937998046/capture': {
      status: 201,
      body: capture('COMPLETED', { amount: { currency_code: 'EUR', value: '1000.00' } }),
    },
  });
  const p = await paypal.capture(ORDER_ID, {
    paymentId: PAYMENT_ID,
    amountMinor: 1_000_00,
    currency: 'EUR',
    idempotencyKey: `payment:${PAYMENT_ID}:capture:1`,
  });
  const cap = requests.find((r) => r.url.endsWith('/capture'))!;
  expect(cap.body).toEqual({ amount: { currency_code: 'EUR', value: '1000.00' }, final_capture: true });
  expect(cap.headers['paypal-request-id']).toBe(`payment:${PAYMENT_ID}:capture:1`);
  expect(p).toMatchObject({ status: 'succeeded', capturedMinor: 1_000_00, amountMinor: 1_190_00 });
});

test('refund: to the order’s capture, with amount, our ids and the refund key; a different echo is refused', async () => {
  const refund = (value: string) => ({
    status: 201,
    body: {
      id: '1JU08902781691411',
      status: 'COMPLETED',
      amount: { currency_code: 'EUR', value },
      custom_id: PAYMENT_ID,
      invoice_id: `${PAYMENT_ID}:r1`,
      links: [link('https://api-m.sandbox.paypal.com/v2/payments/captures/3C679366HH908993F', 'up')],
    },
  });
  const ok = provider({
    [`GET /v2/checkout/orders/${ORDER_ID}`]: { status: 200, body: ORDER_CAPTURED.body },
    'POST /v2/payments/captures/3C679366HH908993F/refund': refund('100.00'),
  });
  const r = await ok.paypal.refund(ORDER_ID, {
    paymentId: PAYMENT_ID,
    refundId: 'r1',
    amountMinor: 100_00,
    currency: 'EUR',
    idempotencyKey: `payment:${PAYMENT_ID}:refund:r1`,
    reason: 'Kulanz',
  });
  const req = ok.requests.find((x) => x.url.endsWith('/refund'))!;
  expect(req.body).toEqual({
    amount: { currency_code: 'EUR', value: '100.00' },
    custom_id: PAYMENT_ID,
    invoice_id: `${PAYMENT_ID}:r1`,
    note_to_payer: 'Kulanz',
  });
  expect(req.headers['paypal-request-id']).toBe(`payment:${PAYMENT_ID}:refund:r1`);
  expect(r).toEqual({
    providerRefundReference: '1JU08902781691411',
    status: 'succeeded',
    amountMinor: 100_00,
    currency: 'EUR',
  });

  const off = provider({
    [`GET /v2/checkout/orders/${ORDER_ID}`]: { status: 200, body: ORDER_CAPTURED.body },
    'POST /v2/payments/captures/3C679366HH908993F/refund': refund('10.00'),
  });
  await expect(
    off.paypal.refund(ORDER_ID, {
      paymentId: PAYMENT_ID,
      refundId: 'r1',
      amountMinor: 100_00,
      currency: 'EUR',
      idempotencyKey: `payment:${PAYMENT_ID}:refund:r1`,
    }),
  ).rejects.toMatchObject({ name: 'IntegrityError' });
});

test('a 400 from create names the field PayPal points at', async () => {
  const { paypal } = provider({
    'POST /v2/checkout/orders': {
      status: 400,
      body: {
        name: 'INVALID_REQUEST',
        message: 'Request is not well-formed, syntactically incorrect, or violates schema.',
        debug_id: 'b2c3d4e5f6a71',
        details: [
          {
            field: "/purchase_units/@reference_id=='default'/amount/currency_code",
            location: 'body',
            issue: 'INVALID_PARAMETER_VALUE',
            description: 'recorded',
          },
        ],
      },
    },
  });
  const err = await paypal.create(input).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IntegrationError);
  expect((err as IntegrationError).field).toBe("purchase_units.@reference_id=='default'.amount.currency_code");
  expect((err as Error).message).toMatch(/INVALID_PARAMETER_VALUE.*debug_id b2c3d4e5f6a71/);
});

test('methods other than the PayPal wallet are refused before any call', async () => {
  const { paypal, requests } = provider({});
  await expect(paypal.create({ ...input, method: 'ideal', providerType: 'ideal' })).rejects.toMatchObject({
    name: 'IntegrationError',
    field: 'providerType',
  });
  expect(requests).toEqual([]);
});

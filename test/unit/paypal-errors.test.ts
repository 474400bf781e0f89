/**
 * PayPal's failures in our three tiers: declines as results with unified codes, IntegrationError naming the field or
 * the credential, ConnectorError (indeterminate only when PayPal may have acted). Secrets never travel in an error.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import {
  DECLINE_ISSUES,
  declineOf,
  failureOf,
  type PayPalFailure,
  SETTLED_BY_ORDER_ISSUES,
  toPayPalError,
} from '../../src/gateway/providers/paypal/errors';
import { DECLINE_CODES } from '../../src/gateway/providers/types';

const ctx = { what: 'capture order 5O190127TN364715T', mutating: true, environment: 'sandbox' as const };
const body422 = (issue: string, field?: string) => ({
  name: 'UNPROCESSABLE_ENTITY',
  message: 'The requested action could not be performed, semantically incorrect, or failed business validation.',
  debug_id: '90957fca61718',
  details: [{ ...(field ? { field } : {}), issue, description: 'recorded description' }],
});

test('every decline issue maps to a unified decline code', () => {
  for (const [issue, code] of Object.entries(DECLINE_ISSUES)) {
    expect(DECLINE_CODES).toContain(code);
    expect(declineOf({ status: 422, body: body422(issue) })).toEqual({
      code,
      providerCode: issue,
      message: 'recorded description',
    });
  }
  expect(declineOf({ status: 422, body: body422('INSTRUMENT_DECLINED') })?.code).toBe('card_declined');
  expect(declineOf({ status: 422, body: body422('TRANSACTION_LIMIT_EXCEEDED') })?.code).toBe('limit_exceeded');
  // Not a refusal of the payer's means: no decline.
  expect(declineOf({ status: 422, body: body422('DUPLICATE_INVOICE_ID') })).toBeUndefined();
  expect(declineOf({ status: 400, body: body422('INSTRUMENT_DECLINED') })).toBeUndefined();
});

const contracts = path.resolve(__dirname, '../../../shared/contracts/psp/paypal');
(existsSync(contracts) ? test : test.skip)(
  'the issue names in the tables are PayPal’s (Orders v2 / Payments v2 specs)',
  () => {
    const text = ['checkout_orders_v2.json', 'payments_payment_v2.json']
      .map((f) => readFileSync(path.join(contracts, f), 'utf8'))
      .join('\n');
    for (const issue of [...Object.keys(DECLINE_ISSUES), ...SETTLED_BY_ORDER_ISSUES]) {
      expect({ issue, known: text.includes(`"${issue}"`) }).toEqual({ issue, known: true });
    }
  },
);

test('the token endpoint refusing the credentials names clientId/clientSecret and the environment', () => {
  const err = toPayPalError(
    { status: 401, token: true, body: { error: 'invalid_client', error_description: 'Client Authentication failed' } },
    { ...ctx, environment: 'production' },
  );
  expect(err).toBeInstanceOf(IntegrationError);
  expect((err as IntegrationError).field).toBe('clientId');
  expect(err.message).toMatch(/client id or secret for the production environment \(invalid_client\)/);
});

test.each([
  [400, 'INVALID_PARAMETER_SYNTAX', '/purchase_units/0/amount/value', 'purchase_units.0.amount.value'],
  [422, 'DUPLICATE_INVOICE_ID', '/purchase_units/0/invoice_id', 'purchase_units.0.invoice_id'],
  [422, 'REFUND_AMOUNT_EXCEEDED', undefined, undefined],
  [404, 'INVALID_RESOURCE_ID', undefined, 'providerReference'],
])('HTTP %i %s is an IntegrationError naming %s', (status, issue, field, expected) => {
  const err = toPayPalError({ status, body: body422(issue, field) }, ctx);
  expect(err).toBeInstanceOf(IntegrationError);
  expect((err as IntegrationError).field).toBe(expected);
  expect(err.message).toContain(issue);
  expect(err.message).toContain('debug_id 90957fca61718');
});

test.each<[string, PayPalFailure, boolean, boolean]>([
  ['500 on a capture', { status: 500, body: { name: 'INTERNAL_SERVER_ERROR' } }, true, true],
  ['500 on a read', { status: 500 }, false, false],
  ['503 on a capture', { status: 503 }, true, true],
  ['409 request in progress', { status: 409, body: body422('PREVIOUS_REQUEST_IN_PROGRESS') }, true, true],
  ['429 rate limited', { status: 429 }, true, false],
  ['timeout', { code: 'ECONNABORTED' }, true, true],
  ['connection reset', { code: 'ECONNRESET' }, true, true],
  ['connection refused', { code: 'ECONNREFUSED' }, true, false],
  ['answer not in the SDK schema', { code: 'PARSE' }, true, true],
  ['token endpoint down', { status: 503, token: true }, true, false],
])('%s is a ConnectorError (mutating %s → indeterminate %s)', (_name, f, mutating, indeterminate) => {
  const err = toPayPalError(f, { ...ctx, mutating });
  expect(err).toBeInstanceOf(ConnectorError);
  expect((err as ConnectorError).indeterminate).toBe(indeterminate);
});

test('failureOf keeps status and PayPal’s error fields, never the request the SDK error holds', () => {
  const sdkError = Object.assign(new Error('Response status code was not ok: 422.'), {
    name: 'CustomError',
    statusCode: 422,
    body: JSON.stringify(body422('INSTRUMENT_DECLINED')),
    request: { headers: { Authorization: 'Bearer A21AAsecret-token-xyz', 'PayPal-Request-Id': 'k' } },
  });
  const f = failureOf(sdkError);
  expect(f).toEqual({ status: 422, body: body422('INSTRUMENT_DECLINED') });
  const wrapped = toPayPalError({ status: 500, body: { name: 'INTERNAL_SERVER_ERROR' } }, ctx);
  expect(JSON.stringify(f) + JSON.stringify(wrapped) + String(wrapped.cause)).not.toContain('A21AAsecret-token-xyz');
  // An unexpected error's message is kept, with credentials masked.
  expect(failureOf(new TypeError('bad header Basic QVljbGllbnQ6RUdzZWNyZXQ=')).message).toBe(
    'TypeError: bad header Basic [REDACTED]',
  );
});

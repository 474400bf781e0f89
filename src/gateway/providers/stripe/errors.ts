/**
 * Error tables of the Stripe provider (DESIGN §3): Stripe's decline and error codes mapped to our closed set of
 * decline codes, and the SDK's error classes mapped to our tiers. Data, not logic: add a row when a new code shows up.
 */
import Stripe from 'stripe';
import { ConnectorError, IntegrationError } from '../../../domain/errors';
import type { Decline, DeclineCode } from '../types';

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  // Also Stripe's own masked echoes (`sk_test_****4321`): the last characters still identify the key.
  [/\b(sk|rk)_(live|test)_[A-Za-z0-9_*]+/g, '$1_$2_[REDACTED]'],
  [/\bwhsec_[A-Za-z0-9_+/=]+/g, 'whsec_[REDACTED]'],
  [/\b(pi|seti)_([A-Za-z0-9]+)_secret_[A-Za-z0-9]+/g, '$1_$2_secret_[REDACTED]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [REDACTED]'],
  [/\b(v1|v0)=[0-9a-f]{64}/g, '$1=[REDACTED]'],
];

/**
 * Masks what must not leave the provider in a message or log line: secret and restricted keys, webhook signing
 * secrets, client secrets, authorization headers and signatures. Idempotent.
 *
 * @example scrub('Invalid API Key provided: sk_test_abc') // 'Invalid API Key provided: sk_test_[REDACTED]'
 */
export function scrub(text: string): string {
  let s = text;
  for (const [re, to] of SECRET_PATTERNS) s = s.replace(re, to);
  return s;
}

/**
 * Stripe `decline_code` (issuer's reason) or `code` (Stripe's error code) → unified decline code. `decline_code` is
 * looked up first, then `code`; neither known → `other`. Sources: Stripe's "Decline codes" and "Error codes" pages.
 */
// biome-ignore format: a data table
export const DECLINE_CODE_MAP: Readonly<Record<string, DeclineCode>> = {
  insufficient_funds: 'insufficient_funds',
  card_declined: 'card_declined',
  generic_decline: 'card_declined',
  do_not_honor: 'card_declined',
  do_not_try_again: 'card_declined',
  call_issuer: 'card_declined',
  no_action_taken: 'card_declined',
  not_permitted: 'card_declined',
  restricted_card: 'card_declined',
  revocation_of_all_authorizations: 'card_declined',
  revocation_of_authorization: 'card_declined',
  stop_payment_order: 'card_declined',
  approve_with_id: 'card_declined',
  offline_pin_required: 'authentication_failed',
  online_or_offline_pin_required: 'authentication_failed',
  expired_card: 'expired_card',
  incorrect_cvc: 'incorrect_cvc',
  invalid_cvc: 'incorrect_cvc',
  incorrect_pin: 'authentication_failed',
  invalid_pin: 'authentication_failed',
  pin_try_exceeded: 'authentication_failed',
  fraudulent: 'fraud_suspected',
  lost_card: 'fraud_suspected',
  stolen_card: 'fraud_suspected',
  pickup_card: 'fraud_suspected',
  merchant_blacklist: 'fraud_suspected',
  security_violation: 'fraud_suspected',
  highest_risk_level: 'fraud_suspected',
  authentication_required: 'authentication_failed',
  payment_intent_authentication_failure: 'authentication_failed',
  setup_intent_authentication_failure: 'authentication_failed',
  card_velocity_exceeded: 'limit_exceeded',
  withdrawal_count_limit_exceeded: 'limit_exceeded',
  invalid_amount: 'limit_exceeded',
  incorrect_number: 'invalid_account',
  invalid_number: 'invalid_account',
  invalid_account: 'invalid_account',
  invalid_expiry_month: 'invalid_account',
  invalid_expiry_year: 'invalid_account',
  incorrect_zip: 'invalid_account',
  new_account_information_available: 'invalid_account',
  account_closed: 'invalid_account',
  bank_account_restricted: 'invalid_account',
  card_not_supported: 'not_supported',
  currency_not_supported: 'not_supported',
  transaction_not_allowed: 'not_supported',
  service_not_allowed: 'not_supported',
  payment_method_not_available: 'not_supported',
  payment_method_unactivated: 'not_supported',
  processing_error: 'processing_error',
  issuer_not_available: 'processing_error',
  try_again_later: 'processing_error',
  reenter_transaction: 'processing_error',
  duplicate_transaction: 'processing_error',
  payment_method_provider_timeout: 'processing_error',
  payment_method_provider_decline: 'card_declined',
  payment_intent_payment_attempt_failed: 'card_declined',
  payment_intent_payment_attempt_expired: 'canceled_by_shopper',
};

/** The error part of a PaymentIntent's `last_payment_error` or a card error: what a decline is made from. */
export interface StripeDeclineSource {
  code?: string | null;
  decline_code?: string | null;
  message?: string | null;
}

export function unifiedDeclineCode(src: StripeDeclineSource): DeclineCode {
  return (
    (src.decline_code ? DECLINE_CODE_MAP[src.decline_code] : undefined) ??
    (src.code ? DECLINE_CODE_MAP[src.code] : undefined) ??
    'other'
  );
}

/** Our decline from Stripe's error part; `providerCode` keeps Stripe's most specific code verbatim. */
export function declineOf(src: StripeDeclineSource): Decline {
  return {
    code: unifiedDeclineCode(src),
    providerCode: src.decline_code || src.code || 'unknown',
    message: scrub(src.message || 'the payment was declined'),
  };
}

type Tier = 'integration' | 'connector';

/**
 * The SDK's error classes (`err.type`) → tier. `applied`: whether Stripe may have acted on a mutating request that
 * failed this way (`maybe` makes a ConnectorError indeterminate). Card errors are results (declines) where a
 * PaymentIntent comes with them; the provider handles those before it gets here.
 */
// biome-ignore format: a data table
export const SDK_ERRORS: Readonly<Record<string, { tier: Tier; applied: 'no' | 'maybe'; meaning: string }>> = {
  StripeCardError:            { tier: 'integration', applied: 'no',    meaning: 'Stripe refused the payment method' },
  StripeInvalidRequestError:  { tier: 'integration', applied: 'no',    meaning: 'Stripe rejected the request' },
  StripeAuthenticationError:  { tier: 'integration', applied: 'no',    meaning: 'Stripe rejected the secret key (HTTP 401): check secretKey (sk_live_…/sk_test_… of this account, not revoked or rolled)' },
  StripePermissionError:      { tier: 'integration', applied: 'no',    meaning: 'the secret key may not do this (HTTP 403): a restricted key lacks the permission, or the account cannot use the feature' },
  StripeIdempotencyError:     { tier: 'integration', applied: 'no',    meaning: 'the idempotency key was already used with other parameters or on another endpoint' },
  StripeRateLimitError:       { tier: 'connector',   applied: 'no',    meaning: 'rate limited by Stripe (HTTP 429)' },
  StripeAPIError:             { tier: 'connector',   applied: 'maybe', meaning: 'Stripe had a problem' },
  StripeConnectionError:      { tier: 'connector',   applied: 'maybe', meaning: 'no answer from Stripe' },
};

/** Socket codes after which the request certainly never reached Stripe; anything else may have. */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_INVALID_URL',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

function socketCode(detail: unknown): string | undefined {
  if (detail && typeof detail === 'object' && 'code' in detail && typeof detail.code === 'string') return detail.code;
  return undefined;
}

/**
 * Wraps whatever the SDK threw in our tiers; never repeats the secret key (Stripe's own 401 message echoes part of
 * it, so that message is not used) and keeps no reference to the SDK error (its `raw` carries response headers).
 * @param what - the call, e.g. `capture (POST /v1/payment_intents/pi_…/capture)`.
 * @param mutating - the request may move money or change state, so a lost answer is indeterminate.
 */
export function toStripeError(err: unknown, what: string, mutating: boolean): Error {
  if (!(err instanceof Stripe.errors.StripeError)) {
    if (err instanceof IntegrationError || err instanceof ConnectorError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new ConnectorError(`${what}: ${scrub(message)}`, { code: 'stripe_client', indeterminate: mutating });
  }
  const row = SDK_ERRORS[err.type];
  const status = err.statusCode;
  const details = {
    status,
    type: err.rawType,
    code: err.code,
    param: err.param,
    requestId: err.requestId,
  };
  if (err.type === 'StripeAuthenticationError') {
    return new IntegrationError(`${what}: ${row?.meaning}`, 'secretKey', details);
  }
  if (err.type === 'StripePermissionError') {
    return new IntegrationError(`${what}: ${row?.meaning}: ${scrub(err.message)}`, 'secretKey', details);
  }
  // 409: another request with the same idempotency key is still running (or an object lock); it may go through,
  // whatever error type it comes with: checked before the idempotency error, which says "certainly not done".
  if (status === 409) {
    return new ConnectorError(`${what}: HTTP 409 conflict: ${scrub(err.message)}`, {
      code: `stripe_conflict${err.code ? `:${err.code}` : ''}`,
      indeterminate: mutating,
    });
  }
  if (err.type === 'StripeIdempotencyError') {
    return new IntegrationError(`${what}: ${row?.meaning}: ${scrub(err.message)}`, 'idempotencyKey', details);
  }
  if (err.type === 'StripeConnectionError') {
    const code = socketCode(err.detail);
    const sent = !(code && NOT_SENT_CODES.has(code));
    const timeout = code === 'ETIMEDOUT';
    return new ConnectorError(
      `${what}: ${timeout ? 'Stripe did not answer in time' : (row?.meaning ?? 'connection failed')}${code ? ` (${code})` : ''}${
        mutating && sent ? '; Stripe may have acted, sync the status before retrying with the same idempotency key' : ''
      }`,
      {
        code: timeout ? 'stripe_timeout' : `stripe_connection${code ? `:${code}` : ''}`,
        indeterminate: mutating && sent,
      },
    );
  }
  if (status !== undefined && status >= 500) {
    return new ConnectorError(`${what}: HTTP ${status} ${row?.meaning ?? 'server error'}: ${scrub(err.message)}`, {
      code: `HTTP_${status}`,
      indeterminate: mutating,
    });
  }
  if (err.type === 'StripeRateLimitError' || err.code === 'lock_timeout' || err.code === 'rate_limit') {
    return new ConnectorError(`${what}: ${row?.meaning ?? 'rate limited'}: ${scrub(err.message)}`, {
      code: `stripe_${err.code ?? 'rate_limit'}`,
      indeterminate: false,
    });
  }
  const tier: Tier = row?.tier ?? (status !== undefined && status < 500 ? 'integration' : 'connector');
  if (tier === 'connector') {
    return new ConnectorError(`${what}: ${row?.meaning ?? 'Stripe error'}: ${scrub(err.message)}`, {
      code: `stripe_${err.code ?? err.type}`,
      indeterminate: mutating && row?.applied !== 'no',
    });
  }
  const param = err.param ? ` (parameter ${err.param})` : '';
  const code = err.code ? ` [${err.code}]` : '';
  return new IntegrationError(
    `${what}: ${row?.meaning ?? 'Stripe rejected the request'}${param}${code}: ${scrub(err.message)}`,
    err.param || undefined,
    details,
  );
}

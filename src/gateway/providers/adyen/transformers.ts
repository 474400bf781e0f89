/**
 * Wire types of Adyen's Checkout API v72 and Standard webhooks (Webhooks v1), and the pure functions between them and
 * our provider types. No I/O here: `connector.ts` sends what these build.
 */

import { ConnectorError, IntegrationError, IntegrityError } from '../../../domain/errors';
import { assertEcho, exponentOf, isKnownCurrency, type Money } from '../../../domain/money';
import type { PaymentState } from '../../../domain/types';
import { keyWithin } from '../keys';
import {
  type CreatePaymentInput,
  type Decline,
  type NextAction,
  type ProviderPayment,
  type WebhookEvent,
  type WebhookEventType,
  WebhookRejected,
} from '../types';
import { declineOf } from './errors';

/** The origin the SDK builds every TEST Checkout URL on (`PaymentsApi.API_BASEPATH`). */
export const TEST_CHECKOUT_ORIGIN = 'https://checkout-test.adyen.com';
export const CHECKOUT_API_VERSION = 'v72';

/** `resultCode` of /payments and /payments/details in Checkout v72 (`PaymentResponse.resultCode` enum). */
export const RESULT_CODES = [
  'AuthenticationFinished',
  'AuthenticationNotRequired',
  'Authorised',
  'Cancelled',
  'ChallengeShopper',
  'Error',
  'IdentifyShopper',
  'PartiallyAuthorised',
  'Pending',
  'PresentToShopper',
  'Received',
  'RedirectShopper',
  'Refused',
  'Success',
] as const;
export type AdyenResultCode = (typeof RESULT_CODES)[number];

/**
 * `eventCode` of a Standard webhook item: the `NotificationRequestItem.eventCode` enum of Webhooks v1, then the codes
 * only other item schemas or webhook paths of that spec name, then those only the SDK's enum (32.1.0) lists.
 */
export const EVENT_CODES = [
  'AUTHENTICATION',
  'AUTHORISATION',
  'AUTHORISATION_ADJUSTMENT',
  'AUTORESCUE',
  'CANCELLATION',
  'CANCEL_AUTORESCUE',
  'CANCEL_OR_REFUND',
  'CAPTURE',
  'CAPTURE_FAILED',
  'CHARGEBACK',
  'CHARGEBACK_REVERSED',
  'DISPUTE_DEFENSE_PERIOD_ENDED',
  'EXPIRE',
  'HANDLED_EXTERNALLY',
  'INFORMATION_SUPPLIED',
  'ISSUER_COMMENTS',
  'ISSUER_RESPONSE_TIMEFRAME_EXPIRED',
  'MANUAL_REVIEW_ACCEPT',
  'MANUAL_REVIEW_REJECT',
  'NOTIFICATION_OF_CHARGEBACK',
  'NOTIFICATION_OF_FRAUD',
  'OFFER_CLOSED',
  'ORDER_CLOSED',
  'ORDER_OPENED',
  'PAYOUT_DECLINE',
  'PAYOUT_EXPIRE',
  'PAYOUT_THIRDPARTY',
  'POSTPONED_REFUND',
  'PREARBITRATION_LOST',
  'PREARBITRATION_OPEN',
  'PREARBITRATION_WON',
  'RECURRING_CONTRACT',
  'REFUND',
  'REFUNDED_REVERSED',
  'REFUND_FAILED',
  'REFUND_WITH_DATA',
  'REQUEST_FOR_INFORMATION',
  'SECOND_CHARGEBACK',
  'TECHNICAL_CANCEL',
  'VOID_PENDING_REFUND',
  // other schemas and webhook paths of Webhooks v1
  'PAIDOUT_REVERSED',
  'REPORT_AVAILABLE',
  'ACH_NOTIFICATION_OF_CHANGE',
  'DIRECT_DEBIT_NOTICE_OF_CHANGE_NOTIFICATION',
  'PREARBITRATION_ACCEPTED',
  'PREARBITRATION_DECLINED',
  'PREARBITRATION_ISSUER_WITHDRAWN',
  'SCHEME_ARBITRATION',
  'SCHEME_ARBITRATION_LOST',
  'SCHEME_ARBITRATION_WON',
  // the SDK's enum only
  'DONATION',
  'PENDING',
  'PROCESS_RETRY',
] as const;
export type AdyenEventCode = (typeof EVENT_CODES)[number];

// ---- wire types -------------------------------------------------------------------------------------------------

export interface AdyenAmount {
  /** Minor units, as Adyen counts them (ISO 4217's, except {@link ADYEN_EXPONENT}). */
  value: number;
  currency: string;
}

/**
 * Where Adyen's minor unit differs from ISO 4217's: CLP and ISK have two decimals at Adyen though ISO gives them none
 * (15000 CLP is `value: 1500000`). Source: Adyen "Currency codes and minor units".
 */
// biome-ignore format: a data table
export const ADYEN_EXPONENT: Readonly<Record<string, number>> = { CLP: 2, ISK: 2 };

const factorOf = (currency: string): number =>
  10 ** ((ADYEN_EXPONENT[currency] ?? exponentOf(currency)) - exponentOf(currency));

/** Our money → Adyen's amount. @example toAdyenAmount({ amountMinor: 15000, currency: 'CLP' }) // { value: 1500000, currency: 'CLP' } */
export function toAdyenAmount(m: Money): AdyenAmount {
  return { value: m.amountMinor * factorOf(m.currency), currency: m.currency };
}

/** Adyen's amount → our money; a value with no exact minor-unit amount of ours is an integrity error. */
export function fromAdyenAmount(a: AdyenAmount, what = 'amount'): Money {
  const factor = isKnownCurrency(a.currency) ? factorOf(a.currency) : 1;
  if (a.value % factor !== 0)
    throw new IntegrityError(`Adyen sent ${what} ${a.value} ${a.currency}, not a whole ${a.currency} unit`);
  return { amountMinor: a.value / factor, currency: a.currency };
}

/** `paymentMethod` of /payments: the type string plus the method's own fields (CardDetails, IdealDetails …). */
export interface AdyenPaymentMethod {
  type: string;
  storedPaymentMethodId?: string;
  [field: string]: unknown;
}

export interface AdyenPaymentRequest {
  merchantAccount: string;
  amount: AdyenAmount;
  /** Ours: the payment id (max 80 characters). */
  reference: string;
  returnUrl: string;
  paymentMethod: AdyenPaymentMethod;
  /** 0 = captured at once, whatever the merchant account's capture delay says. */
  captureDelayHours?: number;
  additionalData?: Record<string, string>;
  /** Always `disabled`: 3-D Secure comes back as a redirect our checkout can follow. */
  authenticationData: { threeDSRequestData: { nativeThreeDS: 'disabled' | 'preferred' } };
  shopperReference?: string;
  shopperEmail?: string;
  shopperLocale?: string;
  countryCode?: string;
  shopperInteraction?: 'Ecommerce' | 'ContAuth';
  recurringProcessingModel?: 'CardOnFile' | 'Subscription' | 'UnscheduledCardOnFile';
  storePaymentMethod?: boolean;
  /** Further top-level fields from `methodData.extra.paymentRequest` (lineItems, browserInfo, billingAddress …). */
  [field: string]: unknown;
}

/** An `action` of a /payments answer (CheckoutRedirectAction, CheckoutThreeDS2Action, CheckoutVoucherAction …). */
export interface AdyenAction {
  type: string;
  url?: string;
  method?: string;
  paymentMethodType?: string;
  data?: Record<string, string>;
  [field: string]: unknown;
}

/** The fields of PaymentResponse / PaymentDetailsResponse we read. */
export interface AdyenPaymentResult {
  pspReference?: string;
  resultCode?: string;
  merchantReference?: string;
  amount?: AdyenAmount;
  refusalReason?: string;
  refusalReasonCode?: string;
  action?: AdyenAction;
  additionalData?: Record<string, string>;
}

export interface AdyenPaymentDetailsRequest {
  details: { redirectResult?: string; payload?: string };
}

/** Body of /captures, /refunds and /cancels. */
export interface AdyenModificationRequest {
  merchantAccount: string;
  amount?: AdyenAmount;
  reference?: string;
}

/** Answer of /captures, /refunds and /cancels: `status` is always `received`. */
export interface AdyenModificationResult {
  pspReference?: string;
  paymentPspReference?: string;
  status?: string;
  amount?: AdyenAmount;
  reference?: string;
  merchantAccount?: string;
}

/** One `NotificationRequestItem` of a Standard webhook, checked for shape. */
export interface AdyenNotificationItem {
  pspReference: string;
  originalReference?: string;
  merchantAccountCode: string;
  merchantReference: string;
  amount: AdyenAmount;
  eventCode: string;
  eventDate: string;
  success: 'true' | 'false';
  reason?: string;
  paymentMethod?: string;
  additionalData?: Record<string, string>;
  operations?: string[];
}

export interface AdyenNotificationRequest {
  live: string;
  items: AdyenNotificationItem[];
}

// ---- references and keys ----------------------------------------------------------------------------------------

const MAX_REFERENCE = 80;
const MAX_IDEMPOTENCY_KEY = 64;
const REFUND_TAG = ':refund:';

/** Adyen takes Idempotency-Keys of at most 64 characters: a longer one goes as its hash ({@link keyWithin}). */
export const idempotencyKeyFor = (key: string): string => keyWithin(key, MAX_IDEMPOTENCY_KEY);

/**
 * The `reference` of a refund: `<paymentId>:refund:<refundId>`, which REFUND webhooks echo as merchantReference, so
 * their events name both. Too long for Adyen's 80 characters: the payment id alone.
 */
export function refundReference(paymentId: string, refundId: string): string {
  const ref = `${paymentId}${REFUND_TAG}${refundId}`;
  return ref.length <= MAX_REFERENCE ? ref : paymentId;
}

/** Our ids from an echoed merchantReference (a payment id, or a refund reference). */
export function parseMerchantReference(ref: string): { paymentId?: string; refundId?: string } {
  if (!ref) return {};
  const i = ref.lastIndexOf(REFUND_TAG);
  if (i > 0 && i + REFUND_TAG.length < ref.length) {
    return { paymentId: ref.slice(0, i), refundId: ref.slice(i + REFUND_TAG.length) };
  }
  return { paymentId: ref };
}

// ---- requests ---------------------------------------------------------------------------------------------------

export interface PaymentRequestOptions {
  merchantAccount: string;
  recurringProcessingModel: 'CardOnFile' | 'Subscription' | 'UnscheduledCardOnFile';
}

function checkAmount(amountMinor: number, currency: string, field = 'amountMinor'): void {
  exponentOf(currency);
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
    throw new IntegrationError(`must be a positive integer of minor units, got ${amountMinor}`, field);
  }
}

function plainObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * The /payments body for a payment.
 *
 * - `paymentMethod` is `{type: providerType, ...methodData.extra}` (e.g. Adyen's card test fields
 *   `encryptedCardNumber: "test_4111111111111111"`); `methodData.mandateId` or `token` becomes
 *   `storedPaymentMethodId`. `methodData.extra.paymentRequest` holds further top-level fields (lineItems,
 *   browserInfo …); ours win over them.
 * - Capture: automatic sends `captureDelayHours: 0`, manual `additionalData.manualCapture: "true"`, so the merchant
 *   account's capture-delay setting never decides.
 * - Recurring: `first` stores the method (`storePaymentMethod`, shopper present); `subsequent` charges the stored one
 *   without the shopper (`ContAuth`); both need `payer.debtorId` as `shopperReference`.
 */
export function toPaymentRequest(input: CreatePaymentInput, opts: PaymentRequestOptions): AdyenPaymentRequest {
  checkAmount(input.amountMinor, input.currency);
  if (!input.paymentId || input.paymentId.length > MAX_REFERENCE) {
    throw new IntegrationError(`must be 1 to ${MAX_REFERENCE} characters (Adyen's reference)`, 'paymentId');
  }
  if (!input.returnUrl) throw new IntegrationError('is required by Adyen', 'returnUrl');
  if (!input.providerType) throw new IntegrationError('is required (the Adyen paymentMethod.type)', 'providerType');
  const data = input.methodData ?? {};
  const { paymentRequest: extraRequest, ...methodFields } = data.extra ?? {};
  if (extraRequest !== undefined && !plainObject(extraRequest)) {
    throw new IntegrationError('must be an object of /payments fields', 'methodData.extra.paymentRequest');
  }
  const paymentMethod: AdyenPaymentMethod = { ...methodFields, type: input.providerType };
  const stored = data.mandateId ?? data.token;
  if (stored) paymentMethod.storedPaymentMethodId = stored;

  const req: AdyenPaymentRequest = {
    ...plainObject(extraRequest),
    merchantAccount: opts.merchantAccount,
    amount: toAdyenAmount(input),
    reference: input.paymentId,
    returnUrl: input.returnUrl,
    paymentMethod,
    authenticationData: { threeDSRequestData: { nativeThreeDS: 'disabled' } },
  };
  if (input.capture === 'automatic') req.captureDelayHours = 0;
  else req.additionalData = { manualCapture: 'true' };
  if (input.country) req.countryCode = input.country;
  if (input.locale) req.shopperLocale = input.locale.replace('-', '_');
  if (input.payer?.email) req.shopperEmail = input.payer.email;
  if (input.payer?.debtorId) req.shopperReference = input.payer.debtorId;
  if (input.recurring) {
    if (!input.payer?.debtorId || input.payer.debtorId.length < 3) {
      throw new IntegrationError(
        'is required for recurring payments (Adyen shopperReference, ≥ 3 characters)',
        'payer.debtorId',
      );
    }
    req.recurringProcessingModel = opts.recurringProcessingModel;
    if (input.recurring === 'first') {
      req.storePaymentMethod = true;
      req.shopperInteraction = 'Ecommerce';
    } else {
      if (!stored) {
        throw new IntegrationError(
          'is required for a subsequent recurring payment (the stored method id)',
          'methodData.mandateId',
        );
      }
      req.shopperInteraction = 'ContAuth';
    }
  }
  return req;
}

/** The /payments/details body from the parameters Adyen appended to the return URL. */
export function toDetailsRequest(returnParams: Record<string, string>): AdyenPaymentDetailsRequest {
  if (returnParams.redirectResult) return { details: { redirectResult: returnParams.redirectResult } };
  if (returnParams.payload) return { details: { payload: returnParams.payload } };
  throw new IntegrationError(
    'has no redirectResult: pass the query parameters Adyen appended to the return URL',
    'returnParams.redirectResult',
  );
}

export function toCaptureRequest(merchantAccount: string, amount: Money, paymentId: string): AdyenModificationRequest {
  checkAmount(amount.amountMinor, amount.currency);
  return { merchantAccount, amount: toAdyenAmount(amount), reference: paymentId };
}

export function toRefundRequest(
  merchantAccount: string,
  amount: Money,
  paymentId: string,
  refundId: string,
): AdyenModificationRequest {
  checkAmount(amount.amountMinor, amount.currency);
  return {
    merchantAccount,
    amount: toAdyenAmount(amount),
    reference: refundReference(paymentId, refundId),
  };
}

export function toCancelRequest(merchantAccount: string, paymentId: string): AdyenModificationRequest {
  return { merchantAccount, reference: paymentId };
}

// ---- responses --------------------------------------------------------------------------------------------------

export function isResultCode(s: string | undefined): s is AdyenResultCode {
  return s !== undefined && (RESULT_CODES as readonly string[]).includes(s);
}

/** Our state for Adyen's resultCode. Exhaustive: a new code fails to compile here. */
export function stateOf(code: AdyenResultCode, capture: 'automatic' | 'manual'): PaymentState {
  switch (code) {
    case 'Authorised':
      return capture === 'automatic' ? 'succeeded' : 'authorized';
    case 'PartiallyAuthorised':
      // Less than asked was reserved (we never ask for partial authorisations): capture or cancel is the caller's call.
      return 'authorized';
    case 'Refused':
    case 'Error':
      return 'failed';
    case 'Cancelled':
      return 'canceled';
    case 'RedirectShopper':
    case 'IdentifyShopper':
    case 'ChallengeShopper':
    case 'PresentToShopper':
      return 'requires_action';
    case 'Pending':
    case 'Received':
      return 'pending';
    case 'Success':
      // Listed in the v72 enum without a documented meaning for payments: wait for the AUTHORISATION webhook.
      return 'pending';
    case 'AuthenticationFinished':
    case 'AuthenticationNotRequired':
      // Answers of authentication-only requests, which we never make: nothing was authorised yet.
      return 'pending';
    default: {
      const never: never = code;
      throw new Error(`unhandled Adyen resultCode ${String(never)}`);
    }
  }
}

/**
 * What the payer does next. A GET redirect is a URL the checkout sends the browser to; every other action (POST
 * redirect, native 3-D Secure, QR code, voucher, await) is handed to Adyen's Drop-in as its `action` object, JSON in
 * `clientSecret`.
 */
export function nextActionOf(action: AdyenAction | undefined): NextAction {
  if (!action) return { type: 'none' };
  if (action.type === 'redirect' && action.url && (action.method ?? 'GET').toUpperCase() === 'GET') {
    return { type: 'redirect', url: action.url };
  }
  return { type: 'client_secret', clientSecret: JSON.stringify(action) };
}

export interface ResultContext {
  paymentId: string;
  capture: 'automatic' | 'manual';
  /** What we asked for (checked against the echo); absent when completing a payment this process did not create. */
  sent?: Money;
  /** The pspReference we expect the answer to be about (complete). */
  providerReference?: string;
}

/** The recurring reference Adyen returns when it stored the payment method. */
function recurringReferenceOf(res: AdyenPaymentResult): string | undefined {
  const a = res.additionalData ?? {};
  return a['tokenization.storedPaymentMethodId'] ?? a['recurring.recurringDetailReference'];
}

/**
 * Normalises a /payments or /payments/details answer. Checks the echoed amount, currency, reference and
 * pspReference (an IntegrityError when they differ from what we sent); a resultCode we do not know is indeterminate.
 */
export function fromPaymentResult(res: AdyenPaymentResult, ctx: ResultContext): ProviderPayment {
  const what = ctx.providerReference ? 'Adyen /payments/details' : 'Adyen /payments';
  const psp = res.pspReference ?? ctx.providerReference;
  if (!psp) {
    throw new ConnectorError(`${what} answered without a pspReference`, { code: 'ADYEN_NO_PSP', indeterminate: true });
  }
  if (ctx.providerReference && res.pspReference && res.pspReference !== ctx.providerReference) {
    throw new IntegrityError(`${what}: answered about ${res.pspReference}, asked about ${ctx.providerReference}`);
  }
  if (!isResultCode(res.resultCode)) {
    throw new ConnectorError(
      `${what} answered resultCode "${res.resultCode ?? ''}", which Checkout v72 does not list`,
      {
        code: 'ADYEN_RESULT_CODE',
        indeterminate: true,
      },
    );
  }
  if (res.merchantReference && res.merchantReference !== ctx.paymentId) {
    throw new IntegrityError(`${what}: echoed reference ${res.merchantReference}, sent ${ctx.paymentId}`);
  }
  const code = res.resultCode;
  const echoed = res.amount ? fromAdyenAmount(res.amount, `${what} amount`) : undefined;
  if (echoed && ctx.sent && code !== 'PartiallyAuthorised') assertEcho(ctx.sent, echoed, what);
  const amount = echoed ?? ctx.sent;
  if (!amount) {
    throw new ConnectorError(`${what} answered without the amount and this process has not seen the payment`, {
      code: 'ADYEN_NO_AMOUNT',
      indeterminate: true,
    });
  }
  const status = stateOf(code, ctx.capture);
  const decline: Decline | undefined =
    status === 'failed'
      ? declineOf(res.refusalReasonCode, res.refusalReason, code === 'Error' ? 'processing_error' : 'other')
      : undefined;
  const recurringReference = recurringReferenceOf(res);
  return {
    providerReference: psp,
    status,
    providerStatus: code,
    amountMinor: amount.amountMinor,
    currency: amount.currency,
    capturedMinor: status === 'succeeded' ? amount.amountMinor : 0,
    refundedMinor: 0,
    nextAction: status === 'requires_action' || status === 'pending' ? nextActionOf(res.action) : { type: 'none' },
    ...(decline ? { decline } : {}),
    ...(recurringReference ? { recurringReference } : {}),
  };
}

/** Checks a /captures, /refunds or /cancels answer against what we sent; returns the modification's pspReference. */
export function checkModificationResult(
  res: AdyenModificationResult,
  sent: { providerReference: string; amount?: Money },
  what: string,
): string {
  if (!res.pspReference) {
    throw new ConnectorError(`${what} answered without a pspReference`, { code: 'ADYEN_NO_PSP', indeterminate: true });
  }
  if (res.paymentPspReference && res.paymentPspReference !== sent.providerReference) {
    throw new IntegrityError(
      `${what}: answered about ${res.paymentPspReference}, asked about ${sent.providerReference}`,
    );
  }
  if (sent.amount && res.amount) {
    assertEcho(sent.amount, fromAdyenAmount(res.amount, `${what} amount`), what);
  }
  return res.pspReference;
}

// ---- webhooks ---------------------------------------------------------------------------------------------------

const malformed = (why: string) => new WebhookRejected(`not an Adyen Standard webhook: ${why}`, 'malformed');

function str(v: unknown): v is string {
  return typeof v === 'string';
}

function item(raw: unknown, i: number): AdyenNotificationItem {
  const wrap = plainObject(raw);
  const it = plainObject(wrap?.NotificationRequestItem);
  if (!it) throw malformed(`notificationItems[${i}] has no NotificationRequestItem`);
  for (const f of ['pspReference', 'eventCode', 'merchantAccountCode', 'merchantReference', 'eventDate'] as const) {
    if (!str(it[f])) throw malformed(`notificationItems[${i}].${f} is missing`);
  }
  if (it.success !== 'true' && it.success !== 'false')
    throw malformed(`notificationItems[${i}].success is not "true"/"false"`);
  const amount = plainObject(it.amount);
  if (!amount || !Number.isSafeInteger(amount.value) || !str(amount.currency)) {
    throw malformed(`notificationItems[${i}].amount is not {value, currency}`);
  }
  if (Number.isNaN(Date.parse(it.eventDate as string))) throw malformed(`notificationItems[${i}].eventDate is no date`);
  if (it.originalReference !== undefined && !str(it.originalReference)) {
    throw malformed(`notificationItems[${i}].originalReference is not a string`);
  }
  const additional = it.additionalData === undefined ? undefined : plainObject(it.additionalData);
  if (it.additionalData !== undefined && (!additional || !Object.values(additional).every(str))) {
    throw malformed(`notificationItems[${i}].additionalData is not an object of strings`);
  }
  return {
    ...(it as object),
    amount: { value: amount.value as number, currency: amount.currency as string },
  } as AdyenNotificationItem;
}

/** Parses a Standard webhook body; throws WebhookRejected('malformed') for anything else. Verifies nothing. */
export function parseNotificationRequest(body: Buffer): AdyenNotificationRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw malformed('the body is not JSON');
  }
  const root = plainObject(json);
  if (!root || !Array.isArray(root.notificationItems) || root.notificationItems.length === 0) {
    throw malformed('no notificationItems');
  }
  return { live: str(root.live) ? root.live : '', items: root.notificationItems.map(item) };
}

/**
 * How each event code becomes one of our events: `onSuccess` / `onFailure` by the item's `success`, `null` for no
 * event (the delivery is still verified and acknowledged), `authorisation` and `cancel_or_refund` for the two codes
 * whose meaning depends on additionalData. `about`: `payment` items carry the payment's pspReference, the others
 * carry their own and the payment's in `originalReference`.
 */
type Outcome = WebhookEventType | null;
export const EVENT_CODE_TABLE: Readonly<
  Record<
    AdyenEventCode,
    {
      onSuccess: Outcome | 'authorisation' | 'cancel_or_refund';
      onFailure: Outcome;
      about: 'payment' | 'modification';
    }
  >
> = {
  AUTHENTICATION: { onSuccess: null, onFailure: null, about: 'payment' },
  AUTHORISATION: { onSuccess: 'authorisation', onFailure: 'payment.failed', about: 'payment' },
  AUTHORISATION_ADJUSTMENT: { onSuccess: null, onFailure: null, about: 'payment' },
  AUTORESCUE: { onSuccess: null, onFailure: null, about: 'modification' },
  CANCELLATION: { onSuccess: 'payment.canceled', onFailure: null, about: 'modification' },
  CANCEL_AUTORESCUE: { onSuccess: null, onFailure: null, about: 'modification' },
  CANCEL_OR_REFUND: { onSuccess: 'cancel_or_refund', onFailure: null, about: 'modification' },
  CAPTURE: { onSuccess: 'payment.succeeded', onFailure: null, about: 'modification' },
  CAPTURE_FAILED: { onSuccess: 'payment.failed', onFailure: 'payment.failed', about: 'modification' },
  CHARGEBACK: { onSuccess: 'payment.charged_back', onFailure: null, about: 'modification' },
  CHARGEBACK_REVERSED: { onSuccess: 'payment.chargeback_reversed', onFailure: null, about: 'modification' },
  DISPUTE_DEFENSE_PERIOD_ENDED: { onSuccess: null, onFailure: null, about: 'modification' },
  EXPIRE: { onSuccess: 'payment.expired', onFailure: null, about: 'modification' },
  HANDLED_EXTERNALLY: { onSuccess: null, onFailure: null, about: 'payment' },
  INFORMATION_SUPPLIED: { onSuccess: null, onFailure: null, about: 'modification' },
  ISSUER_COMMENTS: { onSuccess: null, onFailure: null, about: 'modification' },
  ISSUER_RESPONSE_TIMEFRAME_EXPIRED: { onSuccess: null, onFailure: null, about: 'modification' },
  MANUAL_REVIEW_ACCEPT: { onSuccess: null, onFailure: null, about: 'payment' },
  MANUAL_REVIEW_REJECT: { onSuccess: 'payment.canceled', onFailure: null, about: 'payment' },
  NOTIFICATION_OF_CHARGEBACK: { onSuccess: 'payment.dispute_opened', onFailure: null, about: 'modification' },
  NOTIFICATION_OF_FRAUD: { onSuccess: null, onFailure: null, about: 'modification' },
  OFFER_CLOSED: { onSuccess: 'payment.expired', onFailure: null, about: 'payment' },
  ORDER_CLOSED: { onSuccess: null, onFailure: null, about: 'payment' },
  ORDER_OPENED: { onSuccess: null, onFailure: null, about: 'payment' },
  PAYOUT_DECLINE: { onSuccess: null, onFailure: null, about: 'modification' },
  PAYOUT_EXPIRE: { onSuccess: null, onFailure: null, about: 'modification' },
  PAYOUT_THIRDPARTY: { onSuccess: null, onFailure: null, about: 'modification' },
  POSTPONED_REFUND: { onSuccess: null, onFailure: null, about: 'modification' },
  PREARBITRATION_LOST: { onSuccess: 'payment.charged_back', onFailure: null, about: 'modification' },
  PREARBITRATION_OPEN: { onSuccess: 'payment.dispute_opened', onFailure: null, about: 'modification' },
  PREARBITRATION_WON: { onSuccess: 'payment.dispute_closed', onFailure: null, about: 'modification' },
  RECURRING_CONTRACT: { onSuccess: null, onFailure: null, about: 'payment' },
  REFUND: { onSuccess: 'payment.refunded', onFailure: 'payment.refund_failed', about: 'modification' },
  REFUNDED_REVERSED: { onSuccess: 'payment.refund_failed', onFailure: null, about: 'modification' },
  REFUND_FAILED: { onSuccess: 'payment.refund_failed', onFailure: 'payment.refund_failed', about: 'modification' },
  REFUND_WITH_DATA: { onSuccess: null, onFailure: null, about: 'modification' },
  REQUEST_FOR_INFORMATION: { onSuccess: 'payment.dispute_opened', onFailure: null, about: 'modification' },
  SECOND_CHARGEBACK: { onSuccess: 'payment.charged_back', onFailure: null, about: 'modification' },
  TECHNICAL_CANCEL: { onSuccess: 'payment.canceled', onFailure: null, about: 'modification' },
  VOID_PENDING_REFUND: { onSuccess: 'payment.refund_failed', onFailure: null, about: 'modification' },
  PAIDOUT_REVERSED: { onSuccess: null, onFailure: null, about: 'modification' },
  REPORT_AVAILABLE: { onSuccess: null, onFailure: null, about: 'payment' },
  ACH_NOTIFICATION_OF_CHANGE: { onSuccess: null, onFailure: null, about: 'payment' },
  DIRECT_DEBIT_NOTICE_OF_CHANGE_NOTIFICATION: { onSuccess: null, onFailure: null, about: 'payment' },
  PREARBITRATION_ACCEPTED: { onSuccess: 'payment.charged_back', onFailure: null, about: 'modification' },
  PREARBITRATION_DECLINED: { onSuccess: null, onFailure: null, about: 'modification' },
  PREARBITRATION_ISSUER_WITHDRAWN: { onSuccess: 'payment.dispute_closed', onFailure: null, about: 'modification' },
  SCHEME_ARBITRATION: { onSuccess: 'payment.dispute_opened', onFailure: null, about: 'modification' },
  SCHEME_ARBITRATION_LOST: { onSuccess: 'payment.charged_back', onFailure: null, about: 'modification' },
  SCHEME_ARBITRATION_WON: { onSuccess: 'payment.dispute_closed', onFailure: null, about: 'modification' },
  DONATION: { onSuccess: null, onFailure: null, about: 'payment' },
  PENDING: { onSuccess: 'payment.pending', onFailure: null, about: 'payment' },
  PROCESS_RETRY: { onSuccess: null, onFailure: null, about: 'payment' },
};

function isEventCode(s: string): s is AdyenEventCode {
  return Object.hasOwn(EVENT_CODE_TABLE, s);
}

/**
 * The event of one verified item, or undefined when the code means nothing for a payment (or is one Adyen added
 * after Webhooks v1). AUTHORISATION with `additionalData.captureDelayHours` "0" is `payment.succeeded` (captured at
 * once), otherwise `payment.authorized`.
 */
export function eventOf(it: AdyenNotificationItem): WebhookEvent | undefined {
  if (!isEventCode(it.eventCode)) return undefined;
  const row = EVENT_CODE_TABLE[it.eventCode];
  const ok = it.success === 'true';
  let type: Outcome;
  const rule = ok ? row.onSuccess : row.onFailure;
  if (rule === 'authorisation') {
    type = it.additionalData?.captureDelayHours === '0' ? 'payment.succeeded' : 'payment.authorized';
  } else if (rule === 'cancel_or_refund') {
    type = it.additionalData?.['modification.action'] === 'refund' ? 'payment.refunded' : 'payment.canceled';
  } else {
    type = rule;
  }
  if (!type) return undefined;
  const providerReference = row.about === 'payment' ? it.pspReference : it.originalReference || it.pspReference;
  const ids = parseMerchantReference(it.merchantReference);
  let decline: Decline | undefined;
  if (type === 'payment.failed') {
    decline =
      it.eventCode === 'CAPTURE_FAILED'
        ? { code: 'processing_error', providerCode: 'CAPTURE_FAILED', message: it.reason || 'the capture failed' }
        : declineOf(undefined, it.reason);
  }
  return {
    eventId: `${it.eventCode}:${it.pspReference}:${it.success}`,
    type,
    providerReference,
    ...(ids.paymentId ? { paymentId: ids.paymentId } : {}),
    ...fromAdyenAmount(it.amount, `${it.eventCode} amount`),
    occurredAt: new Date(it.eventDate).toISOString(),
    ...(decline ? { decline } : {}),
    ...(ids.refundId && (type === 'payment.refunded' || type === 'payment.refund_failed')
      ? { refundId: ids.refundId }
      : {}),
  };
}

// ---- logs -------------------------------------------------------------------------------------------------------

const SECRET_HEADER = /\b(x-api-key|authorization|proxy-authorization)(["']?\s*[:=]\s*["']?)[^"'\r\n,}]+/gi;
const SECRET_FIELD =
  /\b(apiKey|api_key|hmacKey|hmacKeyHex|hmacSignature|password|encryptedCardNumber|encryptedSecurityCode|encryptedExpiryMonth|encryptedExpiryYear|encryptedCard|number|cvc|iban)(["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi;
const PAN = /\b\d(?:[ -]?\d){11,18}\b/g;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const EMAIL = /\b[^\s@,;"']+@[^\s@,;"']+\.[A-Za-z]{2,}\b/g;
const BASIC_OR_BEARER = /\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g;

/**
 * Masks what must not reach a log from Adyen traffic: the X-API-Key and Authorization headers, API and HMAC keys,
 * HMAC signatures, card fields (test values included), card numbers, IBANs and e-mail addresses.
 * @example scrub('"encryptedCardNumber":"test_4111111111111111"') // '"encryptedCardNumber":"[REDACTED]"'
 */
export function scrub(s: string): string {
  return s
    .replace(SECRET_HEADER, '$1$2[REDACTED]')
    .replace(SECRET_FIELD, '$1$2[REDACTED]')
    .replace(BASIC_OR_BEARER, '$1 [REDACTED]')
    .replace(PAN, '[PAN]')
    .replace(IBAN, '[IBAN]')
    .replace(EMAIL, '[EMAIL]');
}

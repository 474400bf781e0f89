/**
 * Wire ↔ ours for Stripe: request parameters built from our inputs, PaymentIntents, refunds and events read into our
 * types. Pure functions, no I/O. Amounts are converted here and only here ({@link toStripeAmount},
 * {@link fromStripeAmount}); statuses map through exhaustive switches.
 */
import type Stripe from 'stripe';
import { IntegrationError, IntegrityError } from '../../../domain/errors';
import { assertEcho, exponentOf, type Money } from '../../../domain/money';
import type { PaymentState } from '../../../domain/types';
import { methodById } from '../../catalogue';
import type {
  CaptureInput,
  CreatePaymentInput,
  NextAction,
  ProviderPayment,
  ProviderRefund,
  RefundInput,
  WebhookEvent,
  WebhookEventType,
} from '../types';
import { declineOf, scrub } from './errors';

export { scrub };

/** Metadata keys we put on PaymentIntents, Checkout Sessions and refunds (Stripe keys: ≤ 40 characters). */
export const META = {
  paymentId: 'clearhub_payment_id',
  refundId: 'clearhub_refund_id',
  debtorId: 'clearhub_debtor_id',
  reason: 'clearhub_reason',
  /** `checkout` on what hosted Checkout created: a declined attempt there is not the end of the payment. */
  flow: 'clearhub_flow',
  /** `manual` on a Checkout Session whose PaymentIntent stops at the authorisation. */
  capture: 'clearhub_capture',
} as const;

/** The value of {@link META.flow} for hosted Checkout. */
export const HOSTED_CHECKOUT = 'checkout';

// ---- money --------------------------------------------------------------------------------------------------------

/**
 * Where Stripe's minor unit differs from ISO 4217's: ISK is a two-decimal currency in Stripe's API (100 = 1 króna)
 * though ISO gives it none. Source: Stripe "Supported currencies", special cases.
 */
// biome-ignore format: a data table
export const STRIPE_EXPONENT: Readonly<Record<string, number>> = { ISK: 2 };

/** Three-decimal currencies whose last digit Stripe requires to be 0 (Stripe "Supported currencies"). */
export const LAST_DIGIT_ZERO: ReadonlySet<string> = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

function factorOf(currency: string): number {
  const iso = exponentOf(currency);
  const wire = STRIPE_EXPONENT[currency] ?? iso;
  return 10 ** (wire - iso);
}

/**
 * Our minor units → Stripe's `amount` (integer, Stripe's minor unit of the currency).
 * @example toStripeAmount(12345, 'EUR') // 12345
 * @example toStripeAmount(1500, 'ISK') // 150000
 */
export function toStripeAmount(amountMinor: number, currency: string, field = 'amountMinor'): number {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) {
    throw new IntegrationError(`${amountMinor} is not a non-negative integer of minor units`, field);
  }
  const wire = amountMinor * factorOf(currency);
  if (!Number.isSafeInteger(wire)) throw new IntegrationError(`${amountMinor} ${currency} is too large`, field);
  if (LAST_DIGIT_ZERO.has(currency) && wire % 10 !== 0) {
    throw new IntegrationError(
      `Stripe takes ${currency} amounts only in whole tens of the minor unit (e.g. 5120, not 5124); got ${amountMinor}`,
      field,
    );
  }
  return wire;
}

/** Stripe's `amount` + `currency` → our money; an amount that has no exact minor-unit value is an integrity error. */
export function fromStripeAmount(wire: number, wireCurrency: string, what = 'amount'): Money {
  const currency = wireCurrency.toUpperCase();
  if (!Number.isSafeInteger(wire)) throw new IntegrityError(`Stripe sent ${what} ${wire}, not an integer`);
  const factor = factorOf(currency);
  if (wire % factor !== 0) {
    throw new IntegrityError(`Stripe sent ${what} ${wire} ${currency}, not a whole ${currency} minor unit`);
  }
  return { amountMinor: wire / factor, currency };
}

export const toStripeCurrency = (currency: string): string => {
  exponentOf(currency);
  return currency.toLowerCase();
};

// ---- statuses -----------------------------------------------------------------------------------------------------

/** Every PaymentIntent status of the API (stripe@23.1.0 `PaymentIntent.Status` without its open `OtherString`). */
export const PAYMENT_INTENT_STATUSES = [
  'requires_payment_method',
  'requires_confirmation',
  'requires_action',
  'processing',
  'requires_capture',
  'canceled',
  'succeeded',
] as const;
export type PaymentIntentStatus = (typeof PAYMENT_INTENT_STATUSES)[number];

export const REFUND_STATUSES = ['pending', 'requires_action', 'succeeded', 'failed', 'canceled'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

function known<T extends string>(list: readonly T[], value: string | null | undefined, what: string): T {
  if (value && (list as readonly string[]).includes(value)) return value as T;
  throw new IntegrityError(`Stripe sent ${what} "${value}", which this provider does not know; update the mapping`);
}

/** Cancellation reasons Stripe sets itself when an authorisation lapses. */
const LAPSED = new Set(['automatic', 'expired']);

/**
 * Our state of a PaymentIntent. `refundedMinor` and `capturedMinor` decide between succeeded and (partially)
 * refunded; a declined or failed attempt leaves the intent in `requires_payment_method` with `last_payment_error`.
 */
export function paymentStateOf(
  pi: Pick<Stripe.PaymentIntent, 'status' | 'last_payment_error' | 'cancellation_reason'>,
  capturedMinor: number,
  refundedMinor: number,
): PaymentState {
  const status = known(PAYMENT_INTENT_STATUSES, pi.status, 'PaymentIntent status');
  switch (status) {
    case 'requires_payment_method':
      return pi.last_payment_error ? 'failed' : 'created';
    case 'requires_confirmation':
      return 'created';
    case 'requires_action':
      return 'requires_action';
    case 'processing':
      return 'pending';
    case 'requires_capture':
      return 'authorized';
    case 'canceled':
      return pi.cancellation_reason && LAPSED.has(pi.cancellation_reason) ? 'expired' : 'canceled';
    case 'succeeded':
      if (refundedMinor > 0 && refundedMinor >= capturedMinor) return 'refunded';
      return refundedMinor > 0 ? 'partially_refunded' : 'succeeded';
    default: {
      const never: never = status;
      throw new IntegrityError(`unhandled PaymentIntent status ${String(never)}`);
    }
  }
}

export function refundStatusOf(status: string | null): ProviderRefund['status'] {
  const s = known(REFUND_STATUSES, status, 'refund status');
  switch (s) {
    case 'pending':
    case 'requires_action':
      return 'pending';
    case 'succeeded':
      return 'succeeded';
    case 'failed':
    case 'canceled':
      return 'failed';
    default: {
      const never: never = s;
      throw new IntegrityError(`unhandled refund status ${String(never)}`);
    }
  }
}

/**
 * What was refunded of a charge, in Stripe's minor unit. Stripe books the uncaptured rest of a partial capture (and
 * the whole of a canceled authorisation) into the charge's `amount_refunded` ("Any additional amount will be
 * automatically refunded", capture endpoint in the API reference), so that part is taken off: what remains was
 * captured and then given back.
 */
export function wireRefunded(charge: Pick<Stripe.Charge, 'amount' | 'amount_captured' | 'amount_refunded'>): number {
  const released = charge.amount - charge.amount_captured;
  return Math.max(0, charge.amount_refunded - released);
}

// ---- next actions -------------------------------------------------------------------------------------------------

/** URL fields of next actions that a browser can simply be sent to (hosted pages, vouchers, app redirects). */
const HOSTED_URL_FIELDS = ['url', 'hosted_instructions_url', 'hosted_voucher_url', 'native_url'] as const;

function hostedUrlOf(action: Stripe.PaymentIntent.NextAction): string | undefined {
  const detail: unknown = (action as unknown as Record<string, unknown>)[action.type];
  if (!detail || typeof detail !== 'object') return undefined;
  for (const f of HOSTED_URL_FIELDS) {
    const v = (detail as Record<string, unknown>)[f];
    if (typeof v === 'string' && /^https?:\/\//.test(v)) return v;
  }
  return undefined;
}

/**
 * What the payer has to do next. A redirect where Stripe gives a URL (3-D Secure with a return URL, hosted bank
 * transfer or voucher instructions); otherwise the client secret, so Stripe.js finishes in the browser.
 */
export function nextActionOf(
  pi: Pick<Stripe.PaymentIntent, 'status' | 'next_action' | 'client_secret' | 'last_payment_error'>,
  publishableKey?: string,
): NextAction {
  const clientSecret = (): NextAction =>
    pi.client_secret
      ? { type: 'client_secret', clientSecret: pi.client_secret, ...(publishableKey ? { publishableKey } : {}) }
      : { type: 'none' };
  switch (pi.status) {
    case 'requires_action': {
      const a = pi.next_action;
      if (!a) return clientSecret();
      if (a.type === 'redirect_to_url' && a.redirect_to_url?.url)
        return { type: 'redirect', url: a.redirect_to_url.url };
      const url = hostedUrlOf(a);
      return url ? { type: 'redirect', url } : clientSecret();
    }
    case 'requires_payment_method':
      return pi.last_payment_error ? { type: 'none' } : clientSecret();
    case 'requires_confirmation':
      return clientSecret();
    case 'processing':
      return { type: 'await' };
    default:
      return { type: 'none' };
  }
}

// ---- requests -----------------------------------------------------------------------------------------------------

/** Fields of ours that `methodData.extra` cannot override. */
const OWN_CREATE_PARAMS = new Set([
  'amount',
  'currency',
  'capture_method',
  'confirm',
  'payment_method',
  'allowed_payment_method_types',
  'return_url',
  'metadata',
  'expand',
]);

/**
 * `POST /v1/payment_intents`: created and, with a payment method token, confirmed in the same call. The merchant
 * reference travels as `metadata.clearhub_payment_id`; `latest_charge` is expanded so the answer carries captured and
 * refunded amounts. Without a token the intent waits for Stripe.js (`client_secret`).
 */
export function createParams(input: CreatePaymentInput): Stripe.PaymentIntentCreateParams {
  if (input.recurring) {
    throw new IntegrationError(
      'the stripe provider does not take recurring payments yet (they need a Stripe Customer to keep the card on)',
      'recurring',
    );
  }
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.methodData?.extra ?? {})) if (!OWN_CREATE_PARAMS.has(k)) extra[k] = v;
  const token = input.methodData?.token;
  const metadata: Record<string, string> = { [META.paymentId]: input.paymentId };
  if (input.payer?.debtorId) metadata[META.debtorId] = input.payer.debtorId;
  return {
    ...(extra as Partial<Stripe.PaymentIntentCreateParams>),
    amount: toStripeAmount(input.amountMinor, input.currency),
    currency: toStripeCurrency(input.currency),
    capture_method: input.capture === 'manual' ? 'manual' : 'automatic',
    // API 2026-10-28 (stripe@23) replaced `payment_method_types` with `allowed_payment_method_types`.
    allowed_payment_method_types: [input.providerType as Stripe.PaymentIntentCreateParams.AllowedPaymentMethodType],
    metadata,
    ...(input.description ? { description: input.description } : {}),
    ...(token ? { payment_method: token, confirm: true, return_url: input.returnUrl } : {}),
    expand: ['latest_charge'],
  };
}

/** `POST /v1/payment_intents/:id/capture`; without an amount Stripe captures all that is capturable. */
export function captureParams(input: CaptureInput): Stripe.PaymentIntentCaptureParams {
  return {
    ...(input.amountMinor !== undefined
      ? { amount_to_capture: toStripeAmount(input.amountMinor, input.currency, 'amountMinor') }
      : {}),
    expand: ['latest_charge'],
  };
}

const REFUND_REASONS = new Set(['duplicate', 'fraudulent', 'requested_by_customer']);

/** `POST /v1/refunds` for a PaymentIntent; our ids in metadata; a free-text reason goes to metadata too. */
export function refundParams(providerReference: string, input: RefundInput): Stripe.RefundCreateParams {
  const metadata: Record<string, string> = { [META.refundId]: input.refundId, [META.paymentId]: input.paymentId };
  let reason: Stripe.RefundCreateParams.Reason | undefined;
  if (input.reason && REFUND_REASONS.has(input.reason)) reason = input.reason as Stripe.RefundCreateParams.Reason;
  else if (input.reason) metadata[META.reason] = input.reason.slice(0, 500);
  return {
    payment_intent: providerReference,
    amount: toStripeAmount(input.amountMinor, input.currency),
    ...(reason ? { reason } : {}),
    metadata,
  };
}

// ---- hosted Checkout ----------------------------------------------------------------------------------------------

/**
 * Whether a payment goes through Stripe's hosted Checkout page: a card or wallet payment for which the caller has no
 * payment method token. The payer types the card on Stripe's page, so no card number reaches our server.
 */
export function usesHostedCheckout(input: Pick<CreatePaymentInput, 'method' | 'providerType' | 'methodData'>): boolean {
  if (input.methodData?.token) return false;
  const flow = methodById(input.method)?.flow;
  return flow ? flow === 'card' || flow === 'wallet' : input.providerType === 'card';
}

/** Checkout's `locale` values (stripe@23.1.0 `Checkout.SessionCreateParams.Locale`). */
// biome-ignore format: a data table
export const CHECKOUT_LOCALES: ReadonlySet<string> = new Set([
  'bg', 'cs', 'da', 'de', 'el', 'en', 'en-GB', 'es', 'es-419', 'et', 'fi', 'fil', 'fr', 'fr-CA', 'hi-IN', 'hr', 'hu',
  'id', 'it', 'ja', 'ko', 'lt', 'lv', 'ms', 'mt', 'nb', 'nl', 'pl', 'pt', 'pt-BR', 'ro', 'ru', 'sk', 'sl', 'sv', 'th',
  'tr', 'vi', 'zh', 'zh-HK', 'zh-TW',
]);

/**
 * A BCP 47 tag as Checkout's `locale`: the tag itself where Checkout has it (`en-GB`), else its language (`de-DE` →
 * `de`), else `auto` (the payer's browser decides).
 * @example checkoutLocaleOf('de-AT') // 'de'
 */
export function checkoutLocaleOf(locale: string | undefined): Stripe.Checkout.SessionCreateParams.Locale {
  if (!locale) return 'auto';
  const [lang = '', region] = locale.split(/[-_]/);
  const tag = region ? `${lang.toLowerCase()}-${region.toUpperCase()}` : lang.toLowerCase();
  if (CHECKOUT_LOCALES.has(tag)) return tag;
  return CHECKOUT_LOCALES.has(lang.toLowerCase()) ? lang.toLowerCase() : 'auto';
}

/**
 * Appends a query part to a URL, before its fragment, with `?` or `&` as the URL needs. The part is taken as it is:
 * Stripe fills in `{CHECKOUT_SESSION_ID}` only when the braces arrive unencoded.
 * @example withQuery('https://a.example/r?x=1#top', 'session_id={CHECKOUT_SESSION_ID}')
 *   // 'https://a.example/r?x=1&session_id={CHECKOUT_SESSION_ID}#top'
 */
export function withQuery(url: string, part: string): string {
  const hash = url.indexOf('#');
  const head = hash < 0 ? url : url.slice(0, hash);
  const tail = hash < 0 ? '' : url.slice(hash);
  const sep = !head.includes('?') ? '?' : /[?&]$/.test(head) ? '' : '&';
  return `${head}${sep}${part}${tail}`;
}

/** Fields of ours that `methodData.extra` cannot override on a Checkout Session. */
const OWN_SESSION_PARAMS = new Set([
  'mode',
  'line_items',
  'allowed_payment_method_types',
  'payment_method_types',
  'metadata',
  'client_reference_id',
  'success_url',
  'cancel_url',
  'locale',
  'expand',
  'ui_mode',
]);
const OWN_INTENT_DATA_PARAMS = new Set(['capture_method', 'metadata', 'description']);

/** What the line item is called on Stripe's page when the caller gave no description. */
const DEFAULT_ITEM_NAME: Readonly<Record<string, string>> = { de: 'Zahlung', en: 'Payment' };

/**
 * `POST /v1/checkout/sessions` for a payment without a token: one line item of our amount, our payment id as
 * `client_reference_id` and in the metadata of the session and of the PaymentIntent Checkout creates, our capture
 * method, the payer's language, and the return URL twice (success with `session_id={CHECKOUT_SESSION_ID}`, cancel with
 * `canceled=1`). `methodData.extra` may add Checkout parameters (`expires_at`, `submit_type`, `custom_text` …) and,
 * under `payment_intent_data`, PaymentIntent ones (`statement_descriptor_suffix` …); our own fields stay ours.
 */
export function checkoutSessionParams(input: CreatePaymentInput): Stripe.Checkout.SessionCreateParams {
  if (input.recurring) {
    throw new IntegrationError(
      'the stripe provider does not take recurring payments yet (they need a Stripe Customer to keep the card on)',
      'recurring',
    );
  }
  const extra: Record<string, unknown> = {};
  let extraIntentData: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.methodData?.extra ?? {})) {
    if (k === 'payment_intent_data' && v && typeof v === 'object') {
      extraIntentData = Object.fromEntries(
        Object.entries(v as Record<string, unknown>).filter(([ik]) => !OWN_INTENT_DATA_PARAMS.has(ik)),
      );
    } else if (!OWN_SESSION_PARAMS.has(k)) extra[k] = v;
  }
  const metadata: Record<string, string> = { [META.paymentId]: input.paymentId, [META.flow]: HOSTED_CHECKOUT };
  if (input.payer?.debtorId) metadata[META.debtorId] = input.payer.debtorId;
  const locale = checkoutLocaleOf(input.locale);
  const name = input.description ?? DEFAULT_ITEM_NAME[locale.slice(0, 2)] ?? DEFAULT_ITEM_NAME.en!;
  const capture = input.capture === 'manual' ? 'manual' : 'automatic';
  return {
    ...(extra as Partial<Stripe.Checkout.SessionCreateParams>),
    mode: 'payment',
    line_items: [
      {
        quantity: 1,
        price_data: {
          currency: toStripeCurrency(input.currency),
          unit_amount: toStripeAmount(input.amountMinor, input.currency),
          product_data: { name: name.slice(0, 250) },
        },
      },
    ],
    allowed_payment_method_types: [input.providerType as Stripe.Checkout.SessionCreateParams.AllowedPaymentMethodType],
    payment_intent_data: {
      ...(extraIntentData as Partial<Stripe.Checkout.SessionCreateParams.PaymentIntentData>),
      capture_method: capture,
      metadata,
      ...(input.description ? { description: input.description } : {}),
    },
    metadata: capture === 'manual' ? { ...metadata, [META.capture]: 'manual' } : metadata,
    client_reference_id: input.paymentId,
    success_url: withQuery(input.returnUrl, 'session_id={CHECKOUT_SESSION_ID}'),
    cancel_url: withQuery(input.returnUrl, 'canceled=1'),
    locale,
  };
}

export const CHECKOUT_SESSION_STATUSES = ['open', 'complete', 'expired'] as const;
export const CHECKOUT_PAYMENT_STATUSES = ['paid', 'unpaid', 'no_payment_required'] as const;

/** The amount and currency of a Checkout Session (`amount_total`), as our money. */
export function checkoutAmountOf(s: Pick<Stripe.Checkout.Session, 'id' | 'amount_total' | 'currency'>): Money {
  if (s.amount_total === null || !s.currency) {
    throw new IntegrityError(`Stripe sent Checkout Session ${s.id} without amount_total or currency`);
  }
  return fromStripeAmount(s.amount_total, s.currency, 'Checkout Session amount_total');
}

/**
 * A Checkout Session as our ProviderPayment, under the session's id. Open: the payer still has to pay on Stripe's
 * page (a declined attempt there can be retried with another card). Expired: `canceled`. Complete: the state of its
 * PaymentIntent, which must be expanded (with `latest_charge` for refunded amounts) and must be for the session's
 * amount.
 */
export function checkoutPaymentFromWire(s: Stripe.Checkout.Session, publishableKey?: string): ProviderPayment {
  const total = checkoutAmountOf(s);
  const status = known(CHECKOUT_SESSION_STATUSES, s.status, 'Checkout Session status');
  const nothing = { capturedMinor: 0, refundedMinor: 0, amountMinor: total.amountMinor, currency: total.currency };
  switch (status) {
    case 'open':
      return {
        ...nothing,
        providerReference: s.id,
        status: 'requires_action',
        providerStatus: 'open',
        nextAction: s.url ? { type: 'redirect', url: s.url } : { type: 'none' },
      };
    case 'expired':
      return {
        ...nothing,
        providerReference: s.id,
        status: 'canceled',
        providerStatus: 'expired',
        nextAction: { type: 'none' },
      };
    case 'complete': {
      const pi = s.payment_intent;
      if (!pi || typeof pi !== 'object') {
        throw new IntegrityError(`Checkout Session ${s.id} is complete, but its PaymentIntent was not expanded`);
      }
      const p = paymentFromWire(pi, publishableKey);
      assertEcho(
        total,
        { amountMinor: p.amountMinor, currency: p.currency },
        `Stripe PaymentIntent ${pi.id} of Checkout Session ${s.id}`,
      );
      return { ...p, providerReference: s.id };
    }
    default: {
      const never: never = status;
      throw new IntegrityError(`unhandled Checkout Session status ${String(never)}`);
    }
  }
}

// ---- responses ----------------------------------------------------------------------------------------------------

function chargeOf(pi: Pick<Stripe.PaymentIntent, 'latest_charge'>): Stripe.Charge | undefined {
  return pi.latest_charge && typeof pi.latest_charge === 'object' ? pi.latest_charge : undefined;
}

/**
 * A PaymentIntent as our ProviderPayment. `refundedMinor` needs `latest_charge` expanded (0 otherwise).
 */
export function paymentFromWire(pi: Stripe.PaymentIntent, publishableKey?: string): ProviderPayment {
  const total = fromStripeAmount(pi.amount, pi.currency, 'PaymentIntent amount');
  const captured = fromStripeAmount(pi.amount_received, pi.currency, 'PaymentIntent amount_received').amountMinor;
  const charge = chargeOf(pi);
  const refunded = charge ? fromStripeAmount(wireRefunded(charge), charge.currency, 'refunded').amountMinor : 0;
  const status = paymentStateOf(pi, captured, refunded);
  return {
    providerReference: pi.id,
    status,
    providerStatus: pi.status,
    amountMinor: total.amountMinor,
    currency: total.currency,
    capturedMinor: captured,
    refundedMinor: refunded,
    nextAction: nextActionOf(pi, publishableKey),
    ...(status === 'failed' && pi.last_payment_error ? { decline: declineOf(pi.last_payment_error) } : {}),
  };
}

export function refundFromWire(r: Stripe.Refund): ProviderRefund {
  const m = fromStripeAmount(r.amount, r.currency, 'refund amount');
  return {
    providerRefundReference: r.id,
    status: refundStatusOf(r.status),
    amountMinor: m.amountMinor,
    currency: m.currency,
  };
}

// ---- webhooks -----------------------------------------------------------------------------------------------------

/** The event types Clearhub reads; enable these on the Stripe webhook endpoint (the others are acknowledged, unread). */
export const STRIPE_WEBHOOK_EVENTS = [
  'payment_intent.succeeded',
  'payment_intent.amount_capturable_updated',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'payment_intent.requires_action',
  'payment_intent.processing',
  'refund.created',
  'refund.updated',
  'refund.failed',
  'charge.refund.updated',
  'charge.refunded',
  'charge.dispute.created',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
  'charge.dispute.closed',
  'checkout.session.completed',
  'checkout.session.expired',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
] as const;

/** The envelope of a v1 event as it arrives (snapshot payload). */
export interface StripeEventEnvelope {
  id: string;
  object: 'event';
  type: string;
  created: number;
  livemode?: boolean;
  data: { object: { object?: string; id?: string } & Record<string, unknown> };
}

/** Whether a parsed body is a v1 snapshot event (thin `v2.core.event` notifications are not). */
export function isEventEnvelope(v: unknown): v is StripeEventEnvelope {
  if (!v || typeof v !== 'object') return false;
  const e = v as Record<string, unknown>;
  const data = e.data as Record<string, unknown> | undefined;
  return (
    e.object === 'event' &&
    typeof e.id === 'string' &&
    typeof e.type === 'string' &&
    typeof e.created === 'number' &&
    !!data &&
    typeof data === 'object' &&
    !!data.object &&
    typeof data.object === 'object'
  );
}

const idOf = (v: string | { id: string } | null | undefined): string | undefined =>
  typeof v === 'string' ? v : (v?.id ?? undefined);

/** The data object of an event, checked to be the kind the event type promises. */
function objectOf<T>(e: StripeEventEnvelope, kind: string): T {
  const o = e.data.object;
  if (o.object !== kind) {
    throw new IntegrityError(`Stripe event ${e.id} (${e.type}) carries a ${String(o.object)}, expected a ${kind}`);
  }
  return o as unknown as T;
}

/**
 * Our events in one Stripe event. Refunds become one `payment.refunded` per refund whose id is the refund's (so
 * `refund.created`, `refund.updated` and `charge.refunded` about the same refund de-duplicate); a dispute's money
 * leaving is keyed by the dispute, so `charge.dispute.created` and `charge.dispute.funds_withdrawn` de-duplicate too.
 * Event types Clearhub does not read give none.
 */
export function eventsFromWire(e: StripeEventEnvelope): WebhookEvent[] {
  const occurredAt = new Date(e.created * 1000).toISOString();
  const base = (type: WebhookEventType, providerReference: string, eventId = e.id) => ({
    eventId,
    type,
    providerReference,
    occurredAt,
  });
  const intentEvent = (
    type: WebhookEventType,
    amountField?: 'amount_received' | 'amount_capturable',
  ): WebhookEvent[] => {
    const pi = objectOf<Stripe.PaymentIntent>(e, 'payment_intent');
    // On Checkout's page the payer can try another card after a decline: the session's end decides, not the attempt.
    if (type === 'payment.failed' && pi.metadata?.[META.flow] === HOSTED_CHECKOUT) return [];
    const paymentId = pi.metadata?.[META.paymentId];
    const out: WebhookEvent = { ...base(type, pi.id), ...(paymentId ? { paymentId } : {}) };
    if (amountField) {
      const m = fromStripeAmount(pi[amountField], pi.currency, amountField);
      out.amountMinor = m.amountMinor;
      out.currency = m.currency;
    }
    if (type === 'payment.failed' && pi.last_payment_error) out.decline = declineOf(pi.last_payment_error);
    return [out];
  };
  const refundEvent = (r: Stripe.Refund): WebhookEvent[] => {
    const status = refundStatusOf(r.status);
    if (status === 'pending') return [];
    const ref = idOf(r.payment_intent) ?? idOf(r.charge);
    if (!ref) return [];
    const m = fromStripeAmount(r.amount, r.currency, 'refund amount');
    const paymentId = r.metadata?.[META.paymentId];
    const refundId = r.metadata?.[META.refundId];
    const failed = status === 'failed';
    return [
      {
        ...base(
          failed ? 'payment.refund_failed' : 'payment.refunded',
          ref,
          `${r.id}${failed ? ':failed' : ':succeeded'}`,
        ),
        amountMinor: m.amountMinor,
        currency: m.currency,
        providerRefundReference: r.id,
        ...(paymentId ? { paymentId } : {}),
        ...(refundId ? { refundId } : {}),
      },
    ];
  };
  const disputeEvent = (type: WebhookEventType, eventId = e.id): WebhookEvent[] => {
    const d = objectOf<Stripe.Dispute>(e, 'dispute');
    const ref = idOf(d.payment_intent) ?? idOf(d.charge);
    if (!ref) return [];
    const m = fromStripeAmount(d.amount, d.currency, 'dispute amount');
    return [{ ...base(type, ref, eventId), amountMinor: m.amountMinor, currency: m.currency }];
  };
  const withdrawnId = (d: { id: string }) => `${d.id}:funds_withdrawn`;
  const sessionEvent = (type: WebhookEventType, withAmount = false): WebhookEvent[] => {
    const s = objectOf<Stripe.Checkout.Session>(e, 'checkout.session');
    const paymentId = s.metadata?.[META.paymentId] ?? s.client_reference_id ?? undefined;
    const out: WebhookEvent = { ...base(type, s.id), ...(paymentId ? { paymentId } : {}) };
    if (withAmount) {
      const m = checkoutAmountOf(s);
      out.amountMinor = m.amountMinor;
      out.currency = m.currency;
    }
    return [out];
  };

  switch (e.type) {
    case 'payment_intent.succeeded':
      return intentEvent('payment.succeeded', 'amount_received');
    case 'payment_intent.amount_capturable_updated':
      return intentEvent('payment.authorized', 'amount_capturable');
    case 'payment_intent.payment_failed':
      return intentEvent('payment.failed');
    case 'payment_intent.canceled': {
      const pi = objectOf<Stripe.PaymentIntent>(e, 'payment_intent');
      return intentEvent(
        pi.cancellation_reason && LAPSED.has(pi.cancellation_reason) ? 'payment.expired' : 'payment.canceled',
      );
    }
    case 'payment_intent.requires_action':
      return intentEvent('payment.requires_action');
    case 'payment_intent.processing':
      return intentEvent('payment.pending');
    case 'refund.created':
    case 'refund.updated':
    case 'refund.failed':
    case 'charge.refund.updated':
      return refundEvent(objectOf<Stripe.Refund>(e, 'refund'));
    case 'charge.refunded': {
      // Older API versions embed the charge's refunds; newer ones do not, and their refund.* events carry them.
      const ch = objectOf<Stripe.Charge>(e, 'charge');
      return (ch.refunds?.data ?? []).flatMap(refundEvent);
    }
    case 'charge.dispute.created': {
      const d = objectOf<Stripe.Dispute>(e, 'dispute');
      // An inquiry (warning_*) takes no money yet; a dispute proper debits it at once.
      return d.status.startsWith('warning_')
        ? disputeEvent('payment.dispute_opened')
        : disputeEvent('payment.charged_back', withdrawnId(d));
    }
    case 'charge.dispute.funds_withdrawn':
      return disputeEvent('payment.charged_back', withdrawnId(objectOf<Stripe.Dispute>(e, 'dispute')));
    case 'charge.dispute.funds_reinstated':
      return disputeEvent('payment.chargeback_reversed');
    case 'charge.dispute.closed':
      return disputeEvent('payment.dispute_closed');
    case 'checkout.session.completed': {
      const s = objectOf<Stripe.Checkout.Session>(e, 'checkout.session');
      const paid = known(CHECKOUT_PAYMENT_STATUSES, s.payment_status, 'Checkout Session payment_status');
      switch (paid) {
        case 'paid':
          return s.metadata?.[META.capture] === 'manual'
            ? sessionEvent('payment.authorized', true)
            : sessionEvent('payment.succeeded', true);
        case 'unpaid':
          // Paid on the page, money not there yet (a delayed method, or an authorisation awaiting capture).
          return sessionEvent('payment.pending');
        case 'no_payment_required':
          return [];
        default: {
          const never: never = paid;
          throw new IntegrityError(`unhandled Checkout Session payment_status ${String(never)}`);
        }
      }
    }
    case 'checkout.session.async_payment_succeeded':
      return sessionEvent('payment.succeeded', true);
    case 'checkout.session.async_payment_failed':
      return sessionEvent('payment.failed');
    case 'checkout.session.expired':
      return sessionEvent('payment.canceled');
    default:
      return [];
  }
}

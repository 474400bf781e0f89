/**
 * Wire types and pure conversions of the PayPal provider. The API side is the SDK's models (camelCase; the SDK maps
 * them to PayPal's snake_case JSON); the webhook side is PayPal's raw JSON, checked with zod here because the SDK has
 * no webhook types. Money crosses here once: PayPal's decimal strings ("123.45") ⇄ integer minor units.
 */
import {
  AuthorizationStatus,
  type AuthorizationWithAdditionalData,
  CaptureStatus,
  CheckoutPaymentIntent,
  type LinkDescription,
  type Order,
  type OrderRequest,
  OrderStatus,
  type OrdersCapture,
  PaypalExperienceUserAction,
  PaypalWalletContextShippingPreference,
  type Refund,
  type RefundRequest,
  RefundStatus,
} from '@paypal/paypal-server-sdk';
import { z } from 'zod';
import { ConnectorError, IntegrationError } from '../../../domain/errors';
import { exponentOf, formatMinor, parseDecimalToMinor, sumMinor } from '../../../domain/money';
import type { PaymentState } from '../../../domain/types';
import { keyWithin } from '../keys';
import type {
  CreatePaymentInput,
  Decline,
  NextAction,
  ProviderPayment,
  ProviderRefund,
  RefundInput,
  WebhookEvent,
  WebhookEventType,
} from '../types';
import { type STATUS_DECLINES, statusDecline } from './errors';

/** PayPal's own limits on the fields we fill (Orders v2 spec). */
const MAX_CUSTOM_ID = 127;
const MAX_REQUEST_ID = 108;
const MAX_DESCRIPTION = 127;
const LOCALE = /^[a-z]{2}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?$/;

/** The catalogue's PayPal type strings this provider serves (the PayPal wallet, Pay Later is chosen in it). */
export const SUPPORTED_TYPES = ['paypal'] as const;

/** Query parameter added to the return URL to make PayPal's `cancel_url`; the checkout sees the payer canceled. */
export const CANCEL_PARAM = 'paypal_cancel';

/** Our idempotency key as PayPal-Request-Id (108 characters at most): a longer one goes as its hash ({@link keyWithin}). */
export const requestIdFor = (key: string): string => keyWithin(key, MAX_REQUEST_ID);

/** `returnUrl` with {@link CANCEL_PARAM}=1: where PayPal sends a payer who cancels. */
export function cancelUrlOf(returnUrl: string): string {
  const u = new URL(returnUrl);
  u.searchParams.set(CANCEL_PARAM, '1');
  return u.toString();
}

/**
 * Currencies PayPal takes without decimals although ISO 4217 gives them two (PayPal's currency codes page): amounts
 * must be whole units and are sent without a fraction.
 */
export const WHOLE_UNIT_CURRENCIES: ReadonlySet<string> = new Set(['HUF', 'TWD']);

/** The PayPal amount for minor units: `{currency_code, value: "123.45"}`. */
export function toWireMoney(amountMinor: number, currency: string): { currencyCode: string; value: string } {
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
    throw new IntegrationError(`${amountMinor} is not a positive integer of minor units`, 'amountMinor');
  }
  const value = formatMinor(amountMinor, currency);
  if (WHOLE_UNIT_CURRENCIES.has(currency)) {
    if (!/\.0+$/.test(value)) {
      throw new IntegrationError(
        `PayPal takes ${currency} in whole units only; ${value} has a fraction`,
        'amountMinor',
      );
    }
    return { currencyCode: currency, value: value.replace(/\.0+$/, '') };
  }
  return { currencyCode: currency, value };
}

export function fromWireMoney(m: { currencyCode: string; value: string } | undefined, field: string) {
  if (!m) throw new ConnectorError(`PayPal sent no ${field}`, { code: 'PARSE' });
  return { amountMinor: parseDecimalToMinor(m.value, m.currencyCode, field), currency: m.currencyCode };
}

/**
 * The Orders v2 create request for a payment: one purchase unit whose `reference_id`, `custom_id` and `invoice_id` are
 * our payment id (webhooks and reports find the payment by `custom_id`), intent CAPTURE or AUTHORIZE, and the PayPal
 * wallet with `return_url`/`cancel_url`, locale and PAY_NOW (the payer confirms the amount on PayPal's page).
 */
export function orderRequestFrom(input: CreatePaymentInput, opts: { brandName?: string } = {}): OrderRequest {
  if (!(SUPPORTED_TYPES as readonly string[]).includes(input.providerType)) {
    throw new IntegrationError(
      `the PayPal provider serves ${SUPPORTED_TYPES.join(', ')}; "${input.providerType}" (method ${input.method}) is not supported`,
      'providerType',
    );
  }
  if (!input.paymentId || input.paymentId.length > MAX_CUSTOM_ID) {
    throw new IntegrationError(`must be 1 to ${MAX_CUSTOM_ID} characters (PayPal custom_id)`, 'paymentId');
  }
  requestIdFor(input.idempotencyKey);
  exponentOf(input.currency);
  let returnUrl: URL;
  try {
    returnUrl = new URL(input.returnUrl);
  } catch {
    throw new IntegrationError('is not an absolute URL', 'returnUrl');
  }
  const locale = input.locale && LOCALE.test(input.locale) ? input.locale : undefined;
  const description = input.description?.trim().slice(0, MAX_DESCRIPTION) || undefined;
  return {
    intent: input.capture === 'automatic' ? CheckoutPaymentIntent.Capture : CheckoutPaymentIntent.Authorize,
    purchaseUnits: [
      {
        referenceId: input.paymentId,
        customId: input.paymentId,
        invoiceId: input.paymentId,
        ...(description ? { description } : {}),
        amount: toWireMoney(input.amountMinor, input.currency),
      },
    ],
    paymentSource: {
      paypal: {
        ...(input.payer?.email ? { emailAddress: input.payer.email } : {}),
        experienceContext: {
          returnUrl: returnUrl.toString(),
          cancelUrl: cancelUrlOf(input.returnUrl),
          userAction: PaypalExperienceUserAction.PayNow,
          shippingPreference: PaypalWalletContextShippingPreference.NoShipping,
          ...(locale ? { locale } : {}),
          ...(opts.brandName ? { brandName: opts.brandName } : {}),
        },
      },
    },
  };
}

/** The refund request: amount, our payment id as `custom_id`, `<paymentId>:<refundId>` as `invoice_id` (unique). */
export function refundRequestFrom(input: RefundInput): RefundRequest {
  const invoiceId = `${input.paymentId}:${input.refundId}`;
  return {
    amount: toWireMoney(input.amountMinor, input.currency),
    ...(input.paymentId.length <= MAX_CUSTOM_ID ? { customId: input.paymentId } : {}),
    ...(invoiceId.length <= MAX_CUSTOM_ID ? { invoiceId } : {}),
    ...(input.reason ? { noteToPayer: input.reason.slice(0, 255) } : {}),
  };
}

/** Our refund id back from a refund's `invoice_id` when it has the form {@link refundRequestFrom} gave it. */
export function refundIdOf(customId: string | undefined, invoiceId: string | undefined): string | undefined {
  if (!customId || !invoiceId?.startsWith(`${customId}:`)) return undefined;
  return invoiceId.slice(customId.length + 1) || undefined;
}

export function refundFromWire(r: Refund): ProviderRefund {
  const m = fromWireMoney(r.amount, 'refund amount');
  if (!r.id) throw new ConnectorError('PayPal sent a refund without id', { code: 'PARSE' });
  return { providerRefundReference: r.id, status: refundState(r.status), ...m };
}

function refundState(s: RefundStatus | undefined): ProviderRefund['status'] {
  if (s === undefined) return 'pending';
  switch (s) {
    case RefundStatus.Completed:
      return 'succeeded';
    case RefundStatus.Pending:
      return 'pending';
    case RefundStatus.Failed:
    case RefundStatus.Cancelled:
      return 'failed';
    default:
      return unknownStatus('refund', s);
  }
}

function unknownStatus(kind: string, s: never): never {
  throw new ConnectorError(`PayPal sent an unknown ${kind} status "${String(s)}"`, { code: 'UNKNOWN_STATUS' });
}

/** The payer's approval URL: PayPal's `payer-action` link (payment_source flow), else the classic `approve` link. */
export function approvalLink(links: LinkDescription[] | undefined): string | undefined {
  return (links?.find((l) => l.rel === 'payer-action') ?? links?.find((l) => l.rel === 'approve'))?.href;
}

/** Money that moved: captures that went through (refunds do not undo a capture's status, they are counted apart). */
function captured(c: OrdersCapture): boolean {
  const s = c.status;
  if (s === undefined) return false;
  switch (s) {
    case CaptureStatus.Completed:
    case CaptureStatus.PartiallyRefunded:
    case CaptureStatus.Refunded:
      return true;
    case CaptureStatus.Pending:
    case CaptureStatus.Declined:
    case CaptureStatus.Failed:
      return false;
    default:
      return unknownStatus('capture', s);
  }
}

interface Settled {
  status: PaymentState;
  providerStatus: string;
  decline?: Decline;
}

function fromCaptures(caps: OrdersCapture[], capturedMinor: number, refundedMinor: number): Settled {
  const last = caps[caps.length - 1]!;
  const lastStatus = last.status ?? 'UNKNOWN';
  if (capturedMinor > 0) {
    const status: PaymentState =
      refundedMinor >= capturedMinor ? 'refunded' : refundedMinor > 0 ? 'partially_refunded' : 'succeeded';
    return { status, providerStatus: lastStatus };
  }
  const s = last.status ?? CaptureStatus.Pending;
  switch (s) {
    case CaptureStatus.Pending:
      return { status: 'pending', providerStatus: s };
    case CaptureStatus.Declined:
    case CaptureStatus.Failed: {
      const decline = statusDecline('capture', s, last.statusDetails?.reason) ?? fallbackDecline(s);
      return { status: 'failed', providerStatus: s, decline };
    }
    case CaptureStatus.Completed:
    case CaptureStatus.PartiallyRefunded:
    case CaptureStatus.Refunded:
      return { status: 'succeeded', providerStatus: s };
    default:
      return unknownStatus('capture', s);
  }
}

function fallbackDecline(s: string): Decline {
  return { code: 'other', providerCode: s, message: `PayPal reported ${s}` };
}

function fromAuthorization(a: AuthorizationWithAdditionalData): Settled {
  const s = a.status ?? AuthorizationStatus.Pending;
  switch (s) {
    case AuthorizationStatus.Created:
      return { status: 'authorized', providerStatus: s };
    case AuthorizationStatus.Pending:
      return { status: 'pending', providerStatus: s };
    case AuthorizationStatus.Denied:
      return {
        status: 'failed',
        providerStatus: s,
        decline: statusDecline('authorization', s) ?? fallbackDecline(s),
      };
    case AuthorizationStatus.Voided:
      return { status: 'canceled', providerStatus: s };
    case AuthorizationStatus.Captured:
    case AuthorizationStatus.PartiallyCaptured:
      // The captures themselves are missing from this answer; what was captured is unknown here.
      return { status: 'pending', providerStatus: s };
    default:
      return unknownStatus('authorization', s);
  }
}

/**
 * Our view of an order. The order id is the provider reference; its captures, authorizations and refunds (all in
 * `purchase_units[0].payments`) decide the state once the order is COMPLETED. `providerStatus` is the order status,
 * followed by the capture's or authorization's status when one decided (e.g. `COMPLETED/PARTIALLY_REFUNDED`).
 */
export function paymentFromOrder(order: Order): ProviderPayment {
  if (!order.id) throw new ConnectorError('PayPal sent an order without id', { code: 'PARSE' });
  const pu = order.purchaseUnits?.[0];
  const { amountMinor, currency } = fromWireMoney(pu?.amount, 'purchase_units[0].amount');
  const caps = pu?.payments?.captures ?? [];
  const auths = pu?.payments?.authorizations ?? [];
  const refunds = pu?.payments?.refunds ?? [];
  const capturedMinor = sumMinor(
    caps.filter(captured).map((c) => fromWireMoney(c.amount, 'capture amount').amountMinor),
  );
  const refundedMinor = sumMinor(
    refunds
      .filter((r) => r.status === RefundStatus.Completed)
      .map((r) => fromWireMoney(r.amount, 'refund amount').amountMinor),
  );
  const orderStatus = order.status ?? OrderStatus.Created;
  let settled: Settled;
  let nextAction: NextAction = { type: 'none' };
  switch (orderStatus) {
    case OrderStatus.Created:
    case OrderStatus.PayerActionRequired: {
      const url = approvalLink(order.links);
      if (!url) throw new ConnectorError(`PayPal order ${order.id} has no approval link`, { code: 'PARSE' });
      nextAction = { type: 'redirect', url };
      settled = { status: 'requires_action', providerStatus: orderStatus };
      break;
    }
    case OrderStatus.Approved:
    case OrderStatus.Saved:
      // The payer approved; nothing moved until complete() captures or authorizes.
      settled = { status: 'pending', providerStatus: orderStatus };
      break;
    case OrderStatus.Voided:
      settled = { status: 'canceled', providerStatus: orderStatus };
      break;
    case OrderStatus.Completed: {
      const inner = caps.length
        ? fromCaptures(caps, capturedMinor, refundedMinor)
        : auths.length
          ? fromAuthorization(auths[auths.length - 1]!)
          : { status: 'pending' as const, providerStatus: 'NO_PAYMENT' };
      settled = { ...inner, providerStatus: `${orderStatus}/${inner.providerStatus}` };
      break;
    }
    default:
      return unknownStatus('order', orderStatus);
  }
  return {
    providerReference: order.id,
    status: settled.status,
    providerStatus: settled.providerStatus,
    amountMinor,
    currency,
    capturedMinor,
    refundedMinor,
    nextAction,
    ...(settled.decline ? { decline: settled.decline } : {}),
  };
}

/** The payment id an order carries (`custom_id` of its purchase unit), if any. */
export function paymentIdOf(order: Order): string | undefined {
  return order.purchaseUnits?.[0]?.customId ?? undefined;
}

/** The latest authorization of an order. */
export function authorizationOf(order: Order): AuthorizationWithAdditionalData | undefined {
  const auths = order.purchaseUnits?.[0]?.payments?.authorizations ?? [];
  return auths[auths.length - 1];
}

/** The capture a refund of `amountMinor` goes to: the first with that much left, else the latest. */
export function captureForRefund(order: Order, amountMinor: number): OrdersCapture | undefined {
  const pu = order.purchaseUnits?.[0];
  const caps = (pu?.payments?.captures ?? []).filter((c) => c.id && c.status !== CaptureStatus.Declined);
  return (
    caps.find((c) => {
      if (c.status !== CaptureStatus.Completed && c.status !== CaptureStatus.PartiallyRefunded) return false;
      return fromWireMoney(c.amount, 'capture amount').amountMinor >= amountMinor;
    }) ?? caps[caps.length - 1]
  );
}

/** A payment that did not happen because the payer turned back at PayPal. */
export function canceledByShopper(p: ProviderPayment): ProviderPayment {
  return {
    ...p,
    status: 'canceled',
    nextAction: { type: 'none' },
    decline: {
      code: 'canceled_by_shopper',
      providerCode: p.providerStatus,
      message: 'the payer returned from PayPal without approving the payment',
    },
  };
}

// ---- webhooks ---------------------------------------------------------------------------------------------------

const moneyWire = z.object({ currency_code: z.string().min(3).max(3), value: z.string().min(1) });
const linkWire = z.object({ href: z.string(), rel: z.string(), method: z.string().optional() });
const relatedIds = z
  .object({
    related_ids: z
      .object({
        order_id: z.string().optional(),
        authorization_id: z.string().optional(),
        capture_id: z.string().optional(),
      })
      .optional(),
  })
  .optional();

/** The envelope of every PayPal webhook event (`notifications_webhooks_v1` `event`). */
export const webhookEnvelopeSchema = z.object({
  id: z.string().min(1),
  event_type: z.string().min(1),
  create_time: z.string().optional(),
  resource_type: z.string().optional(),
  resource_version: z.string().optional(),
  resource: z.record(z.string(), z.unknown()),
});
export type PayPalWebhookEnvelope = z.infer<typeof webhookEnvelopeSchema>;

const captureResource = z.object({
  id: z.string().min(1),
  status: z.string(),
  amount: moneyWire,
  custom_id: z.string().optional(),
  invoice_id: z.string().optional(),
  status_details: z.object({ reason: z.string().optional() }).optional(),
  supplementary_data: relatedIds,
  create_time: z.string().optional(),
  update_time: z.string().optional(),
  links: z.array(linkWire).optional(),
});
const refundResource = captureResource;
const authorizationResource = captureResource;
const orderResource = z.object({
  id: z.string().min(1),
  status: z.string().optional(),
  purchase_units: z.array(z.object({ custom_id: z.string().optional(), amount: moneyWire.optional() })).optional(),
  create_time: z.string().optional(),
  update_time: z.string().optional(),
});
const disputeResource = z.object({
  dispute_id: z.string().min(1),
  status: z.string().optional(),
  reason: z.string().optional(),
  dispute_amount: moneyWire.optional(),
  disputed_transactions: z
    .array(z.object({ seller_transaction_id: z.string().optional(), custom: z.string().optional() }))
    .optional(),
  dispute_outcome: z.object({ outcome_code: z.string().optional() }).optional(),
  create_time: z.string().optional(),
  update_time: z.string().optional(),
});

type ResourceKind = 'capture' | 'refund' | 'authorization' | 'order' | 'dispute';

/**
 * PayPal event types this provider turns into events, with the resource each carries. Other event types are verified
 * and answered, and produce no event (PayPal sends whatever the webhook subscribes to).
 */
export const WEBHOOK_EVENTS = {
  'PAYMENT.CAPTURE.COMPLETED': { resource: 'capture', type: 'payment.succeeded' },
  'PAYMENT.CAPTURE.PENDING': { resource: 'capture', type: 'payment.pending' },
  'PAYMENT.CAPTURE.DENIED': { resource: 'capture', type: 'payment.failed' },
  'PAYMENT.CAPTURE.DECLINED': { resource: 'capture', type: 'payment.failed' },
  'PAYMENT.CAPTURE.REFUNDED': { resource: 'refund', type: 'payment.refunded' },
  'PAYMENT.CAPTURE.REVERSED': { resource: 'refund', type: 'payment.charged_back' },
  'PAYMENT.AUTHORIZATION.CREATED': { resource: 'authorization', type: 'payment.authorized' },
  'PAYMENT.AUTHORIZATION.VOIDED': { resource: 'authorization', type: 'payment.canceled' },
  'CHECKOUT.ORDER.APPROVED': { resource: 'order', type: 'payment.pending' },
  'CUSTOMER.DISPUTE.CREATED': { resource: 'dispute', type: 'payment.dispute_opened' },
  'CUSTOMER.DISPUTE.RESOLVED': { resource: 'dispute', type: 'payment.dispute_closed' },
} as const satisfies Record<string, { resource: ResourceKind; type: WebhookEventType }>;

export type PayPalEventType = keyof typeof WEBHOOK_EVENTS;

/** Looks up the order a capture or authorization belongs to when the event does not say (refunds, disputes). */
export interface OrderResolver {
  orderOfCapture(captureId: string): Promise<string>;
  orderOfAuthorization(authorizationId: string): Promise<string>;
}

/** Malformed resource of a verified event. */
export class MalformedEvent extends Error {
  override readonly name = 'MalformedEvent';
}

function parseResource<T extends z.ZodType>(schema: T, resource: unknown, eventType: string): z.output<T> {
  const r = schema.safeParse(resource);
  if (!r.success) {
    const where = r.error.issues.map((i) => i.path.join('.') || '(root)').join(', ');
    throw new MalformedEvent(`${eventType}: resource does not have the expected fields (${where})`);
  }
  return r.data;
}

function amountOf(m: z.infer<typeof moneyWire> | undefined, eventType: string) {
  if (!m) return {};
  try {
    return { amountMinor: parseDecimalToMinor(m.value, m.currency_code, 'amount'), currency: m.currency_code };
  } catch (err) {
    throw new MalformedEvent(`${eventType}: ${(err as Error).message}`);
  }
}

const UP_CAPTURE = /\/v2\/payments\/captures\/([A-Za-z0-9]+)(?:[/?#]|$)/;

/**
 * The events of one verified delivery. Capture and authorization resources name their order in
 * `supplementary_data.related_ids.order_id`; refunds and disputes name a capture, whose order `resolver` looks up.
 */
export async function eventsFromWebhook(env: PayPalWebhookEnvelope, resolver: OrderResolver): Promise<WebhookEvent[]> {
  if (!Object.hasOwn(WEBHOOK_EVENTS, env.event_type)) return [];
  const eventType = env.event_type as PayPalEventType;
  const row = WEBHOOK_EVENTS[eventType];
  const base = { eventId: env.id, type: row.type as WebhookEventType };
  const fallbackTime = env.create_time ?? new Date(0).toISOString();
  switch (row.resource) {
    case 'capture': {
      const c = parseResource(captureResource, env.resource, eventType);
      const orderId = c.supplementary_data?.related_ids?.order_id ?? (await resolver.orderOfCapture(c.id));
      const decline =
        row.type === 'payment.failed'
          ? (statusDecline('capture', captureDeclineStatus(c.status), c.status_details?.reason) ?? {
              code: 'card_declined' as const,
              providerCode: c.status,
              message: `PayPal capture ${c.status}`,
            })
          : undefined;
      return [
        {
          ...base,
          providerReference: orderId,
          ...(c.custom_id ? { paymentId: c.custom_id } : {}),
          ...amountOf(c.amount, eventType),
          occurredAt: c.update_time ?? c.create_time ?? fallbackTime,
          ...(decline ? { decline } : {}),
        },
      ];
    }
    case 'refund': {
      const r = parseResource(refundResource, env.resource, eventType);
      const captureId =
        r.supplementary_data?.related_ids?.capture_id ??
        r.links?.map((l) => (l.rel === 'up' ? UP_CAPTURE.exec(l.href)?.[1] : undefined)).find(Boolean);
      const orderId =
        r.supplementary_data?.related_ids?.order_id ??
        (captureId ? await resolver.orderOfCapture(captureId) : undefined);
      if (!orderId) throw new MalformedEvent(`${eventType}: the refund names no capture`);
      const refundId = refundIdOf(r.custom_id, r.invoice_id);
      return [
        {
          ...base,
          providerReference: orderId,
          ...(r.custom_id ? { paymentId: r.custom_id } : {}),
          ...amountOf(r.amount, eventType),
          occurredAt: r.update_time ?? r.create_time ?? fallbackTime,
          ...(refundId && row.type === 'payment.refunded' ? { refundId } : {}),
        },
      ];
    }
    case 'authorization': {
      const a = parseResource(authorizationResource, env.resource, eventType);
      const orderId = a.supplementary_data?.related_ids?.order_id ?? (await resolver.orderOfAuthorization(a.id));
      return [
        {
          ...base,
          providerReference: orderId,
          ...(a.custom_id ? { paymentId: a.custom_id } : {}),
          ...amountOf(a.amount, eventType),
          occurredAt: a.update_time ?? a.create_time ?? fallbackTime,
        },
      ];
    }
    case 'order': {
      const o = parseResource(orderResource, env.resource, eventType);
      const pu = o.purchase_units?.[0];
      return [
        {
          ...base,
          providerReference: o.id,
          ...(pu?.custom_id ? { paymentId: pu.custom_id } : {}),
          ...amountOf(pu?.amount, eventType),
          occurredAt: o.update_time ?? o.create_time ?? fallbackTime,
        },
      ];
    }
    case 'dispute': {
      const d = parseResource(disputeResource, env.resource, eventType);
      const tx = d.disputed_transactions?.find((t) => t.seller_transaction_id);
      if (!tx?.seller_transaction_id) throw new MalformedEvent(`${eventType}: the dispute names no transaction`);
      const orderId = await resolver.orderOfCapture(tx.seller_transaction_id);
      return [
        {
          ...base,
          providerReference: orderId,
          ...(tx.custom ? { paymentId: tx.custom } : {}),
          ...amountOf(d.dispute_amount, eventType),
          occurredAt: d.update_time ?? d.create_time ?? fallbackTime,
        },
      ];
    }
    default: {
      const never: never = row;
      throw new MalformedEvent(`unhandled resource ${String(never)}`);
    }
  }
}

/** PAYMENT.CAPTURE.DENIED carries status DECLINED or FAILED (or DENIED on older resources). */
function captureDeclineStatus(status: string): keyof (typeof STATUS_DECLINES)['capture'] {
  return status === 'FAILED' ? 'FAILED' : 'DECLINED';
}

// ---- logs ------------------------------------------------------------------------------------------------------

const SECRET_HEADER = /\b(authorization|paypal-auth-assertion)(["']?\s*[:=]\s*["']?)[^"'\r\n,}]+/gi;
const SECRET_FIELD =
  /\b(client_secret|clientSecret|access_token|accessToken|refresh_token|id_token|secret)(["']?\s*[:=]\s*["']?)[^"'&\s,}]+/gi;
const BASIC_OR_BEARER = /\b(Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}/g;
const EMAIL = /\b[^\s@,;"']+@[^\s@,;"']+\.[A-Za-z]{2,}\b/g;

/**
 * Masks what must not reach a log from PayPal traffic: Authorization headers, Basic and Bearer credentials, client
 * secrets and access tokens in bodies, e-mail addresses of payers.
 * @example scrub('Authorization: Bearer A21AAJ…') // 'Authorization: [REDACTED]'
 */
export function scrub(s: string): string {
  return s
    .replace(SECRET_HEADER, '$1$2[REDACTED]')
    .replace(SECRET_FIELD, '$1$2[REDACTED]')
    .replace(BASIC_OR_BEARER, '$1 [REDACTED]')
    .replace(EMAIL, '[EMAIL]');
}

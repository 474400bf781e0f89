/**
 * A stateful PayPal REST simulator (Orders v2, Payments v2, OAuth, webhook signature postback) that the official
 * `@paypal/paypal-server-sdk` talks to through the provider's base-URL rewrite. It keeps orders, authorizations,
 * captures, refunds and disputes in memory and behaves, as far as the provider can tell, like PayPal's sandbox:
 *
 * - `POST /v1/oauth2/token` with Basic `clientId:clientSecret` and `grant_type=client_credentials`; anything else is
 *   `401 {"error":"invalid_client"}`. Every other API call needs the Bearer token it issued.
 * - Orders: create (status PAYER_ACTION_REQUIRED with a `payer-action` link when `payment_source.paypal` is given,
 *   else CREATED with `approve`), get, capture, authorize. Payments: authorization get/capture/void, capture
 *   get/refund, refund get. Errors are PayPal's JSON (`name`, `message`, `debug_id`, `details[{field, issue,
 *   description}]`).
 * - `PayPal-Request-Id`: a repeated id on the same operation answers with the resource the first request made
 *   (its current state), and moves no money again. Failed requests are not remembered.
 * - The approval page `GET /checkoutnow?token=<order>&outcome=approve|reject` plays the payer and redirects (302) to
 *   `return_url?token=<order>&PayerID=<id>` or `cancel_url?token=<order>`; without `outcome` it shows both links.
 * - Webhooks signed with the simulator's RSA key; its certificate is served at `/v1/notifications/certs/<name>`
 *   (see `webhooks.ts`, `certificate.ts`). `POST /v1/notifications/verify-webhook-signature` answers
 *   SUCCESS/FAILURE for deliveries it signed.
 *
 * Magic values (see README.md): the last two digits of the amount in minor units decide what capture/authorize does —
 * `51` INSTRUMENT_DECLINED (422; TRANSACTION_REFUSED on authorize), `52` capture DECLINED / authorization DENIED, `53` PENDING, `54` PAYER_CANNOT_PAY
 * (422), `55` HTTP 500 without acting; a payer e-mail whose local part ends in `+decline` is INSTRUMENT_DECLINED.
 */
import { randomBytes, verify as verifySignature, X509Certificate } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { signingIdentity } from './certificate';
import {
  type DeliveryAttempt,
  type RetryOptions,
  type SignOptions,
  signedMessage,
  WebhookDispatcher,
} from './webhooks';

type Json = Record<string, unknown>;

interface MoneyWire {
  currency_code: string;
  value: string;
}

interface SimOrder {
  id: string;
  intent: 'CAPTURE' | 'AUTHORIZE';
  status: 'CREATED' | 'PAYER_ACTION_REQUIRED' | 'APPROVED' | 'COMPLETED' | 'VOIDED' | 'SAVED';
  purchaseUnit: {
    reference_id: string;
    amount: MoneyWire;
    custom_id?: string;
    invoice_id?: string;
    description?: string;
  };
  returnUrl?: string;
  cancelUrl?: string;
  payerEmail?: string;
  payer?: { payer_id: string; email_address: string; given_name: string; surname: string };
  viaPaymentSource: boolean;
  captures: string[];
  authorizations: string[];
  refunds: string[];
  createTime: string;
  updateTime: string;
}

interface SimCapture {
  id: string;
  status: 'COMPLETED' | 'DECLINED' | 'PARTIALLY_REFUNDED' | 'PENDING' | 'REFUNDED' | 'FAILED';
  reason?: string;
  amount: MoneyWire;
  minor: number;
  refundedMinor: number;
  finalCapture: boolean;
  orderId: string;
  authorizationId?: string;
  customId?: string;
  invoiceId?: string;
  createTime: string;
  updateTime: string;
}

interface SimAuthorization {
  id: string;
  status: 'CREATED' | 'CAPTURED' | 'DENIED' | 'PARTIALLY_CAPTURED' | 'VOIDED' | 'PENDING';
  amount: MoneyWire;
  minor: number;
  capturedMinor: number;
  orderId: string;
  customId?: string;
  invoiceId?: string;
  createTime: string;
  updateTime: string;
  expirationTime: string;
}

interface SimRefund {
  id: string;
  status: 'COMPLETED' | 'PENDING' | 'FAILED' | 'CANCELLED';
  amount: MoneyWire;
  minor: number;
  captureId: string;
  orderId: string;
  customId?: string;
  invoiceId?: string;
  noteToPayer?: string;
  createTime: string;
  updateTime: string;
}

interface SimDispute {
  id: string;
  captureId: string;
  status: 'OPEN' | 'RESOLVED';
  outcome?: string;
  createTime: string;
  updateTime: string;
}

/** One request the simulator answered, for the contract test. `operation` is `METHOD /path/{template}`. */
export interface Exchange {
  operation: string;
  status: number;
  requestId?: string;
  requestBody: unknown;
  responseBody: unknown;
}

/** A webhook event as the simulator made it (before delivery). */
export interface SentEvent {
  id: string;
  event_type: string;
  resource_type: string;
  body: Buffer;
}

export interface PayPalSimulatorOptions {
  /** @defaultValue 'sim-client-id' */
  clientId?: string;
  /** @defaultValue 'sim-client-secret' */
  clientSecret?: string;
  /** Where webhooks go; none are posted without it (they are still recorded in `events`). */
  webhookUrl?: string;
  /** @defaultValue 'SIMWEBHOOK0001' */
  webhookId?: string;
  /**
   * Event types the webhook subscribes to. @defaultValue every payment, authorization, refund, reversal and
   * dispute event; `CHECKOUT.ORDER.APPROVED` only when listed (or with `'*'`)
   */
  events?: string[] | '*';
  retry?: RetryOptions;
  /** Longest stall of a request made to time out, when its client does not hang up first. @defaultValue 30000 */
  stallMaxMs?: number;
}

export const DEFAULT_EVENTS = [
  'PAYMENT.CAPTURE.COMPLETED',
  'PAYMENT.CAPTURE.PENDING',
  'PAYMENT.CAPTURE.DENIED',
  'PAYMENT.CAPTURE.REFUNDED',
  'PAYMENT.CAPTURE.REVERSED',
  'PAYMENT.AUTHORIZATION.CREATED',
  'PAYMENT.AUTHORIZATION.VOIDED',
  'CUSTOMER.DISPUTE.CREATED',
  'CUSTOMER.DISPUTE.RESOLVED',
];

/** Magic endings of the amount in minor units (documented in README.md). */
export const MAGIC = {
  instrumentDeclined: 51,
  declined: 52,
  pending: 53,
  payerCannotPay: 54,
  serverError: 55,
} as const;

const ERRORS = {
  400: { name: 'INVALID_REQUEST', message: 'Request is not well-formed, syntactically incorrect, or violates schema.' },
  401: {
    name: 'AUTHENTICATION_FAILURE',
    message: 'Authentication failed due to missing authorization header, or invalid authentication credentials.',
  },
  404: { name: 'RESOURCE_NOT_FOUND', message: 'The specified resource does not exist.' },
  409: { name: 'RESOURCE_CONFLICT', message: 'The server has detected a conflict while processing this request.' },
  422: {
    name: 'UNPROCESSABLE_ENTITY',
    message: 'The requested action could not be performed, semantically incorrect, or failed business validation.',
  },
  500: { name: 'INTERNAL_SERVER_ERROR', message: 'An internal server error occurred.' },
} as const;

/** Currencies PayPal takes without decimals; all others with two. */
const NO_DECIMALS = new Set(['JPY', 'HUF', 'TWD']);

class SimError extends Error {
  constructor(
    readonly status: keyof typeof ERRORS,
    readonly issue?: string,
    readonly field?: string,
    readonly description?: string,
  ) {
    super(issue ?? ERRORS[status].name);
  }
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** PayPal account ids (payer, merchant) avoid 0, 1, I and O. */
const ACCOUNT = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
function paypalId(len = 17, alphabet = ALNUM): string {
  const bytes = randomBytes(len);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}
const debugId = () => randomBytes(7).toString('hex').slice(0, 13);
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function parseAmount(m: unknown, field: string): { money: MoneyWire; minor: number } {
  if (!m || typeof m !== 'object') throw new SimError(400, 'MISSING_REQUIRED_PARAMETER', field);
  const { currency_code, value } = m as Partial<MoneyWire>;
  if (typeof currency_code !== 'string' || !/^[A-Z]{3}$/.test(currency_code)) {
    throw new SimError(422, 'INVALID_CURRENCY_CODE', `${field}/currency_code`);
  }
  if (typeof value !== 'string' || !/^\d{1,10}(\.\d{1,2})?$/.test(value)) {
    throw new SimError(400, 'INVALID_PARAMETER_SYNTAX', `${field}/value`);
  }
  const [int, frac = ''] = value.split('.');
  const exp = NO_DECIMALS.has(currency_code) ? 0 : 2;
  if (frac.length > exp) throw new SimError(422, 'DECIMAL_PRECISION', `${field}/value`);
  const minor = Number(int) * 10 ** exp + Number(frac.padEnd(exp, '0') || '0');
  if (minor <= 0) throw new SimError(422, 'CANNOT_BE_ZERO_OR_NEGATIVE', `${field}/value`);
  return { money: { currency_code, value }, minor };
}

function formatAmount(minor: number, currency: string): MoneyWire {
  if (NO_DECIMALS.has(currency)) return { currency_code: currency, value: String(minor) };
  const s = String(minor).padStart(3, '0');
  return { currency_code: currency, value: `${s.slice(0, -2)}.${s.slice(-2)}` };
}

function magicOf(minor: number): number {
  return minor % 100;
}

export interface PayPalSimulator {
  url: string;
  clientId: string;
  clientSecret: string;
  webhookId: string;
  /** Where the signing certificate is served. */
  certUrl: string;
  /** Answered requests, in order. */
  exchanges: Exchange[];
  /** Webhook events made, in order (subscribed ones only). */
  events: SentEvent[];
  /** Webhook POSTs made (retries included). */
  deliveries: DeliveryAttempt[];
  /** GETs of the certificate. */
  certificateRequests(): number;
  setWebhookUrl(url: string): void;
  /** Deliver every event twice (each a separate transmission). */
  duplicateWebhooks(on: boolean): void;
  /** Keep events until {@link flushWebhooks}. */
  holdWebhooks(): void;
  /** Send the held events, newest first unless `reverse` is false. */
  flushWebhooks(reverse?: boolean): void;
  /** Resolves when every delivery queued so far was tried once. */
  webhooksIdle(): Promise<void>;
  /** Signs a body with the simulator's key (or another identity) and returns the PAYPAL-* headers. */
  sign(body: Buffer, o?: SignOptions): Record<string, string>;
  /** The next money-moving request (capture, authorize, void, refund) is applied, then answered too late. */
  stallNextMoneyMovement(): void;
  /** Forgets every access token issued (as when PayPal expires or revokes them early). */
  revokeTokens(): void;
  /** Answers the next `n` token requests with this HTTP status and PayPal's error JSON. */
  failNextTokenRequests(n: number, status?: 500 | 503): void;
  /** Plays the payer on the approval page; returns the query PayPal appends to the return or cancel URL. */
  approve(orderId: string, outcome: 'approve' | 'reject'): Promise<Record<string, string>>;
  /** Opens a dispute on the order's capture (CUSTOMER.DISPUTE.CREATED); returns the dispute id. */
  openDispute(orderId: string): string;
  /** Resolves a dispute (CUSTOMER.DISPUTE.RESOLVED); in the buyer's favour PayPal also reverses the capture. */
  resolveDispute(disputeId: string, outcome: 'RESOLVED_BUYER_FAVOUR' | 'RESOLVED_SELLER_FAVOUR'): void;
  /** Orders created with this `custom_id`. */
  ordersFor(customId: string): number;
  /** Captures booked on this order (declined ones included). */
  capturesFor(orderId: string): number;
  /** The raw order JSON as GET /v2/checkout/orders/{id} would answer. */
  orderJson(orderId: string): Json | undefined;
  close(): Promise<void>;
}

export async function startPayPalSimulator(opts: PayPalSimulatorOptions = {}): Promise<PayPalSimulator> {
  const clientId = opts.clientId ?? 'sim-client-id';
  const clientSecret = opts.clientSecret ?? 'sim-client-secret';
  const webhookId = opts.webhookId ?? 'SIMWEBHOOK0001';
  const subscribed = (type: string) => opts.events === '*' || (opts.events ?? DEFAULT_EVENTS).includes(type);
  const stallMaxMs = opts.stallMaxMs ?? 30_000;
  const certName = `CERT-${randomBytes(8).toString('hex')}`;
  const identity = signingIdentity('simulator');

  const orders = new Map<string, SimOrder>();
  const captures = new Map<string, SimCapture>();
  const auths = new Map<string, SimAuthorization>();
  const refunds = new Map<string, SimRefund>();
  const disputes = new Map<string, SimDispute>();
  const tokens = new Map<string, number>();
  const replay = new Map<
    string,
    { status: number; kind: 'order' | 'capture' | 'authorization' | 'refund'; id: string }
  >();
  const refundInvoiceIds = new Set<string>();
  const exchanges: Exchange[] = [];
  const events: SentEvent[] = [];
  const stalls = new Set<() => void>();
  let stallNext = false;
  let failTokens = { n: 0, status: 500 as 500 | 503 };
  let certRequests = 0;
  let base = '';

  const dispatcher = new WebhookDispatcher(() => `${base}/v1/notifications/certs/${certName}`, webhookId, {
    attempts: opts.retry?.attempts ?? 6,
    delayMs: opts.retry?.delayMs ?? 50,
  });
  dispatcher.url = opts.webhookUrl;

  // ---- rendering ----------------------------------------------------------------------------------------------

  const link = (href: string, rel: string, method = 'GET') => ({ href, rel, method });
  const breakdown = (minor: number, currency: string) => {
    const fee = Math.floor((minor * 249) / 10_000) + (NO_DECIMALS.has(currency) ? 0 : 35);
    return {
      gross_amount: formatAmount(minor, currency),
      paypal_fee: formatAmount(Math.min(fee, minor), currency),
      net_amount: formatAmount(minor - Math.min(fee, minor), currency),
    };
  };

  function captureJson(c: SimCapture, standalone: boolean): Json {
    const j: Json = {
      id: c.id,
      status: c.status,
      ...(c.reason ? { status_details: { reason: c.reason } } : {}),
      amount: c.amount,
      final_capture: c.finalCapture,
      seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
      ...(c.status === 'PENDING' || c.status === 'DECLINED' || c.status === 'FAILED'
        ? {}
        : { seller_receivable_breakdown: breakdown(c.minor, c.amount.currency_code) }),
      ...(c.customId ? { custom_id: c.customId } : {}),
      ...(c.invoiceId ? { invoice_id: c.invoiceId } : {}),
      links: [
        link(`${base}/v2/payments/captures/${c.id}`, 'self'),
        link(`${base}/v2/payments/captures/${c.id}/refund`, 'refund', 'POST'),
        c.authorizationId
          ? link(`${base}/v2/payments/authorizations/${c.authorizationId}`, 'up')
          : link(`${base}/v2/checkout/orders/${c.orderId}`, 'up'),
      ],
      create_time: c.createTime,
      update_time: c.updateTime,
    };
    if (standalone) {
      j.supplementary_data = {
        related_ids: { order_id: c.orderId, ...(c.authorizationId ? { authorization_id: c.authorizationId } : {}) },
      };
      j.payee = { email_address: 'merchant@sim.paypal.test', merchant_id: 'SMMERCHANT2AB' };
    }
    return j;
  }

  function authorizationJson(a: SimAuthorization, standalone: boolean): Json {
    const j: Json = {
      id: a.id,
      status: a.status,
      amount: a.amount,
      ...(a.customId ? { custom_id: a.customId } : {}),
      ...(a.invoiceId ? { invoice_id: a.invoiceId } : {}),
      seller_protection: { status: 'ELIGIBLE', dispute_categories: ['ITEM_NOT_RECEIVED', 'UNAUTHORIZED_TRANSACTION'] },
      expiration_time: a.expirationTime,
      links: [
        link(`${base}/v2/payments/authorizations/${a.id}`, 'self'),
        link(`${base}/v2/payments/authorizations/${a.id}/capture`, 'capture', 'POST'),
        link(`${base}/v2/payments/authorizations/${a.id}/void`, 'void', 'POST'),
        link(`${base}/v2/checkout/orders/${a.orderId}`, 'up'),
      ],
      create_time: a.createTime,
      update_time: a.updateTime,
    };
    if (standalone) {
      j.supplementary_data = { related_ids: { order_id: a.orderId } };
      j.payee = { email_address: 'merchant@sim.paypal.test', merchant_id: 'SMMERCHANT2AB' };
    }
    return j;
  }

  function refundJson(r: SimRefund): Json {
    return {
      id: r.id,
      status: r.status,
      amount: r.amount,
      ...(r.customId ? { custom_id: r.customId } : {}),
      ...(r.invoiceId ? { invoice_id: r.invoiceId } : {}),
      ...(r.noteToPayer ? { note_to_payer: r.noteToPayer } : {}),
      seller_payable_breakdown: {
        gross_amount: r.amount,
        net_amount: r.amount,
        total_refunded_amount: formatAmount(
          captures.get(r.captureId)?.refundedMinor ?? r.minor,
          r.amount.currency_code,
        ),
      },
      links: [
        link(`${base}/v2/payments/refunds/${r.id}`, 'self'),
        link(`${base}/v2/payments/captures/${r.captureId}`, 'up'),
      ],
      create_time: r.createTime,
      update_time: r.updateTime,
    };
  }

  function orderJson(o: SimOrder): Json {
    const pu: Json = {
      reference_id: o.purchaseUnit.reference_id,
      amount: o.purchaseUnit.amount,
      payee: { email_address: 'merchant@sim.paypal.test', merchant_id: 'SMMERCHANT2AB' },
      ...(o.purchaseUnit.description ? { description: o.purchaseUnit.description } : {}),
      ...(o.purchaseUnit.custom_id ? { custom_id: o.purchaseUnit.custom_id } : {}),
      ...(o.purchaseUnit.invoice_id ? { invoice_id: o.purchaseUnit.invoice_id } : {}),
    };
    if (o.captures.length || o.authorizations.length || o.refunds.length) {
      pu.payments = {
        ...(o.authorizations.length
          ? { authorizations: o.authorizations.map((id) => authorizationJson(auths.get(id)!, false)) }
          : {}),
        ...(o.captures.length ? { captures: o.captures.map((id) => captureJson(captures.get(id)!, false)) } : {}),
        ...(o.refunds.length ? { refunds: o.refunds.map((id) => refundJson(refunds.get(id)!)) } : {}),
      };
    }
    const links = [link(`${base}/v2/checkout/orders/${o.id}`, 'self')];
    if (o.status === 'CREATED' || o.status === 'PAYER_ACTION_REQUIRED') {
      links.push(link(`${base}/checkoutnow?token=${o.id}`, o.viaPaymentSource ? 'payer-action' : 'approve'));
    }
    if (o.status === 'APPROVED') {
      links.push(
        o.intent === 'CAPTURE'
          ? link(`${base}/v2/checkout/orders/${o.id}/capture`, 'capture', 'POST')
          : link(`${base}/v2/checkout/orders/${o.id}/authorize`, 'authorize', 'POST'),
      );
    }
    const payer = o.payer;
    return {
      id: o.id,
      intent: o.intent,
      status: o.status,
      ...(payer || o.payerEmail
        ? {
            payment_source: {
              paypal: {
                email_address: payer?.email_address ?? o.payerEmail,
                ...(payer
                  ? {
                      account_id: payer.payer_id,
                      account_status: 'VERIFIED',
                      name: { given_name: payer.given_name, surname: payer.surname },
                    }
                  : {}),
              },
            },
          }
        : {}),
      ...(payer
        ? {
            payer: {
              name: { given_name: payer.given_name, surname: payer.surname },
              email_address: payer.email_address,
              payer_id: payer.payer_id,
            },
          }
        : {}),
      purchase_units: [pu],
      create_time: o.createTime,
      update_time: o.updateTime,
      links,
    };
  }

  function disputeJson(d: SimDispute): Json {
    const c = captures.get(d.captureId)!;
    return {
      dispute_id: d.id,
      create_time: d.createTime,
      update_time: d.updateTime,
      disputed_transactions: [
        {
          seller_transaction_id: c.id,
          create_time: c.createTime,
          transaction_status: 'COMPLETED',
          gross_amount: c.amount,
          ...(c.invoiceId ? { invoice_number: c.invoiceId } : {}),
          ...(c.customId ? { custom: c.customId } : {}),
          seller: { merchant_id: 'SMMERCHANT2AB', name: 'Clearhub simulator merchant' },
        },
      ],
      reason: 'MERCHANDISE_OR_SERVICE_NOT_RECEIVED',
      status: d.status,
      dispute_amount: c.amount,
      ...(d.outcome ? { dispute_outcome: { outcome_code: d.outcome } } : {}),
      dispute_life_cycle_stage: 'INQUIRY',
      dispute_channel: 'INTERNAL',
      links: [link(`${base}/v1/customer/disputes/${d.id}`, 'self')],
    };
  }

  // ---- events -------------------------------------------------------------------------------------------------

  const SUMMARY: Record<string, string> = {
    'PAYMENT.CAPTURE.COMPLETED': 'Payment completed',
    'PAYMENT.CAPTURE.PENDING': 'Payment pending',
    'PAYMENT.CAPTURE.DENIED': 'Payment denied',
    'PAYMENT.CAPTURE.REFUNDED': 'A capture payment was refunded',
    'PAYMENT.CAPTURE.REVERSED': 'A capture payment was reversed',
    'PAYMENT.AUTHORIZATION.CREATED': 'Payment authorization created',
    'PAYMENT.AUTHORIZATION.VOIDED': 'Payment authorization voided',
    'CHECKOUT.ORDER.APPROVED': 'An order has been approved by buyer',
    'CUSTOMER.DISPUTE.CREATED': 'A new dispute opened',
    'CUSTOMER.DISPUTE.RESOLVED': 'A dispute was resolved',
  };

  function emit(eventType: string, resourceType: string, resource: Json, resourceVersion = '2.0'): void {
    if (!subscribed(eventType)) return;
    const id = `WH-${paypalId(17)}-${paypalId(17)}`;
    const event = {
      id,
      event_version: '1.0',
      create_time: new Date().toISOString(),
      resource_type: resourceType,
      resource_version: resourceVersion,
      event_type: eventType,
      summary: SUMMARY[eventType] ?? eventType,
      resource,
      links: [
        link(`${base}/v1/notifications/webhooks-events/${id}`, 'self'),
        link(`${base}/v1/notifications/webhooks-events/${id}/resend`, 'resend', 'POST'),
      ],
    };
    const body = Buffer.from(JSON.stringify(event), 'utf8');
    events.push({ id, event_type: eventType, resource_type: resourceType, body });
    dispatcher.send(id, eventType, body);
  }

  const captureEvent = (c: SimCapture) =>
    emit(
      c.status === 'PENDING'
        ? 'PAYMENT.CAPTURE.PENDING'
        : c.status === 'DECLINED' || c.status === 'FAILED'
          ? 'PAYMENT.CAPTURE.DENIED'
          : 'PAYMENT.CAPTURE.COMPLETED',
      'capture',
      captureJson(c, true),
    );

  // ---- operations ---------------------------------------------------------------------------------------------

  function order(id: string): SimOrder {
    const o = orders.get(id);
    if (!o) throw new SimError(404, 'INVALID_RESOURCE_ID', 'id', 'Specified resource ID does not exist.');
    return o;
  }

  function createOrder(body: Json): SimOrder {
    const intent = body.intent;
    if (intent !== 'CAPTURE' && intent !== 'AUTHORIZE') throw new SimError(400, 'INVALID_PARAMETER_VALUE', '/intent');
    const units = body.purchase_units;
    if (!Array.isArray(units) || units.length === 0) {
      throw new SimError(400, 'INVALID_ARRAY_MIN_ITEMS', '/purchase_units');
    }
    if (units.length > 1) throw new SimError(400, 'NOT_SUPPORTED', '/purchase_units', 'one purchase unit only');
    const u = units[0] as Json;
    const { money } = parseAmount(u.amount, '/purchase_units/0/amount');
    for (const f of ['custom_id', 'invoice_id', 'description'] as const) {
      const v = u[f];
      if (v !== undefined && (typeof v !== 'string' || v.length < 1 || v.length > 127)) {
        throw new SimError(400, 'INVALID_STRING_LENGTH', `/purchase_units/0/${f}`);
      }
    }
    const ps = (body.payment_source as Json | undefined)?.paypal as Json | undefined;
    const ctx = (ps?.experience_context ?? (body.application_context as Json | undefined)) as Json | undefined;
    const at = now();
    const o: SimOrder = {
      id: paypalId(),
      intent,
      status: ps ? 'PAYER_ACTION_REQUIRED' : 'CREATED',
      purchaseUnit: {
        reference_id: typeof u.reference_id === 'string' ? u.reference_id : 'default',
        amount: money,
        ...(typeof u.custom_id === 'string' ? { custom_id: u.custom_id } : {}),
        ...(typeof u.invoice_id === 'string' ? { invoice_id: u.invoice_id } : {}),
        ...(typeof u.description === 'string' ? { description: u.description } : {}),
      },
      ...(typeof ctx?.return_url === 'string' ? { returnUrl: ctx.return_url } : {}),
      ...(typeof ctx?.cancel_url === 'string' ? { cancelUrl: ctx.cancel_url } : {}),
      ...(typeof ps?.email_address === 'string' ? { payerEmail: ps.email_address } : {}),
      viaPaymentSource: Boolean(ps),
      captures: [],
      authorizations: [],
      refunds: [],
      createTime: at,
      updateTime: at,
    };
    orders.set(o.id, o);
    return o;
  }

  /** A refusal the magic values ask for at capture/authorize time, if any. */
  function magicRefusal(o: SimOrder, minor: number, action: 'capture' | 'authorize'): SimError | undefined {
    const email = o.payer?.email_address ?? o.payerEmail ?? '';
    if (/\+decline@/i.test(email) || magicOf(minor) === MAGIC.instrumentDeclined) {
      // Orders v2 lists INSTRUMENT_DECLINED for capture; for authorize its catalogue has TRANSACTION_REFUSED.
      return action === 'capture'
        ? new SimError(
            422,
            'INSTRUMENT_DECLINED',
            undefined,
            'The payment instrument was refused; the payer may pick another funding source.',
          )
        : new SimError(422, 'TRANSACTION_REFUSED', undefined, 'The transaction was refused.');
    }
    if (magicOf(minor) === MAGIC.payerCannotPay) {
      return new SimError(422, 'PAYER_CANNOT_PAY', undefined, 'The payer cannot pay for this transaction.');
    }
    if (magicOf(minor) === MAGIC.serverError) return new SimError(500);
    return undefined;
  }

  function captureOrder(o: SimOrder): SimOrder {
    if (o.intent !== 'CAPTURE') throw new SimError(422, 'ACTION_DOES_NOT_MATCH_INTENT', '/intent');
    if (o.status === 'COMPLETED') throw new SimError(422, 'ORDER_ALREADY_CAPTURED');
    if (o.status !== 'APPROVED') throw new SimError(422, 'ORDER_NOT_APPROVED');
    const { minor } = parseAmount(o.purchaseUnit.amount, 'amount');
    const refusal = magicRefusal(o, minor, 'capture');
    if (refusal) throw refusal;
    const at = now();
    const magic = magicOf(minor);
    const c: SimCapture = {
      id: paypalId(),
      status: magic === MAGIC.declined ? 'DECLINED' : magic === MAGIC.pending ? 'PENDING' : 'COMPLETED',
      ...(magic === MAGIC.pending ? { reason: 'PENDING_REVIEW' } : {}),
      amount: o.purchaseUnit.amount,
      minor,
      refundedMinor: 0,
      finalCapture: true,
      orderId: o.id,
      ...(o.purchaseUnit.custom_id ? { customId: o.purchaseUnit.custom_id } : {}),
      ...(o.purchaseUnit.invoice_id ? { invoiceId: o.purchaseUnit.invoice_id } : {}),
      createTime: at,
      updateTime: at,
    };
    captures.set(c.id, c);
    o.captures.push(c.id);
    o.status = 'COMPLETED';
    o.updateTime = at;
    captureEvent(c);
    return o;
  }

  function authorizeOrder(o: SimOrder): SimOrder {
    if (o.intent !== 'AUTHORIZE') throw new SimError(422, 'ACTION_DOES_NOT_MATCH_INTENT', '/intent');
    if (o.status === 'COMPLETED') throw new SimError(422, 'ORDER_ALREADY_AUTHORIZED');
    if (o.status !== 'APPROVED') throw new SimError(422, 'ORDER_NOT_APPROVED');
    const { minor } = parseAmount(o.purchaseUnit.amount, 'amount');
    const refusal = magicRefusal(o, minor, 'authorize');
    if (refusal) throw refusal;
    const at = now();
    const magic = magicOf(minor);
    const a: SimAuthorization = {
      id: paypalId(),
      status: magic === MAGIC.declined ? 'DENIED' : magic === MAGIC.pending ? 'PENDING' : 'CREATED',
      amount: o.purchaseUnit.amount,
      minor,
      capturedMinor: 0,
      orderId: o.id,
      ...(o.purchaseUnit.custom_id ? { customId: o.purchaseUnit.custom_id } : {}),
      ...(o.purchaseUnit.invoice_id ? { invoiceId: o.purchaseUnit.invoice_id } : {}),
      createTime: at,
      updateTime: at,
      expirationTime: new Date(Date.now() + 29 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    auths.set(a.id, a);
    o.authorizations.push(a.id);
    o.status = 'COMPLETED';
    o.updateTime = at;
    if (a.status === 'CREATED') emit('PAYMENT.AUTHORIZATION.CREATED', 'authorization', authorizationJson(a, true));
    return o;
  }

  function captureAuthorization(a: SimAuthorization, body: Json): SimCapture {
    if (a.status === 'VOIDED') throw new SimError(422, 'AUTHORIZATION_VOIDED');
    if (a.status === 'CAPTURED') throw new SimError(422, 'AUTHORIZATION_ALREADY_CAPTURED');
    if (a.status === 'DENIED') throw new SimError(422, 'AUTHORIZATION_DENIED');
    const remaining = a.minor - a.capturedMinor;
    let minor = remaining;
    let amount = formatAmount(remaining, a.amount.currency_code);
    if (body.amount !== undefined) {
      const parsed = parseAmount(body.amount, '/amount');
      if (parsed.money.currency_code !== a.amount.currency_code) {
        throw new SimError(422, 'AUTH_CAPTURE_CURRENCY_MISMATCH', '/amount/currency_code');
      }
      if (parsed.minor > remaining) throw new SimError(422, 'MAX_CAPTURE_AMOUNT_EXCEEDED', '/amount/value');
      minor = parsed.minor;
      amount = parsed.money;
    }
    const final = body.final_capture === true || minor === remaining;
    const at = now();
    const c: SimCapture = {
      id: paypalId(),
      status: 'COMPLETED',
      amount,
      minor,
      refundedMinor: 0,
      finalCapture: final,
      orderId: a.orderId,
      authorizationId: a.id,
      ...(a.customId ? { customId: a.customId } : {}),
      ...(typeof body.invoice_id === 'string'
        ? { invoiceId: body.invoice_id }
        : a.invoiceId
          ? { invoiceId: a.invoiceId }
          : {}),
      createTime: at,
      updateTime: at,
    };
    captures.set(c.id, c);
    a.capturedMinor += minor;
    a.status = final ? 'CAPTURED' : 'PARTIALLY_CAPTURED';
    a.updateTime = at;
    const o = orders.get(a.orderId)!;
    o.captures.push(c.id);
    o.updateTime = at;
    captureEvent(c);
    return c;
  }

  function voidAuthorization(a: SimAuthorization): SimAuthorization {
    if (a.status === 'VOIDED') throw new SimError(422, 'PREVIOUSLY_VOIDED');
    if (a.status === 'CAPTURED') throw new SimError(422, 'PREVIOUSLY_CAPTURED');
    if (a.status === 'DENIED') throw new SimError(422, 'CANNOT_BE_VOIDED');
    a.status = 'VOIDED';
    a.updateTime = now();
    emit('PAYMENT.AUTHORIZATION.VOIDED', 'authorization', authorizationJson(a, true));
    return a;
  }

  function refundCapture(c: SimCapture, body: Json): SimRefund {
    if (c.status === 'REFUNDED') throw new SimError(422, 'CAPTURE_FULLY_REFUNDED');
    if (c.status === 'PENDING') throw new SimError(422, 'PENDING_CAPTURE');
    if (c.status !== 'COMPLETED' && c.status !== 'PARTIALLY_REFUNDED') throw new SimError(422, 'REFUND_NOT_ALLOWED');
    const remaining = c.minor - c.refundedMinor;
    let minor = remaining;
    let amount = formatAmount(remaining, c.amount.currency_code);
    if (body.amount !== undefined) {
      const parsed = parseAmount(body.amount, '/amount');
      if (parsed.money.currency_code !== c.amount.currency_code) {
        throw new SimError(422, 'REFUND_CAPTURE_CURRENCY_MISMATCH', '/amount/currency_code');
      }
      if (parsed.minor > remaining) throw new SimError(422, 'REFUND_AMOUNT_EXCEEDED', '/amount/value');
      minor = parsed.minor;
      amount = parsed.money;
    }
    const invoiceId = typeof body.invoice_id === 'string' ? body.invoice_id : undefined;
    if (invoiceId && refundInvoiceIds.has(invoiceId)) throw new SimError(422, 'DUPLICATE_INVOICE_ID', '/invoice_id');
    const at = now();
    const r: SimRefund = {
      id: paypalId(),
      status: 'COMPLETED',
      amount,
      minor,
      captureId: c.id,
      orderId: c.orderId,
      ...(typeof body.custom_id === 'string' ? { customId: body.custom_id } : {}),
      ...(invoiceId ? { invoiceId } : {}),
      ...(typeof body.note_to_payer === 'string' ? { noteToPayer: body.note_to_payer } : {}),
      createTime: at,
      updateTime: at,
    };
    if (invoiceId) refundInvoiceIds.add(invoiceId);
    refunds.set(r.id, r);
    c.refundedMinor += minor;
    c.status = c.refundedMinor >= c.minor ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
    c.updateTime = at;
    const o = orders.get(c.orderId)!;
    o.refunds.push(r.id);
    o.updateTime = at;
    emit('PAYMENT.CAPTURE.REFUNDED', 'refund', refundJson(r));
    return r;
  }

  function approveOrder(o: SimOrder, payerEmail?: string): void {
    if (o.status !== 'CREATED' && o.status !== 'PAYER_ACTION_REQUIRED') return;
    o.payer = {
      payer_id: paypalId(13, ACCOUNT),
      email_address: payerEmail ?? o.payerEmail ?? 'buyer@sim.paypal.test',
      given_name: 'Sim',
      surname: 'Buyer',
    };
    o.status = 'APPROVED';
    o.updateTime = now();
    emit('CHECKOUT.ORDER.APPROVED', 'checkout-order', orderJson(o));
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------------

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  app.use(express.urlencoded({ extended: false }));

  const record = (req: Request, operation: string, status: number, responseBody: unknown) => {
    const requestId = req.get('paypal-request-id');
    exchanges.push({
      operation,
      status,
      ...(requestId ? { requestId } : {}),
      requestBody: req.body && Object.keys(req.body as object).length ? req.body : undefined,
      responseBody,
    });
  };

  const send = (req: Request, res: Response, operation: string, status: number, body: unknown) => {
    record(req, operation, status, body);
    if (!res.writableEnded && !res.destroyed) res.status(status).json(body);
  };

  const errorBody = (e: SimError): Json => ({
    name: ERRORS[e.status].name,
    message: ERRORS[e.status].message,
    debug_id: debugId(),
    ...(e.issue && e.status !== 500
      ? {
          details: [
            {
              ...(e.field ? { field: e.field, location: e.field === 'id' ? 'path' : 'body' } : {}),
              issue: e.issue,
              description: e.description ?? e.issue.toLowerCase().replace(/_/g, ' '),
            },
          ],
        }
      : {}),
    links: [
      {
        href: `https://developer.paypal.com/docs/api/orders/v2/#error-${e.issue ?? ERRORS[e.status].name}`,
        rel: 'information_link',
        method: 'GET',
      },
    ],
  });

  const bearer = (req: Request): boolean => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    const exp = m ? tokens.get(m[1]!) : undefined;
    return exp !== undefined && exp > Date.now();
  };

  /** Holds the answer past the client's timeout; the effect is already applied. */
  async function maybeStall(req: Request, res: Response): Promise<void> {
    if (!stallNext) return;
    stallNext = false;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stalls.delete(done);
        resolve();
      };
      const timer = setTimeout(done, stallMaxMs);
      stalls.add(done);
      res.on('close', done);
      req.socket.on('close', done);
    });
  }

  type Handler = (req: Request, res: Response) => Promise<{ status: number; body: unknown }>;

  /**
   * One API operation: bearer auth, PayPal-Request-Id replay for `idempotent` ones, PayPal's error JSON, the
   * exchange log. `template` is the spec path (`/v2/checkout/orders/{id}`).
   */
  function op(
    method: 'get' | 'post',
    template: string,
    handler: Handler,
    o: { idempotent?: 'order' | 'capture' | 'authorization' | 'refund'; moneyMoving?: boolean } = {},
  ) {
    const path = template.replace(/\{(\w+)\}/g, ':$1');
    const operation = `${method.toUpperCase()} ${template}`;
    app[method](path, async (req: Request, res: Response) => {
      if (!bearer(req)) return send(req, res, operation, 401, errorBody(new SimError(401)));
      const requestId = req.get('paypal-request-id');
      const key = requestId && o.idempotent ? `${method} ${req.path}|${requestId}` : undefined;
      const seen = key ? replay.get(key) : undefined;
      if (seen) return send(req, res, operation, seen.status === 201 ? 200 : seen.status, render(seen.kind, seen.id));
      try {
        const out = await handler(req, res);
        if (key && o.idempotent) {
          const id = (out.body as { id?: string }).id;
          if (id) replay.set(key, { status: out.status, kind: o.idempotent, id });
        }
        if (o.moneyMoving) await maybeStall(req, res);
        send(req, res, operation, out.status, out.body);
      } catch (err) {
        if (err instanceof SimError) return send(req, res, operation, err.status, errorBody(err));
        return send(req, res, operation, 500, errorBody(new SimError(500)));
      }
    });
  }

  function render(kind: 'order' | 'capture' | 'authorization' | 'refund', id: string): Json {
    switch (kind) {
      case 'order':
        return orderJson(orders.get(id)!);
      case 'capture':
        return captureJson(captures.get(id)!, true);
      case 'authorization':
        return authorizationJson(auths.get(id)!, true);
      case 'refund':
        return refundJson(refunds.get(id)!);
    }
  }

  const bodyOf = (req: Request): Json =>
    req.body && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Json) : {};
  const param = (req: Request, name: string): string => String(req.params[name] ?? '');

  app.post('/v1/oauth2/token', (req: Request, res: Response) => {
    const op = 'POST /v1/oauth2/token';
    if (failTokens.n > 0) {
      failTokens.n--;
      return send(req, res, op, failTokens.status, { name: 'INTERNAL_SERVICE_ERROR', debug_id: debugId() });
    }
    const m = /^Basic (.+)$/.exec(req.get('authorization') ?? '');
    const [id, ...rest] = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split(':') : [];
    if (id !== clientId || rest.join(':') !== clientSecret) {
      return send(req, res, op, 401, { error: 'invalid_client', error_description: 'Client Authentication failed' });
    }
    if (bodyOf(req).grant_type !== 'client_credentials') {
      return send(req, res, op, 400, { error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' });
    }
    const token = `A21AA${randomBytes(24).toString('base64url')}`;
    tokens.set(token, Date.now() + 32_400_000);
    return send(req, res, op, 200, {
      scope: 'https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund',
      access_token: token,
      token_type: 'Bearer',
      app_id: 'APP-SIM000000000001',
      expires_in: 32_400,
      nonce: `${now()}${randomBytes(8).toString('hex')}`,
    });
  });

  op('post', '/v2/checkout/orders', async (req) => ({ status: 201, body: orderJson(createOrder(bodyOf(req))) }), {
    idempotent: 'order',
  });
  op('get', '/v2/checkout/orders/{id}', async (req) => ({ status: 200, body: orderJson(order(param(req, 'id'))) }));
  op(
    'post',
    '/v2/checkout/orders/{id}/capture',
    async (req) => ({ status: 201, body: orderJson(captureOrder(order(param(req, 'id')))) }),
    { idempotent: 'order', moneyMoving: true },
  );
  op(
    'post',
    '/v2/checkout/orders/{id}/authorize',
    async (req) => ({ status: 201, body: orderJson(authorizeOrder(order(param(req, 'id')))) }),
    { idempotent: 'order', moneyMoving: true },
  );

  const authorization = (id: string) => {
    const a = auths.get(id);
    if (!a) throw new SimError(404, 'INVALID_RESOURCE_ID', 'authorization_id', 'Specified resource ID does not exist.');
    return a;
  };
  const capture = (id: string) => {
    const c = captures.get(id);
    if (!c) throw new SimError(404, 'INVALID_RESOURCE_ID', 'capture_id', 'Specified resource ID does not exist.');
    return c;
  };

  op('get', '/v2/payments/authorizations/{authorization_id}', async (req) => ({
    status: 200,
    body: authorizationJson(authorization(param(req, 'authorization_id')), true),
  }));
  op(
    'post',
    '/v2/payments/authorizations/{authorization_id}/capture',
    async (req) => ({
      status: 201,
      body: captureJson(captureAuthorization(authorization(param(req, 'authorization_id')), bodyOf(req)), true),
    }),
    { idempotent: 'capture', moneyMoving: true },
  );
  op(
    'post',
    '/v2/payments/authorizations/{authorization_id}/void',
    async (req) => ({
      status: 200,
      body: authorizationJson(voidAuthorization(authorization(param(req, 'authorization_id'))), true),
    }),
    { idempotent: 'authorization', moneyMoving: true },
  );
  op('get', '/v2/payments/captures/{capture_id}', async (req) => ({
    status: 200,
    body: captureJson(capture(param(req, 'capture_id')), true),
  }));
  op(
    'post',
    '/v2/payments/captures/{capture_id}/refund',
    async (req) => ({ status: 201, body: refundJson(refundCapture(capture(param(req, 'capture_id')), bodyOf(req))) }),
    { idempotent: 'refund', moneyMoving: true },
  );
  op('get', '/v2/payments/refunds/{refund_id}', async (req) => {
    const r = refunds.get(param(req, 'refund_id'));
    if (!r) throw new SimError(404, 'INVALID_RESOURCE_ID', 'refund_id', 'Specified resource ID does not exist.');
    return { status: 200, body: refundJson(r) };
  });

  op('post', '/v1/notifications/verify-webhook-signature', async (req) => {
    const b = bodyOf(req);
    for (const f of [
      'auth_algo',
      'cert_url',
      'transmission_id',
      'transmission_sig',
      'transmission_time',
      'webhook_id',
    ]) {
      if (typeof b[f] !== 'string') throw new SimError(400, 'MISSING_REQUIRED_PARAMETER', `/${f}`);
    }
    if (!b.webhook_event || typeof b.webhook_event !== 'object') {
      throw new SimError(400, 'MISSING_REQUIRED_PARAMETER', '/webhook_event');
    }
    const ours = b.cert_url === dispatcher.sign(Buffer.alloc(0))['paypal-cert-url'];
    const message = signedMessage(
      String(b.transmission_id),
      String(b.transmission_time),
      String(b.webhook_id),
      Buffer.from(JSON.stringify(b.webhook_event), 'utf8'),
    );
    const ok =
      ours &&
      b.webhook_id === webhookId &&
      String(b.auth_algo) === 'SHA256withRSA' &&
      verifySignature(
        'sha256',
        Buffer.from(message, 'utf8'),
        new X509Certificate(identity.certificatePem).publicKey,
        Buffer.from(String(b.transmission_sig), 'base64'),
      );
    return { status: 200, body: { verification_status: ok ? 'SUCCESS' : 'FAILURE' } };
  });

  app.get('/v1/notifications/certs/:name', (req: Request, res: Response) => {
    certRequests++;
    if (req.params.name !== certName) return res.status(404).type('text/plain').send('not found');
    return res.status(200).type('application/x-pem-file').send(identity.certificatePem);
  });

  app.get('/checkoutnow', (req: Request, res: Response) => {
    const o = orders.get(String(req.query.token ?? ''));
    if (!o) return res.status(404).type('text/plain').send('This checkout session is not valid.');
    const outcome = req.query.outcome;
    if (outcome !== 'approve' && outcome !== 'reject') {
      const amount = `${o.purchaseUnit.amount.value} ${o.purchaseUnit.amount.currency_code}`;
      return res
        .status(200)
        .type('text/html')
        .send(
          `<!doctype html><title>PayPal simulator</title><h1>Pay ${amount}</h1>` +
            `<a id="approve" href="/checkoutnow?token=${o.id}&amp;outcome=approve">Pay now</a> ` +
            `<a id="cancel" href="/checkoutnow?token=${o.id}&amp;outcome=reject">Cancel and return</a>`,
        );
    }
    const target = outcome === 'approve' ? o.returnUrl : (o.cancelUrl ?? o.returnUrl);
    if (!target) return res.status(400).type('text/plain').send('The order has no return_url.');
    if (outcome === 'approve') {
      approveOrder(o, typeof req.query.payer === 'string' ? req.query.payer : undefined);
    }
    const u = new URL(target);
    u.searchParams.set('token', o.id);
    if (outcome === 'approve' && o.payer) u.searchParams.set('PayerID', o.payer.payer_id);
    return res.redirect(302, u.toString());
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const isJson = err instanceof SyntaxError;
    send(
      req,
      res,
      `${req.method} ${req.path}`,
      isJson ? 400 : 500,
      errorBody(isJson ? new SimError(400, 'MALFORMED_REQUEST_JSON') : new SimError(500)),
    );
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const sim: PayPalSimulator = {
    url: base,
    clientId,
    clientSecret,
    webhookId,
    certUrl: `${base}/v1/notifications/certs/${certName}`,
    exchanges,
    events,
    deliveries: dispatcher.attempts,
    certificateRequests: () => certRequests,
    setWebhookUrl(url) {
      dispatcher.url = url;
    },
    duplicateWebhooks(on) {
      dispatcher.duplicate = on;
    },
    holdWebhooks() {
      dispatcher.hold = true;
    },
    flushWebhooks(reverse = true) {
      dispatcher.flush(reverse);
    },
    webhooksIdle: () => dispatcher.idle(),
    sign: (body, o) => dispatcher.sign(body, o),
    stallNextMoneyMovement() {
      stallNext = true;
    },
    revokeTokens() {
      tokens.clear();
    },
    failNextTokenRequests(n, status = 500) {
      failTokens = { n, status };
    },
    async approve(orderId, outcome) {
      const res = await fetch(`${base}/checkoutnow?token=${encodeURIComponent(orderId)}&outcome=${outcome}`, {
        redirect: 'manual',
      });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`approval page answered ${res.status}`);
      return Object.fromEntries(new URL(location).searchParams);
    },
    openDispute(orderId) {
      const o = order(orderId);
      const c = o.captures.map((id) => captures.get(id)!).find((x) => x.status !== 'DECLINED');
      if (!c) throw new Error(`order ${orderId} has no capture to dispute`);
      const at = now();
      const d: SimDispute = {
        id: `PP-D-${randomBytes(3).readUIntBE(0, 3)}`,
        captureId: c.id,
        status: 'OPEN',
        createTime: at,
        updateTime: at,
      };
      disputes.set(d.id, d);
      emit('CUSTOMER.DISPUTE.CREATED', 'dispute', disputeJson(d), '1.0');
      return d.id;
    },
    resolveDispute(disputeId, outcome) {
      const d = disputes.get(disputeId);
      if (!d) throw new Error(`no dispute ${disputeId}`);
      d.status = 'RESOLVED';
      d.outcome = outcome;
      d.updateTime = now();
      if (outcome === 'RESOLVED_BUYER_FAVOUR') {
        const c = captures.get(d.captureId)!;
        const at = now();
        const reversal: SimRefund = {
          id: paypalId(),
          status: 'COMPLETED',
          amount: c.amount,
          minor: c.minor,
          captureId: c.id,
          orderId: c.orderId,
          ...(c.customId ? { customId: c.customId } : {}),
          noteToPayer: 'Reversal after dispute',
          createTime: at,
          updateTime: at,
        };
        emit('PAYMENT.CAPTURE.REVERSED', 'refund', refundJson(reversal));
      }
      emit('CUSTOMER.DISPUTE.RESOLVED', 'dispute', disputeJson(d), '1.0');
    },
    ordersFor: (customId) => [...orders.values()].filter((o) => o.purchaseUnit.custom_id === customId).length,
    capturesFor: (orderId) => orders.get(orderId)?.captures.length ?? 0,
    orderJson: (orderId) => {
      const o = orders.get(orderId);
      return o ? orderJson(o) : undefined;
    },
    async close() {
      dispatcher.close();
      for (const release of [...stalls]) release();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
  return sim;
}

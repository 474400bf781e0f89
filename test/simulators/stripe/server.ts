/**
 * A stateful Stripe API simulator on node:http that the official SDK talks to unchanged (`host`/`port`/`protocol`,
 * NOTES §1). It speaks Stripe's wire format: form-encoded bodies with bracket syntax, `Authorization: Bearer sk_test_…`,
 * `Stripe-Version`, `Idempotency-Key` replays, Stripe's error JSON, `expand`. It signs events with Stripe's scheme
 * (`Stripe-Signature: t=…,v1=…`, NOTES §2) and delivers them to a webhook URL with retries, and on request in
 * duplicate or out of order. Controls (stalls, disputes, counts) are methods on the returned object.
 *
 * Endpoints: POST/GET /v1/payment_intents, GET /v1/payment_intents/:id, POST …/:id/confirm, …/capture, …/cancel,
 * POST/GET /v1/refunds, GET /v1/refunds/:id, GET /v1/charges/:id, GET /v1/disputes/:id, GET /v1/events/:id,
 * POST /v1/checkout/sessions, GET /v1/checkout/sessions/:id, POST …/:id/expire, and the payer's pages: the 3-D Secure
 * page GET /3d_secure_2_test/:intent/:nonce (`?outcome=approve|reject`, 302 to the return URL) and the hosted Checkout
 * page GET/POST /c/pay/:session (a card form in the session's language; see `checkout-page.ts`).
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkoutPage, declineMessage, notice, parseCardForm } from './checkout-page';
import { canonical, FormError, type FormObject, type FormValue, parseForm } from './form';
import {
  ApiError,
  type CheckoutAttempt,
  CheckoutBook,
  type CheckoutSession,
  chargeJson,
  checkoutSessionJson,
  compact,
  disputeJson,
  type EmittedEvent,
  type Intent,
  intentJson,
  invalid,
  type Json,
  type JsonObject,
  Ledger,
  listJson,
  nowSec,
  type Refund,
  refundJson,
  stripeId,
  TEST_PAYMENT_METHODS,
} from './state';

export { TEST_PAYMENT_METHODS };

/** The API version stripe@23.1.0 pins; events are rendered for it unless told otherwise. */
export const SDK_API_VERSION = '2026-10-28.endive';

export interface StripeSimulatorOptions {
  /** Keys that authenticate. @defaultValue any `sk_test_…`/`rk_test_…` key */
  apiKeys?: string[];
  /** Where events go (none are sent without it). */
  webhookUrl?: string;
  /** The endpoint's signing secret. @defaultValue a random `whsec_…` */
  webhookSecret?: string;
  /** Event types the endpoint subscribes to, as on Stripe's dashboard. @defaultValue '*' */
  enabledEvents?: readonly string[] | '*';
  /** `api_version` of events. @defaultValue {@link SDK_API_VERSION} */
  apiVersion?: string;
  /** Waits before the 2nd, 3rd … delivery attempt of an event that was not answered 2xx. */
  retryDelaysMs?: number[];
}

export interface RecordedRequest {
  requestId: string;
  method: string;
  path: string;
  query: FormObject;
  params: FormObject;
  rawBody: string;
  /** `authorization` is masked to its scheme and the key's last four characters. */
  headers: Record<string, string>;
  status: number;
  response: Json;
  replayed: boolean;
  stalled: boolean;
}

export interface DeliveryAttempt {
  eventId: string;
  type: string;
  attempt: number;
  /** HTTP status, or the error code when the request failed. */
  status: number | string;
}

export interface StripeSimulator {
  /** `http://127.0.0.1:<port>` */
  url: string;
  host: string;
  port: number;
  /** A key that authenticates. */
  secretKey: string;
  webhookSecret: string;
  /** Every API request with its answer, in arrival order. */
  requests: RecordedRequest[];
  /** Every event created (delivered or not), oldest first. */
  events: JsonObject[];
  attempts: DeliveryAttempt[];
  /** The next money-moving request (confirming create, confirm, capture, refund) is applied, then never answered. */
  stallNextMoneyMovement(): void;
  /**
   * The next POST answers with this HTTP status and Stripe's error body; `applied` first performs the request (its
   * answer is then kept for replays of the idempotency key, as Stripe keeps 500s).
   */
  failNextPost(o: { status: number; applied?: boolean; code?: string }): void;
  /** Opens a dispute on a PaymentIntent's charge (or a charge); events follow. */
  createDispute(chargeOrIntent: string, o?: { reason?: string; inquiry?: boolean; amount?: number }): JsonObject;
  closeDispute(disputeId: string, outcome: 'won' | 'lost'): void;
  /** The next refund is created with this status instead of `succeeded`. */
  nextRefundStatus(status: Refund['status']): void;
  /** Moves a pending refund on. */
  settleRefund(refundId: string, status: 'succeeded' | 'failed'): void;
  /** PaymentIntents whose `metadata.clearhub_payment_id` is this. */
  paymentsFor(paymentId: string): number;
  /** Captures booked on this PaymentIntent (an automatic capture counts). */
  capturesFor(intentId: string): number;
  intent(id: string): JsonObject | undefined;
  /** A Checkout Session as the API shows it. */
  checkoutSession(id: string): JsonObject | undefined;
  /** Lets an open Checkout Session reach its `expires_at` now (Stripe expires it and sends the event). */
  lapseCheckoutSession(id: string): void;
  webhooks: {
    url: string | undefined;
    setUrl(url: string | undefined): void;
    /** Keep new events back until {@link release}. */
    hold(): void;
    /** Sends what was held, in emission order or reversed (out of order). */
    release(order?: 'emitted' | 'reversed'): void;
    /** Deliver every event twice (each delivery signed anew). */
    duplicate(on: boolean): void;
    /** Resolves when nothing is queued, in flight or waiting for a retry. */
    idle(): Promise<void>;
  };
  close(): Promise<void>;
}

/** Currencies the simulator takes, and the smallest amount Stripe charges in them (Stripe's minimums). */
// biome-ignore format: a data table
const CURRENCIES: Readonly<Record<string, number>> = {
  eur: 50, usd: 50, gbp: 30, chf: 50, sek: 300, nok: 300, dkk: 250, pln: 200, czk: 1500, huf: 17500, ron: 200,
  bgn: 100, isk: 100, jpy: 50, aud: 50, cad: 50, nzd: 50, bhd: 0, jod: 0, kwd: 0, omr: 0, tnd: 0, krw: 0, clp: 0,
};
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

const METHOD_TYPES = new Set([
  'card',
  'sepa_debit',
  'ideal',
  'bancontact',
  'eps',
  'p24',
  'blik',
  'klarna',
  'paypal',
  'twint',
  'swish',
  'mobilepay',
  'revolut_pay',
  'amazon_pay',
  'customer_balance',
  'multibanco',
  'link',
  'alipay',
  'wechat_pay',
]);

/** Checkout's `locale` values (stripe@23.1.0 `Checkout.SessionCreateParams.Locale`). */
// biome-ignore format: a data table
const CHECKOUT_LOCALES = [
  'auto', 'bg', 'cs', 'da', 'de', 'el', 'en', 'en-GB', 'es', 'es-419', 'et', 'fi', 'fil', 'fr', 'fr-CA', 'hi-IN', 'hr',
  'hu', 'id', 'it', 'ja', 'ko', 'lt', 'lv', 'ms', 'mt', 'nb', 'nl', 'pl', 'pt', 'pt-BR', 'ro', 'ru', 'sk', 'sl', 'sv',
  'th', 'tr', 'vi', 'zh', 'zh-HK', 'zh-TW',
];

const DEFAULT_RETRY_DELAYS = [50, 100, 200, 400, 800];

// ---- parameter checks -----------------------------------------------------------------------------------------------

function only(params: FormObject, allowed: readonly string[]): void {
  for (const k of Object.keys(params)) {
    if (!allowed.includes(k)) throw invalid(`Received unknown parameter: ${k}`, k, 'parameter_unknown');
  }
}

function text(params: FormObject, name: string, o: { required?: boolean; oneOf?: readonly string[] } = {}) {
  const v = params[name];
  if (v === undefined || v === '') {
    if (o.required) throw invalid(`Missing required param: ${name}.`, name, 'parameter_missing');
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`Invalid string: ${JSON.stringify(v).slice(0, 60)}`, name);
  if (o.oneOf && !o.oneOf.includes(v)) {
    throw invalid(`Invalid ${name}: must be one of ${o.oneOf.join(', ')}`, name);
  }
  return v;
}

function integer(params: FormObject, name: string, o: { required?: boolean } = {}): number | undefined {
  const v = text(params, name, o);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw invalid(`Invalid integer: ${v}`, name, 'parameter_invalid_integer');
  }
  return Number(v);
}

function boolean(params: FormObject, name: string): boolean | undefined {
  const v = text(params, name);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw invalid(`Invalid boolean: ${v}`, name);
  return v === 'true';
}

function stringList(params: FormObject, name: string): string[] | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw invalid(`Invalid array`, name);
  }
  return v as string[];
}

function metadataOf(params: FormObject, into: Record<string, string> = {}): Record<string, string> {
  const v = params.metadata;
  if (v === undefined) return into;
  if (v === '') return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid hash', 'metadata');
  const out = { ...into };
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw invalid('Invalid hash', `metadata[${k}]`);
    if (k.length > 40) throw invalid(`Metadata keys can have up to 40 characters, but you passed in ${k}.`, 'metadata');
    if (val.length > 500) {
      throw invalid(
        `Metadata values can have up to 500 characters, but you passed in a value that is ${val.length} characters.`,
        `metadata[${k}]`,
      );
    }
    if (val === '') delete out[k];
    else out[k] = val;
  }
  if (Object.keys(out).length > 50) throw invalid('Metadata can have up to 50 keys.', 'metadata');
  return out;
}

function amountChecks(amount: number, currency: string, param: string): void {
  if (amount < 1) throw invalid('This value must be greater than or equal to 1.', param, 'parameter_invalid_integer');
  const min = CURRENCIES[currency] ?? 0;
  if (amount < min) {
    throw invalid(`Amount must be at least ${min} ${currency}`, param, 'amount_too_small');
  }
  if (currency === 'isk' && amount % 100 !== 0) {
    throw invalid(
      'Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts must be evenly divisible by 100. See https://stripe.com/docs/currencies#special-cases for more information.',
      param,
      'invalid_charge_amount',
    );
  }
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0) {
    throw invalid(
      `Invalid amount. The last digit of ${currency.toUpperCase()} amounts must be 0.`,
      param,
      'invalid_charge_amount',
    );
  }
}

// ---- expand ---------------------------------------------------------------------------------------------------------

type Expander = (owner: JsonObject) => Json;

function expanders(ledger: Ledger): Record<string, Record<string, Expander>> {
  const charge: Expander = (o) => {
    const id = o.charge ?? o.latest_charge;
    return typeof id === 'string' ? chargeJson(ledger.charge(id)) : (id ?? null);
  };
  const intent: Expander = (o) =>
    typeof o.payment_intent === 'string' ? intentJson(ledger.intent(o.payment_intent)) : (o.payment_intent ?? null);
  return {
    payment_intent: { latest_charge: charge },
    charge: {
      payment_intent: intent,
      refunds: (o) => {
        const ch = ledger.charge(String(o.id));
        return listJson(
          ch.refunds.map((id) => refundJson(ledger.refunds.get(id)!)),
          `/v1/charges/${ch.id}/refunds`,
        );
      },
    },
    refund: { charge, payment_intent: intent },
    dispute: { charge, payment_intent: intent },
    'checkout.session': { payment_intent: intent },
  };
}

function expand(ledger: Ledger, obj: JsonObject, paths: string[] | undefined): JsonObject {
  if (!paths?.length) return obj;
  const table = expanders(ledger);
  const apply = (node: Json, segs: string[], full: string): void => {
    if (!node || typeof node !== 'object' || Array.isArray(node) || segs.length === 0) return;
    const [field, ...rest] = segs as [string, ...string[]];
    if (node.object === 'list' && field === 'data' && Array.isArray(node.data)) {
      for (const item of node.data) apply(item, rest, full);
      return;
    }
    const fn = table[String(node.object)]?.[field];
    if (!fn) throw invalid(`This property cannot be expanded (${field}).`, 'expand');
    const cur = node[field];
    if (typeof cur === 'string' || cur === undefined || (field === 'refunds' && node.object === 'charge')) {
      node[field] = fn(node);
    }
    apply(node[field] as Json, rest, full);
  };
  if (paths.length > 10 || paths.some((p) => p.split('.').length > 4)) {
    throw invalid('You cannot expand more than 4 levels of a property.', 'expand');
  }
  for (const p of paths) apply(obj, p.split('.'), p);
  return obj;
}

// ---- webhooks -------------------------------------------------------------------------------------------------------

interface Pending {
  event: JsonObject;
  body: string;
  attempt: number;
}

class Deliverer {
  url: string | undefined;
  held: Pending[] | undefined;
  duplicate = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly inFlight = new Set<ReturnType<typeof request>>();
  private closed = false;
  private waiting = 0;

  constructor(
    private readonly secret: string,
    private readonly enabled: readonly string[] | '*',
    private readonly delays: number[],
    readonly attempts: DeliveryAttempt[],
  ) {}

  enqueue(event: JsonObject): void {
    if (this.enabled !== '*' && !this.enabled.includes(String(event.type))) return;
    // Stripe sends events pretty-printed; the signature is over these exact bytes.
    const p: Pending = { event, body: JSON.stringify(event, null, 2), attempt: 0 };
    if (this.held) this.held.push(p);
    else this.send(p);
  }

  release(order: 'emitted' | 'reversed'): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const p of order === 'reversed' ? held.reverse() : held) this.send(p);
  }

  private send(p: Pending): void {
    this.waiting++;
    this.chain = this.chain.then(async () => {
      try {
        if (this.closed) return;
        const ok = await this.post(p);
        if (ok && this.duplicate && !this.closed) await this.post({ ...p, attempt: p.attempt });
        if (!ok) this.retry(p);
      } finally {
        this.waiting--;
      }
    });
  }

  private retry(p: Pending): void {
    const delay = this.delays[p.attempt - 1];
    if (delay === undefined || this.closed) return;
    this.waiting++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.waiting--;
      this.send(p);
    }, delay);
    this.timers.add(timer);
  }

  /** One signed POST; true when answered 2xx. */
  private post(p: Pending): Promise<boolean> {
    const url = this.url;
    if (!url) return Promise.resolve(true);
    p.attempt++;
    const t = nowSec();
    const sig = createHmac('sha256', this.secret).update(`${t}.${p.body}`).digest('hex');
    const record = (status: number | string) =>
      this.attempts.push({ eventId: String(p.event.id), type: String(p.event.type), attempt: p.attempt, status });
    return new Promise((resolve) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: false,
          timeout: 10_000,
          headers: {
            'content-type': 'application/json; charset=utf-8',
            'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
            'stripe-signature': `t=${t},v1=${sig}`,
            'content-length': Buffer.byteLength(p.body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            this.inFlight.delete(req);
            const status = res.statusCode ?? 0;
            record(status);
            resolve(status >= 200 && status < 300);
          });
        },
      );
      this.inFlight.add(req);
      req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        this.inFlight.delete(req);
        record(err.code ?? err.message);
        resolve(false);
      });
      req.end(p.body);
    });
  }

  async idle(): Promise<void> {
    while (this.waiting > 0 && !this.closed) {
      await this.chain;
      if (this.waiting > 0) await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.inFlight) r.destroy();
  }
}

// ---- the server -----------------------------------------------------------------------------------------------------

interface Result {
  status: number;
  body: Json;
  /** Kept for replays of the idempotency key (the request was acted on). */
  saveable: boolean;
  moneyMoving: boolean;
  events: EmittedEvent[];
}

interface StoredAnswer {
  method: string;
  path: string;
  params: string;
  status: number;
  body: Json;
  requestId: string;
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

function errorBody(e: ApiError, requestId: string): Json {
  const b = e.body;
  return {
    error: {
      ...(b.charge ? { charge: b.charge } : {}),
      ...(b.code ? { code: b.code } : {}),
      ...(b.decline_code ? { decline_code: b.decline_code } : {}),
      ...(b.code ? { doc_url: `https://stripe.com/docs/error-codes/${b.code.replace(/_/g, '-')}` } : {}),
      message: b.message,
      ...(b.param ? { param: b.param } : {}),
      ...(b.payment_intent ? { payment_intent: b.payment_intent } : {}),
      request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}?t=${nowSec()}`,
      type: b.type,
    },
  };
}

function maskAuth(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const [scheme, key = ''] = value.split(' ');
  return `${scheme} …${key.slice(-4)}`;
}

export async function startStripeSimulator(options: StripeSimulatorOptions = {}): Promise<StripeSimulator> {
  const webhookSecret = options.webhookSecret ?? `whsec_${stripeId('s', 32).slice(2)}`;
  const apiVersion = options.apiVersion ?? SDK_API_VERSION;
  const requests: RecordedRequest[] = [];
  const events: JsonObject[] = [];
  const attempts: DeliveryAttempt[] = [];
  const idempotency = new Map<string, StoredAnswer>();
  const stalled = new Set<ServerResponse>();
  let stallNext = false;
  let failNext: { status: number; applied: boolean; code?: string } | undefined;
  let base = '';

  const deliverer = new Deliverer(
    webhookSecret,
    options.enabledEvents ?? '*',
    options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS,
    attempts,
  );
  deliverer.url = options.webhookUrl;
  const ledger = new Ledger((pi) => `${base}/3d_secure_2_test/${pi.id}/${pi.challenge}`);
  const checkout = new CheckoutBook(ledger, (id) => `${base}/c/pay/${id}`);

  const emit = (list: EmittedEvent[], req?: { id: string; idempotencyKey?: string }) => {
    for (const e of list) {
      const event: JsonObject = {
        id: stripeId('evt'),
        object: 'event',
        api_version: apiVersion,
        created: nowSec(),
        data: { object: e.object, ...(e.previous ? { previous_attributes: compact(e.previous) } : {}) },
        livemode: false,
        pending_webhooks: deliverer.url ? 1 : 0,
        request: { id: req?.id ?? null, idempotency_key: req?.idempotencyKey ?? null },
        type: e.type,
      };
      events.push(event);
      deliverer.enqueue(event);
    }
  };

  const keyAccepted = (key: string) =>
    options.apiKeys ? options.apiKeys.includes(key) : /^(sk|rk)_test_[A-Za-z0-9_]+$/.test(key);

  // ---- API handlers -------------------------------------------------------------------------------------------------

  const ok = (body: Json, o: Partial<Result> = {}): Result => ({
    status: 200,
    body,
    saveable: true,
    moneyMoving: false,
    events: [],
    ...o,
  });

  const CREATE_PARAMS = [
    'amount',
    'currency',
    'capture_method',
    'confirm',
    'payment_method',
    'payment_method_types',
    'allowed_payment_method_types',
    'excluded_payment_method_types',
    'metadata',
    'description',
    'return_url',
    'expand',
    'receipt_email',
    'setup_future_usage',
    'off_session',
    'confirmation_method',
    'customer',
    'statement_descriptor',
    'statement_descriptor_suffix',
    'payment_method_options',
    'automatic_payment_methods',
    'error_on_requires_action',
    'use_stripe_sdk',
    'mandate_data',
  ];
  const CONFIRM_PARAMS = [
    'payment_method',
    'return_url',
    'expand',
    'capture_method',
    'receipt_email',
    'setup_future_usage',
    'off_session',
    'error_on_requires_action',
    'use_stripe_sdk',
    'mandate_data',
    'payment_method_options',
  ];

  /** Confirms and answers: a decline is a 402 that still produced events and is kept for replays. */
  const confirmAndAnswer = (
    pi: Intent,
    returnUrl: string | null,
    expandPaths: string[] | undefined,
    created: EmittedEvent[],
  ) => {
    try {
      const evs = ledger.confirm(pi, returnUrl);
      return ok(expand(ledger, intentJson(pi), expandPaths), { moneyMoving: true, events: [...created, ...evs] });
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      // A decline keeps the intent (402 with it inside); a request Stripe refuses to confirm creates nothing.
      if (e.status === 402) throw new ApiError(e.status, e.body, e.saveable, [...created, ...e.events]);
      if (created.length) ledger.intents.delete(pi.id);
      throw e;
    }
  };

  const createIntent = (params: FormObject): Result => {
    only(params, CREATE_PARAMS);
    const amount = integer(params, 'amount', { required: true })!;
    const currency = text(params, 'currency', { required: true })!;
    if (!(currency in CURRENCIES)) {
      throw invalid(
        `Invalid currency: ${currency}. Stripe currently supports these currencies: ${Object.keys(CURRENCIES).join(', ')}`,
        'currency',
      );
    }
    amountChecks(amount, currency, 'amount');
    const captureMethod = (text(params, 'capture_method', { oneOf: ['automatic', 'automatic_async', 'manual'] }) ??
      'automatic') as Intent['captureMethod'];
    const confirm = boolean(params, 'confirm') ?? false;
    const types = stringList(params, 'payment_method_types');
    const allowed = stringList(params, 'allowed_payment_method_types');
    for (const [name, list] of [
      ['payment_method_types', types],
      ['allowed_payment_method_types', allowed],
    ] as const) {
      for (const [i, t] of (list ?? []).entries()) {
        if (!METHOD_TYPES.has(t))
          throw invalid(`Invalid ${name}[${i}]: ${t}`, `${name}[${i}]`, 'payment_method_unsupported_type');
      }
    }
    if (types && allowed) {
      throw invalid(
        'You may only specify one of these parameters: allowed_payment_method_types, payment_method_types.',
        'payment_method_types',
        'parameters_exclusive',
      );
    }
    const expandPaths = stringList(params, 'expand');
    const pm = text(params, 'payment_method');
    if (pm && !TEST_PAYMENT_METHODS[pm]) {
      throw invalid(`No such PaymentMethod: '${pm}'`, 'payment_method', 'resource_missing');
    }
    const { pi, events: created } = ledger.createIntent({
      amount,
      currency,
      captureMethod,
      description: text(params, 'description') ?? null,
      metadata: metadataOf(params),
      methodTypes: types ?? allowed ?? ['card'],
      allowedMethodTypes: allowed ?? null,
    });
    if (pm) ledger.attach(pi, pm);
    if (!confirm) return ok(expand(ledger, intentJson(pi), expandPaths), { events: created });
    return confirmAndAnswer(pi, text(params, 'return_url') ?? null, expandPaths, created);
  };

  const confirmIntent = (id: string, params: FormObject): Result => {
    only(params, CONFIRM_PARAMS);
    const pi = ledger.intent(id);
    const pm = text(params, 'payment_method');
    if (pm) ledger.attach(pi, pm);
    const cm = text(params, 'capture_method', { oneOf: ['automatic', 'automatic_async', 'manual'] });
    if (cm) pi.captureMethod = cm as Intent['captureMethod'];
    return confirmAndAnswer(pi, text(params, 'return_url') ?? null, stringList(params, 'expand'), []);
  };

  const captureIntent = (id: string, params: FormObject): Result => {
    only(params, [
      'amount_to_capture',
      'expand',
      'metadata',
      'final_capture',
      'statement_descriptor',
      'statement_descriptor_suffix',
      'application_fee_amount',
    ]);
    const pi = ledger.intent(id);
    const amount = integer(params, 'amount_to_capture');
    if (amount !== undefined) amountChecks(amount, pi.currency, 'amount_to_capture');
    pi.metadata = metadataOf(params, pi.metadata);
    const evs = ledger.capture(pi, amount);
    return ok(expand(ledger, intentJson(pi), stringList(params, 'expand')), { moneyMoving: true, events: evs });
  };

  const cancelIntent = (id: string, params: FormObject): Result => {
    only(params, ['cancellation_reason', 'expand']);
    const pi = ledger.intent(id);
    const reason =
      text(params, 'cancellation_reason', {
        oneOf: ['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'],
      }) ?? null;
    const evs = ledger.cancel(pi, reason);
    return ok(expand(ledger, intentJson(pi), stringList(params, 'expand')), { events: evs });
  };

  const createRefund = (params: FormObject): Result => {
    only(params, [
      'payment_intent',
      'charge',
      'amount',
      'reason',
      'metadata',
      'expand',
      'instructions_email',
      'origin',
      'refund_application_fee',
      'reverse_transfer',
    ]);
    const piId = text(params, 'payment_intent');
    const chId = text(params, 'charge');
    if (!piId && !chId)
      throw invalid(
        'One of the following params should be provided for this request: payment_intent or charge.',
        undefined,
        'parameter_missing',
      );
    const pi = piId ? ledger.intent(piId, 'payment_intent') : ledger.intent(ledger.charge(chId!).paymentIntent);
    const amount = integer(params, 'amount');
    if (amount !== undefined) amountChecks(amount, pi.currency, 'amount');
    const { refund, events: evs } = ledger.refund({
      pi,
      amount,
      reason: text(params, 'reason', { oneOf: ['duplicate', 'fraudulent', 'requested_by_customer'] }) ?? null,
      metadata: metadataOf(params),
    });
    return ok(expand(ledger, refundJson(refund), stringList(params, 'expand')), { moneyMoving: true, events: evs });
  };

  const CHECKOUT_PARAMS = [
    'mode',
    'line_items',
    'success_url',
    'cancel_url',
    'client_reference_id',
    'customer_email',
    'locale',
    'expires_at',
    'metadata',
    'payment_intent_data',
    'payment_method_types',
    'allowed_payment_method_types',
    'excluded_payment_method_types',
    'expand',
    'submit_type',
    'billing_address_collection',
    'custom_text',
    'ui_mode',
    'payment_method_options',
    'phone_number_collection',
    'allow_promotion_codes',
  ];
  const INTENT_DATA_PARAMS = [
    'capture_method',
    'description',
    'metadata',
    'receipt_email',
    'statement_descriptor',
    'statement_descriptor_suffix',
    'setup_future_usage',
  ];

  const nested = (params: FormObject, name: string): FormObject | undefined => {
    const v = params[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid hash', name);
    return v;
  };

  const url = (params: FormObject, name: string, required = false): string | undefined => {
    const v = text(params, name, { required });
    if (v !== undefined && !/^https?:\/\/[^\s]+$/.test(v)) {
      throw invalid(`Not a valid URL`, name, 'url_invalid');
    }
    return v;
  };

  const createCheckoutSession = (params: FormObject): Result => {
    only(params, CHECKOUT_PARAMS);
    const mode = text(params, 'mode', { required: true, oneOf: ['payment', 'setup', 'subscription'] })!;
    if (mode !== 'payment') throw invalid(`The simulator serves mode=payment only, not ${mode}.`, 'mode');
    const uiMode = text(params, 'ui_mode', { oneOf: ['hosted', 'hosted_page', 'embedded', 'embedded_page', 'custom'] });
    if (uiMode && !uiMode.startsWith('hosted')) throw invalid(`The simulator serves hosted pages only.`, 'ui_mode');
    const rawItems = params.line_items;
    if (!Array.isArray(rawItems) || rawItems.length === 0) {
      throw invalid('Missing required param: line_items.', 'line_items', 'parameter_missing');
    }
    let currency: string | undefined;
    const lineItems = rawItems.map((raw, i) => {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('Invalid hash', `line_items[${i}]`);
      only(raw, ['price_data', 'quantity', 'price']);
      if (raw.price !== undefined)
        throw invalid(`No such price: '${String(raw.price)}'`, `line_items[${i}][price]`, 'resource_missing');
      const pd = nested(raw, 'price_data');
      if (!pd)
        throw invalid(
          'Missing required param: line_items[0][price_data].',
          `line_items[${i}][price_data]`,
          'parameter_missing',
        );
      only(pd, ['currency', 'unit_amount', 'product_data', 'tax_behavior']);
      const c = text(pd, 'currency', { required: true })!;
      if (!(c in CURRENCIES)) throw invalid(`Invalid currency: ${c}.`, `line_items[${i}][price_data][currency]`);
      if (currency && c !== currency) {
        throw invalid('All line items must have the same currency.', `line_items[${i}][price_data][currency]`);
      }
      currency = c;
      const unitAmount = integer(pd, 'unit_amount', { required: true })!;
      if (unitAmount < 0)
        throw invalid('This value must be greater than or equal to 0.', `line_items[${i}][price_data][unit_amount]`);
      const product = nested(pd, 'product_data');
      if (!product)
        throw invalid(
          'Missing required param: product_data.',
          `line_items[${i}][price_data][product_data]`,
          'parameter_missing',
        );
      only(product, ['name', 'description', 'metadata', 'images', 'tax_code']);
      const quantity = integer(raw, 'quantity', { required: true })!;
      if (quantity < 1) throw invalid('This value must be greater than or equal to 1.', `line_items[${i}][quantity]`);
      return {
        name: text(product, 'name', { required: true })!,
        description: text(product, 'description') ?? null,
        unitAmount,
        quantity,
      };
    });
    const amount = lineItems.reduce((s, li) => s + li.unitAmount * li.quantity, 0);
    amountChecks(amount, currency!, 'line_items');
    const types = stringList(params, 'payment_method_types');
    const allowed = stringList(params, 'allowed_payment_method_types');
    if (types && allowed) {
      throw invalid(
        'You may only specify one of these parameters: allowed_payment_method_types, payment_method_types.',
        'payment_method_types',
        'parameters_exclusive',
      );
    }
    for (const [name, list] of [
      ['payment_method_types', types],
      ['allowed_payment_method_types', allowed],
    ] as const) {
      for (const [i, t] of (list ?? []).entries()) {
        if (!METHOD_TYPES.has(t))
          throw invalid(`Invalid ${name}[${i}]: ${t}`, `${name}[${i}]`, 'payment_method_unsupported_type');
      }
    }
    const intentData = nested(params, 'payment_intent_data') ?? {};
    only(intentData, INTENT_DATA_PARAMS);
    const created = nowSec();
    const expiresAt = integer(params, 'expires_at') ?? created + 24 * 3600;
    if (expiresAt < created + 30 * 60) {
      throw invalid(
        'The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.',
        'expires_at',
      );
    }
    if (expiresAt > created + 24 * 3600) {
      throw invalid(
        'The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.',
        'expires_at',
      );
    }
    const clientReferenceId = text(params, 'client_reference_id') ?? null;
    if (clientReferenceId && clientReferenceId.length > 200) {
      throw invalid('client_reference_id must be at most 200 characters.', 'client_reference_id');
    }
    const session = checkout.create({
      expiresAt,
      currency: currency!,
      lineItems,
      successUrl: url(params, 'success_url', true)!,
      cancelUrl: url(params, 'cancel_url') ?? null,
      clientReferenceId,
      customerEmail: text(params, 'customer_email') ?? null,
      locale: text(params, 'locale', { oneOf: CHECKOUT_LOCALES }) ?? null,
      metadata: metadataOf(params),
      methodTypes: types ?? allowed ?? ['card'],
      allowedMethodTypes: allowed ?? null,
      intentData: {
        captureMethod: (text(intentData, 'capture_method', { oneOf: ['automatic', 'automatic_async', 'manual'] }) ??
          'automatic') as Intent['captureMethod'],
        description: text(intentData, 'description') ?? null,
        metadata: metadataOf(intentData),
      },
    });
    return ok(expand(ledger, checkoutSessionJson(session), stringList(params, 'expand')));
  };

  /** An open session past its `expires_at` is expired when anyone looks at it (Stripe does it in the background). */
  const sessionNow = (id: string): CheckoutSession => {
    const s = checkout.session(id);
    emit(checkout.lapse(s));
    return s;
  };

  const expireCheckoutSession = (id: string, params: FormObject): Result => {
    only(params, ['expand']);
    const s = sessionNow(id);
    const evs = checkout.expire(s);
    return ok(expand(ledger, checkoutSessionJson(s), stringList(params, 'expand')), { events: evs });
  };

  const list = (all: JsonObject[], params: FormObject, url: string): Result => {
    only(params, [
      'limit',
      'starting_after',
      'ending_before',
      'expand',
      'payment_intent',
      'charge',
      'created',
      'customer',
    ]);
    const limit = integer(params, 'limit') ?? 10;
    if (limit < 1 || limit > 100) throw invalid('This value must be less than or equal to 100.', 'limit');
    let rows = [...all].reverse();
    const after = text(params, 'starting_after');
    if (after) rows = rows.slice(rows.findIndex((r) => r.id === after) + 1);
    const page = rows.slice(0, limit);
    return ok(expand(ledger, listJson(page, url, rows.length > limit), stringList(params, 'expand')));
  };

  const get = (params: FormObject, obj: JsonObject, extra: string[] = []): Result => {
    only(params, ['expand', ...extra]);
    return ok(expand(ledger, obj, stringList(params, 'expand')));
  };

  const routes: { method: string; re: RegExp; run: (m: RegExpExecArray, params: FormObject) => Result }[] = [
    { method: 'POST', re: /^\/v1\/payment_intents$/, run: (_m, p) => createIntent(p) },
    {
      method: 'GET',
      re: /^\/v1\/payment_intents$/,
      run: (_m, p) => list([...ledger.intents.values()].map(intentJson), p, '/v1/payment_intents'),
    },
    {
      method: 'GET',
      re: /^\/v1\/payment_intents\/([^/]+)$/,
      run: (m, p) => get(p, intentJson(ledger.intent(m[1]!)), ['client_secret']),
    },
    { method: 'POST', re: /^\/v1\/payment_intents\/([^/]+)\/confirm$/, run: (m, p) => confirmIntent(m[1]!, p) },
    { method: 'POST', re: /^\/v1\/payment_intents\/([^/]+)\/capture$/, run: (m, p) => captureIntent(m[1]!, p) },
    { method: 'POST', re: /^\/v1\/payment_intents\/([^/]+)\/cancel$/, run: (m, p) => cancelIntent(m[1]!, p) },
    { method: 'POST', re: /^\/v1\/refunds$/, run: (_m, p) => createRefund(p) },
    {
      method: 'GET',
      re: /^\/v1\/refunds$/,
      run: (_m, p) => {
        const pi = text(p, 'payment_intent');
        const rows = [...ledger.refunds.values()].filter((r) => !pi || r.paymentIntent === pi).map(refundJson);
        return list(rows, p, '/v1/refunds');
      },
    },
    {
      method: 'GET',
      re: /^\/v1\/refunds\/([^/]+)$/,
      run: (m, p) => {
        const r = ledger.refunds.get(m[1]!);
        if (!r) throw invalid(`No such refund: '${m[1]}'`, 'refund', 'resource_missing', 404);
        return get(p, refundJson(r));
      },
    },
    { method: 'POST', re: /^\/v1\/checkout\/sessions$/, run: (_m, p) => createCheckoutSession(p) },
    {
      method: 'GET',
      re: /^\/v1\/checkout\/sessions\/([^/]+)$/,
      run: (m, p) => get(p, checkoutSessionJson(sessionNow(m[1]!))),
    },
    {
      method: 'POST',
      re: /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/,
      run: (m, p) => expireCheckoutSession(m[1]!, p),
    },
    { method: 'GET', re: /^\/v1\/charges\/([^/]+)$/, run: (m, p) => get(p, chargeJson(ledger.charge(m[1]!))) },
    {
      method: 'GET',
      re: /^\/v1\/disputes\/([^/]+)$/,
      run: (m, p) => {
        const d = ledger.disputes.get(m[1]!);
        if (!d) throw invalid(`No such dispute: '${m[1]}'`, 'dispute', 'resource_missing', 404);
        return get(p, disputeJson(d));
      },
    },
    {
      method: 'GET',
      re: /^\/v1\/events\/([^/]+)$/,
      run: (m, p) => {
        const e = events.find((x) => x.id === m[1]);
        if (!e) throw invalid(`No such event: '${m[1]}'`, 'id', 'resource_missing', 404);
        return get(p, structuredClone(e));
      },
    },
  ];

  // ---- HTTP -----------------------------------------------------------------------------------------------------------

  const send = (res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body, null, 2);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'access-control-allow-origin': '*',
      'cache-control': 'no-cache, no-store',
      'stripe-version': apiVersion,
      ...headers,
    });
    res.end(text);
  };

  const challengePage = (res: ServerResponse, url: URL, m: RegExpExecArray) => {
    const pi = ledger.intents.get(m[1]!);
    if (!pi || pi.challenge !== m[2] || pi.status !== 'requires_action') {
      res
        .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
        .end('<p>This authentication is no longer valid.</p>');
      return;
    }
    const outcome = url.searchParams.get('outcome');
    if (outcome !== 'approve' && outcome !== 'reject') {
      const here = url.pathname;
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(
          `<!doctype html><title>3D Secure 2 Test Page</title><h1>3D Secure 2 Test Page</h1>` +
            `<p>${pi.amount} ${pi.currency.toUpperCase()}</p>` +
            `<a id="approve" href="${here}?outcome=approve">Complete</a> <a id="reject" href="${here}?outcome=reject">Fail</a>`,
        );
      return;
    }
    emit(ledger.finishChallenge(pi, outcome === 'approve'));
    const back = new URL(pi.returnUrl ?? `${base}/return`);
    back.searchParams.set('payment_intent', pi.id);
    back.searchParams.set('payment_intent_client_secret', pi.clientSecret);
    back.searchParams.set('redirect_status', outcome === 'approve' ? 'succeeded' : 'failed');
    res.writeHead(302, { location: back.toString() }).end();
  };

  const html = (res: ServerResponse, status: number, body: string) =>
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body);

  /** Where Checkout sends the payer after paying: the success URL with Stripe's template variable filled in. */
  const successUrlOf = (s: CheckoutSession) => s.successUrl.replaceAll('{CHECKOUT_SESSION_ID}', s.id);

  /** The hosted Checkout page: GET shows the form, POST pays, `/return` is where 3-D Secure comes back to. */
  const hostedCheckout = (req: IncomingMessage, res: ServerResponse, m: RegExpExecArray, raw: string) => {
    const s = checkout.sessions.get(m[1]!);
    if (s) emit(checkout.lapse(s));
    if (s?.status !== 'open') {
      const n = notice(s);
      return html(res, n.status, n.html);
    }
    let name = '';
    let attempt: CheckoutAttempt;
    if (m[2] === 'return') {
      attempt = checkout.afterChallenge(s);
    } else if (req.method === 'GET') {
      return html(res, 200, checkoutPage(s));
    } else {
      const form = parseCardForm(s, raw);
      name = form.name;
      if (!form.ok) return html(res, 422, checkoutPage(s, { error: form.message, name }));
      attempt = checkout.attempt(s, form.handle, { name: name || null, returnUrl: `${base}/c/pay/${s.id}/return` });
    }
    emit(attempt.events);
    switch (attempt.kind) {
      case 'complete':
        return res.writeHead(303, { location: successUrlOf(s) }).end();
      case 'challenge':
        return res.writeHead(303, { location: attempt.url }).end();
      case 'declined':
        return html(res, 402, checkoutPage(s, { error: declineMessage(s, attempt), name }));
      default: {
        const never: never = attempt;
        throw new Error(`unhandled attempt ${JSON.stringify(never)}`);
      }
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const page = /^\/3d_secure_2_test\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && page) return challengePage(res, url, page);
    const hosted = /^\/c\/pay\/([^/]+)(?:\/(return))?$/.exec(url.pathname);
    if (hosted && (req.method === 'GET' || (req.method === 'POST' && !hosted[2]))) {
      return hostedCheckout(req, res, hosted, raw);
    }

    const method = req.method ?? 'GET';
    const requestId = stripeId('req', 14);
    const idempotencyKey =
      typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
    const version = typeof req.headers['stripe-version'] === 'string' ? req.headers['stripe-version'] : undefined;
    const recordHeaders: Record<string, string> = {};
    for (const h of ['content-type', 'idempotency-key', 'stripe-version', 'user-agent']) {
      const v = req.headers[h];
      if (typeof v === 'string') recordHeaders[h] = v;
    }
    const auth = maskAuth(req.headers.authorization);
    if (auth) recordHeaders.authorization = auth;
    const rec: RecordedRequest = {
      requestId,
      method,
      path: url.pathname,
      query: {},
      params: {},
      rawBody: raw,
      headers: recordHeaders,
      status: 0,
      response: null,
      replayed: false,
      stalled: false,
    };
    requests.push(rec);
    // Stripe answers in the version asked for (or the account's default) and says which.
    const headers: Record<string, string> = {
      'request-id': requestId,
      'stripe-version': version && API_VERSION.test(version) ? version : apiVersion,
    };
    if (idempotencyKey && method === 'POST') headers['idempotency-key'] = idempotencyKey;
    const answer = (status: number, body: Json, extra: Record<string, string> = {}) => {
      rec.status = status;
      rec.response = body;
      send(res, status, body, { ...headers, ...extra });
    };
    const fail = (e: ApiError) => answer(e.status, errorBody(e, requestId));

    // Authentication: Bearer (the SDK) or Basic with the key as user name (curl -u sk_test_…:).
    const authz = req.headers.authorization ?? '';
    let key: string | undefined;
    if (authz.startsWith('Bearer ')) key = authz.slice(7).trim();
    else if (authz.startsWith('Basic ')) key = Buffer.from(authz.slice(6), 'base64').toString('utf8').split(':')[0];
    if (!key) {
      return fail(
        invalid(
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
          undefined,
          undefined,
          401,
        ),
      );
    }
    if (idempotencyKey !== undefined && idempotencyKey.length > 255) {
      return fail(invalid('Keys for idempotent requests can only be 255 characters long.', undefined, undefined, 400));
    }
    if (!keyAccepted(key)) {
      const masked = `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
      return fail(invalid(`Invalid API Key provided: ${masked}`, undefined, undefined, 401));
    }
    if (version !== undefined && !API_VERSION.test(version)) {
      return fail(invalid(`Invalid Stripe API version: ${version}`, undefined, 'invalid_api_version'));
    }

    let params: FormObject;
    try {
      rec.query = parseForm(url.search.slice(1));
      params = method === 'GET' ? rec.query : { ...rec.query, ...parseForm(raw) };
      rec.params = params;
    } catch (e) {
      if (e instanceof FormError) return fail(invalid(e.message));
      throw e;
    }

    const route = routes.find((r) => r.method === method && r.re.test(url.pathname));
    if (!route) {
      return fail(
        invalid(
          `Unrecognized request URL (${method}: ${url.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
          undefined,
          undefined,
          404,
        ),
      );
    }

    // Idempotency: same key + same endpoint + same parameters → the stored answer; otherwise 400.
    const canon = canonical(params as FormValue);
    if (method === 'POST' && idempotencyKey) {
      const stored = idempotency.get(idempotencyKey);
      if (stored) {
        if (stored.method !== method || stored.path !== url.pathname) {
          return fail(
            new ApiError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${stored.method} ${stored.path}' vs '${method} ${url.pathname}'). Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            }),
          );
        }
        if (stored.params !== canon) {
          return fail(
            new ApiError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
            }),
          );
        }
        rec.replayed = true;
        return answer(stored.status, structuredClone(stored.body), {
          'idempotent-replayed': 'true',
          'original-request': stored.requestId,
        });
      }
    }

    const injected = method === 'POST' ? failNext : undefined;
    if (injected) failNext = undefined;
    if (injected && !injected.applied) {
      const e = new ApiError(injected.status, {
        type: injected.status === 429 || injected.status === 409 ? 'invalid_request_error' : 'api_error',
        message:
          injected.status === 409
            ? 'There is currently another in-progress request using this Stripe token (that probably means you clicked twice, and the other request is still going through).'
            : injected.status === 429
              ? 'Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.'
              : "Sorry, something went wrong. We've already been notified of the problem.",
        ...(injected.code ? { code: injected.code } : {}),
      });
      return answer(
        e.status,
        errorBody(e, requestId),
        injected.status === 409 ? {} : { 'stripe-should-retry': 'true' },
      );
    }

    let result: Result;
    try {
      result = route.run(route.re.exec(url.pathname)!, params);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      emit(e.events, { id: requestId, idempotencyKey });
      result = {
        status: e.status,
        body: errorBody(e, requestId),
        saveable: e.saveable,
        moneyMoving: e.status === 402,
        events: [],
      };
    }
    emit(result.events, { id: requestId, idempotencyKey });
    if (injected?.applied) {
      const e = new ApiError(injected.status, {
        type: 'api_error',
        message: "Sorry, something went wrong. We've already been notified of the problem.",
        ...(injected.code ? { code: injected.code } : {}),
      });
      result = { ...result, status: injected.status, body: errorBody(e, requestId), saveable: true };
    }
    if (method === 'POST' && idempotencyKey && result.saveable) {
      idempotency.set(idempotencyKey, {
        method,
        path: url.pathname,
        params: canon,
        status: result.status,
        body: structuredClone(result.body),
        requestId,
      });
    }
    if (result.moneyMoving && stallNext) {
      stallNext = false;
      rec.stalled = true;
      rec.status = result.status;
      rec.response = result.body;
      stalled.add(res);
      res.on('close', () => stalled.delete(res));
      return;
    }
    answer(result.status, result.body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        const body = { error: { type: 'api_error', message: `simulator bug: ${(err as Error).message}` } };
        if (!res.headersSent) send(res, 500, body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    host: '127.0.0.1',
    port,
    secretKey: options.apiKeys?.[0] ?? 'sk_test_clearhubSimulator000000000000',
    webhookSecret,
    requests,
    events,
    attempts,
    stallNextMoneyMovement() {
      stallNext = true;
    },
    failNextPost(o) {
      failNext = { status: o.status, applied: o.applied ?? false, ...(o.code ? { code: o.code } : {}) };
    },
    createDispute(ref, o) {
      const { dispute, events: evs } = ledger.openDispute(ref, o);
      emit(evs);
      return disputeJson(dispute);
    },
    closeDispute(id, outcome) {
      emit(ledger.closeDispute(id, outcome));
    },
    nextRefundStatus(status) {
      ledger.nextRefundStatus = status;
    },
    settleRefund(id, status) {
      emit(ledger.settleRefund(id, status));
    },
    paymentsFor(paymentId) {
      return [...ledger.intents.values()].filter((pi) => pi.metadata.clearhub_payment_id === paymentId).length;
    },
    capturesFor(id) {
      return ledger.intents.get(id)?.captures ?? 0;
    },
    intent(id) {
      const pi = ledger.intents.get(id);
      return pi ? intentJson(pi) : undefined;
    },
    checkoutSession(id) {
      const cs = checkout.sessions.get(id);
      return cs ? checkoutSessionJson(cs) : undefined;
    },
    lapseCheckoutSession(id) {
      const cs = checkout.session(id);
      emit(checkout.lapse(cs, cs.expiresAt));
    },
    webhooks: {
      get url() {
        return deliverer.url;
      },
      setUrl(url) {
        deliverer.url = url;
      },
      hold() {
        deliverer.held ??= [];
      },
      release(order = 'emitted') {
        deliverer.release(order);
      },
      duplicate(on) {
        deliverer.duplicate = on;
      },
      idle: () => deliverer.idle(),
    },
    close: () =>
      new Promise<void>((resolve) => {
        deliverer.close();
        for (const res of stalled) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The Stripe payment provider (DESIGN §6) on the official SDK `stripe`: PaymentIntents created and confirmed in one
 * call, captured (also in part), canceled and refunded with the caller's idempotency key as Stripe's
 * `Idempotency-Key`, synced with `latest_charge` expanded, and webhooks verified with Stripe's `Stripe-Signature`
 * scheme. A card or wallet payment without a token goes through Stripe's hosted Checkout page instead (a Checkout
 * Session, `cs_…`, is then the provider reference; every flow accepts it and finds the PaymentIntent behind it).
 * Wire ↔ ours lives in `transformers.ts`, the error tables in `errors.ts`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import Stripe from 'stripe';
import { IntegrationError, IntegrityError } from '../../../domain/errors';
import { assertEcho, money } from '../../../domain/money';
import {
  type CaptureInput,
  type CreatePaymentInput,
  type PaymentProvider,
  type ProviderCapabilities,
  type ProviderPayment,
  type ProviderRefund,
  type RawWebhook,
  type RefundInput,
  type WebhookEvent,
  WebhookRejected,
} from '../types';
import { parseStripeProviderConfig, type Secret, type StripeProviderConfig } from './config';
import { toStripeError } from './errors';
import {
  captureParams,
  checkoutPaymentFromWire,
  checkoutSessionParams,
  createParams,
  eventsFromWire,
  isEventEnvelope,
  META,
  paymentFromWire,
  refundFromWire,
  refundParams,
  usesHostedCheckout,
} from './transformers';

/** One structured line per Stripe call (STYLE "Logs and secrets"); no secrets, no personal data. */
export interface StripeLogLine {
  tenant?: string;
  provider: 'stripe';
  /** `webhook`: a read while parsing a delivery (whose payment a dispute is about). */
  flow: 'create' | 'complete' | 'capture' | 'cancel' | 'refund' | 'retrieve' | 'webhook';
  method: 'GET' | 'POST';
  path: string;
  idempotencyKey?: string;
  /** HTTP status, or the SDK's error class when there was none (timeouts, resets). */
  status: number | string;
  ms: number;
  /** Stripe's error code (`card_declined`, `resource_missing` …) when there was one. */
  code?: string;
  requestId?: string;
}

export interface StripeProviderOptions {
  /** Goes into every log line. */
  tenant?: string;
  log?: (line: StripeLogLine) => void;
  /** Replaces the SDK's HTTP client (tests on recorded traffic). */
  httpClient?: Stripe.HttpClient;
  /** Clock for the webhook timestamp check, in ms. @defaultValue Date.now */
  now?: () => number;
}

/** Stripe's `Stripe-Signature` header: `t=<unix s>,v1=<hex>[,v1=<hex>…]` (several while a secret is rolled). */
function parseSignatureHeader(header: string): { t: number; v1: string[] } | undefined {
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't' && /^\d{1,12}$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) v1.push(v.toLowerCase());
  }
  return t === undefined || v1.length === 0 ? undefined : { t, v1 };
}

/**
 * Checks a delivery the way Stripe's SDK does (`webhooks.constructEvent`): HMAC-SHA256 with the endpoint's signing
 * secret over `t + "." + rawBody`, compared in constant time with every `v1` of the header, then the age of `t`
 * against the tolerance (0 turns the age check off; timestamps in the future pass, as in the SDK).
 * @throws WebhookRejected `signature` for a missing, malformed or wrong signature; `timestamp` for an old one.
 */
export function verifyStripeSignature(
  body: Buffer,
  header: string | undefined,
  secret: Secret,
  toleranceSec: number,
  nowMs: number,
): void {
  if (!header) throw new WebhookRejected('no Stripe-Signature header', 'signature');
  const parsed = parseSignatureHeader(header);
  if (!parsed) throw new WebhookRejected('Stripe-Signature has no timestamp or no v1 signature', 'signature');
  const expected = createHmac('sha256', secret.reveal()).update(`${parsed.t}.`).update(body).digest();
  const matches = parsed.v1.some((hex) => timingSafeEqual(Buffer.from(hex, 'hex'), expected));
  if (!matches)
    throw new WebhookRejected('no Stripe-Signature v1 matches the body and the signing secret', 'signature');
  const age = Math.floor(nowMs / 1000) - parsed.t;
  if (toleranceSec > 0 && age > toleranceSec) {
    throw new WebhookRejected(`Stripe-Signature timestamp is ${age} s old (tolerance ${toleranceSec} s)`, 'timestamp');
  }
}

const isPaymentIntent = (v: unknown): v is Stripe.PaymentIntent =>
  !!v && typeof v === 'object' && (v as { object?: unknown }).object === 'payment_intent';

/** A provider reference that is a hosted Checkout Session (`cs_test_…`, `cs_live_…`) rather than a PaymentIntent. */
export const isCheckoutSessionId = (ref: string): boolean => ref.startsWith('cs_');

/** What a Checkout Session read expands: its PaymentIntent with the charge (captured and refunded amounts). */
const SESSION_EXPAND = ['payment_intent.latest_charge'];

/** Our events about a dispute: Stripe's dispute object names the PaymentIntent, but carries no metadata of ours. */
const DISPUTE_EVENTS = new Set([
  'payment.dispute_opened',
  'payment.charged_back',
  'payment.chargeback_reversed',
  'payment.dispute_closed',
]);

type Flow = StripeLogLine['flow'];

export class StripeProvider implements PaymentProvider {
  readonly name = 'stripe' as const;
  readonly capabilities: ProviderCapabilities = {
    partialCapture: true,
    partialRefund: true,
    multipleCaptures: false,
    manualCapture: true,
    recurring: false,
    webhooks: true,
    statusSync: true,
  };
  // An ES private field: util.inspect and loggers do not see the client, which holds the secret key.
  readonly #stripe: Stripe;
  private readonly now: () => number;

  /** Use {@link createStripeProvider} for options from config; this takes them validated. */
  constructor(
    readonly config: StripeProviderConfig,
    private readonly opts: StripeProviderOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.#stripe = new Stripe(config.secretKey.reveal(), {
      ...(config.host ? { host: config.host } : {}),
      ...(config.port ? { port: config.port } : {}),
      ...(config.protocol ? { protocol: config.protocol } : {}),
      telemetry: false,
      maxNetworkRetries: 0,
      timeout: config.timeoutMs,
      ...(opts.httpClient ? { httpClient: opts.httpClient } : {}),
    });
  }

  async create(input: CreatePaymentInput): Promise<ProviderPayment> {
    if (usesHostedCheckout(input)) return this.createCheckoutSession(input);
    const params = createParams(input);
    const pi = await this.intentCall('create', 'POST', '/v1/payment_intents', input.idempotencyKey, () =>
      this.#stripe.paymentIntents.create(params, { idempotencyKey: input.idempotencyKey }),
    );
    const echoedId = pi.metadata?.[META.paymentId];
    if (echoedId !== input.paymentId) {
      throw new IntegrityError(
        `Stripe answered idempotency key ${input.idempotencyKey} with PaymentIntent ${pi.id} of payment ${echoedId}, not ${input.paymentId}`,
      );
    }
    return this.echoed(pi, money(input.amountMinor, input.currency), 'Stripe PaymentIntent amount');
  }

  async complete(
    providerReference: string,
    input: {
      paymentId: string;
      idempotencyKey: string;
      returnParams: Record<string, string>;
      capture: 'automatic' | 'manual';
    },
  ): Promise<ProviderPayment> {
    if (isCheckoutSessionId(providerReference)) return this.completeCheckoutSession(providerReference, input);
    // Stripe finishes a redirect itself (the capture method was fixed at creation): reading the intent is enough.
    const returned = input.returnParams.payment_intent;
    if (returned !== undefined && returned !== providerReference) {
      throw new IntegrationError(
        `the payer came back for PaymentIntent ${returned}, but this payment is ${providerReference}`,
        'returnParams.payment_intent',
      );
    }
    return this.retrieveAs('complete', providerReference);
  }

  async capture(providerReference: string, input: CaptureInput): Promise<ProviderPayment> {
    const params = captureParams(input);
    const intentId = await this.intentOf('capture', providerReference);
    const path = `/v1/payment_intents/${intentId}/capture`;
    const pi = await this.intentCall('capture', 'POST', path, input.idempotencyKey, () =>
      this.#stripe.paymentIntents.capture(intentId, params, { idempotencyKey: input.idempotencyKey }),
    );
    const p = { ...paymentFromWire(pi, this.config.publishableKey), providerReference };
    assertEcho(
      money(input.amountMinor ?? p.capturedMinor, input.currency),
      money(p.capturedMinor, p.currency),
      'Stripe captured amount',
    );
    return p;
  }

  async cancel(
    providerReference: string,
    input: { idempotencyKey: string; paymentId: string },
  ): Promise<ProviderPayment> {
    let intentId = providerReference;
    if (isCheckoutSessionId(providerReference)) {
      // Still on Stripe's page: expiring the session is what stops the payer from paying.
      const s = await this.readSession('cancel', providerReference);
      if (s.status === 'open') {
        return checkoutPaymentFromWire(
          await this.expireSession('cancel', providerReference, input.idempotencyKey),
          this.config.publishableKey,
        );
      }
      const pi = s.payment_intent;
      if (s.status === 'expired' || !pi) return checkoutPaymentFromWire(s, this.config.publishableKey);
      intentId = typeof pi === 'string' ? pi : pi.id;
    }
    const path = `/v1/payment_intents/${intentId}/cancel`;
    const pi = await this.intentCall('cancel', 'POST', path, input.idempotencyKey, () =>
      this.#stripe.paymentIntents.cancel(
        intentId,
        { expand: ['latest_charge'] },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    return { ...paymentFromWire(pi, this.config.publishableKey), providerReference };
  }

  async refund(providerReference: string, input: RefundInput): Promise<ProviderRefund> {
    const params = refundParams(await this.intentOf('refund', providerReference), input);
    let r: Stripe.Refund;
    try {
      r = await this.send('refund', 'POST', '/v1/refunds', input.idempotencyKey, () =>
        this.#stripe.refunds.create(params, { idempotencyKey: input.idempotencyKey }),
      );
    } catch (err) {
      throw toStripeError(err, `refund (POST /v1/refunds for ${providerReference})`, true);
    }
    const out = refundFromWire(r);
    assertEcho(money(input.amountMinor, input.currency), money(out.amountMinor, out.currency), 'Stripe refund amount');
    return out;
  }

  async retrieve(providerReference: string): Promise<ProviderPayment> {
    return this.retrieveAs('retrieve', providerReference);
  }

  async parseWebhook(raw: RawWebhook): Promise<WebhookEvent[]> {
    verifyStripeSignature(
      raw.body,
      raw.headers['stripe-signature'],
      this.config.webhookSecret,
      this.config.webhookToleranceSec,
      this.now(),
    );
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.body.toString('utf8'));
    } catch {
      throw new WebhookRejected('the body is not JSON', 'malformed');
    }
    if (!isEventEnvelope(parsed)) {
      throw new WebhookRejected(
        'the body is not a Stripe v1 event (object "event" with id, type and data.object)',
        'malformed',
      );
    }
    let events: WebhookEvent[];
    try {
      events = eventsFromWire(parsed);
    } catch (err) {
      if (err instanceof IntegrityError || err instanceof IntegrationError) {
        throw new WebhookRejected(`Stripe event ${parsed.id} (${parsed.type}): ${err.message}`, 'malformed');
      }
      throw err;
    }
    return Promise.all(events.map((e) => this.withPaymentId(e)));
  }

  // ---- hosted Checkout ------------------------------------------------------------------------------------------

  private async createCheckoutSession(input: CreatePaymentInput): Promise<ProviderPayment> {
    const params = checkoutSessionParams(input);
    let s: Stripe.Checkout.Session;
    try {
      s = await this.send('create', 'POST', '/v1/checkout/sessions', input.idempotencyKey, () =>
        this.#stripe.checkout.sessions.create(params, { idempotencyKey: input.idempotencyKey }),
      );
    } catch (err) {
      throw toStripeError(err, 'create (POST /v1/checkout/sessions)', true);
    }
    if (s.client_reference_id !== input.paymentId) {
      throw new IntegrityError(
        `Stripe answered idempotency key ${input.idempotencyKey} with Checkout Session ${s.id} of payment ${s.client_reference_id}, not ${input.paymentId}`,
      );
    }
    const p = checkoutPaymentFromWire(s, this.config.publishableKey);
    assertEcho(
      money(input.amountMinor, input.currency),
      money(p.amountMinor, p.currency),
      'Stripe Checkout Session amount',
    );
    return p;
  }

  /**
   * The payer is back from Checkout: with `session_id` after paying, with `canceled=1` from the page's back link. A
   * session left open by a cancel is expired at Stripe, so the page cannot take the money after we called it off;
   * if the payer paid in the meantime, the expiry is refused and the payment counts.
   */
  private async completeCheckoutSession(
    providerReference: string,
    input: { paymentId: string; idempotencyKey: string; returnParams: Record<string, string> },
  ): Promise<ProviderPayment> {
    const returned = input.returnParams.session_id;
    if (returned !== undefined && returned !== providerReference) {
      throw new IntegrationError(
        `the payer came back for Checkout Session ${returned}, but this payment is ${providerReference}`,
        'returnParams.session_id',
      );
    }
    let s = await this.readSession('complete', providerReference);
    if (s.client_reference_id && s.client_reference_id !== input.paymentId) {
      throw new IntegrityError(
        `Checkout Session ${providerReference} belongs to payment ${s.client_reference_id}, not ${input.paymentId}`,
      );
    }
    if (s.status === 'open' && input.returnParams.canceled === '1') {
      try {
        s = await this.expireSession('complete', providerReference, input.idempotencyKey);
      } catch (err) {
        if (!(err instanceof IntegrationError)) throw err;
        s = await this.readSession('complete', providerReference);
      }
    }
    return checkoutPaymentFromWire(s, this.config.publishableKey);
  }

  private async readSession(flow: Flow, id: string): Promise<Stripe.Checkout.Session> {
    try {
      return await this.send(flow, 'GET', `/v1/checkout/sessions/${id}`, undefined, () =>
        this.#stripe.checkout.sessions.retrieve(id, { expand: SESSION_EXPAND }),
      );
    } catch (err) {
      throw toStripeError(err, `${flow} (GET /v1/checkout/sessions/${id})`, false);
    }
  }

  private async expireSession(flow: Flow, id: string, idempotencyKey: string): Promise<Stripe.Checkout.Session> {
    const path = `/v1/checkout/sessions/${id}/expire`;
    try {
      return await this.send(flow, 'POST', path, idempotencyKey, () =>
        this.#stripe.checkout.sessions.expire(id, { expand: SESSION_EXPAND }, { idempotencyKey }),
      );
    } catch (err) {
      throw toStripeError(err, `${flow} (POST ${path})`, true);
    }
  }

  /** The PaymentIntent behind a reference: itself, or the one a Checkout Session made when the payer paid. */
  private async intentOf(flow: Flow, providerReference: string): Promise<string> {
    if (!isCheckoutSessionId(providerReference)) return providerReference;
    const pi = (await this.readSession(flow, providerReference)).payment_intent;
    if (!pi) {
      throw new IntegrationError(
        `Checkout Session ${providerReference} has no PaymentIntent yet: the payer has not paid on Stripe's page`,
        'providerReference',
      );
    }
    return typeof pi === 'string' ? pi : pi.id;
  }

  /**
   * A dispute names the PaymentIntent but not our payment. For a payment made through Checkout our reference is the
   * session, so the PaymentIntent's metadata is read to say whose money it is. A failed read is thrown (the delivery
   * is answered with an error and Stripe sends it again); an intent that is not ours leaves the event as it is.
   */
  private async withPaymentId(e: WebhookEvent): Promise<WebhookEvent> {
    if (e.paymentId || !DISPUTE_EVENTS.has(e.type) || !e.providerReference.startsWith('pi_')) return e;
    const path = `/v1/payment_intents/${e.providerReference}`;
    let pi: Stripe.PaymentIntent;
    try {
      pi = await this.send('webhook', 'GET', path, undefined, () =>
        this.#stripe.paymentIntents.retrieve(e.providerReference),
      );
    } catch (err) {
      const wrapped = toStripeError(err, `webhook (GET ${path})`, false);
      if (wrapped instanceof IntegrationError) return e;
      throw wrapped;
    }
    const paymentId = pi.metadata?.[META.paymentId];
    return paymentId ? { ...e, paymentId } : e;
  }

  // ---- transport ------------------------------------------------------------------------------------------------

  private async retrieveAs(flow: Flow, providerReference: string): Promise<ProviderPayment> {
    if (isCheckoutSessionId(providerReference)) {
      return checkoutPaymentFromWire(await this.readSession(flow, providerReference), this.config.publishableKey);
    }
    const path = `/v1/payment_intents/${providerReference}`;
    const pi = await this.intentCall(flow, 'GET', path, undefined, () =>
      this.#stripe.paymentIntents.retrieve(providerReference, { expand: ['latest_charge'] }),
    );
    return paymentFromWire(pi, this.config.publishableKey);
  }

  private echoed(pi: Stripe.PaymentIntent, sent: { amountMinor: number; currency: string }, what: string) {
    const p = paymentFromWire(pi, this.config.publishableKey);
    assertEcho(sent, money(p.amountMinor, p.currency), what);
    return p;
  }

  /**
   * A call that answers with a PaymentIntent. A card error that carries the PaymentIntent (a decline while
   * confirming) is a result: the intent comes back with `last_payment_error` and maps to `failed`.
   */
  private async intentCall(
    flow: Flow,
    method: 'GET' | 'POST',
    path: string,
    idempotencyKey: string | undefined,
    fn: () => Promise<Stripe.PaymentIntent>,
  ): Promise<Stripe.PaymentIntent> {
    try {
      return await this.send(flow, method, path, idempotencyKey, fn);
    } catch (err) {
      if (err instanceof Stripe.errors.StripeCardError && isPaymentIntent(err.payment_intent)) {
        return err.payment_intent;
      }
      throw toStripeError(err, `${flow} (${method} ${path})`, method === 'POST');
    }
  }

  /** Runs one SDK call and logs one line for it. */
  private async send<T>(
    flow: Flow,
    method: 'GET' | 'POST',
    path: string,
    idempotencyKey: string | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    const t0 = Date.now();
    const line = (status: number | string, code?: string, requestId?: string) =>
      this.opts.log?.({
        ...(this.opts.tenant ? { tenant: this.opts.tenant } : {}),
        provider: 'stripe',
        flow,
        method,
        path,
        ...(idempotencyKey ? { idempotencyKey } : {}),
        status,
        ms: Date.now() - t0,
        ...(code ? { code } : {}),
        ...(requestId ? { requestId } : {}),
      });
    try {
      const res = await fn();
      const last = (res as { lastResponse?: { statusCode?: number; requestId?: string } }).lastResponse;
      line(last?.statusCode ?? 200, undefined, last?.requestId);
      return res;
    } catch (err) {
      if (err instanceof Stripe.errors.StripeError) line(err.statusCode ?? err.type, err.code, err.requestId);
      else line('error');
      throw err;
    }
  }
}

/**
 * Builds the Stripe provider from options (validated here; see `config.ts`).
 *
 * @example
 * ```ts
 * const stripe = createStripeProvider({ secretKey: process.env.STRIPE_SECRET_KEY, webhookSecret: process.env.STRIPE_WEBHOOK_SECRET });
 * const p = await stripe.create({ paymentId, idempotencyKey: `payment:${paymentId}:create`, amountMinor: 1999, currency: 'EUR', … });
 * ```
 */
export function createStripeProvider(config: unknown, options: StripeProviderOptions = {}): StripeProvider {
  return new StripeProvider(parseStripeProviderConfig(config), options);
}

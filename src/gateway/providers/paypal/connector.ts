/**
 * The PayPal payment provider: Orders v2 and Payments v2 through the official `@paypal/paypal-server-sdk` (pinned to
 * 2.5.0: the redirection below uses its `unstable_httpClientOptions`).
 *
 * - `providerReference` is the PayPal **order id**. The order holds everything else: its authorization, captures and
 *   refunds are in `purchase_units[0].payments`, so `capture`, `cancel` and `refund` read the order to find the
 *   authorization or capture they act on, and `retrieve` reads captured and refunded sums from it.
 * - `create` makes an order with the PayPal wallet and returns `requires_action` with the payer-action (approval) link;
 *   `complete` captures (automatic) or authorizes (manual) the approved order.
 * - Every mutating call sends the caller's idempotency key as `PayPal-Request-Id`; PayPal answers a repeat with the
 *   first result.
 * - The SDK has no base-URL option: with `baseUrl` set, its axios adapter rewrites PayPal's API host to it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type ApiResponse,
  CheckoutPaymentIntent,
  Client,
  Environment,
  type Order,
  OrderStatus,
  OrdersController,
  PaymentsController,
} from '@paypal/paypal-server-sdk';
import axios, { type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { IntegrationError, IntegrityError } from '../../../domain/errors';
import { assertEcho } from '../../../domain/money';
import {
  type CaptureInput,
  type PaymentProvider,
  type ProviderCapabilities,
  type ProviderPayment,
  type ProviderRefund,
  type RawWebhook,
  type RefundInput,
  type WebhookEvent,
  WebhookRejected,
} from '../types';
import { type PayPalConfig, type PayPalConfigInput, parsePayPalConfig } from './config';
import {
  declineOf,
  failureOf,
  issueOf,
  type PayPalFailure,
  SETTLED_BY_ORDER_ISSUES,
  statusDecline,
  toPayPalError,
} from './errors';
import { WebhookSignatureVerifier } from './signature';
import {
  authorizationOf,
  CANCEL_PARAM,
  canceledByShopper,
  captureForRefund,
  eventsFromWebhook,
  fromWireMoney,
  MalformedEvent,
  orderRequestFrom,
  paymentFromOrder,
  paymentIdOf,
  refundFromWire,
  refundRequestFrom,
  requestIdFor,
  scrub,
  toWireMoney,
  webhookEnvelopeSchema,
} from './transformers';

/** The SDK version this provider is written and tested against (`unstable_httpClientOptions` may change). */
export const PAYPAL_SDK_VERSION = '2.5.0';

const PAYPAL_HOSTS = /^https:\/\/api-m(?:\.sandbox)?\.paypal\.com(?=\/|$)/;
const ORDER_ID = /^[A-Za-z0-9-]{1,36}$/;
const REPRESENTATION = 'return=representation';

/** One structured line per HTTP call to PayPal (STYLE "Logs and secrets"); no headers, bodies or credentials. */
export interface PayPalLogLine {
  tenant?: string;
  provider: 'paypal';
  flow: string;
  method: string;
  path: string;
  status: number | string;
  ms: number;
  idempotencyKey?: string;
  code?: string;
}

export interface PayPalProviderOptions {
  /** Put on every log line. */
  tenant?: string;
  /** Receives one line per HTTP call (the token call included). */
  log?: (line: PayPalLogLine) => void;
  /**
   * The axios adapter that performs the requests; tests pass a recording one. @defaultValue axios's `http` adapter
   */
  adapter?: AxiosAdapter;
  /** Clock for the webhook tolerance, for tests. */
  now?: () => number;
  /** Fetches webhook certificates (tests); the default uses `fetch` without following redirects. */
  fetchCertificate?: (url: URL, timeoutMs: number) => Promise<{ status: number; text: string }>;
}

interface Controllers {
  orders: OrdersController;
  payments: PaymentsController;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; failure: PayPalFailure };

/** Thrown by the token provider so a failed token fetch can be told apart from a failed API call. */
class TokenFailure extends Error {
  override readonly name = 'TokenFailure';
  constructor(readonly failure: PayPalFailure) {
    super('PayPal token request failed');
  }
}

interface CallContext {
  flow: string;
  idempotencyKey?: string;
}

const MAX_RESOLVED = 1000;

export class PayPalProvider implements PaymentProvider {
  readonly name = 'paypal' as const;
  readonly capabilities: ProviderCapabilities = {
    partialCapture: true,
    partialRefund: true,
    // Every capture is sent with final_capture=true, so the rest of the authorisation is released at once.
    multipleCaptures: false,
    manualCapture: true,
    recurring: false,
    webhooks: true,
    statusSync: true,
  };
  // ES-private: the SDK client holds the client secret, and util.inspect does not show # fields.
  #sdk: Controllers;
  private readonly context = new AsyncLocalStorage<CallContext>();
  private readonly verifier: WebhookSignatureVerifier;
  private readonly orderOfTransaction = new Map<string, string>();
  private readonly transport: AxiosAdapter;

  /** Use {@link createPayPalProvider} for options from config; this takes them validated. */
  constructor(
    readonly config: PayPalConfig,
    private readonly opts: PayPalProviderOptions = {},
  ) {
    this.transport = opts.adapter ?? (axios.getAdapter('http') as AxiosAdapter);
    this.#sdk = this.build();
    this.verifier = new WebhookSignatureVerifier({
      webhookId: config.webhookId,
      certHosts: config.certHosts,
      allowHttpCertUrlsForTests: config.allowHttpCertUrlsForTests,
      toleranceSec: config.webhookToleranceSec,
      timeoutMs: Math.min(config.timeoutMs, 10_000),
      ...(opts.now ? { now: opts.now } : {}),
      ...(opts.fetchCertificate ? { fetchText: opts.fetchCertificate } : {}),
    });
  }

  /** How many webhook certificates were downloaded so far (the rest came from the cache). */
  get certificateFetches(): number {
    return this.verifier.fetches;
  }

  // ---- transport ------------------------------------------------------------------------------------------------

  private build(): Controllers {
    const client = new Client({
      environment: this.config.environment === 'production' ? Environment.Production : Environment.Sandbox,
      timeout: this.config.timeoutMs,
      clientCredentialsAuthCredentials: {
        oAuthClientId: this.config.clientId,
        oAuthClientSecret: this.config.clientSecret.reveal(),
        // A failed token fetch would otherwise stay cached as a rejected promise inside the SDK.
        oAuthTokenProvider: async (_last, manager) => {
          try {
            return await this.context.run({ flow: 'token' }, () => manager.fetchToken());
          } catch (err) {
            throw new TokenFailure({ ...failureOf(err), token: true });
          }
        },
      },
      unstable_httpClientOptions: { adapter: (cfg: InternalAxiosRequestConfig) => this.send(cfg) },
    });
    return { orders: new OrdersController(client), payments: new PaymentsController(client) };
  }

  private async send(cfg: InternalAxiosRequestConfig): Promise<AxiosResponse> {
    if (this.config.baseUrl && cfg.url) cfg.url = cfg.url.replace(PAYPAL_HOSTS, this.config.baseUrl);
    const ctx = this.context.getStore();
    const t0 = Date.now();
    try {
      const res = await this.transport(cfg);
      this.logLine(cfg, ctx, res.status, t0);
      return res;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      this.logLine(cfg, ctx, typeof code === 'string' ? code : 'ERROR', t0);
      throw err;
    }
  }

  private logLine(cfg: InternalAxiosRequestConfig, ctx: CallContext | undefined, status: number | string, t0: number) {
    if (!this.opts.log) return;
    let path = cfg.url ?? '';
    try {
      path = new URL(path).pathname;
    } catch {
      // keep as is
    }
    const line: PayPalLogLine = {
      ...(this.opts.tenant ? { tenant: this.opts.tenant } : {}),
      provider: 'paypal',
      flow: ctx?.flow ?? 'unknown',
      method: (cfg.method ?? 'get').toUpperCase(),
      path: scrub(path),
      status,
      ms: Date.now() - t0,
    };
    if (ctx?.idempotencyKey) line.idempotencyKey = ctx.idempotencyKey;
    if (typeof status === 'string') line.code = status;
    this.opts.log(line);
  }

  /** Runs one SDK call; a refused access token is renewed once (a 401 means PayPal did nothing). */
  private async attempt<T>(ctx: CallContext, fn: (c: Controllers) => Promise<ApiResponse<T>>): Promise<Outcome<T>> {
    for (let round = 0; ; round++) {
      try {
        const res = await this.context.run(ctx, () => fn(this.#sdk));
        return { ok: true, value: res.result };
      } catch (err) {
        if (err instanceof TokenFailure) {
          this.#sdk = this.build();
          return { ok: false, failure: err.failure };
        }
        const failure = failureOf(err);
        if (failure.status === 401 && round === 0) {
          this.#sdk = this.build();
          continue;
        }
        return { ok: false, failure };
      }
    }
  }

  private async call<T>(
    ctx: CallContext,
    what: string,
    mutating: boolean,
    fn: (c: Controllers) => Promise<ApiResponse<T>>,
  ): Promise<T> {
    const r = await this.attempt(ctx, fn);
    if (r.ok) return r.value;
    throw this.error(r.failure, what, mutating);
  }

  private error(f: PayPalFailure, what: string, mutating: boolean): Error {
    return toPayPalError(f, { what, mutating, environment: this.config.environment });
  }

  private getOrder(orderId: string, flow: string): Promise<Order> {
    if (!ORDER_ID.test(orderId)) {
      throw new IntegrationError(`"${orderId}" is not a PayPal order id`, 'providerReference');
    }
    return this.call({ flow }, `get order ${orderId}`, false, (c) => c.orders.getOrder({ id: orderId }));
  }

  /** Refuses to act on an order that carries another payment's id. */
  private own(order: Order, paymentId: string): void {
    const owner = paymentIdOf(order);
    if (owner !== undefined && owner !== paymentId) {
      throw new IntegrityError(`PayPal order ${order.id} belongs to payment ${owner}, not ${paymentId}`);
    }
  }

  // ---- flows ----------------------------------------------------------------------------------------------------

  async create(input: Parameters<PaymentProvider['create']>[0]): Promise<ProviderPayment> {
    const body = orderRequestFrom(input, this.config.brandName ? { brandName: this.config.brandName } : {});
    const order = await this.call(
      { flow: 'create', idempotencyKey: input.idempotencyKey },
      `create order for payment ${input.paymentId}`,
      true,
      (c) =>
        c.orders.createOrder({ body, paypalRequestId: requestIdFor(input.idempotencyKey), prefer: REPRESENTATION }),
    );
    // A minimal answer (Prefer ignored) has no purchase units: read the order to check the echo.
    const full = order.purchaseUnits?.length || !order.id ? order : await this.getOrder(order.id, 'create');
    this.own(full, input.paymentId);
    const p = paymentFromOrder(full);
    assertEcho(
      { amountMinor: input.amountMinor, currency: input.currency },
      { amountMinor: p.amountMinor, currency: p.currency },
      `PayPal order ${p.providerReference}`,
    );
    return p;
  }

  async complete(orderId: string, input: Parameters<PaymentProvider['complete']>[1]): Promise<ProviderPayment> {
    const token = input.returnParams.token;
    if (token && token !== orderId) {
      throw new IntegrationError(`the return URL names order ${token}, not ${orderId}`, 'returnParams.token');
    }
    const order = await this.getOrder(orderId, 'complete');
    this.own(order, input.paymentId);
    const before = paymentFromOrder(order);
    const status = order.status ?? OrderStatus.Created;
    switch (status) {
      case OrderStatus.Created:
      case OrderStatus.PayerActionRequired:
        // Back from PayPal without approval: the payer canceled (or closed the page).
        return canceledByShopper(before);
      case OrderStatus.Approved:
      case OrderStatus.Saved:
        return this.settle(order, before, input);
      case OrderStatus.Completed:
      case OrderStatus.Voided:
        return before;
      default: {
        const never: never = status;
        return paymentFromOrder({ ...order, status: never });
      }
    }
  }

  /** Captures or authorizes an approved order, as its intent says. */
  private async settle(
    order: Order,
    before: ProviderPayment,
    input: Parameters<PaymentProvider['complete']>[1],
  ): Promise<ProviderPayment> {
    const orderId = before.providerReference;
    const intent = order.intent ?? CheckoutPaymentIntent.Capture;
    const wanted = input.capture === 'automatic' ? CheckoutPaymentIntent.Capture : CheckoutPaymentIntent.Authorize;
    if (intent !== wanted) {
      throw new IntegrationError(
        `order ${orderId} was created with intent ${intent}; complete() asked for capture '${input.capture}'`,
        'capture',
      );
    }
    const ctx = { flow: 'complete', idempotencyKey: input.idempotencyKey };
    const r =
      intent === CheckoutPaymentIntent.Capture
        ? await this.attempt(ctx, (c) =>
            c.orders.captureOrder({
              id: orderId,
              paypalRequestId: requestIdFor(input.idempotencyKey),
              prefer: REPRESENTATION,
            }),
          )
        : await this.attempt(ctx, (c) =>
            c.orders.authorizeOrder({
              id: orderId,
              paypalRequestId: requestIdFor(input.idempotencyKey),
              prefer: REPRESENTATION,
            }),
          );
    if (!r.ok) {
      const decline = declineOf(r.failure);
      if (decline) {
        const base = { ...before, status: 'failed' as const, providerStatus: decline.providerCode, decline };
        return decline.code === 'canceled_by_shopper' ? canceledByShopper(before) : base;
      }
      const issue = issueOf(r.failure);
      if (issue && SETTLED_BY_ORDER_ISSUES.has(issue))
        return paymentFromOrder(await this.getOrder(orderId, 'complete'));
      throw this.error(
        r.failure,
        `${intent === CheckoutPaymentIntent.Capture ? 'capture' : 'authorize'} order ${orderId}`,
        true,
      );
    }
    const after = paymentFromOrder({
      ...order,
      status: r.value.status ?? order.status,
      purchaseUnits: r.value.purchaseUnits ?? order.purchaseUnits,
      links: r.value.links ?? order.links,
    });
    if (after.capturedMinor > 0) {
      assertEcho(
        { amountMinor: before.amountMinor, currency: before.currency },
        { amountMinor: after.capturedMinor, currency: after.currency },
        `PayPal capture of order ${orderId}`,
      );
    }
    return after;
  }

  async capture(orderId: string, input: CaptureInput): Promise<ProviderPayment> {
    const order = await this.getOrder(orderId, 'capture');
    this.own(order, input.paymentId);
    const before = paymentFromOrder(order);
    if (order.intent === CheckoutPaymentIntent.Capture) {
      throw new IntegrationError(
        `order ${orderId} was created for automatic capture; there is nothing to capture`,
        'capture',
      );
    }
    const auth = authorizationOf(order);
    if (!auth?.id) {
      throw new IntegrationError(
        `order ${orderId} is ${order.status} and has no authorization yet (complete() authorizes it)`,
        'providerReference',
      );
    }
    if (input.currency !== before.currency) {
      throw new IntegrationError(`the payment is in ${before.currency}, not ${input.currency}`, 'currency');
    }
    const authorized = fromWireMoney(auth.amount, 'authorization amount').amountMinor;
    const amountMinor = input.amountMinor;
    if (amountMinor !== undefined && (amountMinor <= 0 || amountMinor > authorized)) {
      throw new IntegrationError(`${amountMinor} is not between 1 and the authorized ${authorized}`, 'amountMinor');
    }
    const authId = auth.id;
    // Without an amount PayPal captures what is left of the authorization; a retry then replays that capture.
    const body = {
      ...(amountMinor !== undefined ? { amount: toWireMoney(amountMinor, input.currency) } : {}),
      finalCapture: true,
    };
    const r = await this.attempt({ flow: 'capture', idempotencyKey: input.idempotencyKey }, (c) =>
      c.payments.captureAuthorizedPayment({
        authorizationId: authId,
        paypalRequestId: requestIdFor(input.idempotencyKey),
        prefer: REPRESENTATION,
        body,
      }),
    );
    if (!r.ok) {
      const decline = declineOf(r.failure);
      if (decline) return { ...before, status: 'failed', providerStatus: decline.providerCode, decline };
      const issue = issueOf(r.failure);
      if (!issue || !SETTLED_BY_ORDER_ISSUES.has(issue)) {
        throw this.error(r.failure, `capture authorization ${authId} of order ${orderId}`, true);
      }
    } else {
      const echoed = fromWireMoney(r.value.amount, 'capture amount');
      if (amountMinor !== undefined) {
        assertEcho({ amountMinor, currency: input.currency }, echoed, `PayPal capture of authorization ${authId}`);
      } else if (echoed.currency !== input.currency || echoed.amountMinor > authorized) {
        throw new IntegrityError(
          `PayPal capture of authorization ${authId}: captured ${echoed.amountMinor} ${echoed.currency} of ${authorized} ${input.currency}`,
        );
      }
      const declined = r.value.status ? statusDecline('capture', r.value.status) : undefined;
      if (declined) return { ...before, status: 'failed', providerStatus: r.value.status ?? '', decline: declined };
    }
    return paymentFromOrder(await this.getOrder(orderId, 'capture'));
  }

  async cancel(orderId: string, input: { idempotencyKey: string; paymentId: string }): Promise<ProviderPayment> {
    const order = await this.getOrder(orderId, 'cancel');
    this.own(order, input.paymentId);
    const current = paymentFromOrder(order);
    const status = order.status ?? OrderStatus.Created;
    switch (status) {
      case OrderStatus.Created:
      case OrderStatus.PayerActionRequired:
      case OrderStatus.Approved:
      case OrderStatus.Saved:
        // Orders have no cancel call: an order nobody captures expires, and we never will.
        return { ...current, status: 'canceled', providerStatus: status, nextAction: { type: 'none' } };
      case OrderStatus.Voided:
        return current;
      case OrderStatus.Completed:
        break;
      default: {
        const never: never = status;
        return paymentFromOrder({ ...order, status: never });
      }
    }
    const auth = authorizationOf(order);
    if (!auth?.id || current.capturedMinor > 0) {
      throw new IntegrationError(
        `order ${orderId} is ${current.status}; a captured payment is refunded, not canceled`,
        'providerReference',
      );
    }
    if (current.status === 'canceled' || current.status === 'failed') return current;
    const authId = auth.id;
    const r = await this.attempt({ flow: 'cancel', idempotencyKey: input.idempotencyKey }, (c) =>
      c.payments.voidPayment({
        authorizationId: authId,
        paypalRequestId: requestIdFor(input.idempotencyKey),
        prefer: REPRESENTATION,
      }),
    );
    if (!r.ok) {
      const issue = issueOf(r.failure);
      if (!issue || !SETTLED_BY_ORDER_ISSUES.has(issue)) {
        throw this.error(r.failure, `void authorization ${authId} of order ${orderId}`, true);
      }
    }
    return paymentFromOrder(await this.getOrder(orderId, 'cancel'));
  }

  async refund(orderId: string, input: RefundInput): Promise<ProviderRefund> {
    const order = await this.getOrder(orderId, 'refund');
    this.own(order, input.paymentId);
    const current = paymentFromOrder(order);
    if (input.currency !== current.currency) {
      throw new IntegrationError(`the payment is in ${current.currency}, not ${input.currency}`, 'currency');
    }
    const capture = captureForRefund(order, input.amountMinor);
    if (!capture?.id) {
      throw new IntegrationError(
        `order ${orderId} is ${current.status}; nothing was captured to refund`,
        'providerReference',
      );
    }
    const captureId = capture.id;
    const body = refundRequestFrom(input);
    const refund = await this.call(
      { flow: 'refund', idempotencyKey: input.idempotencyKey },
      `refund capture ${captureId} of order ${orderId}`,
      true,
      (c) =>
        c.payments.refundCapturedPayment({
          captureId,
          body,
          paypalRequestId: requestIdFor(input.idempotencyKey),
          prefer: REPRESENTATION,
        }),
    );
    const result = refundFromWire(refund);
    assertEcho(
      { amountMinor: input.amountMinor, currency: input.currency },
      { amountMinor: result.amountMinor, currency: result.currency },
      `PayPal refund ${result.providerRefundReference}`,
    );
    return result;
  }

  async retrieve(orderId: string): Promise<ProviderPayment> {
    return paymentFromOrder(await this.getOrder(orderId, 'retrieve'));
  }

  async parseWebhook(raw: RawWebhook): Promise<WebhookEvent[]> {
    await this.verifier.verify(raw);
    let json: unknown;
    try {
      json = JSON.parse(raw.body.toString('utf8'));
    } catch {
      throw new WebhookRejected('the body is not JSON', 'malformed');
    }
    const env = webhookEnvelopeSchema.safeParse(json);
    if (!env.success) throw new WebhookRejected('the body is not a PayPal webhook event', 'malformed');
    try {
      return await eventsFromWebhook(env.data, {
        orderOfCapture: (id) => this.orderOf('capture', id),
        orderOfAuthorization: (id) => this.orderOf('authorization', id),
      });
    } catch (err) {
      if (err instanceof MalformedEvent) throw new WebhookRejected(err.message, 'malformed');
      throw err;
    }
  }

  /** The order a capture or authorization belongs to (`supplementary_data.related_ids.order_id`), cached. */
  private async orderOf(kind: 'capture' | 'authorization', id: string): Promise<string> {
    const key = `${kind}:${id}`;
    const hit = this.orderOfTransaction.get(key);
    if (hit) return hit;
    if (!ORDER_ID.test(id)) throw new MalformedEvent(`"${id}" is not a PayPal ${kind} id`);
    const res =
      kind === 'capture'
        ? await this.call({ flow: 'webhook' }, `get capture ${id}`, false, (c) =>
            c.payments.getCapturedPayment({ captureId: id }),
          )
        : await this.call({ flow: 'webhook' }, `get authorization ${id}`, false, (c) =>
            c.payments.getAuthorizedPayment({ authorizationId: id }),
          );
    const orderId = res.supplementaryData?.relatedIds?.orderId;
    if (!orderId) throw new MalformedEvent(`PayPal ${kind} ${id} names no order`);
    if (this.orderOfTransaction.size >= MAX_RESOLVED) {
      this.orderOfTransaction.delete(this.orderOfTransaction.keys().next().value as string);
    }
    this.orderOfTransaction.set(key, orderId);
    return orderId;
  }

  async close(): Promise<void> {
    this.orderOfTransaction.clear();
  }
}

/** The query parameter on the return URL that marks a payer who canceled at PayPal. */
export { CANCEL_PARAM };

/**
 * Creates the PayPal provider from options (validated; see `config.ts`).
 *
 * @example
 * const paypal = createPayPalProvider({
 *   clientId: process.env.PAYPAL_CLIENT_ID, clientSecret: process.env.PAYPAL_CLIENT_SECRET,
 *   webhookId: process.env.PAYPAL_WEBHOOK_ID, environment: 'production',
 * });
 */
export function createPayPalProvider(config: PayPalConfigInput | PayPalConfig, opts: PayPalProviderOptions = {}) {
  return new PayPalProvider(parsePayPalConfig(config), opts);
}

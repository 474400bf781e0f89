/**
 * A stateful simulator of Adyen's Checkout API v72 (the part the Adyen provider uses) with Standard webhooks. As far
 * as the provider can tell it behaves like Adyen's TEST environment:
 *
 * - `POST /v72/payments`, `/v72/payments/details`, `/v72/payments/{pspReference}/captures|cancels|refunds`, JSON with
 *   `X-API-Key` (401 otherwise) and the merchant account checked (403, errorCode 901); errors in Adyen's ServiceError
 *   shape `{status, errorCode, message, errorType, pspReference}`;
 * - `Idempotency-Key`: the same key with the same request answers the first response again (and moves nothing);
 *   the same key with another request is refused with 422, errorCode 704;
 * - cards in Adyen's unencrypted test format (`encryptedCardNumber: "test_4111111111111111"` …, see `cards.ts`);
 *   refusals by `holderName` magic values (`NOT_ENOUGH_BALANCE` → Refused "Not enough balance", code 12) as in
 *   Adyen's test table; 3-D Secure cards (`test_4212345678901237`) and redirect methods answer `RedirectShopper` with
 *   `action {type: 'redirect', method: 'GET', url}`. That page, given `?outcome=approve|reject`, redirects (302) to
 *   the returnUrl with `redirectResult`, which `/payments/details` turns into the final result;
 * - modifications keep state (authorised, captured, released, refunded, cancelled amounts). They answer `received`
 *   (201) and report by webhook; one partial capture releases the rest unless `multiplePartialCaptures`;
 * - Standard webhooks (AUTHORISATION, CAPTURE, CANCELLATION, REFUND, NOTIFICATION_OF_CHARGEBACK, CHARGEBACK …)
 *   signed with HMAC-SHA256 in `additionalData.hmacSignature`, one item per delivery, retried on non-2xx, Basic auth
 *   when configured, duplicated or held and released out of order on request;
 * - control: fail the next calls with a status, stall the next money-moving call after applying it (its answer
 *   never comes, so the client times out), open a chargeback, count payments per merchant reference and captures per
 *   pspReference. Every exchange is recorded for the contract test.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DIRECT_METHODS,
  HOLDER_NAME_OUTCOMES,
  type HolderOutcome,
  luhn,
  REDIRECT_METHODS,
  TEST_CARDS,
  testValue,
} from './cards';
import { type DeliveryAttempt, eventDate, type NotificationItem, NotificationQueue, sign } from './notifications';

export interface AdyenSimulatorOptions {
  /** @defaultValue 'AQE_sim_test_key_…' (random) */
  apiKey?: string;
  /** @defaultValue 'ClearhubECOM' */
  merchantAccount?: string;
  /** HMAC key of the Standard webhook, hex. @defaultValue 32 random bytes */
  hmacKeyHex?: string;
  webhookUrl?: string;
  webhookBasicAuth?: { username: string; password: string };
  /** Delivery attempts before a webhook is given up. @defaultValue 8 */
  webhookAttempts?: number;
  /** @defaultValue 20 */
  webhookRetryDelayMs?: number;
  /** Several partial captures per authorisation (Adyen enables it on request). @defaultValue false */
  multiplePartialCaptures?: boolean;
  /** The merchant account's capture delay when a request sets neither captureDelayHours nor manualCapture. @defaultValue 'immediate' */
  defaultCapture?: 'immediate' | 'manual';
  /** The clock of eventDate (Adyen's dates have whole seconds). @defaultValue () => new Date() */
  now?: () => Date;
}

export type SimResultCode = 'RedirectShopper' | HolderOutcome['resultCode'];

/** One payment as the simulator holds it; amounts in minor units. */
export interface SimPayment {
  pspReference: string;
  reference: string;
  amount: { value: number; currency: string };
  paymentMethod: string;
  resultCode: SimResultCode;
  refusalReason?: string;
  refusalReasonCode?: string;
  capture: 'immediate' | 'manual';
  returnUrl: string;
  /** What the payment ends with once the shopper approves the redirect. */
  afterRedirect?: HolderOutcome;
  authorised: number;
  captured: number;
  released: number;
  refunded: number;
  cancelled: boolean;
  chargedBack: number;
  captures: { pspReference: string; value: number }[];
  refunds: { pspReference: string; value: number; reference: string }[];
  shopperReference?: string;
  storedPaymentMethodId?: string;
}

/** One HTTP exchange with the Checkout API, as the contract test reads it (the API key replaced by `[key]`). */
export interface RecordedExchange {
  method: string;
  path: string;
  /** The operation's path template in the spec, e.g. `/payments/{paymentPspReference}/captures`. */
  operation: string;
  requestHeaders: Record<string, string>;
  requestBody: unknown;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: unknown;
  /** The answer was held back (stall): the client never saw it. */
  stalled: boolean;
  replayed: boolean;
}

export interface AdyenSimulator {
  /** Base URL to put in place of `https://checkout-test.adyen.com`. */
  url: string;
  apiKey: string;
  merchantAccount: string;
  hmacKeyHex: string;
  payments: ReadonlyMap<string, SimPayment>;
  exchanges: RecordedExchange[];
  /** Webhook bodies delivered (2xx), in order. */
  notifications: string[];
  /** Every delivery attempt with its answer (retries show here). */
  deliveryAttempts: DeliveryAttempt[];
  setWebhook(url: string, basicAuth?: { username: string; password: string }): void;
  /** The next `n` API calls (after auth) are answered with `status` before anything happens. */
  failNext(n: number, status?: number): void;
  /** The next money-moving call (payments, details, captures, refunds) is applied, then never answered. */
  stallNextMoneyMovement(): void;
  paymentsFor(merchantReference: string): number;
  capturesFor(pspReference: string): number;
  /** Opens a chargeback: NOTIFICATION_OF_CHARGEBACK (unless `notice: false`), then CHARGEBACK. */
  chargeback(pspReference: string, opts?: { amountMinor?: number; reasonCode?: string; notice?: boolean }): void;
  /** The issuer reverses a chargeback: CHARGEBACK_REVERSED. */
  reverseChargeback(pspReference: string): void;
  duplicateNextNotifications(n: number): void;
  holdNotifications(): void;
  releaseNotifications(opts?: { reverse?: boolean }): void;
  /** Resolves when every queued webhook is delivered or given up. */
  webhooksIdle(): Promise<void>;
  close(): Promise<void>;
}

const VERSION_PREFIX = '/v72';

/** The Checkout operations (path templates of CheckoutService-v72.json) the simulator serves, all POST. */
export const SERVED_OPERATIONS = [
  '/payments',
  '/payments/details',
  '/payments/{paymentPspReference}/captures',
  '/payments/{paymentPspReference}/cancels',
  '/payments/{paymentPspReference}/refunds',
] as const;

const ERROR_TYPE: Record<number, string> = { 400: 'validation', 401: 'security', 403: 'security', 422: 'validation' };

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly errorType = ERROR_TYPE[status] ?? 'internal',
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Adyen-style 16-character pspReference. */
function pspReference(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(16)].map((b) => alphabet[b % alphabet.length]).join('');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function amountOf(body: Json, required: boolean): { value: number; currency: string } | undefined {
  const a = obj(body.amount);
  if (!a) {
    if (required) throw new ApiError(422, '100', "Required field 'amount' is not provided.");
    return undefined;
  }
  if (!Number.isSafeInteger(a.value) || (a.value as number) < 0) {
    throw new ApiError(422, '137', 'Invalid amount specified');
  }
  if (typeof a.currency !== 'string' || !/^[A-Z]{3}$/.test(a.currency)) {
    throw new ApiError(422, '138', 'Unsupported currency specified');
  }
  return { value: a.value as number, currency: a.currency };
}

interface Outcome {
  status: number;
  body: Json;
  moneyMoving: boolean;
}

export async function startAdyenSimulator(options: AdyenSimulatorOptions = {}): Promise<AdyenSimulator> {
  const apiKey = options.apiKey ?? `AQE_sim_test_key_${randomBytes(8).toString('hex')}`;
  const merchantAccount = options.merchantAccount ?? 'ClearhubECOM';
  const hmacKeyHex = options.hmacKeyHex ?? randomBytes(32).toString('hex').toUpperCase();
  const payments = new Map<string, SimPayment>();
  const idempotency = new Map<string, { fingerprint: string; status: number; body: string }>();
  const sessions = new Map<string, { psp: string; outcome?: 'approve' | 'reject' }>();
  const redirectResults = new Map<string, string>();
  const storedMethods = new Map<string, { shopperReference: string; brand: string }>();
  const exchanges: RecordedExchange[] = [];
  const stalled = new Set<ServerResponse>();
  let failing = { n: 0, status: 500 };
  let stallNext = false;
  const queue = new NotificationQueue({
    ...(options.webhookUrl ? { url: options.webhookUrl } : {}),
    ...(options.webhookBasicAuth ? { basicAuth: options.webhookBasicAuth } : {}),
    ...(options.webhookAttempts ? { attempts: options.webhookAttempts } : {}),
    ...(options.webhookRetryDelayMs ? { retryDelayMs: options.webhookRetryDelayMs } : {}),
  });
  let base = '';

  const notify = (item: Omit<NotificationItem, 'merchantAccountCode' | 'eventDate'>) =>
    queue.push(
      sign(
        { ...item, merchantAccountCode: merchantAccount, eventDate: eventDate(options.now?.() ?? new Date()) },
        hmacKeyHex,
      ),
    );

  const authorisationItem = (p: SimPayment) => {
    const ok = p.resultCode === 'Authorised';
    const additionalData: Record<string, string> = {};
    if (ok && p.capture === 'immediate') additionalData.captureDelayHours = '0';
    if (ok && p.storedPaymentMethodId && p.shopperReference) {
      additionalData['tokenization.storedPaymentMethodId'] = p.storedPaymentMethodId;
      additionalData['tokenization.shopperReference'] = p.shopperReference;
      additionalData['recurring.recurringDetailReference'] = p.storedPaymentMethodId;
    }
    notify({
      additionalData,
      amount: p.amount,
      eventCode: 'AUTHORISATION',
      merchantReference: p.reference,
      paymentMethod: p.paymentMethod,
      pspReference: p.pspReference,
      ...(ok ? {} : { reason: p.refusalReason ?? 'Refused' }),
      success: ok ? 'true' : 'false',
    });
  };

  /** Applies a final outcome to a payment (authorise, capture at once when the capture delay says so). */
  const settle = (p: SimPayment, o: HolderOutcome) => {
    p.resultCode = o.resultCode;
    if (o.refusalReason) p.refusalReason = o.refusalReason;
    if (o.refusalReasonCode) p.refusalReasonCode = o.refusalReasonCode;
    if (o.resultCode === 'Authorised') {
      p.authorised = p.amount.value;
      if (p.capture === 'immediate') {
        p.captured = p.amount.value;
        p.captures.push({ pspReference: p.pspReference, value: p.amount.value });
      }
    }
    if (o.resultCode !== 'Received') authorisationItem(p);
  };

  const paymentResponse = (p: SimPayment): Json => {
    const body: Json = {
      pspReference: p.pspReference,
      resultCode: p.resultCode,
      merchantReference: p.reference,
    };
    if (p.resultCode === 'RedirectShopper') {
      const session = [...sessions].find(([, s]) => s.psp === p.pspReference)?.[0];
      body.action = {
        paymentMethodType: p.paymentMethod === 'visa' || p.paymentMethod === 'mc' ? 'scheme' : p.paymentMethod,
        url: `${base}/checkoutshopper/threeDS/redirect?session=${session}`,
        method: 'GET',
        type: 'redirect',
      };
      return body;
    }
    body.amount = p.amount;
    if (p.refusalReason) body.refusalReason = p.refusalReason;
    if (p.refusalReasonCode) body.refusalReasonCode = p.refusalReasonCode;
    if (p.resultCode === 'Authorised') {
      const additionalData: Record<string, string> = { authCode: '065696', refusalReasonRaw: 'AUTHORISED' };
      if (p.storedPaymentMethodId) {
        additionalData['tokenization.storedPaymentMethodId'] = p.storedPaymentMethodId;
        additionalData['recurring.recurringDetailReference'] = p.storedPaymentMethodId;
      }
      body.additionalData = additionalData;
    }
    return body;
  };

  // ---- operations ------------------------------------------------------------------------------------------------

  function createPayment(body: Json): Outcome {
    const amount = amountOf(body, true)!;
    if (typeof body.reference !== 'string' || !body.reference) {
      throw new ApiError(422, '130', "Required field 'reference' is not provided.");
    }
    if (body.reference.length > 80) throw new ApiError(422, '130', 'Reference is too long (max 80)');
    if (typeof body.returnUrl !== 'string' || !body.returnUrl)
      throw new ApiError(422, '14_030', 'Return URL is missing.');
    const pm = obj(body.paymentMethod);
    if (!pm || typeof pm.type !== 'string') {
      throw new ApiError(422, '14_007', "Required field 'paymentMethod.type' is not provided.");
    }
    const additional = obj(body.additionalData) ?? {};
    const manual =
      additional.manualCapture === 'true' ||
      (typeof body.captureDelayHours === 'number' && body.captureDelayHours > 0) ||
      (body.captureDelayHours === undefined && options.defaultCapture === 'manual');
    const p: SimPayment = {
      pspReference: pspReference(),
      reference: body.reference,
      amount,
      paymentMethod: pm.type,
      resultCode: 'Received',
      capture: manual ? 'manual' : 'immediate',
      returnUrl: body.returnUrl,
      authorised: 0,
      captured: 0,
      released: 0,
      refunded: 0,
      cancelled: false,
      chargedBack: 0,
      captures: [],
      refunds: [],
      ...(typeof body.shopperReference === 'string' ? { shopperReference: body.shopperReference } : {}),
    };

    let outcome: HolderOutcome = { resultCode: 'Authorised' };
    let redirect = false;
    if (pm.type === 'scheme') {
      const holder = typeof pm.holderName === 'string' ? HOLDER_NAME_OUTCOMES[pm.holderName] : undefined;
      if (typeof pm.storedPaymentMethodId === 'string') {
        const stored = storedMethods.get(pm.storedPaymentMethodId);
        if (!stored || stored.shopperReference !== body.shopperReference) {
          throw new ApiError(422, '800', 'Contract not found');
        }
        p.paymentMethod = stored.brand;
      } else {
        const pan = testValue(pm.encryptedCardNumber);
        if (pan === undefined) {
          throw new ApiError(
            422,
            '101',
            'Invalid card number (the simulator takes Adyen test values such as test_4111111111111111)',
          );
        }
        if (!luhn(pan)) throw new ApiError(422, '101', 'Invalid card number');
        const month = Number(testValue(pm.encryptedExpiryMonth));
        const year = Number(testValue(pm.encryptedExpiryYear));
        if (!Number.isInteger(month) || month < 1 || month > 12 || !Number.isInteger(year) || year < 2000) {
          throw new ApiError(422, '129', 'Expiry Date Invalid');
        }
        const cvc = pm.encryptedSecurityCode === undefined ? '' : testValue(pm.encryptedSecurityCode);
        if (cvc === undefined || (cvc !== '' && !/^\d{3,4}$/.test(cvc))) {
          throw new ApiError(422, '103', 'CVC is not the right length');
        }
        const card = TEST_CARDS[pan] ?? { brand: pan.startsWith('4') ? 'visa' : 'mc', threeDS: false };
        p.paymentMethod = card.brand;
        const now = new Date();
        const expired = year < now.getUTCFullYear() || (year === now.getUTCFullYear() && month < now.getUTCMonth() + 1);
        if (expired) outcome = HOLDER_NAME_OUTCOMES.CARD_EXPIRED!;
        redirect = card.threeDS;
        if (body.storePaymentMethod === true) {
          if (typeof body.shopperReference !== 'string') {
            throw new ApiError(422, '14_012', "Required field 'shopperReference' is not provided.");
          }
          const id = pspReference();
          storedMethods.set(id, { shopperReference: body.shopperReference, brand: card.brand });
          p.storedPaymentMethodId = id;
        }
      }
      if (holder && outcome.resultCode === 'Authorised') outcome = holder;
    } else if (REDIRECT_METHODS.has(pm.type)) {
      redirect = true;
    } else if (!DIRECT_METHODS.has(pm.type)) {
      throw new ApiError(422, '905', 'Payment details are not supported', 'configuration');
    }

    payments.set(p.pspReference, p);
    if (redirect && outcome.resultCode === 'Authorised') {
      p.resultCode = 'RedirectShopper';
      p.afterRedirect = outcome;
      sessions.set(randomBytes(12).toString('hex'), { psp: p.pspReference });
      return { status: 200, body: paymentResponse(p), moneyMoving: false };
    }
    settle(p, outcome);
    return { status: 200, body: paymentResponse(p), moneyMoving: true };
  }

  function paymentDetails(body: Json): Outcome {
    const details = obj(body.details);
    const token = typeof details?.redirectResult === 'string' ? details.redirectResult : undefined;
    const psp = token ? redirectResults.get(token) : undefined;
    const p = psp ? payments.get(psp) : undefined;
    if (!p) throw new ApiError(422, '14_018', 'Invalid payload provided');
    if (p.resultCode === 'RedirectShopper') {
      const session = [...sessions.values()].find((s) => s.psp === p.pspReference);
      settle(
        p,
        session?.outcome === 'approve'
          ? (p.afterRedirect ?? { resultCode: 'Authorised' })
          : HOLDER_NAME_OUTCOMES.NOT_3D_AUTHENTICATED!,
      );
      return { status: 200, body: paymentResponse(p), moneyMoving: true };
    }
    return { status: 200, body: paymentResponse(p), moneyMoving: false };
  }

  /** The `received` answer of a modification (capture, cancel, refund): the outcome follows by notification. */
  function received(
    p: SimPayment,
    ref: string,
    body: Json,
    amount: { value: number; currency: string } | undefined,
    moneyMoving: boolean,
  ): Outcome {
    return {
      status: 201,
      body: {
        merchantAccount,
        paymentPspReference: p.pspReference,
        pspReference: ref,
        ...(typeof body.reference === 'string' ? { reference: body.reference } : {}),
        status: 'received',
        ...(amount ? { amount } : {}),
      },
      moneyMoving,
    };
  }

  function paymentOf(psp: string): SimPayment {
    const p = payments.get(psp);
    if (!p) throw new ApiError(422, '167', 'Original pspReference is invalid for this environment!');
    return p;
  }

  function capture(psp: string, body: Json): Outcome {
    const p = paymentOf(psp);
    const amount = amountOf(body, true)!;
    const ref = pspReference();
    const remaining = p.authorised - p.captured - p.released;
    const ok =
      p.resultCode === 'Authorised' &&
      !p.cancelled &&
      amount.currency === p.amount.currency &&
      amount.value > 0 &&
      amount.value <= remaining &&
      (options.multiplePartialCaptures || p.captures.length === 0);
    if (ok) {
      p.captured += amount.value;
      p.captures.push({ pspReference: ref, value: amount.value });
      if (!options.multiplePartialCaptures) p.released = p.authorised - p.captured;
    }
    notify({
      additionalData: {},
      amount,
      eventCode: 'CAPTURE',
      merchantReference: typeof body.reference === 'string' ? body.reference : p.reference,
      originalReference: p.pspReference,
      paymentMethod: p.paymentMethod,
      pspReference: ref,
      ...(ok
        ? {}
        : {
            reason:
              amount.currency !== p.amount.currency
                ? 'Modification in different currency than authorisation'
                : 'Insufficient balance on payment',
          }),
      success: ok ? 'true' : 'false',
    });
    return received(p, ref, body, amount, true);
  }

  function cancel(psp: string, body: Json): Outcome {
    const p = paymentOf(psp);
    const ref = pspReference();
    const ok = p.resultCode === 'Authorised' && !p.cancelled && p.captured === 0;
    if (ok) {
      p.cancelled = true;
      p.released = p.authorised;
    }
    notify({
      additionalData: {},
      amount: { value: p.amount.value, currency: p.amount.currency },
      eventCode: 'CANCELLATION',
      merchantReference: typeof body.reference === 'string' ? body.reference : p.reference,
      originalReference: p.pspReference,
      paymentMethod: p.paymentMethod,
      pspReference: ref,
      ...(ok ? {} : { reason: p.captured > 0 ? 'Payment already captured' : 'Payment cannot be cancelled' }),
      success: ok ? 'true' : 'false',
    });
    return received(p, ref, body, undefined, false);
  }

  function refund(psp: string, body: Json): Outcome {
    const p = paymentOf(psp);
    const amount = amountOf(body, true)!;
    const ref = pspReference();
    const reference = typeof body.reference === 'string' ? body.reference : p.reference;
    const ok =
      amount.currency === p.amount.currency &&
      amount.value > 0 &&
      amount.value <= p.captured - p.refunded - p.chargedBack;
    if (ok) {
      p.refunded += amount.value;
      p.refunds.push({ pspReference: ref, value: amount.value, reference });
    }
    notify({
      additionalData: {},
      amount,
      eventCode: 'REFUND',
      merchantReference: reference,
      originalReference: p.pspReference,
      paymentMethod: p.paymentMethod,
      pspReference: ref,
      ...(ok ? {} : { reason: 'Insufficient balance on payment' }),
      success: ok ? 'true' : 'false',
    });
    return received(p, ref, body, amount, true);
  }

  // ---- HTTP ------------------------------------------------------------------------------------------------------

  const routes: {
    re: RegExp;
    operation: (typeof SERVED_OPERATIONS)[number];
    run: (body: Json, m: RegExpExecArray) => Outcome;
  }[] = [
    { re: /^\/payments$/, operation: '/payments', run: (b) => createPayment(b) },
    { re: /^\/payments\/details$/, operation: '/payments/details', run: (b) => paymentDetails(b) },
    {
      re: /^\/payments\/([^/]+)\/captures$/,
      operation: '/payments/{paymentPspReference}/captures',
      run: (b, m) => capture(decodeURIComponent(m[1]!), b),
    },
    {
      re: /^\/payments\/([^/]+)\/cancels$/,
      operation: '/payments/{paymentPspReference}/cancels',
      run: (b, m) => cancel(decodeURIComponent(m[1]!), b),
    },
    {
      re: /^\/payments\/([^/]+)\/refunds$/,
      operation: '/payments/{paymentPspReference}/refunds',
      run: (b, m) => refund(decodeURIComponent(m[1]!), b),
    },
  ];

  function redirectPage(url: URL, res: ServerResponse): void {
    const token = url.searchParams.get('session') ?? '';
    const session = sessions.get(token);
    const p = session ? payments.get(session.psp) : undefined;
    if (!session || !p) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('unknown session');
      return;
    }
    const outcome = url.searchParams.get('outcome');
    if (outcome !== 'approve' && outcome !== 'reject') {
      const link = (o: string) => `${url.pathname}?session=${encodeURIComponent(token)}&outcome=${o}`;
      res
        .writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
        .end(
          `<!doctype html><title>3-D Secure (simulator)</title><h1>Authenticate ${p.amount.value} ${p.amount.currency}</h1>` +
            `<a id="approve" href="${link('approve')}">Approve</a> <a id="reject" href="${link('reject')}">Reject</a>`,
        );
      return;
    }
    session.outcome = outcome;
    const result = randomBytes(24).toString('base64url');
    redirectResults.set(result, p.pspReference);
    const back = new URL(p.returnUrl);
    back.searchParams.set('redirectResult', result);
    res.writeHead(302, { Location: back.toString() }).end();
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    if (req.method === 'GET' && url.pathname === '/checkoutshopper/threeDS/redirect') return redirectPage(url, res);
    const text = await readBody(req);
    const requestHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v !== undefined) requestHeaders[k] = k === 'x-api-key' ? '[key]' : Array.isArray(v) ? v.join(', ') : v;
    }
    let requestBody: unknown = text;
    try {
      requestBody = text ? JSON.parse(text) : undefined;
    } catch {
      // kept as text
    }
    const path = url.pathname.startsWith(VERSION_PREFIX) ? url.pathname.slice(VERSION_PREFIX.length) : url.pathname;
    const route = routes.find((r) => r.re.test(path));
    const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : undefined;
    const record = (
      status: number,
      body: unknown,
      headers: Record<string, string>,
      flags: { stalled?: boolean; replayed?: boolean } = {},
    ) =>
      exchanges.push({
        method: req.method ?? '',
        path: url.pathname,
        operation: route?.operation ?? path,
        requestHeaders,
        requestBody,
        status,
        responseHeaders: headers,
        responseBody: body,
        stalled: flags.stalled ?? false,
        replayed: flags.replayed ?? false,
      });
    const answer = (status: number, body: string, extra: Record<string, string> = {}, replayed = false) => {
      const headers = { 'Content-Type': 'application/json', ...(key ? { 'Idempotency-Key': key } : {}), ...extra };
      record(status, JSON.parse(body), headers, { replayed });
      res.writeHead(status, headers).end(body);
    };
    try {
      if (!url.pathname.startsWith(VERSION_PREFIX) || !route || req.method !== 'POST') {
        throw new ApiError(404, '000', `No operation ${req.method} ${url.pathname}`, 'validation');
      }
      if (req.headers['x-api-key'] !== apiKey) {
        throw new ApiError(401, '000', 'HTTP Status Response - Unauthorized');
      }
      if (failing.n > 0) {
        failing.n--;
        throw new ApiError(failing.status, '000', 'Internal error (injected)', 'internal');
      }
      if (typeof requestBody !== 'object' || requestBody === null) {
        throw new ApiError(400, '702', 'Unexpected input: the body is not a JSON object');
      }
      const body = requestBody as Json;
      const fingerprint = `${path} ${canonical(body)}`;
      if (key) {
        const seen = idempotency.get(key);
        if (seen) {
          if (seen.fingerprint !== fingerprint) {
            throw new ApiError(422, '704', 'request already processed or in progress');
          }
          return answer(seen.status, seen.body, {}, true);
        }
        if (key.length > 64) throw new ApiError(422, '702', 'Idempotency-Key longer than 64 characters');
      }
      if (route.operation !== '/payments/details' && body.merchantAccount !== merchantAccount) {
        throw new ApiError(403, '901', 'Invalid Merchant Account');
      }
      const m = route.re.exec(path)!;
      const out = route.run(body, m);
      const text = JSON.stringify(out.body);
      if (key) idempotency.set(key, { fingerprint, status: out.status, body: text });
      if (out.moneyMoving && stallNext) {
        stallNext = false;
        stalled.add(res);
        record(out.status, out.body, {}, { stalled: true });
        return;
      }
      answer(out.status, text);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const body = JSON.stringify({
        status: err.status,
        errorCode: err.errorCode,
        message: err.message,
        errorType: err.errorType,
        pspReference: pspReference(),
      });
      answer(err.status, body, err.headers);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const disputeItem = (p: SimPayment, eventCode: string, ref: string, value: number, reasonCode: string) =>
    notify({
      additionalData: {
        chargebackReasonCode: reasonCode,
        chargebackSchemeCode: p.paymentMethod,
        disputeStatus: eventCode === 'CHARGEBACK_REVERSED' ? 'Won' : 'Undefended',
        defendable: 'true',
        modificationMerchantReferences: '',
      },
      amount: { value, currency: p.amount.currency },
      eventCode,
      merchantReference: p.reference,
      originalReference: p.pspReference,
      paymentMethod: p.paymentMethod,
      pspReference: ref,
      reason: 'Fraud - card absent environment',
      success: 'true',
    });
  const disputes = new Map<string, { ref: string; value: number; reasonCode: string }>();

  return {
    url: base,
    apiKey,
    merchantAccount,
    hmacKeyHex,
    payments,
    exchanges,
    notifications: queue.sent,
    deliveryAttempts: queue.attempts,
    setWebhook(url, basicAuth) {
      queue.configure({ url, ...(basicAuth ? { basicAuth } : {}) });
    },
    failNext(n, status = 500) {
      failing = { n, status };
    },
    stallNextMoneyMovement() {
      stallNext = true;
    },
    paymentsFor: (ref) => [...payments.values()].filter((p) => p.reference === ref).length,
    capturesFor: (psp) => payments.get(psp)?.captures.length ?? 0,
    chargeback(psp, opts = {}) {
      const p = payments.get(psp);
      if (!p || p.captured === 0) throw new Error(`no captured payment ${psp} to charge back`);
      const value = opts.amountMinor ?? p.captured - p.refunded - p.chargedBack;
      const ref = pspReference();
      const reasonCode = opts.reasonCode ?? '10.4';
      disputes.set(psp, { ref, value, reasonCode });
      if (opts.notice !== false) disputeItem(p, 'NOTIFICATION_OF_CHARGEBACK', ref, value, reasonCode);
      p.chargedBack += value;
      disputeItem(p, 'CHARGEBACK', ref, value, reasonCode);
    },
    reverseChargeback(psp) {
      const p = payments.get(psp);
      const d = disputes.get(psp);
      if (!p || !d) throw new Error(`no chargeback on ${psp}`);
      p.chargedBack -= d.value;
      disputeItem(p, 'CHARGEBACK_REVERSED', d.ref, d.value, d.reasonCode);
    },
    duplicateNextNotifications: (n) => queue.duplicateNext(n),
    holdNotifications: () => queue.hold(),
    releaseNotifications: (opts) => queue.release(opts),
    webhooksIdle: () => queue.idle(),
    async close() {
      queue.close();
      for (const res of stalled) res.destroy();
      stalled.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

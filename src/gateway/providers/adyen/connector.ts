/**
 * The Adyen payment provider: Checkout API v72 through the official SDK (`@adyen/api-library`, PaymentsApi and
 * ModificationsApi), Standard webhooks verified with the SDK's `hmacValidator` (DESIGN §6).
 *
 * Transport: the SDK takes a custom `ClientInterface` (`new Client(config, httpClient)`), which is how requests reach
 * a simulator (`baseUrl` replaces `https://checkout-test.adyen.com`) and how every call gets our timeout and log line.
 * The client sets `X-API-Key` and `Idempotency-Key` itself and throws the SDK's `HttpClientException` on a non-2xx
 * answer, as the SDK's own client does.
 *
 * Adyen's Checkout API has no status read: captures, cancels and refunds answer `received` and their outcome comes
 * by webhook (CAPTURE, CANCELLATION, REFUND …). `retrieve` answers from what this process learned synchronously.
 */
import { timingSafeEqual } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  CheckoutAPI,
  Client,
  EnvironmentEnum,
  HttpClientException,
  hmacValidator,
  type Types,
} from '@adyen/api-library';
import { IntegrationError } from '../../../domain/errors';
import type { Money } from '../../../domain/money';
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
import {
  type AdyenProviderConfig,
  type AdyenProviderConfigInput,
  parseAdyenProviderConfig,
  type Secret,
} from './config';
import { toAdyenError } from './errors';
import {
  type AdyenModificationResult,
  type AdyenNotificationItem,
  type AdyenPaymentResult,
  checkModificationResult,
  eventOf,
  fromPaymentResult,
  idempotencyKeyFor,
  parseNotificationRequest,
  TEST_CHECKOUT_ORIGIN,
  toCancelRequest,
  toCaptureRequest,
  toDetailsRequest,
  toPaymentRequest,
  toRefundRequest,
} from './transformers';

/** One structured line per call to Adyen (STYLE "Logs and secrets"); never a key, card field or body. */
export interface AdyenLogLine {
  tenant?: string;
  provider: 'adyen';
  flow: string;
  idempotencyKey?: string;
  status: number | string;
  ms: number;
  /** Adyen's resultCode, modification status or errorCode. */
  code?: string;
}

export interface AdyenProviderOptions {
  tenant?: string;
  log?: (line: AdyenLogLine) => void;
}

type SdkClientInterface = NonNullable<ConstructorParameters<typeof Client>[1]>;
type SdkRequestOptions = Parameters<SdkClientInterface['request']>[4];

/** The flow of a Checkout path, for log lines. */
function flowOf(path: string): string {
  if (/\/payments\/details$/.test(path)) return 'complete';
  if (/\/payments$/.test(path)) return 'create';
  const m = /\/payments\/[^/]+\/(captures|cancels|refunds|reversals|amountUpdates)$/.exec(path);
  if (m)
    return ({ captures: 'capture', cancels: 'cancel', refunds: 'refund' } as Record<string, string>)[m[1]!] ?? m[1]!;
  return path.split('/').pop() ?? 'call';
}

function codeOf(body: string): string | undefined {
  try {
    const b = JSON.parse(body) as { resultCode?: unknown; status?: unknown; errorCode?: unknown };
    for (const v of [b.errorCode, b.resultCode, b.status]) if (typeof v === 'string') return v;
  } catch {
    // not JSON: no code
  }
  return undefined;
}

/** A transport error with a socket-style code and nothing from the request (no headers, no body). */
function transportError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * The SDK's HTTP client, ours: JSON over http(s) with `X-API-Key`, `Idempotency-Key`, one timeout for the whole call,
 * and `HttpClientException` for non-2xx answers.
 */
export class AdyenHttpClient implements SdkClientInterface {
  constructor(
    private readonly opts: {
      apiKey: Secret;
      timeoutMs: number;
      /** Replaces `https://checkout-test.adyen.com` (a simulator). */
      baseUrl?: string;
      tenant?: string;
      log?: (line: AdyenLogLine) => void;
    },
  ) {}

  private target(endpoint: string): URL {
    const base = this.opts.baseUrl?.replace(/\/+$/, '');
    if (base && endpoint.startsWith(TEST_CHECKOUT_ORIGIN))
      return new URL(base + endpoint.slice(TEST_CHECKOUT_ORIGIN.length));
    return new URL(endpoint);
  }

  request(
    endpoint: string,
    json: string | Buffer,
    _config: unknown,
    _isApiKeyRequired: boolean,
    requestOptions: SdkRequestOptions = {},
  ): Promise<string> {
    const url = this.target(endpoint);
    if (requestOptions.params) {
      for (const [k, v] of new URLSearchParams(requestOptions.params)) url.searchParams.append(k, v);
    }
    const method = requestOptions.method ?? 'POST';
    const idempotencyKey = requestOptions.idempotencyKey;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'X-API-Key': this.opts.apiKey.reveal(),
      'User-Agent': 'clearhub adyen-node-api-library/32.1.0',
    };
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    const body = typeof json === 'string' ? Buffer.from(json, 'utf8') : json;
    if (method !== 'GET') headers['Content-Length'] = String(body.length);
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    const t0 = Date.now();
    const flow = flowOf(url.pathname);
    const log = (status: number | string, code?: string) =>
      this.opts.log?.({
        ...(this.opts.tenant ? { tenant: this.opts.tenant } : {}),
        provider: 'adyen',
        flow,
        ...(idempotencyKey ? { idempotencyKey } : {}),
        status,
        ms: Date.now() - t0,
        ...(code ? { code } : {}),
      });

    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | undefined, text?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(text ?? '');
      };
      const req = send(url, { method, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e: Error & { code?: string }) => {
          log(e.code ?? 'ECONNRESET');
          finish(transportError(e.code ?? 'ECONNRESET', 'the answer broke off'));
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          log(status, codeOf(text));
          if (status >= 200 && status < 300) return finish(undefined, text);
          let apiError: Types.checkout.ServiceError | undefined;
          try {
            const parsed = JSON.parse(text) as Types.checkout.ServiceError;
            if (parsed && typeof parsed === 'object' && 'status' in parsed) apiError = parsed;
          } catch {
            // a body that is not Adyen's error JSON (a proxy's page): status only
          }
          finish(
            new HttpClientException({
              message: `HTTP ${status}${apiError?.message ? `: ${apiError.message}` : ''}`,
              statusCode: status,
              ...(apiError?.errorCode ? { errorCode: apiError.errorCode } : {}),
              responseHeaders: res.headers,
              responseBody: text,
              ...(apiError ? { apiError } : {}),
            }),
          );
        });
      });
      const timer = setTimeout(() => {
        log('timeout', 'ETIMEDOUT');
        finish(transportError('ETIMEDOUT', `no answer within ${this.opts.timeoutMs} ms`));
        req.destroy();
      }, this.opts.timeoutMs);
      req.on('error', (e: Error & { code?: string }) => {
        if (settled) return;
        log(e.code ?? 'error');
        finish(transportError(e.code ?? 'ECONNRESET', e.code ?? 'transport error'));
      });
      req.end(method === 'GET' ? undefined : body);
    });
  }
}

/** What this process learned about one payment from Adyen's synchronous answers. */
interface Known {
  paymentId: string;
  payment: ProviderPayment;
  /** Modification pspReference → amount, so a replayed answer (same Idempotency-Key) counts once. */
  captures: Map<string, number>;
  refunds: Map<string, number>;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

export class AdyenProvider implements PaymentProvider {
  readonly name = 'adyen' as const;
  readonly capabilities: ProviderCapabilities;
  private readonly payments;
  private readonly modifications;
  private readonly known = new Map<string, Known>();
  private readonly hmac = new hmacValidator();

  /** Use {@link createAdyenProvider} for options from config; this takes them validated. */
  constructor(
    readonly config: AdyenProviderConfig,
    opts: AdyenProviderOptions = {},
  ) {
    const http = new AdyenHttpClient({
      apiKey: config.apiKey,
      timeoutMs: config.timeoutMs,
      ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
      ...(opts.tenant ? { tenant: opts.tenant } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    // The API key stays out of the SDK's config: only our client puts it on the wire.
    const client = new Client(
      {
        environment: config.environment === 'LIVE' ? EnvironmentEnum.LIVE : EnvironmentEnum.TEST,
        ...(config.liveEndpointUrlPrefix ? { liveEndpointUrlPrefix: config.liveEndpointUrlPrefix } : {}),
        connectionTimeoutMillis: config.timeoutMs,
        applicationName: 'clearhub',
      },
      http,
    );
    const checkout = new CheckoutAPI(client);
    this.payments = checkout.PaymentsApi;
    this.modifications = checkout.ModificationsApi;
    this.capabilities = {
      partialCapture: true,
      partialRefund: true,
      multipleCaptures: config.multiplePartialCaptures,
      manualCapture: true,
      recurring: true,
      webhooks: true,
      statusSync: false,
    };
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toAdyenError(err, what, {
        merchantAccount: this.config.merchantAccount,
        environment: this.config.environment,
        mutating: true,
      });
    }
  }

  private remember(k: Known): ProviderPayment {
    if (this.config.rememberPayments === 0) return k.payment;
    this.known.delete(k.payment.providerReference);
    this.known.set(k.payment.providerReference, k);
    while (this.known.size > this.config.rememberPayments) {
      const oldest = this.known.keys().next().value;
      if (oldest === undefined) break;
      this.known.delete(oldest);
    }
    return k.payment;
  }

  private withTotals(k: Known, over: Partial<ProviderPayment>): ProviderPayment {
    return {
      ...k.payment,
      ...over,
      capturedMinor: over.capturedMinor ?? k.payment.capturedMinor,
      refundedMinor: sum(k.refunds),
    };
  }

  async create(input: CreatePaymentInput): Promise<ProviderPayment> {
    const req = toPaymentRequest(input, {
      merchantAccount: this.config.merchantAccount,
      recurringProcessingModel: this.config.recurringProcessingModel,
    });
    const res = await this.call('POST /payments', () =>
      this.payments.payments(req as Types.checkout.PaymentRequest, {
        idempotencyKey: idempotencyKeyFor(input.idempotencyKey),
      }),
    );
    const payment = fromPaymentResult(res as AdyenPaymentResult, {
      paymentId: input.paymentId,
      capture: input.capture,
      sent: { amountMinor: input.amountMinor, currency: input.currency },
    });
    const captures = new Map<string, number>();
    if (payment.capturedMinor > 0) captures.set(payment.providerReference, payment.capturedMinor);
    return this.remember({ paymentId: input.paymentId, payment, captures, refunds: new Map() });
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
    const req = toDetailsRequest(input.returnParams);
    const res = await this.call('POST /payments/details', () =>
      this.payments.paymentsDetails(req as Types.checkout.PaymentDetailsRequest, {
        idempotencyKey: idempotencyKeyFor(input.idempotencyKey),
      }),
    );
    const before = this.known.get(providerReference);
    const payment = fromPaymentResult(res as AdyenPaymentResult, {
      paymentId: input.paymentId,
      capture: input.capture,
      providerReference,
      ...(before ? { sent: { amountMinor: before.payment.amountMinor, currency: before.payment.currency } } : {}),
    });
    const captures = new Map<string, number>();
    if (payment.capturedMinor > 0) captures.set(payment.providerReference, payment.capturedMinor);
    return this.remember({ paymentId: input.paymentId, payment, captures, refunds: new Map() });
  }

  async capture(providerReference: string, input: CaptureInput): Promise<ProviderPayment> {
    const k = this.known.get(providerReference);
    const amountMinor = input.amountMinor ?? (k ? k.payment.amountMinor - sum(k.captures) : undefined);
    if (amountMinor === undefined) {
      throw new IntegrationError(
        'is required: Adyen captures need the amount, and this process has not seen the authorisation',
        'amountMinor',
      );
    }
    if (k && k.payment.currency !== input.currency) {
      throw new IntegrationError(`is ${input.currency}, the authorisation is in ${k.payment.currency}`, 'currency');
    }
    const amount: Money = { amountMinor, currency: input.currency };
    const req = toCaptureRequest(this.config.merchantAccount, amount, input.paymentId);
    const res = await this.call('POST /payments/{pspReference}/captures', () =>
      this.modifications.captureAuthorisedPayment(providerReference, req as Types.checkout.PaymentCaptureRequest, {
        idempotencyKey: idempotencyKeyFor(input.idempotencyKey),
      }),
    );
    const capturePsp = checkModificationResult(
      res as AdyenModificationResult,
      { providerReference, amount },
      'Adyen capture',
    );
    // `received`: Adyen took the capture; a CAPTURE webhook confirms it, CAPTURE_FAILED (rare) reverses it.
    const known: Known = k ?? {
      paymentId: input.paymentId,
      payment: {
        providerReference,
        status: 'authorized',
        providerStatus: 'Authorised',
        amountMinor,
        currency: input.currency,
        capturedMinor: 0,
        refundedMinor: 0,
        nextAction: { type: 'none' },
      },
      captures: new Map(),
      refunds: new Map(),
    };
    known.captures.set(capturePsp, amountMinor);
    known.payment = this.withTotals(known, {
      status: 'succeeded',
      providerStatus: (res as AdyenModificationResult).status ?? 'received',
      capturedMinor: sum(known.captures),
    });
    return this.remember(known);
  }

  async cancel(
    providerReference: string,
    input: { idempotencyKey: string; paymentId: string },
  ): Promise<ProviderPayment> {
    const req = toCancelRequest(this.config.merchantAccount, input.paymentId);
    const res = await this.call('POST /payments/{pspReference}/cancels', () =>
      this.modifications.cancelAuthorisedPaymentByPspReference(
        providerReference,
        req as Types.checkout.PaymentCancelRequest,
        {
          idempotencyKey: idempotencyKeyFor(input.idempotencyKey),
        },
      ),
    );
    checkModificationResult(res as AdyenModificationResult, { providerReference }, 'Adyen cancel');
    const k = this.known.get(providerReference);
    // Without an earlier answer in this process the amount is unknown: 0 in XXX (ISO 4217 "no currency").
    const known: Known = k ?? {
      paymentId: input.paymentId,
      payment: {
        providerReference,
        status: 'authorized',
        providerStatus: 'Authorised',
        amountMinor: 0,
        currency: 'XXX',
        capturedMinor: 0,
        refundedMinor: 0,
        nextAction: { type: 'none' },
      },
      captures: new Map(),
      refunds: new Map(),
    };
    known.payment = this.withTotals(known, {
      status: 'canceled',
      providerStatus: (res as AdyenModificationResult).status ?? 'received',
      nextAction: { type: 'none' },
    });
    return this.remember(known);
  }

  async refund(providerReference: string, input: RefundInput): Promise<ProviderRefund> {
    const amount: Money = { amountMinor: input.amountMinor, currency: input.currency };
    const req = toRefundRequest(this.config.merchantAccount, amount, input.paymentId, input.refundId);
    const res = await this.call('POST /payments/{pspReference}/refunds', () =>
      this.modifications.refundCapturedPayment(providerReference, req as Types.checkout.PaymentRefundRequest, {
        idempotencyKey: idempotencyKeyFor(input.idempotencyKey),
      }),
    );
    const refundPsp = checkModificationResult(
      res as AdyenModificationResult,
      { providerReference, amount },
      'Adyen refund',
    );
    const k = this.known.get(providerReference);
    if (k) {
      k.refunds.set(refundPsp, input.amountMinor);
      const refunded = sum(k.refunds);
      k.payment = this.withTotals(k, {
        status: refunded >= k.payment.capturedMinor && k.payment.capturedMinor > 0 ? 'refunded' : 'partially_refunded',
        providerStatus: 'received',
      });
      this.remember(k);
    }
    // Pending until the REFUND webhook (success true) or REFUND_FAILED says otherwise.
    return {
      providerRefundReference: refundPsp,
      status: 'pending',
      amountMinor: input.amountMinor,
      currency: input.currency,
    };
  }

  /**
   * Adyen's Checkout API cannot be asked about a payment. This answers with what this process learned from Adyen's
   * synchronous answers (bounded by `rememberPayments`), and otherwise says so: the outcome arrives by webhook.
   */
  async retrieve(providerReference: string): Promise<ProviderPayment> {
    const k = this.known.get(providerReference);
    if (!k) {
      throw new IntegrationError(
        `Adyen's Checkout API has no status read and this process has no answer about ${providerReference}; its outcome arrives by webhook (AUTHORISATION, CAPTURE, REFUND …)`,
        'providerReference',
        { statusSync: false },
      );
    }
    return { ...k.payment, nextAction: { ...k.payment.nextAction } };
  }

  private checkBasicAuth(headers: Record<string, string>): void {
    const expected = this.config.webhookBasicAuth;
    if (!expected) return;
    const given = headers.authorization ?? '';
    const want = Buffer.from(
      `Basic ${Buffer.from(`${expected.username}:${expected.password.reveal()}`, 'utf8').toString('base64')}`,
    );
    const got = Buffer.from(given);
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      throw new WebhookRejected('the webhook Basic-auth credentials are missing or wrong', 'signature');
    }
  }

  private verify(item: AdyenNotificationItem, i: number): void {
    if (!item.additionalData?.hmacSignature) {
      throw new WebhookRejected(`notificationItems[${i}] has no additionalData.hmacSignature`, 'signature');
    }
    const keys = [this.config.hmacKeyHex, this.config.previousHmacKeyHex].filter((k): k is Secret => k !== undefined);
    const ok = keys.some((key) => {
      try {
        return this.hmac.validateHMAC(item as Types.notification.NotificationRequestItem, key.reveal());
      } catch {
        return false;
      }
    });
    if (!ok) throw new WebhookRejected(`notificationItems[${i}] has a wrong hmacSignature`, 'signature');
  }

  /**
   * Verifies a Standard webhook: Basic auth when configured, then every item's HMAC (any bad item rejects the whole
   * delivery, which changes nothing). Items of other merchant accounts (a company-level webhook) and codes that mean
   * nothing for a payment give no event.
   */
  async parseWebhook(raw: RawWebhook): Promise<WebhookEvent[]> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.headers)) headers[k.toLowerCase()] = v;
    this.checkBasicAuth(headers);
    const req = parseNotificationRequest(raw.body);
    if (req.live && req.live !== String(this.config.environment === 'LIVE')) {
      throw new WebhookRejected(
        `a ${req.live === 'true' ? 'LIVE' : 'TEST'} notification sent to a ${this.config.environment} configuration`,
        'malformed',
      );
    }
    req.items.forEach((item, i) => {
      this.verify(item, i);
    });
    const events: WebhookEvent[] = [];
    for (const item of req.items) {
      if (item.merchantAccountCode !== this.config.merchantAccount) continue;
      const e = eventOf(item);
      if (e) events.push(e);
    }
    return events;
  }

  webhookAck(): { status: number; contentType: string; body: string } {
    return { status: 200, contentType: 'text/plain', body: '[accepted]' };
  }

  async close(): Promise<void> {
    this.known.clear();
  }
}

/**
 * An Adyen provider from options (validated with zod; see `config.ts`).
 * @example createAdyenProvider({ apiKey: process.env.ADYEN_API_KEY, merchantAccount: 'ClearhubECOM', hmacKeyHex })
 */
export function createAdyenProvider(config: AdyenProviderConfigInput, opts: AdyenProviderOptions = {}): AdyenProvider {
  return new AdyenProvider(parseAdyenProviderConfig(config), opts);
}

import { createHash } from 'node:crypto';
import { IntegrationError } from '../domain/errors';
import { isKnownCurrency, parseAmountInput } from '../domain/money';
import {
  type CheckoutRecord,
  type CreateSessionInput,
  cancelPayment,
  capturePayment,
  completePayment,
  createAndPaySession,
  createSession,
  getPayment,
  getSession,
  type PaymentView as PaymentViewModel,
  paySession,
  type RefundView as RefundViewModel,
  refundPayment,
  type SessionView as SessionViewModel,
} from '../gateway/checkout';
import { receiveWebhook } from '../gateway/webhooks';
import { idempotent, idempotentInline } from './idempotency';
import { problems } from './problems';
import { amountJson, defineRoute, type Reply, type Route, type RouteDeps } from './routes';
import { IdempotencyKey } from './schemas';
import {
  CaptureRequest,
  CheckoutSessionRequest,
  CompleteRequest,
  PaymentParams,
  PaymentView,
  PayRequest,
  RefundRequest,
  RefundView,
  SessionParams,
  SessionView,
  WebhookAck,
  WebhookParams,
} from './schemas-gateway';

const idemHeader = [{ name: 'Idempotency-Key', required: true, schema: IdempotencyKey }];

/**
 * A request's Idempotency-Key (up to 255 characters) as part of an id or of the key we send a provider (Stripe takes
 * 255 at most, `payment:<id>:capture:` included): whole where it is short, else its SHA-256, never a prefix (two keys
 * that differ only at the end would be one refund or capture, and the second never made).
 */
function keyPart(key: string): string {
  return key.length <= 116 ? key : createHash('sha256').update(key).digest('hex');
}
const replayHeaderNote =
  'A repeat with the same Idempotency-Key and body returns the first answer (Idempotent-Replayed)';

/** The gateway: checkout sessions, payments (capture, cancel, refunds), provider webhooks. */
export function gatewayRoutes(deps: RouteDeps): Route[] {
  const gw = () => {
    const g = deps.services.gateway;
    if (!g) throw problems.notImplemented('the payment gateway is not configured on this server');
    return g;
  };
  const minorOf = (a: { value: string; currency: string } | undefined, currency: string, field: string) => {
    if (!a) return undefined;
    if (!isKnownCurrency(a.currency)) {
      throw new IntegrationError(
        `unknown currency "${a.currency}"; expected an ISO 4217 code such as EUR`,
        `${field}.currency`,
      );
    }
    if (a.currency !== currency) throw new IntegrationError(`must be in ${currency}`, `${field}.currency`);
    return parseAmountInput(a.value, a.currency, `${field}.value`);
  };

  return [
    defineRoute({
      method: 'post',
      path: '/v1/checkout/sessions',
      operationId: 'createCheckoutSession',
      summary: "Create a checkout session for a debtor's open items or a free amount; optionally start paying",
      tag: 'checkout',
      auth: true,
      body: CheckoutSessionRequest,
      headers: idemHeader,
      responses: {
        201: {
          description: `The session, with the payment and its next action when \`pay\` was given. ${replayHeaderNote}`,
          schema: SessionView,
        },
        404: { description: 'No such debtor' },
        409: { description: 'The Idempotency-Key was used with another body' },
        422: { description: 'The session cannot be created (no open items, mixed currencies, method not offered, …)' },
      },
      handle: async ({ tenantId, body, headers }) =>
        idempotentInline(
          deps.store,
          { tenantId, route: 'checkout.sessions.create', key: headers['Idempotency-Key']!, body },
          async (record) => {
            const g = gw();
            const currency = body.amount?.currency ?? g.ctx.tenant(tenantId).currency;
            const input: CreateSessionInput = {
              ...(body.debtorId ? { debtorId: body.debtorId } : {}),
              ...(body.itemIds ? { itemIds: body.itemIds } : {}),
              ...(body.amount ? { amountMinor: minorOf(body.amount, currency, 'amount')!, currency } : {}),
              ...(body.country ? { country: body.country } : {}),
              ...(body.locale ? { locale: body.locale } : {}),
              ...(body.returnUrl ? { returnUrl: body.returnUrl } : {}),
              ...(body.cancelUrl ? { cancelUrl: body.cancelUrl } : {}),
              ...(body.description ? { description: body.description } : {}),
            };
            // The key's record goes into the checkout's own statements: claimed with the session, answered with the
            // payment's outcome (or with the session, when there is nothing to pay yet).
            const replies = new Map<SessionViewModel, Reply>();
            const replyOf = (v: SessionViewModel): Reply => {
              const known = replies.get(v);
              if (known) return known;
              const reply = { status: 201, json: sessionJson(v) };
              replies.set(v, reply);
              return reply;
            };
            const checkoutRecord: CheckoutRecord = {
              claim: (stmt, final) => record.claimIn(stmt, final && replyOf(final)),
              claimed: (won) => record.claimed(won),
              answer: (stmt, view) => record.answerIn(stmt, replyOf(view)),
            };
            const view = body.pay
              ? await createAndPaySession(g.ctx, tenantId, input, body.pay, checkoutRecord)
              : await createSession(g.ctx, tenantId, input, checkoutRecord);
            return replyOf(view);
          },
        ),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/checkout/sessions/:id',
      operationId: 'getCheckoutSession',
      summary: 'A checkout session with its items, offered methods and payment',
      tag: 'checkout',
      auth: true,
      params: SessionParams,
      responses: { 200: { description: 'The session', schema: SessionView }, 404: { description: 'No such session' } },
      handle: async ({ tenantId, params }) => ({
        status: 200,
        json: sessionJson(await getSession(gw().ctx, tenantId, params.id)),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/checkout/sessions/:id/pay',
      operationId: 'payCheckoutSession',
      summary: 'Pay a session with one of its offered methods; the answer carries the next action',
      tag: 'checkout',
      auth: true,
      params: SessionParams,
      body: PayRequest,
      headers: idemHeader,
      responses: {
        201: { description: `The payment. ${replayHeaderNote}`, schema: PaymentView },
        409: { description: 'The session is no longer open, or the key was used with another body' },
        422: { description: 'The method is not offered in this session' },
        502: { description: 'No provider could take the payment; nothing was charged' },
        504: { description: 'The provider did not answer; the payment is pending until its status is known' },
      },
      handle: async ({ tenantId, params, body, headers }) =>
        idempotent(
          deps.store,
          { tenantId, route: `checkout.sessions.pay:${params.id}`, key: headers['Idempotency-Key']!, body },
          async () => ({ status: 201, json: paymentJson(await paySession(gw().ctx, tenantId, params.id, body)) }),
        ),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/payments/:id',
      operationId: 'getPayment',
      summary: 'A payment with its state, amounts and next action',
      tag: 'checkout',
      auth: true,
      params: PaymentParams,
      responses: { 200: { description: 'The payment', schema: PaymentView }, 404: { description: 'No such payment' } },
      handle: async ({ tenantId, params }) => ({
        status: 200,
        json: paymentJson(await getPayment(gw().ctx, tenantId, params.id)),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payments/:id/complete',
      operationId: 'completePayment',
      summary: 'The payer is back from a redirect: finish the payment with the parameters the provider appended',
      tag: 'checkout',
      auth: true,
      params: PaymentParams,
      body: CompleteRequest,
      responses: { 200: { description: 'The payment', schema: PaymentView } },
      handle: async ({ tenantId, params, body }) => ({
        status: 200,
        json: paymentJson(await completePayment(gw().ctx, tenantId, params.id, body.returnParams)),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payments/:id/capture',
      operationId: 'capturePayment',
      summary: 'Capture an authorised payment, wholly or in part',
      tag: 'checkout',
      auth: true,
      params: PaymentParams,
      body: CaptureRequest,
      headers: idemHeader,
      responses: {
        200: { description: `The payment after the capture. ${replayHeaderNote}`, schema: PaymentView },
        409: { description: 'The payment is not authorised' },
      },
      handle: async ({ tenantId, params, body, headers }) =>
        idempotent(
          deps.store,
          { tenantId, route: `payments.capture:${params.id}`, key: headers['Idempotency-Key']!, body },
          async () => {
            const g = gw();
            const p = await getPayment(g.ctx, tenantId, params.id);
            const amountMinor = minorOf(body.amount, p.currency, 'amount');
            const view = await capturePayment(g.ctx, tenantId, params.id, {
              ...(amountMinor !== undefined ? { amountMinor } : {}),
              sequence: keyPart(headers['Idempotency-Key']!),
            });
            return { status: 200, json: paymentJson(view) };
          },
        ),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payments/:id/cancel',
      operationId: 'cancelPayment',
      summary: 'Cancel a payment that has not been captured',
      tag: 'checkout',
      auth: true,
      params: PaymentParams,
      headers: idemHeader,
      responses: {
        200: { description: `The canceled payment. ${replayHeaderNote}`, schema: PaymentView },
        409: { description: 'The payment is already paid; refund it instead' },
      },
      handle: async ({ tenantId, params, headers }) =>
        idempotent(
          deps.store,
          { tenantId, route: `payments.cancel:${params.id}`, key: headers['Idempotency-Key']!, body: null },
          async () => ({ status: 200, json: paymentJson(await cancelPayment(gw().ctx, tenantId, params.id)) }),
        ),
    }),
    defineRoute({
      method: 'post',
      path: '/v1/payments/:id/refunds',
      operationId: 'refundPayment',
      summary: 'Refund a paid payment, wholly or in part; the refunded amount reopens the items it paid',
      tag: 'checkout',
      auth: true,
      params: PaymentParams,
      body: RefundRequest,
      headers: idemHeader,
      responses: {
        201: { description: `The refund. ${replayHeaderNote}`, schema: RefundView },
        409: { description: 'The payment is not paid' },
        422: { description: 'More than is refundable' },
      },
      handle: async ({ tenantId, params, body, headers }) =>
        idempotent(
          deps.store,
          { tenantId, route: `payments.refund:${params.id}`, key: headers['Idempotency-Key']!, body },
          async () => {
            const g = gw();
            const p = await getPayment(g.ctx, tenantId, params.id);
            const amountMinor = minorOf(body.amount, p.currency, 'amount');
            const r = await refundPayment(g.ctx, tenantId, params.id, {
              refundId: `api-${keyPart(headers['Idempotency-Key']!)}`,
              ...(amountMinor !== undefined ? { amountMinor } : {}),
              ...(body.reason ? { reason: body.reason } : {}),
            });
            return { status: 201, json: refundJson(r) };
          },
        ),
    }),
    // createApp serves the plain spellings of these paths on a lean node:http path (webhook-intake.ts) that calls the
    // same receiveWebhook; these definitions document them and serve every request that path leaves to express.
    ...(['/v1/webhooks/:provider/:tenant', '/v1/webhooks/:provider'] as const).map((path) =>
      defineRoute({
        method: 'post',
        path,
        operationId: path.endsWith(':tenant') ? 'receiveTenantWebhook' : 'receiveWebhook',
        summary: path.endsWith(':tenant')
          ? "A provider's webhook for one tenant's account: verified, stored raw, de-duplicated, processed from the queue"
          : "A provider's webhook where one tenant uses the provider",
        tag: 'webhooks',
        auth: false,
        params: WebhookParams,
        raw: { limit: '1mb', contentTypes: ['application/json'] },
        responses: {
          200: { description: 'Accepted (Adyen gets its `[accepted]`)', schema: WebhookAck },
          400: {
            description: 'Forged, too old, from a certificate host off the allow-list, or malformed; nothing changed',
          },
        },
        handle: async ({ params, body, requestHeaders }) => {
          const g = gw();
          const tenantId = params.tenant ?? g.webhookTenant(params.provider);
          const raw = { headers: requestHeaders, body: Buffer.isBuffer(body) ? body : Buffer.alloc(0) };
          const r = await receiveWebhook(g.ctx, g.queue, { tenantId, provider: params.provider, raw });
          if (r.ack.contentType === 'application/json' && r.ack.body.startsWith('{')) {
            return { status: r.ack.status, json: { received: true, events: r.events, fresh: r.fresh } };
          }
          return { status: r.ack.status, text: r.ack.body, contentType: r.ack.contentType };
        },
      }),
    ),
  ];
}

export function paymentJson(p: PaymentViewModel) {
  return {
    id: p.paymentId,
    sessionId: p.sessionId,
    state: p.state,
    method: p.method,
    provider: p.provider,
    providerReference: p.providerReference,
    amount: amountJson(p.amountMinor, p.currency),
    captured: amountJson(p.capturedMinor, p.currency),
    refunded: amountJson(p.refundedMinor, p.currency),
    allocated: amountJson(p.allocatedMinor, p.currency),
    nextAction: p.nextAction,
    decline: (p.decline as { code: string; providerCode: string; message: string } | null) ?? null,
    attempts: p.attempts,
  };
}

export function sessionJson(s: SessionViewModel) {
  return {
    id: s.sessionId,
    status: s.status,
    debtorId: s.debtorId,
    amount: amountJson(s.amountMinor, s.currency),
    country: s.country,
    locale: s.locale,
    items: s.items.map((i) => ({
      itemId: i.itemId,
      source: i.source,
      documentNumber: i.documentNumber,
      dueDate: i.dueDate,
      open: amountJson(i.openMinor, i.currency),
    })),
    methods: s.methods,
    withdrawn: s.withdrawn,
    returnUrl: s.returnUrl,
    cancelUrl: s.cancelUrl,
    expiresAt: s.expiresAt,
    payment: s.payment ? paymentJson(s.payment) : null,
  };
}

function refundJson(r: RefundViewModel) {
  return { id: r.refundId, paymentId: r.paymentId, amount: amountJson(r.amountMinor, r.currency), status: r.status };
}

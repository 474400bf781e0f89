import { createHmac } from 'node:crypto';
import { get } from 'node:http';
import { inspect } from 'node:util';
import Stripe from 'stripe';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { newId } from '../../src/domain/ids';
import {
  createStripeProvider,
  type StripeLogLine,
  type StripeProvider,
} from '../../src/gateway/providers/stripe/provider';
import { checkoutLocaleOf, STRIPE_WEBHOOK_EVENTS, withQuery } from '../../src/gateway/providers/stripe/transformers';
import {
  type CreatePaymentInput,
  type ProviderPayment,
  type RawWebhook,
  type WebhookEvent,
  WebhookRejected,
} from '../../src/gateway/providers/types';
import { paymentProviderConformance } from '../conformance/payment-provider.conformance';
import type { ProviderHarness } from '../conformance/payment-provider.harness';
import { startWebhookSink } from '../simulators/shared/webhook-sink';
import { SDK_API_VERSION, type StripeSimulator, startStripeSimulator } from '../simulators/stripe/server';

const KEY = 'sk_test_51ClearhubSimulatorKey0000000000';
const TOLERANCE = 300;

/** Re-signs a body the way Stripe does, at a given time, with a given secret. */
function sign(body: Buffer, secret: string, t: number): string {
  const v1 = createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
  return `t=${t},v1=${v1}`;
}

/** Plays the payer's browser: follows the redirect with the outcome and reads where the simulator sends it back. */
function playChallenge(url: string, outcome: 'approve' | 'reject'): Promise<Record<string, string>> {
  const u = new URL(url);
  u.searchParams.set('outcome', outcome);
  return new Promise((resolve, reject) => {
    get(u, (res) => {
      res.resume();
      const location = res.headers.location;
      if (res.statusCode !== 302 || !location) {
        reject(new Error(`challenge page answered ${res.statusCode} without a redirect`));
        return;
      }
      resolve(Object.fromEntries(new URL(location).searchParams));
    }).on('error', reject);
  });
}

interface StripeHarness extends ProviderHarness {
  sim: StripeSimulator;
  provider: StripeProvider;
  logs: StripeLogLine[];
}

async function stripeHarness(
  o: { timeoutMs?: number; secretKey?: string; enabledEvents?: readonly string[] | '*' } = {},
): Promise<StripeHarness> {
  const sink = await startWebhookSink();
  const sim = await startStripeSimulator({
    apiKeys: [KEY],
    webhookUrl: sink.url,
    enabledEvents: o.enabledEvents ?? STRIPE_WEBHOOK_EVENTS,
  });
  const logs: StripeLogLine[] = [];
  const provider = createStripeProvider(
    {
      secretKey: o.secretKey ?? KEY,
      webhookSecret: sim.webhookSecret,
      publishableKey: 'pk_test_51ClearhubSimulator',
      host: sim.host,
      port: sim.port,
      protocol: 'http',
      timeoutMs: o.timeoutMs ?? 1500,
      webhookToleranceSec: TOLERANCE,
    },
    { tenant: 't1', log: (l) => logs.push(l) },
  );
  return {
    sim,
    logs,
    provider,
    sink,
    method: { id: 'card', providerType: 'card' },
    currency: 'EUR',
    scenarios: {
      success: { token: 'pm_card_visa' },
      decline: { token: 'pm_card_chargeDeclinedInsufficientFunds' },
      challenge: { token: 'pm_card_threeDSecure2Required' },
    },
    declineCode: 'insufficient_funds',
    async completeAction(payment: ProviderPayment, outcome) {
      if (payment.nextAction.type !== 'redirect') {
        throw new Error(`expected a redirect, got ${payment.nextAction.type}`);
      }
      return playChallenge(payment.nextAction.url, outcome);
    },
    async timeoutNextMoneyMovement() {
      sim.stallNextMoneyMovement();
    },
    paymentsFor: async (paymentId) => sim.paymentsFor(paymentId),
    capturesFor: async (ref) => sim.capturesFor(ref),
    async chargeback(ref) {
      sim.createDispute(ref);
    },
    forgeries(genuine: RawWebhook) {
      const now = Math.floor(Date.now() / 1000);
      const withSignature = (signature: string): RawWebhook => ({
        headers: { ...genuine.headers, 'stripe-signature': signature },
        body: Buffer.from(genuine.body),
      });
      const { 'stripe-signature': _dropped, ...unsigned } = genuine.headers;
      return [
        {
          name: 'signed correctly, but long ago (replayed)',
          webhook: withSignature(sign(genuine.body, sim.webhookSecret, now - TOLERANCE - 60)),
          reason: 'timestamp',
        },
        {
          name: 'signed with another secret',
          webhook: withSignature(sign(genuine.body, 'whsec_someoneElsesSecret', now)),
          reason: 'signature',
        },
        {
          name: 'no signature header',
          webhook: { headers: unsigned, body: Buffer.from(genuine.body) },
          reason: 'signature',
        },
        {
          name: 'only a v0 signature',
          webhook: withSignature(sign(genuine.body, sim.webhookSecret, now).replace('v1=', 'v0=')),
          reason: 'signature',
        },
      ];
    },
    async close() {
      await sim.close();
      await sink.close();
    },
  };
}

paymentProviderConformance('stripe', () => stripeHarness());

// ---- beyond the shared suite --------------------------------------------------------------------------------------

const input = (paymentId: string, over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => ({
  paymentId,
  idempotencyKey: `payment:${paymentId}:create`,
  amountMinor: 12_345,
  currency: 'EUR',
  method: 'card',
  providerType: 'card',
  capture: 'automatic',
  returnUrl: `https://shop.example/return/${paymentId}`,
  description: `Invoice ${paymentId}`,
  payer: { debtorId: 'D-1', name: 'Erika Mustermann', email: 'erika@example.de' },
  methodData: { token: 'pm_card_visa' },
  ...over,
});

/** Every event the provider reads out of the deliveries so far. */
async function parsedEvents(h: StripeHarness): Promise<WebhookEvent[]> {
  await h.sim.webhooks.idle();
  const out: WebhookEvent[] = [];
  for (const d of h.sink.deliveries) out.push(...(await h.provider.parseWebhook(d)));
  return out;
}

async function thrown(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('stripe provider against the simulator', () => {
  let h: StripeHarness;
  afterEach(async () => h?.close());

  test('the request Stripe receives: confirmed at once, our id in metadata, our key as Idempotency-Key', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(input(id, { capture: 'manual' }));
    expect(p.status).toBe('authorized');
    const [req] = h.sim.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/payment_intents' });
    expect(req!.headers['idempotency-key']).toBe(`payment:${id}:create`);
    expect(req!.headers['stripe-version']).toBe(SDK_API_VERSION);
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req!.params).toEqual({
      amount: '12345',
      currency: 'eur',
      capture_method: 'manual',
      allowed_payment_method_types: ['card'],
      metadata: { clearhub_payment_id: id, clearhub_debtor_id: 'D-1' },
      description: `Invoice ${id}`,
      payment_method: 'pm_card_visa',
      confirm: 'true',
      return_url: `https://shop.example/return/${id}`,
      expand: ['latest_charge'],
    });
    // Personal data stays at home: neither the payer's name nor the e-mail address goes to Stripe.
    expect(req!.rawBody).not.toMatch(/Mustermann|erika/i);
  });

  test('amounts are converted once: ISK goes to Stripe in hundredths and comes back as whole krónur', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(input(id, { currency: 'ISK', amountMinor: 1_500 }));
    expect(h.sim.requests[0]!.params.amount).toBe('150000');
    expect(p).toMatchObject({ status: 'succeeded', amountMinor: 1_500, currency: 'ISK', capturedMinor: 1_500 });
    const r = await h.provider.refund(p.providerReference, {
      paymentId: id,
      refundId: 'r1',
      amountMinor: 500,
      currency: 'ISK',
      idempotencyKey: `payment:${id}:refund:r1`,
    });
    expect(h.sim.requests.at(-1)!.params.amount).toBe('50000');
    expect(r).toMatchObject({ amountMinor: 500, currency: 'ISK', status: 'succeeded' });
  });

  test('an amount Stripe cannot take in a currency is refused before anything is sent', async () => {
    h = await stripeHarness();
    const err = await thrown(h.provider.create(input(newId(), { currency: 'KWD', amountMinor: 12_345 })));
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('amountMinor');
    expect(h.sim.requests).toHaveLength(0);
  });

  test.each([
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ['pm_card_chargeDeclinedIncorrectCvc', 'incorrect_cvc', 'incorrect_cvc'],
    ['pm_card_chargeDeclinedFraudulent', 'fraud_suspected', 'fraudulent'],
    ['pm_card_visa_chargeDeclined', 'card_declined', 'generic_decline'],
    ['pm_card_chargeDeclinedProcessingError', 'processing_error', 'processing_error'],
  ])('%s declines as %s', async (token, code, providerCode) => {
    h = await stripeHarness();
    const p = await h.provider.create(input(newId(), { methodData: { token } }));
    expect(p.status).toBe('failed');
    expect(p.decline).toMatchObject({ code, providerCode });
    expect(p.nextAction).toEqual({ type: 'none' });
  });

  test('a rejected 3-D Secure challenge fails with authentication_failed and the webhook says so', async () => {
    h = await stripeHarness();
    const id = newId();
    const created = await h.provider.create(input(id, { methodData: { token: 'pm_card_threeDSecure2Required' } }));
    expect(created.nextAction.type).toBe('redirect');
    const back = await h.completeAction(created, 'reject');
    expect(back).toMatchObject({ payment_intent: created.providerReference, redirect_status: 'failed' });
    const p = await h.provider.complete(created.providerReference, {
      paymentId: id,
      idempotencyKey: `payment:${id}:complete`,
      returnParams: back,
      capture: 'automatic',
    });
    expect(p.status).toBe('failed');
    expect(p.decline?.code).toBe('authentication_failed');
    const failed = (await parsedEvents(h)).filter((e) => e.type === 'payment.failed');
    expect(failed).toEqual([
      expect.objectContaining({ paymentId: id, decline: expect.objectContaining({ code: 'authentication_failed' }) }),
    ]);
  });

  test('a return for another PaymentIntent is refused', async () => {
    h = await stripeHarness();
    const id = newId();
    const created = await h.provider.create(input(id, { methodData: { token: 'pm_card_threeDSecure2Required' } }));
    const err = await thrown(
      h.provider.complete(created.providerReference, {
        paymentId: id,
        idempotencyKey: `payment:${id}:complete`,
        returnParams: { payment_intent: 'pi_someoneElse' },
        capture: 'automatic',
      }),
    );
    expect(err).toBeInstanceOf(IntegrationError);
  });

  test('after a partial capture the released rest is not a refund; refunds then count from the captured amount', async () => {
    h = await stripeHarness();
    const id = newId();
    const auth = await h.provider.create(input(id, { capture: 'manual' }));
    await h.provider.capture(auth.providerReference, {
      paymentId: id,
      amountMinor: 10_000,
      currency: 'EUR',
      idempotencyKey: `payment:${id}:capture:1`,
    });
    const captured = await h.provider.retrieve(auth.providerReference);
    expect(captured).toMatchObject({ status: 'succeeded', capturedMinor: 10_000, refundedMinor: 0 });
    const refund = (refundId: string, amountMinor: number) =>
      h.provider.refund(auth.providerReference, {
        paymentId: id,
        refundId,
        amountMinor,
        currency: 'EUR',
        idempotencyKey: `payment:${id}:refund:${refundId}`,
      });
    await refund('r1', 4_000);
    expect(await h.provider.retrieve(auth.providerReference)).toMatchObject({
      status: 'partially_refunded',
      refundedMinor: 4_000,
    });
    const tooMuch = await thrown(refund('r2', 6_001));
    expect(tooMuch).toBeInstanceOf(IntegrationError);
    expect((tooMuch as IntegrationError).field).toBe('amount');
    await refund('r3', 6_000);
    expect(await h.provider.retrieve(auth.providerReference)).toMatchObject({
      status: 'refunded',
      refundedMinor: 10_000,
    });
    const refunded = (await parsedEvents(h)).filter((e) => e.type === 'payment.refunded');
    expect(refunded.map((e) => [e.refundId, e.amountMinor]).sort()).toEqual([
      ['r1', 4_000],
      ['r3', 6_000],
    ]);
  });

  test('a canceled authorisation reports nothing refunded and an authorized webhook came first', async () => {
    h = await stripeHarness();
    const id = newId();
    const auth = await h.provider.create(input(id, { capture: 'manual' }));
    const canceled = await h.provider.cancel(auth.providerReference, {
      paymentId: id,
      idempotencyKey: `payment:${id}:cancel`,
    });
    expect(canceled).toMatchObject({ status: 'canceled', capturedMinor: 0, refundedMinor: 0 });
    const types = (await parsedEvents(h)).map((e) => [e.type, e.amountMinor]);
    expect(types).toEqual([
      ['payment.authorized', 12_345],
      ['payment.canceled', undefined],
    ]);
  });

  test('a refund that fails later arrives as refund_failed, never as refunded', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(input(id));
    h.sim.nextRefundStatus('pending');
    const r = await h.provider.refund(p.providerReference, {
      paymentId: id,
      refundId: 'r1',
      amountMinor: 1_000,
      currency: 'EUR',
      idempotencyKey: `payment:${id}:refund:r1`,
    });
    expect(r.status).toBe('pending');
    h.sim.settleRefund(r.providerRefundReference, 'failed');
    const events = await parsedEvents(h);
    expect(events.filter((e) => e.type === 'payment.refunded')).toEqual([]);
    const failed = events.filter((e) => e.type === 'payment.refund_failed');
    // refund.updated, charge.refund.updated and refund.failed all describe it: one event id.
    expect(new Set(failed.map((e) => e.eventId)).size).toBe(1);
    expect(failed[0]).toMatchObject({
      refundId: 'r1',
      providerRefundReference: r.providerRefundReference,
      amountMinor: 1_000,
      paymentId: id,
    });
    expect(await h.provider.retrieve(p.providerReference)).toMatchObject({ status: 'succeeded', refundedMinor: 0 });
  });

  test('disputes: an inquiry opens, a dispute proper is one chargeback, winning reverses it', async () => {
    h = await stripeHarness();
    const a = await h.provider.create(input(newId()));
    const b = await h.provider.create(input(newId()));
    h.sim.createDispute(a.providerReference, { inquiry: true });
    const dispute = h.sim.createDispute(b.providerReference);
    h.sim.closeDispute(String(dispute.id), 'won');
    const events = await parsedEvents(h);
    const about = (ref: string) => [
      ...new Map(events.filter((e) => e.providerReference === ref).map((e) => [e.eventId, e.type])).values(),
    ];
    expect(about(a.providerReference)).toEqual(['payment.succeeded', 'payment.dispute_opened']);
    // charge.dispute.created and charge.dispute.funds_withdrawn both say the money left: one event id.
    expect(about(b.providerReference)).toEqual([
      'payment.succeeded',
      'payment.charged_back',
      'payment.dispute_closed',
      'payment.chargeback_reversed',
    ]);
  });

  test('the test card that is always disputed produces a chargeback by itself', async () => {
    h = await stripeHarness();
    const p = await h.provider.create(input(newId(), { methodData: { token: 'pm_card_createDispute' } }));
    expect(p.status).toBe('succeeded');
    const events = await parsedEvents(h);
    expect(events.some((e) => e.type === 'payment.charged_back' && e.providerReference === p.providerReference)).toBe(
      true,
    );
  });

  test('webhooks that were not answered 2xx are retried until they arrive', async () => {
    h = await stripeHarness();
    h.sink.failNext(2, 503);
    const p = await h.provider.create(input(newId()));
    await h.sim.webhooks.idle();
    expect(h.sim.attempts.map((a) => a.status)).toEqual([503, 503, 200]);
    const events = await parsedEvents(h);
    expect(events.map((e) => [e.type, e.providerReference])).toEqual([['payment.succeeded', p.providerReference]]);
  });

  test('duplicated and reordered deliveries parse to the same events, ordered by occurredAt', async () => {
    h = await stripeHarness();
    h.sim.webhooks.hold();
    h.sim.webhooks.duplicate(true);
    const id = newId();
    const auth = await h.provider.create(input(id, { capture: 'manual' }));
    await h.provider.capture(auth.providerReference, {
      paymentId: id,
      currency: 'EUR',
      idempotencyKey: `payment:${id}:capture:1`,
    });
    h.sim.webhooks.release('reversed');
    const events = await parsedEvents(h);
    expect(h.sink.deliveries).toHaveLength(4);
    const unique = [...new Map(events.map((e) => [e.eventId, e])).values()];
    expect(unique.map((e) => e.type)).toEqual(['payment.succeeded', 'payment.authorized']);
    expect(unique[0]!.occurredAt >= unique[1]!.occurredAt).toBe(true);
  });

  test('the simulator signs exactly as Stripe does: the SDK’s own constructEvent accepts its deliveries', async () => {
    h = await stripeHarness();
    await h.provider.create(input(newId()));
    await h.sim.webhooks.idle();
    const d = h.sink.deliveries[0]!;
    const event = Stripe.webhooks.constructEvent(d.body, d.headers['stripe-signature']!, h.sim.webhookSecret);
    expect(event.type).toBe('payment_intent.succeeded');
  });

  test('a verified body that is not a v1 event is rejected as malformed', async () => {
    h = await stripeHarness();
    const now = Math.floor(Date.now() / 1000);
    for (const text of [
      'not json',
      '{"object":"v2.core.event","id":"evt_1","type":"v1.billing.meter.no_meter_found"}',
    ]) {
      const body = Buffer.from(text);
      const err = await thrown(
        h.provider.parseWebhook({ headers: { 'stripe-signature': sign(body, h.sim.webhookSecret, now) }, body }),
      );
      expect(err).toBeInstanceOf(WebhookRejected);
      expect((err as WebhookRejected).reason).toBe('malformed');
    }
  });

  test('a delivery signed with the old and the new secret while the secret is rolled is accepted', async () => {
    h = await stripeHarness();
    await h.provider.create(input(newId()));
    await h.sim.webhooks.idle();
    const d = h.sink.deliveries[0]!;
    const now = Math.floor(Date.now() / 1000);
    const oldSig = sign(d.body, 'whsec_rolledAway', now);
    const newSig = sign(d.body, h.sim.webhookSecret, now).split(',')[1];
    const events = await h.provider.parseWebhook({
      headers: { ...d.headers, 'stripe-signature': `${oldSig},${newSig}` },
      body: d.body,
    });
    expect(events).toHaveLength(1);
  });

  test('a wrong secret key is an IntegrationError about the secret key that never shows the key', async () => {
    const wrong = 'sk_test_51WrongKeyThatMustNeverBeLogged9876';
    h = await stripeHarness({ secretKey: wrong });
    const err = await thrown(h.provider.create(input(newId())));
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('secretKey');
    expect((err as Error).message).toMatch(/secret key/);
    const everything = [inspect(err, { depth: 10 }), JSON.stringify(err), inspect(h.provider, { depth: 10 })];
    everything.push(JSON.stringify(h.logs), JSON.stringify(h.provider.config));
    for (const text of everything) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(wrong.slice(-4));
      expect(text).not.toContain(h.sim.webhookSecret);
    }
    expect(h.sim.requests[0]!.status).toBe(401);
  });

  test('the same idempotency key with other parameters is refused and names the key', async () => {
    h = await stripeHarness();
    const id = newId();
    await h.provider.create(input(id));
    const err = await thrown(h.provider.create(input(id, { amountMinor: 999 })));
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('idempotencyKey');
    expect(h.sim.paymentsFor(id)).toBe(1);
  });

  test('a 500 after Stripe acted is indeterminate, and so is its replay; the webhook tells what happened', async () => {
    h = await stripeHarness();
    const id = newId();
    h.sim.failNextPost({ status: 500, applied: true });
    const first = await thrown(h.provider.create(input(id)));
    expect(first).toBeInstanceOf(ConnectorError);
    expect((first as ConnectorError).indeterminate).toBe(true);
    const again = await thrown(h.provider.create(input(id)));
    expect((again as ConnectorError).indeterminate).toBe(true);
    expect(h.sim.paymentsFor(id)).toBe(1);
    const events = await parsedEvents(h);
    expect(events).toEqual([
      expect.objectContaining({ type: 'payment.succeeded', paymentId: id, amountMinor: 12_345 }),
    ]);
  });

  test('a rate limit is retryable and certain: nothing happened', async () => {
    h = await stripeHarness();
    const id = newId();
    h.sim.failNextPost({ status: 429, code: 'rate_limit' });
    const err = await thrown(h.provider.create(input(id)));
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(false);
    expect(h.sim.paymentsFor(id)).toBe(0);
    expect((await h.provider.create(input(id))).status).toBe('succeeded');
  });

  test('a 409 (the same key still in flight) is indeterminate', async () => {
    h = await stripeHarness();
    h.sim.failNextPost({ status: 409, code: 'idempotency_key_in_use' });
    const err = await thrown(h.provider.create(input(newId())));
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(true);
  });

  test('an unknown PaymentIntent is an IntegrationError naming the parameter', async () => {
    h = await stripeHarness();
    const err = await thrown(h.provider.retrieve('pi_doesNotExist'));
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('intent');
    expect((err as Error).message).toContain('resource_missing');
  });

  test('one log line per call, with flow, key, status and time, and no secrets', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(input(id));
    await h.provider.retrieve(p.providerReference);
    await h.provider.create(input(newId(), { methodData: { token: 'pm_card_chargeDeclinedInsufficientFunds' } }));
    expect(h.logs.map((l) => [l.tenant, l.provider, l.flow, l.status, l.idempotencyKey, l.code])).toEqual([
      ['t1', 'stripe', 'create', 200, `payment:${id}:create`, undefined],
      ['t1', 'stripe', 'retrieve', 200, undefined, undefined],
      ['t1', 'stripe', 'create', 402, expect.stringMatching(/^payment:.*:create$/), 'card_declined'],
    ]);
    for (const l of h.logs) expect(typeof l.ms).toBe('number');
    expect(JSON.stringify(h.logs)).not.toMatch(/sk_test|whsec_|_secret_/);
  });
});

// ---- hosted Checkout (no token: the payer types the card on Stripe's page) -----------------------------------------

interface PageAnswer {
  status: number;
  location?: string;
  html: string;
}

/** Plays the payer's browser on the simulator's hosted Checkout page: submits the card form, does not follow. */
async function submitCard(
  pageUrl: string,
  card: string,
  o: { exp?: string; cvc?: string; name?: string } = {},
): Promise<PageAnswer> {
  const res = await fetch(pageUrl, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      cardnumber: card,
      exp: o.exp ?? '12 / 34',
      cvc: o.cvc ?? '123',
      name: o.name ?? 'Erika Mustermann',
    }).toString(),
  });
  return {
    status: res.status,
    html: await res.text(),
    ...(res.headers.get('location') ? { location: res.headers.get('location')! } : {}),
  };
}

/** Follows one redirect the way a browser would (GET). */
async function follow(url: string): Promise<PageAnswer> {
  const res = await fetch(url, { redirect: 'manual' });
  return {
    status: res.status,
    html: await res.text(),
    ...(res.headers.get('location') ? { location: res.headers.get('location')! } : {}),
  };
}

const hosted = (paymentId: string, over: Partial<CreatePaymentInput> = {}): CreatePaymentInput =>
  input(paymentId, {
    methodData: undefined,
    locale: 'de-DE',
    returnUrl: `https://shop.example/pay/tok/return?lang=de&clearhub_payment=${paymentId}`,
    ...over,
  });

const redirectOf = (p: ProviderPayment): string => {
  if (p.nextAction.type !== 'redirect') throw new Error(`expected a redirect, got ${p.nextAction.type}`);
  return p.nextAction.url;
};

describe('stripe hosted Checkout against the simulator', () => {
  let h: StripeHarness;
  afterEach(async () => h?.close());

  const complete = (id: string, ref: string, returnParams: Record<string, string>) =>
    h.provider.complete(ref, {
      paymentId: id,
      idempotencyKey: `payment:${id}:complete`,
      returnParams,
      capture: 'automatic',
    });

  test('without a token a card payment becomes a Checkout Session: what Stripe receives and what we get back', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(hosted(id));
    expect(p).toMatchObject({ status: 'requires_action', amountMinor: 12_345, currency: 'EUR', capturedMinor: 0 });
    expect(p.providerReference).toMatch(/^cs_test_/);
    expect(redirectOf(p)).toBe(`${h.sim.url}/c/pay/${p.providerReference}`);
    const [req] = h.sim.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/checkout/sessions' });
    expect(req!.headers['idempotency-key']).toBe(`payment:${id}:create`);
    expect(req!.params).toEqual({
      mode: 'payment',
      line_items: [
        {
          quantity: '1',
          price_data: { currency: 'eur', unit_amount: '12345', product_data: { name: `Invoice ${id}` } },
        },
      ],
      allowed_payment_method_types: ['card'],
      payment_intent_data: {
        capture_method: 'automatic',
        metadata: { clearhub_payment_id: id, clearhub_flow: 'checkout', clearhub_debtor_id: 'D-1' },
        description: `Invoice ${id}`,
      },
      metadata: { clearhub_payment_id: id, clearhub_flow: 'checkout', clearhub_debtor_id: 'D-1' },
      client_reference_id: id,
      success_url: `https://shop.example/pay/tok/return?lang=de&clearhub_payment=${id}&session_id={CHECKOUT_SESSION_ID}`,
      cancel_url: `https://shop.example/pay/tok/return?lang=de&clearhub_payment=${id}&canceled=1`,
      locale: 'de',
    });
    expect(req!.rawBody).not.toMatch(/Mustermann|erika/i);
    // A replay of the key answers with the same session; nothing new is created.
    const again = await h.provider.create(hosted(id));
    expect(again.providerReference).toBe(p.providerReference);
  });

  test('the payer pays on the page: back with the session id, the payment has succeeded, and the card number stayed at Stripe', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(hosted(id));
    const page = await follow(redirectOf(p));
    expect(page.status).toBe(200);
    expect(page.html).toContain('lang="de"');
    expect(page.html).toContain('Kartennummer');
    const paid = await submitCard(redirectOf(p), '4242 4242 4242 4242');
    expect(paid.status).toBe(303);
    const back = new URL(paid.location!);
    expect(`${back.origin}${back.pathname}`).toBe('https://shop.example/pay/tok/return');
    expect(Object.fromEntries(back.searchParams)).toEqual({
      lang: 'de',
      clearhub_payment: id,
      session_id: p.providerReference,
    });
    const done = await complete(id, p.providerReference, Object.fromEntries(back.searchParams));
    expect(done).toMatchObject({
      providerReference: p.providerReference,
      status: 'succeeded',
      amountMinor: 12_345,
      capturedMinor: 12_345,
      refundedMinor: 0,
    });
    expect(await h.provider.retrieve(p.providerReference)).toMatchObject({ status: 'succeeded' });
    const events = await parsedEvents(h);
    const succeeded = events.filter((e) => e.type === 'payment.succeeded');
    // One from payment_intent.succeeded (about the intent), one from checkout.session.completed (about the session).
    expect(succeeded).toHaveLength(2);
    for (const e of succeeded) expect(e).toMatchObject({ paymentId: id, amountMinor: 12_345, currency: 'EUR' });
    expect(succeeded.map((e) => e.providerReference.slice(0, 3)).sort()).toEqual(['cs_', 'pi_']);
    // Our side of the traffic (API calls, log lines) never carried the card number; only Stripe's page saw it.
    const ours = JSON.stringify([h.sim.requests, h.logs]);
    expect(ours).not.toContain('4242424242424242');
    expect(ours).not.toContain('4242 4242 4242 4242');
  });

  test('capture, refund and a dispute work through the session reference', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(hosted(id, { capture: 'manual' }));
    const paid = await submitCard(redirectOf(p), '4242424242424242');
    const back = Object.fromEntries(new URL(paid.location!).searchParams);
    const authorized = await h.provider.complete(p.providerReference, {
      paymentId: id,
      idempotencyKey: `payment:${id}:complete`,
      returnParams: back,
      capture: 'manual',
    });
    expect(authorized).toMatchObject({ status: 'authorized', capturedMinor: 0 });
    const captured = await h.provider.capture(p.providerReference, {
      paymentId: id,
      amountMinor: 10_000,
      currency: 'EUR',
      idempotencyKey: `payment:${id}:capture:1`,
    });
    expect(captured).toMatchObject({
      providerReference: p.providerReference,
      status: 'succeeded',
      capturedMinor: 10_000,
    });
    const r = await h.provider.refund(p.providerReference, {
      paymentId: id,
      refundId: 'r1',
      amountMinor: 2_500,
      currency: 'EUR',
      idempotencyKey: `payment:${id}:refund:r1`,
    });
    expect(r).toMatchObject({ status: 'succeeded', amountMinor: 2_500 });
    expect(await h.provider.retrieve(p.providerReference)).toMatchObject({
      status: 'partially_refunded',
      capturedMinor: 10_000,
      refundedMinor: 2_500,
    });
    const session = h.sim.checkoutSession(p.providerReference)!;
    h.sim.createDispute(String(session.payment_intent));
    const events = await parsedEvents(h);
    expect(events.filter((e) => e.type === 'payment.authorized')).toEqual([
      expect.objectContaining({ paymentId: id, amountMinor: 12_345 }),
    ]);
    // The dispute names only the PaymentIntent; the provider reads whose payment it is.
    expect(events.find((e) => e.type === 'payment.charged_back')).toMatchObject({ paymentId: id });
  });

  test('a declined card is shown on Stripe’s page and is not the end: the payer tries another card and pays', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(hosted(id));
    const declined = await submitCard(redirectOf(p), '4000 0000 0000 9995');
    expect(declined.status).toBe(402);
    expect(declined.html).toMatch(/role="alert"[^>]*>Ihre Karte ist nicht ausreichend gedeckt/);
    expect((await h.provider.retrieve(p.providerReference)).status).toBe('requires_action');
    const paid = await submitCard(redirectOf(p), '4242424242424242');
    expect(paid.status).toBe(303);
    const done = await complete(id, p.providerReference, Object.fromEntries(new URL(paid.location!).searchParams));
    expect(done.status).toBe('succeeded');
    expect(h.sim.paymentsFor(id)).toBe(1);
    const types = (await parsedEvents(h)).map((e) => e.type);
    expect(types).not.toContain('payment.failed');
  });

  test('the payer gives up after a decline: back with canceled=1 the session is expired at Stripe and the payment canceled', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(hosted(id));
    await submitCard(redirectOf(p), '4000000000009995');
    const cancelLink = /id="cancel" href="([^"]+)"/
      .exec((await follow(redirectOf(p))).html)![1]!
      .replace(/&amp;/g, '&');
    expect(cancelLink).toBe(`https://shop.example/pay/tok/return?lang=de&clearhub_payment=${id}&canceled=1`);
    const done = await complete(id, p.providerReference, Object.fromEntries(new URL(cancelLink).searchParams));
    expect(done).toMatchObject({ status: 'canceled', capturedMinor: 0 });
    // The page no longer takes a card.
    const late = await submitCard(redirectOf(p), '4242424242424242');
    expect(late.status).toBe(410);
    expect(late.html).toContain('abgelaufen');
    const events = await parsedEvents(h);
    expect(events.map((e) => [e.type, e.paymentId])).toEqual([['payment.canceled', id]]);
  });

  test('canceled=1 after the payer did pay in another tab: the expiry is refused and the payment counts', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(hosted(id));
    await submitCard(redirectOf(p), '4242424242424242');
    const done = await complete(id, p.providerReference, { clearhub_payment: id, canceled: '1' });
    expect(done.status).toBe('succeeded');
  });

  test('3-D Secure on the page: approved goes on to the success URL, rejected comes back to the page with the message', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(hosted(id));
    const challenged = await submitCard(redirectOf(p), '4000002760003184');
    expect(challenged.status).toBe(303);
    expect(challenged.location).toContain('/3d_secure_2_test/');
    const rejectedBack = await follow(`${challenged.location!}?outcome=reject`);
    const rejected = await follow(rejectedBack.location!);
    expect(rejected.status).toBe(402);
    expect(rejected.html).toContain('authentifizieren');
    expect((await h.provider.retrieve(p.providerReference)).status).toBe('requires_action');

    const again = await submitCard(redirectOf(p), '4000002760003184');
    const approvedBack = await follow(`${again.location!}?outcome=approve`);
    const success = await follow(approvedBack.location!);
    expect(success.status).toBe(303);
    const params = Object.fromEntries(new URL(success.location!).searchParams);
    expect(params.session_id).toBe(p.providerReference);
    expect((await complete(id, p.providerReference, params)).status).toBe('succeeded');
  });

  test('cancel while the payer is on the page expires the session; Stripe expiring it by time reads as canceled too', async () => {
    h = await stripeHarness();
    const a = newId();
    const pa = await h.provider.create(hosted(a));
    const canceled = await h.provider.cancel(pa.providerReference, {
      paymentId: a,
      idempotencyKey: `payment:${a}:cancel`,
    });
    expect(canceled).toMatchObject({ status: 'canceled', providerReference: pa.providerReference });
    expect((await follow(redirectOf(pa))).status).toBe(410);

    const b = newId();
    const pb = await h.provider.create(hosted(b));
    h.sim.lapseCheckoutSession(pb.providerReference);
    expect((await h.provider.retrieve(pb.providerReference)).status).toBe('canceled');
    const events = await parsedEvents(h);
    expect(events.map((e) => [e.type, e.paymentId]).sort()).toEqual([
      ['payment.canceled', a],
      ['payment.canceled', b],
    ]);
  });

  test('extra Checkout parameters pass through (expires_at); one Stripe refuses is an IntegrationError naming it', async () => {
    h = await stripeHarness();
    const id = newId();
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await h.provider.create(hosted(id, { methodData: { extra: { expires_at: expiresAt, mode: 'setup' } } }));
    expect(h.sim.requests[0]!.params).toMatchObject({ expires_at: String(expiresAt), mode: 'payment' });
    const tooSoon = Math.floor(Date.now() / 1000) + 60;
    const err = await thrown(h.provider.create(hosted(newId(), { methodData: { extra: { expires_at: tooSoon } } })));
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('expires_at');
  });

  test('a return for another Checkout Session is refused', async () => {
    h = await stripeHarness();
    const id = newId();
    const p = await h.provider.create(hosted(id));
    const err = await thrown(complete(id, p.providerReference, { session_id: 'cs_test_someoneElse' }));
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('returnParams.session_id');
  });

  test('a payment method token keeps the PaymentIntent flow: confirmed at once, no Checkout Session', async () => {
    h = await stripeHarness();
    const p = await h.provider.create(hosted(newId(), { methodData: { token: 'pm_card_visa' } }));
    expect(p.providerReference).toMatch(/^pi_/);
    expect(p.status).toBe('succeeded');
    expect(h.sim.requests.map((r) => r.path)).toEqual(['/v1/payment_intents']);
  });
});

describe('stripe Checkout URLs and locales', () => {
  test.each([
    ['https://a.example/r', 'https://a.example/r?session_id={CHECKOUT_SESSION_ID}'],
    ['https://a.example/r?x=1', 'https://a.example/r?x=1&session_id={CHECKOUT_SESSION_ID}'],
    ['https://a.example/r?', 'https://a.example/r?session_id={CHECKOUT_SESSION_ID}'],
    ['https://a.example/r?x=1#top', 'https://a.example/r?x=1&session_id={CHECKOUT_SESSION_ID}#top'],
  ])('%s gets the session id as %s', (url, expected) => {
    expect(withQuery(url, 'session_id={CHECKOUT_SESSION_ID}')).toBe(expected);
  });

  test.each([
    ['de-DE', 'de'],
    ['en-GB', 'en-GB'],
    ['en-US', 'en'],
    ['pt_BR', 'pt-BR'],
    ['fr-CH', 'fr'],
    ['tlh', 'auto'],
    [undefined, 'auto'],
  ])('locale %s is shown in Checkout as %s', (locale, expected) => {
    expect(checkoutLocaleOf(locale)).toBe(expected);
  });
});

// ---- opt-in: the real Stripe test mode ----------------------------------------------------------------------------

const sandboxKey = process.env.STRIPE_SECRET_KEY;
if (!sandboxKey) {
  test.skip('stripe sandbox: STRIPE_SECRET_KEY is not set, so the checks against real Stripe are skipped', () => {});
} else {
  /**
   * What the shared suite asks that the real test mode can play: success, decline, a manual authorisation captured
   * in part and refunded, cancel and an idempotent replay. (Real Stripe cannot reach a local webhook sink, be stalled
   * on purpose, open a dispute on an existing charge or have its 3-D Secure page clicked without a browser.)
   */
  describe('stripe sandbox (real Stripe test mode)', () => {
    const provider = createStripeProvider({
      secretKey: sandboxKey,
      webhookSecret: process.env.STRIPE_WEBHOOK_SECRET ?? 'whsec_unusedInTheSandboxRun',
      timeoutMs: 30_000,
    });

    test('success, decline, idempotent replay', async () => {
      const id = newId();
      const p = await provider.create(input(id));
      expect(p).toMatchObject({ status: 'succeeded', capturedMinor: 12_345, amountMinor: 12_345 });
      const again = await provider.create(input(id));
      expect(again.providerReference).toBe(p.providerReference);
      const declined = await provider.create(
        input(newId(), { methodData: { token: 'pm_card_chargeDeclinedInsufficientFunds' } }),
      );
      expect(declined.decline?.code).toBe('insufficient_funds');
    });

    test('partial capture leaves nothing refunded; refunds count from what was captured; cancel', async () => {
      const id = newId();
      const auth = await provider.create(input(id, { capture: 'manual' }));
      expect(auth.status).toBe('authorized');
      await provider.capture(auth.providerReference, {
        paymentId: id,
        amountMinor: 10_000,
        currency: 'EUR',
        idempotencyKey: `payment:${id}:capture:1`,
      });
      expect(await provider.retrieve(auth.providerReference)).toMatchObject({
        status: 'succeeded',
        capturedMinor: 10_000,
        refundedMinor: 0,
      });
      await provider.refund(auth.providerReference, {
        paymentId: id,
        refundId: 'r1',
        amountMinor: 10_000,
        currency: 'EUR',
        idempotencyKey: `payment:${id}:refund:r1`,
      });
      expect((await provider.retrieve(auth.providerReference)).status).toBe('refunded');
      const other = newId();
      const auth2 = await provider.create(input(other, { capture: 'manual' }));
      const canceled = await provider.cancel(auth2.providerReference, {
        paymentId: other,
        idempotencyKey: `payment:${other}:cancel`,
      });
      expect(canceled).toMatchObject({ status: 'canceled', refundedMinor: 0 });
    });
  });
}

// ---- the simulator's own wire behaviour ----------------------------------------------------------------------------

describe('stripe simulator speaks Stripe', () => {
  let sim: StripeSimulator;
  beforeEach(async () => {
    sim = await startStripeSimulator({ apiKeys: [KEY] });
  });
  afterEach(async () => sim.close());

  const call = async (path: string, o: { body?: string; headers?: Record<string, string>; method?: string } = {}) => {
    const res = await fetch(`${sim.url}${path}`, {
      method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${KEY}`,
        'content-type': 'application/x-www-form-urlencoded',
        ...o.headers,
      },
      ...(o.body === undefined ? {} : { body: o.body }),
    });
    return {
      status: res.status,
      headers: res.headers,
      body: (await res.json()) as { error?: Record<string, string> } & Record<string, unknown>,
    };
  };

  test('authentication: none, or a key it does not know, is a 401 in Stripe’s shape that never repeats the key', async () => {
    const none = await call('/v1/payment_intents', { headers: { authorization: '' } });
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringMatching(/did not provide an API key/),
    });
    const wrong = 'sk_test_51SomebodyElsesKey00000000000042';
    const bad = await call('/v1/payment_intents', { headers: { authorization: `Bearer ${wrong}` } });
    expect(bad.status).toBe(401);
    expect(bad.body.error!.message).toMatch(/^Invalid API Key provided: sk_test_\*+0042$/);
  });

  test('a malformed Stripe-Version is refused; a good one is echoed', async () => {
    expect((await call('/v1/payment_intents', { headers: { 'stripe-version': 'yesterday' } })).status).toBe(400);
    const ok = await call('/v1/payment_intents', { headers: { 'stripe-version': '2024-06-20' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('stripe-version')).toBe('2024-06-20');
    expect((await call('/v1/payment_intents')).headers.get('stripe-version')).toBe(SDK_API_VERSION);
    expect(ok.headers.get('request-id')).toMatch(/^req_/);
  });

  test('unknown parameters, missing ones and unknown URLs are Stripe’s 400 and 404', async () => {
    const unknown = await call('/v1/payment_intents', { body: 'amount=100&currency=eur&colour=blue' });
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'parameter_unknown', param: 'colour' } } });
    const missing = await call('/v1/payment_intents', { body: 'currency=eur' });
    expect(missing).toMatchObject({ status: 400, body: { error: { code: 'parameter_missing', param: 'amount' } } });
    const url = await call('/v1/nothing_here');
    expect(url.status).toBe(404);
    expect(url.body.error!.message).toMatch(/^Unrecognized request URL \(GET: \/v1\/nothing_here\)/);
  });

  test('idempotency: a replay returns the stored answer; the key on another endpoint or with other params is refused', async () => {
    const headers = { 'idempotency-key': 'k-1' };
    const first = await call('/v1/payment_intents', { body: 'amount=100&currency=eur', headers });
    const again = await call('/v1/payment_intents', { body: 'currency=eur&amount=100', headers });
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await call('/v1/payment_intents', { body: 'amount=101&currency=eur', headers });
    expect(other).toMatchObject({ status: 400, body: { error: { type: 'idempotency_error' } } });
    const elsewhere = await call('/v1/refunds', { body: 'amount=100&currency=eur', headers });
    expect(elsewhere).toMatchObject({ status: 400, body: { error: { type: 'idempotency_error' } } });
    expect((await call('/v1/payment_intents')).body.data).toHaveLength(1);
  });

  test('a confirmation Stripe refuses creates nothing; a decline keeps the intent', async () => {
    const refused = await call('/v1/payment_intents', {
      body: 'amount=100&currency=eur&payment_method_types[0]=sepa_debit&payment_method=pm_card_visa&confirm=true&metadata[clearhub_payment_id]=p1',
    });
    expect(refused).toMatchObject({
      status: 400,
      body: { error: { code: 'payment_intent_incompatible_payment_method' } },
    });
    expect(sim.paymentsFor('p1')).toBe(0);
    const declined = await call('/v1/payment_intents', {
      body: 'amount=100&currency=eur&payment_method=pm_card_chargeDeclinedInsufficientFunds&confirm=true&metadata[clearhub_payment_id]=p2',
    });
    expect(declined).toMatchObject({
      status: 402,
      body: {
        error: {
          type: 'card_error',
          decline_code: 'insufficient_funds',
          payment_intent: { status: 'requires_payment_method' },
        },
      },
    });
    expect(sim.paymentsFor('p2')).toBe(1);
  });
});

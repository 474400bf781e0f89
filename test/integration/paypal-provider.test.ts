import { inspect } from 'node:util';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { newId } from '../../src/domain/ids';
import { createPayPalProvider, type PayPalLogLine, type PayPalProvider } from '../../src/gateway/providers/paypal';
import {
  type CreatePaymentInput,
  type ProviderPayment,
  type RawWebhook,
  type WebhookEvent,
  WebhookRejected,
} from '../../src/gateway/providers/types';
import { paymentProviderConformance } from '../conformance/payment-provider.conformance';
import type { ProviderHarness } from '../conformance/payment-provider.harness';
import { type PayPalSimulator, type PayPalSimulatorOptions, startPayPalSimulator } from '../simulators/paypal/server';
import { transmissionTimeNow } from '../simulators/paypal/webhooks';
import { startWebhookSink } from '../simulators/shared/webhook-sink';

type PayPalHarness = ProviderHarness & { sim: PayPalSimulator; paypal: PayPalProvider; logs: PayPalLogLine[] };

async function makeHarness(simOptions: PayPalSimulatorOptions = {}): Promise<PayPalHarness> {
  const sink = await startWebhookSink();
  const sim = await startPayPalSimulator({ webhookUrl: sink.url, ...simOptions });
  const logs: PayPalLogLine[] = [];
  const paypal = createPayPalProvider(
    {
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      webhookId: sim.webhookId,
      environment: 'sandbox',
      baseUrl: sim.url,
      certHosts: ['127.0.0.1'],
      allowHttpCertUrlsForTests: true,
      // Long enough for any normal call on a busy machine; the stalled ones wait it out.
      timeoutMs: 3000,
    },
    { tenant: 'tenant-a', log: (l) => logs.push(l) },
  );
  return {
    provider: paypal,
    paypal,
    sim,
    logs,
    sink,
    method: { id: 'paypal', providerType: 'paypal' },
    currency: 'EUR',
    // Every PayPal order needs the payer's approval; amounts ending in 51 are refused (simulator README).
    scenarios: { success: {}, decline: { amountMinor: 123_51 }, challenge: {} },
    declineCode: 'card_declined',
    completeAction: (payment, outcome) => playPayer(payment, outcome),
    timeoutNextMoneyMovement: async () => sim.stallNextMoneyMovement(),
    paymentsFor: async (paymentId) => sim.ordersFor(paymentId),
    capturesFor: async (ref) => sim.capturesFor(ref),
    chargeback: async (ref) => {
      sim.openDispute(ref);
    },
    forgeries(genuine) {
      const h = genuine.headers;
      const body = genuine.body;
      const certUrl = h['paypal-cert-url'] ?? '';
      return [
        {
          name: 'certificate on a host off the allow-list',
          webhook: { headers: { ...h, 'paypal-cert-url': certUrl.replace('127.0.0.1', 'localhost') }, body },
          reason: 'certificate' as const,
        },
        {
          name: 'certificate on a look-alike of a PayPal host',
          webhook: {
            headers: { ...h, 'paypal-cert-url': 'https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1' },
            body,
          },
          reason: 'certificate' as const,
        },
        {
          name: 'an hour-old transmission, correctly signed',
          webhook: {
            headers: { ...h, ...sim.sign(body, { transmissionTime: transmissionTimeNow(Date.now() - 3_600_000) }) },
            body,
          },
          reason: 'timestamp' as const,
        },
        {
          name: 'signed by another key',
          webhook: { headers: { ...h, ...sim.sign(body, { identity: 'forger' }) }, body },
          reason: 'signature' as const,
        },
        {
          name: 'signed for another webhook id',
          webhook: { headers: { ...h, ...sim.sign(body, { webhookId: 'OTHERWEBHOOK1' }) }, body },
          reason: 'signature' as const,
        },
      ];
    },
    async close() {
      await paypal.close();
      await sim.close();
      await sink.close();
    },
  };
}

/** The payer in the browser: opens the approval link with the outcome and follows PayPal's redirect back. */
async function playPayer(payment: ProviderPayment, outcome: 'approve' | 'reject'): Promise<Record<string, string>> {
  if (payment.nextAction.type !== 'redirect') throw new Error(`expected a redirect, got ${payment.nextAction.type}`);
  const u = new URL(payment.nextAction.url);
  u.searchParams.set('outcome', outcome);
  const res = await fetch(u, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`approval page answered ${res.status}`);
  return Object.fromEntries(new URL(location).searchParams);
}

paymentProviderConformance('paypal', () => makeHarness());

const input = (over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => {
  const id = over.paymentId ?? newId();
  return {
    paymentId: id,
    idempotencyKey: `payment:${id}:create`,
    amountMinor: 123_45,
    currency: 'EUR',
    method: 'paypal',
    providerType: 'paypal',
    capture: 'automatic',
    returnUrl: `https://shop.example/return/${id}`,
    country: 'DE',
    locale: 'de-DE',
    description: `Invoice ${id}`,
    payer: { debtorId: 'D-1', name: 'Erika Mustermann', email: 'erika@example.de' },
    ...over,
  };
};

/** What a checkout does: create, send the payer to PayPal, finish with what the return URL carried. */
async function pay(h: PayPalHarness, i: CreatePaymentInput, outcome: 'approve' | 'reject' = 'approve') {
  const created = await h.paypal.create(i);
  const returnParams = await playPayer(created, outcome);
  const result = await h.paypal.complete(created.providerReference, {
    paymentId: i.paymentId,
    idempotencyKey: `payment:${i.paymentId}:complete`,
    returnParams,
    capture: i.capture,
  });
  return { created, returnParams, result };
}

/** Waits for a delivery that parses to an event of `type` about this order and returns both. */
async function webhookEvent(h: PayPalHarness, orderId: string, type: WebhookEvent['type']) {
  const deadline = Date.now() + 8000;
  for (;;) {
    for (const d of h.sink.deliveries) {
      const found = (await h.paypal.parseWebhook(d)).find((e) => e.type === type && e.providerReference === orderId);
      if (found) return { event: found, delivery: d };
    }
    if (Date.now() > deadline) throw new Error(`no ${type} webhook for ${orderId}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('PayPal provider against the simulator', () => {
  let h: PayPalHarness;
  beforeEach(async () => {
    h = await makeHarness();
  });
  afterEach(async () => h.close());

  test('the payer is sent to PayPal and comes back to the shop with the order token', async () => {
    const i = input();
    const created = await h.paypal.create(i);
    expect(created.status).toBe('requires_action');
    expect(created.capturedMinor).toBe(0);
    expect(created.nextAction).toEqual({
      type: 'redirect',
      url: `${h.sim.url}/checkoutnow?token=${created.providerReference}`,
    });
    const back = await playPayer(created, 'approve');
    expect(back.token).toBe(created.providerReference);
    expect(back.PayerID).toMatch(/^[A-Z0-9]{13}$/);
    // The same create retried (lost answer) is the same order, not a second one.
    const again = await h.paypal.create(i);
    expect(again.providerReference).toBe(created.providerReference);
    expect(h.sim.ordersFor(i.paymentId)).toBe(1);
  });

  test('a payer who cancels at PayPal comes back to the cancel URL; the payment is canceled by the shopper', async () => {
    const { returnParams, result } = await pay(h, input(), 'reject');
    expect(returnParams.paypal_cancel).toBe('1');
    expect(returnParams.PayerID).toBeUndefined();
    expect(result.status).toBe('canceled');
    expect(result.decline?.code).toBe('canceled_by_shopper');
    expect(result.capturedMinor).toBe(0);
  });

  test.each([
    { ending: 51, status: 'failed', code: 'card_declined', providerCode: 'INSTRUMENT_DECLINED' },
    { ending: 52, status: 'failed', code: 'card_declined', providerCode: 'DECLINED' },
    { ending: 54, status: 'failed', code: 'card_declined', providerCode: 'PAYER_CANNOT_PAY' },
    { ending: 53, status: 'pending', code: undefined, providerCode: undefined },
  ])('an amount ending in $ending ends $status ($providerCode)', async ({ ending, status, code, providerCode }) => {
    const { result } = await pay(h, input({ amountMinor: 200_00 + ending }));
    expect(result.status).toBe(status);
    expect(result.decline?.code).toBe(code);
    expect(result.decline?.providerCode).toBe(providerCode);
    expect(result.capturedMinor).toBe(0);
  });

  test('a payer whose PayPal e-mail is +decline is refused with a decline, not an exception', async () => {
    const { result } = await pay(h, input({ payer: { email: 'erika+decline@example.de' } }));
    expect(result.status).toBe('failed');
    expect(result.decline).toMatchObject({ code: 'card_declined', providerCode: 'INSTRUMENT_DECLINED' });
  });

  test('a capture PayPal denies and one it holds arrive as payment.failed and payment.pending webhooks', async () => {
    const denied = await pay(h, input({ amountMinor: 99_52 }));
    const pending = await pay(h, input({ amountMinor: 99_53 }));
    const { event: failed } = await webhookEvent(h, denied.result.providerReference, 'payment.failed');
    expect(failed.decline?.code).toBe('card_declined');
    const { event: held } = await webhookEvent(h, pending.result.providerReference, 'payment.pending');
    expect(held.amountMinor).toBe(99_53);
  });

  test('PayPal failing with HTTP 500 on capture is indeterminate and nothing was captured', async () => {
    const i = input({ amountMinor: 10_55 });
    const created = await h.paypal.create(i);
    const returnParams = await playPayer(created, 'approve');
    const err = await rejection(
      h.paypal.complete(created.providerReference, {
        paymentId: i.paymentId,
        idempotencyKey: `payment:${i.paymentId}:complete`,
        returnParams,
        capture: 'automatic',
      }),
    );
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(true);
    expect((err as Error).message).toContain('INTERNAL_SERVER_ERROR');
    expect(h.sim.capturesFor(created.providerReference)).toBe(0);
    expect((await h.paypal.retrieve(created.providerReference)).status).toBe('pending');
  });

  // The second: what the checkout API makes of a client's 64-character Idempotency-Key, 117 characters where
  // PayPal-Request-Id takes 108; it goes as its hash, so the retry still replays.
  test.each([
    ['a short key', ''],
    ['a key longer than PayPal-Request-Id takes', 'k'.repeat(64)],
  ])(
    'manual capture: complete authorizes, a timed-out capture is retried once with the same key (%s)',
    async (_, tail) => {
      const i = input({ capture: 'manual' });
      const { result: auth } = await pay(h, i);
      expect(auth.status).toBe('authorized');
      const { event: authorized } = await webhookEvent(h, auth.providerReference, 'payment.authorized');
      expect(authorized.paymentId).toBe(i.paymentId);
      h.sim.stallNextMoneyMovement();
      const key = `payment:${i.paymentId}:capture:1${tail}`;
      const err = await rejection(
        h.paypal.capture(auth.providerReference, { paymentId: i.paymentId, currency: 'EUR', idempotencyKey: key }),
      );
      expect((err as ConnectorError).indeterminate).toBe(true);
      const captured = await h.paypal.capture(auth.providerReference, {
        paymentId: i.paymentId,
        currency: 'EUR',
        idempotencyKey: key,
      });
      expect(captured).toMatchObject({ status: 'succeeded', capturedMinor: 123_45 });
      expect(h.sim.capturesFor(auth.providerReference)).toBe(1);
    },
  );

  test('a voided authorization is reported by webhook; a captured payment cannot be canceled', async () => {
    const manual = input({ capture: 'manual' });
    const { result: auth } = await pay(h, manual);
    const canceled = await h.paypal.cancel(auth.providerReference, {
      paymentId: manual.paymentId,
      idempotencyKey: `payment:${manual.paymentId}:cancel`,
    });
    expect(canceled.status).toBe('canceled');
    // Canceling again is harmless.
    const again = await h.paypal.cancel(auth.providerReference, {
      paymentId: manual.paymentId,
      idempotencyKey: `payment:${manual.paymentId}:cancel`,
    });
    expect(again.status).toBe('canceled');
    const { event } = await webhookEvent(h, auth.providerReference, 'payment.canceled');
    expect(event.paymentId).toBe(manual.paymentId);

    const auto = input();
    const { result: paid } = await pay(h, auto);
    const err = await rejection(
      h.paypal.cancel(paid.providerReference, {
        paymentId: auto.paymentId,
        idempotencyKey: `payment:${auto.paymentId}:cancel`,
      }),
    );
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as Error).message).toMatch(/refunded, not canceled/);
  });

  test('an order the payer never approved is reported canceled (PayPal has no call that cancels an order)', async () => {
    const i = input();
    const created = await h.paypal.create(i);
    const canceled = await h.paypal.cancel(created.providerReference, {
      paymentId: i.paymentId,
      idempotencyKey: `payment:${i.paymentId}:cancel`,
    });
    expect(canceled.status).toBe('canceled');
    expect(canceled.nextAction.type).toBe('none');
  });

  test('a refund that times out is retried once; its webhook names our refund id and the amount', async () => {
    const i = input();
    const { result: paid } = await pay(h, i);
    const refund = {
      paymentId: i.paymentId,
      refundId: 'r-7',
      amountMinor: 23_45,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:refund:r-7`,
      reason: 'Gutschrift',
    };
    h.sim.stallNextMoneyMovement();
    const err = await rejection(h.paypal.refund(paid.providerReference, refund));
    expect((err as ConnectorError).indeterminate).toBe(true);
    const done = await h.paypal.refund(paid.providerReference, refund);
    expect(done).toMatchObject({ status: 'succeeded', amountMinor: 23_45, currency: 'EUR' });
    const status = await h.paypal.retrieve(paid.providerReference);
    expect(status).toMatchObject({ status: 'partially_refunded', refundedMinor: 23_45, capturedMinor: 123_45 });
    const { event } = await webhookEvent(h, paid.providerReference, 'payment.refunded');
    expect(event).toMatchObject({ paymentId: i.paymentId, refundId: 'r-7', amountMinor: 23_45, currency: 'EUR' });
  });

  test('refunding more than is left is an IntegrationError naming PayPal’s field', async () => {
    const i = input();
    const { result: paid } = await pay(h, i);
    const err = await rejection(
      h.paypal.refund(paid.providerReference, {
        paymentId: i.paymentId,
        refundId: 'too-much',
        amountMinor: 500_00,
        currency: 'EUR',
        idempotencyKey: `payment:${i.paymentId}:refund:too-much`,
      }),
    );
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('amount.value');
    expect((err as Error).message).toContain('REFUND_AMOUNT_EXCEEDED');
  });

  test('acting on one payment’s order with another payment’s id is refused', async () => {
    const a = input();
    const { result } = await pay(h, a);
    const err = await rejection(
      h.paypal.refund(result.providerReference, {
        paymentId: newId(),
        refundId: 'r1',
        amountMinor: 1_00,
        currency: 'EUR',
        idempotencyKey: 'payment:other:refund:r1',
      }),
    );
    expect((err as Error).name).toBe('IntegrityError');
    expect(h.sim.exchanges.some((x) => x.operation.endsWith('/refund'))).toBe(false);
  });

  test('a dispute opened and lost arrives as dispute_opened, charged_back and dispute_closed', async () => {
    const i = input();
    const { result } = await pay(h, i);
    const disputeId = h.sim.openDispute(result.providerReference);
    const { event: opened } = await webhookEvent(h, result.providerReference, 'payment.dispute_opened');
    expect(opened).toMatchObject({ paymentId: i.paymentId, amountMinor: 123_45, currency: 'EUR' });
    h.sim.resolveDispute(disputeId, 'RESOLVED_BUYER_FAVOUR');
    const { event: reversed } = await webhookEvent(h, result.providerReference, 'payment.charged_back');
    expect(reversed.amountMinor).toBe(123_45);
    await webhookEvent(h, result.providerReference, 'payment.dispute_closed');
  });

  test('an access token PayPal stopped accepting is renewed without failing the call', async () => {
    const i = input();
    await h.paypal.create(i);
    h.sim.revokeTokens();
    const p = await h.paypal.create(input());
    expect(p.status).toBe('requires_action');
    expect(h.sim.exchanges.filter((x) => x.operation === 'POST /v1/oauth2/token')).toHaveLength(2);
  });

  test('a token endpoint that fails once does not break later calls, and the failed call was not sent', async () => {
    h.sim.failNextTokenRequests(1, 503);
    const i = input();
    const err = await rejection(h.paypal.create(i));
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(false);
    expect(h.sim.ordersFor(i.paymentId)).toBe(0);
    const p = await h.paypal.create(i);
    expect(p.status).toBe('requires_action');
  });

  test('one log line per call, with flow and idempotency key, and no secret or e-mail address', async () => {
    const i = input();
    await pay(h, i);
    const create = h.logs.find((l) => l.flow === 'create');
    expect(create).toMatchObject({
      tenant: 'tenant-a',
      provider: 'paypal',
      method: 'POST',
      path: '/v2/checkout/orders',
      status: 201,
      idempotencyKey: i.idempotencyKey,
    });
    expect(h.logs.find((l) => l.flow === 'complete' && l.method === 'POST')).toMatchObject({
      path: expect.stringMatching(/^\/v2\/checkout\/orders\/[A-Z0-9]+\/capture$/),
      idempotencyKey: `payment:${i.paymentId}:complete`,
    });
    expect(h.logs.some((l) => l.flow === 'token' && l.path === '/v1/oauth2/token')).toBe(true);
    const text = JSON.stringify(h.logs);
    expect(text).not.toContain(h.sim.clientSecret);
    expect(text).not.toContain('erika@example.de');
  });
});

describe('PayPal credentials and secrets', () => {
  const SECRET = 'EFq-wrong-SECRET-d0n0tl0g-7781';
  let sim: PayPalSimulator;
  beforeEach(async () => {
    sim = await startPayPalSimulator();
  });
  afterEach(async () => sim.close());

  test('a wrong client secret says to check the client id and secret, and shows neither', async () => {
    const logs: PayPalLogLine[] = [];
    const paypal = createPayPalProvider(
      { clientId: sim.clientId, clientSecret: SECRET, webhookId: sim.webhookId, baseUrl: sim.url, timeoutMs: 2000 },
      { log: (l) => logs.push(l) },
    );
    const err = await rejection(paypal.create(input()));
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('clientId');
    expect((err as Error).message).toMatch(/client id or secret.*sandbox/);
    const basic = Buffer.from(`${sim.clientId}:${SECRET}`).toString('base64');
    for (const shown of [
      (err as Error).message,
      JSON.stringify(err),
      inspect(err, { depth: 20, showHidden: true }),
      inspect(paypal, { depth: 20, showHidden: true }),
      JSON.stringify(paypal.config),
      JSON.stringify(logs),
    ]) {
      expect(shown).not.toContain(SECRET);
      expect(shown).not.toContain(basic);
    }
  });

  test('options are checked at start and errors name the option without echoing values', () => {
    const err = (() => {
      try {
        createPayPalProvider({ clientId: 'x', clientSecret: SECRET, webhookId: 'not a webhook id!' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('options.webhookId');
    expect((err as Error).message).not.toContain(SECRET);
  });
});

describe('PayPal webhooks from the simulator', () => {
  let h: PayPalHarness;
  afterEach(async () => h.close());

  test('a delivery the listener refuses is retried as a new transmission until it is taken', async () => {
    h = await makeHarness({ retry: { attempts: 5, delayMs: 10 } });
    h.sink.failNext(2, 503);
    const { result } = await pay(h, input());
    const { delivery } = await webhookEvent(h, result.providerReference, 'payment.succeeded');
    const eventId = (JSON.parse(delivery.body.toString('utf8')) as { id: string }).id;
    expect(h.sim.deliveries.filter((d) => d.eventId === eventId).map((d) => d.status)).toEqual([503, 503, 200]);
  });

  test('a duplicated delivery parses to the same event id; the certificate is fetched once', async () => {
    h = await makeHarness();
    h.sim.duplicateWebhooks(true);
    const { result } = await pay(h, input());
    await webhookEvent(h, result.providerReference, 'payment.succeeded');
    const deadline = Date.now() + 8000;
    while (h.sink.deliveries.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const [a, b] = h.sink.deliveries;
    expect(a!.headers['paypal-transmission-id']).not.toBe(b!.headers['paypal-transmission-id']);
    const [ea, eb] = [await h.paypal.parseWebhook(a!), await h.paypal.parseWebhook(b!)];
    expect(eb.map((e) => e.eventId)).toEqual(ea.map((e) => e.eventId));
    expect(h.paypal.certificateFetches).toBe(1);
    expect(h.sim.certificateRequests()).toBe(1);
  });

  test('events released out of order carry the times that put them back in order', async () => {
    h = await makeHarness();
    h.sim.holdWebhooks();
    const i = input();
    const { result } = await pay(h, i);
    await h.paypal.refund(result.providerReference, {
      paymentId: i.paymentId,
      refundId: 'r1',
      amountMinor: 123_45,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:refund:r1`,
    });
    h.sim.flushWebhooks(true);
    const { event: refunded } = await webhookEvent(h, result.providerReference, 'payment.refunded');
    const { event: succeeded } = await webhookEvent(h, result.providerReference, 'payment.succeeded');
    const types: string[] = [];
    for (const d of h.sink.deliveries) types.push(...(await h.paypal.parseWebhook(d)).map((e) => e.type));
    expect(types).toEqual(['payment.refunded', 'payment.succeeded']);
    expect(Date.parse(refunded.occurredAt)).toBeGreaterThanOrEqual(Date.parse(succeeded.occurredAt));
  });

  test('CHECKOUT.ORDER.APPROVED, when subscribed, says the payer approved (pending) with our payment id', async () => {
    h = await makeHarness({ events: '*' });
    const i = input();
    const created = await h.paypal.create(i);
    await playPayer(created, 'approve');
    const { event } = await webhookEvent(h, created.providerReference, 'payment.pending');
    expect(event).toMatchObject({ paymentId: i.paymentId, amountMinor: 123_45, currency: 'EUR' });
  });

  test('an http certificate URL is refused unless the test option allows it', async () => {
    h = await makeHarness();
    const { result } = await pay(h, input());
    const { delivery } = await webhookEvent(h, result.providerReference, 'payment.succeeded');
    const strict = createPayPalProvider({
      clientId: h.sim.clientId,
      clientSecret: h.sim.clientSecret,
      webhookId: h.sim.webhookId,
      baseUrl: h.sim.url,
      certHosts: ['127.0.0.1'],
    });
    const err = await rejection(strict.parseWebhook(delivery));
    expect(err).toBeInstanceOf(WebhookRejected);
    expect((err as WebhookRejected).reason).toBe('certificate');
  });

  test('signed deliveries of other event types give no events; a signed body that is not JSON is malformed', async () => {
    h = await makeHarness();
    const other = Buffer.from(
      JSON.stringify({ id: 'WH-OTHER-1', event_type: 'BILLING.PLAN.CREATED', resource_type: 'plan', resource: {} }),
    );
    expect(await h.paypal.parseWebhook({ headers: h.sim.sign(other), body: other })).toEqual([]);
    const garbage = Buffer.from('not json');
    const err = await rejection(h.paypal.parseWebhook({ headers: h.sim.sign(garbage), body: garbage }));
    expect((err as WebhookRejected).reason).toBe('malformed');
  });

  test('the simulator’s verify-webhook-signature postback agrees with self-verification', async () => {
    h = await makeHarness();
    const { result } = await pay(h, input());
    const { delivery } = await webhookEvent(h, result.providerReference, 'payment.succeeded');
    const token = await simToken(h.sim);
    const ask = async (w: RawWebhook) => {
      const res = await fetch(`${h.sim.url}/v1/notifications/verify-webhook-signature`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          auth_algo: w.headers['paypal-auth-algo'],
          cert_url: w.headers['paypal-cert-url'],
          transmission_id: w.headers['paypal-transmission-id'],
          transmission_sig: w.headers['paypal-transmission-sig'],
          transmission_time: w.headers['paypal-transmission-time'],
          webhook_id: h.sim.webhookId,
          webhook_event: JSON.parse(w.body.toString('utf8')),
        }),
      });
      return ((await res.json()) as { verification_status: string }).verification_status;
    };
    expect(await ask(delivery)).toBe('SUCCESS');
    const forged = {
      headers: { ...delivery.headers, ...h.sim.sign(delivery.body, { identity: 'forger' }) },
      body: delivery.body,
    };
    expect(await ask(forged)).toBe('FAILURE');
  });
});

async function simToken(sim: PayPalSimulator): Promise<string> {
  const res = await fetch(`${sim.url}/v1/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${sim.clientId}:${sim.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

const sandbox = process.env.PAYPAL_CLIENT_ID && process.env.PAYPAL_CLIENT_SECRET;
(sandbox ? describe : describe.skip)('PayPal sandbox (opt-in: set PAYPAL_CLIENT_ID and PAYPAL_CLIENT_SECRET)', () => {
  test('an order is created at the real sandbox and waits for the payer at sandbox.paypal.com', async () => {
    const paypal = createPayPalProvider({
      clientId: process.env.PAYPAL_CLIENT_ID ?? '',
      clientSecret: process.env.PAYPAL_CLIENT_SECRET ?? '',
      webhookId: process.env.PAYPAL_WEBHOOK_ID ?? 'WEBHOOKID',
      environment: 'sandbox',
      timeoutMs: 30_000,
    });
    const i = input();
    const created = await paypal.create(i);
    expect(created.status).toBe('requires_action');
    expect(created.nextAction.type === 'redirect' && new URL(created.nextAction.url).hostname).toMatch(
      /sandbox\.paypal\.com$/,
    );
    const again = await paypal.create(i);
    expect(again.providerReference).toBe(created.providerReference);
    const status = await paypal.retrieve(created.providerReference);
    expect(status).toMatchObject({ status: 'requires_action', amountMinor: 123_45, currency: 'EUR' });
    // Back without approval: the payer canceled.
    const back = await paypal.complete(created.providerReference, {
      paymentId: i.paymentId,
      idempotencyKey: `payment:${i.paymentId}:complete`,
      returnParams: { token: created.providerReference },
      capture: 'automatic',
    });
    expect(back).toMatchObject({ status: 'canceled', decline: { code: 'canceled_by_shopper' } });
  });
});

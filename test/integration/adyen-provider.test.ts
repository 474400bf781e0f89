import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import { newId } from '../../src/domain/ids';
import { type AdyenLogLine, createAdyenProvider } from '../../src/gateway/providers/adyen/connector';
import type { CreatePaymentInput, RawWebhook, WebhookEvent } from '../../src/gateway/providers/types';
import { paymentProviderConformance } from '../conformance/payment-provider.conformance';
import type { ProviderHarness } from '../conformance/payment-provider.harness';
import { hmacSignature, type NotificationItem } from '../simulators/adyen/notifications';
import { type AdyenSimulator, type AdyenSimulatorOptions, startAdyenSimulator } from '../simulators/adyen/server';
import { startWebhookSink, type WebhookSink } from '../simulators/shared/webhook-sink';

const WEBHOOK_AUTH = { username: 'clearhub', password: 'webhook-Pw-1' };

/** Adyen's test card fields in their unencrypted test format. */
const card = (pan: string, holderName?: string) => ({
  encryptedCardNumber: `test_${pan}`,
  encryptedExpiryMonth: 'test_03',
  encryptedExpiryYear: 'test_2030',
  encryptedSecurityCode: 'test_737',
  ...(holderName ? { holderName } : {}),
});

interface Rig {
  sim: AdyenSimulator;
  sink: WebhookSink;
  logs: AdyenLogLine[];
  provider: ReturnType<typeof createAdyenProvider>;
  close(): Promise<void>;
}

/** Rigs still open; closed after each test. */
const openRigs: Rig[] = [];

async function rig(
  simOptions: AdyenSimulatorOptions = {},
  over: Partial<Parameters<typeof createAdyenProvider>[0]> = {},
): Promise<Rig> {
  const sink = await startWebhookSink();
  const sim = await startAdyenSimulator({
    webhookUrl: sink.url,
    webhookBasicAuth: WEBHOOK_AUTH,
    ...simOptions,
  });
  const logs: AdyenLogLine[] = [];
  const provider = createAdyenProvider(
    {
      apiKey: sim.apiKey,
      merchantAccount: sim.merchantAccount,
      hmacKeyHex: sim.hmacKeyHex,
      environment: 'TEST',
      baseUrl: sim.url,
      timeoutMs: 4000,
      webhookBasicAuth: WEBHOOK_AUTH,
      ...over,
    },
    { tenant: 't1', log: (l) => logs.push(l) },
  );
  const r: Rig = {
    sim,
    sink,
    logs,
    provider,
    close: async () => {
      const i = openRigs.indexOf(r);
      if (i < 0) return;
      openRigs.splice(i, 1);
      await provider.close();
      await sim.close();
      await sink.close();
    },
  };
  openRigs.push(r);
  return r;
}

/** Re-signs every item of a delivery with another key (a sender that does not hold ours). */
function resign(w: RawWebhook, mutate: (item: NotificationItem) => void): RawWebhook {
  const body = JSON.parse(w.body.toString('utf8')) as {
    notificationItems: { NotificationRequestItem: NotificationItem }[];
  };
  for (const { NotificationRequestItem: item } of body.notificationItems) mutate(item);
  return { headers: { ...w.headers }, body: Buffer.from(JSON.stringify(body)) };
}

async function makeHarness(): Promise<ProviderHarness> {
  const r = await rig();
  return {
    provider: r.provider,
    sink: r.sink,
    method: { id: 'card', providerType: 'scheme' },
    currency: 'EUR',
    scenarios: {
      success: { extra: card('4111111111111111') },
      decline: { extra: card('4111111111111111', 'NOT_ENOUGH_BALANCE') },
      challenge: { extra: card('4212345678901237') },
    },
    declineCode: 'insufficient_funds',
    async completeAction(payment, outcome) {
      if (payment.nextAction.type !== 'redirect') throw new Error(`no redirect: ${payment.nextAction.type}`);
      const page = new URL(payment.nextAction.url);
      page.searchParams.set('outcome', outcome);
      const res = await fetch(page, { redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`the 3-D Secure page answered ${res.status}`);
      return Object.fromEntries(new URL(location).searchParams);
    },
    timeoutNextMoneyMovement: async () => r.sim.stallNextMoneyMovement(),
    paymentsFor: async (id) => r.sim.paymentsFor(id),
    capturesFor: async (psp) => r.sim.capturesFor(psp),
    chargeback: async (psp) => r.sim.chargeback(psp),
    forgeries: (genuine) => {
      const otherKey = 'AB'.repeat(32);
      return [
        {
          name: 'items signed with another HMAC key',
          webhook: resign(genuine, (item) => {
            item.additionalData.hmacSignature = hmacSignature(item, otherKey);
          }),
          reason: 'signature' as const,
        },
        {
          name: 'hmacSignature removed',
          webhook: resign(genuine, (item) => {
            delete (item.additionalData as Record<string, string | undefined>).hmacSignature;
          }),
          reason: 'signature' as const,
        },
        {
          name: 'genuine body without the Basic-auth header',
          webhook: {
            headers: Object.fromEntries(Object.entries(genuine.headers).filter(([k]) => k !== 'authorization')),
            body: Buffer.from(genuine.body),
          },
          reason: 'signature' as const,
        },
      ];
    },
    close: r.close,
  };
}

paymentProviderConformance('adyen', makeHarness);

const input = (over: Partial<CreatePaymentInput> = {}): CreatePaymentInput => {
  const paymentId = over.paymentId ?? newId();
  return {
    paymentId,
    idempotencyKey: `payment:${paymentId}:create`,
    amountMinor: 4_990,
    currency: 'EUR',
    method: 'card',
    providerType: 'scheme',
    capture: 'automatic',
    returnUrl: `https://shop.example/return/${paymentId}`,
    country: 'DE',
    locale: 'de-DE',
    payer: { debtorId: 'D-100', name: 'Erika Mustermann', email: 'erika@example.de' },
    methodData: { extra: card('4111111111111111') },
    ...over,
  };
};

async function eventsFor(r: Rig, ref: string, n: number): Promise<WebhookEvent[]> {
  await r.sim.webhooksIdle();
  const events: WebhookEvent[] = [];
  for (const d of r.sink.deliveries) {
    if (!d.body.toString('utf8').includes(ref)) continue;
    events.push(...(await r.provider.parseWebhook(d)));
  }
  if (events.length < n) throw new Error(`expected ${n} events about ${ref}, got ${events.length}`);
  return events;
}

describe('adyen provider against the simulator', () => {
  let r: Rig;
  afterEach(async () => {
    for (const open of [...openRigs]) await open.close();
  });

  test('a payment goes out as Adyen expects it: merchant account, minor units, our id as reference, the key as Idempotency-Key', async () => {
    r = await rig();
    const i = input({ amountMinor: 1_190_00 });
    const p = await r.provider.create(i);
    expect(p.status).toBe('succeeded');
    const sent = r.sim.exchanges.find((e) => e.path === '/v72/payments')!;
    expect(sent.requestHeaders['idempotency-key']).toBe(i.idempotencyKey);
    expect(sent.requestHeaders['x-api-key']).toBe('[key]'); // present; the recording hides its value
    expect(sent.requestBody).toMatchObject({
      merchantAccount: r.sim.merchantAccount,
      amount: { value: 119_000, currency: 'EUR' },
      reference: i.paymentId,
      returnUrl: i.returnUrl,
      captureDelayHours: 0,
      shopperReference: 'D-100',
      shopperLocale: 'de_DE',
      countryCode: 'DE',
      paymentMethod: { type: 'scheme', encryptedCardNumber: 'test_4111111111111111' },
    });
  });

  test('manual capture: authorised by webhook, captured in part, the rest released, capture confirmed by webhook', async () => {
    r = await rig();
    const i = input({ capture: 'manual' });
    const auth = await r.provider.create(i);
    expect(auth.status).toBe('authorized');
    expect((r.sim.exchanges.at(-1)!.requestBody as { additionalData?: unknown }).additionalData).toEqual({
      manualCapture: 'true',
    });
    const captured = await r.provider.capture(auth.providerReference, {
      paymentId: i.paymentId,
      amountMinor: 3_000,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:capture:1`,
    });
    expect(captured).toMatchObject({ status: 'succeeded', capturedMinor: 3_000, amountMinor: 4_990 });
    expect(r.sim.payments.get(auth.providerReference)).toMatchObject({ captured: 3_000, released: 1_990 });
    const events = await eventsFor(r, auth.providerReference, 2);
    expect(events.map((e) => e.type)).toEqual(['payment.authorized', 'payment.succeeded']);
    expect(events[1]).toMatchObject({
      amountMinor: 3_000,
      paymentId: i.paymentId,
      providerReference: auth.providerReference,
    });
  });

  test('a capture beyond what is left is taken (received) and then reported as failed by webhook, booking nothing', async () => {
    r = await rig();
    const i = input({ capture: 'manual' });
    const auth = await r.provider.create(i);
    await r.provider.capture(auth.providerReference, {
      paymentId: i.paymentId,
      amountMinor: 5_000,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:capture:1`,
    });
    expect(r.sim.capturesFor(auth.providerReference)).toBe(0);
    const events = await eventsFor(r, auth.providerReference, 1);
    // CAPTURE success=false: the authorisation stands, so no event changes the payment.
    expect(events.map((e) => e.type)).toEqual(['payment.authorized']);
  });

  test('refund events name the payment and our refund id', async () => {
    r = await rig();
    const i = input();
    const p = await r.provider.create(i);
    const refund = await r.provider.refund(p.providerReference, {
      paymentId: i.paymentId,
      refundId: 'rf-7',
      amountMinor: 990,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:refund:rf-7`,
    });
    expect(refund).toMatchObject({ status: 'pending', amountMinor: 990, currency: 'EUR' });
    const events = await eventsFor(r, p.providerReference, 2);
    const refunded = events.find((e) => e.type === 'payment.refunded')!;
    expect(refunded).toMatchObject({
      paymentId: i.paymentId,
      refundId: 'rf-7',
      amountMinor: 990,
      providerReference: p.providerReference,
    });
    expect(refunded.eventId).toContain(refund.providerRefundReference);
  });

  test('a refund of more than was captured comes back as refund_failed', async () => {
    r = await rig();
    const i = input();
    const p = await r.provider.create(i);
    await r.provider.refund(p.providerReference, {
      paymentId: i.paymentId,
      refundId: 'too-much',
      amountMinor: 9_999,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:refund:too-much`,
    });
    const events = await eventsFor(r, p.providerReference, 2);
    expect(events.find((e) => e.type === 'payment.refund_failed')).toMatchObject({ refundId: 'too-much' });
    expect(r.sim.payments.get(p.providerReference)?.refunded).toBe(0);
  });

  test('refusals carry Adyen refusal reasons mapped to our codes, in the answer and in the webhook', async () => {
    r = await rig();
    const cases: [string, string][] = [
      ['CVC_DECLINED', 'incorrect_cvc'],
      ['CARD_EXPIRED', 'expired_card'],
      ['FRAUD', 'fraud_suspected'],
      ['WITHDRAWAL_AMOUNT_EXCEEDED', 'limit_exceeded'],
      ['DECLINED', 'card_declined'],
    ];
    for (const [holder, code] of cases) {
      const p = await r.provider.create(input({ methodData: { extra: card('4111111111111111', holder) } }));
      expect({ holder, status: p.status, code: p.decline?.code }).toEqual({ holder, status: 'failed', code });
    }
    const failed = await eventsFor(r, 'AUTHORISATION', 5);
    expect(failed.filter((e) => e.type === 'payment.failed').map((e) => e.decline?.code)).toEqual(
      cases.map(([, c]) => c),
    );
  });

  test('a recurring first payment stores the card; a later one charges it without the shopper', async () => {
    r = await rig();
    const first = await r.provider.create(input({ recurring: 'first' }));
    expect(first.recurringReference).toMatch(/^[A-Z0-9]{16}$/);
    const sent = r.sim.exchanges.at(-1)!.requestBody;
    expect(sent).toMatchObject({
      storePaymentMethod: true,
      recurringProcessingModel: 'UnscheduledCardOnFile',
      shopperInteraction: 'Ecommerce',
    });
    const again = await r.provider.create(
      input({ recurring: 'subsequent', methodData: { mandateId: first.recurringReference! } }),
    );
    expect(again.status).toBe('succeeded');
    expect(r.sim.exchanges.at(-1)!.requestBody).toMatchObject({
      shopperInteraction: 'ContAuth',
      paymentMethod: { type: 'scheme', storedPaymentMethodId: first.recurringReference },
    });
  });

  test('the same Idempotency-Key with a different request is refused and names the key', async () => {
    r = await rig();
    const i = input();
    await r.provider.create(i);
    const err = await r.provider.create({ ...i, amountMinor: 5_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('idempotencyKey');
    expect(r.sim.paymentsFor(i.paymentId)).toBe(1);
  });

  test('a wrong API key is an IntegrationError that names apiKey and never shows a key', async () => {
    r = await rig({ apiKey: 'AQE_the_right_key_123456' }, { apiKey: 'AQE_a_wrong_key_654321' });
    const err = await r.provider.create(input()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('apiKey');
    const shown = `${(err as Error).message} ${JSON.stringify(err)} ${JSON.stringify(r.logs)} ${JSON.stringify(r.provider.config)}`;
    expect(shown).not.toContain('AQE_a_wrong_key_654321');
    expect(shown).not.toContain('AQE_the_right_key_123456');
    expect(shown).not.toContain(r.sim.hmacKeyHex);
  });

  test('a wrong merchant account is an IntegrationError that names merchantAccount', async () => {
    r = await rig({}, { merchantAccount: 'SomeoneElseECOM' });
    const err = await r.provider.create(input()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('merchantAccount');
    expect((err as Error).message).toContain('SomeoneElseECOM');
  });

  test("Adyen's validation errors name the field", async () => {
    r = await rig();
    const err = await r.provider
      .create(input({ methodData: { extra: card('4111111111111112') } }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe('paymentMethod.encryptedCardNumber');
    expect((err as Error).message).toContain('Invalid card number');
    expect((err as Error).message).not.toContain('4111111111111112');
  });

  test('a 5xx on a payment is indeterminate; the retry with the same key pays once', async () => {
    r = await rig();
    const i = input();
    r.sim.failNext(1, 500);
    const err = await r.provider.create(i).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(true);
    const p = await r.provider.create(i);
    expect(p.status).toBe('succeeded');
    expect(r.sim.paymentsFor(i.paymentId)).toBe(1);
  });

  test('an unreachable Adyen is a ConnectorError that certainly moved no money', async () => {
    const sim = await startAdyenSimulator();
    const url = sim.url;
    await sim.close();
    const provider = createAdyenProvider({
      apiKey: 'k',
      merchantAccount: 'ClearhubECOM',
      hmacKeyHex: 'AB'.repeat(32),
      baseUrl: url,
      timeoutMs: 2000,
    });
    const err = await provider.create(input()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect((err as ConnectorError).indeterminate).toBe(false);
  });

  test('retrieve answers from what this process learned, and says plainly when it knows nothing', async () => {
    r = await rig();
    const i = input({ capture: 'manual' });
    const auth = await r.provider.create(i);
    await r.provider.capture(auth.providerReference, {
      paymentId: i.paymentId,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:capture:1`,
    });
    expect(await r.provider.retrieve(auth.providerReference)).toMatchObject({
      status: 'succeeded',
      capturedMinor: 4_990,
    });
    const err = await r.provider.retrieve('UNKNOWNPSP000000').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as Error).message).toMatch(/webhook/);
  });

  test('webhooks: retried until answered, duplicates parse to the same event ids, out-of-order deliveries keep their dates', async () => {
    let minute = 0;
    r = await rig({ now: () => new Date(Date.UTC(2026, 2, 1, 10, minute++)) });
    r.sink.failNext(2, 503);
    const a = await r.provider.create(input());
    await r.sim.webhooksIdle();
    expect(r.sim.deliveryAttempts.filter((d) => d.pspReference === a.providerReference).map((d) => d.status)).toEqual([
      503, 503, 200,
    ]);

    r.sim.duplicateNextNotifications(1);
    const b = await r.provider.create(input());
    const dup = await eventsFor(r, b.providerReference, 2);
    expect(dup.map((e) => e.eventId)).toEqual([dup[0]!.eventId, dup[0]!.eventId]);

    r.sim.holdNotifications();
    const i = input({ capture: 'manual' });
    const c = await r.provider.create(i);
    await r.provider.capture(c.providerReference, {
      paymentId: i.paymentId,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:capture:1`,
    });
    r.sim.releaseNotifications({ reverse: true });
    const events = await eventsFor(r, c.providerReference, 2);
    expect(events.map((e) => e.type)).toEqual(['payment.succeeded', 'payment.authorized']);
    const sorted = [...events].sort((x, y) => x.occurredAt.localeCompare(y.occurredAt));
    expect(sorted.map((e) => e.type)).toEqual(['payment.authorized', 'payment.succeeded']);
  });

  test('a chargeback and its reversal arrive as signed webhooks', async () => {
    r = await rig();
    const i = input();
    const p = await r.provider.create(i);
    r.sim.chargeback(p.providerReference);
    r.sim.reverseChargeback(p.providerReference);
    const events = await eventsFor(r, p.providerReference, 4);
    expect(events.map((e) => e.type)).toEqual([
      'payment.succeeded',
      'payment.dispute_opened',
      'payment.charged_back',
      'payment.chargeback_reversed',
    ]);
    expect(events[2]).toMatchObject({
      paymentId: i.paymentId,
      amountMinor: 4_990,
      providerReference: p.providerReference,
    });
    expect(r.provider.webhookAck()).toEqual({ status: 200, contentType: 'text/plain', body: '[accepted]' });
  });

  test('a webhook for another merchant account of the company gives no events; a LIVE one is refused on TEST', async () => {
    r = await rig();
    const p = await r.provider.create(input());
    const genuine = await r.sink.waitFor((d) => d.body.includes(p.providerReference));
    const other = resign(genuine, (item) => {
      item.merchantAccountCode = 'OtherECOM';
      item.additionalData.hmacSignature = hmacSignature(item, r.sim.hmacKeyHex);
    });
    expect(await r.provider.parseWebhook(other)).toEqual([]);
    const live = JSON.parse(genuine.body.toString('utf8'));
    live.live = 'true';
    await expect(
      r.provider.parseWebhook({ headers: genuine.headers, body: Buffer.from(JSON.stringify(live)) }),
    ).rejects.toMatchObject({
      reason: 'malformed',
    });
  });

  test('log lines: one per call with flow, key and status, and no key, card number or e-mail', async () => {
    r = await rig();
    const i = input();
    const p = await r.provider.create(i);
    await r.provider.refund(p.providerReference, {
      paymentId: i.paymentId,
      refundId: 'r1',
      amountMinor: 100,
      currency: 'EUR',
      idempotencyKey: `payment:${i.paymentId}:refund:r1`,
    });
    expect(r.logs.map((l) => [l.flow, l.status, l.code])).toEqual([
      ['create', 200, 'Authorised'],
      ['refund', 201, 'received'],
    ]);
    expect(r.logs[0]).toMatchObject({ tenant: 't1', provider: 'adyen', idempotencyKey: i.idempotencyKey });
    const text = JSON.stringify(r.logs);
    for (const secret of [r.sim.apiKey, '4111111111111111', 'erika@example.de']) expect(text).not.toContain(secret);
  });
});

const sandbox = Boolean(process.env.ADYEN_API_KEY && process.env.ADYEN_MERCHANT_ACCOUNT);
if (!sandbox) test.skip('Adyen TEST environment: set ADYEN_API_KEY and ADYEN_MERCHANT_ACCOUNT to run it', () => {});
else
  describe('adyen provider against the Adyen TEST environment', () => {
    test('a test card is authorised and captured at once', async () => {
      const provider = createAdyenProvider({
        apiKey: process.env.ADYEN_API_KEY!,
        merchantAccount: process.env.ADYEN_MERCHANT_ACCOUNT!,
        hmacKeyHex: process.env.ADYEN_HMAC_KEY ?? 'AB'.repeat(32),
        environment: 'TEST',
        timeoutMs: 30_000,
      });
      const p = await provider.create(input());
      expect(p.status).toBe('succeeded');
      expect(p.providerReference).toMatch(/^[A-Z0-9]{16}$/);
      const declined = await provider.create(
        input({ methodData: { extra: card('4111111111111111', 'NOT_ENOUGH_BALANCE') } }),
      );
      expect(declined.decline?.code).toBe('insufficient_funds');
    });
  });

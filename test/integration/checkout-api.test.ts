import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createApiKey } from '../../src/api/api-keys';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/api/logger';
import { SessionView } from '../../src/api/schemas-gateway';
import { recordPayment } from '../../src/gateway/payments';
import { consumeWebhooks } from '../../src/gateway/webhooks';
import { createQueue } from '../../src/queue';
import type { Consumer, QueueDriver } from '../../src/queue/types';
import { openStore, type Store, truncateAll } from '../../src/store/db';
import { gatewayFor, seedDebtor } from '../helpers/gateway';
import { type StripeSimulator, startStripeSimulator } from '../simulators/stripe/server';

const TENANT = 'shop';

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
  body: any;
}

describe('checkout API against the Stripe simulator', () => {
  let store: Store;
  let sim: StripeSimulator;
  let server: Server;
  let base: string;
  let key: string;
  let queue: QueueDriver;
  let consumer: Consumer;
  let debtorId: string;
  let itemIds: Record<string, string>;

  beforeAll(async () => {
    store = await openStore('pglite:memory');
    await store.migrate();
  });
  afterAll(async () => store.close());

  beforeEach(async () => {
    await truncateAll(store);
    sim = await startStripeSimulator({ retryDelaysMs: [50, 100, 200] });
    const { ctx } = gatewayFor(store, {
      tenantId: TENANT,
      providers: {
        stripe: {
          secretKey: sim.secretKey,
          webhookSecret: sim.webhookSecret,
          host: sim.host,
          port: sim.port,
          protocol: 'http',
          timeoutMs: 1500,
        },
      },
      methods: [{ method: 'card', provider: 'stripe' }],
    });
    queue = createQueue({});
    consumer = await consumeWebhooks(ctx, queue, 2);
    const app = createApp({
      store,
      services: {
        recordPayment: (i) => recordPayment(store, i),
        gateway: { ctx, queue, webhookTenant: () => TENANT },
      },
      logger: createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) }),
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    sim.webhooks.setUrl(`${base}/v1/webhooks/stripe/${TENANT}`);
    ({ debtorId, itemIds } = await seedDebtor(store, TENANT, [
      ['A1', 10_000, '2026-09-01'],
      ['A2', 5_000, '2026-10-01'],
      ['A3', 2_500, '2026-11-01'],
    ]));
    key = (await createApiKey(store, TENANT, 'test')).token;
  });

  afterEach(async () => {
    await consumer.close();
    await queue.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await sim.close();
  });

  const call = async (method: string, path: string, body?: unknown, idem?: string): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(idem ? { 'idempotency-key': idem } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  const openOf = async (sourceKey: string) =>
    (
      await store.db
        .selectFrom('items')
        .select(['open_minor', 'status'])
        .where('tenant_id', '=', TENANT)
        .where('item_id', '=', itemIds[sourceKey]!)
        .executeTakeFirstOrThrow()
    ).open_minor;

  const outboxKinds = async () =>
    (
      await store.db
        .selectFrom('outbox')
        .select(['kind', 'item_id'])
        .where('tenant_id', '=', TENANT)
        .orderBy('outbox_id')
        .execute()
    )
      .map((r) => `${r.kind}:${Object.entries(itemIds).find(([, id]) => id === r.item_id)?.[0]}`)
      .sort();

  const webhookEvents = () =>
    store.db.selectFrom('webhook_events').selectAll().where('tenant_id', '=', TENANT).execute();

  const until = async (what: string, check: () => Promise<boolean>) => {
    const deadline = Date.now() + 8000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('a session for two of three invoices offers card, pays, settles both and writes back once', async () => {
    const created = await call('POST', '/v1/checkout/sessions', { debtorId, itemIds: [itemIds.A1, itemIds.A2] }, 's-1');
    expect(created.status).toBe(201);
    expect(SessionView.safeParse(created.body).success).toBe(true);
    expect(created.body.amount).toEqual({ value: '150.00', currency: 'EUR', minor: 15_000 });
    expect(created.body.methods.map((m: { method: string }) => m.method)).toEqual(['card']);

    const replay = await call('POST', '/v1/checkout/sessions', { debtorId, itemIds: [itemIds.A1, itemIds.A2] }, 's-1');
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(created.body.id);
    const conflict = await call('POST', '/v1/checkout/sessions', { debtorId, itemIds: [itemIds.A1] }, 's-1');
    expect(conflict.status).toBe(409);

    const paid = await call(
      'POST',
      `/v1/checkout/sessions/${created.body.id}/pay`,
      { method: 'card', methodData: { token: 'pm_card_visa' } },
      'p-1',
    );
    expect(paid.status).toBe(201);
    expect(paid.body.state).toBe('succeeded');
    expect(paid.body.provider).toBe('stripe');
    expect(paid.body.allocated.minor).toBe(15_000);
    expect(await openOf('A1')).toBe(0);
    expect(await openOf('A2')).toBe(0);
    expect(await openOf('A3')).toBe(2_500);

    // Stripe's webhooks for the same payment arrive afterwards and change nothing.
    await sim.webhooks.idle();
    await until('webhooks processed', async () => (await webhookEvents()).every((e) => e.status !== 'received'));
    expect(await outboxKinds()).toEqual(['payment:A1', 'payment:A2']);
    const session = await call('GET', `/v1/checkout/sessions/${created.body.id}`);
    expect(session.body.status).toBe('completed');
    expect(session.body.payment.state).toBe('succeeded');
  });

  test('create-and-pay under one Idempotency-Key: replayed once paid, 409 for another body or while in flight', async () => {
    const body = { debtorId, itemIds: [itemIds.A1], pay: { method: 'card', methodData: { token: 'pm_card_visa' } } };
    const first = await call('POST', '/v1/checkout/sessions', body, 'cp-1');
    expect(first.status).toBe(201);
    expect(first.body.payment.state).toBe('succeeded');
    expect(await openOf('A1')).toBe(0);
    // The item is paid now (a fresh request would find nothing open): the repeat still gets the first answer.
    const again = await call('POST', '/v1/checkout/sessions', body, 'cp-1');
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await call('POST', '/v1/checkout/sessions', { ...body, itemIds: [itemIds.A2] }, 'cp-1')).status).toBe(409);
    expect(sim.paymentsFor(first.body.payment.id)).toBe(1);

    // A request refused before anything was written keeps no record: the key may be used again.
    const refused = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, itemIds: [itemIds.A2], pay: { method: 'sepa_direct_debit' } },
      'cp-2',
    );
    expect(refused.status).toBe(422);
    const paid = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, itemIds: [itemIds.A2], pay: { method: 'card', methodData: { token: 'pm_card_visa' } } },
      'cp-2',
    );
    expect(paid.status).toBe(201);
    expect(paid.headers.get('idempotent-replayed')).toBeNull();

    // A repeat while the first is still with the provider is told to wait.
    sim.stallNextMoneyMovement();
    sim.webhooks.hold();
    const slowBody = {
      debtorId,
      itemIds: [itemIds.A3],
      pay: { method: 'card', methodData: { token: 'pm_card_visa' } },
    };
    const slow = call('POST', '/v1/checkout/sessions', slowBody, 'cp-3');
    await until(
      'the first request written',
      async () =>
        (await store.db.selectFrom('idempotent_requests').select('key').where('key', '=', 'cp-3').execute()).length > 0,
    );
    const early = await call('POST', '/v1/checkout/sessions', slowBody, 'cp-3');
    expect(early.status).toBe(409);
    expect(early.body.detail).toMatch(/still being processed/);
    expect((await slow).body.payment.state).toBe('pending');
    const late = await call('POST', '/v1/checkout/sessions', slowBody, 'cp-3');
    expect(late.headers.get('idempotent-replayed')).toBe('true');
    expect(late.body.payment.state).toBe('pending');
    sim.webhooks.release();
  });

  test('a return or cancel URL that is not http(s) is refused naming it, before anything is written or charged', async () => {
    const a = await call(
      'POST',
      '/v1/checkout/sessions',
      {
        debtorId,
        returnUrl: 'javascript:alert(document.cookie)',
        cancelUrl: 'ftp://shop.example/cancel',
        pay: { method: 'card', methodData: { token: 'pm_card_visa' } },
      },
      's-url',
    );
    expect(a.status).toBe(400);
    expect(a.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['cancelUrl', 'returnUrl']);
    expect(await store.db.selectFrom('checkout_sessions').select('session_id').execute()).toEqual([]);
    expect(await store.db.selectFrom('payments').select('payment_id').execute()).toEqual([]);
    expect(await openOf('A1')).toBe(10_000);
  });

  test('a free amount in an unknown currency is refused naming amount.currency', async () => {
    const a = await call('POST', '/v1/checkout/sessions', { amount: { value: '10.00', currency: 'EUX' } }, 's-eux');
    expect(a.status).toBe(422);
    expect(a.body.errors).toEqual([{ path: 'amount.currency', message: expect.stringContaining('unknown currency') }]);
    expect(await store.db.selectFrom('checkout_sessions').select('session_id').execute()).toEqual([]);
  });

  test('items and a free amount together are refused naming itemIds, not the debtorId that was given', async () => {
    const a = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, itemIds: [itemIds.A1], amount: { value: '10.00', currency: 'EUR' } },
      's-both',
    );
    expect(a.status).toBe(422);
    expect(a.body.errors).toEqual([{ path: 'itemIds', message: 'give itemIds or an amount, not both' }]);
    expect(await store.db.selectFrom('checkout_sessions').select('session_id').execute()).toEqual([]);
  });

  test('a declined card leaves the session open; another card pays it', async () => {
    const s = await call('POST', '/v1/checkout/sessions', { debtorId }, 's-2');
    const declined = await call(
      'POST',
      `/v1/checkout/sessions/${s.body.id}/pay`,
      { method: 'card', methodData: { token: 'pm_card_chargeDeclinedInsufficientFunds' } },
      'p-2a',
    );
    expect(declined.body.state).toBe('failed');
    expect(declined.body.decline.code).toBe('insufficient_funds');
    expect((await call('GET', `/v1/checkout/sessions/${s.body.id}`)).body.status).toBe('open');
    expect(await openOf('A1')).toBe(10_000);

    const ok = await call(
      'POST',
      `/v1/checkout/sessions/${s.body.id}/pay`,
      { method: 'card', methodData: { token: 'pm_card_visa' } },
      'p-2b',
    );
    expect(ok.body.state).toBe('succeeded');
    expect(ok.body.amount.minor).toBe(17_500);
    expect(await openOf('A3')).toBe(0);
  });

  test('a session created and paid in one call with a declined card answers the decline', async () => {
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, pay: { method: 'card', methodData: { token: 'pm_card_chargeDeclinedInsufficientFunds' } } },
      's-declined',
    );
    expect(s.status).toBe(201);
    expect(s.body.status).toBe('open');
    // The client learns the card was declined, and why (it answered "payment": null, as if nothing had been tried).
    expect(s.body.payment).toMatchObject({ state: 'failed', decline: { code: 'insufficient_funds' } });
    expect(await openOf('A1')).toBe(10_000);
    const again = await call('GET', `/v1/checkout/sessions/${s.body.id}`);
    expect(again.body.status).toBe('open');
  });

  test('3-D Secure: the payer is redirected, approves, and the payment completes', async () => {
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      {
        debtorId,
        itemIds: [itemIds.A3],
        returnUrl: 'https://shop.example/back',
        pay: { method: 'card', methodData: { token: 'pm_card_threeDSecure2Required' } },
      },
      's-3',
    );
    const p = s.body.payment;
    expect(p.state).toBe('requires_action');
    expect(p.nextAction.type).toBe('redirect');
    const challenge = await fetch(`${p.nextAction.url}${p.nextAction.url.includes('?') ? '&' : '?'}outcome=approve`, {
      redirect: 'manual',
    });
    expect(challenge.status).toBe(302);
    const back = new URL(challenge.headers.get('location')!);
    expect(back.origin + back.pathname).toBe('https://shop.example/back');
    expect(back.searchParams.get('clearhub_payment')).toBe(p.id);
    const done = await call('POST', `/v1/payments/${p.id}/complete`, {
      returnParams: Object.fromEntries(back.searchParams),
    });
    expect(done.body.state).toBe('succeeded');
    expect(await openOf('A3')).toBe(0);
  });

  test('a timeout leaves the payment pending, never failed; the webhook settles it once', async () => {
    const s = await call('POST', '/v1/checkout/sessions', { debtorId, itemIds: [itemIds.A2] }, 's-4');
    sim.stallNextMoneyMovement();
    sim.webhooks.hold();
    const r = await call(
      'POST',
      `/v1/checkout/sessions/${s.body.id}/pay`,
      { method: 'card', methodData: { token: 'pm_card_visa' } },
      'p-4',
    );
    // The router answers for the payment: pending, not failed.
    expect(r.status).toBe(201);
    expect(r.body.state).toBe('pending');
    expect(r.body.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['indeterminate']);
    expect(await openOf('A2')).toBe(5_000);
    sim.webhooks.release();
    await until('the webhook to settle it', async () => (await openOf('A2')) === 0);
    const p = await call('GET', `/v1/payments/${r.body.id}`);
    expect(p.body.state).toBe('succeeded');
    expect(sim.paymentsFor(r.body.id)).toBe(1);
    expect(await outboxKinds()).toEqual(['payment:A2']);
  });

  test('authorise, capture part: only the captured amount is allocated, oldest first', async () => {
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, pay: { method: 'card', capture: 'manual', methodData: { token: 'pm_card_visa' } } },
      's-5',
    );
    const id = s.body.payment.id;
    expect(s.body.payment.state).toBe('authorized');
    expect(await openOf('A1')).toBe(10_000);
    const cap = await call(
      'POST',
      `/v1/payments/${id}/capture`,
      { amount: { value: '120.00', currency: 'EUR' } },
      'c-1',
    );
    expect(cap.status).toBe(200);
    expect(cap.body.state).toBe('succeeded');
    expect(cap.body.captured.minor).toBe(12_000);
    expect(await openOf('A1')).toBe(0);
    expect(await openOf('A2')).toBe(3_000);
    expect(await openOf('A3')).toBe(2_500);
    const again = await call(
      'POST',
      `/v1/payments/${id}/capture`,
      { amount: { value: '120.00', currency: 'EUR' } },
      'c-1',
    );
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(sim.capturesFor(cap.body.providerReference)).toBe(1);
  });

  test('a capture under the longest Idempotency-Key we take reaches Stripe under a key Stripe takes', async () => {
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      {
        amount: { value: '10.00', currency: 'EUR' },
        pay: { method: 'card', capture: 'manual', methodData: { token: 'pm_card_visa' } },
      },
      's-long-capture',
    );
    expect(s.body.payment.state).toBe('authorized');
    // 255 characters is what the API allows; `payment:<id>:capture:` in front of it was over Stripe's 255.
    const cap = await call('POST', `/v1/payments/${s.body.payment.id}/capture`, {}, `order-4711/${'x'.repeat(244)}`);
    expect(cap.status).toBe(200);
    expect(cap.body.state).toBe('succeeded');
    expect(sim.capturesFor(cap.body.providerReference)).toBe(1);
  });

  test('a partial refund reopens the newest paid item by that amount and sends a reversal', async () => {
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, itemIds: [itemIds.A1, itemIds.A3], pay: { method: 'card', methodData: { token: 'pm_card_visa' } } },
      's-6',
    );
    const id = s.body.payment.id;
    const r = await call(
      'POST',
      `/v1/payments/${id}/refunds`,
      { amount: { value: '10.00', currency: 'EUR' }, reason: 'goodwill' },
      'r-1',
    );
    expect(r.status).toBe(201);
    expect(r.body.amount.minor).toBe(1_000);
    const twice = await call(
      'POST',
      `/v1/payments/${id}/refunds`,
      { amount: { value: '10.00', currency: 'EUR' }, reason: 'goodwill' },
      'r-1',
    );
    expect(twice.body.id).toBe(r.body.id);
    // The refund is counted from Stripe's answer or, when Stripe reports it pending, from its webhook.
    await until('the refund counted', async () => (await call('GET', `/v1/payments/${id}`)).body.refunded.minor > 0);
    await sim.webhooks.idle();
    await until('refund webhooks', async () => (await webhookEvents()).every((e) => e.status !== 'received'));
    const p = await call('GET', `/v1/payments/${id}`);
    expect(p.body.state).toBe('partially_refunded');
    expect(p.body.refunded.minor).toBe(1_000);
    expect(await openOf('A3')).toBe(1_000);
    expect(await openOf('A1')).toBe(0);
    expect(await outboxKinds()).toEqual(['payment:A1', 'payment:A3', 'reversal:A3']);
    const tooMuch = await call(
      'POST',
      `/v1/payments/${id}/refunds`,
      { amount: { value: '200.00', currency: 'EUR' } },
      'r-2',
    );
    expect(tooMuch.status).toBe(422);
  });

  test('two refunds under long Idempotency-Keys that differ only at the end are two refunds', async () => {
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, itemIds: [itemIds.A1], pay: { method: 'card', methodData: { token: 'pm_card_visa' } } },
      's-long',
    );
    const id = s.body.payment.id;
    const prefix = `shop-7/customer-4711/order-2026-000123/${'line-item-refunds/'.repeat(5)}`;
    const first = await call(
      'POST',
      `/v1/payments/${id}/refunds`,
      { amount: { value: '1.00', currency: 'EUR' } },
      `${prefix}1`,
    );
    const second = await call(
      'POST',
      `/v1/payments/${id}/refunds`,
      { amount: { value: '2.00', currency: 'EUR' } },
      `${prefix}2`,
    );
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.id).not.toBe(first.body.id);
    expect(second.body.amount.minor).toBe(200);
    const refunds = await store.db.selectFrom('refunds').select('amount_minor').where('payment_id', '=', id).execute();
    expect(refunds.map((r) => r.amount_minor).sort()).toEqual([100, 200]);
  });

  test('a forged webhook is rejected with 400 and stores nothing; one event delivered ten times counts once', async () => {
    sim.webhooks.hold();
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, itemIds: [itemIds.A1], pay: { method: 'card', methodData: { token: 'pm_card_visa' } } },
      's-7',
    );
    expect(s.body.payment.state).toBe('succeeded');
    const evt = sim.events.find((e) => e.type === 'payment_intent.succeeded')!;
    const body = JSON.stringify(evt);
    const t = Math.floor(Date.now() / 1000);
    const { createHmac } = await import('node:crypto');
    const sign = (payload: string, ts: number, secret = sim.webhookSecret) =>
      `t=${ts},v1=${createHmac('sha256', secret).update(`${ts}.${payload}`).digest('hex')}`;
    const post = (payload: string, signature: string) =>
      fetch(`${base}/v1/webhooks/stripe/${TENANT}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signature },
        body: payload,
      });
    expect((await post(body, sign(body, t, 'whsec_wrong'))).status).toBe(400);
    expect((await post(body, sign(body, t - 3600))).status).toBe(400);
    expect((await post(body.replace('"succeeded"', '"canceled"'), sign(body, t))).status).toBe(400);
    expect(await webhookEvents()).toHaveLength(0);
    for (let i = 0; i < 10; i++) expect((await post(body, sign(body, t))).status).toBe(200);
    await until('processed', async () => (await webhookEvents()).every((e) => e.status !== 'received'));
    const events = await webhookEvents();
    expect(events).toHaveLength(1);
    expect(events[0]!.deliveries).toBe(10);
    expect(await outboxKinds()).toEqual(['payment:A1']);
  });

  test('a dispute holds the paid items out of dunning until it is closed', async () => {
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, itemIds: [itemIds.A2], pay: { method: 'card', methodData: { token: 'pm_card_visa' } } },
      's-8',
    );
    const dispute = sim.createDispute(s.body.payment.providerReference, { reason: 'fraudulent' });
    const holds = () => store.db.selectFrom('holds').selectAll().where('tenant_id', '=', TENANT).execute();
    await until('a hold', async () => (await holds()).some((h) => h.resolved_at === null));
    const [hold] = await holds();
    expect(hold!.item_id).toBe(itemIds.A2);
    sim.closeDispute(String(dispute.id), 'won');
    await until('the hold released', async () => (await holds()).every((h) => h.resolved_at !== null));
  });

  test('a dispute won whose events arrive in reverse order: the payment ends paid and its item closed', async () => {
    const s = await call(
      'POST',
      '/v1/checkout/sessions',
      { debtorId, itemIds: [itemIds.A3], pay: { method: 'card', methodData: { token: 'pm_card_visa' } } },
      's-9',
    );
    const processed = async (type: string) =>
      (await webhookEvents()).some((e) => e.type === type && e.status === 'processed');
    await until('the payment webhook', () => processed('payment.succeeded'));
    expect(await openOf('A3')).toBe(0);
    // Stripe does not promise order: the money coming back is delivered before the money leaving.
    sim.webhooks.hold();
    const dispute = sim.createDispute(s.body.payment.providerReference);
    sim.closeDispute(String(dispute.id), 'won');
    sim.webhooks.release('reversed');
    const state = async () =>
      (
        await store.db
          .selectFrom('payments')
          .select('state')
          .where('payment_id', '=', s.body.payment.id)
          .executeTakeFirstOrThrow()
      ).state;
    // The reversal waits (and is retried) until its chargeback is in; before, the chargeback stood.
    await until(
      'the chargeback and its reversal',
      async () => (await processed('payment.charged_back')) && (await processed('payment.chargeback_reversed')),
    );
    expect(await state()).toBe('succeeded');
    expect(await openOf('A3')).toBe(0);
  });
});

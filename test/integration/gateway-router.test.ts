import { createServer } from 'node:net';
import { createSession, paySession } from '../../src/gateway/checkout';
import { openStore, type Store, truncateAll } from '../../src/store/db';
import { gatewayFor, seedDebtor } from '../helpers/gateway';
import { type AdyenSimulator, startAdyenSimulator } from '../simulators/adyen/server';
import { type StripeSimulator, startStripeSimulator } from '../simulators/stripe/server';

const TENANT = 'shop';
const adyenCard = {
  encryptedCardNumber: 'test_4111111111111111',
  encryptedExpiryMonth: 'test_03',
  encryptedExpiryYear: 'test_2030',
  encryptedSecurityCode: 'test_737',
};

/** A port nothing listens on: connections are refused, so no request ever left. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('router and eligibility', () => {
  let store: Store;
  let stripe: StripeSimulator;
  let adyen: AdyenSimulator;

  beforeAll(async () => {
    store = await openStore('pglite:memory');
    await store.migrate();
  });
  afterAll(async () => store.close());
  beforeEach(async () => {
    await truncateAll(store);
    stripe = await startStripeSimulator();
    adyen = await startAdyenSimulator();
  });
  afterEach(async () => {
    await stripe.close();
    await adyen.close();
  });

  const adyenOptions = () => ({
    apiKey: adyen.apiKey,
    merchantAccount: adyen.merchantAccount,
    hmacKeyHex: adyen.hmacKeyHex,
    environment: 'TEST',
    baseUrl: adyen.url,
    timeoutMs: 2000,
  });
  const stripeOptions = (port = stripe.port) => ({
    secretKey: stripe.secretKey,
    webhookSecret: stripe.webhookSecret,
    host: '127.0.0.1',
    port,
    protocol: 'http',
    timeoutMs: 1500,
  });
  const cardVia = [
    { method: 'card', provider: 'stripe' },
    { method: 'card', provider: 'adyen' },
  ];

  test('fails over to the next provider when the first certainly took nothing (connection refused)', async () => {
    const { ctx } = gatewayFor(store, {
      tenantId: TENANT,
      providers: { stripe: stripeOptions(await closedPort()), adyen: adyenOptions() },
      methods: cardVia,
    });
    const { debtorId } = await seedDebtor(store, TENANT, [['A1', 4_990, '2026-10-01']]);
    const s = await createSession(ctx, TENANT, { debtorId });
    const p = await paySession(ctx, TENANT, s.sessionId, { method: 'card', methodData: { extra: adyenCard } });
    expect(p.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(['stripe:unreachable', 'adyen:answered']);
    expect(p.provider).toBe('adyen');
    expect(p.state).toBe('succeeded');
    expect(adyen.paymentsFor(p.paymentId)).toBe(1);
  });

  test('does not fail over when the first provider may have taken the money (a 500 after applying)', async () => {
    const { ctx } = gatewayFor(store, {
      tenantId: TENANT,
      providers: { stripe: stripeOptions(), adyen: adyenOptions() },
      methods: cardVia,
    });
    const { debtorId } = await seedDebtor(store, TENANT, [['A1', 4_990, '2026-10-01']]);
    const s = await createSession(ctx, TENANT, { debtorId });
    stripe.failNextPost({ status: 500, applied: true });
    const p = await paySession(ctx, TENANT, s.sessionId, { method: 'card', methodData: { token: 'pm_card_visa' } });
    expect(p.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(['stripe:indeterminate']);
    expect(p.state).toBe('pending');
    expect(adyen.paymentsFor(p.paymentId)).toBe(0);
    const due = await store.db.selectFrom('payments').select('sync_due_at').executeTakeFirstOrThrow();
    expect(due.sync_due_at).not.toBeNull();
  });

  test('a provider that keeps failing is skipped by its open circuit', async () => {
    const { ctx } = gatewayFor(store, {
      tenantId: TENANT,
      providers: { stripe: stripeOptions(await closedPort()), adyen: adyenOptions() },
      methods: cardVia,
      router: { breakerThreshold: 2, halfOpenAfterMs: 60_000 },
    });
    const { debtorId } = await seedDebtor(store, TENANT, [['A1', 1_000, '2026-10-01']]);
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await createSession(ctx, TENANT, { debtorId });
      const p = await paySession(ctx, TENANT, s.sessionId, { method: 'card', methodData: { extra: adyenCard } });
      outcomes.push(p.attempts[0]!.outcome);
      // Open the item again so the next round has something to pay.
      await store.db.updateTable('items').set({ open_minor: 1_000, status: 'open' }).execute();
    }
    expect(outcomes).toEqual(['unreachable', 'unreachable', 'circuit_open']);
  });

  test('a debtor at the configured dunning level loses pay on invoice; paying the dunned items restores it', async () => {
    const { ctx } = gatewayFor(store, {
      tenantId: TENANT,
      providers: {
        stripe: stripeOptions(),
        invoice: { creditorName: 'ACME Mobile GmbH', iban: 'DE89370400440532013000', paymentTermDays: 14 },
      },
      methods: [
        { method: 'invoice', provider: 'invoice' },
        { method: 'card', provider: 'stripe' },
      ],
      withdraw: { atLevel: 2, methods: ['invoice'] },
    });
    const { debtorId, itemIds } = await seedDebtor(store, TENANT, [
      ['A1', 3_000, '2026-08-01', 2],
      ['A2', 2_000, '2026-11-01', 0],
    ]);
    const before = await createSession(ctx, TENANT, { debtorId });
    expect(before.methods.map((m) => m.method)).toEqual(['card']);
    expect(before.withdrawn).toEqual([
      { method: 'invoice', reason: 'withdrawn at dunning level 2 (the debtor is at level 2)' },
    ]);
    await expect(paySession(ctx, TENANT, before.sessionId, { method: 'invoice' })).rejects.toThrow(/not offered/);

    const dunned = await createSession(ctx, TENANT, { debtorId, itemIds: [itemIds.A1!] });
    const paid = await paySession(ctx, TENANT, dunned.sessionId, {
      method: 'card',
      methodData: { token: 'pm_card_visa' },
    });
    expect(paid.state).toBe('succeeded');

    const after = await createSession(ctx, TENANT, { debtorId });
    expect(after.methods.map((m) => m.method)).toEqual(['invoice', 'card']);
    const onInvoice = await paySession(ctx, TENANT, after.sessionId, { method: 'invoice' });
    expect(onInvoice.nextAction?.type).toBe('await');
  });
});

/**
 * Webhook events about one payment processed in another order than they happened: the outcome is the one the
 * provider reached. The provider here hands over the events it is given as they are (its own parsing and signatures
 * are the provider tests' business).
 */
import { createAndPaySession, type GatewayContext } from '../../src/gateway/checkout';
import type { PaymentProvider, WebhookEvent } from '../../src/gateway/providers/types';
import { PaymentRouter } from '../../src/gateway/router';
import { processWebhookEvent, receiveWebhook } from '../../src/gateway/webhooks';
import { openStore, type Store } from '../../src/store/db';
import { gatewayFor, seedDebtor } from '../helpers/gateway';

/** A card provider that pays in full at once and whose webhook bodies are our events as JSON. */
const provider: PaymentProvider = {
  name: 'stripe',
  capabilities: {
    partialCapture: true,
    partialRefund: true,
    multipleCaptures: false,
    manualCapture: true,
    recurring: false,
    webhooks: true,
    statusSync: true,
  },
  async create(input) {
    return {
      providerReference: `pi_${input.paymentId}`,
      status: 'succeeded',
      providerStatus: 'succeeded',
      amountMinor: input.amountMinor,
      currency: input.currency,
      capturedMinor: input.amountMinor,
      refundedMinor: 0,
      nextAction: { type: 'none' },
    };
  },
  capture: () => Promise.reject(new Error('not used')),
  complete: () => Promise.reject(new Error('not used')),
  cancel: () => Promise.reject(new Error('not used')),
  refund: () => Promise.reject(new Error('not used')),
  retrieve: () => Promise.reject(new Error('not used')),
  parseWebhook: async (raw) => JSON.parse(raw.body.toString('utf8')) as WebhookEvent[],
};

describe('webhook events out of order', () => {
  let store: Store;
  let n = 0;
  beforeAll(async () => {
    store = await openStore('pglite:memory');
    await store.migrate();
  });
  afterAll(async () => store.close());

  async function paid() {
    const tenantId = `t${++n}`;
    const { debtorId, itemIds } = await seedDebtor(store, tenantId, [['A1', 10_000, '2026-09-01']]);
    const { tenant } = gatewayFor(store, {
      tenantId,
      providers: {},
      methods: [{ method: 'card', provider: 'stripe' }],
    });
    const t = { ...tenant, router: new PaymentRouter(new Map([['stripe', provider]])) };
    const ctx: GatewayContext = { store, tenant: () => t };
    const view = await createAndPaySession(ctx, tenantId, { debtorId }, { method: 'card', methodData: { token: 'x' } });
    const paymentId = view.payment!.paymentId;
    const deliver = (e: Omit<WebhookEvent, 'providerReference' | 'paymentId' | 'occurredAt'>) =>
      receiveWebhook(ctx, undefined, {
        tenantId,
        provider: 'stripe',
        raw: {
          headers: {},
          body: Buffer.from(
            JSON.stringify([
              { ...e, paymentId, providerReference: `pi_${paymentId}`, occurredAt: new Date().toISOString() },
            ]),
          ),
        },
      });
    const payment = () =>
      store.db
        .selectFrom('payments')
        .select(['state', 'allocated_minor'])
        .where('tenant_id', '=', tenantId)
        .where('payment_id', '=', paymentId)
        .executeTakeFirstOrThrow();
    const openA1 = async () =>
      (
        await store.db
          .selectFrom('items')
          .select('open_minor')
          .where('tenant_id', '=', tenantId)
          .where('item_id', '=', itemIds.A1!)
          .executeTakeFirstOrThrow()
      ).open_minor;
    return { ctx, tenantId, deliver, payment, openA1 };
  }

  test('a chargeback reversal that arrives before its chargeback waits for it: the payment ends paid', async () => {
    const p = await paid();
    expect(await p.openA1()).toBe(0);
    // The bank's chargeback was lost and reversed; the reversal is delivered first, the chargeback after it, and
    // the queue then retries whatever is still unprocessed.
    await p.deliver({ eventId: 'dp_1:reinstated', type: 'payment.chargeback_reversed' }).catch(() => undefined);
    await p.deliver({ eventId: 'dp_1:withdrawn', type: 'payment.charged_back', amountMinor: 10_000, currency: 'EUR' });
    expect(await p.openA1()).toBe(10_000);
    await processWebhookEvent(p.ctx, { tenantId: p.tenantId, provider: 'stripe', eventId: 'dp_1:reinstated' });
    expect(await p.payment()).toEqual({ state: 'succeeded', allocated_minor: 10_000 });
    expect(await p.openA1()).toBe(0);
  });
});

/**
 * A session created and paid in one request: the session and its payment are written before the provider is called,
 * and the provider's answer is recorded in one statement that checks nothing changed meanwhile — when something did
 * (another payment took part of an item, a webhook was faster), the answer is recorded again under locks. Runs on
 * both store dialects, with a provider that lets a test act while the provider "works".
 */
import { applyState, lockPayment } from '../../src/gateway/apply';
import { type CheckoutRecord, createAndPaySession, type GatewayContext } from '../../src/gateway/checkout';
import { recordPayment } from '../../src/gateway/payments';
import type { CreatePaymentInput, PaymentProvider, ProviderPayment } from '../../src/gateway/providers/types';
import { PaymentRouter } from '../../src/gateway/router';
import { syncDuePayments } from '../../src/gateway/status-sync';
import type { Store } from '../../src/store/db';
import { gatewayFor, seedDebtor } from '../helpers/gateway';
import { STORE_FACTORIES } from '../helpers/stores';

/** A card provider that answers `succeeded` for the full amount, after `meanwhile` has run. */
function providerThat(meanwhile: (input: CreatePaymentInput) => Promise<void>): PaymentProvider {
  const unused = () => Promise.reject(new Error('not used in this test'));
  return {
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
    async create(input): Promise<ProviderPayment> {
      await meanwhile(input);
      return {
        providerReference: `pi_${input.paymentId.slice(0, 8)}`,
        status: 'succeeded',
        providerStatus: 'succeeded',
        amountMinor: input.amountMinor,
        currency: input.currency,
        capturedMinor: input.amountMinor,
        refundedMinor: 0,
        nextAction: { type: 'none' },
      };
    },
    capture: unused,
    complete: unused,
    cancel: unused,
    refund: unused,
    retrieve: unused,
    parseWebhook: unused,
  };
}

describe.each(STORE_FACTORIES)('checkout answer on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let n = 0;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose?.());

  /** A tenant of its own per test, with debtor C1's items A1 (100.00, oldest) and A2 (50.00). */
  async function setup(meanwhile: (input: CreatePaymentInput) => Promise<void> = async () => {}) {
    const tenantId = `t${++n}`;
    const { debtorId, itemIds } = await seedDebtor(store, tenantId, [
      ['A1', 10_000, '2026-09-01'],
      ['A2', 5_000, '2026-10-01'],
    ]);
    const { tenant } = gatewayFor(store, {
      tenantId,
      providers: {},
      methods: [{ method: 'card', provider: 'stripe' }],
    });
    const t = { ...tenant, router: new PaymentRouter(new Map([['stripe', providerThat(meanwhile)]])) };
    const ctx: GatewayContext = { store, tenant: () => t };
    const open = async (key: 'A1' | 'A2') =>
      (
        await store.db
          .selectFrom('items')
          .select(['open_minor', 'status'])
          .where('tenant_id', '=', tenantId)
          .where('item_id', '=', itemIds[key]!)
          .executeTakeFirstOrThrow()
      ).open_minor;
    const eventTypes = async () =>
      (
        await store.db
          .selectFrom('events')
          .select(['type'])
          .where('tenant_id', '=', tenantId)
          .where('type', 'like', 'payment.%')
          .orderBy('event_id')
          .execute()
      ).map((e) => e.type);
    return { tenantId, debtorId, itemIds, ctx, open, eventTypes };
  }
  const card = { method: 'card', methodData: { token: 'pm_card_visa' } };

  test('nothing changed meanwhile: paid, allocated oldest first, answered from what was written', async () => {
    const s = await setup();
    const view = await createAndPaySession(s.ctx, s.tenantId, { debtorId: s.debtorId }, card);
    expect(view.status).toBe('completed');
    expect(view.payment).toMatchObject({ state: 'succeeded', allocatedMinor: 15_000, capturedMinor: 15_000 });
    expect(view.items.map((i) => i.openMinor)).toEqual([0, 0]);
    expect(await s.open('A1')).toBe(0);
    expect(await s.open('A2')).toBe(0);
    expect(await s.eventTypes()).toEqual([
      'payment.recorded',
      'payment.state_changed',
      'payment.allocated',
      'payment.allocated',
    ]);
    const payment = await store.db
      .selectFrom('payments')
      .select(['state', 'sync_due_at', 'provider_reference', 'idempotency_key'])
      .where('tenant_id', '=', s.tenantId)
      .executeTakeFirstOrThrow();
    expect(payment).toMatchObject({ state: 'succeeded', sync_due_at: null });
    expect(payment.idempotency_key).toBe(`checkout:${view.sessionId}:1`);
  });

  test("a free amount of a debtor goes to the debtor's open items, oldest first", async () => {
    const s = await setup();
    const view = await createAndPaySession(
      s.ctx,
      s.tenantId,
      { debtorId: s.debtorId, amountMinor: 12_000, currency: 'EUR' },
      card,
    );
    expect(view.items).toEqual([]);
    expect(view.payment).toMatchObject({ state: 'succeeded', allocatedMinor: 12_000 });
    expect(await s.open('A1')).toBe(0);
    expect(await s.open('A2')).toBe(3_000);
  });

  test('two checkouts of the same items at once: the items are paid once, the rest stays as credit', async () => {
    const s = await setup();
    const settled = await Promise.allSettled([
      createAndPaySession(s.ctx, s.tenantId, { debtorId: s.debtorId }, card),
      createAndPaySession(s.ctx, s.tenantId, { debtorId: s.debtorId }, card),
    ]);
    // When one checkout is done before the other reads the items, the other is refused before any money moves;
    // otherwise both are paid, and what the second finds already paid stays on its payment as credit.
    const paid = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const r of settled) {
      if (r.status === 'rejected') expect(String(r.reason)).toMatch(/no open items to pay/);
    }
    expect(paid.length).toBeGreaterThanOrEqual(1);
    for (const p of paid) expect(p.payment?.state).toBe('succeeded');
    expect(paid.reduce((n, p) => n + p.payment!.allocatedMinor, 0)).toBe(15_000);
    expect(await s.open('A1')).toBe(0);
    expect(await s.open('A2')).toBe(0);
    const allocated = await store.db
      .selectFrom('allocations')
      .select((eb) => eb.fn.sum<number>('amount_minor').as('sum'))
      .where('tenant_id', '=', s.tenantId)
      .executeTakeFirstOrThrow();
    expect(Number(allocated.sum)).toBe(15_000);
  });

  test('another payment took part of an item meanwhile: the answer is allocated to what is open now', async () => {
    const s = await setup(async () => {
      await recordPayment(store, {
        tenantId: s.tenantId,
        idempotencyKey: 'counter-1',
        debtorId: s.debtorId,
        amountMinor: 3_000,
        currency: 'EUR',
        method: 'cash',
      });
    });
    const view = await createAndPaySession(s.ctx, s.tenantId, { debtorId: s.debtorId }, card);
    // 150.00 paid by card against 70.00 + 50.00 still open: 120.00 allocated, 30.00 stays on the payment as credit.
    expect(view.payment).toMatchObject({ state: 'succeeded', capturedMinor: 15_000, allocatedMinor: 12_000 });
    expect(view.items.map((i) => i.openMinor)).toEqual([0, 0]);
    expect(await s.open('A1')).toBe(0);
    expect(await s.open('A2')).toBe(0);
    const allocated = await store.db
      .selectFrom('allocations')
      .select((eb) => eb.fn.sum<number>('amount_minor').as('sum'))
      .where('tenant_id', '=', s.tenantId)
      .executeTakeFirstOrThrow();
    expect(Number(allocated.sum)).toBe(15_000);
    const outbox = await store.db
      .selectFrom('outbox')
      .select(['outbox_id'])
      .where('tenant_id', '=', s.tenantId)
      .execute();
    expect(outbox).toHaveLength(3); // the counter payment's write-back for A1, the card's for A1 and A2
  });

  test("the provider's webhook was recorded first: the answer changes nothing and the view is read back", async () => {
    const s = await setup(async (input) => {
      // As the webhook consumer would: lock the payment and apply the provider's success.
      await store.db.transaction().execute(async (trx) => {
        const row = (await lockPayment(trx, s.tenantId, input.paymentId))!;
        await applyState(trx, row, {
          status: 'succeeded',
          providerReference: `pi_${input.paymentId.slice(0, 8)}`,
          capturedMinor: input.amountMinor,
        });
      });
    });
    const view = await createAndPaySession(s.ctx, s.tenantId, { debtorId: s.debtorId }, card);
    expect(view.status).toBe('completed');
    expect(view.payment).toMatchObject({ state: 'succeeded', allocatedMinor: 15_000 });
    expect(view.payment!.attempts.map((a) => a.outcome)).toEqual(['answered']);
    expect(view.items.map((i) => i.openMinor)).toEqual([0, 0]);
    // One move, one allocation per item: not two.
    expect(await s.eventTypes()).toEqual([
      'payment.recorded',
      'payment.state_changed',
      'payment.allocated',
      'payment.allocated',
    ]);
  });

  test('while the provider works, the payment is written and a status sync is due should no answer be recorded', async () => {
    let release!: () => void;
    let called!: () => void;
    const calledP = new Promise<void>((r) => {
      called = r;
    });
    const s = await setup(async () => {
      called();
      await new Promise<void>((r) => {
        release = r;
      });
    });
    const paying = createAndPaySession(s.ctx, s.tenantId, { debtorId: s.debtorId }, card);
    await calledP;
    const during = await store.db
      .selectFrom('payments')
      .innerJoin('checkout_sessions as s', (j) =>
        j.onRef('s.tenant_id', '=', 'payments.tenant_id').onRef('s.payment_id', '=', 'payments.payment_id'),
      )
      .select(['payments.state', 'payments.sync_due_at', 's.status'])
      .where('payments.tenant_id', '=', s.tenantId)
      .executeTakeFirstOrThrow();
    expect(during.state).toBe('created');
    expect(during.status).toBe('processing');
    expect(Date.parse(during.sync_due_at!)).toBeGreaterThan(Date.now());
    // Had the process stopped here, the status sync would find it (and wait for the webhook: no reference yet).
    const sync = await syncDuePayments(s.ctx, s.tenantId, { now: new Date(Date.parse(during.sync_due_at!) + 1) });
    expect(sync).toMatchObject({ checked: 1, waitingForWebhook: 1 });
    release();
    const view = await paying;
    expect(view.payment?.state).toBe('succeeded');
    expect(await s.open('A1')).toBe(0);
  });

  test("the caller's record is claimed with the first write and answered with the last", async () => {
    const s = await setup();
    const writes: string[] = [];
    const record: CheckoutRecord = {
      claim: (stmt) => {
        writes.push('claim');
        const part = stmt.nextName();
        stmt.add('SELECT 1 AS mine');
        return `EXISTS (SELECT 1 FROM ${part})`;
      },
      claimed: (won) => {
        writes.push(`claimed ${won}`);
      },
      answer: (_stmt, view) => {
        writes.push(`answer ${view.payment?.state}`);
      },
    };
    const view = await createAndPaySession(s.ctx, s.tenantId, { debtorId: s.debtorId }, card, record);
    expect(view.payment?.state).toBe('succeeded');
    expect(writes).toEqual(['claim', 'claimed true', 'answer succeeded']);
  });

  test('a claim that does not hold writes nothing and calls no provider', async () => {
    let calls = 0;
    const s = await setup(async () => {
      calls++;
    });
    const record: CheckoutRecord = {
      claim: (stmt) => {
        const part = stmt.nextName();
        stmt.add('SELECT 1 AS mine WHERE false');
        return `EXISTS (SELECT 1 FROM ${part})`;
      },
      claimed: (won) => {
        if (!won) throw new Error('taken');
      },
      answer: () => {
        throw new Error('not reached');
      },
    };
    await expect(createAndPaySession(s.ctx, s.tenantId, { debtorId: s.debtorId }, card, record)).rejects.toThrow(
      'taken',
    );
    expect(calls).toBe(0);
    for (const table of ['checkout_sessions', 'payments'] as const) {
      const rows = await store.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', s.tenantId)
        .executeTakeFirstOrThrow();
      expect({ table, n: Number(rows.n) }).toEqual({ table, n: 0 });
    }
    expect(await s.eventTypes()).toEqual([]);
  });
});

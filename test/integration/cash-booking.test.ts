import { sql } from 'kysely';
import { planAllocation } from '../../src/cash/allocation-rules';
import { BOOKING_CONFLICT, type Booking, seqId, seqSql, writeBookings } from '../../src/cash/booking';
import { documentKey } from '../../src/cash/remittance';
import { allocateSettled } from '../../src/gateway/settlement';
import type { Store } from '../../src/store/db';
import { ingestBatch } from '../../src/store/ingest';
import { STORE_FACTORIES } from '../helpers/stores';

const ITEMS = [
  ['K1', 'INV-1', 119_00, '2026-10-01'],
  ['K2', 'INV-2', 59_90, '2026-11-01'],
  ['K3', 'INV-3', 20_00, '2026-11-10'],
] as const;

async function seed(store: Store, tenantId: string) {
  await ingestBatch(store, {
    tenantId,
    source: 'billing',
    debtorMatch: 'externalId',
    debtors: [{ externalId: 'C1', name: 'Erika Mustermann', type: 'B2C', language: 'de', tags: [] }],
    items: ITEMS.map(([sourceKey, documentNumber, amountMinor, dueDate]) => ({
      sourceKey,
      externalId: 'C1',
      documentNumber,
      currency: 'EUR',
      amountMinor,
      openMinor: amountMinor,
      dueDate,
      dunningLevel: 0,
    })),
  });
  const items = await store.db
    .selectFrom('items')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('source_key')
    .execute();
  await store.db
    .insertInto('payments')
    .values({
      tenant_id: tenantId,
      payment_id: `pay-${tenantId}`,
      debtor_id: items[0]!.debtor_id,
      method: 'sepa_credit_transfer',
      provider: 'bank',
      merchant_reference: `m-${tenantId}`,
      provider_reference: null,
      currency: 'EUR',
      amount_minor: 150_00,
      state: 'succeeded',
    })
    .execute();
  return items;
}

/** What a source and the event log see of a payment's allocation, with the tenant's ids taken out. */
async function observed(store: Store, tenantId: string) {
  const paymentId = `pay-${tenantId}`;
  const strip = (v: unknown) => JSON.parse(JSON.stringify(v).replaceAll(paymentId, 'PAY'));
  const items = await store.db
    .selectFrom('items')
    .select(['source_key', 'open_minor', 'status'])
    .where('tenant_id', '=', tenantId)
    .orderBy('source_key')
    .execute();
  const allocations = await store.db
    .selectFrom('allocations as a')
    .innerJoin('items as i', (j) => j.onRef('i.tenant_id', '=', 'a.tenant_id').onRef('i.item_id', '=', 'a.item_id'))
    .select(['i.source_key', 'a.amount_minor'])
    .where('a.tenant_id', '=', tenantId)
    .orderBy('i.source_key')
    .execute();
  const ids = new Map(
    (
      await store.db.selectFrom('items').select(['item_id', 'source_key']).where('tenant_id', '=', tenantId).execute()
    ).map((r) => [r.item_id, r.source_key]),
  );
  const byKey = (v: unknown) => {
    let s = JSON.stringify(strip(v));
    for (const [id, key] of ids) s = s.replaceAll(id, key);
    return JSON.parse(s);
  };
  const outbox = (
    await store.db
      .selectFrom('outbox')
      .select(['outbox_id', 'source', 'kind', 'command', 'status'])
      .where('tenant_id', '=', tenantId)
      .execute()
  )
    .map(byKey)
    .sort((a, b) => a.outbox_id.localeCompare(b.outbox_id));
  const payment = await store.db
    .selectFrom('payments')
    .select(['allocated_minor'])
    .where('payment_id', '=', paymentId)
    .executeTakeFirstOrThrow();
  const events = (
    await store.db
      .selectFrom('events')
      .select(['type', 'subject', 'payload'])
      .where('tenant_id', '=', tenantId)
      .where('type', 'in', ['payment.allocated', 'item.closed'])
      .execute()
  )
    .map(byKey)
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { items, allocations, outbox, payment, events };
}

describe.each(STORE_FACTORIES)('bulk booking on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose?.());

  test('writes what allocateSettled writes: allocations, item amounts, write-backs and events', async () => {
    const viaSettlement = await seed(store, 'one');
    await store.db.transaction().execute((trx) =>
      allocateSettled(trx, {
        tenantId: 'one',
        paymentId: 'pay-one',
        debtorId: viaSettlement[0]!.debtor_id,
        amountMinor: 150_00,
        currency: 'EUR',
        valueDate: '2026-11-20',
      }),
    );

    const viaBulk = await seed(store, 'two');
    const plan = planAllocation(
      150_00,
      viaBulk.map((i) => ({
        itemId: i.item_id,
        dueDate: i.due_date,
        documentNumber: i.document_number,
        openMinor: i.open_minor,
        isFee: false,
      })),
      'oldest-first',
    );
    const booking: Booking = {
      paymentId: 'pay-two',
      idempotencyKey: 'statement:x:1',
      method: 'sepa_credit_transfer',
      providerReference: null,
      debtorId: viaBulk[0]!.debtor_id,
      currency: 'EUR',
      amountMinor: 150_00,
      valueDate: '2026-11-20',
      receivedAt: '2026-11-20',
      lines: plan.allocations.map((a) => {
        const i = viaBulk.find((x) => x.item_id === a.itemId)!;
        return {
          itemId: i.item_id,
          amountMinor: a.amountMinor,
          openBeforeMinor: i.open_minor,
          cleared: a.amountMinor === i.open_minor,
        };
      }),
    };
    // The bulk path inserts its payment itself: drop the seeded one and let writeBookings write it.
    await store.db.deleteFrom('payments').where('payment_id', '=', 'pay-two').execute();
    await store.rawTransaction((s) => writeBookings(s, 'two', [booking]));

    const one = await observed(store, 'one');
    const two = await observed(store, 'two');
    expect(two).toEqual(one);
    expect(one.items).toEqual([
      { source_key: 'K1', open_minor: 0, status: 'closed' },
      { source_key: 'K2', open_minor: 28_90, status: 'open' },
      { source_key: 'K3', open_minor: 20_00, status: 'open' },
    ]);
  });

  test('a batch planned with amounts that changed meanwhile writes nothing', async () => {
    const items = await seed(store, 'three');
    await store.db.deleteFrom('payments').where('payment_id', '=', 'pay-three').execute();
    const [k1, k2] = items;
    const booking = (openBeforeMinor: number): Booking => ({
      paymentId: 'pay-three',
      idempotencyKey: 'statement:x:3',
      method: 'sepa_credit_transfer',
      providerReference: null,
      debtorId: k1!.debtor_id,
      currency: 'EUR',
      amountMinor: 50_00,
      valueDate: '2026-11-20',
      receivedAt: '2026-11-20',
      lines: [{ itemId: k1!.item_id, amountMinor: 50_00, openBeforeMinor, cleared: false }],
    });
    const untouched = async () => {
      const rows = await store.db
        .selectFrom('items')
        .select(['open_minor', 'version'])
        .where('tenant_id', '=', 'three')
        .orderBy('source_key')
        .execute();
      const payments = await store.db
        .selectFrom('payments')
        .select('payment_id')
        .where('tenant_id', '=', 'three')
        .execute();
      expect(rows).toEqual(ITEMS.map(([, , amount]) => ({ open_minor: amount, version: 1 })));
      expect(payments).toEqual([]);
    };
    // Planned with 100.00 open on K1, which is open for 119.00 (it changed since): refused, nothing written.
    await expect(store.rawTransaction((s) => writeBookings(s, 'three', [booking(100_00)]))).rejects.toMatchObject({
      code: BOOKING_CONFLICT,
    });
    await untouched();
    // K2 taken as paid in full, but it is open: refused too (the plan would have paid it).
    await expect(
      store.rawTransaction((s) => writeBookings(s, 'three', [booking(119_00)], [k2!.item_id])),
    ).rejects.toMatchObject({ code: BOOKING_CONFLICT });
    await untouched();
    // As planned: booked.
    await store.rawTransaction((s) => writeBookings(s, 'three', [booking(119_00)]));
    const k1now = await store.db
      .selectFrom('items')
      .select('open_minor')
      .where('item_id', '=', k1!.item_id)
      .executeTakeFirstOrThrow();
    expect(k1now.open_minor).toBe(69_00);
  });

  test('the document key of the matcher is the one the store indexes', async () => {
    const docs = [
      'INV-2024-0042',
      'RE 2024/0042',
      '0000123456',
      'A12-B34',
      'rg-77x',
      'GUTSCHRIFT',
      'Ü-2024 ß 7',
      'INV-000',
    ];
    for (const doc of docs) {
      const { rows } = await sql<{ key: string | null }>`SELECT clearhub_document_key(${doc}) AS key`.execute(store.db);
      expect({ doc, key: rows[0]!.key }).toEqual({ doc, key: documentKey(doc) });
    }
  });

  test('numbered ids made in node (statement entries) are the ones SQL makes (allocations)', async () => {
    const ns = [1, 7, 42, 999, 1000, 123_456, 999_999, 1_000_000, 1_234_567];
    const { rows } = await sql<{ n: number; id: string }>`
      SELECT n, ${sql.raw(seqSql("'0190a000-0000-7000-8000-000000000001'", 'n', 6))} AS id
      FROM unnest(${ns}::int[]) AS n ORDER BY n`.execute(store.db);
    expect(rows.map((r) => r.id)).toEqual(ns.map((n) => seqId('0190a000-0000-7000-8000-000000000001', n, 6)));
  });
});

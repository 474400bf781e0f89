import { sql } from 'kysely';
import { recordPayment } from '../../src/gateway/payments';
import type { IngestBatch, IngestItem, Store } from '../../src/store';
import { appendEvents, ingestBatch } from '../../src/store';
import { STORE_FACTORIES } from '../helpers/stores';

function item(n: number, over: Partial<IngestItem> = {}): IngestItem {
  return {
    sourceKey: `INV-${n}`,
    externalId: `C${n % 3}`,
    documentNumber: `INV-${n}`,
    contractRef: null,
    currency: 'EUR',
    amountMinor: 10_000 + n,
    openMinor: 10_000 + n,
    documentDate: '2026-10-01',
    dueDate: '2026-10-15',
    dunningLevel: 0,
    dunningBlock: null,
    ...over,
  };
}

function batch(items: IngestItem[], over: Partial<IngestBatch> = {}): IngestBatch {
  const ids = [...new Set(items.map((i) => i.externalId))];
  return {
    tenantId: 'acme',
    source: 'billing',
    debtorMatch: 'externalId',
    debtors: ids.map((id) => ({
      externalId: id,
      name: `Kunde ${id}, "Müller" & Söhne`,
      type: 'B2C',
      email: `${id.toLowerCase()}@example.org`,
      language: 'de',
      tags: ['new'],
    })),
    items,
    ...over,
  };
}

describe.each(STORE_FACTORIES)('store conformance on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose());

  test('migrate is idempotent and reports nothing new the second time', async () => {
    const again = await store.migrate();
    expect(again.applied).toEqual([]);
  });

  test('ingest inserts items and debtors; an identical re-import changes nothing', async () => {
    const items = Array.from({ length: 50 }, (_, n) => item(n));
    const first = await ingestBatch(store, batch(items));
    expect(first).toMatchObject({ inserted: 50, updated: 0, unchanged: 0, debtorsCreated: 3 });

    const before = await store.db
      .selectFrom('items')
      .select(['item_id', 'version', 'updated_at'])
      .orderBy('item_id')
      .execute();
    const eventsBefore = await store.db
      .selectFrom('events')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();

    const second = await ingestBatch(store, batch(items));
    expect(second).toMatchObject({ inserted: 0, updated: 0, unchanged: 50, debtorsCreated: 0 });
    const after = await store.db
      .selectFrom('items')
      .select(['item_id', 'version', 'updated_at'])
      .orderBy('item_id')
      .execute();
    expect(after).toEqual(before);
    const eventsAfter = await store.db
      .selectFrom('events')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(eventsAfter.n)).toBe(Number(eventsBefore.n));
    expect(await store.db.selectFrom('debtors').select('debtor_id').execute()).toHaveLength(3);
  });

  test('values come back with the same JavaScript types on both dialects', async () => {
    const row = await store.db
      .selectFrom('items')
      .selectAll()
      .where('source_key', '=', 'INV-7')
      .executeTakeFirstOrThrow();
    expect(row.amount_minor).toBe(10_007);
    expect(typeof row.amount_minor).toBe('number');
    expect(row.due_date).toBe('2026-10-15');
    expect(row.document_date).toBe('2026-10-01');
    expect(row.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const debtor = await store.db
      .selectFrom('debtors')
      .selectAll()
      .where('debtor_id', '=', row.debtor_id)
      .executeTakeFirstOrThrow();
    expect(debtor.tags).toEqual(['new']);
    expect(debtor.name).toBe('Kunde C1, "Müller" & Söhne');
  });

  test('a changed record is an update with a new version and an event', async () => {
    await ingestBatch(store, batch([item(7, { dueDate: '2026-10-20' })]));
    const row = await store.db
      .selectFrom('items')
      .selectAll()
      .where('source_key', '=', 'INV-7')
      .executeTakeFirstOrThrow();
    expect(row.version).toBe(2);
    expect(row.due_date).toBe('2026-10-20');
    const ev = await store.db
      .selectFrom('events')
      .selectAll()
      .where('subject', '=', `item:${row.item_id}`)
      .orderBy('event_id')
      .execute();
    expect(ev.map((e) => e.type)).toEqual(['item.updated']);
    expect(ev[0]!.payload).toMatchObject({ version: 2, sourceKey: 'INV-7' });
    const imports = await store.db
      .selectFrom('events')
      .selectAll()
      .where('type', '=', 'items.imported')
      .where('tenant_id', '=', 'acme')
      .orderBy('event_id')
      .execute();
    expect(imports[0]!.payload).toMatchObject({ source: 'billing', count: 50, firstKey: 'INV-0', lastKey: 'INV-9' });
  });

  test('a payment we allocated counts once: before the source books it, after, and beside its own payments', async () => {
    const openOf = async (key: string) =>
      store.db
        .selectFrom('items')
        .select(['item_id', 'debtor_id', 'open_minor', 'status'])
        .where('tenant_id', '=', 'acme')
        .where('source_key', '=', key)
        .executeTakeFirstOrThrow();
    const pay = async (key: string, amountMinor: number) => {
      const it = await openOf(key);
      await recordPayment(store, {
        tenantId: 'acme',
        idempotencyKey: `pay-${key}-${amountMinor}`,
        debtorId: it.debtor_id,
        itemIds: [it.item_id],
        amountMinor,
        currency: 'EUR',
        method: 'cash',
      });
    };
    const amount = 10_000 + 8; // item(8)

    // We take 5,000 at the counter; the source still reports the full amount (our write-back not booked yet).
    await pay('INV-8', 5_000);
    await ingestBatch(store, batch([item(8, { dueDate: '2026-10-16' })]));
    expect((await openOf('INV-8')).open_minor).toBe(amount - 5_000);
    // The source books our payment: its open amount now says what ours has said all along.
    await ingestBatch(store, batch([item(8, { openMinor: amount - 5_000 })]));
    expect((await openOf('INV-8')).open_minor).toBe(amount - 5_000);
    // Then it books a payment of its own (1,000): that one reduces what we dun.
    await ingestBatch(store, batch([item(8, { openMinor: amount - 6_000 })]));
    expect((await openOf('INV-8')).open_minor).toBe(amount - 6_000);
    // It clears the item: closed.
    await ingestBatch(store, batch([item(8, { openMinor: 0 })]));
    expect(await openOf('INV-8')).toMatchObject({ open_minor: 0, status: 'closed' });

    // Another item: the source books a payment of its own (1,000) before our 5,000 reaches it. For that while the
    // move is taken for ours and our open amount is too high, never too low; when ours is booked too it is right.
    const amount9 = 10_000 + 9;
    await pay('INV-9', 5_000);
    await ingestBatch(store, batch([item(9, { openMinor: amount9 - 1_000 })]));
    expect((await openOf('INV-9')).open_minor).toBe(amount9 - 5_000);
    await ingestBatch(store, batch([item(9, { openMinor: amount9 - 6_000 })]));
    expect((await openOf('INV-9')).open_minor).toBe(amount9 - 6_000);
  });

  test('the same source key in another tenant is another item; debtors unify across sources by customer number', async () => {
    await ingestBatch(store, batch([item(1)], { tenantId: 'other' }));
    const counts = await store.db.selectFrom('items').select(['tenant_id']).where('source_key', '=', 'INV-1').execute();
    expect(counts.map((c) => c.tenant_id).sort()).toEqual(['acme', 'other']);

    await ingestBatch(store, batch([item(1001, { externalId: 'C1', sourceKey: 'SAP-1' })], { source: 'sap' }));
    const owners = await store.db
      .selectFrom('items')
      .select('debtor_id')
      .where('tenant_id', '=', 'acme')
      .where('external_id', '=', 'C1')
      .distinct()
      .execute();
    expect(owners).toHaveLength(1);
  });

  test("one SAP customer is one debtor whether a source writes its number with SAP's leading zeros or without", async () => {
    // FI-CA over RFC sends the business partner zero-padded; FI-AR over OData sends the same customer without zeros.
    await ingestBatch(
      store,
      batch([item(2001, { externalId: '0010100001', sourceKey: 'FICA-1' })], { source: 'fica' }),
    );
    await ingestBatch(store, batch([item(2002, { externalId: '10100001', sourceKey: 'FIAR-1' })], { source: 's4' }));
    // Another number that only shares digits is another customer.
    await ingestBatch(store, batch([item(2003, { externalId: '101000010', sourceKey: 'FIAR-2' })], { source: 's4' }));
    const owners = await store.db
      .selectFrom('items')
      .select(['source_key', 'debtor_id'])
      .where('tenant_id', '=', 'acme')
      .where('source_key', 'in', ['FICA-1', 'FIAR-1', 'FIAR-2'])
      .orderBy('source_key')
      .execute();
    const [fiar1, fiar2, fica1] = owners.map((o) => o.debtor_id);
    expect(fiar1).toBe(fica1);
    expect(fiar2).not.toBe(fica1);
  });

  test('an item id the database makes is a UUIDv7 of this millisecond, and two are never the same', async () => {
    const before = Date.now();
    const { rows } = await sql<{ a: string; b: string }>`SELECT clearhub_uuid7() AS a, clearhub_uuid7() AS b`.execute(
      store.db,
    );
    const { a, b } = rows[0]!;
    for (const id of [a, b])
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
    const ms = Number.parseInt(a.replace('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before - 5);
    expect(ms).toBeLessThanOrEqual(Date.now() + 5);
  });

  test('the event log is append-only', async () => {
    await appendEvents(store.db, [
      { tenantId: 'acme', type: 'writeback.replayed', subject: 'outbox:x', payload: { outboxId: 'x' } },
    ]);
    await expect(sql`UPDATE events SET type = 'tampered'`.execute(store.db)).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM events`.execute(store.db)).rejects.toThrow(/append-only/);
    const ev = await store.db
      .selectFrom('events')
      .selectAll()
      .where('subject', '=', 'outbox:x')
      .executeTakeFirstOrThrow();
    expect(ev.payload).toEqual({ outboxId: 'x' });
  });

  test('a failing batch leaves nothing behind', async () => {
    const before = await store.db
      .selectFrom('items')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    await expect(ingestBatch(store, batch([item(5000), item(5001, { amountMinor: Number.NaN })]))).rejects.toThrow();
    const after = await store.db
      .selectFrom('items')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });
});

describe.each(STORE_FACTORIES)('debtor unification by e-mail on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose());

  test('customers of two sources with one e-mail are one debtor; another e-mail is another debtor', async () => {
    const d = (externalId: string, email: string) => ({
      externalId,
      name: externalId,
      type: 'B2C' as const,
      email,
      language: 'de',
      tags: [],
    });
    const i = (n: number, externalId: string) => item(n, { externalId, sourceKey: `K${n}` });
    await ingestBatch(store, {
      tenantId: 't',
      source: 'shop',
      debtorMatch: 'email',
      debtors: [d('S1', 'Eva@Example.org'), d('S2', 'max@example.org')],
      items: [i(1, 'S1'), i(2, 'S2')],
    });
    await ingestBatch(store, {
      tenantId: 't',
      source: 'billing',
      debtorMatch: 'email',
      debtors: [d('B9', 'eva@example.org'), d('B8', 'other@example.org'), d('B7', 'other@example.org')],
      items: [i(3, 'B9'), i(4, 'B8'), i(5, 'B7')],
    });
    const owner = async (key: string) =>
      (await store.db.selectFrom('items').select('debtor_id').where('source_key', '=', key).executeTakeFirstOrThrow())
        .debtor_id;
    expect(await owner('K3')).toBe(await owner('K1'));
    expect(await owner('K2')).not.toBe(await owner('K1'));
    expect(await owner('K5')).toBe(await owner('K4'));
    expect(
      await store.db.selectFrom('debtors').select('debtor_id').where('tenant_id', '=', 't').execute(),
    ).toHaveLength(3);
  });
});

describe.each(STORE_FACTORIES)('a source without contact details on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose());

  test('does not erase the e-mail and phone another source gave the same debtor', async () => {
    await ingestBatch(store, {
      tenantId: 't',
      source: 'billing',
      debtorMatch: 'externalId',
      debtors: [
        {
          externalId: '1000100001',
          name: 'Eva Roth',
          type: 'B2C',
          email: 'eva@example.org',
          phone: '+49151',
          language: 'de',
          country: 'DE',
          tags: [],
        },
      ],
      items: [item(1, { externalId: '1000100001', sourceKey: 'B1' })],
    });
    await ingestBatch(store, {
      tenantId: 't',
      source: 'fica',
      debtorMatch: 'externalId',
      debtors: [
        {
          externalId: '1000100001',
          name: 'Eva Roth',
          type: 'B2C',
          email: null,
          phone: null,
          language: 'de',
          country: null,
          tags: [],
        },
      ],
      items: [item(2, { externalId: '1000100001', sourceKey: 'F1' })],
    });
    const debtors = await store.db.selectFrom('debtors').selectAll().where('tenant_id', '=', 't').execute();
    expect(debtors).toHaveLength(1);
    expect(debtors[0]).toMatchObject({ email: 'eva@example.org', phone: '+49151', country: 'DE', version: 1 });
  });
});

describe.each(STORE_FACTORIES)('postal addresses from the sources on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
  });
  afterAll(async () => dispose());

  const eva = (source: string, address: string[] | null, sourceKey: string) =>
    ingestBatch(store, {
      tenantId: 't',
      source,
      debtorMatch: 'externalId',
      debtors: [
        { externalId: '1000100001', name: 'Eva Roth', type: 'B2C', language: 'de', country: 'DE', address, tags: [] },
      ],
      items: [item(1, { externalId: '1000100001', sourceKey })],
    });
  const lettersGoTo = async () =>
    (
      await store.db.selectFrom('debtor_addresses').select(['lines', 'country']).where('tenant_id', '=', 't').execute()
    ).map((a) => ({ lines: typeof a.lines === 'string' ? JSON.parse(a.lines) : a.lines, country: a.country }));

  test('are kept as the letter window prints them; a source without one keeps it; a move replaces it', async () => {
    await eva('billing', ['Lindenweg 5', '50667 Köln'], 'B1');
    expect(await lettersGoTo()).toEqual([{ lines: ['Eva Roth', 'Lindenweg 5', '50667 Köln'], country: 'DE' }]);
    await eva('fica', null, 'F1'); // SAP FI-CA items carry no address
    expect(await lettersGoTo()).toEqual([{ lines: ['Eva Roth', 'Lindenweg 5', '50667 Köln'], country: 'DE' }]);
    await eva('billing', ['Am Markt 1', '20095 Hamburg'], 'B1'); // she moved
    expect(await lettersGoTo()).toEqual([{ lines: ['Eva Roth', 'Am Markt 1', '20095 Hamburg'], country: 'DE' }]);
  });
});

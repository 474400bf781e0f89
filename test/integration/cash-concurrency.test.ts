import { sql } from 'kysely';
import { importStatements } from '../../src/cash/import';
import { issuePaymentReference } from '../../src/cash/payment-references';
import { allocateSettled } from '../../src/gateway/settlement';
import type { Store } from '../../src/store/db';
import { ingestBatch } from '../../src/store/ingest';
import { STORE_FACTORIES } from '../helpers/stores';

const TENANT = 'acme';
const ACCOUNT = 'DE89370400440532013000';

/**
 * A statement import and a gateway payment on the same item at the same moment (PostgreSQL: two connections). The
 * import matches without locks; the gateway payment holds the item's row lock when the import books, so the import
 * waits, sees the item changed, reads again and books only what is still open.
 */
describe('statement import next to a concurrent gateway payment on PostgreSQL', () => {
  const factory = STORE_FACTORIES.find((f) => f.name === 'postgres')!;
  let store: Store;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    await ingestBatch(store, {
      tenantId: TENANT,
      source: 'billing',
      debtorMatch: 'externalId',
      debtors: [{ externalId: 'C1', name: 'Erika Mustermann', type: 'B2C', language: 'de', tags: [] }],
      items: [
        ['K1', 'INV-1', 100_00, '2026-11-01'],
        ['K2', 'INV-2', 50_00, '2026-11-15'],
      ].map(([sourceKey, documentNumber, amountMinor, dueDate]) => ({
        sourceKey: sourceKey as string,
        externalId: 'C1',
        documentNumber: documentNumber as string,
        currency: 'EUR',
        amountMinor: amountMinor as number,
        openMinor: amountMinor as number,
        dueDate: dueDate as string,
        dunningLevel: 0,
      })),
    });
  });
  afterAll(async () => dispose?.());

  test('an item is never paid beyond its open amount: the import books what the gateway payment left', async () => {
    const inv1 = await store.db
      .selectFrom('items')
      .selectAll()
      .where('document_number', '=', 'INV-1')
      .executeTakeFirstOrThrow();
    const rf = await store.db
      .transaction()
      .execute((trx) =>
        issuePaymentReference(trx, { tenantId: TENANT, debtorId: inv1.debtor_id, itemIds: [inv1.item_id] }),
      );
    await store.db
      .insertInto('payments')
      .values({
        tenant_id: TENANT,
        payment_id: 'pay-card',
        debtor_id: inv1.debtor_id,
        method: 'card',
        provider: 'stripe',
        merchant_reference: 'card-1',
        provider_reference: null,
        currency: 'EUR',
        amount_minor: 30_00,
        state: 'succeeded',
      })
      .execute();

    // The gateway allocates 30.00 to INV-1 and keeps its transaction (and the item's row lock) open.
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const gateway = store.db.transaction().execute(async (trx) => {
      await allocateSettled(trx, {
        tenantId: TENANT,
        paymentId: 'pay-card',
        debtorId: inv1.debtor_id,
        amountMinor: 30_00,
        currency: 'EUR',
        itemIds: [inv1.item_id],
        valueDate: '2026-11-20',
      });
      locked();
      await released;
    });
    await holding;

    // Meanwhile the bank statement brings 100.00 quoting the reference: matched against the 100.00 still committed.
    const imported = importStatements(store, {
      tenantId: TENANT,
      format: 'camt.053',
      statements: [
        {
          account: ACCOUNT,
          currency: 'EUR',
          entries: [
            {
              amountMinor: 100_00,
              bookingDate: '2026-11-20',
              valueDate: '2026-11-20',
              reference: 'BANK-1',
              creditorReference: rf,
              counterparty: { name: 'Erika Mustermann' },
            },
          ],
        },
      ],
    });
    // The import's booking waits for the gateway's row lock.
    for (let i = 0; ; i++) {
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(store.db);
      if (rows[0]!.n > 0) break;
      if (i > 200) throw new Error('the import never waited for the locked item');
      await new Promise((r) => setTimeout(r, 25));
    }
    release();
    await gateway;
    const summary = await imported;

    expect(summary).toMatchObject({ credits: 1, autoAllocated: 1 });
    const item = await store.db
      .selectFrom('items')
      .select(['open_minor', 'status'])
      .where('item_id', '=', inv1.item_id)
      .executeTakeFirstOrThrow();
    expect(item).toEqual({ open_minor: 0, status: 'closed' });
    const allocations = await store.db
      .selectFrom('allocations as a')
      .innerJoin('payments as p', (j) => j.onRef('p.payment_id', '=', 'a.payment_id'))
      .select(['p.provider', 'a.amount_minor'])
      .where('a.item_id', '=', inv1.item_id)
      .orderBy('a.allocation_id')
      .execute();
    expect(allocations).toEqual([
      { provider: 'stripe', amount_minor: 30_00 },
      { provider: 'bank', amount_minor: 70_00 },
    ]);
    // The rest of the transfer stays on the bank payment as credit; INV-2 was not named and is untouched.
    const bank = await store.db
      .selectFrom('payments')
      .select(['amount_minor', 'allocated_minor'])
      .where('provider', '=', 'bank')
      .executeTakeFirstOrThrow();
    expect(bank).toEqual({ amount_minor: 100_00, allocated_minor: 70_00 });
    const inv2 = await store.db
      .selectFrom('items')
      .select('open_minor')
      .where('document_number', '=', 'INV-2')
      .executeTakeFirstOrThrow();
    expect(inv2.open_minor).toBe(50_00);
    // One write-back per allocation: the gateway's and the import's, each once.
    const outbox = await store.db
      .selectFrom('outbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('item_id', '=', inv1.item_id)
      .executeTakeFirstOrThrow();
    expect(Number(outbox.n)).toBe(2);
  });
});

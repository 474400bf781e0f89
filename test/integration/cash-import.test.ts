import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createCsvConnector } from '../../connectors/csv/connector';
import { withBalances, writeCamt053 } from '../../src/cash/camt-writer';
import { importStatements } from '../../src/cash/import';
import { issuePaymentReference } from '../../src/cash/payment-references';
import { readStatements } from '../../src/cash/read';
import { saveCashSettings } from '../../src/cash/settings';
import type { Statement, StatementEntry } from '../../src/cash/statement';
import { createNotices } from '../../src/dunning/run';
import { SqlSepaStore } from '../../src/gateway/provider-records';
import { MemoryDriver } from '../../src/queue/memory';
import { countOutbox } from '../../src/routing/outbox';
import { relayAll, startWriteBackWorker } from '../../src/routing/relay';
import type { Store } from '../../src/store/db';
import { keysWithCurrency } from '../../src/store/migrations/0014-keys-with-currency';
import { createSourceConnector, loadCompiledMapping } from '../../src/sync/registry';
import { syncSource } from '../../src/sync/sync';
import { STORE_FACTORIES } from '../helpers/stores';
import { HEADER } from '../helpers/tenant';

const TENANT = 'acme';
const ACCOUNT = 'DE89370400440532013000';

/** The billing system's export: Anna owes three invoices, Ben one, Clara one, Dora one (paid by direct debit). */
const CSV = [
  HEADER,
  'C100,Anna Müller,B2C,anna@example.org,,de,DE,INV-1001,SIM-1,2026-09-01,2026-10-01,EUR,119.00,119.00,0,',
  'C100,Anna Müller,B2C,anna@example.org,,de,DE,INV-1002,SIM-1,2026-10-01,2026-11-01,EUR,59.90,59.90,0,',
  'C100,Anna Müller,B2C,anna@example.org,,de,DE,INV-1003,SIM-2,2026-10-15,2026-11-10,EUR,20.00,20.00,0,',
  'C200,Ben Weber,B2C,ben@example.org,,de,DE,RE-2026-004711,SIM-3,2026-10-01,2026-11-01,EUR,45.50,45.50,0,',
  'C300,Clara Koch,B2C,clara@example.org,,de,DE,INV-3001,SIM-4,2026-10-01,2026-11-01,EUR,30.00,30.00,0,',
  'C400,Dora Fischer,B2C,dora@example.org,,de,DE,INV-4001,SIM-5,2026-10-05,2026-11-05,EUR,39.99,39.99,0,',
].join('\n');

const credit = (e: Partial<StatementEntry> & { amountMinor: number }): StatementEntry => ({
  bookingDate: '2026-11-20',
  valueDate: '2026-11-20',
  ...e,
});

describe.each(STORE_FACTORIES)('statement import on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let root: string;
  let outbound: string;
  let queue: MemoryDriver;
  let consumer: { close(): Promise<void> };
  const ids: Record<string, string> = {};
  let rf: string;

  const deliverAll = async () => {
    await relayAll(store, queue);
    for (let i = 0; i < 400; i++) {
      const c = await countOutbox(store.db, TENANT);
      if (c.pending === 0 && c.enqueued === 0) return c;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('write-backs not delivered in time');
  };
  const confirmations = () => readdirSync(outbound).filter((f) => f.endsWith('.csv'));
  const item = (doc: string) =>
    store.db.selectFrom('items').selectAll().where('document_number', '=', doc).executeTakeFirstOrThrow();
  const importXml = async (xml: string, name: string) => {
    const { format, statements } = readStatements(Buffer.from(xml), name);
    return importStatements(store, { tenantId: TENANT, statements, format, fileName: name });
  };

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    root = mkdtempSync(join(tmpdir(), 'clearhub-cash-'));
    const inbound = join(root, 'in');
    outbound = join(root, 'out');
    mkdirSync(inbound);
    mkdirSync(outbound);
    writeFileSync(join(inbound, 'export.csv'), CSV);
    const source = createSourceConnector(
      {
        name: 'billing',
        kind: 'csv',
        mapping: 'mappings/csv-generic.v1.yaml',
        options: { inbound, outbound },
        debtorMatch: 'externalId',
      },
      root,
    );
    await syncSource(store, {
      tenantId: TENANT,
      source: 'billing',
      debtorMatch: 'externalId',
      batches: source.pull({ signal: new AbortController().signal }),
      map: loadCompiledMapping('mappings/csv-generic.v1.yaml'),
    });
    for (const r of await store.db.selectFrom('items').select(['item_id', 'document_number', 'debtor_id']).execute()) {
      ids[r.document_number] = r.item_id;
      ids[`debtor:${r.document_number}`] = r.debtor_id;
    }
    queue = new MemoryDriver();
    consumer = await startWriteBackWorker(store, queue, async () =>
      createCsvConnector({ kind: 'csv', inbound, outbound }),
    );
  });
  afterAll(async () => {
    await consumer?.close();
    await queue?.close();
    await dispose?.();
    rmSync(root, { recursive: true, force: true });
  });

  test('one transfer quoting the RF reference pays two of three invoices; the source gets one confirmation each', async () => {
    rf = await store.db.transaction().execute((trx) =>
      issuePaymentReference(trx, {
        tenantId: TENANT,
        debtorId: ids['debtor:INV-1001']!,
        itemIds: [ids['INV-1002']!, ids['INV-1001']!],
      }),
    );
    expect(rf).toMatch(/^RF\d{2}\d{10}$/);
    // The same request again (a notice printed twice) gives the same reference.
    expect(
      await issuePaymentReference(store.db, {
        tenantId: TENANT,
        debtorId: ids['debtor:INV-1001']!,
        itemIds: [ids['INV-1001']!, ids['INV-1002']!],
      }),
    ).toBe(rf);

    const statement: Statement = withBalances({
      account: ACCOUNT,
      currency: 'EUR',
      id: 'STMT-2026-11-20',
      entries: [
        credit({
          amountMinor: 178_90,
          reference: 'BANK-0001',
          endToEndId: 'NOTPROVIDED-ANNA',
          // Printed in groups of four on the notice, typed by the payer as unstructured text.
          remittance: `Rechnungen ${rf.replace(/(.{4})(?=.)/g, '$1 ')} danke`,
          counterparty: { name: 'Anna Müller', iban: 'DE02120300000000202051' },
        }),
        credit({
          amountMinor: 45_50,
          reference: 'BANK-0002',
          remittance: 'Re.Nr. 2026 - 00 47 11 vielen Dank',
          counterparty: { name: 'Ben Weber', iban: 'DE02500105170137075030' },
        }),
        credit({
          amountMinor: 30_00,
          reference: 'BANK-0003',
          remittance: 'Danke fuer alles',
          counterparty: { name: 'KOCH, CLARA', iban: 'DE02100500000054540402' },
        }),
        credit({ amountMinor: -5_00, reference: 'BANK-0004', remittance: 'Kontofuehrung' }),
      ],
    });
    const xml = writeCamt053([statement]);
    const before = new Set(confirmations());
    const summary = await importXml(xml, 'stmt-1.xml');
    expect(summary).toMatchObject({
      statements: 1,
      entries: 4,
      alreadyImported: 0,
      credits: 3,
      autoAllocated: 2,
      suggested: 1,
      unmatched: 0,
      ignored: 1,
    });
    expect(summary.totals).toEqual([
      { currency: 'EUR', receivedMinor: 254_40, allocatedMinor: 224_40, worklistMinor: 30_00 },
    ]);

    expect(await item('INV-1001')).toMatchObject({ status: 'closed', open_minor: 0 });
    expect(await item('INV-1002')).toMatchObject({ status: 'closed', open_minor: 0 });
    expect(await item('INV-1003')).toMatchObject({ status: 'open', open_minor: 20_00 });
    // Spacing and separators inside the document number do not matter.
    expect(await item('RE-2026-004711')).toMatchObject({ status: 'closed', open_minor: 0 });
    expect(await item('INV-3001')).toMatchObject({ status: 'open', open_minor: 30_00 });

    const payment = await store.db
      .selectFrom('payments')
      .selectAll()
      .where('debtor_id', '=', ids['debtor:INV-1001']!)
      .executeTakeFirstOrThrow();
    expect(payment).toMatchObject({
      provider: 'bank',
      method: 'sepa_credit_transfer',
      state: 'succeeded',
      amount_minor: 178_90,
      allocated_minor: 178_90,
      idempotency_key: `statement:${ACCOUNT}:2026-11-20/EUR/17890/BANK-0001`,
    });

    const counts = await deliverAll();
    expect(counts.dead).toBe(0);
    const fresh = confirmations().filter((f) => !before.has(f));
    const bodies = fresh.map((f) => readFileSync(join(outbound, f), 'utf8'));
    for (const doc of ['INV-1001', 'INV-1002', 'RE-2026-004711']) {
      expect(bodies.filter((b) => b.includes(doc))).toHaveLength(1);
    }
    expect(bodies.join('\n')).not.toContain('INV-1003');
    expect(fresh).toHaveLength(3);

    // The same file again (the bank sent it twice, or someone uploaded it again): nothing new is booked or sent.
    const again = await importXml(xml, 'stmt-1.xml');
    expect(again).toMatchObject({ entries: 4, alreadyImported: 4, credits: 0, autoAllocated: 0, suggested: 0 });
    expect(await store.db.selectFrom('payments').select('payment_id').execute()).toHaveLength(2);
    await deliverAll();
    expect(confirmations().filter((f) => !before.has(f))).toHaveLength(3);
    const outbox = await store.db.selectFrom('outbox').select(['status']).where('kind', '=', 'payment').execute();
    expect(outbox.map((o) => o.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  test('a low-confidence entry waits in the worklist with the right debtor as first suggestion', async () => {
    const entry = await store.db
      .selectFrom('statement_entries')
      .selectAll()
      .where('bank_reference', '=', 'BANK-0003')
      .executeTakeFirstOrThrow();
    expect(entry.status).toBe('suggested');
    expect(entry.confidence).toBeLessThan(0.9);
    expect(entry.suggestions[0]).toMatchObject({
      debtorId: ids['debtor:INV-3001'],
      documentNumbers: ['INV-3001'],
      amountMinor: 30_00,
    });
  });

  test('a direct debit returned with AC04 reopens its item, marks the payment returned and adds the return fee', async () => {
    await saveCashSettings(store.db, TENANT, { returnFeeItem: true, returnFeeMinor: 4_50 });
    const collected = withBalances({
      account: ACCOUNT,
      currency: 'EUR',
      id: 'STMT-2026-11-21',
      entries: [
        credit({
          amountMinor: 39_99,
          bookingDate: '2026-11-21',
          reference: 'BANK-0101',
          endToEndId: 'E2E-DORA-2026-11',
          mandateId: 'MDT-C400-1',
          remittance: 'Lastschrift INV-4001 Mobilfunk',
          counterparty: { name: 'Dora Fischer', iban: 'DE75512108001245126199' },
        }),
      ],
    });
    expect(await importXml(writeCamt053([collected]), 'stmt-2.xml')).toMatchObject({ autoAllocated: 1 });
    expect(await item('INV-4001')).toMatchObject({ status: 'closed' });
    const payment = await store.db
      .selectFrom('payments')
      .selectAll()
      .where('provider_reference', '=', 'E2E-DORA-2026-11')
      .executeTakeFirstOrThrow();
    expect(payment.method).toBe('sepa_direct_debit');
    await deliverAll();

    // Twelve days later the debtor's bank returns it: the original amount plus 3.00 charges leave the account.
    const returned = withBalances({
      account: ACCOUNT,
      currency: 'EUR',
      id: 'STMT-2026-12-03',
      entries: [
        {
          amountMinor: -42_99,
          bookingDate: '2026-12-03',
          reference: 'BANK-0201',
          endToEndId: 'E2E-DORA-2026-11',
          mandateId: 'MDT-C400-1',
          returnReason: 'AC04',
          chargesMinor: 3_00,
          originalAmountMinor: 39_99,
          remittance: 'RUECKLASTSCHRIFT Konto erloschen',
        },
      ],
    });
    const xml = writeCamt053([returned]);
    const summary = await importXml(xml, 'stmt-3.xml');
    expect(summary).toMatchObject({ returns: 1, returnsUnmatched: 0 });

    expect(await item('INV-4001')).toMatchObject({ status: 'open', open_minor: 39_99 });
    expect(
      await store.db
        .selectFrom('payments')
        .select('state')
        .where('payment_id', '=', payment.payment_id)
        .executeTakeFirstOrThrow(),
    ).toEqual({ state: 'returned' });
    // The bank's charges (3.00 from the statement, not the configured 4.50) become an item of the debtor.
    const fee = await store.db
      .selectFrom('items')
      .selectAll()
      .where('source', '=', 'clearhub')
      .executeTakeFirstOrThrow();
    expect(fee).toMatchObject({
      debtor_id: ids['debtor:INV-4001'],
      document_number: 'RLS-INV-4001',
      open_minor: 3_00,
      status: 'open',
      contract_ref: 'SIM-5',
    });
    // The source gets the reversal once.
    const before = new Set(confirmations());
    await deliverAll();
    const reversal = confirmations()
      .filter((f) => !before.has(f))
      .map((f) => readFileSync(join(outbound, f), 'utf8'));
    expect(reversal).toHaveLength(1);
    expect(reversal[0]).toContain('INV-4001');
    expect(reversal[0]).toMatch(/reversal/i);

    // A re-import reverses nothing twice.
    expect(await importXml(xml, 'stmt-3.xml')).toMatchObject({ alreadyImported: 1, returns: 0 });
    expect(await item('INV-4001')).toMatchObject({ open_minor: 39_99 });

    // The next dunning run picks the reopened item (and its fee) up again.
    const run = await createNotices(store, {
      tenantId: TENANT,
      strategy: {
        name: 'test',
        version: 1,
        minTotalMinor: 0,
        levels: [
          {
            level: 1,
            name: 'reminder',
            daysPastDue: 3,
            minDaysSinceLastNotice: 0,
            minAmountMinor: 0,
            channel: 'email',
            template: 'reminder',
            tone: 'friendly',
            feeMinor: 0,
          },
        ],
      },
      asOf: '2026-12-10',
      levelWriteBackSources: new Set(),
    });
    expect(run.noticesCreated).toBeGreaterThan(0);
    const notice = await store.db
      .selectFrom('notices')
      .selectAll()
      .where('debtor_id', '=', ids['debtor:INV-4001']!)
      .executeTakeFirstOrThrow();
    expect(notice.item_ids).toEqual(expect.arrayContaining([ids['INV-4001'], fee.item_id]));
  });

  test('a collection the sepa-direct-debit provider submitted settles by end-to-end id', async () => {
    // What the provider records when it submits a pain.008 transaction (its own room writes this row).
    await store.db
      .insertInto('payments')
      .values({
        tenant_id: TENANT,
        payment_id: 'pay-sdd-1',
        debtor_id: ids['debtor:INV-1003']!,
        method: 'sepa_direct_debit',
        provider: 'sepa-direct-debit',
        merchant_reference: 'sdd-batch-7-1',
        provider_reference: 'E2E-SDD-7-1',
        currency: 'EUR',
        amount_minor: 20_00,
        state: 'pending',
        item_ids: JSON.stringify([ids['INV-1003']]),
      })
      .execute();
    const sepa = new SqlSepaStore(store, TENANT);
    await sepa.saveCollection({
      reference: 'E2E-SDD-7-1',
      paymentId: 'pay-sdd-1',
      idempotencyKey: 'sdd-batch-7-1',
      amountMinor: 20_00,
      currency: 'EUR',
      mandateReference: 'MDT-C100',
      sequenceType: 'RCUR',
      dueDate: '2026-11-25',
      remittance: { text: 'INV-1003' },
      preNotification: 'Wir buchen am 25.11.2026 20,00 EUR ab.',
      status: 'submitted',
      refunds: [],
      createdAt: '2026-11-01T10:00:00.000Z',
    });
    const batch = withBalances({
      account: ACCOUNT,
      currency: 'EUR',
      id: 'STMT-2026-11-25',
      entries: [
        credit({
          amountMinor: 20_00,
          bookingDate: '2026-11-25',
          reference: 'BANK-0301',
          endToEndId: 'E2E-SDD-7-1',
          mandateId: 'MDT-C100',
        }),
      ],
    });
    const summary = await importXml(writeCamt053([batch]), 'stmt-4.xml');
    expect(summary).toMatchObject({ credits: 1, collections: 1, autoAllocated: 0, suggested: 0, unmatched: 0 });
    expect(
      await store.db
        .selectFrom('payments')
        .select(['state', 'allocated_minor'])
        .where('payment_id', '=', 'pay-sdd-1')
        .executeTakeFirstOrThrow(),
    ).toEqual({ state: 'succeeded', allocated_minor: 20_00 });
    expect(await item('INV-1003')).toMatchObject({ status: 'closed' });
    // The provider's own record of the collection follows: it can now be refunded.
    expect((await sepa.getCollection('E2E-SDD-7-1'))?.status).toBe('collected');
  });

  test('the EUR and USD statements of one account (same :20:) each record their entry: an equal credit in the other currency is not "imported before"', async () => {
    const statement = (ccy: string) =>
      [
        ':20:STARTUMSE',
        `:25:37040044/0532013000${ccy}`,
        ':28C:00001/001',
        `:60F:C261126${ccy}0,00`,
        ':61:2611261126C77,77NTRFNONREF',
        ':86:166?00GUTSCHRIFT?20Danke',
        `:62F:C261126${ccy}77,77`,
        '-',
      ].join('\r\n');
    const { format, statements } = readStatements(
      Buffer.from(`${statement('EUR')}\r\n${statement('USD')}\r\n`),
      'multi-ccy.sta',
    );
    expect(statements.map((s) => [s.account, s.currency])).toEqual([
      ['37040044/0532013000', 'EUR'],
      ['37040044/0532013000', 'USD'],
    ]);
    const summary = await importStatements(store, { tenantId: TENANT, statements, format, fileName: 'multi-ccy.sta' });
    expect(summary).toMatchObject({ entries: 2, alreadyImported: 0, credits: 2, unmatched: 2 });
    expect(summary.totals).toEqual([
      { currency: 'EUR', receivedMinor: 77_77, allocatedMinor: 0, worklistMinor: 77_77 },
      { currency: 'USD', receivedMinor: 77_77, allocatedMinor: 0, worklistMinor: 77_77 },
    ]);
    const recorded = await store.db
      .selectFrom('statement_entries as e')
      .innerJoin('statements as s', (j) =>
        j.onRef('s.tenant_id', '=', 'e.tenant_id').onRef('s.statement_id', '=', 'e.statement_id'),
      )
      .select(['e.currency', 'e.amount_minor', 'e.status', 's.currency as statement_currency'])
      .where('e.account', '=', '37040044/0532013000')
      .orderBy('e.currency')
      .execute();
    expect(recorded).toEqual([
      { currency: 'EUR', amount_minor: 77_77, status: 'unmatched', statement_currency: 'EUR' },
      { currency: 'USD', amount_minor: 77_77, status: 'unmatched', statement_currency: 'USD' },
    ]);
    // And again: both are imported before now.
    expect(
      await importStatements(store, { tenantId: TENANT, statements, format, fileName: 'multi-ccy.sta' }),
    ).toMatchObject({ entries: 2, alreadyImported: 2, credits: 0 });

    // A database from before the keys named their currency: its keys as they were stored then, rewritten by the
    // migration, still recognise the file (it must not book anything twice).
    await sql`UPDATE statement_entries SET entry_key = replace(entry_key, '/' || currency || '/', '/')
      WHERE account = '37040044/0532013000' AND currency = 'EUR'`.execute(store.db);
    await sql`UPDATE statements SET statement_key = replace(statement_key, '|' || currency || '|', '|')
      WHERE account = '37040044/0532013000' AND currency = 'EUR'`.execute(store.db);
    const old = await store.db
      .selectFrom('statement_entries')
      .select('entry_key')
      .where('currency', '=', 'EUR')
      .where('account', '=', '37040044/0532013000')
      .execute();
    expect(old).toEqual([{ entry_key: '2026-11-26/7777/-' }]); // NONREF: no reference
    await keysWithCurrency(store.db as never);
    expect(
      await importStatements(store, { tenantId: TENANT, statements, format, fileName: 'multi-ccy.sta' }),
    ).toMatchObject({ entries: 2, alreadyImported: 2, credits: 0 });
    expect(
      await store.db
        .selectFrom('statements')
        .select('statement_id')
        .where('account', '=', '37040044/0532013000')
        .execute(),
    ).toHaveLength(2);
  });
});

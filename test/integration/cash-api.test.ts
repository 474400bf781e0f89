import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createApiKey } from '../../src/api/api-keys';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/api/logger';
import { ProblemSchema } from '../../src/api/schemas';
import { AllocateEntryResponse, ImportSummarySchema, WorklistPage } from '../../src/api/schemas-cash';
import { withBalances, writeCamt053 } from '../../src/cash/camt-writer';
import { recordPayment } from '../../src/gateway/payments';
import type { Store } from '../../src/store/db';
import { ingestBatch } from '../../src/store/ingest';
import { STORE_FACTORIES } from '../helpers/stores';

const ACCOUNT = 'DE89370400440532013000';

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked with the zod schemas and field by field
  body: any;
}

async function call(
  base: string,
  path: string,
  opts: { token: string; json?: unknown; raw?: string; contentType?: string },
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token}` };
  let body: string | undefined;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['content-type'] = 'application/json';
  } else if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] = opts.contentType ?? 'application/xml';
  }
  const res = await fetch(`${base}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, body });
  const text = await res.text();
  return {
    status: res.status,
    body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text,
  };
}

/** An MT940 statement as German banks send it: a transfer quoting an invoice number, and a fee. */
const MT940 = [
  ':20:STARTUMS',
  ':25:37040044/0532013000',
  ':28C:00042/001',
  ':60F:C261119EUR1000,00',
  ':61:2611201120C84,00NMSCNONREF//BANKREF-7',
  ':86:166?00GUTSCHRIFT?20SVWZ+Rechnung 2026-5002 und 2026-?215003?32Max Mustermann',
  ':61:2611201120D4,90NCHGNONREF//BANKREF-8',
  ':86:805?00ENTGELT?20Kontofuehrung',
  ':62F:C261120EUR1079,10',
  '-',
].join('\r\n');

describe.each(STORE_FACTORIES)('cash API on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let server: Server;
  let base: string;
  let token: string;
  let other: string;
  const itemId: Record<string, string> = {};

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    type Row = [sourceKey: string, documentNumber: string, amountMinor: number, dueDate: string, name: string];
    const fixture: [string, Record<string, Row[]>][] = [
      [
        'tenant-a',
        {
          C1: [['A1', 'INV-A1', 119_00, '2026-11-01', 'Erika Mustermann']],
          C2: [['A2', 'INV-A2', 64_50, '2026-11-05', 'Hans Meier']],
        },
      ],
      [
        'tenant-b',
        {
          D1: [
            ['B1', 'RE-2026-5001', 50_00, '2026-11-01', 'Max Mustermann'],
            ['B2', 'RE-2026-5002', 34_00, '2026-11-10', 'Max Mustermann'],
            ['B3', 'RE-2026-5003', 50_00, '2026-11-15', 'Max Mustermann'],
          ],
        },
      ],
    ];
    for (const [tenant, debtors] of fixture) {
      await store.db
        .insertInto('tenants')
        .values({ tenant_id: tenant, name: tenant, country: 'DE', currency: 'EUR', profile: null })
        .execute();
      await ingestBatch(store, {
        tenantId: tenant,
        source: 'billing',
        debtorMatch: 'externalId',
        debtors: Object.entries(debtors).map(([externalId, items]) => ({
          externalId,
          name: items[0]![4],
          type: 'B2C',
          language: 'de',
          tags: [],
        })),
        items: Object.entries(debtors).flatMap(([externalId, items]) =>
          items.map(([key, documentNumber, amountMinor, dueDate]) => ({
            sourceKey: key,
            externalId,
            documentNumber,
            currency: 'EUR',
            amountMinor,
            openMinor: amountMinor,
            dueDate,
            dunningLevel: 0,
          })),
        ),
      });
    }
    for (const r of await store.db.selectFrom('items').select(['item_id', 'source_key']).execute()) {
      itemId[r.source_key] = r.item_id;
    }
    token = (await createApiKey(store, 'tenant-a', 'cash')).token;
    other = (await createApiKey(store, 'tenant-b', 'cash')).token;
    const logger = createLogger({ level: 'error', json: true, stream: new Writable({ write: (_c, _e, cb) => cb() }) });
    server = createApp({ store, logger, services: { recordPayment: (i) => recordPayment(store, i) } }).listen(
      0,
      '127.0.0.1',
    );
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await dispose?.();
  });

  test('an uploaded camt.053 answers a summary; a low-confidence entry waits in the worklist and a manual allocation settles it', async () => {
    const xml = writeCamt053([
      withBalances({
        account: ACCOUNT,
        currency: 'EUR',
        id: 'API-1',
        entries: [
          {
            amountMinor: 64_50,
            bookingDate: '2026-11-20',
            reference: 'BANK-1',
            // No reference, no invoice number: only the amount and a name that partly agrees.
            remittance: 'Monatsbeitrag',
            counterparty: { name: 'H. Meier', iban: 'DE02120300000000202051' },
          },
        ],
      }),
    ]);
    const up = await call(base, '/v1/statements?file=api-1.xml', { token, raw: xml });
    expect(up.status).toBe(200);
    expect(ImportSummarySchema.parse(up.body)).toMatchObject({
      file: 'api-1.xml',
      format: 'camt.053',
      entries: 1,
      credits: 1,
      autoAllocated: 0,
      suggested: 1,
      totals: [{ received: { value: '64.50', currency: 'EUR' }, allocated: { minor: 0 }, worklist: { minor: 64_50 } }],
    });

    const list = await call(base, '/v1/statements/worklist', { token });
    expect(list.status).toBe(200);
    const page = WorklistPage.parse(list.body);
    expect(page.entries).toHaveLength(1);
    const entry = page.entries[0]!;
    expect(entry).toMatchObject({ status: 'suggested', amount: { value: '64.50' }, remittance: 'Monatsbeitrag' });
    expect(entry.suggestions[0]).toMatchObject({ documentNumbers: ['INV-A2'], amount: { minor: 64_50 } });
    expect(entry.suggestions[0]!.confidence).toBeLessThan(0.9);
    // Another tenant sees none of it.
    expect((await call(base, '/v1/statements/worklist', { token: other })).body.entries).toEqual([]);

    const done = await call(base, `/v1/statements/entries/${entry.entryId}/allocate`, {
      token,
      json: { suggestion: 0, note: 'Meier pays monthly without a reference' },
    });
    expect(done.status).toBe(200);
    const r = AllocateEntryResponse.parse(done.body);
    expect(r).toMatchObject({
      replayed: false,
      entry: { status: 'allocated', matchedBy: 'manual' },
      payment: { amount: { minor: 64_50 }, allocated: { minor: 64_50 } },
      allocations: [{ documentNumber: 'INV-A2', amount: { minor: 64_50 }, cleared: true }],
    });
    const item = await store.db
      .selectFrom('items')
      .select(['status', 'open_minor'])
      .where('item_id', '=', itemId.A2!)
      .executeTakeFirstOrThrow();
    expect(item).toEqual({ status: 'closed', open_minor: 0 });
    const outbox = await store.db
      .selectFrom('outbox')
      .select(['kind', 'item_id'])
      .where('tenant_id', '=', 'tenant-a')
      .execute();
    expect(outbox).toEqual([{ kind: 'payment', item_id: itemId.A2 }]);
    expect((await call(base, '/v1/statements/worklist', { token })).body.entries).toEqual([]);

    // The same request again books nothing new; another debtor is a conflict.
    const again = await call(base, `/v1/statements/entries/${entry.entryId}/allocate`, {
      token,
      json: { suggestion: 0 },
    });
    expect(again.status).toBe(200);
    expect(again.body.replayed).toBe(true);
    const c1 = await store.db
      .selectFrom('items')
      .select('debtor_id')
      .where('item_id', '=', itemId.A1!)
      .executeTakeFirstOrThrow();
    const conflict = await call(base, `/v1/statements/entries/${entry.entryId}/allocate`, {
      token,
      json: { debtorId: c1.debtor_id },
    });
    expect(conflict.status).toBe(409);
    expect(
      await store.db.selectFrom('payments').select('payment_id').where('tenant_id', '=', 'tenant-a').execute(),
    ).toHaveLength(1);
    // Next time the payer's IBAN points at the debtor.
    const learnt = await store.db
      .selectFrom('debtor_accounts')
      .selectAll()
      .where('tenant_id', '=', 'tenant-a')
      .execute();
    expect(learnt).toMatchObject([{ iban: 'DE02120300000000202051', origin: 'manual' }]);
  });

  test('an MT940 upload matches invoice numbers split across :86: lines and ignores the bank fee', async () => {
    const up = await call(base, '/v1/statements?file=umsatz.sta', {
      token: other,
      raw: MT940,
      contentType: 'text/plain',
    });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ format: 'mt940', entries: 2, credits: 1, autoAllocated: 1, ignored: 1 });
    const items = await store.db
      .selectFrom('items')
      .select(['source_key', 'open_minor', 'status'])
      .where('tenant_id', '=', 'tenant-b')
      .orderBy('source_key')
      .execute();
    expect(items).toEqual([
      { source_key: 'B1', open_minor: 50_00, status: 'open' },
      { source_key: 'B2', open_minor: 0, status: 'closed' },
      { source_key: 'B3', open_minor: 0, status: 'closed' },
    ]);
    const again = await call(base, '/v1/statements?file=umsatz.sta', {
      token: other,
      raw: MT940,
      contentType: 'text/plain',
    });
    expect(again.body).toMatchObject({ alreadyImported: 2, credits: 0, autoAllocated: 0 });
  });

  test('a file that cannot be read is refused with the file and line, and nothing is imported', async () => {
    const broken = MT940.replace(':62F:C261120EUR1079,10', ':62F:C261120EUR1079,11');
    const r = await call(base, '/v1/statements?file=broken.sta', { token, raw: broken, contentType: 'text/plain' });
    expect(r.status).toBe(422);
    expect(ProblemSchema.parse(r.body)).toMatchObject({ errors: [{ path: 'broken.sta:9' }] });
    expect(r.body.detail).toMatch(/STARTUMS.* does not bridge/);
    expect(
      await store.db.selectFrom('statement_entries').select('entry_id').where('tenant_id', '=', 'tenant-a').execute(),
    ).toHaveLength(1);
    const empty = await call(base, '/v1/statements', { token, raw: '', contentType: 'text/plain' });
    expect(empty.status).toBe(422);
    expect(empty.body.detail).toMatch(/empty/);
    const missing = await call(base, '/v1/statements/entries/no-such-entry/allocate', {
      token,
      json: { suggestion: 0 },
    });
    expect(missing.status).toBe(404);
    const both = await call(base, '/v1/statements/entries/x/allocate', {
      token,
      json: { suggestion: 0, debtorId: 'd' },
    });
    expect(both.status).toBe(400);
  });

  test('a file with a NUL byte in a field is refused with the file and line, and nothing is recorded', async () => {
    const recorded = async () => ({
      statements: (await store.db.selectFrom('statements').select('statement_id').execute()).length,
      entries: (await store.db.selectFrom('statement_entries').select('entry_id').execute()).length,
    });
    const before = await recorded();
    const damaged = MT940.replace(':20:STARTUMS', ':20:NULUMS').replace('Max Mustermann', 'Max\u0000Mustermann');
    const mt = await call(base, '/v1/statements?file=nul.sta', { token, raw: damaged, contentType: 'text/plain' });
    expect(mt.status).toBe(422);
    expect(ProblemSchema.parse(mt.body)).toMatchObject({ errors: [{ path: 'nul.sta:6' }] });
    expect(mt.body.detail).toMatch(/NUL/);

    const xml = writeCamt053([
      withBalances({
        account: ACCOUNT,
        currency: 'EUR',
        id: 'API-NUL',
        entries: [{ amountMinor: 10_00, bookingDate: '2026-11-21', reference: 'BANK-NUL', remittance: 'INV-A1\u0000' }],
      }),
    ]);
    const camt = await call(base, '/v1/statements?file=nul.xml', { token, raw: xml });
    expect(camt.status).toBe(422);
    expect(camt.body.detail).toMatch(/^nul\.xml: not well-formed XML \(a NUL character\) at line \d+/);
    expect(await recorded()).toEqual(before);
  });

  test('the tenant changes its threshold; a bad fee pattern is refused naming the field', async () => {
    const set = await call(base, '/v1/statements/settings', {
      token,
      json: { autoThreshold: 0.8, returnFeeItem: true },
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ autoThreshold: 0.8, returnFeeItem: true, allocationOrder: 'fees-last' });
    expect((await call(base, '/v1/statements/settings', { token })).body.autoThreshold).toBe(0.8);
    expect((await call(base, '/v1/statements/settings', { token: other })).body.autoThreshold).toBe(0.9);
    const bad = await call(base, '/v1/statements/settings', { token, json: { feeDocumentPattern: '([' } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe('feeDocumentPattern');
  });
});

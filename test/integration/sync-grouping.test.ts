import { CompiledQuery } from 'kysely';
import { openStore, type Store } from '../../src/store/db';
import { loadCompiledMapping } from '../../src/sync/registry';
import { listQuarantine, type PulledBatch, readCheckpoint, syncSource } from '../../src/sync/sync';
import { HEADER } from '../helpers/tenant';

const columns = HEADER.split(',');
const page = (from: number, n: number, checkpoint: string): PulledBatch => ({
  checkpoint,
  records: Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const values = [
      `C${i % 3}`,
      'Kunde',
      'B2C',
      'k@example.org',
      '',
      'de',
      'DE',
      `INV-${i}`,
      '',
      '2026-09-01',
      '2026-10-01',
      'EUR',
      '10.00',
      '10.00',
      '0',
      '',
    ];
    return { record: Object.fromEntries(columns.map((c, j) => [c, values[j]!])), line: i + 2 };
  }),
});

async function* pages(): AsyncGenerator<PulledBatch> {
  yield page(0, 10, 'p1');
  yield page(10, 10, 'p2');
  yield page(20, 10, 'p3');
}

describe('sync groups small pages into larger transactions when asked', () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore('pglite:memory');
    await store.migrate();
  });
  afterEach(async () => store.close());

  const run = (minRecordsPerTransaction?: number) =>
    syncSource(store, {
      tenantId: 't',
      source: 's',
      debtorMatch: 'externalId',
      batches: pages(),
      map: loadCompiledMapping('mappings/csv-generic.v1.yaml'),
      ...(minRecordsPerTransaction ? { minRecordsPerTransaction } : {}),
    });
  const transactions = async () =>
    (await store.db.selectFrom('events').select('event_id').where('type', '=', 'items.imported').execute()).length;

  test('by default each page is its own transaction with its own checkpoint', async () => {
    expect((await run()).inserted).toBe(30);
    expect(await transactions()).toBe(3);
    expect(await readCheckpoint(store, 't', 's')).toBe('p3');
  });

  test('a fault inside a group: the groups before it stay, a resume from their checkpoint imports the rest once', async () => {
    async function* failing(): AsyncGenerator<PulledBatch> {
      yield page(0, 10, 'p1');
      yield page(10, 10, 'p2');
      throw new Error('connection reset while reading page 3');
    }
    const sync = (batches: AsyncIterable<PulledBatch>) =>
      syncSource(store, {
        tenantId: 't',
        source: 's',
        debtorMatch: 'externalId',
        batches,
        map: loadCompiledMapping('mappings/csv-generic.v1.yaml'),
        minRecordsPerTransaction: 15,
      });
    await expect(sync(failing())).rejects.toThrow(/page 3/);
    expect(await readCheckpoint(store, 't', 's')).toBe('p2');
    async function* resumed(): AsyncGenerator<PulledBatch> {
      yield page(20, 10, 'p3');
    }
    expect((await sync(resumed())).inserted).toBe(10);
    const items = await store.db.selectFrom('items').select('source_key').execute();
    expect(items).toHaveLength(30);
  });

  test('with a minimum of 25 records, the three pages of 10 commit as one transaction', async () => {
    expect((await run(25)).inserted).toBe(30);
    expect(await transactions()).toBe(1);
    expect(await readCheckpoint(store, 't', 's')).toBe('p3');
  });
});

describe('sync quarantines a key the source delivers twice', () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore('pglite:memory');
    await store.migrate();
  });
  afterEach(async () => store.close());

  test('the later record is quarantined with its own line, and its reason names the line of the first', async () => {
    const p = page(0, 4, 'p1');
    // Line 5 repeats INV-1 of line 3 with another amount.
    p.records[3] = {
      ...p.records[1]!,
      record: { ...p.records[1]!.record, amount: '99.00' },
      file: 'items.csv',
      line: 5,
    };
    p.records[1] = { ...p.records[1]!, file: 'items.csv' };
    const r = await syncSource(store, {
      tenantId: 't',
      source: 's',
      debtorMatch: 'externalId',
      batches: (async function* () {
        yield p;
      })(),
      map: loadCompiledMapping('mappings/csv-generic.v1.yaml'),
    });
    expect(r).toMatchObject({ inserted: 3, quarantined: 1 });
    const [q] = await listQuarantine(store, 't', 's');
    expect(q).toMatchObject({
      file: 'items.csv',
      line: 5,
      field: 'sourceKey',
      reason: 'duplicate key INV-1: already read at items.csv line 3 in this delivery',
    });
  });
});

describe("sync renews the planner's statistics after a bulk load (autovacuum may be off; PGlite has none)", () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore('pglite:memory');
    await store.migrate();
  });
  afterAll(async () => store.close());

  const sync = (batches: PulledBatch[]) =>
    syncSource(store, {
      tenantId: 't',
      source: 's',
      debtorMatch: 'externalId',
      batches: (async function* () {
        yield* batches;
      })(),
      map: loadCompiledMapping('mappings/csv-generic.v1.yaml'),
    });
  const known = async () => {
    const r = await store.db.executeQuery<{ reltuples: number }>(
      CompiledQuery.raw(`SELECT reltuples::int AS reltuples FROM pg_class WHERE relname = 'items'`),
    );
    return r.rows[0]!.reltuples;
  };
  const plan = async (ids: string[]) => {
    // The shape the gateway pays items with: a list of ids joined to the open items.
    const r = await store.db.executeQuery<{ 'QUERY PLAN': string }>(
      CompiledQuery.raw(
        `EXPLAIN SELECT i.item_id FROM items i JOIN (VALUES ($1::text), ($2::text)) AS v(item_id) ON i.item_id = v.item_id
         WHERE i.tenant_id = 't' AND i.status = 'open'`,
        ids,
      ),
    );
    return r.rows.map((x) => x['QUERY PLAN']).join('\n');
  };

  test('1,500 items loaded: the planner knows them and pays two items by their keys, not by reading every open item', async () => {
    expect(await known()).toBeLessThan(0); // never analysed
    expect((await sync([page(0, 1500, 'p1')])).inserted).toBe(1500);
    expect(await known()).toBe(1500);
    const ids = (await store.db.selectFrom('items').select('item_id').limit(2).execute()).map((r) => r.item_id);
    expect(await plan(ids)).toMatch(/items_pkey/);
  });

  test('a small sync after it leaves the statistics to autovacuum', async () => {
    expect((await sync([page(5000, 20, 'p2')])).inserted).toBe(20);
    expect(await known()).toBe(1500);
  });
});

import type { WriteBackCommand } from '../../src/domain/write-back';
import { openStore, type Store, truncateAll } from '../../src/store/db';
import { readCheckpoint, syncSource } from '../../src/sync/sync';
import type { HarnessFactory, SourceHarness } from './source-connector.harness';

const TENANT = 'conf';
const SOURCE = 'src';

/**
 * The contract every source connector keeps, run against its simulated system through the real sync and store:
 * pull everything, pull what changed, resume after a fault without gaps, write back exactly once under retry, and
 * quarantine a bad record while the rest goes on.
 */
export function sourceConnectorConformance(name: string, factory: HarnessFactory): void {
  describe(`source connector conformance: ${name}`, () => {
    let h: SourceHarness;
    let store: Store;

    beforeAll(async () => {
      store = await openStore('pglite:memory');
      await store.migrate();
    });
    afterAll(async () => store.close());
    beforeEach(async () => {
      await truncateAll(store);
      h = await factory();
    });
    afterEach(async () => h.close());

    const sync = async (since?: string) =>
      syncSource(store, {
        tenantId: TENANT,
        source: SOURCE,
        debtorMatch: 'externalId',
        batches: h.connector.pull({ since, signal: new AbortController().signal }),
        map: h.map,
        // Pages grouped into transactions as `clearhub sync` groups them, with a group small enough that a fault
        // can fall between two committed groups or inside one.
        minRecordsPerTransaction: 15,
      });
    const docs = async () =>
      (await store.db.selectFrom('items').select('document_number').where('tenant_id', '=', TENANT).execute())
        .map((r) => r.document_number)
        .sort();

    test('pulls every open item', async () => {
      const seeded = await h.seed(1, 25);
      const r = await sync();
      expect(r.inserted).toBe(25);
      expect(r.quarantined).toBe(0);
      expect(await docs()).toEqual([...seeded].sort());
    });

    test('an incremental pull from the checkpoint brings what changed and what is new', async () => {
      const seeded = await h.seed(1, 12);
      await sync();
      const checkpoint = await readCheckpoint(store, TENANT, SOURCE);
      expect(checkpoint).toBeDefined();
      await h.touch(seeded[4]!);
      const added = await h.seed(13, 3);
      const r = await sync(checkpoint);
      expect(r.inserted).toBe(3);
      expect(r.updated).toBe(1);
      expect(await docs()).toEqual([...seeded, ...added].sort());
      const touched = await store.db
        .selectFrom('items')
        .select('version')
        .where('document_number', '=', seeded[4]!)
        .executeTakeFirstOrThrow();
      expect(touched.version).toBe(2);
    });

    test('a fault in the middle of a pull: resuming from the checkpoint leaves no gap and imports nothing twice', async () => {
      if (!h.failOnRequest) return; // nothing to fail for this connector (e.g. a folder of files)
      const seeded = await h.seed(1, 40);
      await h.failOnRequest(2);
      let inserted = 0;
      try {
        inserted += (await sync()).inserted; // the connector's own retry may absorb the fault
      } catch {
        inserted += (await store.db.selectFrom('items').select('item_id').execute()).length;
        inserted += (await sync(await readCheckpoint(store, TENANT, SOURCE))).inserted;
      }
      expect(inserted).toBe(40);
      expect(await docs()).toEqual([...seeded].sort());
      const imported = await store.db
        .selectFrom('events')
        .select('payload')
        .where('type', '=', 'items.imported')
        .execute();
      expect(imported.reduce((n, e) => n + (e.payload as { count: number }).count, 0)).toBe(40);
    });

    test('a write-back repeated with the same idempotency key reaches the system once, also after a timeout', async () => {
      const [doc] = await h.seed(1, 2);
      await sync();
      const item = await store.db
        .selectFrom('items')
        .selectAll()
        .where('document_number', '=', doc!)
        .executeTakeFirstOrThrow();
      const kind = h.writeKind ?? 'payment';
      const command: WriteBackCommand =
        kind === 'payment'
          ? {
              kind,
              itemId: item.item_id,
              sourceKey: item.source_key,
              externalId: item.external_id,
              documentNumber: item.document_number,
              paymentId: 'pay-conf-1',
              amountMinor: item.open_minor,
              currency: item.currency,
              cleared: true,
              valueDate: '2026-11-20',
            }
          : {
              kind,
              itemId: item.item_id,
              sourceKey: item.source_key,
              externalId: item.external_id,
              documentNumber: item.document_number,
              level: 2,
              noticeId: 'ntc-conf-1',
              dunnedOn: '2026-11-20',
            };
      const ctx = { idempotencyKey: 'outbox:conf-1' };
      if (h.timeoutAfterApplyingNextWrite) {
        await h.timeoutAfterApplyingNextWrite();
        await expect(h.connector.writeBack(command, ctx)).rejects.toThrow();
      }
      const first = await h.connector.writeBack(command, ctx);
      const second = await h.connector.writeBack(command, ctx);
      expect(['delivered', 'duplicate']).toContain(first.status);
      expect(['delivered', 'duplicate']).toContain(second.status);
      const seen = (await h.writtenBack()).filter((w) => w.documentNumber === doc && w.kind === kind);
      expect(seen).toHaveLength(1);
      if (kind === 'payment' && seen[0]!.amountMinor !== undefined) expect(seen[0]!.amountMinor).toBe(item.open_minor);
    });

    test('a record the mapping rejects is quarantined with its reason while the rest goes on', async () => {
      await h.seed(1, 5);
      const bad = await h.seedBroken();
      const r = await sync();
      expect(r.inserted).toBe(5);
      expect(r.quarantined).toBe(1);
      const q = await store.db.selectFrom('quarantine').selectAll().execute();
      expect(q).toHaveLength(1);
      expect(q[0]!.reason.length).toBeGreaterThan(10);
      expect(await docs()).not.toContain(bad);
    });

    test('check() reports the system reachable', async () => {
      const report = await h.connector.check();
      expect(report.ok).toBe(true);
      expect(report.checks.length).toBeGreaterThan(0);
    });
  });
}

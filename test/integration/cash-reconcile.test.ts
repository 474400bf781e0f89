import { importStatements } from '../../src/cash/import';
import { issuePaymentReference } from '../../src/cash/payment-references';
import { fixDifferences, reconcile } from '../../src/cash/reconcile';
import type { StatementEntry } from '../../src/cash/statement';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import type { WriteBackCommand } from '../../src/domain/write-back';
import { MemoryDriver } from '../../src/queue/memory';
import { countOutbox } from '../../src/routing/outbox';
import { relayAll, startWriteBackWorker } from '../../src/routing/relay';
import type { Store } from '../../src/store/db';
import { ingestBatch } from '../../src/store/ingest';
import { STORE_FACTORIES } from '../helpers/stores';

const TENANT = 'acme';

/** A source that refuses write-backs while it is down, and records each command it accepts once per key. */
class Billing {
  down = true;
  readonly accepted = new Map<string, WriteBackCommand>();
  async writeBack(command: WriteBackCommand, ctx: { idempotencyKey: string }) {
    if (this.down) throw new IntegrationError('posting period 11/2026 is closed', 'valueDate');
    if (this.accepted.has(ctx.idempotencyKey)) return { status: 'duplicate' as const };
    this.accepted.set(ctx.idempotencyKey, command);
    return { status: 'delivered' as const };
  }
}

describe.each(STORE_FACTORIES)('cash reconciliation on $name', (factory) => {
  let store: Store;
  let dispose: () => Promise<void>;
  const billing = new Billing();
  let queue: MemoryDriver;
  let worker: { close(): Promise<void> };
  const id: Record<string, string> = {};

  const settle = async () => {
    await relayAll(store, queue, { attempts: 1, backoffBaseMs: 1, backoffMaxMs: 1 });
    for (let i = 0; i < 400; i++) {
      const c = await countOutbox(store.db, TENANT);
      if (c.pending === 0 && c.enqueued === 0) return c;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new ConnectorError('write-backs not settled in time');
  };

  beforeAll(async () => {
    ({ store, dispose } = await factory.open());
    await ingestBatch(store, {
      tenantId: TENANT,
      source: 'billing',
      debtorMatch: 'externalId',
      debtors: [
        { externalId: 'C1', name: 'Erika Mustermann', type: 'B2C', language: 'de', tags: [] },
        { externalId: 'C2', name: 'Max Muster', type: 'B2C', language: 'de', tags: [] },
      ],
      items: [
        ['K1', 'C1', 'INV-2026-0001', 100_00],
        ['K2', 'C1', 'INV-2026-0002', 50_00],
        ['K3', 'C2', 'INV-2026-0003', 70_00],
      ].map(([sourceKey, externalId, documentNumber, amount]) => ({
        sourceKey: sourceKey as string,
        externalId: externalId as string,
        documentNumber: documentNumber as string,
        currency: 'EUR',
        amountMinor: amount as number,
        openMinor: amount as number,
        dueDate: '2026-11-01',
        dunningLevel: 0,
      })),
    });
    for (const r of await store.db.selectFrom('items').select(['item_id', 'source_key', 'debtor_id']).execute()) {
      id[r.source_key] = r.item_id;
      id[`debtor:${r.source_key}`] = r.debtor_id;
    }
    queue = new MemoryDriver();
    worker = await startWriteBackWorker(store, queue, async () => billing);
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    await dispose?.();
  });

  test('a payment the source refused shows as a dead write-back; --fix sends it again and it arrives once', async () => {
    const rf = await issuePaymentReference(store.db, {
      tenantId: TENANT,
      debtorId: id['debtor:K1']!,
      itemIds: [id.K1!],
    });
    const entries: StatementEntry[] = [
      // Erika pays INV-0001 by reference, and 20.00 too much.
      { amountMinor: 120_00, bookingDate: '2026-11-20', reference: 'B1', creditorReference: rf },
      // Someone pays something nobody can place.
      { amountMinor: 12_34, bookingDate: '2026-11-20', reference: 'B2', remittance: 'Spende' },
    ];
    await importStatements(store, {
      tenantId: TENANT,
      statements: [{ account: 'DE89370400440532013000', currency: 'EUR', entries }],
      format: 'camt.053',
    });
    expect((await settle()).dead).toBe(1);

    const report = await reconcile(store, { tenantId: TENANT });
    expect(report.totals).toEqual([
      { currency: 'EUR', paidMinor: 120_00, allocatedMinor: 100_00, unappliedMinor: 20_00, worklistMinor: 12_34 },
    ]);
    expect(report.counts).toMatchObject({
      writeback_dead: 1,
      open_in_source: 0,
      unapplied_credit: 1,
      unmatched_entries: 1,
    });
    const dead = report.differences.find((d) => d.kind === 'writeback_dead')!;
    expect(dead).toMatchObject({ documentNumber: 'INV-2026-0001', amountMinor: 100_00, fixable: true });
    expect(dead.detail).toMatch(/posting period 11\/2026 is closed/);

    billing.down = false;
    const replayed = await fixDifferences(store, report);
    expect(replayed).toEqual([dead.outboxId]);
    expect((await settle()).dead).toBe(0);
    expect(
      [...billing.accepted.values()].map((c) => [
        c.kind,
        c.documentNumber,
        c.kind === 'payment' ? c.amountMinor : null,
      ]),
    ).toEqual([['payment', 'INV-2026-0001', 100_00]]);
    expect((await reconcile(store, { tenantId: TENANT })).counts.writeback_dead).toBe(0);
    // Nothing left to fix: a second --fix sends nothing.
    expect(await fixDifferences(store, await reconcile(store, { tenantId: TENANT }))).toEqual([]);
  });

  test('a source that still shows the item open days after it got the payment is a difference', async () => {
    // The source's nightly export still lists INV-0001 with its full amount three days after the write-back.
    await store.db
      .updateTable('outbox')
      .set({ delivered_at: new Date(Date.now() - 3 * 86_400_000).toISOString() })
      .where('item_id', '=', id.K1!)
      .execute();
    const report = await reconcile(store, { tenantId: TENANT, graceDays: 2 });
    const open = report.differences.filter((d) => d.kind === 'open_in_source');
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ documentNumber: 'INV-2026-0001', amountMinor: 100_00, fixable: false });
    expect(open[0]!.detail).toMatch(/billing shows 10000 open, we show 0/);
    // Within the grace period it is not (yet) a difference.
    expect((await reconcile(store, { tenantId: TENANT, graceDays: 5 })).counts.open_in_source).toBe(0);
  });

  test('a paid item still listed in a notice not sent yet is a difference', async () => {
    await store.db
      .insertInto('notices')
      .values({
        tenant_id: TENANT,
        notice_id: 'ntc-1',
        run_id: 'run-2026-11-21',
        debtor_id: id['debtor:K1']!,
        level: 1,
        channel: 'email',
        recipient: null,
        template: 'reminder',
        locale: 'de',
        strategy: 'test',
        strategy_version: 1,
        variant: 'control',
        currency: 'EUR',
        total_minor: 150_00,
        fee_minor: 0,
        item_ids: JSON.stringify([id.K1, id.K2]),
        status: 'pending',
        message_id: null,
        error: null,
        sent_at: null,
      })
      .execute();
    const report = await reconcile(store, { tenantId: TENANT });
    const dunned = report.differences.filter((d) => d.kind === 'closed_but_dunned');
    expect(dunned.map((d) => d.documentNumber)).toEqual(['INV-2026-0001']);
    expect(dunned[0]!.detail).toMatch(/ntc-1/);
  });
});

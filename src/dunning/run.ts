import { createHash } from 'node:crypto';
import { type Insertable, sql, type Transaction } from 'kysely';
import { type DomainEvent, event } from '../domain/events';
import type { WriteBackCommand } from '../domain/write-back';
import { enqueueWriteBacks, type OutboxEntry } from '../routing/outbox';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import type { Database, NoticesTable } from '../store/schema';
import { type DunningStrategy, decideNotice } from './strategy';

export interface DunningRunOptions {
  tenantId: string;
  strategy: DunningStrategy;
  /** The date the run is for: the same date gives the same notices, and a re-run adds none. */
  asOf: string;
  /** Sources that want each item's new dunning level written back. */
  levelWriteBackSources: ReadonlySet<string>;
  /** Debtors per page: the run reads and writes in keyset-paged batches, never one round trip per item. */
  pageSize?: number;
  onProgress?: (debtorsDone: number) => void;
}

export interface DunningRunResult {
  runId: string;
  debtorsConsidered: number;
  noticesCreated: number;
  itemsDunned: number;
  byLevel: Record<number, number>;
}

/** The run id is derived from the date, so a repeated run for the same date resumes instead of duplicating. */
export const runIdOf = (asOf: string): string => `run-${asOf}`;

/** The notice id is a business id: one debtor, one run. */
export function noticeIdOf(tenantId: string, runId: string, debtorId: string): string {
  return `ntc-${createHash('sha256').update(`${tenantId}|${runId}|${debtorId}`).digest('hex').slice(0, 24)}`;
}

/**
 * Creates the run's notices: one per debtor covering all of the debtor's due items across subledgers. Items get their
 * new level and last-dunned date, and sources that asked for it get a level write-back, in the same transaction as
 * the notice. Sending is a separate step (see send.ts), so a failed send never loses or duplicates a notice.
 */
export async function createNotices(store: Store, opts: DunningRunOptions): Promise<DunningRunResult> {
  const { tenantId, strategy, asOf } = opts;
  const runId = runIdOf(asOf);
  const pageSize = opts.pageSize ?? 500;
  const firstDays = Math.min(...strategy.levels.map((l) => l.daysPastDue));
  // Items are due for dunning from this date on (due_date <= asOf - firstDays).
  const dueBy = new Date(Date.parse(`${asOf}T00:00:00Z`) - firstDays * 86_400_000).toISOString().slice(0, 10);

  await store.db
    .insertInto('dunning_runs')
    .values({
      tenant_id: tenantId,
      run_id: runId,
      as_of: asOf,
      strategy: strategy.name,
      strategy_version: strategy.version,
      status: 'running',
      stats: '{}',
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'run_id']).doUpdateSet({ status: 'running' }))
    .execute();

  const result: DunningRunResult = { runId, debtorsConsidered: 0, noticesCreated: 0, itemsDunned: 0, byLevel: {} };
  let cursor = '';
  for (;;) {
    const debtorRows = await store.db
      .selectFrom('items')
      .select('debtor_id')
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('status', '=', 'open')
      .where('open_minor', '>', 0)
      .where('due_date', '<=', dueBy)
      .where('debtor_id', '>', cursor)
      .where((eb) => eb.or([eb('dunning_block', 'is', null), eb('dunning_block', '=', '')]))
      .orderBy('debtor_id')
      .limit(pageSize)
      .execute();
    if (debtorRows.length === 0) break;
    const debtorIds = debtorRows.map((r) => r.debtor_id);
    cursor = debtorIds.at(-1)!;

    await store.db.transaction().execute(async (trx) => {
      const already = new Set(
        (
          await trx
            .selectFrom('notices')
            .select('debtor_id')
            .where('tenant_id', '=', tenantId)
            .where('run_id', '=', runId)
            .where('debtor_id', 'in', debtorIds)
            .execute()
        ).map((r) => r.debtor_id),
      );
      const items = await trx
        .selectFrom('items')
        .select([
          'item_id',
          'debtor_id',
          'source',
          'source_key',
          'external_id',
          'document_number',
          'currency',
          'due_date',
          'open_minor',
          'dunning_level',
          'last_dunned_on',
          'dunning_block',
        ])
        .where('tenant_id', '=', tenantId)
        .where('status', '=', 'open')
        .where('debtor_id', 'in', debtorIds)
        .orderBy('debtor_id')
        .orderBy('due_date')
        .orderBy('document_number')
        .forUpdate()
        .execute();
      const byDebtor = new Map<string, typeof items>();
      for (const i of items) {
        if (i.dunning_block) continue;
        const list = byDebtor.get(i.debtor_id) ?? [];
        list.push(i);
        byDebtor.set(i.debtor_id, list);
      }

      const notices: Insertable<NoticesTable>[] = [];
      const levelUpdates: { itemId: string; level: number }[] = [];
      const writeBacks: OutboxEntry[] = [];
      const events: DomainEvent[] = [];
      for (const debtorId of debtorIds) {
        result.debtorsConsidered++;
        if (already.has(debtorId)) continue;
        const list = byDebtor.get(debtorId) ?? [];
        // One notice per debtor and currency would be needed for mixed currencies; the tenant's currency rules here.
        const currency = list[0]?.currency;
        if (!currency) continue;
        const same = list.filter((i) => i.currency === currency);
        const decision = decideNotice(
          strategy,
          same.map((i) => ({
            itemId: i.item_id,
            dueDate: i.due_date,
            openMinor: i.open_minor,
            dunningLevel: i.dunning_level,
            lastDunnedOn: i.last_dunned_on,
          })),
          asOf,
        );
        if (!decision) continue;
        const noticeId = noticeIdOf(tenantId, runId, debtorId);
        const level = strategy.levels.find((l) => l.level === decision.level)!;
        notices.push({
          tenant_id: tenantId,
          notice_id: noticeId,
          run_id: runId,
          debtor_id: debtorId,
          level: decision.level,
          channel: level.channel,
          recipient: null,
          template: level.template,
          locale: 'de',
          strategy: strategy.name,
          strategy_version: strategy.version,
          variant: 'default',
          currency,
          total_minor: decision.totalMinor,
          fee_minor: decision.feeMinor,
          item_ids: JSON.stringify(decision.items.map((i) => i.itemId)),
          status: 'pending',
        });
        events.push(
          event(tenantId, 'notice.created', `notice:${noticeId}`, {
            noticeId,
            debtorId,
            level: decision.level,
            strategy: strategy.name,
            strategyVersion: strategy.version,
            variant: 'default',
          }),
        );
        result.noticesCreated++;
        result.byLevel[decision.level] = (result.byLevel[decision.level] ?? 0) + 1;
        const byId = new Map(same.map((i) => [i.item_id, i]));
        for (const d of decision.items) {
          const item = byId.get(d.itemId)!;
          if (d.newLevel === item.dunning_level) continue;
          levelUpdates.push({ itemId: d.itemId, level: d.newLevel });
          result.itemsDunned++;
          if (opts.levelWriteBackSources.has(item.source)) {
            const command: WriteBackCommand = {
              kind: 'dunning_level',
              itemId: item.item_id,
              sourceKey: item.source_key,
              externalId: item.external_id,
              documentNumber: item.document_number,
              level: d.newLevel,
              noticeId,
              dunnedOn: asOf,
            };
            writeBacks.push({
              outboxId: `dun-${noticeId}-${item.item_id}`,
              source: item.source,
              itemId: item.item_id,
              command,
            });
          }
        }
      }
      await insertNotices(trx, notices);
      if (levelUpdates.length > 0) {
        // One statement for the whole page: a VALUES list joined to items.
        const values = sql.join(levelUpdates.map((u) => sql`(${u.itemId}::text, ${u.level}::int)`));
        await sql`UPDATE items AS i SET dunning_level = v.level, last_dunned_on = ${asOf}::date, updated_at = now()
                  FROM (VALUES ${values}) AS v(item_id, level)
                  WHERE i.tenant_id = ${tenantId} AND i.item_id = v.item_id`.execute(trx);
      }
      await enqueueWriteBacks(trx, tenantId, writeBacks);
      await appendEvents(trx, events);
    });
    opts.onProgress?.(result.debtorsConsidered);
  }
  await store.db
    .updateTable('dunning_runs')
    .set({
      status: 'completed',
      finished_at: new Date().toISOString(),
      stats: JSON.stringify({ notices: result.noticesCreated, items: result.itemsDunned }),
    })
    .where('tenant_id', '=', tenantId)
    .where('run_id', '=', runId)
    .execute();
  return result;
}

async function insertNotices(trx: Transaction<Database>, rows: Insertable<NoticesTable>[]): Promise<void> {
  if (rows.length === 0) return;
  await trx
    .insertInto('notices')
    .values(rows)
    .onConflict((oc) => oc.columns(['tenant_id', 'run_id', 'debtor_id']).doNothing())
    .execute();
}

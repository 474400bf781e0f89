import type { Kysely, Transaction } from 'kysely';
import { event } from '../domain/events';
import type { WriteBackCommand } from '../domain/write-back';
import { appendEvents } from '../store/events';
import type { Database, OutboxStatus } from '../store/schema';

type Db = Kysely<Database> | Transaction<Database>;

/**
 * A write-back to write in the same transaction as the change that causes it (the allocation, the reversal, the
 * notice). Its outbox row is the record that it was made (`created_at`, `status`): no event repeats it. What happens to
 * it later is logged under `outbox:<id>` (`writeback.delivered`, `writeback.dead_lettered`, `writeback.replayed`).
 */
export interface OutboxEntry {
  /** A business id (e.g. `pay-<paymentId>-<itemId>`): writing the same entry twice is a no-op. */
  outboxId: string;
  source: string;
  itemId: string;
  command: WriteBackCommand;
}

/** The queue job id of an outbox row: the outbox id, plus the replay number after a replay (BullMQ keeps failed ids). */
export function jobIdOf(outboxId: string, replays: number): string {
  const base = `outbox-${outboxId}`;
  return replays === 0 ? base : `${base}-r${replays}`;
}

/** The idempotency key handed to the connector: stable across retries and replays, so the source sees one command. */
export const idempotencyKeyOf = (outboxId: string): string => `outbox:${outboxId}`;

export interface OutboxRow {
  tenantId: string;
  outboxId: string;
  source: string;
  kind: string;
  itemId: string | null;
  status: OutboxStatus;
  attempts: number;
  replays: number;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  deadAt: string | null;
}

export async function listOutbox(
  db: Db,
  opts: { tenantId?: string; status?: OutboxStatus; limit?: number } = {},
): Promise<OutboxRow[]> {
  let q = db.selectFrom('outbox').selectAll();
  if (opts.tenantId) q = q.where('tenant_id', '=', opts.tenantId);
  if (opts.status) q = q.where('status', '=', opts.status);
  const rows = await q
    .orderBy('created_at')
    .orderBy('outbox_id')
    .limit(opts.limit ?? 1000)
    .execute();
  return rows.map((r) => ({
    tenantId: r.tenant_id,
    outboxId: r.outbox_id,
    source: r.source,
    kind: r.kind,
    itemId: r.item_id,
    status: r.status,
    attempts: r.attempts,
    replays: r.replays,
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
    deadAt: r.dead_at,
  }));
}

export async function countOutbox(db: Db, tenantId?: string): Promise<Record<OutboxStatus, number>> {
  let q = db
    .selectFrom('outbox')
    .select(['status', (e) => e.fn.countAll<number>().as('n')])
    .groupBy('status');
  if (tenantId) q = q.where('tenant_id', '=', tenantId);
  const out: Record<OutboxStatus, number> = { pending: 0, enqueued: 0, delivered: 0, dead: 0 };
  for (const r of await q.execute()) out[r.status] = Number(r.n);
  return out;
}

/**
 * Puts dead letters back in line: status `pending`, attempts reset, replay number raised (so the queue takes a new
 * job id). Returns the ids replayed. Rows that are not dead are left alone.
 */
export async function replayDeadLetters(
  db: Kysely<Database>,
  sel: { outboxIds?: string[]; all?: boolean; tenantId?: string },
): Promise<string[]> {
  if (!sel.all && !sel.outboxIds?.length) return [];
  return db.transaction().execute(async (trx) => {
    let q = trx
      .updateTable('outbox')
      .set((eb) => ({
        status: 'pending',
        attempts: 0,
        replays: eb('replays', '+', 1),
        dead_at: null,
        enqueued_at: null,
      }))
      .where('status', '=', 'dead');
    if (sel.outboxIds?.length) q = q.where('outbox_id', 'in', sel.outboxIds);
    if (sel.tenantId) q = q.where('tenant_id', '=', sel.tenantId);
    const rows = await q.returning(['outbox_id', 'tenant_id']).execute();
    await appendEvents(
      trx,
      rows.map((r) => event(r.tenant_id, 'writeback.replayed', `outbox:${r.outbox_id}`, { outboxId: r.outbox_id })),
    );
    return rows.map((r) => r.outbox_id);
  });
}

import { sql } from 'kysely';
import { scrubText } from '../api/logger';
import { classifyError } from '../domain/errors';
import { event } from '../domain/events';
import type { WriteBackCommand, WriteBackResult } from '../domain/write-back';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import { idempotencyKeyOf } from './outbox';

/** What a write-back worker needs of a connector. */
export interface WriteBackTarget {
  writeBack(command: WriteBackCommand, ctx: { idempotencyKey: string }): Promise<WriteBackResult>;
}

export type TargetResolver = (tenantId: string, source: string) => Promise<WriteBackTarget>;

export interface WriteBackJob {
  tenantId: string;
  outboxId: string;
}

export type DeliveryOutcome = 'delivered' | 'duplicate' | 'skipped';

/** One structured line per write-back call (STYLE "Logs"): winston's Logger fits. */
export interface DeliveryLogger {
  info(message: string, meta: Record<string, unknown>): unknown;
  warn(message: string, meta: Record<string, unknown>): unknown;
}

/**
 * Delivers one outbox row to its source. Safe to run twice, concurrently or after a crash: the row's status is
 * checked first, and the connector is given `outbox:<id>` as idempotency key so the source detects a repeat even
 * when we crashed after it accepted the command but before we recorded that.
 */
export async function deliverOutbox(
  store: Store,
  resolve: TargetResolver,
  job: WriteBackJob,
  attempt: number,
  logger?: DeliveryLogger,
): Promise<DeliveryOutcome> {
  const row = await store.db
    .selectFrom('outbox')
    .select(['tenant_id', 'outbox_id', 'source', 'command', 'status'])
    .where('outbox_id', '=', job.outboxId)
    .executeTakeFirst();
  if (!row || row.status === 'delivered' || row.status === 'dead') return 'skipped';
  const target = await resolve(row.tenant_id, row.source);
  const command = row.command as WriteBackCommand;
  const line = {
    tenant: row.tenant_id,
    source: row.source,
    flow: `writeBack.${command.kind}`,
    idempotencyKey: idempotencyKeyOf(row.outbox_id),
    attempt,
  };
  const t0 = Date.now();
  let result: WriteBackResult;
  try {
    result = await target.writeBack(command, { idempotencyKey: line.idempotencyKey });
    logger?.info('write-back', { ...line, status: result.status, ms: Date.now() - t0 });
  } catch (err) {
    logger?.warn('write-back', {
      ...line,
      status: 'error',
      ms: Date.now() - t0,
      code: classifyError(err),
      error: err instanceof Error ? err.message : String(err),
    });
    await store.db
      .updateTable('outbox')
      .set({ attempts: attempt, last_error: describe(err) })
      .where('outbox_id', '=', row.outbox_id)
      .where('status', '!=', 'delivered')
      .execute();
    throw err;
  }
  // One statement marks the row delivered and logs the event only if this call made the change: a single commit per
  // delivery, and a concurrent duplicate delivery logs nothing.
  await sql`
    WITH done AS (
      UPDATE outbox SET status = 'delivered', attempts = ${attempt}, delivered_at = now(),
             result = ${JSON.stringify(result)}::text::jsonb, last_error = NULL
      WHERE outbox_id = ${row.outbox_id} AND status IN ('pending', 'enqueued')
      RETURNING tenant_id, outbox_id, source)
    INSERT INTO events (tenant_id, type, subject, payload)
    SELECT tenant_id, 'writeback.delivered', 'outbox:' || outbox_id,
           jsonb_build_object('outboxId', outbox_id, 'source', source, 'attempts', ${attempt}::int)
    FROM done`.execute(store.db);
  return result.status;
}

/** Parks a write-back that keeps failing (or can never succeed) as a dead letter, waiting for `outbox replay`. */
export async function parkDeadLetter(store: Store, job: WriteBackJob, err: unknown, attempts: number): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('outbox')
      .set({ status: 'dead', dead_at: new Date().toISOString(), attempts, last_error: describe(err) })
      .where('outbox_id', '=', job.outboxId)
      .where('status', 'in', ['pending', 'enqueued'])
      .returning(['tenant_id', 'source'])
      .executeTakeFirst();
    if (r) {
      await appendEvents(trx, [
        event(r.tenant_id, 'writeback.dead_lettered', `outbox:${job.outboxId}`, {
          outboxId: job.outboxId,
          source: r.source,
          error: describe(err),
          attempts,
        }),
      ]);
    }
  });
}

/** The last error as stored and listed by `outbox list`: connectors quote URLs and payloads, so secrets are masked. */
function describe(err: unknown): string {
  const cls = classifyError(err);
  const msg = err instanceof Error ? err.message : String(err);
  return scrubText(`${cls}: ${msg}`).slice(0, 2000);
}

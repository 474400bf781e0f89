import type { QueueDriver } from '../queue/types';
import type { Store } from '../store/db';
import { type DeliveryLogger, deliverOutbox, parkDeadLetter, type TargetResolver, type WriteBackJob } from './deliver';
import { jobIdOf } from './outbox';

export const WRITEBACK_QUEUE = 'writeback';

export interface RetryPolicy {
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, backoffBaseMs: 1000, backoffMaxMs: 5 * 60_000 };

/** The queue job of an outbox row: its id is the outbox id (plus the replay number), its data the row's address. */
function jobOf(r: { outbox_id: string; tenant_id: string; kind: string; replays: number }, retry: RetryPolicy) {
  return {
    name: r.kind,
    data: { tenantId: r.tenant_id, outboxId: r.outbox_id },
    opts: {
      jobId: jobIdOf(r.outbox_id, r.replays),
      attempts: retry.attempts,
      backoff: { baseMs: retry.backoffBaseMs, maxMs: retry.backoffMaxMs },
    },
  };
}

/**
 * Hands pending outbox rows to the queue, oldest first, with the outbox id as job id. The rows stay locked (SKIP
 * LOCKED, so several relays can run) until they are marked enqueued; if the process dies in between, the rows are
 * still pending and the next relay adds them again, which the queue ignores for a job id it already holds, and which
 * the worker ignores for a row already delivered.
 */
export async function relayOnce(
  store: Store,
  queue: QueueDriver,
  retry: RetryPolicy = DEFAULT_RETRY,
  limit = 500,
): Promise<number> {
  return store.db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('outbox')
      .select(['outbox_id', 'tenant_id', 'kind', 'replays'])
      .where('status', '=', 'pending')
      .orderBy('created_at')
      .orderBy('outbox_id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (rows.length === 0) return 0;
    await queue.addBulk<WriteBackJob>(
      WRITEBACK_QUEUE,
      rows.map((r) => jobOf(r, retry)),
    );
    await trx
      .updateTable('outbox')
      .set({ status: 'enqueued', enqueued_at: new Date().toISOString() })
      .where(
        'outbox_id',
        'in',
        rows.map((r) => r.outbox_id),
      )
      .execute();
    return rows.length;
  });
}

/** Relays until nothing is pending; returns how many rows it handed over. */
export async function relayAll(store: Store, queue: QueueDriver, retry?: RetryPolicy): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await relayOnce(store, queue, retry);
    total += n;
    if (n === 0) return total;
  }
}

/**
 * Re-adds rows that were enqueued long ago but are neither delivered nor dead: their job may have been lost (a Redis
 * flushed or failed over without persistence). Adding is idempotent by job id, so a job still in the queue is untouched.
 */
export async function sweepStale(
  store: Store,
  queue: QueueDriver,
  olderThanMs: number,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<number> {
  const before = new Date(Date.now() - olderThanMs).toISOString();
  let added = 0;
  // Page through every stale row: a backlog of jobs still waiting must not hide a lost one behind it.
  for (let after = ''; ; ) {
    const rows = await store.db
      .selectFrom('outbox')
      .select(['outbox_id', 'tenant_id', 'kind', 'replays'])
      .where('status', '=', 'enqueued')
      .where('enqueued_at', '<', before)
      .where('outbox_id', '>', after)
      .orderBy('outbox_id')
      .limit(1000)
      .execute();
    if (rows.length === 0) return added;
    const results = await queue.addBulk<WriteBackJob>(
      WRITEBACK_QUEUE,
      rows.map((r) => jobOf(r, retry)),
    );
    added += results.filter((r) => r.added).length;
    after = rows[rows.length - 1]!.outbox_id;
  }
}

export interface WriteBackWorkerOptions {
  concurrency?: number;
  onDelivered?: (job: WriteBackJob, outcome: string) => void;
  onDeadLetter?: (job: WriteBackJob, err: unknown) => void;
  logger?: DeliveryLogger;
}

/** Consumes write-back jobs: delivers each to its source, parks what keeps failing as a dead letter. */
export async function startWriteBackWorker(
  store: Store,
  queue: QueueDriver,
  resolve: TargetResolver,
  opts: WriteBackWorkerOptions = {},
) {
  return queue.consume<WriteBackJob>(
    WRITEBACK_QUEUE,
    async (job) => {
      const outcome = await deliverOutbox(store, resolve, job.data, job.attempt, opts.logger);
      opts.onDelivered?.(job.data, outcome);
    },
    {
      concurrency: opts.concurrency ?? 4,
      onFailed: async (job, err, final) => {
        if (!final) return;
        await parkDeadLetter(store, job.data, err, job.attempt);
        opts.onDeadLetter?.(job.data, err);
      },
    },
  );
}

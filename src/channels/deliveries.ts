/**
 * The delivery record of notices (`notice_deliveries`): every attempt on every channel, and what delivery receipts
 * say later. The dispatcher reads it so that a resend never goes out twice over a channel that took the notice, and
 * a receipt that reports a bounce puts the notice back in line for the next channel of its plan.
 */
import type { Kysely, Transaction } from 'kysely';
import { type DomainEvent, event } from '../domain/events';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import type { Database } from '../store/schema';
import { channelPlan } from './channel';
import type { DeliveryAttempt } from './dispatch';

type Db = Kysely<Database> | Transaction<Database>;

/** Recorded attempts per notice, in order. */
export async function loadAttempts(
  db: Db,
  tenantId: string,
  noticeIds: readonly string[],
): Promise<Map<string, (DeliveryAttempt & { attempt: number })[]>> {
  const out = new Map<string, (DeliveryAttempt & { attempt: number })[]>();
  if (noticeIds.length === 0) return out;
  const rows = await db
    .selectFrom('notice_deliveries')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('notice_id', 'in', noticeIds)
    .orderBy('notice_id')
    .orderBy('attempt')
    .execute();
  for (const r of rows) {
    const list = out.get(r.notice_id) ?? [];
    list.push({
      attempt: r.attempt,
      channel: r.channel,
      status: r.status,
      providerMessageId: r.provider_message_id ?? undefined,
      recipient: r.recipient ?? undefined,
      code: r.code ?? undefined,
      reason: r.error ?? undefined,
    });
    out.set(r.notice_id, list);
  }
  return out;
}

/** Appends attempts after `after` (the number of attempts already recorded). */
export async function recordAttempts(
  db: Db,
  tenantId: string,
  noticeId: string,
  attempts: readonly DeliveryAttempt[],
  after: number,
): Promise<void> {
  if (attempts.length === 0) return;
  await db
    .insertInto('notice_deliveries')
    .values(
      attempts.map((a, i) => ({
        tenant_id: tenantId,
        notice_id: noticeId,
        attempt: after + i + 1,
        channel: a.channel,
        status: a.status,
        provider_message_id: a.providerMessageId ?? null,
        recipient: a.recipient ?? null,
        code: a.code ?? null,
        error: a.reason ?? null,
      })),
    )
    .onConflict((oc) => oc.columns(['tenant_id', 'notice_id', 'attempt']).doNothing())
    .execute();
}

/** What a delivery receipt (SMS status callback, a print service's return) says about one sent message. */
export interface DeliveryReceipt {
  channel: string;
  providerMessageId: string;
  status: 'pending' | 'delivered' | 'bounced' | 'failed';
  code?: string;
  reason?: string;
}

export interface ReceiptResult {
  /** False when no attempt has this provider message id (a receipt for someone else, or too early). */
  matched: boolean;
  noticeId?: string;
  /** The notice's status after the receipt. */
  noticeStatus?: 'pending' | 'sent' | 'bounced' | 'failed';
  /** Whether the notice was put back in line for the next channel of its plan. */
  fallback: boolean;
}

/**
 * Applies a receipt: the attempt takes its status; a bounce or failure of the attempt that took the notice puts the
 * notice back to `pending` when its plan has a channel not yet tried (the next send falls back to it), or marks it
 * bounced or failed. Applying the same receipt twice changes nothing.
 */
export async function applyDeliveryReceipt(
  store: Store,
  tenantId: string,
  receipt: DeliveryReceipt,
): Promise<ReceiptResult> {
  return store.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('notice_deliveries')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('channel', '=', receipt.channel)
      .where('provider_message_id', '=', receipt.providerMessageId)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return { matched: false, fallback: false };
    if (receipt.status === 'pending' || row.status === receipt.status) {
      return { matched: true, noticeId: row.notice_id, fallback: false };
    }
    await trx
      .updateTable('notice_deliveries')
      .set({
        status: receipt.status,
        code: receipt.code ?? row.code,
        error: receipt.reason ?? row.error,
        updated_at: new Date().toISOString(),
      })
      .where('tenant_id', '=', tenantId)
      .where('notice_id', '=', row.notice_id)
      .where('attempt', '=', row.attempt)
      .execute();
    const notice = await trx
      .selectFrom('notices')
      .select(['status', 'channel'])
      .where('tenant_id', '=', tenantId)
      .where('notice_id', '=', row.notice_id)
      .forUpdate()
      .executeTakeFirst();
    if (!notice || receipt.status === 'delivered' || notice.status !== 'sent') {
      return { matched: true, noticeId: row.notice_id, noticeStatus: notice?.status, fallback: false };
    }
    const tried = new Set(
      (
        await trx
          .selectFrom('notice_deliveries')
          .select('channel')
          .where('tenant_id', '=', tenantId)
          .where('notice_id', '=', row.notice_id)
          .execute()
      ).map((r) => r.channel),
    );
    const fallback = channelPlan(notice.channel).some((c) => !tried.has(c));
    const reason = `${receipt.channel}: ${receipt.reason ?? receipt.status}`;
    const status = fallback ? 'pending' : receipt.status;
    await trx
      .updateTable('notices')
      .set({ status, error: reason, sent_at: null })
      .where('tenant_id', '=', tenantId)
      .where('notice_id', '=', row.notice_id)
      .execute();
    const events: DomainEvent[] = [
      event(tenantId, 'notice.failed', `notice:${row.notice_id}`, {
        noticeId: row.notice_id,
        channel: receipt.channel,
        reason,
      }),
    ];
    await appendEvents(trx, events);
    return { matched: true, noticeId: row.notice_id, noticeStatus: status, fallback };
  });
}

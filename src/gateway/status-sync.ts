/**
 * Status sync: payments whose outcome was unknown (a timeout or 5xx after the request may have been applied) are
 * asked about again when due, with growing pauses, until the provider says what happened. A payment is never
 * marked failed for want of an answer; one the provider cannot be asked about (no reference yet, or a provider
 * without a status API) waits for its webhook and shows up in reconciliation.
 */
import { ConnectorError } from '../domain/errors';
import { applyState, lockPayment, reportOf } from './apply';
import type { GatewayContext } from './checkout';

export interface SyncSummary {
  checked: number;
  resolved: number;
  stillUnknown: number;
  waitingForWebhook: number;
}

export async function syncDuePayments(
  ctx: GatewayContext,
  tenantId: string,
  opts: { now?: Date; limit?: number } = {},
): Promise<SyncSummary> {
  const now = opts.now ?? new Date();
  const due = await ctx.store.db
    .selectFrom('payments')
    .select(['payment_id', 'provider', 'provider_reference', 'updated_at', 'created_at'])
    .where('tenant_id', '=', tenantId)
    .where('sync_due_at', '<=', now.toISOString())
    .orderBy('sync_due_at')
    .limit(opts.limit ?? 200)
    .execute();
  const summary: SyncSummary = { checked: due.length, resolved: 0, stillUnknown: 0, waitingForWebhook: 0 };
  const t = ctx.tenant(tenantId);
  for (const p of due) {
    const provider = t.router.has(p.provider) ? t.router.provider(p.provider) : undefined;
    if (!p.provider_reference || !provider?.capabilities.statusSync) {
      summary.waitingForWebhook++;
      await reschedule(ctx, tenantId, p.payment_id, p.created_at, now, true);
      continue;
    }
    try {
      const answer = await provider.retrieve(p.provider_reference);
      await ctx.store.db.transaction().execute(async (trx) => {
        const row = (await lockPayment(trx, tenantId, p.payment_id))!;
        await applyState(trx, row, reportOf(answer));
        await trx
          .updateTable('payments')
          .set({ sync_due_at: null })
          .where('tenant_id', '=', tenantId)
          .where('payment_id', '=', p.payment_id)
          .execute();
      });
      summary.resolved++;
    } catch (err) {
      if (!(err instanceof ConnectorError)) throw err;
      summary.stillUnknown++;
      await reschedule(ctx, tenantId, p.payment_id, p.created_at, now, false);
    }
  }
  return summary;
}

/** Next try: the pause doubles with the payment's age, from 30 s up to 1 h (a webhook wait: up to 6 h). */
async function reschedule(
  ctx: GatewayContext,
  tenantId: string,
  paymentId: string,
  createdAt: string,
  now: Date,
  webhookOnly: boolean,
) {
  const ageMs = Math.max(0, now.getTime() - Date.parse(createdAt));
  const cap = webhookOnly ? 6 * 3600_000 : 3600_000;
  const pause = Math.min(cap, Math.max(30_000, ageMs));
  await ctx.store.db
    .updateTable('payments')
    .set({ sync_due_at: new Date(now.getTime() + pause).toISOString() })
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .execute();
}

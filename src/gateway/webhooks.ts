/**
 * Provider webhooks (DESIGN §6): verified with the provider's real scheme, stored raw, de-duplicated by the
 * provider's event id, answered fast, and processed from the queue. Processing applies the event to the payment
 * (state, allocation, refunds, chargebacks, disputes) in one transaction and marks the event processed, so a
 * delivery repeated any number of times changes state once.
 */
import { sql } from 'kysely';
import { ConnectorError, IntegrationError } from '../domain/errors';
import { event } from '../domain/events';
import { newId } from '../domain/ids';
import { phaseOf } from '../domain/payment-state';
import type { PaymentState } from '../domain/types';
import type { QueueDriver } from '../queue/types';
import { appendEvents } from '../store/events';
import {
  applyChargeback,
  applyChargebackReversed,
  applyDisputeClosed,
  applyDisputeOpened,
  applyRefund,
  applyState,
  lockPayment,
  type PaymentRow,
} from './apply';
import type { GatewayContext } from './checkout';
import type { RawWebhook, WebhookEvent } from './providers/types';
import { type FreshHandler, groupCommitFor } from './webhook-intake';

export const WEBHOOK_QUEUE = 'gateway-webhooks';

export interface WebhookJob {
  tenantId: string;
  provider: string;
  eventId: string;
}

export interface ReceiveResult {
  deliveryId: string;
  events: number;
  /** Events not seen before (queued for processing); the rest were repeats. */
  fresh: number;
  ack: { status: number; contentType: string; body: string };
}

/**
 * Verifies and stores one delivery; queues its new events. Throws `WebhookRejected` (answered 400, nothing stored)
 * for a forged, replayed-too-late or malformed delivery. Resolves once the delivery and its events are committed
 * (and the new ones queued): deliveries arriving together are committed together ({@link groupCommitFor}).
 */
export async function receiveWebhook(
  ctx: GatewayContext,
  queue: QueueDriver | undefined,
  input: { tenantId: string; provider: string; raw: RawWebhook },
): Promise<ReceiveResult> {
  const t = ctx.tenant(input.tenantId);
  const provider = t.router.provider(input.provider);
  const events = await provider.parseWebhook(input.raw);
  const deliveryId = newId();
  const fresh = await groupCommitFor(ctx.store).submit(
    {
      deliveryId,
      tenantId: input.tenantId,
      provider: input.provider,
      headers: JSON.stringify(redactHeaders(input.raw.headers)),
      body: input.raw.body.toString('utf8'),
      events,
    },
    queue ? enqueuerFor(queue) : undefined,
  );
  if (!queue) {
    for (const e of fresh)
      await processWebhookEvent(ctx, { tenantId: input.tenantId, provider: input.provider, eventId: e.eventId });
  }
  const ack = provider.webhookAck?.() ?? { status: 200, contentType: 'application/json', body: '{"received":true}' };
  return { deliveryId, events: events.length, fresh: fresh.length, ack };
}

const enqueuers = new WeakMap<QueueDriver, FreshHandler>();

/** Queues the new events of a committed batch with one `addBulk` (one round trip to Redis with BullMQ). */
function enqueuerFor(queue: QueueDriver): FreshHandler {
  let hook = enqueuers.get(queue);
  if (!hook) {
    hook = async (deliveries) => {
      const jobs = deliveries.flatMap((d) =>
        d.events.map((e) => webhookJob({ tenantId: d.tenantId, provider: d.provider, eventId: e.eventId })),
      );
      if (jobs.length > 0) await queue.addBulk(WEBHOOK_QUEUE, jobs);
    };
    enqueuers.set(queue, hook);
  }
  return hook;
}

const webhookJob = (job: WebhookJob) => ({
  name: 'webhook',
  data: job,
  opts: {
    jobId: `webhook:${job.tenantId}:${job.provider}:${job.eventId}`,
    attempts: 8,
    backoff: { baseMs: 500, maxMs: 60_000 },
  },
});

export function enqueueWebhookEvent(queue: QueueDriver, job: WebhookJob) {
  const { name, data, opts } = webhookJob(job);
  return queue.add(WEBHOOK_QUEUE, name, data, opts);
}

/** Signature headers are kept (they are evidence); credentials a listener may get are not. */
function redactHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k] = k === 'authorization' || k === 'cookie' ? '[redacted]' : v;
  return out;
}

export type ProcessOutcome = 'processed' | 'ignored' | 'already';

/**
 * Applies one stored event. Throws a retryable error when the event is about money that, as far as we know, has
 * not arrived yet (a refund delivered before the payment's success): the queue retries it after the other event.
 */
export async function processWebhookEvent(ctx: GatewayContext, job: WebhookJob): Promise<ProcessOutcome> {
  return ctx.store.db.transaction().execute(async (trx) => {
    const stored = await trx
      .selectFrom('webhook_events')
      .select(['event', 'status'])
      .where('tenant_id', '=', job.tenantId)
      .where('provider', '=', job.provider)
      .where('event_id', '=', job.eventId)
      .forUpdate()
      .executeTakeFirst();
    if (!stored) throw new IntegrationError(`no stored webhook event ${job.eventId}`, 'eventId');
    if (stored.status !== 'received') return 'already';
    const e = stored.event as WebhookEvent;
    const row = await findPayment(trx, job, e);
    const finish = async (status: 'processed' | 'ignored', note: string) => {
      await trx
        .updateTable('webhook_events')
        .set({ status, note, processed_at: new Date().toISOString() })
        .where('tenant_id', '=', job.tenantId)
        .where('provider', '=', job.provider)
        .where('event_id', '=', job.eventId)
        .execute();
      await appendEvents(trx, [
        event(job.tenantId, 'webhook.processed', `webhook:${job.provider}:${job.eventId}`, {
          provider: job.provider,
          eventId: job.eventId,
          type: e.type,
          outcome: note,
        }),
      ]);
      return status;
    };
    if (!row) return finish('ignored', 'no payment of ours has this reference');

    const settledOrAfter = () => {
      const phase = phaseOf(row.state as PaymentState);
      return phase === 'settled' || phase === 'reversed';
    };
    const notYet = () =>
      new ConnectorError(`payment ${row.payment_id} is ${row.state}; ${e.type} must wait for its success`, {
        code: 'out_of_order',
      });

    switch (e.type) {
      case 'payment.authorized':
      case 'payment.succeeded':
      case 'payment.failed':
      case 'payment.canceled':
      case 'payment.expired':
      case 'payment.requires_action':
      case 'payment.pending': {
        const status = e.type.slice('payment.'.length) as PaymentState;
        const r = await applyState(trx, row, {
          status,
          providerReference: e.providerReference,
          ...(e.type === 'payment.succeeded' && e.amountMinor ? { capturedMinor: e.amountMinor } : {}),
          ...(e.decline ? { decline: e.decline } : {}),
        });
        return finish('processed', r.moved ? `${r.from} → ${r.to}` : `stays ${r.from} (reported ${r.to})`);
      }
      case 'payment.refunded': {
        if (!settledOrAfter()) throw notYet();
        const r = await applyRefund(trx, row, {
          refundId: e.refundId ?? `${job.provider}:${e.providerRefundReference ?? e.eventId}`,
          ...(e.providerRefundReference ? { providerRefundReference: e.providerRefundReference } : {}),
          amountMinor: e.amountMinor ?? row.captured_minor - row.refunded_minor,
          status: 'succeeded',
        });
        return finish('processed', r.counted ? `refund of ${e.amountMinor} counted` : 'refund already counted');
      }
      case 'payment.refund_failed': {
        if (e.refundId) {
          await trx
            .updateTable('refunds')
            .set({ status: 'failed', updated_at: new Date().toISOString() })
            .where('tenant_id', '=', job.tenantId)
            .where('refund_id', '=', e.refundId)
            .where('status', '=', 'pending')
            .execute();
        }
        return finish('processed', 'refund failed');
      }
      case 'payment.charged_back': {
        if (!settledOrAfter()) throw notYet();
        const r = await applyChargeback(trx, row, e.eventId);
        return finish('processed', r.moved ? 'charged back; items reopened and held' : 'already charged back');
      }
      case 'payment.chargeback_reversed': {
        // Before its chargeback it would change nothing, and the chargeback after it would stand.
        if (row.state !== 'charged_back' && !(await wasChargedBack(trx, row))) {
          const why = `payment ${row.payment_id} is ${row.state}; ${e.type} must wait for its chargeback`;
          throw new ConnectorError(why, { code: 'out_of_order' });
        }
        const r = await applyChargebackReversed(trx, row);
        return finish('processed', r.moved ? 'chargeback reversed' : `stays ${r.from}`);
      }
      case 'payment.dispute_opened': {
        const n = await applyDisputeOpened(trx, row);
        return finish('processed', `dispute opened; ${n} hold(s) placed`);
      }
      case 'payment.dispute_closed': {
        const n = await applyDisputeClosed(trx, row);
        return finish('processed', `dispute closed; ${n} hold(s) released`);
      }
      default: {
        const never: never = e.type;
        throw new IntegrationError(`unhandled webhook event type ${String(never)}`, 'type');
      }
    }
  });
}

async function findPayment(
  trx: Parameters<typeof lockPayment>[0],
  job: WebhookJob,
  e: WebhookEvent,
): Promise<PaymentRow | undefined> {
  if (e.paymentId) {
    const byId = await lockPayment(trx, job.tenantId, e.paymentId);
    if (byId && byId.provider === job.provider) return byId;
  }
  const ref = await trx
    .selectFrom('payments')
    .select('payment_id')
    .where('tenant_id', '=', job.tenantId)
    .where('provider', '=', job.provider)
    .where('provider_reference', '=', e.providerReference)
    .executeTakeFirst();
  return ref ? lockPayment(trx, job.tenantId, ref.payment_id) : undefined;
}

/** Whether the payment was ever charged back (a reversal arriving now may be a repeat of one already applied). */
async function wasChargedBack(trx: Parameters<typeof lockPayment>[0], row: PaymentRow): Promise<boolean> {
  const seen = await trx
    .selectFrom('events')
    .select('event_id')
    .where('tenant_id', '=', row.tenant_id)
    .where('subject', '=', `payment:${row.payment_id}`)
    .where('type', '=', 'payment.state_changed')
    .where(sql<boolean>`payload->>'to' = 'charged_back'`)
    .executeTakeFirst();
  return !!seen;
}

/** Marks an event that kept failing, so it shows in the operator's list instead of vanishing. */
export async function markWebhookFailed(ctx: GatewayContext, job: WebhookJob, reason: string): Promise<void> {
  await ctx.store.db
    .updateTable('webhook_events')
    .set({ status: 'failed', note: reason.slice(0, 500), processed_at: new Date().toISOString() })
    .where('tenant_id', '=', job.tenantId)
    .where('provider', '=', job.provider)
    .where('event_id', '=', job.eventId)
    .where('status', '=', 'received')
    .execute();
}

/** Starts the consumer that processes stored webhook events. */
export function consumeWebhooks(ctx: GatewayContext, queue: QueueDriver, concurrency = 4) {
  return queue.consume<WebhookJob>(WEBHOOK_QUEUE, async (job) => void (await processWebhookEvent(ctx, job.data)), {
    concurrency,
    onFailed: async (job, err, final) => {
      if (final) await markWebhookFailed(ctx, job.data, (err as Error).message);
    },
  });
}

/**
 * Re-queues events stored but never processed (the process died between commit and enqueue, or a failed event was
 * replayed by an operator). The job id makes a second add of a still-queued event a no-op.
 */
export async function sweepWebhookEvents(
  ctx: GatewayContext,
  queue: QueueDriver,
  olderThanSeconds = 60,
): Promise<number> {
  const rows = await ctx.store.db
    .selectFrom('webhook_events')
    .select(['tenant_id', 'provider', 'event_id'])
    .where('status', '=', 'received')
    .where('received_at', '<', new Date(Date.now() - olderThanSeconds * 1000).toISOString())
    .limit(1000)
    .execute();
  for (const r of rows)
    await enqueueWebhookEvent(queue, { tenantId: r.tenant_id, provider: r.provider, eventId: r.event_id });
  return rows.length;
}

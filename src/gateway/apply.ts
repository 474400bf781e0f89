/**
 * What the gateway learns about a payment (a synchronous answer, a status sync, a webhook) changes our records
 * here, in the caller's transaction, and nowhere else: the state moves only along the state machine (a stale or
 * out-of-order report cannot move it back), settled money is allocated to items, money that leaves again reopens
 * them, disputes hold them out of dunning, and every change is an event.
 */
import type { Transaction } from 'kysely';
import { event } from '../domain/events';
import { newId } from '../domain/ids';
import { canTransition } from '../domain/payment-state';
import type { PaymentState } from '../domain/types';
import { appendEvents } from '../store/events';
import type { Database } from '../store/schema';
import type { Decline, NextAction, ProviderPayment } from './providers/types';
import { allocateSettled, reverseSettled } from './settlement';

type Trx = Transaction<Database>;

export interface PaymentRow {
  tenant_id: string;
  payment_id: string;
  debtor_id: string | null;
  state: string;
  amount_minor: number;
  currency: string;
  captured_minor: number;
  refunded_minor: number;
  allocated_minor: number;
  item_ids: string[] | null;
  session_id: string | null;
  provider: string;
  provider_reference: string | null;
}

export async function lockPayment(trx: Trx, tenantId: string, paymentId: string): Promise<PaymentRow | undefined> {
  return trx
    .selectFrom('payments')
    .select([
      'tenant_id',
      'payment_id',
      'debtor_id',
      'state',
      'amount_minor',
      'currency',
      'captured_minor',
      'refunded_minor',
      'allocated_minor',
      'item_ids',
      'session_id',
      'provider',
      'provider_reference',
    ])
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .forUpdate()
    .executeTakeFirst();
}

export interface StateReport {
  status: PaymentState;
  providerStatus?: string;
  providerReference?: string;
  capturedMinor?: number;
  nextAction?: NextAction;
  decline?: Decline;
}

export interface ApplyOutcome {
  from: string;
  to: string;
  /** False when the report was stale or not allowed from the current state (kept for the record only). */
  moved: boolean;
}

/** Moves a payment to what the provider reports, with everything that follows from it. */
export async function applyState(trx: Trx, row: PaymentRow, report: StateReport): Promise<ApplyOutcome> {
  const from = row.state as PaymentState;
  const to = report.status;
  const moved = from !== to && canTransition(from, to);
  const now = new Date().toISOString();
  const captured =
    to === 'succeeded' ? Math.max(row.captured_minor, report.capturedMinor || row.amount_minor) : row.captured_minor;
  await trx
    .updateTable('payments')
    .set({
      ...(moved ? { state: to } : {}),
      ...(report.providerReference && !row.provider_reference ? { provider_reference: report.providerReference } : {}),
      ...(report.providerStatus ? { provider_status: report.providerStatus } : {}),
      ...(report.nextAction ? { next_action: JSON.stringify(report.nextAction) } : {}),
      ...(report.decline ? { decline: JSON.stringify(report.decline) } : {}),
      ...(moved && isKnown(to) ? { sync_due_at: null } : {}),
      captured_minor: captured,
      updated_at: now,
    })
    .where('tenant_id', '=', row.tenant_id)
    .where('payment_id', '=', row.payment_id)
    .execute();
  if (report.providerReference && !row.provider_reference) row.provider_reference = report.providerReference;
  row.captured_minor = captured;
  if (!moved) return { from, to, moved };
  row.state = to;
  await appendEvents(trx, [
    event(row.tenant_id, 'payment.state_changed', `payment:${row.payment_id}`, { paymentId: row.payment_id, from, to }),
  ]);

  if (to === 'succeeded' && row.debtor_id) {
    await allocateSettled(trx, {
      tenantId: row.tenant_id,
      paymentId: row.payment_id,
      debtorId: row.debtor_id,
      amountMinor: captured - row.refunded_minor,
      currency: row.currency,
      ...(row.item_ids?.length ? { itemIds: row.item_ids } : {}),
      valueDate: now.slice(0, 10),
    });
  }
  if (row.session_id) {
    const sessionStatus =
      to === 'succeeded' || to === 'authorized' || to === 'pending'
        ? 'completed'
        : to === 'failed' || to === 'canceled' || to === 'expired'
          ? 'open'
          : undefined;
    if (sessionStatus) {
      await trx
        .updateTable('checkout_sessions')
        .set({ status: sessionStatus, ...(sessionStatus === 'open' ? { payment_id: null } : {}), updated_at: now })
        .where('tenant_id', '=', row.tenant_id)
        .where('session_id', '=', row.session_id)
        .where('payment_id', '=', row.payment_id)
        .execute();
    }
  }
  return { from, to, moved };
}

/** A state the provider has told us for certain: nothing left to sync. */
function isKnown(s: PaymentState): boolean {
  return s !== 'created' && s !== 'pending';
}

export interface RefundReport {
  /** Ours when we asked for it (the provider echoes it); otherwise the provider's refund id or event id. */
  refundId: string;
  providerRefundReference?: string;
  amountMinor: number;
  status: 'pending' | 'succeeded' | 'failed';
  reason?: string;
}

/**
 * Records a refund; when it has gone through, the payment is (partially) refunded and the refunded amount is taken
 * back off the items it paid, which reopens them. A refund reported twice counts once.
 */
export async function applyRefund(trx: Trx, row: PaymentRow, report: RefundReport): Promise<{ counted: boolean }> {
  const now = new Date().toISOString();
  const existing = await trx
    .selectFrom('refunds')
    .select(['refund_id', 'status', 'amount_minor'])
    .where('tenant_id', '=', row.tenant_id)
    .where('payment_id', '=', row.payment_id)
    .where((eb) =>
      eb.or([
        eb('refund_id', '=', report.refundId),
        ...(report.providerRefundReference
          ? [eb('provider_refund_reference', '=', report.providerRefundReference)]
          : []),
      ]),
    )
    .forUpdate()
    .executeTakeFirst();
  if (existing?.status === 'succeeded') return { counted: false };
  const refundId = existing?.refund_id ?? report.refundId;
  if (existing) {
    await trx
      .updateTable('refunds')
      .set({
        status: report.status,
        ...(report.providerRefundReference ? { provider_refund_reference: report.providerRefundReference } : {}),
        updated_at: now,
      })
      .where('tenant_id', '=', row.tenant_id)
      .where('refund_id', '=', refundId)
      .execute();
  } else {
    await trx
      .insertInto('refunds')
      .values({
        tenant_id: row.tenant_id,
        refund_id: refundId,
        payment_id: row.payment_id,
        amount_minor: report.amountMinor,
        currency: row.currency,
        status: report.status,
        provider_refund_reference: report.providerRefundReference ?? null,
        reason: report.reason ?? null,
      })
      .execute();
  }
  if (report.status !== 'succeeded') return { counted: false };

  const amount = existing?.amount_minor ?? report.amountMinor;
  const refunded = row.refunded_minor + amount;
  const base = row.captured_minor || row.amount_minor;
  const to: PaymentState = refunded >= base ? 'refunded' : 'partially_refunded';
  const from = row.state as PaymentState;
  const moved = from !== to && canTransition(from, to);
  await trx
    .updateTable('payments')
    .set({ refunded_minor: refunded, ...(moved ? { state: to } : {}), updated_at: now })
    .where('tenant_id', '=', row.tenant_id)
    .where('payment_id', '=', row.payment_id)
    .execute();
  row.refunded_minor = refunded;
  if (moved) {
    row.state = to;
    await appendEvents(trx, [
      event(row.tenant_id, 'payment.state_changed', `payment:${row.payment_id}`, {
        paymentId: row.payment_id,
        from,
        to,
      }),
    ]);
  }
  await reverseSettled(trx, {
    tenantId: row.tenant_id,
    paymentId: row.payment_id,
    amountMinor: amount,
    reason: 'refunded',
    reversalId: `refund:${refundId}`,
  });
  return { counted: true };
}

/**
 * A chargeback: the payer's bank took the money back. The payment is charged back, its items reopen, and they are
 * held out of dunning until the dispute is settled (dunning a debtor over a contested charge is the wrong letter).
 */
export async function applyChargeback(trx: Trx, row: PaymentRow, chargebackId: string): Promise<ApplyOutcome> {
  const from = row.state as PaymentState;
  const moved = from !== 'charged_back' && canTransition(from, 'charged_back');
  if (!moved) return { from, to: 'charged_back', moved };
  await trx
    .updateTable('payments')
    .set({ state: 'charged_back', updated_at: new Date().toISOString() })
    .where('tenant_id', '=', row.tenant_id)
    .where('payment_id', '=', row.payment_id)
    .execute();
  await appendEvents(trx, [
    event(row.tenant_id, 'payment.state_changed', `payment:${row.payment_id}`, {
      paymentId: row.payment_id,
      from,
      to: 'charged_back',
    }),
  ]);
  row.state = 'charged_back';
  const { reopened } = await reverseSettled(trx, {
    tenantId: row.tenant_id,
    paymentId: row.payment_id,
    amountMinor: Math.max(0, (row.captured_minor || row.amount_minor) - row.refunded_minor),
    reason: 'charged_back',
    reversalId: `chargeback:${chargebackId}`,
  });
  await placeHolds(
    trx,
    row,
    reopened.map((r) => r.itemId),
    'chargeback',
    'chargeback at the provider',
  );
  return { from, to: 'charged_back', moved };
}

/** A chargeback won by the merchant: the money is back, the payment succeeded again and is re-allocated. */
export async function applyChargebackReversed(trx: Trx, row: PaymentRow): Promise<ApplyOutcome> {
  await releaseHolds(trx, row, 'chargeback reversed');
  return applyState(trx, row, { status: 'succeeded' });
}

/** A dispute or inquiry opened: the payment's items are held out of dunning; no money has moved yet. */
export async function applyDisputeOpened(trx: Trx, row: PaymentRow): Promise<number> {
  const items = await trx
    .selectFrom('allocations')
    .select('item_id')
    .distinct()
    .where('tenant_id', '=', row.tenant_id)
    .where('payment_id', '=', row.payment_id)
    .execute();
  return placeHolds(
    trx,
    row,
    items.map((i) => i.item_id),
    'dispute',
    'payment disputed at the provider',
  );
}

export async function applyDisputeClosed(trx: Trx, row: PaymentRow): Promise<number> {
  return releaseHolds(trx, row, 'dispute closed');
}

async function placeHolds(trx: Trx, row: PaymentRow, itemIds: string[], kind: string, reason: string): Promise<number> {
  if (!row.debtor_id) return 0;
  const reference = `payment:${row.payment_id}`;
  const active = await trx
    .selectFrom('holds')
    .select('item_id')
    .where('tenant_id', '=', row.tenant_id)
    .where('reference', '=', reference)
    .where('resolved_at', 'is', null)
    .execute();
  const held = new Set(active.map((h) => h.item_id));
  const targets = (itemIds.length ? itemIds : [null]).filter((i) => !held.has(i));
  for (const itemId of targets) {
    const holdId = newId();
    await trx
      .insertInto('holds')
      .values({
        tenant_id: row.tenant_id,
        hold_id: holdId,
        debtor_id: row.debtor_id,
        item_id: itemId,
        kind,
        reason,
        reference,
      })
      .execute();
    await appendEvents(trx, [
      event(row.tenant_id, 'hold.placed', `debtor:${row.debtor_id}`, {
        holdId,
        debtorId: row.debtor_id,
        ...(itemId ? { itemId } : {}),
        kind,
        reason,
      }),
    ]);
  }
  return targets.length;
}

async function releaseHolds(trx: Trx, row: PaymentRow, reason: string): Promise<number> {
  const released = await trx
    .updateTable('holds')
    .set({ resolved_at: new Date().toISOString() })
    .where('tenant_id', '=', row.tenant_id)
    .where('reference', '=', `payment:${row.payment_id}`)
    .where('resolved_at', 'is', null)
    .returning(['hold_id', 'kind'])
    .execute();
  if (released.length) {
    await appendEvents(
      trx,
      released.map((h) =>
        event(row.tenant_id, 'hold.released', `payment:${row.payment_id}`, { holdId: h.hold_id, kind: h.kind, reason }),
      ),
    );
  }
  return released.length;
}

/** The provider's normalised view as a state report. */
export function reportOf(p: ProviderPayment): StateReport {
  return {
    status: p.status,
    providerStatus: p.providerStatus,
    providerReference: p.providerReference,
    capturedMinor: p.capturedMinor,
    nextAction: p.nextAction,
    ...(p.decline ? { decline: p.decline } : {}),
  };
}

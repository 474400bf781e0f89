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
import {
  type AllocatableItemRow,
  type AllocationLine,
  addEventRows,
  addSettlementWrites,
  lockAllocatableItems,
  planSettlement,
  reverseSettled,
  type SettlementPlan,
} from './settlement';
import { type Db, WriteStatement } from './statement';

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
  /** What the settled money went to, when this report settled the payment (in allocation order). */
  allocations?: AllocationLine[];
  /** The open amount of every item the allocation touched, afterwards. */
  items?: { itemId: string; openMinor: number }[];
  /** The payment's checkout session, when the move changed it: paid (`completed`) or back to `open` for another try. */
  sessionStatus?: 'completed' | 'open';
}

export interface ApplyOptions {
  /** Other columns of the payment written with the state: the provider that answered, the router's attempts. */
  set?: { provider?: string; attempts?: readonly unknown[] };
  /** When to ask the provider again (an indeterminate answer); otherwise a known state clears it. */
  syncDueAt?: string;
  /**
   * Adds the caller's rows to the same statement, once the outcome is known and before anything is written (the
   * API's record of the answer); the row is then as it is being written. The parts must not touch the rows
   * `applyState` writes.
   */
  alsoWrite?: (stmt: WriteStatement, outcome: ApplyOutcome) => void;
  /**
   * Applies without taking locks first, in one autocommitted statement: `row` is the payment as the caller wrote it
   * and `items` its open items as the caller read them, neither locked. The statement checks that they are still so
   * and, when one changed, writes nothing and throws {@link StaleRead} (do it again under locks). Pass the store's
   * `db`, not a transaction (the failed statement would end it).
   */
  unlocked?: { items: readonly AllocatableItemRow[] };
}

/** A payment or item that an unlocked {@link applyState} worked from changed meanwhile; nothing was written. */
export class StaleRead extends Error {
  override readonly name = 'StaleRead';
}

/**
 * Moves a payment to what the provider reports, with everything that follows from it. `row` is the payment as
 * locked in this transaction ({@link lockPayment}); it is kept up to date. Everything is written in one statement:
 * the payment, the allocation of settled money (allocation rows, items, outbox), the session and the events.
 */
export async function applyState(
  trx: Db,
  row: PaymentRow,
  report: StateReport,
  opts: ApplyOptions = {},
): Promise<ApplyOutcome> {
  const from = row.state as PaymentState;
  const to = report.status;
  const moved = from !== to && canTransition(from, to);
  const now = new Date().toISOString();
  const captured =
    to === 'succeeded' ? Math.max(row.captured_minor, report.capturedMinor || row.amount_minor) : row.captured_minor;
  const outcome: ApplyOutcome = { from, to, moved };

  let plan: SettlementPlan | undefined;
  if (moved && to === 'succeeded' && row.debtor_id) {
    const input = {
      tenantId: row.tenant_id,
      paymentId: row.payment_id,
      debtorId: row.debtor_id,
      amountMinor: captured - row.refunded_minor,
      currency: row.currency,
      ...(row.item_ids?.length ? { itemIds: row.item_ids } : {}),
      valueDate: now.slice(0, 10),
    };
    const items = opts.unlocked ? opts.unlocked.items : await lockAllocatableItems(trx as Trx, input);
    plan = planSettlement(input, items, row.allocated_minor);
    if (plan) {
      outcome.allocations = plan.allocations;
      outcome.items = plan.items;
    }
  }
  if (moved && row.session_id) {
    const status = sessionStatusAfter(to);
    if (status) outcome.sessionStatus = status;
  }

  const stmt = new WriteStatement();
  const t = stmt.param(row.tenant_id);
  const pid = stmt.param(row.payment_id);
  const at = stmt.param(now, 'timestamptz');
  const set: string[] = [];
  if (moved) set.push(`state = ${stmt.param(to)}`);
  if (report.providerReference && !row.provider_reference) {
    set.push(`provider_reference = ${stmt.param(report.providerReference)}`);
  }
  if (report.providerStatus) set.push(`provider_status = ${stmt.param(report.providerStatus)}`);
  if (report.nextAction) set.push(`next_action = ${stmt.param(JSON.stringify(report.nextAction), 'jsonb')}`);
  if (report.decline) set.push(`decline = ${stmt.param(JSON.stringify(report.decline), 'jsonb')}`);
  if (opts.set?.provider) set.push(`provider = ${stmt.param(opts.set.provider)}`);
  if (opts.set?.attempts) set.push(`attempts = ${stmt.param(JSON.stringify(opts.set.attempts), 'jsonb')}`);
  if (opts.syncDueAt) set.push(`sync_due_at = ${stmt.param(opts.syncDueAt, 'timestamptz')}`);
  else if (moved && isKnown(to)) set.push('sync_due_at = NULL');
  set.push(`captured_minor = ${stmt.param(captured, 'bigint')}`);
  if (plan) set.push(`allocated_minor = ${stmt.param(plan.allocatedMinor, 'bigint')}`);
  set.push(`updated_at = ${at}`);
  // Unlocked: the payment must still be as the caller wrote it, each item still open for what it was read with.
  const checks: string[] = [];
  const paymentPart = stmt.nextName();
  stmt.add(
    `UPDATE payments SET ${set.join(', ')} WHERE tenant_id = ${t} AND payment_id = ${pid}${
      opts.unlocked
        ? ` AND state = ${stmt.param(from)} AND allocated_minor = ${stmt.param(row.allocated_minor, 'bigint')}
            AND provider_reference IS NOT DISTINCT FROM ${stmt.param(row.provider_reference)} RETURNING 1`
        : ''
    }`,
  );
  if (opts.unlocked) checks.push(`(SELECT count(*) FROM ${paymentPart}) = 1`);
  if (plan) {
    const itemsPart = addSettlementWrites(stmt, row.tenant_id, row.payment_id, plan, now, !!opts.unlocked);
    if (opts.unlocked && itemsPart) checks.push(`(SELECT count(*) FROM ${itemsPart}) = ${plan.items.length}`);
  }
  if (outcome.sessionStatus) {
    stmt.add(
      `UPDATE checkout_sessions SET status = ${stmt.param(outcome.sessionStatus)},${
        outcome.sessionStatus === 'open' ? ' payment_id = NULL,' : ''
      } updated_at = ${at}
       WHERE tenant_id = ${t} AND session_id = ${stmt.param(row.session_id)} AND payment_id = ${pid}`,
    );
  }
  if (moved) {
    addEventRows(stmt, [
      event(row.tenant_id, 'payment.state_changed', `payment:${row.payment_id}`, {
        paymentId: row.payment_id,
        from,
        to,
      }),
      ...(plan?.events ?? []),
    ]);
  }
  // The row as written (a failed write fails the caller's transaction, and the row with it).
  if (report.providerReference && !row.provider_reference) row.provider_reference = report.providerReference;
  if (opts.set?.provider) row.provider = opts.set.provider;
  row.captured_minor = captured;
  if (plan) row.allocated_minor = plan.allocatedMinor;
  if (moved) row.state = to;
  opts.alsoWrite?.(stmt, outcome);
  if (!opts.unlocked) {
    await stmt.execute(trx);
    return outcome;
  }
  try {
    await stmt.execute(trx, `SELECT clearhub_expect(${checks.join(' AND ')}, 'the payment or an item changed')`);
  } catch (err) {
    // A changed row, or a deadlock with a writer that locked the same rows in another order: nothing was written.
    const code = (err as { code?: unknown }).code;
    if ((code === '40001' && /clearhub_expect/.test((err as Error).message)) || code === '40P01') {
      throw new StaleRead(`payment ${row.payment_id}: ${(err as Error).message}`);
    }
    throw err;
  }
  return outcome;
}

/** What a payment's move does to its checkout session: paid, or open again for another try. */
function sessionStatusAfter(to: PaymentState): 'completed' | 'open' | undefined {
  return to === 'succeeded' || to === 'authorized' || to === 'pending'
    ? 'completed'
    : to === 'failed' || to === 'canceled' || to === 'expired'
      ? 'open'
      : undefined;
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
  // Before `refunded_minor` counts this refund: what it takes out of unallocated credit depends on earlier ones.
  const { reopened } = await reverseSettled(trx, {
    tenantId: row.tenant_id,
    paymentId: row.payment_id,
    amountMinor: amount,
    reason: 'refunded',
    reversalId: `refund:${refundId}`,
  });
  row.allocated_minor -= reopened.reduce((n, r) => n + r.amountMinor, 0);
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
  row.allocated_minor -= reopened.reduce((n, r) => n + r.amountMinor, 0);
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

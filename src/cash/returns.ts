/**
 * SEPA R-transactions in a statement: a returned direct debit (AC04 account closed, AM04 insufficient funds, MD06
 * refund, MS02 refused, …) takes back money we booked. The original payment is found by end-to-end id (ours or the
 * sepa-direct-debit provider's), else by mandate and amount; it is marked `returned`, its allocations are reversed
 * through the settlement room (items reopen, the sources get a reversal write-back, dunning sees the items again), and
 * when the tenant says so the return's cost becomes an item of its own.
 */
import type { Selectable, Transaction } from 'kysely';
import { event } from '../domain/events';
import { transition } from '../domain/payment-state';
import type { PaymentState } from '../domain/types';
import { reverseSettled } from '../gateway/settlement';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import type { Database } from '../store/schema';
import type { StatementEntriesTable } from '../store/schema-cash';
import { paymentKeyOf } from './keys';
import { returnReason } from './return-reasons';
import { type CashSettings, CLEARHUB_SOURCE } from './settings';

export type EntryRecord = Selectable<StatementEntriesTable>;

export interface ReturnOutcome {
  outcome: 'returned' | 'replayed' | 'not_found';
  paymentId?: string;
  /** Items reopened by the reversal. */
  reopened: number;
  /** The return-fee item, when one was added. */
  feeItemId?: string;
  /** The provider reference of a sepa-direct-debit collection that came back (its records follow after the commit). */
  collection?: string;
}

const LIVE_STATES = ['created', 'requires_action', 'pending', 'authorized', 'succeeded', 'partially_refunded'];

/** Applies one return entry in its own transaction; safe to repeat (the entry's state and the reversal id guard it). */
export async function applyReturn(
  store: Store,
  tenantId: string,
  settings: CashSettings,
  row: EntryRecord,
): Promise<ReturnOutcome> {
  return store.db.transaction().execute(async (trx) => {
    const entry = await trx
      .selectFrom('statement_entries')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('entry_id', '=', row.entry_id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (entry.status !== 'unmatched')
      return { outcome: 'replayed', paymentId: entry.payment_id ?? undefined, reopened: 0 };
    const reason = returnReason(entry.return_reason ?? '');
    const returned = Math.abs(entry.amount_minor);
    const original = entry.charges_minor !== null ? returned - entry.charges_minor : returned;
    const paymentId = await findOriginal(trx, tenantId, entry, original, returned);
    if (!paymentId) {
      await trx
        .updateTable('statement_entries')
        .set({
          note: `${reason.code} (${reason.text}): original payment not found by end-to-end id or mandate; match it by hand`,
          updated_at: new Date().toISOString(),
        })
        .where('tenant_id', '=', tenantId)
        .where('entry_id', '=', entry.entry_id)
        .execute();
      return { outcome: 'not_found', reopened: 0 };
    }

    const payment = await trx
      .selectFrom('payments')
      .select([
        'payment_id',
        'state',
        'amount_minor',
        'refunded_minor',
        'debtor_id',
        'currency',
        'provider',
        'provider_reference',
      ])
      .where('tenant_id', '=', tenantId)
      .where('payment_id', '=', paymentId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const reversalId = paymentKeyOf(entry.account, entry.entry_key);
    const from = payment.state as PaymentState;
    let reopened: { itemId: string }[] = [];
    // Money that arrived goes back: `returned`. A collection that never settled simply failed.
    const to: PaymentState | undefined =
      from === 'succeeded' || from === 'partially_refunded'
        ? 'returned'
        : from === 'created' || from === 'requires_action' || from === 'pending' || from === 'authorized'
          ? 'failed'
          : undefined;
    if (to === 'returned') {
      const r = await reverseSettled(trx, {
        tenantId,
        paymentId,
        amountMinor: payment.amount_minor - payment.refunded_minor,
        reason: `sepa_return:${reason.code}`,
        reversalId,
        evidence: `statement-entry:${entry.entry_id}`,
      });
      reopened = r.reopened;
    }
    if (to) {
      transition(from, to);
      await trx
        .updateTable('payments')
        .set({ state: to, updated_at: new Date().toISOString() })
        .where('tenant_id', '=', tenantId)
        .where('payment_id', '=', paymentId)
        .execute();
      await appendEvents(trx, [
        event(tenantId, 'payment.state_changed', `payment:${paymentId}`, { paymentId, from, to }),
      ]);
    }

    let feeItemId: string | undefined;
    const fee = entry.charges_minor ?? settings.returnFeeMinor;
    if (to === 'returned' && settings.returnFeeItem && fee > 0 && payment.debtor_id) {
      feeItemId = await addReturnFee(trx, {
        tenantId,
        debtorId: payment.debtor_id,
        paymentId,
        reopenedItemId: reopened[0]?.itemId,
        feeMinor: fee,
        currency: payment.currency,
        bookingDate: entry.booking_date,
        key: `return-fee:${reversalId}`,
      });
    }

    await trx
      .updateTable('statement_entries')
      .set({
        status: 'returned',
        matched_by: 'return',
        payment_id: paymentId,
        debtor_id: payment.debtor_id,
        note: `${reason.code} (${reason.text})${to ? `: payment ${from} → ${to}` : `: payment already ${from}`}${
          reopened.length ? `, ${reopened.length} item${reopened.length > 1 ? 's' : ''} reopened` : ''
        }${feeItemId ? `, return fee ${fee} added` : ''}`,
        updated_at: new Date().toISOString(),
      })
      .where('tenant_id', '=', tenantId)
      .where('entry_id', '=', entry.entry_id)
      .execute();
    return {
      outcome: 'returned',
      paymentId,
      reopened: reopened.length,
      ...(feeItemId ? { feeItemId } : {}),
      ...(payment.provider === 'sepa-direct-debit' && payment.provider_reference
        ? { collection: payment.provider_reference }
        : {}),
    };
  });
}

/**
 * The payment a return takes back: by end-to-end id among payments (the sepa-direct-debit provider's collections and
 * our statement payments), then among the credits we imported, then by mandate and amount. Prefers the one whose
 * amount is the returned original amount.
 */
async function findOriginal(
  trx: Transaction<Database>,
  tenantId: string,
  entry: EntryRecord,
  original: number,
  returned: number,
): Promise<string | undefined> {
  const amountFits = (a: number) => a === original || a === returned;
  const e2e = entry.end_to_end_id;
  if (e2e) {
    const direct = await trx
      .selectFrom('payments')
      .select(['payment_id', 'amount_minor'])
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('provider_reference', '=', e2e), eb('merchant_reference', '=', e2e)]))
      .where('state', 'in', [...LIVE_STATES, 'returned', 'failed'])
      .orderBy('received_at', 'desc')
      .execute();
    const viaEntries = await trx
      .selectFrom('statement_entries as e')
      .innerJoin('payments as p', (j) =>
        j.onRef('p.tenant_id', '=', 'e.tenant_id').onRef('p.payment_id', '=', 'e.payment_id'),
      )
      .select(['p.payment_id', 'p.amount_minor'])
      .where('e.tenant_id', '=', tenantId)
      .where('e.end_to_end_id', '=', e2e)
      .where('e.kind', '=', 'credit')
      .where('e.entry_id', '!=', entry.entry_id)
      .orderBy('e.booking_date', 'desc')
      .execute();
    const all = [...direct, ...viaEntries];
    // An end-to-end id is the payer's id for this very transaction: it identifies the original even when the bank
    // added its charges to the amount without saying so.
    const best = all.find((p) => amountFits(p.amount_minor)) ?? all.find((p) => p.amount_minor <= returned);
    if (best) return best.payment_id;
  }
  if (entry.mandate_id) {
    const byMandate = await trx
      .selectFrom('statement_entries as e')
      .innerJoin('payments as p', (j) =>
        j.onRef('p.tenant_id', '=', 'e.tenant_id').onRef('p.payment_id', '=', 'e.payment_id'),
      )
      .select(['p.payment_id', 'p.amount_minor'])
      .where('e.tenant_id', '=', tenantId)
      .where('e.mandate_id', '=', entry.mandate_id)
      .where('e.kind', '=', 'credit')
      .where('e.booking_date', '<=', entry.booking_date)
      .where('p.state', 'in', ['succeeded', 'partially_refunded'])
      .where('p.amount_minor', 'in', [...new Set([original, returned])])
      .orderBy('e.booking_date', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (byMandate) return byMandate.payment_id;
  }
  return undefined;
}

async function addReturnFee(
  trx: Transaction<Database>,
  i: {
    tenantId: string;
    debtorId: string;
    paymentId: string;
    reopenedItemId: string | undefined;
    feeMinor: number;
    currency: string;
    bookingDate: string;
    key: string;
  },
): Promise<string | undefined> {
  // The fee belongs with what the collection was for: same customer number and contract, so dunning groups them.
  const like = await trx
    .selectFrom('items')
    .select(['external_id', 'contract_ref', 'document_number'])
    .where('tenant_id', '=', i.tenantId)
    .where((eb) =>
      i.reopenedItemId
        ? eb('item_id', '=', i.reopenedItemId)
        : eb(
            'item_id',
            'in',
            eb
              .selectFrom('allocations')
              .select('item_id')
              .where('tenant_id', '=', i.tenantId)
              .where('payment_id', '=', i.paymentId),
          ),
    )
    .executeTakeFirst();
  const inserted = await trx
    .insertInto('items')
    .values({
      tenant_id: i.tenantId,
      source: CLEARHUB_SOURCE,
      source_key: i.key,
      debtor_id: i.debtorId,
      external_id: like?.external_id ?? i.debtorId,
      document_number: `RLS-${like?.document_number ?? i.paymentId.slice(-12)}`,
      contract_ref: like?.contract_ref ?? null,
      currency: i.currency,
      amount_minor: i.feeMinor,
      source_open_minor: i.feeMinor,
      open_minor: i.feeMinor,
      document_date: i.bookingDate,
      due_date: i.bookingDate,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'source', 'source_key']).doNothing())
    .returning('item_id')
    .executeTakeFirst();
  if (!inserted) return undefined;
  await appendEvents(trx, [
    event(i.tenantId, 'items.imported', `source:${CLEARHUB_SOURCE}`, {
      source: CLEARHUB_SOURCE,
      count: 1,
      firstKey: i.key,
      lastKey: i.key,
    }),
  ]);
  return inserted.item_id;
}

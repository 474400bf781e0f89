/**
 * The worklist: credits the matcher did not allocate itself, with its ranked suggestions, and the manual allocation a
 * person makes from it — through the same settlement room as every other payment (allocateSettled).
 */
import type { Transaction } from 'kysely';
import { IntegrationError } from '../domain/errors';
import { event } from '../domain/events';
import { newId } from '../domain/ids';
import { type AllocationLine, allocateSettled, allocationLinesOf } from '../gateway/settlement';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import type { Database } from '../store/schema';
import { groupsByRule } from './allocation-rules';
import { paymentKeyOf } from './keys';
import { normaliseIban } from './remittance';
import type { EntryRecord } from './returns';
import { feeMatcher, loadCashSettings } from './settings';

export interface WorklistPage {
  entries: EntryRecord[];
  nextCursor: string | null;
}

/** Entries waiting for a person, oldest first (entry ids are time-ordered), keyset-paged. */
export async function listWorklist(
  store: Store,
  tenantId: string,
  opts: { limit: number; after?: string; status?: 'suggested' | 'unmatched' },
): Promise<WorklistPage> {
  let q = store.db
    .selectFrom('statement_entries')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', opts.status ? [opts.status] : ['suggested', 'unmatched']);
  if (opts.after) q = q.where('entry_id', '>', opts.after);
  const rows = await q
    .orderBy('entry_id')
    .limit(opts.limit + 1)
    .execute();
  const page = rows.slice(0, opts.limit);
  return { entries: page, nextCursor: rows.length > opts.limit ? page.at(-1)!.entry_id : null };
}

export interface AllocateEntryInput {
  tenantId: string;
  entryId: string;
  /** Accept the worklist's suggestion at this position (0 is the best). */
  suggestion?: number;
  /** Pay these items (all of one debtor). */
  itemIds?: string[];
  /** Pay this debtor's open items by the tenant's allocation order. */
  debtorId?: string;
  note?: string;
}

export interface AllocateEntryResult {
  entry: EntryRecord;
  payment: { paymentId: string; amountMinor: number; allocatedMinor: number; currency: string };
  allocations: AllocationLine[];
  /** The entry was allocated before, the same way: nothing new was booked. */
  replayed: boolean;
}

/** Raised for an entry id the tenant does not have (the API answers 404). */
export class EntryNotFoundError extends Error {
  override readonly name = 'EntryNotFoundError';
}

/**
 * Allocates a worklist entry by hand: books its payment and allocates it to the chosen items (or the debtor's, by the
 * tenant's order), with events and write-backs like any payment, and remembers the payer's IBAN for the debtor.
 * Asking again for the same debtor returns the first result; another debtor is a conflict.
 */
export async function allocateEntry(store: Store, input: AllocateEntryInput): Promise<AllocateEntryResult> {
  const chosen = [input.suggestion !== undefined, input.itemIds !== undefined, input.debtorId !== undefined].filter(
    Boolean,
  ).length;
  if (chosen !== 1) throw new IntegrationError('give exactly one of suggestion, itemIds or debtorId', 'suggestion');
  const settings = await loadCashSettings(store.db, input.tenantId);
  const isFee = feeMatcher(settings.feeDocumentPattern);
  return store.db.transaction().execute(async (trx) => {
    const entry = await trx
      .selectFrom('statement_entries')
      .selectAll()
      .where('tenant_id', '=', input.tenantId)
      .where('entry_id', '=', input.entryId)
      .forUpdate()
      .executeTakeFirst();
    if (!entry) throw new EntryNotFoundError(`no statement entry "${input.entryId}"`);

    let debtorId = input.debtorId;
    let itemIds = input.itemIds;
    if (input.suggestion !== undefined) {
      const s = entry.suggestions[input.suggestion];
      if (!s) {
        throw new IntegrationError(
          `the entry has ${entry.suggestions.length} suggestion${entry.suggestions.length === 1 ? '' : 's'}`,
          'suggestion',
        );
      }
      debtorId = s.debtorId;
      itemIds = s.itemIds.length > 0 ? s.itemIds : undefined;
    }
    if (itemIds !== undefined) {
      if (itemIds.length === 0) throw new IntegrationError('name at least one item', 'itemIds');
      const owners = await trx
        .selectFrom('items')
        .select(['item_id', 'debtor_id'])
        .where('tenant_id', '=', input.tenantId)
        .where('item_id', 'in', itemIds)
        .execute();
      const missing = itemIds.filter((id) => !owners.some((o) => o.item_id === id));
      if (missing.length) throw new IntegrationError(`no such items: ${missing.join(', ')}`, 'itemIds');
      const debtors = new Set(owners.map((o) => o.debtor_id));
      if (debtors.size > 1) throw new IntegrationError('the items belong to different debtors', 'itemIds');
      const owner = [...debtors][0]!;
      if (debtorId && debtorId !== owner)
        throw new IntegrationError(`the items are not debtor ${debtorId}'s`, 'itemIds');
      debtorId = owner;
    }
    if (!debtorId) throw new IntegrationError('no debtor to allocate to', 'debtorId');

    if (entry.status === 'allocated' && entry.payment_id) {
      if (entry.debtor_id !== debtorId) {
        throw new IntegrationError(
          `the entry is already allocated to debtor ${entry.debtor_id} (payment ${entry.payment_id})`,
          'id',
          { conflict: true },
        );
      }
      return { ...(await resultOf(trx, input.tenantId, entry, entry.payment_id)), replayed: true };
    }
    if (entry.kind !== 'credit' || (entry.status !== 'suggested' && entry.status !== 'unmatched')) {
      throw new IntegrationError(
        `only credits waiting in the worklist can be allocated; this entry is a ${entry.kind}, ${entry.status}`,
        'id',
      );
    }
    const debtor = await trx
      .selectFrom('debtors')
      .select('debtor_id')
      .where('tenant_id', '=', input.tenantId)
      .where('debtor_id', '=', debtorId)
      .executeTakeFirst();
    if (!debtor) throw new IntegrationError(`no debtor ${debtorId}`, 'debtorId');

    const paymentId = newId();
    const key = paymentKeyOf(entry.account, entry.entry_key);
    await trx
      .insertInto('payments')
      .values({
        tenant_id: input.tenantId,
        payment_id: paymentId,
        debtor_id: debtorId,
        method: entry.mandate_id ? 'sepa_direct_debit' : 'sepa_credit_transfer',
        provider: 'bank',
        merchant_reference: key,
        provider_reference: entry.end_to_end_id ?? entry.bank_reference,
        currency: entry.currency,
        amount_minor: entry.amount_minor,
        state: 'succeeded',
        idempotency_key: key,
        received_at: entry.booking_date,
        item_ids: itemIds ? JSON.stringify(itemIds) : null,
      })
      .execute();
    await appendEvents(trx, [
      event(input.tenantId, 'payment.recorded', `payment:${paymentId}`, {
        paymentId,
        amountMinor: entry.amount_minor,
        currency: entry.currency,
        method: entry.mandate_id ? 'sepa_direct_debit' : 'sepa_credit_transfer',
      }),
    ]);

    // The tenant's order: one allocateSettled per group (invoices, then fees — or as configured); each call allocates
    // only what the payment has left.
    const open = await trx
      .selectFrom('items')
      .select(['item_id', 'source', 'document_number', 'due_date', 'open_minor'])
      .where('tenant_id', '=', input.tenantId)
      .where('debtor_id', '=', debtorId)
      .where('status', '=', 'open')
      .where('currency', '=', entry.currency)
      .execute();
    const asRule = open.map((i) => ({
      itemId: i.item_id,
      dueDate: i.due_date,
      documentNumber: i.document_number,
      openMinor: i.open_minor,
      isFee: isFee({ source: i.source, documentNumber: i.document_number }),
    }));
    // A suggestion may name items paid since it was made: it then pays what is still open of them, or the debtor's.
    let named = itemIds ? new Set(itemIds) : undefined;
    let first = named ? asRule.filter((i) => named!.has(i.itemId)) : asRule;
    if (named && first.length !== named.size && input.itemIds !== undefined) {
      throw new IntegrationError(`some items are not open in ${entry.currency}`, 'itemIds');
    }
    if (named && first.length === 0) {
      named = undefined;
      first = asRule;
    }
    const groups = groupsByRule(first, settings.allocationOrder);
    if (named && settings.overpayment === 'other-items') {
      groups.push(
        ...groupsByRule(
          asRule.filter((i) => !named.has(i.itemId)),
          settings.allocationOrder,
        ),
      );
    }
    const valueDate = entry.value_date ?? entry.booking_date;
    for (const group of groups) {
      if (group.length === 0) continue;
      await allocateSettled(trx, {
        tenantId: input.tenantId,
        paymentId,
        debtorId,
        amountMinor: entry.amount_minor,
        currency: entry.currency,
        itemIds: group.map((g) => g.itemId),
        valueDate,
      });
    }

    const iban = normaliseIban(entry.counterparty_iban ?? undefined);
    if (iban) {
      await trx
        .insertInto('debtor_accounts')
        .values({ tenant_id: input.tenantId, iban, debtor_id: debtorId, origin: 'manual' })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'iban', 'debtor_id']).doUpdateSet({ last_seen_at: new Date().toISOString() }),
        )
        .execute();
    }
    const updated = await trx
      .updateTable('statement_entries')
      .set({
        status: 'allocated',
        matched_by: 'manual',
        debtor_id: debtorId,
        payment_id: paymentId,
        note: input.note ?? entry.note,
        updated_at: new Date().toISOString(),
      })
      .where('tenant_id', '=', input.tenantId)
      .where('entry_id', '=', entry.entry_id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...(await resultOf(trx, input.tenantId, updated, paymentId)), replayed: false };
  });
}

async function resultOf(
  trx: Transaction<Database>,
  tenantId: string,
  entry: EntryRecord,
  paymentId: string,
): Promise<Omit<AllocateEntryResult, 'replayed'>> {
  const p = await trx
    .selectFrom('payments')
    .select(['amount_minor', 'allocated_minor', 'currency'])
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .executeTakeFirstOrThrow();
  return {
    entry,
    payment: { paymentId, amountMinor: p.amount_minor, allocatedMinor: p.allocated_minor, currency: p.currency },
    allocations: await allocationLinesOf(trx, tenantId, paymentId),
  };
}

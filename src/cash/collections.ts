/**
 * SEPA direct-debit collections the `sepa-direct-debit` provider submitted (payments of provider `sepa-direct-debit`
 * whose provider or merchant reference is the end-to-end id of the pain.008 transaction) arrive on the statement as a
 * credit: one per collection, or one for the whole batch with a `TxDtls` per collection. Matched by end-to-end id, the
 * collections settle (`succeeded`) and are allocated to the items they were for through the settlement room.
 */
import { IntegrationError } from '../domain/errors';
import { event } from '../domain/events';
import { transition } from '../domain/payment-state';
import type { PaymentState } from '../domain/types';
import { SqlSepaStore } from '../gateway/provider-records';
import type { CollectionOutcome } from '../gateway/providers/sepa-direct-debit/provider';
import { allocateSettled } from '../gateway/settlement';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import type { EntryRecord } from './returns';
import type { CashSettings } from './settings';
import type { StatementEntry } from './statement';

/**
 * Where the outcome of a collection goes besides our payment: the sepa-direct-debit provider's own record of it (a
 * refund needs the collection `collected`). The provider's `recordOutcome` fits; {@link storedCollectionOutcomes} does
 * the same on the stored records when no provider is at hand (the API, a tenant without a gateway section).
 */
export interface CollectionOutcomeSink {
  recordOutcome(providerReference: string, outcome: CollectionOutcome): Promise<unknown>;
}

/**
 * The provider's rule on its stored collection: `collected` from submitted (or again), `returned` from submitted or
 * collected. A collection the provider does not know is left alone.
 */
export function storedCollectionOutcomes(store: Store, tenantId: string): CollectionOutcomeSink {
  const records = new SqlSepaStore(store, tenantId);
  return {
    async recordOutcome(reference, outcome) {
      const c = await records.getCollection(reference);
      if (!c) return;
      const allowed =
        outcome.status === 'collected'
          ? c.status === 'submitted' || c.status === 'collected'
          : c.status === 'submitted' || c.status === 'collected' || c.status === 'returned';
      if (!allowed)
        throw new IntegrationError(`a ${c.status} collection cannot become ${outcome.status}`, 'providerReference');
      c.status = outcome.status;
      if (outcome.status === 'returned') c.returnReason = outcome.reasonCode.trim().toUpperCase();
      await records.saveCollection(c);
    },
  };
}

/** The end-to-end ids an entry carries: its own, and each of its batch transactions'. */
export function collectionEndToEndIds(e: Pick<StatementEntry, 'endToEndId' | 'transactions'>): string[] {
  if (!e.transactions?.length) return e.endToEndId ? [e.endToEndId] : [];
  const ids = new Set<string>();
  if (e.endToEndId) ids.add(e.endToEndId);
  for (const t of e.transactions ?? []) if (t.endToEndId) ids.add(t.endToEndId);
  return [...ids];
}

/**
 * Settles the collections an entry pays. When they do not add up to the entry's amount they still settle (their
 * end-to-end ids prove the money came) and the entry keeps a note of the difference for a person.
 */
export async function settleCollection(
  store: Store,
  tenantId: string,
  _settings: CashSettings,
  row: EntryRecord,
  transactions: StatementEntry['transactions'],
  sink: CollectionOutcomeSink,
): Promise<{ settled: boolean; allocatedMinor: number; warnings: string[] }> {
  const ids = collectionEndToEndIds({ endToEndId: row.end_to_end_id ?? undefined, transactions });
  if (ids.length === 0) return { settled: false, allocatedMinor: 0, warnings: [] };
  const r = await store.db.transaction().execute(async (trx) => {
    const entry = await trx
      .selectFrom('statement_entries')
      .select(['status'])
      .where('tenant_id', '=', tenantId)
      .where('entry_id', '=', row.entry_id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (entry.status !== 'unmatched') return { settled: false, allocatedMinor: 0, references: [] as string[] };
    const payments = await trx
      .selectFrom('payments')
      .select(['payment_id', 'state', 'amount_minor', 'debtor_id', 'currency', 'item_ids', 'provider_reference'])
      .where('tenant_id', '=', tenantId)
      .where('provider', '=', 'sepa-direct-debit')
      .where((eb) => eb.or([eb('provider_reference', 'in', ids), eb('merchant_reference', 'in', ids)]))
      .orderBy('payment_id')
      .forUpdate()
      .execute();
    let allocatedMinor = 0;
    let sum = 0;
    for (const p of payments) {
      const from = p.state as PaymentState;
      if (from !== 'succeeded') {
        transition(from, 'succeeded');
        await trx
          .updateTable('payments')
          .set({ state: 'succeeded', updated_at: new Date().toISOString() })
          .where('tenant_id', '=', tenantId)
          .where('payment_id', '=', p.payment_id)
          .execute();
        await appendEvents(trx, [
          event(tenantId, 'payment.state_changed', `payment:${p.payment_id}`, {
            paymentId: p.payment_id,
            from,
            to: 'succeeded',
          }),
        ]);
      }
      sum += p.amount_minor;
      if (!p.debtor_id) continue;
      const r = await allocateSettled(trx, {
        tenantId,
        paymentId: p.payment_id,
        debtorId: p.debtor_id,
        amountMinor: p.amount_minor,
        currency: p.currency,
        ...(p.item_ids?.length ? { itemIds: p.item_ids } : {}),
        valueDate: row.value_date ?? row.booking_date,
      });
      allocatedMinor += r.allocations.reduce((n, a) => n + a.amountMinor, 0);
    }
    if (payments.length === 0) return { settled: false, allocatedMinor: 0, references: [] as string[] };
    const agrees = sum === row.amount_minor;
    await trx
      .updateTable('statement_entries')
      .set({
        status: 'allocated',
        payment_id: payments.length === 1 ? payments[0]!.payment_id : null,
        debtor_id: payments.length === 1 ? payments[0]!.debtor_id : null,
        confidence: agrees ? 0.99 : null,
        matched_by: 'collection',
        note: agrees
          ? `${payments.length} direct-debit collection${payments.length > 1 ? 's' : ''} settled`
          : `${payments.length} collections settled for ${sum}, the entry is ${row.amount_minor} (minor units): check the rest`,
        updated_at: new Date().toISOString(),
      })
      .where('tenant_id', '=', tenantId)
      .where('entry_id', '=', row.entry_id)
      .execute();
    return {
      settled: true,
      allocatedMinor,
      references: payments.flatMap((p) => (p.provider_reference ? [p.provider_reference] : [])),
    };
  });
  // After the commit: the provider's records live in the same database but are written through its own store.
  const warnings: string[] = [];
  for (const ref of r.references) {
    await sink.recordOutcome(ref, { status: 'collected' }).catch((err: Error) => warnings.push(err.message));
  }
  return { settled: r.settled, allocatedMinor: r.allocatedMinor, warnings };
}

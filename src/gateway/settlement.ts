/**
 * What settled money does to open items, inside the caller's transaction: allocation when it arrives (oldest first
 * within the items it was meant for), and the reverse when it leaves again (refund, chargeback, SEPA return). Each
 * change to an item is an event and a write-back to the item's source through the outbox (DESIGN §1). Used by the
 * gateway (webhooks, counter payments) and by cash application (statements).
 */
import { sql, type Transaction } from 'kysely';
import { allocateOldestFirst } from '../domain/allocation';
import { IntegrationError } from '../domain/errors';
import { type DomainEvent, event } from '../domain/events';
import { newId } from '../domain/ids';
import type { WriteBackCommand } from '../domain/write-back';
import { enqueueWriteBacks } from '../routing/outbox';
import { appendEvents } from '../store/events';
import type { Database } from '../store/schema';

export interface AllocateInput {
  tenantId: string;
  paymentId: string;
  debtorId: string;
  amountMinor: number;
  currency: string;
  /** Restricts allocation to these items (a checkout for chosen invoices); otherwise all the debtor's open items. */
  itemIds?: readonly string[];
  /** YYYY-MM-DD the sources book the payment with. */
  valueDate: string;
  /** With `itemIds`: fail when one of them is not open (a counter payment), rather than skipping it (a webhook). */
  strict?: boolean;
}

export interface AllocationLine {
  itemId: string;
  documentNumber: string;
  amountMinor: number;
  cleared: boolean;
}

/**
 * Allocates a settled amount and records everything it changes. Over-payment stays unallocated on the payment
 * (credit). Calling it again for the same payment allocates only what is not allocated yet.
 */
export async function allocateSettled(
  trx: Transaction<Database>,
  input: AllocateInput,
): Promise<{ allocations: AllocationLine[]; allocatedMinor: number }> {
  const payment = await trx
    .selectFrom('payments')
    .select(['allocated_minor'])
    .where('tenant_id', '=', input.tenantId)
    .where('payment_id', '=', input.paymentId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const toAllocate = input.amountMinor - payment.allocated_minor;
  if (toAllocate <= 0) return { allocations: [], allocatedMinor: payment.allocated_minor };

  let q = trx
    .selectFrom('items')
    .select(['item_id', 'source', 'source_key', 'external_id', 'document_number', 'due_date', 'open_minor', 'currency'])
    .where('tenant_id', '=', input.tenantId)
    .where('debtor_id', '=', input.debtorId)
    .where('status', '=', 'open')
    .where('currency', '=', input.currency);
  if (input.itemIds?.length) q = q.where('item_id', 'in', [...input.itemIds]);
  const items = await q.forUpdate().execute();
  if (input.strict && input.itemIds?.length && items.length !== new Set(input.itemIds).size) {
    throw new IntegrationError(`some items are not open items of this debtor in ${input.currency}`, 'itemIds');
  }
  const plan = allocateOldestFirst(
    toAllocate,
    items.map((i) => ({
      itemId: i.item_id,
      dueDate: i.due_date,
      documentNumber: i.document_number,
      openMinor: i.open_minor,
    })),
  );
  const byId = new Map(items.map((i) => [i.item_id, i]));
  const events: DomainEvent[] = [];
  const writeBacks: { source: string; itemId: string; outboxId: string; command: WriteBackCommand }[] = [];
  const allocations: AllocationLine[] = [];
  const now = new Date().toISOString();
  for (const a of plan.allocations) {
    const item = byId.get(a.itemId)!;
    const rest = item.open_minor - a.amountMinor;
    await trx
      .insertInto('allocations')
      .values({
        tenant_id: input.tenantId,
        allocation_id: newId(),
        payment_id: input.paymentId,
        item_id: a.itemId,
        amount_minor: a.amountMinor,
      })
      .execute();
    await trx
      .updateTable('items')
      .set((eb) => ({
        open_minor: rest,
        status: rest === 0 ? 'closed' : 'open',
        updated_at: now,
        version: eb('version', '+', 1),
      }))
      .where('tenant_id', '=', input.tenantId)
      .where('item_id', '=', a.itemId)
      .execute();
    events.push(
      event(input.tenantId, 'payment.allocated', `payment:${input.paymentId}`, {
        paymentId: input.paymentId,
        itemId: a.itemId,
        amountMinor: a.amountMinor,
      }),
    );
    if (rest === 0) {
      events.push(
        event(input.tenantId, 'item.closed', `item:${a.itemId}`, {
          itemId: a.itemId,
          reason: 'paid',
          evidence: `payment:${input.paymentId}`,
        }),
      );
    }
    writeBacks.push({
      source: item.source,
      itemId: a.itemId,
      outboxId: `pay-${input.paymentId}-${a.itemId}`,
      command: {
        kind: 'payment',
        itemId: a.itemId,
        sourceKey: item.source_key,
        externalId: item.external_id,
        documentNumber: item.document_number,
        paymentId: input.paymentId,
        amountMinor: a.amountMinor,
        currency: item.currency,
        cleared: rest === 0,
        valueDate: input.valueDate,
      },
    });
    allocations.push({
      itemId: a.itemId,
      documentNumber: item.document_number,
      amountMinor: a.amountMinor,
      cleared: rest === 0,
    });
  }
  const allocatedMinor = payment.allocated_minor + (toAllocate - plan.unallocatedMinor);
  await trx
    .updateTable('payments')
    .set({ allocated_minor: allocatedMinor, updated_at: now })
    .where('tenant_id', '=', input.tenantId)
    .where('payment_id', '=', input.paymentId)
    .execute();
  await enqueueWriteBacks(trx, input.tenantId, writeBacks);
  await appendEvents(trx, events);
  return { allocations, allocatedMinor };
}

export interface ReverseInput {
  tenantId: string;
  paymentId: string;
  /** How much left again; taken back from the payment's allocations, newest first, then from unallocated credit. */
  amountMinor: number;
  reason: string;
  /** Business id of the reversal (refund id, dispute id, statement entry) so a repeat reverses nothing more. */
  reversalId: string;
  evidence?: string;
}

/**
 * Takes money back off items: reopens them by the reversed amount and sends a reversal write-back to each source.
 * Unallocated credit is used up first (an over-payment refunded touches no item). Idempotent per `reversalId`.
 */
export async function reverseSettled(
  trx: Transaction<Database>,
  input: ReverseInput,
): Promise<{ reopened: AllocationLine[]; replayed: boolean }> {
  const subject = `payment:${input.paymentId}`;
  const seen = await trx
    .selectFrom('events')
    .select('event_id')
    .where('tenant_id', '=', input.tenantId)
    .where('subject', '=', subject)
    .where('type', '=', 'payment.reversed')
    .where(sql<boolean>`payload->>'evidence' = ${`reversal:${input.reversalId}`}`)
    .executeTakeFirst();
  if (seen) return { reopened: [], replayed: true };

  const payment = await trx
    .selectFrom('payments')
    .select(['amount_minor', 'allocated_minor'])
    .where('tenant_id', '=', input.tenantId)
    .where('payment_id', '=', input.paymentId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const credit = Math.max(0, payment.amount_minor - payment.allocated_minor);
  let rest = Math.max(0, input.amountMinor - credit);
  const allocs = await trx
    .selectFrom('allocations as a')
    .innerJoin('items as i', (j) => j.onRef('i.tenant_id', '=', 'a.tenant_id').onRef('i.item_id', '=', 'a.item_id'))
    .select([
      'a.item_id',
      'a.amount_minor',
      'i.source',
      'i.source_key',
      'i.external_id',
      'i.document_number',
      'i.currency',
      'i.open_minor',
    ])
    .where('a.tenant_id', '=', input.tenantId)
    .where('a.payment_id', '=', input.paymentId)
    .orderBy('a.allocation_id', 'desc')
    .execute();
  // Net per item (earlier reversals are negative allocations).
  const net = new Map<string, { row: (typeof allocs)[number]; minor: number }>();
  for (const a of allocs) {
    const n = net.get(a.item_id);
    if (n) n.minor += a.amount_minor;
    else net.set(a.item_id, { row: a, minor: a.amount_minor });
  }
  const now = new Date().toISOString();
  const events: DomainEvent[] = [
    event(input.tenantId, 'payment.reversed', subject, {
      paymentId: input.paymentId,
      amountMinor: input.amountMinor,
      reason: input.reason,
      evidence: `reversal:${input.reversalId}`,
    }),
  ];
  const writeBacks: { source: string; itemId: string; outboxId: string; command: WriteBackCommand }[] = [];
  const reopened: AllocationLine[] = [];
  let taken = 0;
  for (const { row, minor } of net.values()) {
    if (rest <= 0) break;
    if (minor <= 0) continue;
    const back = Math.min(rest, minor);
    rest -= back;
    taken += back;
    await trx
      .insertInto('allocations')
      .values({
        tenant_id: input.tenantId,
        allocation_id: newId(),
        payment_id: input.paymentId,
        item_id: row.item_id,
        amount_minor: -back,
      })
      .execute();
    await trx
      .updateTable('items')
      .set((eb) => ({
        open_minor: eb('open_minor', '+', back),
        status: 'open',
        updated_at: now,
        version: eb('version', '+', 1),
      }))
      .where('tenant_id', '=', input.tenantId)
      .where('item_id', '=', row.item_id)
      .execute();
    events.push(
      event(input.tenantId, 'item.reopened', `item:${row.item_id}`, { itemId: row.item_id, reason: input.reason }),
    );
    writeBacks.push({
      source: row.source,
      itemId: row.item_id,
      outboxId: `rev-${input.paymentId}-${row.item_id}-${input.reversalId}`,
      command: {
        kind: 'reversal',
        itemId: row.item_id,
        sourceKey: row.source_key,
        externalId: row.external_id,
        documentNumber: row.document_number,
        paymentId: input.paymentId,
        amountMinor: back,
        currency: row.currency,
        reason: input.reason,
      },
    });
    reopened.push({ itemId: row.item_id, documentNumber: row.document_number, amountMinor: back, cleared: false });
  }
  await trx
    .updateTable('payments')
    .set({ allocated_minor: payment.allocated_minor - taken, updated_at: now })
    .where('tenant_id', '=', input.tenantId)
    .where('payment_id', '=', input.paymentId)
    .execute();
  await enqueueWriteBacks(trx, input.tenantId, writeBacks);
  await appendEvents(trx, events);
  return { reopened, replayed: false };
}

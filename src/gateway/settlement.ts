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
import type { OutboxEntry } from '../routing/outbox';
import type { Database } from '../store/schema';
import { query, WriteStatement } from './statement';

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

/** An open item as locked for allocation. */
export interface AllocatableItemRow {
  item_id: string;
  source: string;
  source_key: string;
  external_id: string;
  document_number: string;
  due_date: string;
  open_minor: number;
  currency: string;
}

const LOCK_ITEMS = `SELECT item_id, source, source_key, external_id, document_number, due_date, open_minor, currency
  FROM items WHERE tenant_id = $1 AND debtor_id = $2 AND status = 'open' AND currency = $3`;
const LOCK_ALL_ITEMS = `${LOCK_ITEMS} ORDER BY item_id FOR UPDATE`;
const LOCK_LISTED_ITEMS = `${LOCK_ITEMS} AND item_id = ANY($4::text[]) ORDER BY item_id FOR UPDATE`;

/** Locks the open items a settled amount may go to (in item id order, so two payments never wait on each other). */
export async function lockAllocatableItems(
  trx: Transaction<Database>,
  input: Pick<AllocateInput, 'tenantId' | 'debtorId' | 'currency' | 'itemIds'>,
): Promise<AllocatableItemRow[]> {
  return input.itemIds?.length
    ? query<AllocatableItemRow>(trx, LOCK_LISTED_ITEMS, [input.tenantId, input.debtorId, input.currency, input.itemIds])
    : query<AllocatableItemRow>(trx, LOCK_ALL_ITEMS, [input.tenantId, input.debtorId, input.currency]);
}

/** What allocating a settled amount changes, worked out in memory before anything is written. */
export interface SettlementPlan {
  allocations: AllocationLine[];
  /** The payment's allocated amount afterwards. */
  allocatedMinor: number;
  /** Every touched item's open amount afterwards (and before, as it was read). */
  items: { itemId: string; openMinor: number; openBefore: number }[];
  /** One allocation row per line. */
  rows: { allocationId: string; itemId: string; amountMinor: number }[];
  writeBacks: OutboxEntry[];
  /** `payment.allocated` (and `item.closed`) per line; the write-backs' outbox rows are their own record. */
  events: DomainEvent[];
}

/**
 * Plans the allocation of what is not allocated yet of `input.amountMinor` to the locked `items`, oldest first.
 * Returns undefined when there is nothing (more) to allocate.
 */
export function planSettlement(
  input: AllocateInput,
  items: readonly AllocatableItemRow[],
  allocatedBefore: number,
): SettlementPlan | undefined {
  const toAllocate = input.amountMinor - allocatedBefore;
  if (toAllocate <= 0) return undefined;
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
  const out: SettlementPlan = {
    allocations: [],
    allocatedMinor: allocatedBefore + (toAllocate - plan.unallocatedMinor),
    items: [],
    rows: [],
    writeBacks: [],
    events: [],
  };
  const allocated: DomainEvent[] = [];
  for (const a of plan.allocations) {
    const item = byId.get(a.itemId)!;
    const rest = item.open_minor - a.amountMinor;
    out.rows.push({ allocationId: newId(), itemId: a.itemId, amountMinor: a.amountMinor });
    out.items.push({ itemId: a.itemId, openMinor: rest, openBefore: item.open_minor });
    allocated.push(
      event(input.tenantId, 'payment.allocated', `payment:${input.paymentId}`, {
        paymentId: input.paymentId,
        itemId: a.itemId,
        amountMinor: a.amountMinor,
      }),
    );
    if (rest === 0) {
      allocated.push(
        event(input.tenantId, 'item.closed', `item:${a.itemId}`, {
          itemId: a.itemId,
          reason: 'paid',
          evidence: `payment:${input.paymentId}`,
        }),
      );
    }
    out.writeBacks.push({
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
    out.allocations.push({
      itemId: a.itemId,
      documentNumber: item.document_number,
      amountMinor: a.amountMinor,
      cleared: rest === 0,
    });
  }
  out.events = allocated;
  return out;
}

/**
 * Adds a planned allocation's rows to `stmt`: the allocation rows, the items' new open amounts and statuses, and the
 * outbox rows. The payment's `allocated_minor` and the plan's events are the caller's to add (it may change the
 * payment row and log events of its own in the same statement). With `checked`, an item is updated only while it is
 * still open for what the plan was made with, and the returned part's RETURNING has one row per item updated.
 */
export function addSettlementWrites(
  stmt: WriteStatement,
  tenantId: string,
  paymentId: string,
  plan: SettlementPlan,
  now: string,
  checked = false,
): string | undefined {
  if (plan.rows.length === 0) return undefined;
  const t = stmt.param(tenantId);
  const rows = stmt.values(
    ['text', 'text', 'bigint'],
    plan.rows.map((r) => [r.allocationId, r.itemId, r.amountMinor]),
  );
  stmt.add(
    `INSERT INTO allocations (tenant_id, allocation_id, payment_id, item_id, amount_minor)
     SELECT ${t}, a.id, ${stmt.param(paymentId)}, a.item_id, a.amount FROM ${rows} AS a(id, item_id, amount)`,
  );
  // In item id order, as items are locked elsewhere (two writers never wait on each other in opposite orders).
  const items = stmt.values(
    ['text', 'bigint', 'bigint'],
    [...plan.items].sort((a, b) => (a.itemId < b.itemId ? -1 : 1)).map((i) => [i.itemId, i.openMinor, i.openBefore]),
  );
  const itemsPart = stmt.nextName();
  stmt.add(
    `UPDATE items AS i SET open_minor = v.open_minor,
       status = CASE WHEN v.open_minor = 0 THEN 'closed' ELSE 'open' END,
       updated_at = ${stmt.param(now, 'timestamptz')}, version = i.version + 1
     FROM ${items} AS v(item_id, open_minor, before)
     WHERE i.tenant_id = ${t} AND i.item_id = v.item_id${
       checked ? " AND i.status = 'open' AND i.open_minor = v.before RETURNING 1" : ''
     }`,
  );
  addOutboxRows(stmt, tenantId, plan.writeBacks);
  return itemsPart;
}

/**
 * Allocates a settled amount and records everything it changes. Over-payment stays unallocated on the payment
 * (credit). Calling it again for the same payment allocates only what is not allocated yet.
 */
export async function allocateSettled(
  trx: Transaction<Database>,
  input: AllocateInput,
): Promise<{ allocations: AllocationLine[]; allocatedMinor: number }> {
  const [payment] = await query<{ allocated_minor: number }>(trx, LOCK_ALLOCATED, [input.tenantId, input.paymentId]);
  if (!payment) throw new Error(`allocateSettled: no payment ${input.paymentId} of tenant ${input.tenantId}`);
  if (input.amountMinor - payment.allocated_minor <= 0) {
    return { allocations: [], allocatedMinor: payment.allocated_minor };
  }
  const items = await lockAllocatableItems(trx, input);
  if (input.strict && input.itemIds?.length && items.length !== new Set(input.itemIds).size) {
    throw new IntegrationError(`some items are not open items of this debtor in ${input.currency}`, 'itemIds');
  }
  const plan = planSettlement(input, items, payment.allocated_minor)!;
  const now = new Date().toISOString();
  const stmt = new WriteStatement();
  addSettlementWrites(stmt, input.tenantId, input.paymentId, plan, now);
  stmt.add(
    `UPDATE payments SET allocated_minor = ${stmt.param(plan.allocatedMinor, 'bigint')}, updated_at = ${stmt.param(
      now,
      'timestamptz',
    )} WHERE tenant_id = ${stmt.param(input.tenantId)} AND payment_id = ${stmt.param(input.paymentId)}`,
  );
  addEventRows(stmt, plan.events);
  await stmt.execute(trx);
  return { allocations: plan.allocations, allocatedMinor: plan.allocatedMinor };
}

const LOCK_ALLOCATED = 'SELECT allocated_minor FROM payments WHERE tenant_id = $1 AND payment_id = $2 FOR UPDATE';

/** A payment's allocations as they stand, in the order they were made (what a replayed request answers with). */
export async function allocationLinesOf(
  trx: Transaction<Database>,
  tenantId: string,
  paymentId: string,
): Promise<AllocationLine[]> {
  const allocs = await trx
    .selectFrom('allocations as a')
    .innerJoin('items as i', (j) => j.onRef('i.tenant_id', '=', 'a.tenant_id').onRef('i.item_id', '=', 'a.item_id'))
    .select(['a.item_id', 'i.document_number', 'a.amount_minor', 'i.open_minor'])
    .where('a.tenant_id', '=', tenantId)
    .where('a.payment_id', '=', paymentId)
    .orderBy('a.allocation_id')
    .execute();
  return allocs.map((a) => ({
    itemId: a.item_id,
    documentNumber: a.document_number,
    amountMinor: a.amount_minor,
    cleared: a.open_minor === 0,
  }));
}

/** Outbox rows for write-backs (a row written before stays as it is). */
function addOutboxRows(stmt: WriteStatement, tenantId: string, entries: readonly OutboxEntry[]): void {
  if (entries.length === 0) return;
  const rows = stmt.values(
    ['text', 'text', 'text', 'text', 'jsonb'],
    entries.map((e) => [e.outboxId, e.source, e.command.kind, e.itemId, JSON.stringify(e.command)]),
  );
  stmt.add(
    `INSERT INTO outbox (tenant_id, outbox_id, source, kind, item_id, command)
     SELECT ${stmt.param(tenantId)}, o.id, o.source, o.kind, o.item_id, o.command
     FROM ${rows} AS o(id, source, kind, item_id, command)
     ON CONFLICT (outbox_id) DO NOTHING`,
  );
}

/** Events as `appendEvents` writes them, in the order given (their ids follow it); only when `when` holds. */
export function addEventRows(stmt: WriteStatement, events: readonly DomainEvent[], when?: string): void {
  if (events.length === 0) return;
  const rows = stmt.values(
    ['text', 'text', 'text', 'jsonb', 'integer'],
    events.map((e, n) => [e.tenantId, e.type, e.subject, JSON.stringify(e.payload), n]),
  );
  stmt.add(
    `INSERT INTO events (tenant_id, type, subject, payload)
     SELECT e.tenant_id, e.type, e.subject, e.payload FROM ${rows} AS e(tenant_id, type, subject, payload, n)${
       when ? ` WHERE ${when}` : ''
     }
     ORDER BY e.n`,
  );
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
 * Call it before the payment's `refunded_minor` counts this reversal.
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
    .select(['amount_minor', 'captured_minor', 'refunded_minor', 'allocated_minor'])
    .where('tenant_id', '=', input.tenantId)
    .where('payment_id', '=', input.paymentId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  // What is left of the credit: a refund taken out of it earlier used it up (`refunded_minor` is before this one).
  const credit = Math.max(
    0,
    (payment.captured_minor || payment.amount_minor) - payment.refunded_minor - payment.allocated_minor,
  );
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
  const writeBacks: OutboxEntry[] = [];
  const reopened: AllocationLine[] = [];
  const rows: { allocationId: string; itemId: string; back: number }[] = [];
  let taken = 0;
  for (const { row, minor } of net.values()) {
    if (rest <= 0) break;
    if (minor <= 0) continue;
    const back = Math.min(rest, minor);
    rest -= back;
    taken += back;
    rows.push({ allocationId: newId(), itemId: row.item_id, back });
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
  // One statement: the negative allocations, the items reopened by what came back, the payment, the write-backs
  // and the events.
  const stmt = new WriteStatement();
  const t = stmt.param(input.tenantId);
  const pid = stmt.param(input.paymentId);
  const at = stmt.param(now, 'timestamptz');
  if (rows.length > 0) {
    const allocations = stmt.values(
      ['text', 'text', 'bigint'],
      rows.map((r) => [r.allocationId, r.itemId, -r.back]),
    );
    stmt.add(
      `INSERT INTO allocations (tenant_id, allocation_id, payment_id, item_id, amount_minor)
       SELECT ${t}, a.id, ${pid}, a.item_id, a.amount FROM ${allocations} AS a(id, item_id, amount)`,
    );
    const items = stmt.values(
      ['text', 'bigint'],
      [...rows].sort((a, b) => (a.itemId < b.itemId ? -1 : 1)).map((r) => [r.itemId, r.back]),
    );
    stmt.add(
      `UPDATE items AS i SET open_minor = i.open_minor + v.back, status = 'open', updated_at = ${at},
         version = i.version + 1
       FROM ${items} AS v(item_id, back)
       WHERE i.tenant_id = ${t} AND i.item_id = v.item_id`,
    );
  }
  stmt.add(
    `UPDATE payments SET allocated_minor = ${stmt.param(payment.allocated_minor - taken, 'bigint')}, updated_at = ${at}
     WHERE tenant_id = ${t} AND payment_id = ${pid}`,
  );
  addOutboxRows(stmt, input.tenantId, writeBacks);
  addEventRows(stmt, events);
  await stmt.execute(trx);
  return { reopened, replayed: false };
}

/**
 * Reconciliation of cash with the sources: the differences between what was paid (payments that settled and were
 * allocated) and what the sources have cleared, and the fixes that can be made by sending write-backs again.
 *
 * | kind                 | what it means                                                                  | fix            |
 * |----------------------|--------------------------------------------------------------------------------|----------------|
 * | `writeback_dead`     | a payment or reversal never reached the item's source (dead letter)            | replay it      |
 * | `writeback_stuck`    | a write-back has waited longer than `staleHours` (is a worker running?)        | —              |
 * | `open_in_source`     | the source was told of our allocation days ago and still shows more open       | —              |
 * | `closed_but_dunned`  | a paid item is in a notice not sent yet, or a dunning level is on its way      | —              |
 * | `unapplied_credit`   | money that settled but pays no item (over-payment, items gone): refund or apply | —              |
 * | `unmatched_entries`  | statement credits in the worklist: money in the account not applied yet        | —              |
 */
import { sql } from 'kysely';
import { replayDeadLetters } from '../routing/outbox';
import type { Store } from '../store/db';
import { CLEARHUB_SOURCE } from './settings';

export type DifferenceKind =
  | 'writeback_dead'
  | 'writeback_stuck'
  | 'open_in_source'
  | 'closed_but_dunned'
  | 'unapplied_credit'
  | 'unmatched_entries';

export const DIFFERENCE_KINDS: readonly DifferenceKind[] = [
  'writeback_dead',
  'writeback_stuck',
  'open_in_source',
  'closed_but_dunned',
  'unapplied_credit',
  'unmatched_entries',
];

export interface Difference {
  kind: DifferenceKind;
  source: string | null;
  itemId: string | null;
  documentNumber: string | null;
  paymentId: string | null;
  outboxId: string | null;
  /** The amount the difference is about, in minor units of `currency`. */
  amountMinor: number;
  currency: string;
  detail: string;
  /** `reconcile --fix` can repair it (by sending the write-back again). */
  fixable: boolean;
}

export interface CurrencyTotals {
  currency: string;
  /** Settled payments, less refunds. */
  paidMinor: number;
  /** What those payments put on items. */
  allocatedMinor: number;
  /** Paid but on no item: credit. */
  unappliedMinor: number;
  /** Statement credits waiting in the worklist. */
  worklistMinor: number;
}

export interface ReconcileReport {
  tenantId: string;
  totals: CurrencyTotals[];
  counts: Record<DifferenceKind, number>;
  differences: Difference[];
}

export interface ReconcileOptions {
  tenantId: string;
  /** A write-back pending longer than this is stuck. @defaultValue 24 */
  staleHours?: number;
  /** Days a source may take to book a delivered payment before it counts as not cleared. @defaultValue 2 */
  graceDays?: number;
  /** Rows listed per kind at most (counts are complete). @defaultValue 1000 */
  limit?: number;
}

const SETTLED = ['succeeded', 'partially_refunded'];

/** Builds the report; reads only. */
export async function reconcile(store: Store, opts: ReconcileOptions): Promise<ReconcileReport> {
  const { tenantId } = opts;
  const limit = opts.limit ?? 1000;
  const staleBefore = new Date(Date.now() - (opts.staleHours ?? 24) * 3_600_000).toISOString();
  const graceBefore = new Date(Date.now() - (opts.graceDays ?? 2) * 86_400_000).toISOString();
  const db = store.db;
  const differences: Difference[] = [];
  const counts = Object.fromEntries(DIFFERENCE_KINDS.map((k) => [k, 0])) as Record<DifferenceKind, number>;
  const add = (d: Difference[], kind: DifferenceKind, total: number) => {
    counts[kind] = total;
    differences.push(...d);
  };

  // Payment and reversal write-backs that never arrived, or wait too long.
  for (const [kind, statuses, before] of [
    ['writeback_dead', ['dead'], undefined],
    ['writeback_stuck', ['pending', 'enqueued'], staleBefore],
  ] as const) {
    let q = db
      .selectFrom('outbox as o')
      .leftJoin('items as i', (j) => j.onRef('i.tenant_id', '=', 'o.tenant_id').onRef('i.item_id', '=', 'o.item_id'))
      .where('o.tenant_id', '=', tenantId)
      .where('o.kind', 'in', ['payment', 'reversal'])
      .where('o.status', 'in', [...statuses]);
    if (before) q = q.where('o.created_at', '<', before);
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await q
      .select([
        'o.outbox_id',
        'o.source',
        'o.kind',
        'o.item_id',
        'o.command',
        'o.last_error',
        'o.created_at',
        'o.dead_at',
        'i.document_number',
      ])
      .orderBy('o.created_at')
      .limit(limit)
      .execute();
    add(
      rows.map((r) => {
        const c = r.command as { paymentId?: string; amountMinor?: number; currency?: string };
        return {
          kind,
          source: r.source,
          itemId: r.item_id,
          documentNumber: r.document_number,
          paymentId: c.paymentId ?? null,
          outboxId: r.outbox_id,
          amountMinor: c.amountMinor ?? 0,
          currency: c.currency ?? '',
          detail:
            kind === 'writeback_dead'
              ? `${r.kind} write-back to ${r.source} is a dead letter since ${r.dead_at}: ${r.last_error ?? 'no error recorded'}`
              : `${r.kind} write-back to ${r.source} waits since ${r.created_at}; is a worker running?`,
          fixable: kind === 'writeback_dead',
        };
      }),
      kind,
      Number(total.n),
    );
  }

  // The source was told of our allocation (delivered more than graceDays ago) and still shows more open than we do.
  const openInSource = db
    .selectFrom('items as i')
    .innerJoin('outbox as o', (j) =>
      j
        .onRef('o.tenant_id', '=', 'i.tenant_id')
        .onRef('o.item_id', '=', 'i.item_id')
        .on('o.kind', '=', 'payment')
        .on('o.status', '=', 'delivered'),
    )
    .leftJoin('checkpoints as c', (j) => j.onRef('c.tenant_id', '=', 'i.tenant_id').onRef('c.source', '=', 'i.source'))
    .where('i.tenant_id', '=', tenantId)
    .where('i.source', '!=', CLEARHUB_SOURCE)
    .whereRef('i.source_open_minor', '>', 'i.open_minor')
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('outbox as p')
            .select('p.outbox_id')
            .whereRef('p.tenant_id', '=', 'i.tenant_id')
            .whereRef('p.item_id', '=', 'i.item_id')
            .where('p.kind', 'in', ['payment', 'reversal'])
            .where('p.status', '!=', 'delivered'),
        ),
      ),
    )
    .groupBy([
      'i.item_id',
      'i.source',
      'i.document_number',
      'i.currency',
      'i.open_minor',
      'i.source_open_minor',
      'c.updated_at',
    ])
    .having((eb) => eb.fn.max('o.delivered_at'), '<', graceBefore);
  const oisRows = await openInSource
    .select([
      'i.item_id',
      'i.source',
      'i.document_number',
      'i.currency',
      'i.open_minor',
      'i.source_open_minor',
      'c.updated_at as last_read',
      (eb) => eb.fn.max('o.delivered_at').as('delivered_at'),
      (eb) => eb.fn.max('o.outbox_id').as('outbox_id'),
    ])
    .orderBy('i.item_id')
    .limit(limit)
    .execute();
  const oisTotal = await db
    .selectFrom(openInSource.select('i.item_id').as('x'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  add(
    oisRows.map((r) => ({
      kind: 'open_in_source' as const,
      source: r.source,
      itemId: r.item_id,
      documentNumber: r.document_number,
      paymentId: null,
      outboxId: r.outbox_id,
      amountMinor: r.source_open_minor - r.open_minor,
      currency: r.currency,
      detail: `${r.source} shows ${r.source_open_minor} open, we show ${r.open_minor} (minor units) after payments it was sent on ${String(
        r.delivered_at,
      ).slice(0, 10)}; source last read ${r.last_read ? r.last_read.slice(0, 16) : 'unknown'}`,
      fixable: false,
    })),
    'open_in_source',
    Number(oisTotal.n),
  );

  // Paid items that a notice not sent yet still lists, or whose source is about to get a dunning level.
  const inNotices = await sql<{
    notice_id: string;
    item_id: string;
    source: string;
    document_number: string;
    currency: string;
    amount_minor: number;
  }>`
    SELECT n.notice_id, i.item_id, i.source, i.document_number, i.currency, i.amount_minor
    FROM notices n
    CROSS JOIN LATERAL jsonb_array_elements_text(n.item_ids) AS x(item_id)
    JOIN items i ON i.tenant_id = n.tenant_id AND i.item_id = x.item_id
    WHERE n.tenant_id = ${tenantId} AND n.status = 'pending' AND i.status = 'closed'
    ORDER BY n.notice_id, i.item_id`.execute(db);
  const levelOnItsWay = await db
    .selectFrom('outbox as o')
    .innerJoin('items as i', (j) => j.onRef('i.tenant_id', '=', 'o.tenant_id').onRef('i.item_id', '=', 'o.item_id'))
    .select(['o.outbox_id', 'o.source', 'o.status', 'i.item_id', 'i.document_number', 'i.currency', 'i.amount_minor'])
    .where('o.tenant_id', '=', tenantId)
    .where('o.kind', '=', 'dunning_level')
    .where('o.status', 'in', ['pending', 'enqueued', 'dead'])
    .where('i.status', '=', 'closed')
    .orderBy('o.outbox_id')
    .execute();
  const dunned: Difference[] = [
    ...inNotices.rows.map((r) => ({
      kind: 'closed_but_dunned' as const,
      source: r.source,
      itemId: r.item_id,
      documentNumber: r.document_number,
      paymentId: null,
      outboxId: null,
      amountMinor: Number(r.amount_minor),
      currency: r.currency,
      detail: `paid, but notice ${r.notice_id} (not sent yet) still lists it`,
      fixable: false,
    })),
    ...levelOnItsWay.map((r) => ({
      kind: 'closed_but_dunned' as const,
      source: r.source,
      itemId: r.item_id,
      documentNumber: r.document_number,
      paymentId: null,
      outboxId: r.outbox_id,
      amountMinor: r.amount_minor,
      currency: r.currency,
      detail: `paid, but a dunning level write-back to ${r.source} is ${r.status}`,
      fixable: false,
    })),
  ];
  add(dunned.slice(0, limit), 'closed_but_dunned', dunned.length);

  // Money that settled and pays no item.
  const credit = db
    .selectFrom('payments')
    .where('tenant_id', '=', tenantId)
    .where('state', 'in', SETTLED)
    .where(sql<boolean>`amount_minor - refunded_minor > allocated_minor`);
  const creditRows = await credit
    .select(['payment_id', 'debtor_id', 'provider', 'currency', 'amount_minor', 'refunded_minor', 'allocated_minor'])
    .orderBy('payment_id')
    .limit(limit)
    .execute();
  const creditTotal = await credit.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  add(
    creditRows.map((p) => ({
      kind: 'unapplied_credit' as const,
      source: null,
      itemId: null,
      documentNumber: null,
      paymentId: p.payment_id,
      outboxId: null,
      amountMinor: p.amount_minor - p.refunded_minor - p.allocated_minor,
      currency: p.currency,
      detail: `${p.provider} payment of debtor ${p.debtor_id ?? '(unknown)'} pays no item with this much: refund it (pain.001) or allocate it`,
      fixable: false,
    })),
    'unapplied_credit',
    Number(creditTotal.n),
  );

  // Statement credits still in the worklist.
  const worklist = db
    .selectFrom('statement_entries')
    .where('tenant_id', '=', tenantId)
    .where('status', 'in', ['suggested', 'unmatched'])
    .where('kind', '=', 'credit');
  const wlRows = await worklist
    .select(['entry_id', 'currency', 'amount_minor', 'booking_date', 'counterparty_name', 'remittance', 'status'])
    .orderBy('entry_id')
    .limit(limit)
    .execute();
  const wlTotal = await worklist.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  add(
    wlRows.map((e) => ({
      kind: 'unmatched_entries' as const,
      source: null,
      itemId: null,
      documentNumber: null,
      paymentId: null,
      outboxId: null,
      amountMinor: e.amount_minor,
      currency: e.currency,
      detail: `received ${e.booking_date} from ${e.counterparty_name ?? '(no name)'} "${(e.remittance ?? '').slice(0, 60)}": ${
        e.status === 'suggested' ? 'suggestions wait for a decision' : 'no candidate found'
      } (entry ${e.entry_id})`,
      fixable: false,
    })),
    'unmatched_entries',
    Number(wlTotal.n),
  );

  // Totals per currency.
  const paid = await db
    .selectFrom('payments')
    .select([
      'currency',
      sql<number>`sum(amount_minor - refunded_minor)::bigint`.as('paid'),
      sql<number>`sum(allocated_minor)::bigint`.as('allocated'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('state', 'in', SETTLED)
    .groupBy('currency')
    .execute();
  const waiting = await worklist
    .select(['currency', sql<number>`sum(amount_minor)::bigint`.as('sum')])
    .groupBy('currency')
    .execute();
  const currencies = [...new Set([...paid.map((p) => p.currency), ...waiting.map((w) => w.currency)])].sort();
  const totals = currencies.map((currency) => {
    const p = paid.find((x) => x.currency === currency);
    const paidMinor = Number(p?.paid ?? 0);
    const allocatedMinor = Number(p?.allocated ?? 0);
    return {
      currency,
      paidMinor,
      allocatedMinor,
      unappliedMinor: paidMinor - allocatedMinor,
      worklistMinor: Number(waiting.find((x) => x.currency === currency)?.sum ?? 0),
    };
  });

  return { tenantId, totals, counts, differences };
}

/**
 * Fixes what can be fixed: dead payment and reversal write-backs are put back in line (the worker sends them again
 * under the same idempotency key, so a source that did get the first one sees a duplicate, not a second posting).
 * Returns the outbox ids replayed.
 */
export async function fixDifferences(store: Store, report: ReconcileReport): Promise<string[]> {
  const ids = report.differences.filter((d) => d.fixable && d.outboxId).map((d) => d.outboxId!);
  if (ids.length === 0) return [];
  return replayDeadLetters(store.db, { outboxIds: ids, tenantId: report.tenantId });
}

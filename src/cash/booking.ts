/**
 * Books a batch of matched statement credits set-based: the payments, their allocations, the items' new open amounts,
 * one outbox row per allocation and the events — one statement for the whole batch.
 *
 * It writes exactly what `allocateSettled` (gateway/settlement.ts) writes for one payment — the same allocation rows,
 * the same write-back command under the same outbox id `pay-<paymentId>-<itemId>`, the same events — so a source
 * cannot tell a statement payment from a gateway payment. `allocateSettled` does it with a few statements per item,
 * which is right for one webhook and far too slow for a statement of 100,000 entries; test/integration/cash-booking
 * checks the two agree.
 *
 * Node sends only what it decided (payments and their lines, as JSON); the rows derived from them — the write-back
 * commands with the items' source keys, the events — are built in the database from the items as updated, so they
 * never travel through node.
 */
import type { RawSession } from '../store/db';

/** Error code of {@link BookingConflict}. */
export const BOOKING_CONFLICT = 'CLEARHUB_BOOKING_CONFLICT';

/**
 * An item a batch pays changed between reading it and booking (a webhook or a person allocated to it): the batch is
 * rolled back and goes round again with fresh amounts.
 */
export class BookingConflict extends Error {
  override readonly name = 'BookingConflict';
  readonly code = BOOKING_CONFLICT;
}

export interface BookingLine {
  itemId: string;
  amountMinor: number;
  /** The item's open amount before this line, as the plan was made with. */
  openBeforeMinor: number;
  /** Whether this allocation closes the item. */
  cleared: boolean;
}

/** One payment that arrived, attributed to a debtor, with what it pays. */
export interface Booking {
  paymentId: string;
  /** `statement:<account>:<entry key>`: a re-imported statement books nothing twice. */
  idempotencyKey: string;
  method: 'sepa_credit_transfer' | 'sepa_direct_debit';
  /** The bank's end-to-end id or reference. */
  providerReference: string | null;
  debtorId: string;
  currency: string;
  amountMinor: number;
  /** The date the sources book the payment with. */
  valueDate: string;
  /** When the money arrived (the booking date). */
  receivedAt: string;
  lines: BookingLine[];
}

/** The n-th (1-based) part of a time-ordered id: `<id>.001`, so a later part sorts after an earlier one. */
export const seqSql = (id: string, n: string, width: number) =>
  `${id} || '.' || CASE WHEN ${n} < 1${'0'.repeat(width)} THEN lpad(${n}::text, ${width}, '0') ELSE ${n}::text END`;

/** {@link seqSql} in node: the same id for the same part. */
export const seqId = (id: string, n: number, width: number): string =>
  `${id}.${n < 10 ** width ? String(n).padStart(width, '0') : String(n)}`;

/**
 * $1 tenant, $2 payments, $3 lines (each with its payment's position `o`), $4 each item's open amount before and after
 * the batch, $5 items the plan took as paid. Items are updated in item order (as every writer locks them) and only
 * while still open for what the plan was made with; the answer is how many were, and how many of the paid ones are
 * open again.
 */
const BOOK_SQL = `
WITH
pay AS (SELECT * FROM json_to_recordset($2::json)
          AS x(o int, id text, debtor text, method text, ref text, key text, currency text, amount bigint,
               allocated bigint, at text, items jsonb)),
line AS (SELECT * FROM json_to_recordset($3::json)
           AS x(o int, n int, id text, item text, amount bigint, cleared boolean, vd text)),
upd AS (
  UPDATE items AS i SET open_minor = v.after, status = CASE WHEN v.after = 0 THEN 'closed' ELSE 'open' END,
         version = i.version + 1, updated_at = now()
  FROM (SELECT * FROM json_to_recordset($4::json) AS x(item text, before bigint, after bigint) ORDER BY item) v
  WHERE i.tenant_id = $1 AND i.item_id = v.item AND i.status = 'open' AND i.open_minor = v.before
  RETURNING i.item_id, i.source, i.source_key, i.external_id, i.document_number, i.currency),
ins_payments AS (
  INSERT INTO payments (tenant_id, payment_id, debtor_id, method, provider, merchant_reference, provider_reference,
                        currency, amount_minor, allocated_minor, state, idempotency_key, received_at, item_ids)
  SELECT $1, id, debtor, method, 'bank', key, ref, currency, amount, allocated, 'succeeded', key, at::timestamptz, items
  FROM pay ORDER BY o),
ins_allocations AS (
  -- The n-th allocation of a payment: time-ordered like the payment id, so a reversal (newer ids) takes back the last
  -- allocation first, as it does for allocateSettled's.
  INSERT INTO allocations (tenant_id, allocation_id, payment_id, item_id, amount_minor)
  SELECT $1, ${seqSql('id', 'n', 3)}, id, item, amount FROM line ORDER BY o, n),
ins_outbox AS (
  INSERT INTO outbox (tenant_id, outbox_id, source, kind, item_id, command)
  SELECT $1, 'pay-' || l.id || '-' || l.item, u.source, 'payment', l.item,
         jsonb_build_object('kind', 'payment', 'itemId', l.item, 'sourceKey', u.source_key, 'externalId', u.external_id,
           'documentNumber', u.document_number, 'paymentId', l.id, 'amountMinor', l.amount, 'currency', u.currency,
           'cleared', l.cleared, 'valueDate', l.vd)
  FROM line l JOIN upd u ON u.item_id = l.item ORDER BY l.o, l.n),
ins_events AS (
  INSERT INTO events (tenant_id, type, subject, payload)
  SELECT $1, e.type, e.subject, e.payload FROM (
    SELECT o, 0 AS part, 0 AS n, 0 AS sub, 'payment.recorded' AS type, 'payment:' || id AS subject,
           jsonb_build_object('paymentId', id, 'amountMinor', amount, 'currency', currency, 'method', method) AS payload
    FROM pay
    UNION ALL
    SELECT o, 1, n, 0, 'payment.allocated', 'payment:' || id,
           jsonb_build_object('paymentId', id, 'itemId', item, 'amountMinor', amount)
    FROM line
    UNION ALL
    SELECT o, 1, n, 1, 'item.closed', 'item:' || item,
           jsonb_build_object('itemId', item, 'reason', 'paid', 'evidence', 'payment:' || id)
    FROM line WHERE cleared
  ) e ORDER BY e.o, e.part, e.n, e.sub)
SELECT (SELECT count(*)::int FROM upd) AS updated,
       (SELECT count(*)::int FROM items
        WHERE tenant_id = $1 AND item_id IN (SELECT json_array_elements_text($5::json)) AND status = 'open'
          AND open_minor > 0) AS reopened`;

/**
 * Writes the bookings in the caller's transaction, in one statement. Item open amounts in `lines` are those before the
 * line (as the plan was made with); an item that changed since is a {@link BookingConflict}, and nothing of the batch
 * stays (the caller's transaction is rolled back). Updating an item takes its row lock, so a concurrent payment to
 * the same item either waits for the batch or makes it a conflict: an item is never paid beyond its open amount.
 * `paid` names items the plan skipped as paid in full; one open again is a conflict too.
 */
export async function writeBookings(
  s: RawSession,
  tenantId: string,
  bookings: readonly Booking[],
  paid: readonly string[] = [],
): Promise<void> {
  if (bookings.length === 0) return;
  const pay: unknown[] = [];
  const lines: unknown[] = [];
  // Each item's open amount before the batch and after it (an item two entries pay is updated once).
  const items = new Map<string, { item: string; before: number; after: number }>();
  bookings.forEach((b, o) => {
    let allocated = 0;
    const itemIds: string[] = [];
    b.lines.forEach((l, n) => {
      allocated += l.amountMinor;
      itemIds.push(l.itemId);
      lines.push({
        o,
        n: n + 1,
        id: b.paymentId,
        item: l.itemId,
        amount: l.amountMinor,
        cleared: l.cleared,
        vd: b.valueDate,
      });
      const it = items.get(l.itemId);
      if (it) it.after -= l.amountMinor;
      else items.set(l.itemId, { item: l.itemId, before: l.openBeforeMinor, after: l.openBeforeMinor - l.amountMinor });
    });
    pay.push({
      o,
      id: b.paymentId,
      debtor: b.debtorId,
      method: b.method,
      ref: b.providerReference,
      key: b.idempotencyKey,
      currency: b.currency,
      amount: b.amountMinor,
      allocated,
      at: b.receivedAt,
      items: itemIds,
    });
  });
  const { rows } = await s.query<{ updated: number; reopened: number }>(BOOK_SQL, [
    tenantId,
    JSON.stringify(pay),
    JSON.stringify(lines),
    JSON.stringify([...items.values()]),
    JSON.stringify(paid),
  ]);
  const { updated, reopened } = rows[0]!;
  if (updated !== items.size || reopened > 0) {
    throw new BookingConflict(
      `${items.size - updated} of ${items.size} items changed while the batch was booked` +
        (reopened > 0 ? `, ${reopened} paid ones were opened again` : ''),
    );
  }
}

/** The outbox id of a payment's write-back to one item: the one `allocateSettled` uses. */
export const outboxIdOf = (paymentId: string, itemId: string) => `pay-${paymentId}-${itemId}`;

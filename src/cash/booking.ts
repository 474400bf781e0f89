/**
 * Books a batch of matched statement credits set-based: the payments, their allocations, the items' new open amounts,
 * one outbox row per touched item and the events — a handful of statements (COPY and one UPDATE) for the whole batch.
 *
 * It writes exactly what `allocateSettled` (gateway/settlement.ts) writes for one payment — the same allocation rows,
 * the same write-back command under the same outbox id `pay-<paymentId>-<itemId>`, the same events — so a source
 * cannot tell a statement payment from a gateway payment. `allocateSettled` does it with a few statements per item,
 * which is right for one webhook and far too slow for a statement of 100,000 entries; test/integration/cash-booking
 * checks the two agree.
 */
import type { WriteBackCommand } from '../domain/write-back';
import { csvField, type RawSession } from '../store/db';

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

/** An item as read for booking. */
export interface BookableItem {
  itemId: string;
  source: string;
  sourceKey: string;
  externalId: string;
  documentNumber: string;
  currency: string;
  openMinor: number;
}

export interface BookingLine {
  item: BookableItem;
  amountMinor: number;
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

function* csvRows<T>(rows: readonly T[], line: (r: T) => string): Iterable<string> {
  let buf = '';
  for (const r of rows) {
    buf += line(r);
    if (buf.length > 1 << 16) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

/**
 * Writes the bookings in the caller's transaction. Item open amounts in `lines` are those before the line (as read by
 * the caller); an item that changed since is a {@link BookingConflict}.
 */
export async function writeBookings(s: RawSession, tenantId: string, bookings: readonly Booking[]): Promise<void> {
  if (bookings.length === 0) return;
  const t = csvField(tenantId);
  await s.copyIn(
    'payments',
    [
      'tenant_id',
      'payment_id',
      'debtor_id',
      'method',
      'provider',
      'merchant_reference',
      'provider_reference',
      'currency',
      'amount_minor',
      'allocated_minor',
      'state',
      'idempotency_key',
      'received_at',
      'item_ids',
    ],
    csvRows(
      bookings,
      (b) =>
        `${t},${b.paymentId},${csvField(b.debtorId)},${b.method},bank,${csvField(b.idempotencyKey)},${csvField(
          b.providerReference,
        )},${b.currency},${b.amountMinor},${b.lines.reduce((n, l) => n + l.amountMinor, 0)},succeeded,${csvField(
          b.idempotencyKey,
        )},${b.receivedAt},${jsonField(b.lines.map((l) => l.item.itemId))}\n`,
    ),
  );

  const lines = bookings.flatMap((b) => b.lines.map((l) => ({ b, l })));
  if (lines.length > 0) {
    await s.copyIn(
      'allocations',
      ['tenant_id', 'allocation_id', 'payment_id', 'item_id', 'amount_minor'],
      // The n-th allocation of a payment: time-ordered like the payment id, so a reversal (newer ids) takes back the
      // last allocation first, as it does for allocateSettled's.
      csvRows(
        bookings.flatMap((b) => b.lines.map((l, n) => ({ b, l, n }))),
        ({ b, l, n }) =>
          `${t},${b.paymentId}.${String(n + 1).padStart(3, '0')},${b.paymentId},${csvField(l.item.itemId)},${l.amountMinor}\n`,
      ),
    );
    // Each item's open amount after the whole batch (an item two entries pay is updated once), on the condition that
    // it is still open for what the plan was made with.
    const before = new Map<string, number>();
    const open = new Map<string, number>();
    for (const { l } of lines) {
      if (!before.has(l.item.itemId)) before.set(l.item.itemId, l.item.openMinor);
      open.set(l.item.itemId, (open.get(l.item.itemId) ?? l.item.openMinor) - l.amountMinor);
    }
    const updated = await s.query(
      `UPDATE items AS i SET open_minor = v.open_minor,
              status = CASE WHEN v.open_minor = 0 THEN 'closed' ELSE 'open' END,
              version = i.version + 1, updated_at = now()
       FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS v(item_id, open_minor, before)
       WHERE i.tenant_id = $1 AND i.item_id = v.item_id AND i.status = 'open' AND i.open_minor = v.before`,
      [tenantId, [...open.keys()], [...open.values()], [...before.values()]],
    );
    if (updated.affectedRows !== open.size) {
      throw new BookingConflict(
        `${open.size - updated.affectedRows} of ${open.size} items changed while the batch was booked`,
      );
    }
    await s.copyIn(
      'outbox',
      ['tenant_id', 'outbox_id', 'source', 'kind', 'item_id', 'command'],
      csvRows(lines, ({ b, l }) => {
        const command: WriteBackCommand = {
          kind: 'payment',
          itemId: l.item.itemId,
          sourceKey: l.item.sourceKey,
          externalId: l.item.externalId,
          documentNumber: l.item.documentNumber,
          paymentId: b.paymentId,
          amountMinor: l.amountMinor,
          currency: l.item.currency,
          cleared: l.cleared,
          valueDate: b.valueDate,
        };
        return `${t},${outboxIdOf(b.paymentId, l.item.itemId)},${csvField(l.item.source)},payment,${csvField(
          l.item.itemId,
        )},${jsonField(command)}\n`;
      }),
    );
  }

  await s.copyIn(
    'events',
    ['tenant_id', 'type', 'subject', 'payload'],
    csvRows(bookings, (b) => {
      // Hundreds of thousands of small payloads per statement: written as CSV-quoted JSON directly.
      const ev = (type: string, subject: string, payload: string) => `${t},${type},${csvField(subject)},"${payload}"\n`;
      const pid = jsonCsv(b.paymentId);
      let out = ev(
        'payment.recorded',
        `payment:${b.paymentId}`,
        `{""paymentId"":${pid},""amountMinor"":${b.amountMinor},""currency"":${jsonCsv(b.currency)},""method"":${jsonCsv(b.method)}}`,
      );
      for (const l of b.lines) {
        const iid = jsonCsv(l.item.itemId);
        out += ev(
          'payment.allocated',
          `payment:${b.paymentId}`,
          `{""paymentId"":${pid},""itemId"":${iid},""amountMinor"":${l.amountMinor}}`,
        );
        if (l.cleared) {
          out += ev(
            'item.closed',
            `item:${l.item.itemId}`,
            `{""itemId"":${iid},""reason"":""paid"",""evidence"":${jsonCsv(`payment:${b.paymentId}`)}}`,
          );
        }
      }
      for (const l of b.lines) {
        const outboxId = outboxIdOf(b.paymentId, l.item.itemId);
        out += ev(
          'writeback.enqueued',
          `outbox:${outboxId}`,
          `{""outboxId"":${jsonCsv(outboxId)},""source"":${jsonCsv(l.item.source)},""command"":""payment""}`,
        );
      }
      return out;
    }),
  );
}

/** A value as JSON in a quoted CSV field (JSON always has quotes to double). */
export function jsonField(value: unknown): string {
  return `"${JSON.stringify(value).replaceAll('"', '""')}"`;
}

/** A JSON string literal with its quotes doubled, for inside a quoted CSV field. */
function jsonCsv(s: string): string {
  return JSON.stringify(s).replaceAll('"', '""');
}

/** The outbox id of a payment's write-back to one item: the one `allocateSettled` uses. */
export const outboxIdOf = (paymentId: string, itemId: string) => `pay-${paymentId}-${itemId}`;

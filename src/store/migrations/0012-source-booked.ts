import { type Kysely, sql } from 'kysely';

/**
 * How much of our own allocations to an item the source has booked itself (DESIGN §1: a payment we allocate is
 * written back, and the source then reports a lower open amount). Without it a re-import cannot tell our own payment,
 * now booked by the source, from a second payment the source booked, and subtracts ours twice.
 *
 * Existing items: what the old delta rule left unaccounted (source open minus ours) is taken as not booked yet; the
 * rest of the net allocations as booked.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE items ADD COLUMN source_booked_minor bigint NOT NULL DEFAULT 0`.execute(db);
  await sql`UPDATE items AS i SET source_booked_minor = a.net - GREATEST(0, i.source_open_minor - i.open_minor)
    FROM (SELECT tenant_id, item_id, sum(amount_minor) AS net FROM allocations GROUP BY tenant_id, item_id) AS a
    WHERE i.tenant_id = a.tenant_id AND i.item_id = a.item_id AND i.source_open_minor > 0
      AND a.net <> GREATEST(0, i.source_open_minor - i.open_minor)`.execute(db);
}

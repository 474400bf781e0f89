import { type Kysely, sql } from 'kysely';

/**
 * Two identities that gained a part:
 *
 * - A statement entry's key names its currency (`<date>/<currency>/<amount>/<ref>`), and a statement's key too
 *   (`<format>|<id>|<currency>|<first>|<last>`): one IBAN may hold EUR and USD statements under the same `:20:`, and an
 *   entry of one was taken for an entry of the other (cash/keys.ts). Stored keys are rewritten, so a file imported
 *   before is still recognised when it comes again and books nothing twice.
 * - Debtors are unified across sources by customer number without SAP's leading zeros (RFC `0010100001`, OData
 *   `10100001`): `clearhub_customer_number` is that comparison, and an index on it keeps the lookup an index probe
 *   per customer instead of a scan of the tenant's links.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await keysWithCurrency(db);
  await sql`CREATE FUNCTION clearhub_customer_number(external_id text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN external_id ~ '^[0-9]+$' THEN COALESCE(NULLIF(ltrim(external_id, '0'), ''), '0') ELSE external_id END
  $$`.execute(db);
  await sql`CREATE INDEX debtor_links_by_number ON debtor_links (tenant_id, clearhub_customer_number(external_id))`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS debtor_links_by_number`.execute(db);
  await sql`DROP FUNCTION IF EXISTS clearhub_customer_number(text)`.execute(db);
}

/** Rewrites the entry and statement keys stored without their currency (exported for the test that holds it). */
export async function keysWithCurrency(db: Kysely<unknown>): Promise<void> {
  await sql`UPDATE statement_entries SET entry_key = regexp_replace(entry_key, '^([0-9]{4}-[0-9]{2}-[0-9]{2})/', '\\1/' || currency || '/')
    WHERE entry_key ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}/' AND entry_key !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}/[A-Z]{3}/'`.execute(
    db,
  );
  // Old keys have four parts; a bank id with a '|' of its own is left as it is (it would be split wrongly).
  await sql`UPDATE statements SET statement_key = split_part(statement_key, '|', 1) || '|' || split_part(statement_key, '|', 2)
      || '|' || currency || '|' || split_part(statement_key, '|', 3) || '|' || split_part(statement_key, '|', 4)
    WHERE length(statement_key) - length(replace(statement_key, '|', '')) = 3`.execute(db);
}

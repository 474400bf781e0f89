import { type Kysely, sql } from 'kysely';

/**
 * Webhook bodies compressed with lz4 instead of pglz: a delivery's row (headers and a pretty-printed body) is mostly
 * just over the size at which PostgreSQL compresses, and pglz took about a sixth of the database's CPU time per
 * stored delivery; lz4 costs a fraction of that and compresses JSON nearly as well. Where the server is built
 * without lz4 (PGlite) the column keeps the default.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`DO $$ BEGIN
    ALTER TABLE webhook_deliveries ALTER COLUMN body SET COMPRESSION lz4;
  EXCEPTION WHEN feature_not_supported THEN NULL;
  END $$`.execute(db);
}

import { type Kysely, sql } from 'kysely';

/** Payments by checkout session: paying a session counts its earlier attempts (a scan of the tenant's payments without it). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX payments_by_session ON payments (tenant_id, session_id) WHERE session_id IS NOT NULL`.execute(
    db,
  );
}

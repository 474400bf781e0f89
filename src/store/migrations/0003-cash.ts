import type { Kysely } from 'kysely';

/** Cash application: imported statements, their entries, matches and the worklist. */
export async function up(_db: Kysely<unknown>): Promise<void> {}

import type { Kysely, Transaction } from 'kysely';
import type { DomainEvent } from '../domain/events';
import type { Database } from './schema';

/** Appends events in the caller's transaction, so the log and the change it records commit together. */
export async function appendEvents(
  db: Kysely<Database> | Transaction<Database>,
  events: readonly DomainEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('events')
    .values(
      events.map((e) => ({
        tenant_id: e.tenantId,
        type: e.type,
        subject: e.subject,
        payload: JSON.stringify(e.payload),
      })),
    )
    .execute();
}

export async function eventsFor(db: Kysely<Database>, tenantId: string, subject: string) {
  return db
    .selectFrom('events')
    .select(['event_id', 'type', 'subject', 'payload', 'at'])
    .where('tenant_id', '=', tenantId)
    .where('subject', '=', subject)
    .orderBy('event_id')
    .execute();
}

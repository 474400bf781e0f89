/**
 * Events of the append-only log. Every state change is one event; the payload types are closed per event type so a
 * consumer's switch over `type` is exhaustive.
 */
export interface EventPayloads {
  'items.imported': { source: string; count: number; firstKey: string; lastKey: string };
  'item.updated': { itemId: string; source: string; sourceKey: string; version: number; changed: string[] };
  'item.closed': { itemId: string; reason: 'paid' | 'cleared_in_source' | 'written_off'; evidence?: string };
  'item.reopened': { itemId: string; reason: string };
  'sync.completed': { source: string; inserted: number; updated: number; unchanged: number; quarantined: number };
  'record.quarantined': { source: string; file?: string; line?: number; reason: string };
  'payment.recorded': { paymentId: string; amountMinor: number; currency: string; method: string };
  'payment.state_changed': { paymentId: string; from: string; to: string };
  'payment.allocated': { paymentId: string; itemId: string; amountMinor: number };
  /** Money that left again (refund, chargeback, SEPA return): allocations taken back, items reopened. */
  'payment.reversed': { paymentId: string; amountMinor: number; reason: string; evidence?: string };
  'webhook.processed': { provider: string; eventId: string; type: string; outcome: string };
  'hold.placed': { holdId: string; debtorId: string; itemId?: string; kind: string; reason: string };
  'hold.released': { holdId: string; kind: string; reason: string };
  'notice.created': {
    noticeId: string;
    debtorId: string;
    level: number;
    strategy: string;
    strategyVersion: number;
    variant: string;
  };
  'notice.sent': { noticeId: string; channel: string; messageId?: string };
  'notice.failed': { noticeId: string; channel: string; reason: string };
  'writeback.delivered': { outboxId: string; source: string; attempts: number };
  'writeback.dead_lettered': { outboxId: string; source: string; error: string; attempts: number };
  'writeback.replayed': { outboxId: string };
}

export type EventType = keyof EventPayloads;

export interface DomainEvent<T extends EventType = EventType> {
  tenantId: string;
  type: T;
  /** What the event is about: `item:<id>`, `payment:<id>`, `notice:<id>`, `outbox:<id>`. */
  subject: string;
  payload: EventPayloads[T];
}

export function event<T extends EventType>(
  tenantId: string,
  type: T,
  subject: string,
  payload: EventPayloads[T],
): DomainEvent<T> {
  return { tenantId, type, subject, payload };
}

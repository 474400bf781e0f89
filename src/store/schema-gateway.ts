import type { ColumnType, Generated } from 'kysely';

type Json<T> = ColumnType<T, string, string>;
type JsonDefault<T> = ColumnType<T, string | undefined, string>;

/** Columns the gateway adds to `payments` (migrations/0002-gateway.ts). */
export interface PaymentGatewayColumns {
  session_id: string | null;
  capture_mode: Generated<string>;
  captured_minor: Generated<number>;
  refunded_minor: Generated<number>;
  provider_status: string | null;
  next_action: Json<unknown> | null;
  decline: Json<unknown> | null;
  item_ids: Json<string[]> | null;
  /** Set while an outcome is unknown (timeout, 5xx): the sync job asks the provider when it is due. */
  sync_due_at: string | null;
  /** Providers tried, in order, with what happened (failover record). */
  attempts: JsonDefault<{ provider: string; outcome: string; at: string }[]>;
}

export interface CheckoutSessionsTable {
  tenant_id: string;
  session_id: string;
  debtor_id: string | null;
  item_ids: JsonDefault<string[]>;
  currency: string;
  amount_minor: number;
  country: string;
  locale: string;
  return_url: string | null;
  cancel_url: string | null;
  description: string | null;
  methods: Json<{ method: string; provider: string; name: string; flow: string }[]>;
  status: string;
  payment_id: string | null;
  expires_at: string;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

export interface RefundsTable {
  tenant_id: string;
  refund_id: string;
  payment_id: string;
  amount_minor: number;
  currency: string;
  status: string;
  provider_refund_reference: string | null;
  reason: string | null;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

export interface IdempotentRequestsTable {
  tenant_id: string;
  key: string;
  route: string;
  fingerprint: string;
  status_code: number | null;
  response: Json<unknown> | null;
  created_at: Generated<string>;
}

export interface WebhookDeliveriesTable {
  delivery_id: string;
  tenant_id: string;
  provider: string;
  headers: Json<Record<string, string>>;
  body: string;
  received_at: Generated<string>;
}

export interface WebhookEventsTable {
  tenant_id: string;
  provider: string;
  event_id: string;
  delivery_id: string;
  type: string;
  event: Json<unknown>;
  status: Generated<string>;
  note: string | null;
  deliveries: Generated<number>;
  received_at: Generated<string>;
  processed_at: string | null;
}

export interface HoldsTable {
  tenant_id: string;
  hold_id: string;
  debtor_id: string;
  item_id: string | null;
  /** `dispute`, `chargeback`, `promise`, `plan`, `moratorium`, … */
  kind: string;
  reason: string;
  reference: string | null;
  starts_on: Generated<string>;
  ends_on: string | null;
  resolved_at: string | null;
  created_at: Generated<string>;
}

export interface ProviderRecordsTable {
  tenant_id: string;
  provider: string;
  kind: string;
  key: string;
  payment_id: string | null;
  parent: string | null;
  status: string | null;
  record: Json<unknown>;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

export interface GatewayTables {
  provider_records: ProviderRecordsTable;
  checkout_sessions: CheckoutSessionsTable;
  refunds: RefundsTable;
  idempotent_requests: IdempotentRequestsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_events: WebhookEventsTable;
  holds: HoldsTable;
}

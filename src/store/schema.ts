import type { ColumnType, Generated } from 'kysely';
import type { CashTables } from './schema-cash';
import type { ChannelTables } from './schema-channels';
import type { DunningTables } from './schema-dunning';
import type { GatewayTables, PaymentGatewayColumns } from './schema-gateway';

// Timestamps are read as ISO strings and dates as YYYY-MM-DD on both dialects (see the type parsers in db.ts).
type Json<T> = ColumnType<T, string, string>;

export interface TenantsTable {
  tenant_id: string;
  name: string;
  country: string;
  currency: string;
  profile: string | null;
  created_at: Generated<string>;
}

export interface ApiKeysTable {
  tenant_id: string;
  key_id: string;
  key_hash: string;
  label: Generated<string>;
  created_at: Generated<string>;
  revoked_at: string | null;
}

export interface DebtorsTable {
  tenant_id: string;
  debtor_id: string;
  name: string;
  type: 'B2B' | 'B2C';
  email: string | null;
  phone: string | null;
  language: string;
  country: string | null;
  tags: Json<string[]>;
  version: Generated<number>;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

export interface DebtorLinksTable {
  tenant_id: string;
  source: string;
  external_id: string;
  debtor_id: string;
  created_at: Generated<string>;
}

export interface ItemsTable {
  tenant_id: string;
  item_id: Generated<string>;
  source: string;
  source_key: string;
  debtor_id: string;
  external_id: string;
  document_number: string;
  contract_ref: string | null;
  currency: string;
  amount_minor: number;
  source_open_minor: number;
  /** Of our net allocations to this item, how much the source has booked itself (migration 0012). */
  source_booked_minor: Generated<number>;
  open_minor: number;
  document_date: string | null;
  due_date: string;
  source_dunning_level: Generated<number>;
  dunning_level: Generated<number>;
  dunning_block: string | null;
  last_dunned_on: string | null;
  status: Generated<'open' | 'closed'>;
  version: Generated<number>;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

export interface PaymentsTable extends PaymentGatewayColumns {
  tenant_id: string;
  payment_id: string;
  debtor_id: string | null;
  method: string;
  provider: string;
  merchant_reference: string;
  provider_reference: string | null;
  currency: string;
  amount_minor: number;
  allocated_minor: Generated<number>;
  state: string;
  idempotency_key: string | null;
  /** What the request that created the payment asked for, to tell a replay from a conflicting reuse of its key. */
  request_fingerprint: string | null;
  received_at: Generated<string>;
  created_at: Generated<string>;
  updated_at: Generated<string>;
}

export interface AllocationsTable {
  tenant_id: string;
  allocation_id: string;
  payment_id: string;
  item_id: string;
  amount_minor: number;
  created_at: Generated<string>;
}

export interface DunningRunsTable {
  tenant_id: string;
  run_id: string;
  as_of: string;
  strategy: string;
  strategy_version: number;
  status: 'running' | 'proposed' | 'completed' | 'failed';
  stats: Json<Record<string, number>>;
  created_at: Generated<string>;
  finished_at: string | null;
}

export interface NoticesTable {
  tenant_id: string;
  notice_id: string;
  run_id: string;
  debtor_id: string;
  level: number;
  channel: string;
  recipient: string | null;
  template: string;
  locale: string;
  strategy: string;
  strategy_version: number;
  variant: string;
  currency: string;
  total_minor: number;
  fee_minor: number;
  item_ids: Json<string[]>;
  status: 'pending' | 'sent' | 'bounced' | 'failed';
  message_id: string | null;
  error: string | null;
  created_at: Generated<string>;
  sent_at: string | null;
}

export type OutboxStatus = 'pending' | 'enqueued' | 'delivered' | 'dead';

export interface OutboxTable {
  tenant_id: string;
  outbox_id: string;
  source: string;
  kind: string;
  item_id: string | null;
  command: Json<unknown>;
  status: Generated<OutboxStatus>;
  attempts: Generated<number>;
  replays: Generated<number>;
  last_error: string | null;
  result: Json<unknown> | null;
  created_at: Generated<string>;
  enqueued_at: string | null;
  delivered_at: string | null;
  dead_at: string | null;
}

export interface QuarantineTable {
  tenant_id: string;
  quarantine_id: Generated<number>;
  source: string;
  fingerprint: string;
  file: string | null;
  line: number | null;
  field: string | null;
  reason: string;
  record: Json<Record<string, unknown>>;
  first_seen_at: Generated<string>;
  last_seen_at: Generated<string>;
  resolved_at: string | null;
}

export interface CheckpointsTable {
  tenant_id: string;
  source: string;
  value: string;
  updated_at: Generated<string>;
}

export interface EventsTable {
  event_id: Generated<number>;
  tenant_id: string;
  type: string;
  subject: string;
  payload: Json<unknown>;
  at: Generated<string>;
}

export interface Database extends GatewayTables, CashTables, DunningTables, ChannelTables {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  debtors: DebtorsTable;
  debtor_links: DebtorLinksTable;
  items: ItemsTable;
  payments: PaymentsTable;
  allocations: AllocationsTable;
  dunning_runs: DunningRunsTable;
  notices: NoticesTable;
  outbox: OutboxTable;
  quarantine: QuarantineTable;
  checkpoints: CheckpointsTable;
  events: EventsTable;
}

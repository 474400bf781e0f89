/** Tables of the notice channels; created by migrations/0005-channels.ts. */
import type { ColumnType, Generated } from 'kysely';

type Json<T> = ColumnType<T, string, string>;

/** One delivery attempt of a notice on one channel; a delivery receipt updates its status later. */
export interface NoticeDeliveriesTable {
  tenant_id: string;
  notice_id: string;
  /** 1, 2, … per notice, in the order the channels were tried. */
  attempt: number;
  channel: string;
  /** `delivered` only from a delivery receipt (SMS). */
  status: 'sent' | 'delivered' | 'bounced' | 'failed';
  provider_message_id: string | null;
  recipient: string | null;
  code: string | null;
  error: string | null;
  attempted_at: Generated<string>;
  updated_at: Generated<string>;
}

/** A debtor's postal address as printed in the letter window, recipient name first (filled by the sources). */
export interface DebtorAddressesTable {
  tenant_id: string;
  debtor_id: string;
  lines: Json<string[]>;
  /** ISO 3166-1 alpha-2. */
  country: string | null;
  updated_at: Generated<string>;
}

export interface ChannelTables {
  notice_deliveries: NoticeDeliveriesTable;
  debtor_addresses: DebtorAddressesTable;
}

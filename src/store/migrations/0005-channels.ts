import { type Kysely, sql } from 'kysely';
import { splitSql } from './0001-initial';

/**
 * Notice channels: every delivery attempt of a notice (channel, outcome, the provider's message id, later delivery
 * receipts), which makes fallback and resends idempotent across processes; and the postal address of a debtor as
 * a letter prints it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = `
CREATE TABLE notice_deliveries (
  tenant_id            text NOT NULL,
  notice_id            text NOT NULL,
  attempt              integer NOT NULL CHECK (attempt > 0),
  channel              text NOT NULL,
  status               text NOT NULL CHECK (status IN ('sent', 'delivered', 'bounced', 'failed')),
  provider_message_id  text,
  recipient            text,
  code                 text,
  error                text,
  attempted_at         timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, notice_id, attempt)
);
CREATE INDEX notice_deliveries_by_message ON notice_deliveries (tenant_id, channel, provider_message_id)
  WHERE provider_message_id IS NOT NULL;

CREATE TABLE debtor_addresses (
  tenant_id    text NOT NULL,
  debtor_id    text NOT NULL,
  lines        jsonb NOT NULL,
  country      text,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, debtor_id)
);
`;
  for (const stmt of splitSql(ddl)) await sql.raw(stmt).execute(db);
}

import { type Kysely, sql } from 'kysely';
import { splitSql } from './0001-initial';

/**
 * State of our own providers (SEPA mandates, collections and files; bank-transfer and invoice payables), kept as
 * typed JSON records per tenant so every process sees the same mandates and no collection goes into two files.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = `
CREATE TABLE provider_records (
  tenant_id   text NOT NULL,
  provider    text NOT NULL,
  kind        text NOT NULL,
  key         text NOT NULL,
  payment_id  text,
  parent      text,
  status      text,
  record      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, provider, kind, key)
);
CREATE INDEX provider_records_by_payment ON provider_records (tenant_id, provider, kind, payment_id);
CREATE INDEX provider_records_by_parent ON provider_records (tenant_id, provider, kind, parent, status);
`;
  for (const stmt of splitSql(ddl)) await sql.raw(stmt).execute(db);
}

import { type Kysely, sql } from 'kysely';
import { splitSql } from './0001-initial';

/**
 * Cash application: imported bank statements and their entries (normalised fields, match status, ranked suggestions
 * for the worklist), the RF creditor references Clearhub issues, the payer accounts (IBANs) it has learnt, and the
 * tenant's matching settings. Money that arrived is a row in `payments` (provider `bank`); these tables say where it
 * came from and why it was allocated the way it was.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = `
-- The key a document number is found by in remittance text: letters and digits only, without the leading prefix up to
-- the first digit ("INV-", "RE ", "Rechnung Nr. ") and without leading zeros. "INV-2024-0042", "RE 2024/0042" and
-- "2024 0042" all give "20240042". src/cash/remittance.ts computes the same key in TypeScript (documentKey).
CREATE FUNCTION clearhub_document_key(doc text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT NULLIF(ltrim(upper(regexp_replace(doc, '^[^0-9]+|[^A-Za-z0-9]+', '', 'g')), '0'), '')
$$;

-- A stored column rather than an expression index: the planner keeps statistics for a column, and with them it looks
-- up the few keys of a statement batch in the index instead of reading every open item.
ALTER TABLE items ADD COLUMN document_key text GENERATED ALWAYS AS (clearhub_document_key(document_number)) STORED;
CREATE INDEX items_open_by_document_key ON items (tenant_id, document_key) WHERE status = 'open';
CREATE INDEX items_open_by_amount ON items (tenant_id, open_minor, due_date) WHERE status = 'open';

CREATE TABLE cash_settings (
  tenant_id             text PRIMARY KEY,
  auto_threshold        double precision NOT NULL DEFAULT 0.9 CHECK (auto_threshold > 0 AND auto_threshold <= 1),
  allocation_order      text NOT NULL DEFAULT 'fees-last' CHECK (allocation_order IN ('oldest-first', 'fees-last', 'fees-first')),
  fee_document_pattern  text,
  overpayment           text NOT NULL DEFAULT 'credit' CHECK (overpayment IN ('credit', 'other-items')),
  return_fee_item       boolean NOT NULL DEFAULT false,
  return_fee_minor      bigint NOT NULL DEFAULT 0 CHECK (return_fee_minor >= 0),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE payment_reference_seq;

CREATE TABLE payment_references (
  tenant_id   text NOT NULL,
  reference   text NOT NULL,
  debtor_id   text NOT NULL,
  item_ids    jsonb,
  payment_id  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, reference)
);
CREATE INDEX payment_references_by_debtor ON payment_references (tenant_id, debtor_id);
CREATE UNIQUE INDEX payment_references_by_payment ON payment_references (tenant_id, payment_id) WHERE payment_id IS NOT NULL;

CREATE TABLE debtor_accounts (
  tenant_id     text NOT NULL,
  iban          text NOT NULL,
  debtor_id     text NOT NULL,
  origin        text NOT NULL CHECK (origin IN ('mandate', 'payment', 'manual')),
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, iban, debtor_id)
);

CREATE TABLE statements (
  tenant_id         text NOT NULL,
  statement_id      text NOT NULL,
  account           text NOT NULL,
  statement_key     text NOT NULL,
  bank_statement_id text,
  format            text NOT NULL,
  currency          text NOT NULL,
  file_name         text,
  opening_minor     bigint,
  opening_date      date,
  closing_minor     bigint,
  closing_date      date,
  entry_count       integer NOT NULL,
  imported_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, statement_id),
  UNIQUE (tenant_id, account, statement_key)
);

CREATE TABLE statement_entries (
  tenant_id          text NOT NULL,
  entry_id           text NOT NULL,
  statement_id       text NOT NULL,
  account            text NOT NULL,
  entry_key          text COLLATE "C" NOT NULL,
  position           integer NOT NULL,
  currency           text NOT NULL,
  amount_minor       bigint NOT NULL,
  booking_date       date NOT NULL,
  value_date         date,
  bank_reference     text,
  end_to_end_id      text,
  mandate_id         text,
  creditor_reference text,
  remittance         text,
  counterparty_name  text,
  counterparty_iban  text,
  counterparty_bic   text,
  return_reason      text,
  charges_minor      bigint,
  kind               text NOT NULL CHECK (kind IN ('credit', 'debit', 'return')),
  status             text NOT NULL CHECK (status IN ('allocated', 'suggested', 'unmatched', 'returned', 'ignored')),
  confidence         double precision,
  matched_by         text,
  debtor_id          text,
  payment_id         text,
  suggestions        jsonb NOT NULL DEFAULT '[]',
  note               text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, entry_id),
  UNIQUE (tenant_id, account, entry_key)
);
CREATE INDEX statement_entries_worklist ON statement_entries (tenant_id, entry_id) WHERE status IN ('suggested', 'unmatched');
CREATE INDEX statement_entries_by_end_to_end ON statement_entries (tenant_id, end_to_end_id) WHERE end_to_end_id IS NOT NULL;
CREATE INDEX statement_entries_by_mandate ON statement_entries (tenant_id, mandate_id) WHERE mandate_id IS NOT NULL;
`;
  for (const stmt of splitSql(ddl)) await sql.raw(stmt).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['statement_entries', 'statements', 'debtor_accounts', 'payment_references', 'cash_settings']) {
    await sql.raw(`DROP TABLE IF EXISTS ${t} CASCADE`).execute(db);
  }
  await sql.raw('DROP SEQUENCE IF EXISTS payment_reference_seq').execute(db);
  await sql.raw('DROP INDEX IF EXISTS items_open_by_amount').execute(db);
  await sql.raw('DROP INDEX IF EXISTS items_open_by_document_key').execute(db);
  await sql.raw('ALTER TABLE items DROP COLUMN IF EXISTS document_key').execute(db);
  await sql.raw('DROP FUNCTION IF EXISTS clearhub_document_key(text)').execute(db);
}

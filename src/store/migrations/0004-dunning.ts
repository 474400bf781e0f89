import { type Kysely, sql } from 'kysely';
import { splitSql } from './0001-initial';

/**
 * The rules engine's dunning: holds grow promises (amount, covered items, outcome) and payment plans (instalments);
 * notices record segment, tone, form of address, channels, interest, lump sum and when they may go out; each notice's
 * items are kept as history (`notice_items`); proposals wait for approval (`proposal_notices`, `proposal_lines`);
 * level actions (withdrawn payment methods, restricted contracts), agency claims and the strategies each run used.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = `
ALTER TABLE holds
  ADD COLUMN amount_minor    bigint,
  ADD COLUMN currency        text,
  ADD COLUMN item_ids        jsonb,
  ADD COLUMN outcome         text CHECK (outcome IN ('kept', 'broken', 'released', 'returned')),
  ADD COLUMN resolution      text;
CREATE INDEX holds_by_debtor ON holds (tenant_id, debtor_id);

CREATE TABLE plan_instalments (
  tenant_id     text NOT NULL,
  hold_id       text NOT NULL,
  seq           integer NOT NULL,
  due_on        date NOT NULL,
  amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
  PRIMARY KEY (tenant_id, hold_id, seq)
);

ALTER TABLE notices
  ADD COLUMN kind            text NOT NULL DEFAULT 'dunning' CHECK (kind IN ('dunning', 'thanks')),
  ADD COLUMN as_of           date,
  ADD COLUMN segment         text,
  ADD COLUMN tone            text,
  ADD COLUMN address_form    text,
  ADD COLUMN interest_minor  bigint NOT NULL DEFAULT 0,
  ADD COLUMN lump_sum_minor  bigint NOT NULL DEFAULT 0,
  ADD COLUMN scheduled_at    timestamptz,
  ADD COLUMN actions         jsonb NOT NULL DEFAULT '{}';
ALTER TABLE notices DROP CONSTRAINT notices_tenant_id_run_id_debtor_id_key;
ALTER TABLE notices ADD CONSTRAINT notices_run_debtor_kind UNIQUE (tenant_id, run_id, debtor_id, kind);

CREATE TABLE notice_items (
  tenant_id        text NOT NULL,
  notice_id        text NOT NULL,
  item_id          text NOT NULL,
  debtor_id        text NOT NULL,
  level_before     integer NOT NULL,
  level            integer NOT NULL,
  days_past_due    integer NOT NULL,
  open_minor       bigint NOT NULL,
  interest_minor   bigint NOT NULL DEFAULT 0,
  interest_from    date,
  interest_to      date,
  interest_rate_bp integer,
  lump_sum_minor   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, notice_id, item_id)
);
CREATE INDEX notice_items_by_item ON notice_items (tenant_id, item_id);

CREATE TABLE proposal_notices (
  tenant_id     text NOT NULL,
  run_id        text NOT NULL,
  debtor_id     text NOT NULL,
  segment       text NOT NULL,
  debtor_type   text NOT NULL,
  currency      text NOT NULL,
  locale        text NOT NULL,
  reachable     jsonb NOT NULL,
  hold_updates  jsonb NOT NULL DEFAULT '[]',
  held          boolean NOT NULL DEFAULT false,
  held_reason   text,
  PRIMARY KEY (tenant_id, run_id, debtor_id)
);

CREATE TABLE proposal_lines (
  tenant_id        text NOT NULL,
  run_id           text NOT NULL,
  debtor_id        text NOT NULL,
  item_id          text NOT NULL,
  source           text NOT NULL,
  source_key       text NOT NULL,
  external_id      text NOT NULL,
  document_number  text NOT NULL,
  contract_ref     text,
  due_date         date NOT NULL,
  level_before     integer NOT NULL,
  level            integer NOT NULL,
  days_past_due    integer NOT NULL,
  open_minor       bigint NOT NULL,
  interest_minor   bigint NOT NULL DEFAULT 0,
  interest_from    date,
  interest_to      date,
  interest_rate_bp integer,
  lump_sum_minor   bigint NOT NULL DEFAULT 0,
  dropped          boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, run_id, item_id)
);
CREATE INDEX proposal_lines_by_debtor ON proposal_lines (tenant_id, run_id, debtor_id);

CREATE TABLE dunning_actions (
  tenant_id   text NOT NULL,
  action_id   text NOT NULL,
  debtor_id   text NOT NULL,
  notice_id   text NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('withdraw_method', 'restrict_contract')),
  value       text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  lifted_at   timestamptz,
  PRIMARY KEY (tenant_id, action_id)
);
CREATE INDEX dunning_actions_by_debtor ON dunning_actions (tenant_id, debtor_id) WHERE lifted_at IS NULL;

CREATE TABLE agency_claims (
  tenant_id        text NOT NULL,
  claim_id         text NOT NULL,
  agency           text NOT NULL,
  run_id           text NOT NULL,
  notice_id        text NOT NULL,
  debtor_id        text NOT NULL,
  item_id          text NOT NULL,
  currency         text NOT NULL,
  amount_minor     bigint NOT NULL,
  interest_minor   bigint NOT NULL DEFAULT 0,
  fees_minor       bigint NOT NULL DEFAULT 0,
  status           text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'exported', 'accepted', 'collecting', 'collected', 'partially_collected', 'returned', 'closed')),
  collected_minor  bigint NOT NULL DEFAULT 0,
  file             text,
  exported_at      timestamptz,
  status_at        timestamptz,
  note             text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, claim_id),
  UNIQUE (tenant_id, agency, item_id)
);
CREATE INDEX agency_claims_pending ON agency_claims (tenant_id, agency) WHERE status = 'pending';

CREATE TABLE dunning_strategies (
  tenant_id      text NOT NULL,
  name           text NOT NULL,
  version        integer NOT NULL,
  origin         text NOT NULL,
  currency       text NOT NULL,
  timezone       text NOT NULL,
  write_back_sources jsonb NOT NULL DEFAULT '[]',
  body           text NOT NULL,
  checksum       text NOT NULL,
  registered_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name, version)
);

ALTER TABLE dunning_runs
  ADD COLUMN mode            text NOT NULL DEFAULT 'execute' CHECK (mode IN ('execute', 'proposal')),
  ADD COLUMN write_back_sources jsonb NOT NULL DEFAULT '[]',
  ADD COLUMN approved_at     timestamptz;

CREATE INDEX notices_by_as_of ON notices (tenant_id, as_of);
CREATE INDEX payments_by_debtor ON payments (tenant_id, debtor_id) WHERE debtor_id IS NOT NULL;

-- The dunning run sets items' levels in place every night; none of those columns is indexed, so with room left in
-- each page the update is HOT (no index entries written). Applies to pages written from now on.
ALTER TABLE items SET (fillfactor = 90);
`;
  for (const stmt of splitSql(ddl)) await sql.raw(stmt).execute(db);
}

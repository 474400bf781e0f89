import { type Kysely, sql } from 'kysely';

/**
 * The whole schema of the first release. Every table carries `tenant_id` and every primary or unique key starts
 * with it, so tenants partition cleanly (DESIGN §9: a distributed PostgreSQL can shard by tenant).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = `
-- Time-ordered ids (UUID version 7 layout: 48-bit milliseconds, then random bits): new rows land at the right
-- edge of the primary-key index instead of at random pages, which keeps bulk imports fast on large tables.
CREATE FUNCTION clearhub_uuid7() RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(h, 14, 3) || '-8' || substr(h, 18, 3) || '-' || substr(h, 21, 12)
  FROM (SELECT lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
               || md5(random()::text || clock_timestamp()::text) AS h) AS x
$$;

CREATE TABLE tenants (
  tenant_id   text PRIMARY KEY,
  name        text NOT NULL,
  country     text NOT NULL,
  currency    text NOT NULL,
  profile     text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  tenant_id    text NOT NULL REFERENCES tenants (tenant_id),
  key_id       text NOT NULL,
  key_hash     text NOT NULL UNIQUE,
  label        text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  revoked_at   timestamptz,
  PRIMARY KEY (tenant_id, key_id),
  UNIQUE (key_id)
);

CREATE TABLE debtors (
  tenant_id   text NOT NULL,
  debtor_id   text NOT NULL,
  name        text NOT NULL,
  type        text NOT NULL CHECK (type IN ('B2B', 'B2C')),
  email       text,
  phone       text,
  language    text NOT NULL DEFAULT 'de',
  country     text,
  tags        jsonb NOT NULL DEFAULT '[]',
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, debtor_id)
);
CREATE INDEX debtors_by_email ON debtors (tenant_id, lower(email));

CREATE TABLE debtor_links (
  tenant_id   text NOT NULL,
  source      text NOT NULL,
  external_id text NOT NULL,
  debtor_id   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, source, external_id)
);
CREATE INDEX debtor_links_by_external ON debtor_links (tenant_id, external_id);
CREATE INDEX debtor_links_by_debtor ON debtor_links (tenant_id, debtor_id);

CREATE TABLE items (
  tenant_id            text NOT NULL,
  item_id              text NOT NULL DEFAULT clearhub_uuid7(),
  source               text NOT NULL,
  source_key           text NOT NULL,
  debtor_id            text NOT NULL,
  external_id          text NOT NULL,
  document_number      text NOT NULL,
  contract_ref         text,
  currency             text NOT NULL,
  amount_minor         bigint NOT NULL,
  source_open_minor    bigint NOT NULL,
  open_minor           bigint NOT NULL,
  document_date        date,
  due_date             date NOT NULL,
  source_dunning_level integer NOT NULL DEFAULT 0,
  dunning_level        integer NOT NULL DEFAULT 0,
  dunning_block        text,
  last_dunned_on       date,
  status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  version              integer NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, item_id),
  UNIQUE (tenant_id, source, source_key)
);
CREATE INDEX items_open_by_debtor ON items (tenant_id, debtor_id) WHERE status = 'open';

CREATE TABLE payments (
  tenant_id          text NOT NULL,
  payment_id         text NOT NULL,
  debtor_id          text,
  method             text NOT NULL,
  provider           text NOT NULL,
  merchant_reference text NOT NULL,
  provider_reference text,
  currency           text NOT NULL,
  amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
  allocated_minor    bigint NOT NULL DEFAULT 0,
  state              text NOT NULL,
  idempotency_key    text,
  request_fingerprint text,
  received_at        timestamptz NOT NULL DEFAULT now(),
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, payment_id),
  UNIQUE (tenant_id, merchant_reference),
  UNIQUE (tenant_id, idempotency_key)
);

CREATE TABLE allocations (
  tenant_id     text NOT NULL,
  allocation_id text NOT NULL,
  payment_id    text NOT NULL,
  item_id       text NOT NULL,
  amount_minor  bigint NOT NULL CHECK (amount_minor <> 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, allocation_id),
  FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, payment_id),
  FOREIGN KEY (tenant_id, item_id) REFERENCES items (tenant_id, item_id)
);
CREATE INDEX allocations_by_item ON allocations (tenant_id, item_id);

CREATE TABLE dunning_runs (
  tenant_id        text NOT NULL,
  run_id           text NOT NULL,
  as_of            date NOT NULL,
  strategy         text NOT NULL,
  strategy_version integer NOT NULL,
  status           text NOT NULL CHECK (status IN ('running', 'proposed', 'completed', 'failed')),
  stats            jsonb NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  PRIMARY KEY (tenant_id, run_id)
);

CREATE TABLE notices (
  tenant_id        text NOT NULL,
  notice_id        text NOT NULL,
  run_id           text NOT NULL,
  debtor_id        text NOT NULL,
  level            integer NOT NULL,
  channel          text NOT NULL,
  recipient        text,
  template         text NOT NULL,
  locale           text NOT NULL,
  strategy         text NOT NULL,
  strategy_version integer NOT NULL,
  variant          text NOT NULL,
  currency         text NOT NULL,
  total_minor      bigint NOT NULL,
  fee_minor        bigint NOT NULL DEFAULT 0,
  item_ids         jsonb NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'sent', 'bounced', 'failed')),
  message_id       text,
  error            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  sent_at          timestamptz,
  PRIMARY KEY (tenant_id, notice_id),
  UNIQUE (tenant_id, run_id, debtor_id)
);
CREATE INDEX notices_by_debtor ON notices (tenant_id, debtor_id, created_at);

CREATE TABLE outbox (
  tenant_id     text NOT NULL,
  outbox_id     text NOT NULL,
  source        text NOT NULL,
  kind          text NOT NULL,
  item_id       text,
  command       jsonb NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'enqueued', 'delivered', 'dead')),
  attempts      integer NOT NULL DEFAULT 0,
  replays       integer NOT NULL DEFAULT 0,
  last_error    text,
  result        jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  enqueued_at   timestamptz,
  delivered_at  timestamptz,
  dead_at       timestamptz,
  PRIMARY KEY (outbox_id)
);
CREATE INDEX outbox_pending ON outbox (created_at) WHERE status = 'pending';
CREATE INDEX outbox_by_tenant_status ON outbox (tenant_id, status);

CREATE TABLE quarantine (
  tenant_id     text NOT NULL,
  quarantine_id bigserial,
  source        text NOT NULL,
  fingerprint   text NOT NULL,
  file          text,
  line          integer,
  field         text,
  reason        text NOT NULL,
  record        jsonb NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  resolved_at   timestamptz,
  PRIMARY KEY (tenant_id, quarantine_id),
  UNIQUE (tenant_id, source, fingerprint)
);

CREATE TABLE checkpoints (
  tenant_id  text NOT NULL,
  source     text NOT NULL,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, source)
);

CREATE TABLE events (
  event_id   bigserial PRIMARY KEY,
  tenant_id  text NOT NULL,
  type       text NOT NULL,
  subject    text NOT NULL,
  payload    jsonb NOT NULL,
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_by_subject ON events (tenant_id, subject, event_id);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
`;
  for (const stmt of splitSql(ddl)) await sql.raw(stmt).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    'events',
    'checkpoints',
    'quarantine',
    'outbox',
    'notices',
    'dunning_runs',
    'allocations',
    'payments',
    'items',
    'debtor_links',
    'debtors',
    'api_keys',
    'tenants',
  ]) {
    await sql.raw(`DROP TABLE IF EXISTS ${t} CASCADE`).execute(db);
  }
  await sql.raw('DROP FUNCTION IF EXISTS events_append_only()').execute(db);
  await sql.raw('DROP FUNCTION IF EXISTS clearhub_uuid7()').execute(db);
}

/** Splits on semicolons that end a line, keeping dollar-quoted function bodies whole. */
export function splitSql(text: string): string[] {
  const out: string[] = [];
  let buf = '';
  let inDollar = false;
  for (const line of text.split('\n')) {
    if ((line.match(/\$\$/g) ?? []).length % 2 === 1) inDollar = !inDollar;
    buf += `${line}\n`;
    if (!inDollar && line.trimEnd().endsWith(';')) {
      out.push(buf.trim());
      buf = '';
    }
  }
  if (buf.trim()) out.push(buf.trim());
  return out;
}

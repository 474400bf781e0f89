import { type Kysely, sql } from 'kysely';
import { splitSql } from './0001-initial';

/**
 * The payment gateway: checkout sessions, provider payments (the `payments` table grows the provider's view),
 * refunds, webhook deliveries and their events (stored raw, de-duplicated by the provider's event id), responses
 * kept for `Idempotency-Key` replays, and holds that keep items out of dunning (disputes, chargebacks; the rules
 * engine adds promises and plans).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ddl = `
ALTER TABLE payments
  ADD COLUMN session_id        text,
  ADD COLUMN capture_mode      text NOT NULL DEFAULT 'automatic',
  ADD COLUMN captured_minor    bigint NOT NULL DEFAULT 0,
  ADD COLUMN refunded_minor    bigint NOT NULL DEFAULT 0,
  ADD COLUMN provider_status   text,
  ADD COLUMN next_action       jsonb,
  ADD COLUMN decline           jsonb,
  ADD COLUMN item_ids          jsonb,
  ADD COLUMN sync_due_at       timestamptz,
  ADD COLUMN attempts          jsonb NOT NULL DEFAULT '[]';
CREATE INDEX payments_by_provider_ref ON payments (tenant_id, provider, provider_reference);
CREATE INDEX payments_sync_due ON payments (sync_due_at) WHERE sync_due_at IS NOT NULL;

CREATE TABLE checkout_sessions (
  tenant_id     text NOT NULL,
  session_id    text NOT NULL,
  debtor_id     text,
  item_ids      jsonb NOT NULL DEFAULT '[]',
  currency      text NOT NULL,
  amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
  country       text NOT NULL,
  locale        text NOT NULL,
  return_url    text,
  cancel_url    text,
  description   text,
  methods       jsonb NOT NULL,
  status        text NOT NULL CHECK (status IN ('open', 'processing', 'completed', 'expired', 'canceled')),
  payment_id    text,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, session_id)
);

CREATE TABLE refunds (
  tenant_id        text NOT NULL,
  refund_id        text NOT NULL,
  payment_id       text NOT NULL,
  amount_minor     bigint NOT NULL CHECK (amount_minor > 0),
  currency         text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  provider_refund_reference text,
  reason           text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, refund_id),
  FOREIGN KEY (tenant_id, payment_id) REFERENCES payments (tenant_id, payment_id)
);

-- Idempotency-Key replays of the API: the first response is kept; the same key with another body is a 409.
CREATE TABLE idempotent_requests (
  tenant_id    text NOT NULL,
  key          text NOT NULL,
  route        text NOT NULL,
  fingerprint  text NOT NULL,
  status_code  integer,
  response     jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, route, key)
);

CREATE TABLE webhook_deliveries (
  delivery_id  text PRIMARY KEY,
  tenant_id    text NOT NULL,
  provider     text NOT NULL,
  headers      jsonb NOT NULL,
  body         text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_events (
  tenant_id     text NOT NULL,
  provider      text NOT NULL,
  event_id      text NOT NULL,
  delivery_id   text NOT NULL,
  type          text NOT NULL,
  event         jsonb NOT NULL,
  status        text NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
  note          text,
  deliveries    integer NOT NULL DEFAULT 1,
  received_at   timestamptz NOT NULL DEFAULT now(),
  processed_at  timestamptz,
  PRIMARY KEY (tenant_id, provider, event_id)
);

CREATE TABLE holds (
  tenant_id    text NOT NULL,
  hold_id      text NOT NULL,
  debtor_id    text NOT NULL,
  item_id      text,
  kind         text NOT NULL,
  reason       text NOT NULL,
  reference    text,
  starts_on    date NOT NULL DEFAULT CURRENT_DATE,
  ends_on      date,
  resolved_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, hold_id)
);
CREATE INDEX holds_active ON holds (tenant_id, debtor_id) WHERE resolved_at IS NULL;
`;
  for (const stmt of splitSql(ddl)) await sql.raw(stmt).execute(db);
}

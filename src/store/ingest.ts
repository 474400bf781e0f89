import { csvField, type RawSession, type Store } from './db';

/** A debtor as a source describes it (the mapping's output). */
export interface IngestDebtor {
  externalId: string;
  name: string;
  type: 'B2B' | 'B2C';
  email?: string | null;
  phone?: string | null;
  language: string;
  country?: string | null;
  tags: string[];
}

/** An item as a source describes it (the mapping's output). */
export interface IngestItem {
  sourceKey: string;
  externalId: string;
  documentNumber: string;
  contractRef?: string | null;
  currency: string;
  amountMinor: number;
  openMinor: number;
  documentDate?: string | null;
  dueDate: string;
  dunningLevel: number;
  dunningBlock?: string | null;
}

export interface IngestBatch {
  tenantId: string;
  source: string;
  /** How debtors of this source are unified with debtors of other sources (DESIGN §3). */
  debtorMatch: 'externalId' | 'email' | 'none';
  debtors: IngestDebtor[];
  items: IngestItem[];
}

export interface IngestResult {
  inserted: number;
  updated: number;
  unchanged: number;
  debtorsCreated: number;
}

const DEBTOR_COLS = ['external_id', 'name', 'type', 'email', 'phone', 'language', 'country', 'tags'] as const;
const ITEM_COLS = [
  'source_key',
  'external_id',
  'document_number',
  'contract_ref',
  'currency',
  'amount_minor',
  'open_minor',
  'document_date',
  'due_date',
  'dunning_level',
  'dunning_block',
] as const;

function* debtorCsv(debtors: Iterable<IngestDebtor>): Iterable<string> {
  let buf = '';
  for (const d of debtors) {
    buf += `${csvField(d.externalId)},${csvField(d.name)},${d.type},${csvField(d.email)},${csvField(d.phone)},${csvField(d.language)},${csvField(d.country)},${csvField(JSON.stringify(d.tags))}\n`;
    if (buf.length > 1 << 16) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

function* itemCsv(items: readonly IngestItem[]): Iterable<string> {
  let buf = '';
  for (const i of items) {
    buf += `${csvField(i.sourceKey)},${csvField(i.externalId)},${csvField(i.documentNumber)},${csvField(i.contractRef)},${i.currency},${i.amountMinor},${i.openMinor},${i.documentDate ?? ''},${i.dueDate},${i.dunningLevel},${csvField(i.dunningBlock)}\n`;
    if (buf.length > 1 << 16) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

const MATCH_SQL: Record<IngestBatch['debtorMatch'], string> = {
  externalId:
    '(SELECT l.debtor_id FROM debtor_links l WHERE l.tenant_id = $1 AND l.external_id = s.external_id ORDER BY l.created_at, l.source LIMIT 1)',
  email:
    '(SELECT d.debtor_id FROM debtors d WHERE d.tenant_id = $1 AND s.email IS NOT NULL AND lower(d.email) = lower(s.email) ORDER BY d.created_at LIMIT 1)',
  none: 'NULL',
};

/**
 * Upserts one batch of mapped records set-based: COPY into transaction-local staging tables, then one merge
 * statement each for debtor links, debtors and items. An unchanged record is not touched (no new version, no
 * event); a changed one gets `version + 1` and an `item.updated` event. New items are logged as one `items.imported` event per batch (count and key range): the
 * item row itself carries version 1 and its creation time, and a per-row event would double the cost of an import.
 *
 * The open amount follows the source by delta: when the source's open amount moves by X, ours moves by X (clamped
 * to [0, source open]), so a payment we allocated but the source has not booked yet is not undone by a re-import,
 * and a payment the source booked itself reduces what we dun.
 */
export async function ingestBatch(store: Store, batch: IngestBatch): Promise<IngestResult> {
  if (batch.items.length === 0 && batch.debtors.length === 0) return { inserted: 0, updated: 0, unchanged: 0, debtorsCreated: 0 };
  return store.rawTransaction((s) => ingestInSession(s, batch));
}

export async function ingestInSession(s: RawSession, batch: IngestBatch): Promise<IngestResult> {
  const { tenantId, source } = batch;
  const debtors = new Map<string, IngestDebtor>();
  for (const d of batch.debtors) debtors.set(d.externalId, d);

  // One writer per tenant at a time: debtor unification across sources must see the other sources' links.
  await s.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [`clearhub-ingest|${tenantId}`]);
  await s.query(`CREATE TEMP TABLE stg_debtors (
      external_id text, name text, type text, email text, phone text, language text, country text, tags jsonb
    ) ON COMMIT DROP`);
  await s.query(`CREATE TEMP TABLE stg_items (
      source_key text, external_id text, document_number text, contract_ref text, currency text,
      amount_minor bigint, open_minor bigint, document_date date, due_date date, dunning_level integer, dunning_block text
    ) ON COMMIT DROP`);
  await s.copyIn('stg_debtors', DEBTOR_COLS, debtorCsv(debtors.values()));
  await s.copyIn('stg_items', ITEM_COLS, itemCsv(batch.items));
  await s.query('ANALYZE stg_debtors, stg_items');

  const links = await s.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO debtor_links (tenant_id, source, external_id, debtor_id)
       SELECT $1, $2, s.external_id, COALESCE(${MATCH_SQL[batch.debtorMatch]}, gen_random_uuid()::text)
       FROM stg_debtors s
       WHERE NOT EXISTS (SELECT 1 FROM debtor_links x WHERE x.tenant_id = $1 AND x.source = $2 AND x.external_id = s.external_id)
       RETURNING debtor_id)
     SELECT count(*)::int AS n FROM ins i WHERE NOT EXISTS (SELECT 1 FROM debtors d WHERE d.tenant_id = $1 AND d.debtor_id = i.debtor_id)`,
    [tenantId, source],
  );

  // Changed debtors are updated, new ones inserted; an unchanged debtor is not even locked.
  await s.query(
    `UPDATE debtors AS d SET
       name = s.name, type = s.type, email = s.email, phone = s.phone, language = s.language, country = s.country,
       tags = s.tags, version = d.version + 1, updated_at = now()
     FROM stg_debtors s JOIN debtor_links l ON l.tenant_id = $1 AND l.source = $2 AND l.external_id = s.external_id
     WHERE d.tenant_id = $1 AND d.debtor_id = l.debtor_id
       AND (d.name, d.type, d.email, d.phone, d.language, d.country, d.tags)
         IS DISTINCT FROM (s.name, s.type, s.email, s.phone, s.language, s.country, s.tags)`,
    [tenantId, source],
  );
  await s.query(
    `INSERT INTO debtors (tenant_id, debtor_id, name, type, email, phone, language, country, tags)
     SELECT DISTINCT ON (l.debtor_id) $1, l.debtor_id, s.name, s.type, s.email, s.phone, s.language, s.country, s.tags
     FROM stg_debtors s JOIN debtor_links l ON l.tenant_id = $1 AND l.source = $2 AND l.external_id = s.external_id
     WHERE NOT EXISTS (SELECT 1 FROM debtors d WHERE d.tenant_id = $1 AND d.debtor_id = l.debtor_id)`,
    [tenantId, source],
  );

  // Items that changed: a new version and an `item.updated` event each. Unchanged items are not touched at all.
  const updated = await s.query<{ n: number }>(
    `WITH up AS (
       UPDATE items AS i SET
         debtor_id = l.debtor_id, external_id = s.external_id, document_number = s.document_number,
         contract_ref = s.contract_ref, currency = s.currency, amount_minor = s.amount_minor,
         source_open_minor = s.open_minor,
         open_minor = ${NEW_OPEN},
         status = CASE WHEN (${NEW_OPEN}) = 0 THEN 'closed' ELSE 'open' END,
         document_date = s.document_date, due_date = s.due_date,
         source_dunning_level = s.dunning_level,
         dunning_level = GREATEST(i.dunning_level, s.dunning_level),
         dunning_block = s.dunning_block,
         version = i.version + 1, updated_at = now()
       FROM stg_items s JOIN debtor_links l ON l.tenant_id = $1 AND l.source = $2 AND l.external_id = s.external_id
       WHERE i.tenant_id = $1 AND i.source = $2 AND i.source_key = s.source_key
         AND (i.debtor_id, i.external_id, i.document_number, i.contract_ref, i.currency, i.amount_minor, i.source_open_minor,
              i.document_date, i.due_date, i.source_dunning_level, i.dunning_block)
           IS DISTINCT FROM (l.debtor_id, s.external_id, s.document_number, s.contract_ref, s.currency, s.amount_minor, s.open_minor,
              s.document_date, s.due_date, s.dunning_level, s.dunning_block)
       RETURNING i.item_id, i.source_key, i.version),
     ev AS (
       INSERT INTO events (tenant_id, type, subject, payload)
       SELECT $1, 'item.updated', 'item:' || item_id,
              jsonb_build_object('itemId', item_id, 'source', $2::text, 'sourceKey', source_key, 'version', version)
       FROM up)
     SELECT count(*)::int AS n FROM up`,
    [tenantId, source],
  );

  // New items: a plain insert (the tenant lock above rules out a concurrent insert of the same key).
  const inserted = await s.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO items (tenant_id, source, source_key, debtor_id, external_id, document_number, contract_ref, currency,
         amount_minor, source_open_minor, open_minor, document_date, due_date, source_dunning_level, dunning_level, dunning_block, status)
       SELECT $1, $2, s.source_key, l.debtor_id, s.external_id, s.document_number, s.contract_ref, s.currency,
         s.amount_minor, s.open_minor, s.open_minor, s.document_date, s.due_date, s.dunning_level, s.dunning_level, s.dunning_block,
         CASE WHEN s.open_minor = 0 THEN 'closed' ELSE 'open' END
       FROM stg_items s JOIN debtor_links l ON l.tenant_id = $1 AND l.source = $2 AND l.external_id = s.external_id
       WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.tenant_id = $1 AND i.source = $2 AND i.source_key = s.source_key)
       RETURNING source_key),
     ev AS (
       INSERT INTO events (tenant_id, type, subject, payload)
       SELECT $1, 'items.imported', 'source:' || $2::text,
              jsonb_build_object('source', $2::text, 'count', count(*), 'firstKey', min(source_key), 'lastKey', max(source_key))
       FROM ins HAVING count(*) > 0)
     SELECT count(*)::int AS n FROM ins`,
    [tenantId, source],
  );

  const nUpdated = updated.rows[0]?.n ?? 0;
  const nInserted = inserted.rows[0]?.n ?? 0;
  return {
    inserted: nInserted,
    updated: nUpdated,
    unchanged: batch.items.length - nInserted - nUpdated,
    debtorsCreated: links.rows[0]?.n ?? 0,
  };
}

/**
 * Our open amount after the source reports a new one: it moves by the source's delta, clamped to [0, source open], so
 * a payment we allocated that the source has not booked yet is not undone, and one the source booked itself counts.
 */
const NEW_OPEN = `CASE
      WHEN s.open_minor = 0 THEN 0
      WHEN s.open_minor > 0 THEN GREATEST(0, LEAST(s.open_minor, i.open_minor + (s.open_minor - i.source_open_minor)))
      ELSE s.open_minor END`;

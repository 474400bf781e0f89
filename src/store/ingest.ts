import { newId } from '../domain/ids';
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
  /**
   * Postal address lines below the name (street, postal code and city). Kept in `debtor_addresses` as a letter's
   * window prints it: the name first, then these lines.
   */
  address?: readonly string[] | null;
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

/** Columns of the direct COPY of new items (the fast path of a first import). */
export const NEW_ITEM_COLS = [
  'tenant_id',
  'item_id',
  'source',
  'source_key',
  'debtor_id',
  'external_id',
  'document_number',
  'contract_ref',
  'currency',
  'amount_minor',
  'source_open_minor',
  'open_minor',
  'document_date',
  'due_date',
  'source_dunning_level',
  'dunning_level',
  'dunning_block',
  'status',
] as const;
const DEBTOR_COLS = ['external_id', 'name', 'type', 'email', 'phone', 'language', 'country', 'tags'] as const;
const ITEM_COLS = [
  'source_key',
  'debtor_id',
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

/** One debtor as CSV, without its id: name, type, email, phone, language, country, tags. */
function debtorLine(d: IngestDebtor): string {
  return `${csvField(d.name)},${d.type},${csvField(d.email)},${csvField(d.phone)},${csvField(d.language)},${csvField(d.country)},${csvField(JSON.stringify(d.tags))}\n`;
}

function* chunked<T>(rows: Iterable<T>, line: (r: T) => string): Iterable<string> {
  let buf = '';
  for (const r of rows) {
    buf += line(r);
    if (buf.length > 1 << 16) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

const itemTail = (i: IngestItem) =>
  `${csvField(i.externalId)},${csvField(i.documentNumber)},${csvField(i.contractRef)},${i.currency},${i.amountMinor},${i.openMinor}`;

function itemCsv(items: readonly IngestItem[], debtorIds: IngestCache): Iterable<string> {
  return chunked(
    items,
    (i) =>
      `${csvField(i.sourceKey)},${debtorIds.get(i.externalId)},${itemTail(i)},${i.documentDate ?? ''},${i.dueDate},${i.dunningLevel},${csvField(i.dunningBlock)}\n`,
  );
}

function newItemCsv(
  tenantId: string,
  source: string,
  items: readonly IngestItem[],
  debtorIds: IngestCache,
): Iterable<string> {
  // The id is made here rather than by the column default: in PostgreSQL the default is a function call per row.
  const tenant = `${csvField(tenantId)},`;
  const src = `,${csvField(source)},`;
  return chunked(
    items,
    (i) =>
      `${tenant}${newId()}${src}${csvField(i.sourceKey)},${debtorIds.get(i.externalId)},${itemTail(i)},${i.openMinor},${i.documentDate ?? ''},${i.dueDate},${i.dunningLevel},${i.dunningLevel},${csvField(i.dunningBlock)},${i.openMinor === 0 ? 'closed' : 'open'}\n`,
  );
}

/**
 * Upserts one batch of mapped records set-based: COPY into transaction-local staging tables, then one merge
 * statement each for debtor links, debtors and items. An unchanged record is not touched (no new version, no
 * event); a changed one gets `version + 1` and an `item.updated` event. New items are logged as one `items.imported` event per batch (count and key range): the
 * item row itself carries version 1 and its creation time, and a per-row event would double the cost of an import.
 *
 * The open amount is the source's minus what we allocated that the source has not booked yet (see `reconciled`), so a
 * re-import neither undoes a payment we allocated nor subtracts it a second time once the source has booked it.
 */
export async function ingestBatch(store: Store, batch: IngestBatch): Promise<IngestResult> {
  if (batch.items.length === 0 && batch.debtors.length === 0)
    return { inserted: 0, updated: 0, unchanged: 0, debtorsCreated: 0 };
  return store.rawTransaction((s) => ingestInSession(s, batch));
}

export async function ingestInSession(
  s: RawSession,
  batch: IngestBatch,
  cache: IngestCache = new Map() as IngestCache,
): Promise<IngestResult> {
  const { tenantId, source } = batch;
  const debtors = new Map<string, IngestDebtor>();
  for (const d of batch.debtors) debtors.set(d.externalId, d);

  // One writer per tenant at a time: debtor unification across sources must see the other sources' links, and a key
  // found missing below stays missing until this transaction inserts it.
  await s.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [`clearhub-ingest|${tenantId}`]);

  const debtorsCreated = await upsertDebtors(s, batch, debtors, cache);
  if (batch.items.length === 0) return { inserted: 0, updated: 0, unchanged: 0, debtorsCreated };

  // Customers of items whose debtor record did not change in this sync still need their id.
  await resolveLinks(
    s,
    tenantId,
    source,
    batch.items.map((i) => i.externalId),
    cache,
  );
  const existing = await existingItems(s, tenantId, source, batch.items, cache);
  const fresh: IngestItem[] = [];
  const known: IngestItem[] = [];
  let same = 0;
  for (const i of batch.items) {
    const debtorId = cache.get(i.externalId);
    if (!debtorId) throw new Error(`no debtor link for customer ${i.externalId} of source ${source}`);
    if (!existing.has(i.sourceKey)) fresh.push(i);
    else if (unchanged(existing.get(i.sourceKey), i, debtorId)) same++;
    else known.push(i);
  }

  // New items go straight into the table with COPY: the fast path of a first import.
  if (fresh.length > 0) {
    await s.copyIn('items', NEW_ITEM_COLS, newItemCsv(tenantId, source, fresh, cache));
    let first = fresh[0]!.sourceKey;
    let last = first;
    for (const i of fresh) {
      if (i.sourceKey < first) first = i.sourceKey;
      if (i.sourceKey > last) last = i.sourceKey;
    }
    await s.query(
      `INSERT INTO events (tenant_id, type, subject, payload) VALUES ($1, 'items.imported', $2, $3::text::jsonb)`,
      [tenantId, `source:${source}`, JSON.stringify({ source, count: fresh.length, firstKey: first, lastKey: last })],
    );
  }

  // Known items: staged, and only those that changed get a new version and an `item.updated` event.
  let nUpdated = 0;
  if (known.length > 0) {
    await s.query(`CREATE TEMP TABLE IF NOT EXISTS stg_items (
        source_key text, debtor_id text, external_id text, document_number text, contract_ref text, currency text,
        amount_minor bigint, open_minor bigint, document_date date, due_date date, dunning_level integer, dunning_block text
      ) ON COMMIT DELETE ROWS`);
    await s.copyIn('stg_items', ITEM_COLS, itemCsv(known, cache));
    await s.query('ANALYZE stg_items'); // the staging table is reused: give the planner this batch's size
    const updated = await s.query<{ n: number }>(
      `WITH up AS (
         UPDATE items AS i SET
           debtor_id = s.debtor_id, external_id = s.external_id, document_number = s.document_number,
           contract_ref = s.contract_ref, currency = s.currency, amount_minor = s.amount_minor,
           source_open_minor = s.open_minor,
           source_booked_minor = s.booked_minor,
           open_minor = s.our_open_minor,
           status = CASE WHEN s.our_open_minor = 0 THEN 'closed' ELSE 'open' END,
           document_date = s.document_date, due_date = s.due_date,
           source_dunning_level = s.dunning_level,
           dunning_level = GREATEST(i.dunning_level, s.dunning_level),
           dunning_block = s.dunning_block,
           version = i.version + 1, updated_at = now()
         FROM (${RECONCILED}) AS s
         WHERE i.tenant_id = $1 AND i.item_id = s.item_id
           AND (i.debtor_id, i.external_id, i.document_number, i.contract_ref, i.currency, i.amount_minor, i.source_open_minor,
                i.document_date, i.due_date, i.source_dunning_level, i.dunning_block)
             IS DISTINCT FROM (s.debtor_id, s.external_id, s.document_number, s.contract_ref, s.currency, s.amount_minor, s.open_minor,
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
    nUpdated = updated.rows[0]?.n ?? 0;
  }

  return {
    inserted: fresh.length,
    updated: nUpdated,
    unchanged: same + known.length - nUpdated,
    debtorsCreated,
  };
}

/**
 * What a sync keeps between its batches: customer number → our debtor id (links never change), and, when the
 * source had no items at all when the sync began, the keys written so far, so a first import need not probe the
 * table for keys that cannot be there.
 */
export interface IngestCache extends Map<string, string> {
  firstImport?: { keys: Set<string> } | null;
}

/** The source's fields of an item as stored: what a re-import is compared with. */
interface StoredSourceFields {
  debtor_id: string;
  external_id: string;
  document_number: string;
  contract_ref: string | null;
  currency: string;
  amount_minor: number;
  source_open_minor: number;
  document_date: string | null;
  due_date: string;
  source_dunning_level: number;
  dunning_block: string | null;
}

/**
 * The batch's items that already exist, with their source fields (`undefined` when only known to exist). An unchanged
 * re-import is then recognised here, without staging or locking a row.
 */
async function existingItems(
  s: RawSession,
  tenantId: string,
  source: string,
  items: readonly IngestItem[],
  cache: IngestCache,
): Promise<Map<string, StoredSourceFields | undefined>> {
  if (cache.firstImport === undefined) {
    const any = await s.query('SELECT 1 FROM items WHERE tenant_id = $1 AND source = $2 LIMIT 1', [tenantId, source]);
    cache.firstImport = any.rows.length === 0 ? { keys: new Set() } : null;
  }
  if (cache.firstImport) {
    const seen = cache.firstImport.keys;
    const found = new Map<string, undefined>();
    for (const i of items) if (seen.has(i.sourceKey)) found.set(i.sourceKey, undefined);
    for (const i of items) seen.add(i.sourceKey);
    return found;
  }
  const rows = await s.query<StoredSourceFields & { source_key: string }>(
    `SELECT source_key, debtor_id, external_id, document_number, contract_ref, currency, amount_minor, source_open_minor,
            document_date, due_date, source_dunning_level, dunning_block
     FROM items WHERE tenant_id = $1 AND source = $2 AND source_key = ANY($3::text[])`,
    [tenantId, source, items.map((i) => i.sourceKey)],
  );
  return new Map(rows.rows.map((r) => [r.source_key, r]));
}

function unchanged(stored: StoredSourceFields | undefined, i: IngestItem, debtorId: string): boolean {
  return (
    stored !== undefined &&
    stored.debtor_id === debtorId &&
    stored.external_id === i.externalId &&
    stored.document_number === i.documentNumber &&
    stored.contract_ref === (i.contractRef ?? null) &&
    stored.currency === i.currency &&
    stored.amount_minor === i.amountMinor &&
    stored.source_open_minor === i.openMinor &&
    stored.document_date === (i.documentDate ?? null) &&
    stored.due_date === i.dueDate &&
    stored.source_dunning_level === i.dunningLevel &&
    stored.dunning_block === (i.dunningBlock ?? null)
  );
}

/** A customer number as unification compares it: a purely numeric one without leading zeros (SAP's ALPHA). */
function customerNumber(externalId: string): string {
  return /^\d+$/.test(externalId) ? externalId.replace(/^0+(?=\d)/, '') : externalId;
}

/** Fills `cache` with the debtor ids of those customer numbers that already have a link for this source. */
async function resolveLinks(
  s: RawSession,
  tenantId: string,
  source: string,
  externalIds: Iterable<string>,
  cache: IngestCache,
): Promise<void> {
  const unknown = [...new Set(externalIds)].filter((e) => !cache.has(e));
  if (unknown.length === 0) return;
  const rows = await s.query<{ external_id: string; debtor_id: string }>(
    'SELECT external_id, debtor_id FROM debtor_links WHERE tenant_id = $1 AND source = $2 AND external_id = ANY($3::text[])',
    [tenantId, source, unknown],
  );
  for (const r of rows.rows) cache.set(r.external_id, r.debtor_id);
}

/**
 * Links each customer of the batch to a debtor and writes the debtor records. A customer new to this source is matched
 * to an existing debtor (same customer number in another source, or the same e-mail, as the tenant configures) or
 * gets a new debtor; new links and new debtors are written with COPY, and only known debtors whose data changed are
 * updated. Returns how many debtors were created.
 */
async function upsertDebtors(
  s: RawSession,
  batch: IngestBatch,
  debtors: Map<string, IngestDebtor>,
  cache: IngestCache,
): Promise<number> {
  if (debtors.size === 0) return 0;
  const { tenantId, source } = batch;
  await resolveLinks(s, tenantId, source, debtors.keys(), cache);
  const unlinked = [...debtors.values()].filter((d) => !cache.has(d.externalId));

  // Unification: a customer new to this source may be a debtor we already know from another source.
  const matched = new Map<string, string>();
  if (unlinked.length > 0 && batch.debtorMatch === 'externalId') {
    // Compared as customer numbers: SAP's RFC sends 0010100001 where OData and exports write 10100001.
    const rows = await s.query<{ number: string; debtor_id: string }>(
      `SELECT DISTINCT ON (number) clearhub_customer_number(external_id) AS number, debtor_id FROM debtor_links
       WHERE tenant_id = $1 AND clearhub_customer_number(external_id) = ANY($2::text[])
       ORDER BY number, created_at, source`,
      [tenantId, unlinked.map((d) => customerNumber(d.externalId))],
    );
    const byNumber = new Map(rows.rows.map((r) => [r.number, r.debtor_id]));
    for (const d of unlinked) {
      const id = byNumber.get(customerNumber(d.externalId));
      if (id) matched.set(d.externalId, id);
    }
  } else if (unlinked.length > 0 && batch.debtorMatch === 'email') {
    const emails = unlinked.flatMap((d) => (d.email ? [d.email.toLowerCase()] : []));
    const rows = await s.query<{ email: string; debtor_id: string }>(
      `SELECT DISTINCT ON (lower(email)) lower(email) AS email, debtor_id FROM debtors
       WHERE tenant_id = $1 AND lower(email) = ANY($2::text[]) ORDER BY lower(email), created_at`,
      [tenantId, emails],
    );
    const byEmail = new Map(rows.rows.map((r) => [r.email, r.debtor_id]));
    for (const d of unlinked) {
      const id = d.email ? byEmail.get(d.email.toLowerCase()) : undefined;
      if (id) matched.set(d.externalId, id);
    }
  }

  const newDebtors: (IngestDebtor & { debtorId: string })[] = [];
  const emailIds = new Map<string, string>();
  const links: string[] = [];
  for (const d of unlinked) {
    let id = matched.get(d.externalId);
    // Two new customers with one e-mail in the same batch are one debtor.
    if (!id && batch.debtorMatch === 'email' && d.email) id = emailIds.get(d.email.toLowerCase());
    if (!id) {
      id = newId();
      newDebtors.push({ ...d, debtorId: id });
      if (d.email) emailIds.set(d.email.toLowerCase(), id);
    }
    cache.set(d.externalId, id);
    links.push(`${csvField(tenantId)},${csvField(source)},${csvField(d.externalId)},${id}\n`);
  }
  if (links.length > 0) await s.copyIn('debtor_links', ['tenant_id', 'source', 'external_id', 'debtor_id'], links);
  if (newDebtors.length > 0) {
    await s.copyIn(
      'debtors',
      ['tenant_id', 'debtor_id', ...DEBTOR_COLS.slice(1)],
      chunked(newDebtors, (d) => `${csvField(tenantId)},${d.debtorId},${debtorLine(d)}`),
    );
  }

  // Known debtors (and those matched from another source): update the ones whose data changed.
  const fresh = new Set(newDebtors.map((d) => d.externalId));
  const known = [...debtors.values()].filter((d) => !fresh.has(d.externalId));
  if (known.length > 0) {
    await s.query(`CREATE TEMP TABLE IF NOT EXISTS stg_debtors (
        debtor_id text, name text, type text, email text, phone text, language text, country text, tags jsonb
      ) ON COMMIT DELETE ROWS`);
    await s.copyIn(
      'stg_debtors',
      ['debtor_id', ...DEBTOR_COLS.slice(1)],
      chunked(known, (d) => `${cache.get(d.externalId)},${debtorLine(d)}`),
    );
    await s.query(
      // A source that does not know a contact detail (SAP FI-CA items carry no e-mail) never erases what another
      // source of the same debtor told us: empty values keep the stored one.
      `UPDATE debtors AS d SET
         name = s.name, type = s.type, email = COALESCE(NULLIF(s.email, ''), d.email), phone = COALESCE(NULLIF(s.phone, ''), d.phone),
         language = s.language, country = COALESCE(NULLIF(s.country, ''), d.country),
         tags = s.tags, version = d.version + 1, updated_at = now()
       FROM stg_debtors s
       WHERE d.tenant_id = $1 AND d.debtor_id = s.debtor_id
         AND (d.name, d.type, d.email, d.phone, d.language, d.country, d.tags)
           IS DISTINCT FROM (s.name, s.type, COALESCE(NULLIF(s.email, ''), d.email), COALESCE(NULLIF(s.phone, ''), d.phone),
                             s.language, COALESCE(NULLIF(s.country, ''), d.country), s.tags)`,
      [tenantId],
    );
  }
  await upsertAddresses(s, tenantId, [...debtors.values()], cache, new Set(newDebtors.map((d) => d.debtorId)));
  return newDebtors.length;
}

/**
 * The postal addresses of the batch's debtors, for letters. A source that gives no address leaves the one another
 * source gave; one that gives an address replaces it (the newest a source reported wins), and an unchanged one is
 * not rewritten.
 */
async function upsertAddresses(
  s: RawSession,
  tenantId: string,
  debtors: readonly IngestDebtor[],
  cache: IngestCache,
  created: ReadonlySet<string>,
): Promise<void> {
  const ids: string[] = [];
  const lines: string[] = [];
  const countries: (string | null)[] = [];
  const fresh: string[] = [];
  const seen = new Set<string>();
  for (const d of debtors) {
    const id = cache.get(d.externalId);
    if (!d.address?.length || !id || seen.has(id)) continue;
    seen.add(id);
    const json = JSON.stringify([d.name, ...d.address]);
    // A debtor created in this batch has no address yet: straight in with COPY, the first import's fast path.
    if (created.has(id)) {
      fresh.push(`${csvField(tenantId)},${id},${csvField(json)},${csvField(d.country || null)}\n`);
      continue;
    }
    ids.push(id);
    lines.push(json);
    countries.push(d.country || null);
  }
  if (fresh.length > 0)
    await s.copyIn(
      'debtor_addresses',
      ['tenant_id', 'debtor_id', 'lines', 'country'],
      chunked(fresh, (l) => l),
    );
  if (ids.length === 0) return;
  await s.query(
    `INSERT INTO debtor_addresses (tenant_id, debtor_id, lines, country)
     SELECT $1, u.debtor_id, u.lines::jsonb, u.country FROM unnest($2::text[], $3::text[], $4::text[]) AS u(debtor_id, lines, country)
     ON CONFLICT (tenant_id, debtor_id) DO UPDATE SET lines = excluded.lines, country = excluded.country, updated_at = now()
     WHERE (debtor_addresses.lines, debtor_addresses.country) IS DISTINCT FROM (excluded.lines, excluded.country)`,
    [tenantId, ids, lines, countries],
  );
}

/**
 * The staged records joined to their items, with our open amount and the booked part of our allocations worked out.
 *
 * Of our net allocations to an item (payments positive, reversals negative) some the source has booked and some not
 * yet: `unbooked = allocated - source_booked_minor`. When the source's open amount moves against the unbooked part
 * (down while we hold payments it has not booked, up while we hold reversals it has not booked), the move is our
 * write-back arriving and is booked first; only the rest is the source's own doing. Our open amount is then the
 * source's minus what is still unbooked, never below zero. When the source's open amount did not move, ours stays as
 * it is (the allocations are not even summed). A source that reports the item cleared closes it.
 *
 * Where the source books a payment of its own before our write-back, that move is taken for ours until our write-back
 * arrives too; the open amount is then too high for a while (never too low), and right again on the next import.
 */
const RECONCILED = `
  SELECT s.*, t.item_id, b.booked AS booked_minor,
         CASE WHEN s.open_minor = 0 THEN 0
              WHEN s.open_minor < 0 THEN s.open_minor
              WHEN s.open_minor = t.source_open_minor THEN t.open_minor
              ELSE GREATEST(0, s.open_minor - (a.net - b.booked)) END AS our_open_minor
  FROM stg_items s
  JOIN items t ON t.tenant_id = $1 AND t.source = $2 AND t.source_key = s.source_key
  CROSS JOIN LATERAL (
    SELECT COALESCE(sum(x.amount_minor), 0)::bigint AS net FROM allocations x
    WHERE x.tenant_id = $1 AND x.item_id = t.item_id AND s.open_minor <> t.source_open_minor) AS a
  CROSS JOIN LATERAL (
    SELECT t.source_booked_minor + CASE
      WHEN a.net - t.source_booked_minor > 0 AND s.open_minor < t.source_open_minor
        THEN LEAST(t.source_open_minor - s.open_minor, a.net - t.source_booked_minor)
      WHEN a.net - t.source_booked_minor < 0 AND s.open_minor > t.source_open_minor
        THEN -LEAST(s.open_minor - t.source_open_minor, t.source_booked_minor - a.net)
      ELSE 0 END AS booked) AS b`;

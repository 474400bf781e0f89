import { createHash } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import { event } from '../domain/events';
import type { RawSession, Store } from '../store/db';
import { type IngestCache, type IngestDebtor, type IngestItem, ingestInSession } from '../store/ingest';
import type { ClearedBatch } from './connector';

/** One record as a connector hands it over, with where it came from. */
export interface SourceRecord {
  record: Record<string, string>;
  file?: string;
  line?: number;
  /** Set by the connector when the record could not even be read (e.g. wrong column count). */
  error?: string;
}

export interface PulledBatch {
  records: SourceRecord[];
  checkpoint?: string;
}

export type MapOutcome =
  | { ok: true; debtor: IngestDebtor; item: IngestItem }
  | { ok: false; skipped?: false; reason: string; field?: string }
  /** The mapping's `when` conditions say the record is not an item (e.g. another document type): not an error. */
  | { ok: false; skipped: true; reason: string };

export interface SyncOptions {
  tenantId: string;
  source: string;
  debtorMatch: 'externalId' | 'email' | 'none';
  batches: AsyncIterable<PulledBatch>;
  map: (record: Record<string, string>, ctx: { line?: number }) => MapOutcome;
  onProgress?: (records: number) => void;
  /**
   * Groups a connector's pages until a transaction holds at least this many records: fewer commits, coarser
   * checkpoints (a resume starts after the last committed group). @defaultValue 0 (one transaction per page)
   */
  minRecordsPerTransaction?: number;
}

export interface SyncResult {
  records: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Records the mapping's conditions leave out on purpose. */
  skipped: number;
  quarantined: number;
  debtorsCreated: number;
  /** Items the source cleared by itself, closed by this sync (sources that report clearing). */
  closedInSource?: number;
}

interface Reject {
  rec: SourceRecord;
  reason: string;
  field?: string;
}

/**
 * Records per sync transaction when a source does not say (`recordsPerTransaction`). Paging connectors hand over
 * pages of a few hundred to a few thousand records; a transaction per page spends more on commits, staging and debtor
 * merges than on the records (the odata bench: 0.38 of a bare fetch loop per page, 0.68 grouped). A CSV connector's
 * batch is already large, and a push is one request.
 */
const RECORDS_PER_TRANSACTION: Partial<Record<string, number>> = {
  'sap-odata': 50_000,
  'sap-rfc': 50_000,
  'sap-soap': 50_000,
  soap: 50_000,
};

export function recordsPerTransaction(source: { kind: string; recordsPerTransaction?: number }): number {
  return source.recordsPerTransaction ?? RECORDS_PER_TRANSACTION[source.kind] ?? 0;
}

/**
 * Pulls every batch from a connector, maps each record with the compiled mapping, and upserts the good ones set-based.
 * A record that fails mapping is quarantined with file, line and reason in the same transaction as its batch; the rest
 * goes on. The connector's checkpoint is saved with the batch, so a crash resumes after the last committed batch.
 * While the database merges one batch, the next one is already being read.
 */
export async function syncSource(store: Store, opts: SyncOptions): Promise<SyncResult> {
  const total: SyncResult = {
    records: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    quarantined: 0,
    debtorsCreated: 0,
  };
  // Debtors repeat across batches (one customer, many invoices): stage each version of a debtor once per sync.
  const seenDebtors = new Map<string, IngestDebtor>();
  const minRecords = opts.minRecordsPerTransaction ?? 0;
  const debtorIds: IngestCache = new Map() as IngestCache;
  // Read and map the next batch while the database writes this one: the two run on different cores.
  // Small pages (an OData page, a SOAP page) may be grouped into transactions of at least `minRecords`: one commit,
  // one staging round per group. The checkpoint saved is the group's last, so a resume starts after the group.
  async function* grouped(): AsyncGenerator<PulledBatch> {
    let records: SourceRecord[] = [];
    let checkpoint: string | undefined;
    for await (const b of opts.batches) {
      records = records.length === 0 ? b.records : records.concat(b.records);
      checkpoint = b.checkpoint ?? checkpoint;
      if (records.length >= minRecords) {
        yield { records, checkpoint };
        records = [];
      }
    }
    if (records.length > 0 || checkpoint !== undefined) yield { records, checkpoint };
  }
  async function* prepared() {
    for await (const batch of grouped()) {
      const { debtors: mapped, items, rejects, skipped } = mapBatch(batch, opts.map);
      const debtors: IngestDebtor[] = [];
      for (const d of mapped) {
        const seen = seenDebtors.get(d.externalId);
        if (seen && sameDebtor(seen, d)) continue;
        seenDebtors.set(d.externalId, d);
        debtors.push(d);
      }
      yield { batch, debtors, items, rejects, skipped };
    }
  }
  const it = prepared();
  let next = it.next();
  for (;;) {
    const r = await next;
    if (r.done) break;
    const { batch, debtors, items, rejects, skipped } = r.value;
    next = it.next();
    next.catch(() => undefined); // the rejection is handled when it is awaited
    const res = await store.rawTransaction(async (s) => {
      const ing = await ingestInSession(
        s,
        { tenantId: opts.tenantId, source: opts.source, debtorMatch: opts.debtorMatch, debtors, items },
        debtorIds,
      );
      const quarantined = await quarantine(s, opts.tenantId, opts.source, rejects);
      if (batch.checkpoint !== undefined) {
        await s.query(
          `INSERT INTO checkpoints (tenant_id, source, value) VALUES ($1, $2, $3)
           ON CONFLICT (tenant_id, source) DO UPDATE SET value = excluded.value, updated_at = now()
           WHERE checkpoints.value IS DISTINCT FROM excluded.value`,
          [opts.tenantId, opts.source, batch.checkpoint],
        );
      }
      return { ...ing, quarantined };
    });
    total.records += batch.records.length;
    total.inserted += res.inserted;
    total.updated += res.updated;
    total.unchanged += res.unchanged;
    total.skipped += skipped;
    total.quarantined += res.quarantined;
    total.debtorsCreated += res.debtorsCreated;
    opts.onProgress?.(total.records);
  }
  await refreshStatistics(store, total.inserted + total.updated);
  if (total.inserted + total.updated + total.quarantined > 0) {
    const e = event(opts.tenantId, 'sync.completed', `source:${opts.source}`, {
      source: opts.source,
      inserted: total.inserted,
      updated: total.updated,
      unchanged: total.unchanged,
      quarantined: total.quarantined,
    });
    await store.db
      .insertInto('events')
      .values({ tenant_id: e.tenantId, type: e.type, subject: e.subject, payload: JSON.stringify(e.payload) })
      .execute();
  }
  return total;
}

/** The tables a sync loads; their statistics decide how payments, dunning and matching find items. */
const LOADED_TABLES = ['items', 'debtors', 'debtor_links', 'debtor_addresses'];
/** Rows a sync must change to count as a bulk load, after which the planner's statistics are renewed. */
const BULK_ROWS = 1000;

/**
 * Renews the planner's statistics of the loaded tables after a bulk load, or after the first load of a table that has
 * none. Autovacuum would do it later, if it runs at all (it can be switched off, and embedded PGlite has none): until
 * then PostgreSQL plans for empty tables and, for example, applied a card payment to its five items by reading every
 * open item of the tenant (43 ms a payment in `clearhub demo`, instead of five key lookups).
 */
async function refreshStatistics(store: Store, changed: number): Promise<void> {
  if (changed === 0) return;
  if (changed < BULK_ROWS) {
    const { rows } = await store.db.executeQuery<{ never: number }>(
      CompiledQuery.raw(
        'SELECT count(*)::int AS never FROM pg_class WHERE relname = ANY($1::text[]) AND relkind = $2 AND reltuples < 0',
        [LOADED_TABLES, 'r'],
      ),
    );
    if (!rows[0]?.never) return;
  }
  await store.db.executeQuery(CompiledQuery.raw(`ANALYZE ${LOADED_TABLES.join(', ')}`));
}

function sameDebtor(a: IngestDebtor, b: IngestDebtor): boolean {
  return (
    a.name === b.name &&
    a.type === b.type &&
    (a.email ?? null) === (b.email ?? null) &&
    (a.phone ?? null) === (b.phone ?? null) &&
    a.language === b.language &&
    (a.country ?? null) === (b.country ?? null) &&
    (a.address ?? []).join('\n') === (b.address ?? []).join('\n') &&
    a.tags.length === b.tags.length &&
    a.tags.every((t, i) => t === b.tags[i])
  );
}

function mapBatch(batch: PulledBatch, map: SyncOptions['map']) {
  const debtors: IngestDebtor[] = [];
  const items: IngestItem[] = [];
  const rejects: Reject[] = [];
  /** Where each key was first read in this delivery. */
  const first = new Map<string, SourceRecord>();
  let skipped = 0;
  for (const rec of batch.records) {
    if (rec.error) {
      rejects.push({ rec, reason: rec.error });
      continue;
    }
    const m = map(rec.record, { line: rec.line });
    if (!m.ok) {
      if (m.skipped) skipped++;
      else rejects.push({ rec, reason: m.reason, field: m.field });
      continue;
    }
    const prev = first.get(m.item.sourceKey);
    if (prev !== undefined) {
      // The same key twice in one delivery: the source contradicts itself. Keep neither silently: quarantine the
      // later record with the line of the first, so an integrator can see both.
      const where = prev.line === undefined ? '' : ` at ${prev.file ? `${prev.file} ` : ''}line ${prev.line}`;
      rejects.push({
        rec,
        reason: `duplicate key ${m.item.sourceKey}: already read${where} in this delivery`,
        field: 'sourceKey',
      });
      continue;
    }
    first.set(m.item.sourceKey, rec);
    debtors.push(m.debtor);
    items.push(m.item);
  }
  return { debtors, items, rejects, skipped };
}

async function quarantine(
  s: RawSession,
  tenantId: string,
  source: string,
  rejects: readonly Reject[],
): Promise<number> {
  let count = 0;
  for (let start = 0; start < rejects.length; start += 500) {
    const chunk = rejects.slice(start, start + 500);
    const params: unknown[] = [];
    const values = chunk.map((q, i) => {
      // The fingerprint only de-duplicates the quarantine (the same bad record seen again is one entry).
      const fp = createHash('sha256')
        .update(`${JSON.stringify(q.rec.record)}|${q.reason}`)
        .digest('hex');
      params.push(
        tenantId,
        source,
        fp,
        q.rec.file ?? null,
        q.rec.line ?? null,
        q.field ?? null,
        q.reason,
        JSON.stringify(q.rec.record),
      );
      const b = i * 8;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}::int, $${b + 6}, $${b + 7}, $${b + 8}::text::jsonb)`;
    });
    const r = await s.query(
      `INSERT INTO quarantine (tenant_id, source, fingerprint, file, line, field, reason, record) VALUES ${values.join(', ')}
       ON CONFLICT (tenant_id, source, fingerprint) DO NOTHING RETURNING quarantine_id`,
      params,
    );
    count += r.rows.length;
  }
  return count;
}

export async function readCheckpoint(store: Store, tenantId: string, source: string): Promise<string | undefined> {
  const row = await store.db
    .selectFrom('checkpoints')
    .select('value')
    .where('tenant_id', '=', tenantId)
    .where('source', '=', source)
    .executeTakeFirst();
  return row?.value;
}

export interface QuarantineRow {
  source: string;
  file: string | null;
  line: number | null;
  field: string | null;
  reason: string;
  record: Record<string, unknown>;
  firstSeenAt: string;
}

export async function listQuarantine(
  store: Store,
  tenantId: string,
  source?: string,
  limit = 1000,
): Promise<QuarantineRow[]> {
  let q = store.db
    .selectFrom('quarantine')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('resolved_at', 'is', null);
  if (source) q = q.where('source', '=', source);
  const rows = await q.orderBy('quarantine_id').limit(limit).execute();
  return rows.map((r) => ({
    source: r.source,
    file: r.file,
    line: r.line,
    field: r.field,
    reason: r.reason,
    record: r.record,
    firstSeenAt: r.first_seen_at,
  }));
}

/**
 * Closes the items a source reports cleared by itself (SAP clearing, a payment booked there): open amount 0, a new
 * version, an `item.closed` event with the clearing document as evidence, and the checkpoint under `<source>:cleared`,
 * all per batch in one transaction. Items already closed are left alone.
 */
export async function closeCleared(
  store: Store,
  opts: { tenantId: string; source: string; batches: AsyncIterable<ClearedBatch> },
): Promise<{ closed: number }> {
  let closed = 0;
  for await (const batch of opts.batches) {
    closed += await store.rawTransaction(async (s) => {
      let n = 0;
      if (batch.items.length > 0) {
        const r = await s.query<{ item_id: string; source_key: string }>(
          `UPDATE items SET open_minor = 0, source_open_minor = 0, status = 'closed', version = version + 1, updated_at = now()
           WHERE tenant_id = $1 AND source = $2 AND source_key = ANY($3::text[]) AND status = 'open'
           RETURNING item_id, source_key`,
          [opts.tenantId, opts.source, batch.items.map((i) => i.sourceKey)],
        );
        const evidence = new Map(batch.items.map((i) => [i.sourceKey, i.evidence]));
        for (const row of r.rows) {
          const e = event(opts.tenantId, 'item.closed', `item:${row.item_id}`, {
            itemId: row.item_id,
            reason: 'cleared_in_source',
            evidence: evidence.get(row.source_key),
          });
          await s.query('INSERT INTO events (tenant_id, type, subject, payload) VALUES ($1, $2, $3, $4::text::jsonb)', [
            e.tenantId,
            e.type,
            e.subject,
            JSON.stringify(e.payload),
          ]);
        }
        n = r.rows.length;
      }
      await s.query(
        `INSERT INTO checkpoints (tenant_id, source, value) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, source) DO UPDATE SET value = excluded.value, updated_at = now()`,
        [opts.tenantId, `${opts.source}:cleared`, batch.checkpoint],
      );
      return n;
    });
  }
  return { closed };
}

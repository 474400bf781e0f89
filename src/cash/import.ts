/**
 * Statement import: every entry of every statement is recorded once (a re-imported statement adds nothing), credits
 * are matched and — above the tenant's threshold — booked as payments and allocated to items with write-backs to the
 * sources; the rest waits in the worklist with ranked suggestions. SEPA direct-debit collections are settled by their
 * end-to-end ids, and R-transactions (returns) reverse what they took back.
 *
 * Set-based (DESIGN §4): entries go in batches; each batch is read and matched with one query per kind of lookup, then
 * booked with COPY and one UPDATE. An entry is booked once whatever happens: its key is unique per account, so when
 * two uploads of one file race, the later one's batch is refused, read again (now finding the entries imported) and
 * books only what is left.
 */
import { newId } from '../domain/ids';
import { csvField, type RawSession, type Store } from '../store/db';
import type { EntryKind, EntryStatus, MatchedBy, Suggestion } from '../store/schema-cash';
import { planAllocation } from './allocation-rules';
import {
  BOOKING_CONFLICT,
  type BookableItem,
  type Booking,
  type BookingLine,
  jsonField,
  writeBookings,
} from './booking';
import {
  type CollectionOutcomeSink,
  collectionEndToEndIds,
  settleCollection,
  storedCollectionOutcomes,
} from './collections';
import { entryKeys, kindOf, paymentKeyOf, statementKeyOf } from './keys';
import { type EntryProbe, matchBatch, probeOf } from './matcher';
import { normaliseIban } from './remittance';
import { applyReturn } from './returns';
import { type Candidate, type Decision, type OpenItem, toSuggestion } from './scoring';
import { type CashSettings, feeMatcher, loadCashSettings } from './settings';
import type { Statement, StatementEntry, StatementFormat } from './statement';

export interface ImportStatementsInput {
  tenantId: string;
  statements: readonly Statement[];
  format: StatementFormat;
  /** Name of the file (or upload), kept with each statement. */
  fileName?: string;
  /** Entries per transaction. @defaultValue 5000 */
  batchSize?: number;
  /**
   * Where collection outcomes go besides our payments (the sepa-direct-debit provider's records).
   * @defaultValue the provider's stored records ({@link storedCollectionOutcomes})
   */
  collections?: CollectionOutcomeSink;
}

/** Money per currency in an import. */
export interface ImportTotals {
  currency: string;
  /** Credits new in this import. */
  receivedMinor: number;
  /** What the automatic allocations and settled collections put on items. */
  allocatedMinor: number;
  /** Credits waiting in the worklist. */
  worklistMinor: number;
}

export interface ImportSummary {
  file: string | null;
  format: StatementFormat;
  statements: number;
  /** Entries in the file. */
  entries: number;
  /** Entries imported before (a re-import books nothing twice). */
  alreadyImported: number;
  /** New credits (money in). */
  credits: number;
  /** Credits the matcher allocated itself (confidence at or above the threshold). */
  autoAllocated: number;
  /** Credits in the worklist with ranked suggestions. */
  suggested: number;
  /** Credits in the worklist without any candidate. */
  unmatched: number;
  /** SEPA direct-debit collections settled by end-to-end id. */
  collections: number;
  /** Returns whose original payment was found and reversed. */
  returns: number;
  /** Returns waiting in the worklist because their original payment was not found. */
  returnsUnmatched: number;
  /** Debits and zero entries (bank fees, payouts): recorded, nothing to match. */
  ignored: number;
  totals: ImportTotals[];
  /** Things a person should know that did not stop the import (a provider record that could not follow). */
  warnings: string[];
}

interface Prepared {
  entry: StatementEntry;
  key: string;
  position: number;
}

/** Imports parsed statements for a tenant; see the file comment. */
export async function importStatements(store: Store, input: ImportStatementsInput): Promise<ImportSummary> {
  const { tenantId } = input;
  const settings = await loadCashSettings(store.db, tenantId);
  const batchSize = input.batchSize ?? 5000;
  const summary: ImportSummary = {
    file: input.fileName ?? null,
    format: input.format,
    statements: input.statements.length,
    entries: 0,
    alreadyImported: 0,
    credits: 0,
    autoAllocated: 0,
    suggested: 0,
    unmatched: 0,
    collections: 0,
    returns: 0,
    returnsUnmatched: 0,
    ignored: 0,
    totals: [],
    warnings: [],
  };
  const sink = input.collections ?? storedCollectionOutcomes(store, tenantId);
  await learnMandateAccounts(store, tenantId, input.statements);
  const totals = (currency: string): ImportTotals => {
    let t = summary.totals.find((x) => x.currency === currency);
    if (!t) {
      t = { currency, receivedMinor: 0, allocatedMinor: 0, worklistMinor: 0 };
      summary.totals.push(t);
    }
    return t;
  };
  const statementIds: string[] = [];

  const jobs: { stmt: BatchStatement; batch: Prepared[] }[] = [];
  for (const statement of input.statements) {
    summary.entries += statement.entries.length;
    const statementId = await recordStatement(store, tenantId, statement, input);
    statementIds.push(statementId);
    const keys = entryKeys(statement);
    const stmt = { statementId, account: statement.account, currency: statement.currency };
    const prepared = statement.entries.map((entry, i) => ({ entry, key: keys[i]!, position: i + 1 }));
    for (let i = 0; i < prepared.length; i += batchSize) jobs.push({ stmt, batch: prepared.slice(i, i + batchSize) });
  }
  // A pipeline: while batch n is booked, batch n + 1 is read and matched on another connection. Booking is split in
  // lanes by debtor (entries without a debtor by key), each on its own connection: lanes never touch the same items,
  // so they never wait for each other. Reading takes no lock; booking locks what it books and reads it again.
  const lanes = store.dialect === 'postgres' ? 2 : 1;
  const committed = new Set<string>();
  const read = (j: number) =>
    store.rawTransaction((s) => readBatch(s, tenantId, settings, jobs[j]!.stmt, jobs[j]!.batch, lanes));
  let ahead = jobs.length > 0 ? read(0) : undefined;
  for (let j = 0; j < jobs.length; j++) {
    let matched = await ahead!;
    ahead = j + 1 < jobs.length ? read(j + 1) : undefined;
    // A failed read ahead is reported when its turn comes; until then it must not be an unhandled rejection.
    ahead?.catch(() => undefined);
    for (let attempt = 1; ; attempt++) {
      const results = await Promise.allSettled(
        Array.from({ length: lanes }, (_, lane) =>
          store.rawTransaction((s) => writeBatch(s, tenantId, settings, matched, lane)),
        ),
      );
      for (const r of results) if (r.status === 'fulfilled') add(r.value);
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failure) break;
      // Another import of the same file booked some of these entries first (the unique entry key refused ours), or an
      // item changed under the batch: read the batch again and book what is left.
      const code = (failure.reason as { code?: string }).code;
      if ((code !== '23505' && code !== BOOKING_CONFLICT) || attempt >= 3) throw failure.reason;
      matched = await store.rawTransaction((s) => readBatch(s, tenantId, settings, matched.stmt, matched.batch, lanes));
    }
    summary.alreadyImported += matched.knownKeys.filter((k) => !committed.has(k)).length;
  }
  function add(r: BatchResult & { keys: string[]; currency: string }) {
    for (const k of r.keys) committed.add(k);
    summary.credits += r.credits;
    summary.autoAllocated += r.autoAllocated;
    summary.suggested += r.suggested;
    summary.unmatched += r.unmatched;
    summary.ignored += r.ignored;
    const t = totals(r.currency);
    t.receivedMinor += r.receivedMinor;
    t.allocatedMinor += r.allocatedMinor;
    t.worklistMinor += r.worklistMinor;
  }

  // Collections and returns go one by one through the shared settlement room: they are few, and each touches a
  // payment that exists already. They are looked up by state, so an import that stopped half-way finishes them when
  // the file is imported again.
  if (statementIds.length > 0) {
    const pending = await store.db
      .selectFrom('statement_entries')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('statement_id', 'in', statementIds)
      .where('status', '=', 'unmatched')
      .where((eb) => eb.or([eb('kind', '=', 'return'), eb('matched_by', '=', 'collection')]))
      .orderBy('booking_date')
      .orderBy('position')
      .execute();
    const transactions = new Map<string, StatementEntry>();
    for (const statement of input.statements) {
      const keys = entryKeys(statement);
      statement.entries.forEach((e, i) => {
        if (e.transactions) transactions.set(`${statement.account}|${keys[i]}`, e);
      });
    }
    for (const row of pending.filter((r) => r.kind !== 'return')) {
      const parsed = transactions.get(`${row.account}|${row.entry_key}`);
      const r = await settleCollection(store, tenantId, settings, row, parsed?.transactions, sink);
      summary.warnings.push(...r.warnings);
      if (r.settled) {
        summary.collections++;
        const t = totals(row.currency);
        t.allocatedMinor += r.allocatedMinor;
        t.worklistMinor -= row.amount_minor;
      }
    }
    for (const row of pending.filter((r) => r.kind === 'return')) {
      const r = await applyReturn(store, tenantId, settings, row);
      if (r.outcome === 'not_found') summary.returnsUnmatched++;
      else summary.returns++;
      if (r.outcome === 'returned' && r.collection) {
        await sink
          .recordOutcome(r.collection, { status: 'returned', reasonCode: row.return_reason ?? '' })
          .catch((err: Error) => summary.warnings.push(err.message));
      }
    }
  }
  return summary;
}

/**
 * Payer IBANs known from SEPA mandates (the sepa-direct-debit provider's records) become known payer accounts of their
 * debtors before matching, so the matcher's one IBAN lookup per batch finds them. One query per import.
 */
async function learnMandateAccounts(store: Store, tenantId: string, statements: readonly Statement[]): Promise<void> {
  const ibans = new Set<string>();
  for (const s of statements) {
    for (const e of s.entries) {
      const iban = e.amountMinor > 0 ? normaliseIban(e.counterparty?.iban) : undefined;
      if (iban) ibans.add(iban);
    }
  }
  if (ibans.size === 0) return;
  await store.rawTransaction((s) =>
    s.query(
      `INSERT INTO debtor_accounts (tenant_id, iban, debtor_id, origin)
       SELECT DISTINCT $1, upper(replace(record->>'iban', ' ', '')), record->>'debtorId', 'mandate'
       FROM provider_records
       WHERE tenant_id = $1 AND provider = 'sepa-direct-debit' AND kind = 'mandate' AND record->>'debtorId' IS NOT NULL
         AND upper(replace(record->>'iban', ' ', '')) = ANY($2::text[])
       ON CONFLICT (tenant_id, iban, debtor_id) DO NOTHING`,
      [tenantId, [...ibans]],
    ),
  );
}

async function recordStatement(
  store: Store,
  tenantId: string,
  s: Statement,
  input: ImportStatementsInput,
): Promise<string> {
  const statementKey = statementKeyOf(s, input.format);
  const inserted = await store.db
    .insertInto('statements')
    .values({
      tenant_id: tenantId,
      statement_id: newId(),
      account: s.account,
      statement_key: statementKey,
      bank_statement_id: s.id ?? null,
      format: input.format,
      currency: s.currency,
      file_name: input.fileName ?? null,
      opening_minor: s.openingBalance?.amountMinor ?? null,
      opening_date: s.openingBalance?.date ?? null,
      closing_minor: s.closingBalance?.amountMinor ?? null,
      closing_date: s.closingBalance?.date ?? null,
      entry_count: s.entries.length,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'account', 'statement_key']).doNothing())
    .returning('statement_id')
    .executeTakeFirst();
  if (inserted) return inserted.statement_id;
  const existing = await store.db
    .selectFrom('statements')
    .select('statement_id')
    .where('tenant_id', '=', tenantId)
    .where('account', '=', s.account)
    .where('statement_key', '=', statementKey)
    .executeTakeFirstOrThrow();
  return existing.statement_id;
}

interface BatchResult {
  credits: number;
  autoAllocated: number;
  suggested: number;
  unmatched: number;
  ignored: number;
  receivedMinor: number;
  allocatedMinor: number;
  worklistMinor: number;
}

interface EntryRow {
  p: Prepared;
  kind: EntryKind;
  status: EntryStatus;
  confidence: number | null;
  matchedBy: MatchedBy | null;
  debtorId: string | null;
  paymentId: string | null;
  suggestions: Suggestion[];
  note: string | null;
  /** The booking lane (see importStatements). */
  lane: number;
}

const ENTRY_COLUMNS = [
  'tenant_id',
  'entry_id',
  'statement_id',
  'account',
  'entry_key',
  'position',
  'currency',
  'amount_minor',
  'booking_date',
  'value_date',
  'bank_reference',
  'end_to_end_id',
  'mandate_id',
  'creditor_reference',
  'remittance',
  'counterparty_name',
  'counterparty_iban',
  'counterparty_bic',
  'return_reason',
  'charges_minor',
  'kind',
  'status',
  'confidence',
  'matched_by',
  'debtor_id',
  'payment_id',
  'suggestions',
  'note',
] as const;

interface BatchStatement {
  statementId: string;
  account: string;
  currency: string;
}

/** A batch read and matched, not booked yet. */
interface MatchedBatch {
  stmt: BatchStatement;
  batch: readonly Prepared[];
  /** Keys of entries found imported already. */
  knownKeys: string[];
  rows: EntryRow[];
  credits: EntryRow[];
  toMatch: EntryRow[];
  decisions: Decision[];
  candidates: Candidate[][];
}

/** The keys of a batch already imported for the account; cheap when none is in the batch's date range. */
/** A stable lane for a debtor or an entry key. */
function laneOf(id: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
  return (h >>> 0) % lanes;
}

async function importedKeys(s: RawSession, tenantId: string, account: string, batch: readonly Prepared[]) {
  // Entry keys begin with the booking date: when the account has no entry in the batch's date range (the usual daily
  // import), nothing in it can have been imported before. (entry_key is COLLATE "C": the range is byte order.)
  let first = batch[0]!.entry.bookingDate;
  let last = first;
  for (const p of batch) {
    if (p.entry.bookingDate < first) first = p.entry.bookingDate;
    if (p.entry.bookingDate > last) last = p.entry.bookingDate;
  }
  const seen = new Set<string>();
  const { rows: any } = await s.query(
    'SELECT 1 FROM statement_entries WHERE tenant_id = $1 AND account = $2 AND entry_key >= $3 AND entry_key < $4 LIMIT 1',
    [tenantId, account, first, `${last}~`],
  );
  if (any.length === 0) return seen;
  const { rows: known } = await s.query<{ entry_key: string }>(
    'SELECT entry_key FROM statement_entries WHERE tenant_id = $1 AND account = $2 AND entry_key = ANY($3::text[])',
    [tenantId, account, batch.map((p) => p.key)],
  );
  for (const r of known) seen.add(r.entry_key);
  return seen;
}

/** Reads and matches a batch: every lookup, no lock, nothing written. */
async function readBatch(
  s: RawSession,
  tenantId: string,
  settings: CashSettings,
  stmt: BatchStatement,
  batch: readonly Prepared[],
  lanes: number,
): Promise<MatchedBatch> {
  const seen = await importedKeys(s, tenantId, stmt.account, batch);
  const rows: EntryRow[] = batch
    .filter((p) => !seen.has(p.key))
    .map((p) => {
      const kind = kindOf(p.entry);
      return {
        p,
        kind,
        status: kind === 'debit' ? 'ignored' : 'unmatched',
        confidence: null,
        matchedBy: null,
        debtorId: null,
        paymentId: null,
        suggestions: [],
        note: null,
        lane: laneOf(p.key, lanes),
      };
    });
  const credits = rows.filter((r) => r.kind === 'credit');

  // Collections our sepa-direct-debit provider submitted: settled by end-to-end id after the batch (collections.ts).
  const e2eIds = [...new Set(credits.flatMap((r) => collectionEndToEndIds(r.p.entry)))];
  const collectionIds = new Set<string>();
  if (e2eIds.length > 0) {
    const { rows: found } = await s.query<{ ref: string }>(
      `SELECT provider_reference AS ref FROM payments
         WHERE tenant_id = $1 AND provider = 'sepa-direct-debit' AND provider_reference = ANY($2::text[])
       UNION
       SELECT merchant_reference FROM payments
         WHERE tenant_id = $1 AND provider = 'sepa-direct-debit' AND merchant_reference = ANY($2::text[])`,
      [tenantId, e2eIds],
    );
    for (const f of found) collectionIds.add(f.ref);
  }
  const toMatch: EntryRow[] = [];
  for (const r of credits) {
    if (collectionEndToEndIds(r.p.entry).some((id) => collectionIds.has(id))) r.matchedBy = 'collection';
    else toMatch.push(r);
  }
  const probes: EntryProbe[] = toMatch.map((r) => probeOf(r.p.entry, stmt.currency));
  const { decisions, candidates } = await matchBatch(s, tenantId, stmt.currency, probes, settings);
  // What is booked for a debtor is booked in the debtor's lane: lanes never share an item.
  decisions.forEach((d, i) => {
    if (d.auto) toMatch[i]!.lane = laneOf(d.auto.debtorId, lanes);
  });
  return { stmt, batch, knownKeys: [...seen], rows, credits, toMatch, decisions, candidates };
}

/** Books a matched batch in one transaction: what is still new, with the items read again under lock. */
async function writeBatch(
  s: RawSession,
  tenantId: string,
  settings: CashSettings,
  m: MatchedBatch,
  lane: number,
): Promise<BatchResult & { keys: string[]; currency: string }> {
  const { stmt } = m;
  const result = {
    credits: 0,
    autoAllocated: 0,
    suggested: 0,
    unmatched: 0,
    ignored: 0,
    receivedMinor: 0,
    allocatedMinor: 0,
    worklistMinor: 0,
    keys: [] as string[],
    currency: stmt.currency,
  };
  const keep = (r: EntryRow) => r.lane === lane;
  const rows = m.rows.filter(keep);
  if (rows.length === 0) return result;
  result.keys = rows.map((r) => r.p.key);
  const credits = m.credits.filter(keep);
  result.credits = credits.length;
  result.ignored = rows.filter((r) => r.kind === 'debit').length;
  for (const r of credits) result.receivedMinor += r.p.entry.amountMinor;
  const { decisions, candidates, toMatch } = m;

  // Lock what the automatic allocations touch (in item order, so lanes and other writers never deadlock) and read it
  // fresh: a batch booked a moment ago may have paid some of it. Then plan entry by entry against running amounts.
  // (The lock also makes the allocations' foreign key checks on the items free.)
  const wanted = new Set<string>();
  decisions.forEach((d, i) => {
    if (!d.auto || !keep(toMatch[i]!)) return;
    for (const it of d.auto.items) wanted.add(it.itemId);
    if (settings.overpayment === 'other-items') {
      for (const it of candidates[i]!.find((c) => c.debtorId === d.auto!.debtorId)?.open ?? []) wanted.add(it.itemId);
    }
  });
  const running = new Map<string, BookableItem & { open: number; dueDate: string }>();
  if (wanted.size > 0) {
    const { rows: locked } = await s.query<{
      item_id: string;
      source: string;
      source_key: string;
      external_id: string;
      document_number: string;
      currency: string;
      open_minor: number;
      status: string;
      due_date: string;
    }>(
      `SELECT item_id, source, source_key, external_id, document_number, currency, open_minor, status, due_date
       FROM items WHERE tenant_id = $1 AND item_id = ANY($2::text[]) ORDER BY item_id FOR UPDATE`,
      [tenantId, [...wanted]],
    );
    for (const l of locked) {
      const open = l.status === 'open' ? Number(l.open_minor) : 0;
      running.set(l.item_id, {
        itemId: l.item_id,
        source: l.source,
        sourceKey: l.source_key,
        externalId: l.external_id,
        documentNumber: l.document_number,
        currency: l.currency,
        openMinor: open,
        open,
        dueDate: l.due_date,
      });
    }
  }
  const isFee = feeMatcher(settings.feeDocumentPattern);
  const current = (items: readonly OpenItem[]) =>
    items.flatMap((i) => {
      const r = running.get(i.itemId);
      return r && r.open > 0 ? [{ ...i, openMinor: r.open, isFee: isFee(i) }] : [];
    });

  const bookings: Booking[] = [];
  const learnt: { iban: string; debtorId: string }[] = [];
  toMatch.forEach((r, i) => {
    if (!keep(r)) return;
    const d = decisions[i]!;
    r.confidence = d.auto?.confidence ?? d.ranked[0]?.confidence ?? null;
    if (!d.auto) {
      r.suggestions = d.ranked.map(toSuggestion);
      r.status = d.ranked.length > 0 ? 'suggested' : 'unmatched';
      if (d.ranked.length > 0) result.suggested++;
      else result.unmatched++;
      result.worklistMinor += r.p.entry.amountMinor;
      return;
    }
    const e = r.p.entry;
    const plan = planAllocation(e.amountMinor, current(d.auto.items), settings.allocationOrder);
    if (plan.unallocatedMinor > 0 && settings.overpayment === 'other-items') {
      const named = new Set(d.auto.items.map((it) => it.itemId));
      const others = (candidates[i]!.find((c) => c.debtorId === d.auto!.debtorId)?.open ?? []).filter(
        (it) => !named.has(it.itemId),
      );
      const more = planAllocation(plan.unallocatedMinor, current(others), settings.allocationOrder);
      plan.allocations.push(...more.allocations);
      plan.unallocatedMinor = more.unallocatedMinor;
    }
    const lines: BookingLine[] = plan.allocations.map((a) => {
      const item = running.get(a.itemId)!;
      const before = item.open;
      item.open -= a.amountMinor;
      return {
        item: { ...item, openMinor: before },
        amountMinor: a.amountMinor,
        cleared: item.open === 0,
      };
    });
    const paymentId = newId();
    bookings.push({
      paymentId,
      idempotencyKey: paymentKeyOf(stmt.account, r.p.key),
      method: e.mandateId ? 'sepa_direct_debit' : 'sepa_credit_transfer',
      providerReference: e.endToEndId ?? e.reference ?? null,
      debtorId: d.auto.debtorId,
      currency: stmt.currency,
      amountMinor: e.amountMinor,
      valueDate: e.valueDate ?? e.bookingDate,
      receivedAt: e.bookingDate,
      lines,
    });
    r.status = 'allocated';
    // Why, for the audit trail (the suggestions column is the worklist's).
    r.note = d.auto.reasons.join('; ');
    r.matchedBy = d.auto.matchedBy;
    r.debtorId = d.auto.debtorId;
    r.paymentId = paymentId;
    result.autoAllocated++;
    result.allocatedMinor += lines.reduce((n, l) => n + l.amountMinor, 0);
    const iban = normaliseIban(e.counterparty?.iban);
    if (iban) learnt.push({ iban, debtorId: d.auto.debtorId });
  });
  // Collections wait for their settlement; they count as worklist money until then.
  for (const r of credits) if (r.matchedBy === 'collection') result.worklistMinor += r.p.entry.amountMinor;

  // The original items are stored with their open amount before the batch: writeBookings computes the new ones.
  await writeBookings(s, tenantId, bookings);
  if (learnt.length > 0) {
    await s.query(
      `INSERT INTO debtor_accounts (tenant_id, iban, debtor_id, origin)
       SELECT DISTINCT $1, iban, debtor_id, 'payment' FROM unnest($2::text[], $3::text[]) AS l(iban, debtor_id)
       ORDER BY 2, 3
       ON CONFLICT (tenant_id, iban, debtor_id) DO UPDATE SET last_seen_at = now()
         WHERE debtor_accounts.last_seen_at < now() - interval '1 day'`,
      [tenantId, learnt.map((l) => l.iban), learnt.map((l) => l.debtorId)],
    );
  }
  await s.copyIn('statement_entries', ENTRY_COLUMNS, entryCsv(tenantId, stmt, rows));
  return result;
}

function* entryCsv(tenantId: string, stmt: BatchStatement, rows: readonly EntryRow[]): Iterable<string> {
  // One time-ordered id per batch and the entry's position in its statement: unique, in order, no random bytes each.
  const base = newId();
  const head = `${csvField(tenantId)},`;
  const tail = `${stmt.statementId},${csvField(stmt.account)},`;
  let buf = '';
  for (const r of rows) {
    const e = r.p.entry;
    buf += `${head}${base}.${String(r.p.position).padStart(6, '0')},${tail}${csvField(r.p.key)},${r.p.position},${stmt.currency},${e.amountMinor},${
      e.bookingDate
    },${e.valueDate ?? ''},${csvField(e.reference)},${csvField(e.endToEndId)},${csvField(e.mandateId)},${csvField(
      e.creditorReference,
    )},${csvField(e.remittance)},${csvField(e.counterparty?.name)},${csvField(
      normaliseIban(e.counterparty?.iban) ?? e.counterparty?.iban,
    )},${csvField(e.counterparty?.bic)},${csvField(e.returnReason)},${e.chargesMinor ?? ''},${r.kind},${r.status},${
      r.confidence ?? ''
    },${r.matchedBy ?? ''},${r.debtorId ?? ''},${r.paymentId ?? ''},${jsonField(r.suggestions)},${csvField(r.note)}\n`;
    if (buf.length > 1 << 16) {
      yield buf;
      buf = '';
    }
  }
  if (buf) yield buf;
}

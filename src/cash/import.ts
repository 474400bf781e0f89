/**
 * Statement import: every entry of every statement is recorded once (a re-imported statement adds nothing), credits
 * are matched and — above the tenant's threshold — booked as payments and allocated to items with write-backs to the
 * sources; the rest waits in the worklist with ranked suggestions. SEPA direct-debit collections are settled by their
 * end-to-end ids, and R-transactions (returns) reverse what they took back.
 *
 * Set-based (DESIGN §4): entries go in batches; each batch is matched with one statement for all its candidate lookups
 * (matcher.ts), then booked with one statement for its payments, allocations, item amounts, write-backs and events
 * (booking.ts) and one for its entries. An entry is booked once whatever happens: its key is unique per account, so
 * when two uploads of one file race, the later one's batch is refused, read again (now finding the entries imported)
 * and books only what is left. An item is never paid beyond its open amount: booking updates it only while it is
 * still open for what the plan was made with, under its row lock.
 */
import { newId } from '../domain/ids';
import { CsvChunks, type RawSession, type Store } from '../store/db';
import type { EntryKind, EntryStatus, MatchedBy, Suggestion } from '../store/schema-cash';
import { planAllocation } from './allocation-rules';
import { BOOKING_CONFLICT, type Booking, type BookingLine, seqId, writeBookings } from './booking';
import {
  type CollectionOutcomeSink,
  collectionEndToEndIds,
  settleCollection,
  storedCollectionOutcomes,
} from './collections';
import { entryKeys, kindOf, paymentKeyOf, statementKeyOf } from './keys';
import { type BatchFindings, type EntryProbe, matchBatch, probeOf } from './matcher';
import { normaliseIban } from './remittance';
import { applyReturn } from './returns';
import { type OpenItem, type ScoredCandidate, toSuggestion } from './scoring';
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
  const keysOf = new Map<Statement, string[]>();

  const jobs: { stmt: BatchStatement; batch: Prepared[] }[] = [];
  for (const statement of input.statements) {
    summary.entries += statement.entries.length;
    const statementId = await recordStatement(store, tenantId, statement, input);
    statementIds.push(statementId);
    const keys = entryKeys(statement);
    keysOf.set(statement, keys);
    const stmt = { statementId, account: statement.account, currency: statement.currency };
    const prepared = statement.entries.map((entry, i) => ({ entry, key: keys[i]!, position: i + 1 }));
    for (let i = 0; i < prepared.length; i += batchSize) jobs.push({ stmt, batch: prepared.slice(i, i + batchSize) });
  }
  // A pipeline: while batch n is booked, batch n + 1 is read and matched on another connection. Booking is split in
  // lanes by debtor (entries without a debtor by key), each on its own connection: lanes never touch the same items,
  // so they never wait for each other. Reading takes no lock. Booking plans with the amounts read, except where the
  // batch booked while they were read has changed them since (`booked`: the open amounts it left; every earlier batch
  // was committed before the read began), and updates an item only while it is still open for exactly that amount
  // (and one it found paid only while it still is): anyone else's payment in between makes the batch a conflict,
  // read again and booked under row locks taken before planning.
  const lanes = store.dialect === 'postgres' ? 2 : 1;
  const committed = new Set<string>();
  let booked = new Map<string, number>();
  const read = (j: number) =>
    store.rawTransaction((s) => readBatch(s, tenantId, settings, jobs[j]!.stmt, jobs[j]!.batch, lanes));
  let ahead = jobs.length > 0 ? read(0) : undefined;
  for (let j = 0; j < jobs.length; j++) {
    let matched = await ahead!;
    ahead = j + 1 < jobs.length ? read(j + 1) : undefined;
    // A failed read ahead is reported when its turn comes; until then it must not be an unhandled rejection.
    ahead?.catch(() => undefined);
    const left = new Map<string, number>();
    for (let attempt = 1; ; attempt++) {
      const amounts = attempt === 1 ? booked : 'lock';
      const results = await Promise.allSettled(
        Array.from({ length: lanes }, (_, lane) =>
          store.rawTransaction((s) => writeBatch(s, tenantId, settings, matched, lane, amounts)),
        ),
      );
      for (const r of results) {
        if (r.status !== 'fulfilled') continue;
        add(r.value);
        for (const [itemId, open] of r.value.left) left.set(itemId, open);
      }
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failure) break;
      // Another import of the same file booked some of these entries first (the unique entry key refused ours), an
      // item changed under the batch, or a payment locking the same items in another order: read the batch again and
      // book what is left.
      const code = (failure.reason as { code?: string }).code;
      if ((code !== '23505' && code !== BOOKING_CONFLICT && code !== '40P01') || attempt >= 3) throw failure.reason;
      matched = await store.rawTransaction((s) => readBatch(s, tenantId, settings, matched.stmt, matched.batch, lanes));
    }
    summary.alreadyImported += matched.knownKeys.filter((k) => !committed.has(k)).length;
    booked = left;
  }
  function add(r: BatchResult & { keys: string[]; currency: string; left: Map<string, number> }) {
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
      const keys = keysOf.get(statement)!;
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
  // (IBANs as normalised are letters and digits: one comma-separated string is far cheaper to send than an array.)
  await store.rawTransaction((s) =>
    s.query(
      `INSERT INTO debtor_accounts (tenant_id, iban, debtor_id, origin)
       SELECT DISTINCT $1, upper(replace(record->>'iban', ' ', '')), record->>'debtorId', 'mandate'
       FROM provider_records
       WHERE tenant_id = $1 AND provider = 'sepa-direct-debit' AND kind = 'mandate' AND record->>'debtorId' IS NOT NULL
         AND upper(replace(record->>'iban', ' ', '')) = ANY(string_to_array($2, ','))
       ON CONFLICT (tenant_id, iban, debtor_id) DO NOTHING`,
      [tenantId, [...ibans].join(',')],
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

/** The columns of a batch's entries, COPYed in (a JSON parameter read by json_to_recordset cost twice the CPU). */
const ENTRY_COLS = [
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
];

interface BatchStatement {
  statementId: string;
  account: string;
  currency: string;
}

/**
 * What the matcher decided for one entry, and no more: a batch waits for its booking with it, so the candidates it was
 * decided from are let go at once.
 */
interface Outcome {
  /** The debtor and items to allocate to, when the confidence reached the threshold. */
  auto?: ScoredCandidate;
  /** The auto debtor's open items, when over-payments pay the debtor's other items. */
  others?: OpenItem[];
  /** Ranked, for the worklist (empty when allocated automatically). */
  suggestions: Suggestion[];
  confidence: number | null;
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
  /** Per entry of `toMatch`: what the matcher decided. */
  outcomes: Outcome[];
  findings: BatchFindings;
}

/** A stable lane for a debtor or an entry key. */
function laneOf(id: string, lanes: number): number {
  if (lanes === 1) return 0;
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
  return (h >>> 0) % lanes;
}

/** The keys of a batch already imported for the account; cheap when none is in the batch's date range. */
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
  const endToEnd = credits.map((r) => collectionEndToEndIds(r.p.entry));
  const e2eIds = [...new Set(endToEnd.flat())];
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
  credits.forEach((r, i) => {
    if (endToEnd[i]!.some((id) => collectionIds.has(id))) r.matchedBy = 'collection';
    else toMatch.push(r);
  });
  const probes: EntryProbe[] = toMatch.map((r) => probeOf(r.p.entry, stmt.currency));
  const { decisions, candidates, findings } = await matchBatch(s, tenantId, stmt.currency, probes, settings);
  const others = settings.overpayment === 'other-items';
  const outcomes = decisions.map((d, i): Outcome => {
    const confidence = d.auto?.confidence ?? d.ranked[0]?.confidence ?? null;
    if (!d.auto) return { suggestions: d.ranked.map(toSuggestion), confidence };
    // What is booked for a debtor is booked in the debtor's lane: lanes never share an item.
    toMatch[i]!.lane = laneOf(d.auto.debtorId, lanes);
    const debtorId = d.auto.debtorId;
    return {
      auto: d.auto,
      ...(others ? { others: candidates[i]!.find((c) => c.debtorId === debtorId)?.open ?? [] } : {}),
      suggestions: [],
      confidence,
    };
  });
  return { stmt, batch, knownKeys: [...seen], rows, credits, toMatch, outcomes, findings };
}

/**
 * Books a matched batch in one transaction: what is still new. `amounts` says what the plan starts from: the open
 * amounts read while matching, overridden by those the batch booked meanwhile left (booking refuses the batch when
 * anyone else changed one of them), or `lock`: the items locked in item order (so lanes and other writers never
 * deadlock) and read again.
 */
async function writeBatch(
  s: RawSession,
  tenantId: string,
  settings: CashSettings,
  m: MatchedBatch,
  lane: number,
  amounts: ReadonlyMap<string, number> | 'lock',
): Promise<BatchResult & { keys: string[]; currency: string; left: Map<string, number> }> {
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
    left: new Map<string, number>(),
  };
  const keep = (r: EntryRow) => r.lane === lane;
  const rows = m.rows.filter(keep);
  if (rows.length === 0) return result;
  result.keys = rows.map((r) => r.p.key);
  const credits = m.credits.filter(keep);
  result.credits = credits.length;
  result.ignored = rows.filter((r) => r.kind === 'debit').length;
  for (const r of credits) result.receivedMinor += r.p.entry.amountMinor;
  const { outcomes, toMatch } = m;

  // The items the automatic allocations may touch, with the open amount each had when it was read.
  const wanted = new Map<string, number>();
  outcomes.forEach((o, i) => {
    if (!o.auto || !keep(toMatch[i]!)) return;
    for (const it of o.auto.items) wanted.set(it.itemId, it.openMinor);
    for (const it of o.others ?? []) wanted.set(it.itemId, it.openMinor);
  });
  // Running open amounts while the batch is planned entry by entry.
  const running = new Map<string, number>();
  // Items read open that the batch booked meanwhile paid in full: the plan skips them, so booking checks they still are.
  const paid: string[] = [];
  if (amounts !== 'lock') {
    for (const [itemId, read] of wanted) {
      const open = amounts.get(itemId) ?? read;
      running.set(itemId, open);
      if (open <= 0) paid.push(itemId);
    }
  } else if (wanted.size > 0) {
    // (The lock also makes the allocations' foreign key checks on the items wait for nobody.)
    const { rows: locked } = await s.query<{ item_id: string; open_minor: number; status: string }>(
      `SELECT item_id, open_minor, status FROM items WHERE tenant_id = $1 AND item_id = ANY($2::text[])
       ORDER BY item_id FOR UPDATE`,
      [tenantId, [...wanted.keys()]],
    );
    for (const l of locked) running.set(l.item_id, l.status === 'open' ? Number(l.open_minor) : 0);
  }
  const isFee = feeMatcher(settings.feeDocumentPattern);
  const current = (items: readonly OpenItem[]) =>
    items.flatMap((i) => {
      const open = running.get(i.itemId);
      return open !== undefined && open > 0 ? [{ ...i, openMinor: open, isFee: isFee(i) }] : [];
    });

  const bookings: Booking[] = [];
  const learnt: { iban: string; debtorId: string }[] = [];
  toMatch.forEach((r, i) => {
    if (!keep(r)) return;
    const o = outcomes[i]!;
    r.confidence = o.confidence;
    const auto = o.auto;
    if (!auto) {
      r.suggestions = o.suggestions;
      r.status = o.suggestions.length > 0 ? 'suggested' : 'unmatched';
      if (o.suggestions.length > 0) result.suggested++;
      else result.unmatched++;
      result.worklistMinor += r.p.entry.amountMinor;
      return;
    }
    const e = r.p.entry;
    const plan = planAllocation(e.amountMinor, current(auto.items), settings.allocationOrder);
    if (plan.unallocatedMinor > 0 && o.others) {
      const named = new Set(auto.items.map((it) => it.itemId));
      const others = o.others.filter((it) => !named.has(it.itemId));
      const more = planAllocation(plan.unallocatedMinor, current(others), settings.allocationOrder);
      plan.allocations.push(...more.allocations);
      plan.unallocatedMinor = more.unallocatedMinor;
    }
    const lines: BookingLine[] = plan.allocations.map((a) => {
      const before = running.get(a.itemId)!;
      const after = before - a.amountMinor;
      running.set(a.itemId, after);
      result.left.set(a.itemId, after);
      return { itemId: a.itemId, amountMinor: a.amountMinor, openBeforeMinor: before, cleared: after === 0 };
    });
    const paymentId = newId();
    bookings.push({
      paymentId,
      idempotencyKey: paymentKeyOf(stmt.account, r.p.key),
      method: e.mandateId ? 'sepa_direct_debit' : 'sepa_credit_transfer',
      providerReference: e.endToEndId ?? e.reference ?? null,
      debtorId: auto.debtorId,
      currency: stmt.currency,
      amountMinor: e.amountMinor,
      valueDate: e.valueDate ?? e.bookingDate,
      receivedAt: e.bookingDate,
      lines,
    });
    r.status = 'allocated';
    // Why, for the audit trail (the suggestions column is the worklist's).
    r.note = auto.reasons.join('; ');
    r.matchedBy = auto.matchedBy;
    r.debtorId = auto.debtorId;
    r.paymentId = paymentId;
    result.autoAllocated++;
    result.allocatedMinor += lines.reduce((n, l) => n + l.amountMinor, 0);
    const iban = normaliseIban(e.counterparty?.iban);
    // A payer account known and seen within the day needs no learning again (the upsert below would change nothing).
    if (iban && !m.findings.recentAccounts.has(`${iban}|${auto.debtorId}`)) {
      learnt.push({ iban, debtorId: auto.debtorId });
    }
  });
  // Collections wait for their settlement; they count as worklist money until then.
  for (const r of credits) if (r.matchedBy === 'collection') result.worklistMinor += r.p.entry.amountMinor;

  await writeBookings(s, tenantId, bookings, paid);
  if (learnt.length > 0) {
    await s.query(
      `INSERT INTO debtor_accounts (tenant_id, iban, debtor_id, origin)
       SELECT DISTINCT $1, iban, "debtorId", 'payment' FROM json_to_recordset($2::json) AS l(iban text, "debtorId" text)
       ORDER BY 2, 3
       ON CONFLICT (tenant_id, iban, debtor_id) DO UPDATE SET last_seen_at = now()
         WHERE debtor_accounts.last_seen_at < now() - interval '1 day'`,
      [tenantId, JSON.stringify(learnt)],
    );
  }
  // One time-ordered id per batch and the entry's position in its statement: unique, in order, no random bytes each.
  const batchId = newId();
  const entries = new CsvChunks();
  for (const r of rows) entries.line(entryCells(tenantId, batchId, stmt, r));
  await s.copyIn('statement_entries', ENTRY_COLS, entries.done());
  return result;
}

/** An entry's row in {@link ENTRY_COLS} order: absent values are NULL. */
function entryCells(tenantId: string, batchId: string, stmt: BatchStatement, r: EntryRow) {
  const e = r.p.entry;
  return [
    tenantId,
    seqId(batchId, r.p.position, 6),
    stmt.statementId,
    stmt.account,
    r.p.key,
    r.p.position,
    stmt.currency,
    e.amountMinor,
    e.bookingDate,
    e.valueDate || null,
    e.reference,
    e.endToEndId,
    e.mandateId,
    e.creditorReference,
    e.remittance,
    e.counterparty?.name,
    normaliseIban(e.counterparty?.iban) ?? e.counterparty?.iban,
    e.counterparty?.bic,
    e.returnReason,
    e.chargesMinor,
    r.kind,
    r.status,
    r.confidence,
    r.matchedBy || null,
    r.debtorId || null,
    r.paymentId || null,
    JSON.stringify(r.suggestions ?? []),
    r.note,
  ];
}

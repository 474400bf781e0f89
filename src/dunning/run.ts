/**
 * The dunning run (DESIGN §7): one notice per debtor per run covering all of the debtor's due items across subledgers,
 * deterministic for the run date, re-runnable without duplicates, and able to stop at a proposal for review.
 *
 * Set-based (DESIGN §4): the items are read in keyset pages of whole debtors (a few thousand debtors per page), the
 * facts of a page in one query each, every debtor is decided in memory (engine.ts), and a page's outcome is written
 * in one transaction: notices and their lines COPYed into staging tables, then one statement that inserts the
 * notices (a notice that exists already is skipped, and so is everything that hangs on it), the history, the new
 * item levels, the outbox rows of the level write-backs, the actions, agency claims and holds, and the events.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CompiledQuery } from 'kysely';
import { repoRoot } from '../config/load';
import { checkCalendarDate } from '../domain/dates';
import { IntegrationError } from '../domain/errors';
import type { WriteBackCommand } from '../domain/write-back';
import { dayNumber, NEVER_DAYS } from '../rules/facts';
import { CsvChunks, csvField, type RawSession, type Store } from '../store/db';
import { contactSlot } from './calendar';
import {
  calendarFacts,
  type DebtorDecision,
  decideDebtor,
  type EngineContext,
  type EngineDebtor,
  type EngineHistory,
  type EngineHold,
  type EngineItem,
  emptyFacts,
  fillDebtorFacts,
  type HoldUpdate,
  type NoticeLine,
  type NoticeSettlement,
  type SkipReason,
  settle,
} from './engine';
import { type BaseRateTable, defaultInterest, loadBaseRates, SURCHARGE_BASIS_POINTS } from './legal/interest';
import { registeredStrategy } from './registry';
import { type CompiledStrategy, type DunningStrategy, fromInlineLevels, type Segment } from './strategy';

export interface DunningRunOptions {
  tenantId: string;
  /** The tenant file's inline levels; ignored when `plan` is given. */
  strategy: DunningStrategy;
  /** The date the run is for: the same date gives the same notices, and a re-run adds none. */
  asOf: string;
  /** Sources that want each item's new dunning level written back. */
  levelWriteBackSources: ReadonlySet<string>;
  /** Open items per page (whole debtors): the run reads and writes in keyset-paged batches. @defaultValue 50000 */
  pageSize?: number;
  onProgress?: (debtorsDone: number) => void;
  /** A compiled strategy (a strategy file); without it the inline levels run as one segment. */
  plan?: CompiledStrategy;
  /** For the inline levels: the tenant's time zone. @defaultValue Europe/Berlin */
  timezone?: string;
}

export interface DunningRunResult {
  runId: string;
  status: 'completed' | 'proposed';
  strategy: { name: string; version: number };
  debtorsConsidered: number;
  /** Notices created (or proposed, for a proposal). */
  noticesCreated: number;
  itemsDunned: number;
  byLevel: Record<number, number>;
  bySegment: Record<string, number>;
  /** Debtors with open items that got no notice, by why. */
  skipped: Partial<Record<SkipReason, number>>;
  thanks: number;
}

/** The run id is derived from the date, so a repeated run for the same date resumes instead of duplicating. */
export const runIdOf = (asOf: string): string => `run-${asOf}`;

/** The notice id is a business id: one debtor, one run (and one kind). */
export function noticeIdOf(
  tenantId: string,
  runId: string,
  debtorId: string,
  kind: 'dunning' | 'thanks' = 'dunning',
): string {
  const key = kind === 'dunning' ? `${tenantId}|${runId}|${debtorId}` : `${tenantId}|${runId}|${debtorId}|thanks`;
  return `ntc-${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

/**
 * Creates the run's notices: the path `Runtime.dunningRun` (and so `clearhub demo`) takes. The strategy is `opts.plan`,
 * else the tenant's strategy on record (the strategy file `clearhub dunning run` and `dunning strategy register`
 * record), else the tenant file's inline levels as one segment. Sending is a separate step (send.ts), so a failed send
 * never loses or duplicates a notice.
 */
export async function createNotices(store: Store, opts: DunningRunOptions): Promise<DunningRunResult> {
  const plan =
    opts.plan ??
    (await strategyOnRecord(store, opts.tenantId)) ??
    fromInlineLevels(opts.strategy, {
      timezone: opts.timezone ?? 'Europe/Berlin',
      currency: await tenantCurrency(store, opts.tenantId),
      origin: `tenant:${opts.tenantId}`,
    });
  return runDunning(store, {
    tenantId: opts.tenantId,
    strategy: plan,
    asOf: opts.asOf,
    levelWriteBackSources: opts.levelWriteBackSources,
    mode: 'execute',
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
}

export interface RunOptions {
  tenantId: string;
  strategy: CompiledStrategy;
  asOf: string;
  levelWriteBackSources: ReadonlySet<string>;
  /** `proposal` stops at a proposal list (nothing is dunned until it is approved); `execute` creates the notices. */
  mode: 'execute' | 'proposal';
  pageSize?: number;
  onProgress?: (debtorsDone: number) => void;
  /**
   * `false` reads every page in full instead of screening it first ({@link screenOf}); the outcome is the same (the
   * tests compare the two). @defaultValue true
   */
  screen?: boolean;
}

/**
 * Runs (or proposes) the dunning of a date. A run date takes one strategy and one mode: re-running it resumes (a
 * crashed run) or adds nothing (a finished one); a proposal is shown again as it is, until approved.
 */
export async function runDunning(store: Store, opts: RunOptions): Promise<DunningRunResult> {
  const { tenantId, strategy, asOf } = opts;
  checkCalendarDate(asOf, 'asOf');
  const runId = runIdOf(asOf);
  const inserted = await store.db
    .insertInto('dunning_runs')
    .values({
      tenant_id: tenantId,
      run_id: runId,
      as_of: asOf,
      strategy: strategy.name,
      strategy_version: strategy.version,
      status: 'running',
      mode: opts.mode,
      stats: '{}',
      write_back_sources: JSON.stringify([...opts.levelWriteBackSources].sort()),
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'run_id']).doNothing())
    .returning('run_id')
    .executeTakeFirst();
  // A run that starts now has no notices yet: its pages need not look for ones written before.
  const fresh = inserted !== undefined;
  const run = await store.db
    .selectFrom('dunning_runs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  if (run.strategy !== strategy.name || run.strategy_version !== strategy.version) {
    throw new IntegrationError(
      `run ${runId} was made with strategy ${run.strategy} v${run.strategy_version}; a run date takes one strategy (this is ${strategy.name} v${strategy.version})`,
      'strategy',
      { conflict: true },
    );
  }
  if (run.status === 'proposed' || (run.mode === 'proposal' && run.status === 'running')) {
    if (opts.mode === 'execute') {
      throw new IntegrationError(
        `run ${runId} is a proposal awaiting approval: review it and run \`clearhub dunning approve ${runId}\``,
        'run',
        { conflict: true },
      );
    }
    if (run.status === 'proposed') return summaryOfProposal(store, tenantId, runId, strategy);
    // A proposal that crashed half-way: start it again from nothing.
    await store.db.deleteFrom('proposal_lines').where('tenant_id', '=', tenantId).where('run_id', '=', runId).execute();
    await store.db
      .deleteFrom('proposal_notices')
      .where('tenant_id', '=', tenantId)
      .where('run_id', '=', runId)
      .execute();
  } else if (opts.mode === 'proposal') {
    throw new IntegrationError(`run ${runId} was executed already; a proposal comes before the run`, 'run', {
      conflict: true,
    });
  } else if (run.mode === 'proposal' && run.status === 'completed') {
    // An approved proposal is the run: what the reviewer held or dropped stays out, and nothing is added to it.
    return { ...emptyResult(runId, strategy, 'completed') };
  }

  const result = emptyResult(runId, strategy, opts.mode === 'proposal' ? 'proposed' : 'completed');
  const ctx = engineContext(strategy, asOf);
  const facts = emptyFacts(ctx.calendar);
  // CLEARHUB_DUNNING_TRACE=1 prints each page's read, decide and write times to stderr (for tuning).
  const trace = process.env.CLEARHUB_DUNNING_TRACE
    ? (line: string) => process.stderr.write(`dunning ${line}\n`)
    : undefined;
  const pageItems = opts.pageSize ?? 50_000;
  let cursor = '';
  // The next page is read while this one is decided and written: the database and the decisions work at once.
  const resume = opts.mode === 'execute' && !fresh;
  const wide = conditionsReadDetails(strategy, asOf);
  // Pages are screened while most of their debtors turn out to have nothing that can rise (a nightly run); once a
  // page reads most debtors in full anyway (a ledger never dunned), the rest are read in full straight away.
  const screen = opts.screen === false ? undefined : screenOf(strategy, asOf);
  let screening = screen !== undefined;
  const read = (from: string) => {
    const p = readPage(
      store,
      tenantId,
      runId,
      strategy,
      asOf,
      from,
      pageItems,
      resume,
      wide,
      ctx,
      screening ? screen : undefined,
    );
    p.catch(() => undefined); // awaited below; a failure surfaces there
    return p;
  };
  let next = read(cursor);
  // One page is written while the next is decided (different debtors: they do not depend on each other); at most one
  // write is in flight, so the pages commit in order.
  let writing: Promise<void> = Promise.resolve();
  for (;;) {
    const t0 = performance.now();
    const page = await next;
    const t1 = performance.now();
    if (!page) break;
    cursor = page.lastDebtor;
    if (page.screened && page.activeShare > 0.5) screening = false;
    // The last page has no edge: nothing after it (and its largest id in JavaScript's order need not be the
    // database's).
    next = page.last ? Promise.resolve(undefined) : read(cursor);
    const plans: NoticePlan[] = [];
    const kept: HoldUpdate[] = [];
    const decided: { debtor: EngineDebtor; decision: DebtorDecision & { kind: 'notice' } }[] = [];
    (ctx as { lumpSumClaimed: ReadonlySet<string> }).lumpSumClaimed = page.lumpSumClaimed;
    page.quiet.forEach((debtorId, k) => {
      result.debtorsConsidered++;
      const reason = page.quietReasons[k];
      if (reason && !page.alreadyNoticed.has(debtorId)) result.skipped[reason] = (result.skipped[reason] ?? 0) + 1;
    });
    for (const [debtorId, items] of page.items) {
      result.debtorsConsidered++;
      if (page.alreadyNoticed.has(debtorId)) continue;
      const debtor = page.debtors.get(debtorId);
      if (!debtor) continue;
      const decision = decideDebtor(
        ctx,
        facts,
        debtor,
        items,
        page.holds.get(debtorId) ?? [],
        page.history.get(debtorId) ?? NO_HISTORY,
      );
      for (const u of decision.holdUpdates) if (u.outcome === 'kept') kept.push(u);
      if (decision.kind === 'skip') {
        result.skipped[decision.reason] = (result.skipped[decision.reason] ?? 0) + 1;
        continue;
      }
      decided.push({ debtor, decision });
    }
    // A notice lists its items oldest first (fillDetails sorts them once their document numbers are read).
    if (!wide) await fillDetails(store, tenantId, decided);
    else
      for (const d of decided)
        if (d.decision.lines.length > 1) d.decision.lines.sort((a, b) => byDueDate(a.item, b.item));
    for (const { debtor, decision } of decided) {
      const s = settle(strategy, decision.segment, decision.lines, decision.reachable, asOf);
      if (!s) {
        result.skipped.unreachable = (result.skipped.unreachable ?? 0) + 1;
        continue;
      }
      plans.push(planOf(tenantId, runId, debtor, decision, s, opts.levelWriteBackSources));
    }
    const t2 = performance.now();
    await writing;
    const label = `page to ${cursor} (${page.screened ? `screened, ${Math.round(page.activeShare * 100)}% read` : 'read in full'}): read ${(t1 - t0).toFixed(0)} ms, decide ${(t2 - t1).toFixed(0)} ms`;
    writing =
      opts.mode === 'execute'
        ? writeNotices(store, tenantId, runId, strategy, asOf, plans, kept, resume).then((written) => {
            trace?.(`${label}, write ${(performance.now() - t2).toFixed(0)} ms (${plans.length} notices)`);
            tally(result, plans, written);
            opts.onProgress?.(result.debtorsConsidered);
          })
        : writeProposal(store, tenantId, runId, plans).then(() => {
            tally(result, plans, new Set(plans.map((p) => p.noticeId)));
            opts.onProgress?.(result.debtorsConsidered);
          });
    writing.catch(() => undefined); // awaited before the next write and after the last page
  }
  await writing;
  if (opts.mode === 'execute') {
    await settlePaidHolds(store, tenantId, runId, asOf);
    if (strategy.thankYou) result.thanks = await thankPayers(store, tenantId, runId, strategy, asOf);
  }
  await store.db
    .updateTable('dunning_runs')
    .set({
      status: result.status,
      finished_at: new Date().toISOString(),
      stats: JSON.stringify(statsOf(result)),
    })
    .where('tenant_id', '=', tenantId)
    .where('run_id', '=', runId)
    .execute();
  return result;
}

export function emptyResult(
  runId: string,
  strategy: { name: string; version: number },
  status: DunningRunResult['status'],
): DunningRunResult {
  return {
    runId,
    status,
    strategy: { name: strategy.name, version: strategy.version },
    debtorsConsidered: 0,
    noticesCreated: 0,
    itemsDunned: 0,
    byLevel: {},
    bySegment: {},
    skipped: {},
    thanks: 0,
  };
}

export function statsOf(r: DunningRunResult): Record<string, number> {
  const out: Record<string, number> = {
    debtors: r.debtorsConsidered,
    notices: r.noticesCreated,
    items: r.itemsDunned,
    thanks: r.thanks,
  };
  for (const [k, v] of Object.entries(r.skipped)) out[`skipped.${k}`] = v;
  for (const [k, v] of Object.entries(r.byLevel)) out[`level.${k}`] = v;
  for (const [k, v] of Object.entries(r.bySegment)) out[`segment.${k}`] = v;
  return out;
}

export function tally(result: DunningRunResult, plans: readonly NoticePlan[], written: ReadonlySet<string>): void {
  for (const p of plans) {
    if (!written.has(p.noticeId)) continue;
    result.noticesCreated++;
    result.byLevel[p.settlement.level.level] = (result.byLevel[p.settlement.level.level] ?? 0) + 1;
    result.bySegment[p.segment.name] = (result.bySegment[p.segment.name] ?? 0) + 1;
    for (const l of p.lines) if (l.level > l.levelBefore) result.itemsDunned++;
  }
}

const NO_HISTORY: EngineHistory = {
  contactsThisWeek: 0,
  lastContactOn: null,
  brokenPromises: 0,
  paidOnTimeBp: 10_000,
  lastPaymentOn: null,
  returnedDebits: 0,
};

/** The strategy last recorded for the tenant (`dunning_strategies`), compiled; undefined when none is. */
async function strategyOnRecord(store: Store, tenantId: string): Promise<CompiledStrategy | undefined> {
  const row = await store.db
    .selectFrom('dunning_strategies')
    .select(['name', 'version'])
    .where('tenant_id', '=', tenantId)
    .orderBy('registered_at', 'desc')
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  return registeredStrategy(store, tenantId, row);
}

async function tenantCurrency(store: Store, tenantId: string): Promise<string> {
  const row = await store.db
    .selectFrom('tenants')
    .select('currency')
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row?.currency ?? 'EUR';
}

// ---- context: calendar and §288 interest ----

let baseRates: BaseRateTable | undefined;

/** The German base-rate table (config/legal/de-base-rate.yaml), read once. */
export function germanBaseRates(): BaseRateTable {
  baseRates ??= loadBaseRates(join(repoRoot(), 'config', 'legal', 'de-base-rate.yaml'));
  return baseRates;
}

/**
 * The exact-fraction unit of `defaultInterest` (legal/interest.ts): a year of 365 × 366 day-parts times 10,000 basis
 * points. Interest is linear in the principal before its one rounding, so the interest on exactly this many minor
 * units IS the period's exact numerator: computed once per due date and customer kind, then applied to each item.
 */
const INTEREST_UNIT = 10_000n * 365n * 366n;

function roundHalfUp(numerator: bigint, denominator: bigint): number {
  const negative = numerator < 0n;
  const n = negative ? -numerator : numerator;
  const q = (n * 2n + denominator) / (denominator * 2n);
  return Number(negative ? -q : q);
}

const UNIT = Number(INTEREST_UNIT);

/**
 * `principal × numerator / INTEREST_UNIT`, rounded half up, exactly: in doubles while every intermediate is a safe
 * integer (a principal up to about €30,000,000 for a year's interest), else in BigInt.
 */
function scaledHalfUp(principal: number, numerator: bigint, small: number): number {
  const product = principal * small;
  const twice = 2 * Math.abs(product) + UNIT;
  if (!Number.isSafeInteger(principal) || !Number.isSafeInteger(small) || !Number.isSafeInteger(twice))
    return roundHalfUp(BigInt(principal) * numerator, INTEREST_UNIT);
  let q = Math.floor(twice / (2 * UNIT));
  const r = twice - q * 2 * UNIT;
  if (r < 0) q--;
  else if (r >= 2 * UNIT) q++;
  return product < 0 ? -q : q;
}

export function engineContext(strategy: CompiledStrategy, asOf: string): EngineContext {
  const memo = new Map<string, { numerator: bigint; small: number; rateBasisPoints: number }>();
  let mode: 'unchecked' | 'shortcut' | 'direct' = 'unchecked';
  const pack = (amountMinor: number, from: string, to: string, business: boolean) =>
    defaultInterest({
      amountMinor,
      from,
      to,
      surchargeBasisPoints: business ? SURCHARGE_BASIS_POINTS.business : SURCHARGE_BASIS_POINTS.consumer,
      table: germanBaseRates(),
    });
  const quote = (r: ReturnType<typeof defaultInterest>) => ({
    interestMinor: r.interestMinor,
    rateBasisPoints: r.periods.at(-1)?.rateBasisPoints ?? 0,
  });
  return {
    strategy,
    asOf,
    asOfDay: dayNumber(asOf),
    calendar: calendarFacts(strategy.guardrails.calendar, asOf),
    lumpSumClaimed: new Set(),
    interest(principalMinor, from, to, business) {
      if (mode === 'direct') return quote(pack(principalMinor, from, to, business));
      const key = `${from}|${to}|${business}`;
      let m = memo.get(key);
      if (!m) {
        const unit = pack(Number(INTEREST_UNIT), from, to, business);
        m = {
          numerator: BigInt(unit.interestMinor),
          small: unit.interestMinor,
          rateBasisPoints: unit.periods.at(-1)?.rateBasisPoints ?? 0,
        };
        memo.set(key, m);
      }
      const interestMinor = scaledHalfUp(principalMinor, m.numerator, m.small);
      if (mode === 'unchecked') {
        // The shortcut relies on the pack's unit: check it once against the pack itself, and keep off it if it differs.
        const d = pack(principalMinor, from, to, business);
        mode = d.interestMinor === interestMinor ? 'shortcut' : 'direct';
        if (mode === 'direct') return quote(d);
      }
      return { interestMinor, rateBasisPoints: m.rateBasisPoints };
    },
  };
}

// ---- reading a page ----

/** What a run can tell about a debtor from its account and its items' rows: see {@link screenOf}. */
export interface Screen {
  currency: string;
  /** The distinct days past due of the segments' first levels (a due total is summed for each). */
  firstDays: number[];
  segments: {
    /** Index into `firstDays` of the segment's first level. */
    first: number;
    /** The highest minimum amount of the segment's levels. */
    maxMin: number;
    /** Per current level: the next level's days past due and spacing (days since the last notice); none above. */
    next: ({ days: number; since: number } | undefined)[];
  }[];
}

/**
 * Most debtors of a nightly run have no item that can rise tonight. A screened page first reads each debtor's account
 * facts and, per segment, whether one of its items is as many days past due as its next level asks for (and as many
 * days past its last notice); the run picks the segment as the engine would (same facts, same conditions), and a
 * debtor whose items can neither rise nor fall short of a level's minimum amount is `not-due` (or `no-segment`)
 * without its items being read. Debtors with an open hold or a blocked item are always read in full. Off (undefined)
 * while a moratorium is in force (its conditions read the item) or when a level's thresholds are not whole days.
 */
export function screenOf(strategy: CompiledStrategy, asOf: string): Screen | undefined {
  if (strategy.guardrails.moratoria.some((m) => asOf >= m.from && asOf <= m.until)) return undefined;
  if (strategy.segments.length > 15) return undefined; // two flag bits per segment in a 32-bit number
  const whole = (n: number) => Number.isSafeInteger(n);
  const firstDays: number[] = [];
  const segments: Screen['segments'] = [];
  for (const s of strategy.segments) {
    const levels = s.levels;
    if (levels.length === 0 || levels.some((l) => !whole(l.daysPastDue) || !whole(l.minDaysSinceLastNotice)))
      return undefined;
    const f = levels[0]!.daysPastDue;
    if (!firstDays.includes(f)) firstDays.push(f);
    const top = levels.at(-1)!.level;
    const next: Screen['segments'][number]['next'] = [];
    for (let level = 0; level <= top; level++) {
      const n = levels.find((l) => l.level > level);
      next.push(n ? { days: n.daysPastDue, since: n.minDaysSinceLastNotice } : undefined);
    }
    segments.push({ first: firstDays.indexOf(f), maxMin: Math.max(...levels.map((l) => l.minAmountMinor)), next });
  }
  return { currency: strategy.currency, firstDays, segments };
}

export interface Page {
  /** The page's edge in the database's order: the next page starts after it. */
  lastDebtor: string;
  last: boolean;
  /** Debtor → open items, oldest due date first. */
  items: Map<string, EngineItem[]>;
  debtors: Map<string, EngineDebtor>;
  holds: Map<string, EngineHold[]>;
  history: Map<string, EngineHistory>;
  alreadyNoticed: Set<string>;
  /** Screened debtors whose items were not read (screenOf), with what the engine would have said (null: no record). */
  quiet: string[];
  quietReasons: (SkipReason | null)[];
  /** Whether the page was screened, and the share of its debtors whose items were read. */
  screened: boolean;
  activeShare: number;
  lumpSumClaimed: Set<string>;
}

/**
 * Reads the source keys, document numbers and contracts of the items on this page's notices (the page query left them
 * out) and puts each notice's items in their order again.
 */
async function fillDetails(
  store: Store,
  tenantId: string,
  decided: readonly { decision: DebtorDecision & { kind: 'notice' } }[],
): Promise<void> {
  const byId = new Map<string, EngineItem>();
  for (const d of decided) for (const l of d.decision.lines) byId.set(l.item.itemId, l.item);
  if (byId.size === 0) return;
  const ids = [...byId.keys()];
  // Packed like the page (one text value); rows when a value holds a separator.
  const [packed] = await query<{ rows: string | null }>(
    store,
    `SELECT string_agg(concat_ws(E'\\x1f', item_id, source_key, external_id, document_number,
              COALESCE(contract_ref, E'\\x02'), COALESCE(document_date::text, E'\\x02')), E'\\x1e') AS rows
     FROM items WHERE tenant_id = $1 AND item_id = ANY($2::text[])`,
    [tenantId, ids],
  );
  const text = packed?.rows ?? '';
  const n = text.length;
  const f = new Array<string>(6).fill('');
  let pos = 0;
  let clean = true;
  while (pos < n) {
    let end = text.indexOf('\x1e', pos);
    if (end < 0) end = n;
    let at = pos;
    for (let k = 0; k < 5 && clean; k++) {
      const sep = text.indexOf('\x1f', at);
      if (sep < 0 || sep > end) clean = false;
      else {
        f[k] = text.slice(at, sep);
        at = sep + 1;
      }
    }
    const extra = text.indexOf('\x1f', at);
    if (!clean || (extra >= 0 && extra < end)) {
      clean = false;
      break;
    }
    f[5] = text.slice(at, end);
    const i = byId.get(f[0]!);
    if (i) {
      i.sourceKey = f[1]!;
      i.externalId = f[2]!;
      i.documentNumber = f[3]!;
      i.contractRef = nul(f[4]!);
      i.documentDate = nul(f[5]!);
    }
    pos = end + 1;
  }
  if (!clean) {
    const rows = await query<{
      item_id: string;
      source_key: string;
      external_id: string;
      document_number: string;
      contract_ref: string | null;
      document_date: string | null;
    }>(
      store,
      `SELECT item_id, source_key, external_id, document_number, contract_ref, document_date::text AS document_date
       FROM items WHERE tenant_id = $1 AND item_id = ANY($2::text[])`,
      [tenantId, ids],
    );
    for (const r of rows) {
      const i = byId.get(r.item_id)!;
      i.sourceKey = r.source_key;
      i.externalId = r.external_id;
      i.documentNumber = r.document_number;
      i.contractRef = r.contract_ref;
      i.documentDate = r.document_date;
    }
  }
  for (const d of decided) if (d.decision.lines.length > 1) d.decision.lines.sort((a, b) => byDueDate(a.item, b.item));
}

interface DebtorRow {
  debtor_id: string;
  type: 'B2B' | 'B2C';
  tags: string[];
  language: string;
  country: string | null;
  email: string | null;
  phone: string | null;
  since: string;
}

/** `YYYY-MM-DD` at text[from, to) as the number YYYYMMDD; -1 when it is anything else. */
function isoDateKey(text: string, from: number, to: number): number {
  if (to - from !== 10 || text.charCodeAt(from + 4) !== 45 || text.charCodeAt(from + 7) !== 45) return -1;
  let key = 0;
  for (let k = from; k < to; k++) {
    if (k === from + 4 || k === from + 7) continue;
    const c = text.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    key = key * 10 + c;
  }
  return key;
}

/**
 * The page's debtors from their packed text (see readPage), in one pass; the values many debtors share (type, tags,
 * language, country, first-seen date) are kept once. Undefined when a line has a separator inside a value.
 */
function unpackDebtors(packed: string | null): Map<string, EngineDebtor> | undefined {
  const out = new Map<string, EngineDebtor>();
  if (!packed) return out;
  const tagLists = new Map<string, string[]>();
  const dates = new Map<number, string>();
  // Type, language and country repeat from debtor to debtor: the one before is reused when it is the same.
  let type = '';
  let language = '';
  let country = '';
  const f = new Array<string>(8).fill('');
  const n = packed.length;
  let pos = 0;
  while (pos < n) {
    let end = packed.indexOf('\x1e', pos);
    if (end < 0) end = n;
    let at = pos;
    for (let k = 0; k < 7; k++) {
      const sep = packed.indexOf('\x1f', at);
      if (sep < 0 || sep > end) return undefined;
      if (k === 0 || k === 2 || k === 5 || k === 6) f[k] = packed.slice(at, sep);
      else if (k === 1) {
        if (!(type.length === sep - at && packed.startsWith(type, at))) type = packed.slice(at, sep);
      } else if (k === 3) {
        if (!(language.length === sep - at && packed.startsWith(language, at))) language = packed.slice(at, sep);
      } else if (k === 4) {
        if (!(country.length === sep - at && packed.startsWith(country, at))) country = packed.slice(at, sep);
      }
      at = sep + 1;
    }
    const extra = packed.indexOf('\x1f', at);
    if (extra >= 0 && extra < end) return undefined;
    // The first-seen date, one string per distinct date.
    const key = isoDateKey(packed, at, end);
    let since = key < 0 ? undefined : dates.get(key);
    if (since === undefined) {
      since = packed.slice(at, end);
      if (key >= 0) dates.set(key, since);
    }
    let tags = tagLists.get(f[2]!);
    if (!tags) {
      tags = f[2] === '[]' ? [] : (JSON.parse(f[2]!) as string[]);
      tagLists.set(f[2]!, tags);
    }
    out.set(f[0]!, {
      debtorId: f[0]!,
      type: type as 'B2B' | 'B2C',
      tags,
      language,
      country: nul(country),
      email: nul(f[5]!),
      phone: nul(f[6]!),
      since,
    });
    pos = end + 1;
  }
  return out;
}

/** Oldest due date first, then document number and id: the order a notice lists items in, whatever the index gave. */
function byDueDate(a: EngineItem, b: EngineItem): number {
  if (a.dueDate !== b.dueDate) return a.dueDate < b.dueDate ? -1 : 1;
  if (a.documentNumber !== b.documentNumber) return a.documentNumber < b.documentNumber ? -1 : 1;
  return a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0;
}

/** An item as the JSON fallback of the page query sends it: the columns of {@link ITEM_COLUMNS}, in order. */
type ItemTuple = [
  item_id: string,
  debtor_id: string,
  source: string,
  source_key: string,
  external_id: string,
  document_number: string,
  contract_ref: string | null,
  currency: string,
  open_minor: number,
  due_date: string,
  document_date: string | null,
  dunning_level: number,
  last_dunned_on: string | null,
  dunning_block: string | null,
];

/**
 * An item's level and last notice date: the higher of what the run recorded (`item_dunning`, joined as `d`) and what
 * the source reports (`items`).
 */
const LEVEL = 'GREATEST(i.dunning_level, COALESCE(d.level, 0))';
const LAST_DUNNED = 'GREATEST(i.last_dunned_on, d.last_dunned_on)';

const ITEM_COLUMN_LIST = [
  'i.item_id',
  'i.debtor_id',
  'i.source',
  'i.source_key',
  'i.external_id',
  'i.document_number',
  'i.contract_ref',
  'i.currency',
  'i.open_minor',
  'i.due_date',
  'i.document_date',
  LEVEL,
  LAST_DUNNED,
  'i.dunning_block',
];
const ITEM_COLUMNS = ITEM_COLUMN_LIST.join(', ');

/**
 * The columns every item needs for the decision, the rest only where a condition reads them; keys, document numbers
 * and contracts of the items that end up on a notice are read afterwards ({@link fillDetails}).
 */
const SLIM_COLUMN_LIST = [
  'i.item_id',
  'i.debtor_id',
  'i.source',
  'i.currency',
  'i.open_minor',
  'i.due_date',
  LEVEL,
  LAST_DUNNED,
  'i.dunning_block',
];

function packedColumns(columns: readonly string[]): string {
  return columns.map((c) => `COALESCE((${c})::text, E'\\x02')`).join(', ');
}

/** Whether conditions in force on the run date read an item's contract or document date (then every row has them). */
function conditionsReadDetails(strategy: CompiledStrategy, asOf: string): boolean {
  const reads = (c: { uses: ReadonlySet<string> } | undefined) =>
    !!c && (c.uses.has('item.contract') || c.uses.has('item.documentDate'));
  return (
    strategy.segments.some((s) => s.levels.some((l) => reads(l.condition))) ||
    strategy.guardrails.moratoria.some((m) => asOf >= m.from && asOf <= m.until && reads(m.condition))
  );
}

const nul = (v: string): string | null => (v === '\x02' ? null : v);

/** A read in plain SQL with parameters (the page queries are fixed texts; no query builder needed). */
export async function query<R>(store: Store, text: string, params: unknown[]): Promise<R[]> {
  return (await store.db.executeQuery<R>(CompiledQuery.raw(text, params))).rows;
}

const FIELD = 0x1f;
const LINE = 0x1e;

/**
 * Splits a packed page (see readPage) into the debtors' items, in one pass over the text: no array per line, numbers
 * read digit by digit, and the values that repeat from line to line (debtor, source, currency, dates) taken from the
 * line before or a small table instead of a new string each. Undefined when a line does not have exactly the expected
 * fields (a separator inside a value): the page is then read as JSON.
 */
function parsePackedItems(text: string, wide: boolean): Map<string, EngineItem[]> | undefined {
  const items = new Map<string, EngineItem[]>();
  const dates = new Map<number, string>();
  const width = wide ? 14 : 9;
  const n = text.length;
  let pos = 0;
  let debtor = '';
  let list: EngineItem[] = [];
  let source = '';
  let currency = '';
  // The end of the field that starts at `pos` (a separator, or the end of the text).
  const fieldEnd = (at: number): number => {
    let k = at;
    while (k < n) {
      const c = text.charCodeAt(k);
      if (c === FIELD || c === LINE) break;
      k++;
    }
    return k;
  };
  const opt = (from: number, to: number): string | null =>
    to - from === 1 && text.charCodeAt(from) === 2 ? null : text.slice(from, to);
  /** A `YYYY-MM-DD` field as a shared string (one per distinct date on the page). */
  const date = (from: number, to: number): string | null => {
    const key = isoDateKey(text, from, to);
    if (key < 0) return opt(from, to);
    let d = dates.get(key);
    if (d === undefined) {
      d = text.slice(from, to);
      dates.set(key, d);
    }
    return d;
  };
  const int = (from: number, to: number): number => {
    let v = 0;
    let k = from;
    const negative = text.charCodeAt(k) === 45;
    if (negative) k++;
    for (; k < to; k++) {
      const c = text.charCodeAt(k) - 48;
      if (c < 0 || c > 9) return Number(text.slice(from, to));
      v = v * 10 + c;
    }
    return negative ? -v : v;
  };
  const same = (value: string, from: number, to: number): boolean =>
    value.length === to - from && text.startsWith(value, from);
  const starts = new Array<number>(width).fill(0);
  const ends = new Array<number>(width).fill(0);
  const c = wide ? 7 : 3;
  while (pos < n) {
    let k = 0;
    let at = pos;
    for (;;) {
      if (k === width) return undefined;
      const end = fieldEnd(at);
      starts[k] = at;
      ends[k] = end;
      k++;
      if (end >= n || text.charCodeAt(end) === LINE) {
        pos = end + 1;
        break;
      }
      at = end + 1;
    }
    if (k !== width) return undefined;
    // The line's debtor: usually the line before's.
    if (!same(debtor, starts[1]!, ends[1]!)) {
      debtor = text.slice(starts[1]!, ends[1]!);
      let l = items.get(debtor);
      if (!l) {
        l = [];
        items.set(debtor, l);
      }
      list = l;
    }
    if (!same(source, starts[2]!, ends[2]!)) source = text.slice(starts[2]!, ends[2]!);
    if (!same(currency, starts[c]!, ends[c]!)) currency = text.slice(starts[c]!, ends[c]!);
    const itemId = text.slice(starts[0]!, ends[0]!);
    list.push(
      wide
        ? {
            itemId,
            source,
            sourceKey: text.slice(starts[3]!, ends[3]!),
            externalId: text.slice(starts[4]!, ends[4]!),
            documentNumber: text.slice(starts[5]!, ends[5]!),
            contractRef: opt(starts[6]!, ends[6]!),
            currency,
            openMinor: int(starts[8]!, ends[8]!),
            dueDate: date(starts[9]!, ends[9]!)!,
            documentDate: date(starts[10]!, ends[10]!),
            level: int(starts[11]!, ends[11]!),
            lastDunnedOn: date(starts[12]!, ends[12]!),
            block: opt(starts[13]!, ends[13]!),
          }
        : {
            itemId,
            source,
            sourceKey: '',
            externalId: '',
            documentNumber: '',
            contractRef: null,
            currency,
            openMinor: int(starts[4]!, ends[4]!),
            dueDate: date(starts[5]!, ends[5]!)!,
            documentDate: null,
            level: int(starts[6]!, ends[6]!),
            lastDunnedOn: date(starts[7]!, ends[7]!),
            block: opt(starts[8]!, ends[8]!),
          },
    );
  }
  return items;
}

/**
 * Reads the open items matching `where` (over `items i` joined with `item_dunning d`) as one packed text value, a
 * line per item and a unit separator between fields: one value to transfer and split is much cheaper than a row object
 * per item. NULL is sent as \x02; a field that contains a separator (never seen in an ERP key, but not impossible)
 * makes it fall back to JSON.
 */
async function readItems(
  store: Store,
  from: string,
  params: readonly unknown[],
  wide: boolean,
): Promise<Map<string, EngineItem[]>> {
  const [packed] = await query<{ rows: string | null }>(
    store,
    `SELECT string_agg(concat_ws(E'\\x1f', ${packedColumns(wide ? ITEM_COLUMN_LIST : SLIM_COLUMN_LIST)}), E'\\x1e') AS rows
     FROM ${from}`,
    [...params],
  );
  const items = packed?.rows ? parsePackedItems(packed.rows, wide) : new Map<string, EngineItem[]>();
  if (items) return items;
  const [json] = await query<{ rows: ItemTuple[] | null }>(
    store,
    `SELECT json_agg(json_build_array(${ITEM_COLUMNS})) AS rows FROM ${from}`,
    [...params],
  );
  const out = new Map<string, EngineItem[]>();
  for (const r of json?.rows ?? []) {
    let list = out.get(r[1]);
    if (!list) {
      list = [];
      out.set(r[1], list);
    }
    list.push({
      itemId: r[0],
      source: r[2],
      sourceKey: r[3] ?? '',
      externalId: r[4] ?? '',
      documentNumber: r[5] ?? '',
      contractRef: r[6],
      currency: r[7],
      openMinor: Number(r[8]),
      dueDate: r[9],
      documentDate: r[10],
      level: r[11],
      lastDunnedOn: r[12],
      block: r[13],
    });
  }
  return out;
}

/** A debtor as the screen sees it: its account facts and, per segment, what its items can do. */
interface ScreenLine {
  debtorId: string;
  totalOpen: number;
  totalOverdue: number;
  oldestDaysPastDue: number;
  itemCount: number;
  overdueCount: number;
  maxLevel: number;
  blocked: boolean;
  /** Per distinct first-level threshold (Screen.firstDays): the open amount at least that many days past due. */
  due: number[];
  /** Per segment k: bit 2k, an item is as many days past due as its next level asks; bit 2k+1, and spaced enough. */
  flags: number;
}

/**
 * The screen's query: a line per open item with only what the screen needs (debtor, whether it counts and is blocked,
 * days past due, level, days since its last notice, open amount), all but the debtor numbers.
 */
function screenSql(from: string, first: number): string {
  const day = `$${first + 1}::date`;
  return `SELECT string_agg(concat_ws(E'\\x1f', i.debtor_id,
      (i.currency = $${first} AND i.open_minor > 0)::int + 2 * (COALESCE(i.dunning_block, '') <> '')::int,
      ${day} - i.due_date, ${LEVEL}, COALESCE(${day} - ${LAST_DUNNED}, ${NEVER_DAYS}), i.open_minor), E'\\x1e') AS rows
    FROM ${from}`;
}

/**
 * Folds the screen's item lines into one line per debtor: the account facts as the engine counts them, and per
 * segment whether an item reaches (and rises to) its next level. Undefined when a line is not as expected (a
 * separator inside a debtor id): the page is then read in full.
 */
function screenLines(packed: string | null, screen: Screen): ScreenLine[] | undefined {
  if (!packed) return [];
  const out: ScreenLine[] = [];
  const byDebtor = new Map<string, ScreenLine>();
  const segments = screen.segments;
  const firstDays = screen.firstDays;
  const n = packed.length;
  let pos = 0;
  let bad = false;
  // The next field as a whole number (digits, maybe a minus sign), moving past the separator after it.
  const int = (last: boolean): number => {
    let v = 0;
    let negative = false;
    if (packed.charCodeAt(pos) === 45) {
      negative = true;
      pos++;
    }
    const start = pos;
    for (;;) {
      const c = packed.charCodeAt(pos) - 48;
      if (!(c >= 0 && c <= 9)) break;
      v = v * 10 + c;
      pos++;
    }
    const sep = packed.charCodeAt(pos);
    if (pos === start || (last ? pos < n && sep !== 0x1e : sep !== 0x1f)) bad = true;
    pos++;
    return negative ? -v : v;
  };
  let cur: ScreenLine | undefined;
  while (pos < n) {
    const sep = packed.indexOf('\x1f', pos);
    if (sep < 0) return undefined;
    if (!cur || cur.debtorId.length !== sep - pos || !packed.startsWith(cur.debtorId, pos)) {
      const id = packed.slice(pos, sep);
      cur = byDebtor.get(id);
      if (!cur) {
        cur = {
          debtorId: id,
          totalOpen: 0,
          totalOverdue: 0,
          oldestDaysPastDue: 0,
          itemCount: 0,
          overdueCount: 0,
          maxLevel: 0,
          blocked: false,
          due: firstDays.map(() => 0),
          flags: 0,
        };
        byDebtor.set(id, cur);
        out.push(cur);
      }
    }
    pos = sep + 1;
    const kind = int(false);
    const days = int(false);
    const level = int(false);
    const since = int(false);
    const open = int(true);
    if (bad) return undefined;
    if (kind & 2) cur.blocked = true;
    if (!(kind & 1)) continue;
    cur.itemCount++;
    cur.totalOpen += open;
    if (days > 0) {
      cur.overdueCount++;
      cur.totalOverdue += open;
    }
    if (days > cur.oldestDaysPastDue) cur.oldestDaysPastDue = days;
    if (level > cur.maxLevel) cur.maxLevel = level;
    for (let k = 0; k < firstDays.length; k++) if (days >= firstDays[k]!) cur.due[k]! += open;
    for (let k = 0; k < segments.length; k++) {
      const next = segments[k]!.next[level];
      if (next && days >= next.days) cur.flags |= (since >= next.since ? 3 : 1) << (2 * k);
    }
  }
  return out;
}

async function readPage(
  store: Store,
  tenantId: string,
  runId: string,
  strategy: CompiledStrategy,
  asOf: string,
  cursor: string,
  pageItems: number,
  resume: boolean,
  wide: boolean,
  ctx: EngineContext,
  screen: Screen | undefined,
): Promise<Page | undefined> {
  // The page ends with a whole debtor: find the debtor at the page's last item, then read up to and including it.
  const [edge] = await query<{ debtor_id: string }>(
    store,
    `SELECT debtor_id FROM items WHERE tenant_id = $1 AND status = 'open' AND debtor_id > $2
     ORDER BY debtor_id OFFSET $3 LIMIT 1`,
    [tenantId, cursor, pageItems - 1],
  );
  // The levels the run recorded are read for the same range of debtors (one index range of item_dunning, hashed), not
  // looked up item by item.
  const params = edge ? [tenantId, cursor, edge.debtor_id] : [tenantId, cursor];
  const inRange = (t: string) => `${t}.debtor_id > $2${edge ? ` AND ${t}.debtor_id <= $3` : ''}`;
  const from = `items i LEFT JOIN item_dunning d
       ON d.tenant_id = i.tenant_id AND d.item_id = i.item_id AND d.tenant_id = $1 AND ${inRange('d')}
     WHERE i.tenant_id = $1 AND i.status = 'open' AND ${inRange('i')}`;
  // Screened: first each debtor's account facts and what its items can do (screenOf); all items otherwise.
  const firstRead: Promise<Map<string, EngineItem[]> | ScreenLine[] | undefined> = screen
    ? query<{ rows: string | null }>(store, screenSql(from, params.length + 1), [
        ...params,
        screen.currency,
        asOf,
      ]).then((r) => screenLines(r[0]?.rows ?? null, screen))
    : readItems(store, from, params, wide);
  firstRead.catch(() => undefined); // awaited below
  const asOfNext = nextDay(asOf);
  const uses = strategy.uses;

  // Everything below is scoped to the page's debtor range (an index range scan), not to a list of its ids.
  const range = (first: number) =>
    edge ? `debtor_id > $${first} AND debtor_id <= $${first + 1}` : `debtor_id > $${first}`;
  const rangeParams = edge ? [cursor, edge.debtor_id] : [cursor];
  const [debtorPack, holdRows, contactRows, noticedRows] = await Promise.all([
    query<{ rows: string | null }>(
      store,
      `SELECT string_agg(concat_ws(E'\\x1f', debtor_id, type, tags::text, language, COALESCE(country, E'\\x02'),
                COALESCE(email, E'\\x02'), COALESCE(phone, E'\\x02'), (created_at AT TIME ZONE 'UTC')::date::text),
              E'\\x1e') AS rows
       FROM debtors WHERE tenant_id = $1 AND ${range(2)}`,
      [tenantId, ...rangeParams],
    ),
    query<{
      hold_id: string;
      debtor_id: string;
      kind: string;
      item_id: string | null;
      item_ids: string[] | null;
      reason: string;
      starts_on: string;
      ends_on: string | null;
      amount_minor: number | null;
      created_at: string;
    }>(
      store,
      `SELECT hold_id, debtor_id, kind, item_id, item_ids, reason, starts_on, ends_on, amount_minor, created_at
       FROM holds WHERE tenant_id = $1 AND ${range(2)} AND resolved_at IS NULL`,
      [tenantId, ...rangeParams],
    ),
    query<{ debtor_id: string; last: string | null; week: number }>(
      store,
      `SELECT debtor_id, max(COALESCE(as_of, created_at::date))::text AS last,
              count(*) FILTER (WHERE COALESCE(as_of, created_at::date) > $2::date - 7)::int AS week
       FROM notices WHERE tenant_id = $1 AND ${range(4)} AND run_id <> $3
         AND COALESCE(as_of, created_at::date) <= $2::date
       GROUP BY debtor_id`,
      [tenantId, asOf, runId, ...rangeParams],
    ),
    resume
      ? query<{ debtor_id: string }>(
          store,
          `SELECT debtor_id FROM notices WHERE tenant_id = $1 AND run_id = $2 AND kind = 'dunning' AND ${range(3)}`,
          [tenantId, runId, ...rangeParams],
        )
      : Promise.resolve([]),
  ]);
  let debtors = unpackDebtors(debtorPack[0]?.rows ?? null);
  if (!debtors) {
    debtors = new Map();
    for (const d of await query<DebtorRow>(
      store,
      `SELECT debtor_id, type, tags, language, country, email, phone, (created_at AT TIME ZONE 'UTC')::date::text AS since
       FROM debtors WHERE tenant_id = $1 AND ${range(2)}`,
      [tenantId, ...rangeParams],
    )) {
      debtors.set(d.debtor_id, {
        debtorId: d.debtor_id,
        type: d.type,
        tags: d.tags,
        language: d.language,
        country: d.country,
        email: d.email,
        phone: d.phone,
        since: d.since,
      });
    }
  }

  // Promises and plans: what was paid on the covered items since they were made, and the plans' instalments.
  const tracked = holdRows.filter((h) => h.kind === 'promise' || h.kind === 'plan').map((h) => h.hold_id);
  const [paidRows, instalmentRows] = tracked.length
    ? await Promise.all([
        query<{ hold_id: string; paid: number }>(
          store,
          `SELECT h.hold_id, COALESCE((
             SELECT sum(a.amount_minor) FROM allocations a
             WHERE a.tenant_id = h.tenant_id AND a.item_id IN (SELECT jsonb_array_elements_text(h.item_ids))
               AND a.created_at >= h.starts_on AND a.created_at < $3::date), 0)::bigint AS paid
           FROM holds h WHERE h.tenant_id = $1 AND h.hold_id = ANY($2::text[])`,
          [tenantId, tracked, asOfNext],
        ),
        query<{ hold_id: string; due_on: string; amount_minor: number }>(
          store,
          `SELECT hold_id, due_on::text AS due_on, amount_minor FROM plan_instalments
           WHERE tenant_id = $1 AND hold_id = ANY($2::text[]) ORDER BY hold_id, seq`,
          [tenantId, tracked],
        ),
      ])
    : [[], []];
  const paid = new Map(paidRows.map((r) => [r.hold_id, Number(r.paid)]));
  const instalments = new Map<string, { dueOn: string; amountMinor: number }[]>();
  for (const r of instalmentRows) {
    const list = instalments.get(r.hold_id) ?? [];
    list.push({ dueOn: r.due_on, amountMinor: Number(r.amount_minor) });
    instalments.set(r.hold_id, list);
  }
  const holds = new Map<string, EngineHold[]>();
  for (const h of holdRows) {
    const list = holds.get(h.debtor_id) ?? [];
    list.push({
      holdId: h.hold_id,
      kind: h.kind,
      itemId: h.item_id,
      itemIds: h.item_ids,
      reason: h.reason,
      startsOn: h.starts_on,
      endsOn: h.ends_on,
      amountMinor: h.amount_minor === null ? null : Number(h.amount_minor),
      paidMinor: paid.get(h.hold_id) ?? 0,
      ...(instalments.has(h.hold_id) ? { instalments: instalments.get(h.hold_id)! } : {}),
    });
    holds.set(h.debtor_id, list);
  }

  const history = new Map<string, EngineHistory>();
  const hist = (id: string): EngineHistory => {
    let h = history.get(id);
    if (!h) {
      h = { ...NO_HISTORY };
      history.set(id, h);
    }
    return h;
  };
  for (const r of contactRows) {
    const h = hist(r.debtor_id);
    h.lastContactOn = r.last;
    h.contactsThisWeek = r.week;
  }
  if (uses.has('history.brokenPromises')) {
    for (const r of await query<{ debtor_id: string; n: number }>(
      store,
      `SELECT debtor_id, count(*)::int AS n FROM holds
       WHERE tenant_id = $1 AND ${range(2)} AND outcome = 'broken' AND kind IN ('promise', 'plan')
       GROUP BY debtor_id`,
      [tenantId, ...rangeParams],
    )) {
      hist(r.debtor_id).brokenPromises = r.n;
    }
  }
  if (uses.has('history.lastPaymentDays') || uses.has('history.returnedDebits')) {
    for (const r of await query<{ debtor_id: string; last: string | null; returned: number }>(
      store,
      `SELECT debtor_id,
              (max(received_at) FILTER (WHERE state IN ('succeeded', 'partially_refunded', 'refunded')))::date::text AS last,
              count(*) FILTER (WHERE state = 'returned')::int AS returned
       FROM payments WHERE tenant_id = $1 AND ${range(3)} AND received_at < $2::date
       GROUP BY debtor_id`,
      [tenantId, asOfNext, ...rangeParams],
    )) {
      const h = hist(r.debtor_id);
      h.lastPaymentOn = r.last;
      h.returnedDebits = r.returned;
    }
  }
  if (uses.has('history.paidOnTimeShare')) {
    for (const r of await query<{ debtor_id: string; on_time: number; paid: number }>(
      store,
      `SELECT debtor_id, count(*) FILTER (WHERE paid_on <= due_date)::int AS on_time, count(*)::int AS paid FROM (
         SELECT p.debtor_id, a.item_id, max(a.created_at)::date AS paid_on, min(i.due_date) AS due_date
         FROM payments p
         JOIN allocations a ON a.tenant_id = p.tenant_id AND a.payment_id = p.payment_id
         JOIN items i ON i.tenant_id = a.tenant_id AND i.item_id = a.item_id
         WHERE p.tenant_id = $1 AND ${range(3).replace(/debtor_id/g, 'p.debtor_id')} AND a.created_at < $2::date
           AND a.amount_minor > 0
         GROUP BY p.debtor_id, a.item_id) x
       GROUP BY debtor_id`,
      [tenantId, asOfNext, ...rangeParams],
    )) {
      hist(r.debtor_id).paidOnTimeBp = r.paid === 0 ? 10_000 : Math.floor((r.on_time * 10_000) / r.paid);
    }
  }
  let items: Map<string, EngineItem[]>;
  const quiet: string[] = [];
  const quietReasons: (SkipReason | null)[] = [];
  let activeShare = 1;
  const first = await firstRead;
  if (first instanceof Map) items = first;
  else if (first === undefined)
    items = await readItems(store, from, params, wide); // a separator in a debtor id
  else {
    // The debtors whose items can do nothing tonight are decided here as the engine would decide them; the items of
    // the others are read in full.
    const facts = emptyFacts(ctx.calendar);
    const active: string[] = [];
    for (const line of first) {
      const id = line.debtorId;
      if (line.blocked || holds.has(id)) {
        active.push(id);
        continue;
      }
      const debtor = debtors.get(id);
      if (!debtor) {
        quiet.push(id);
        quietReasons.push(null);
        continue;
      }
      fillDebtorFacts(ctx, facts, debtor, history.get(id) ?? NO_HISTORY);
      const a = facts.account;
      a.totalOpen = line.totalOpen;
      a.totalOverdue = line.totalOverdue;
      a.oldestDaysPastDue = line.oldestDaysPastDue;
      a.itemCount = line.itemCount;
      a.overdueCount = line.overdueCount;
      a.maxLevel = line.maxLevel;
      const k = strategy.segments.findIndex((s) => s.condition.test(facts));
      if (k < 0) {
        quiet.push(id);
        quietReasons.push('no-segment');
        continue;
      }
      const sc = screen!.segments[k]!;
      const reach = (line.flags >> (2 * k)) & 1;
      const rise = (line.flags >> (2 * k + 1)) & 1;
      if (rise || (reach && line.due[sc.first]! < sc.maxMin)) active.push(id);
      else {
        quiet.push(id);
        quietReasons.push('not-due');
      }
    }
    activeShare = first.length === 0 ? 0 : active.length / first.length;
    items =
      active.length === 0
        ? new Map()
        : await readItems(
            store,
            `items i LEFT JOIN item_dunning d
               ON d.tenant_id = i.tenant_id AND d.item_id = i.item_id AND d.tenant_id = $1 AND ${inRange('d')}
             WHERE i.tenant_id = $1 AND i.status = 'open' AND ${inRange('i')} AND i.debtor_id = ANY($${params.length + 1}::text[])`,
            [...params, active],
            wide,
          );
  }
  if (items.size === 0 && quiet.length === 0) return undefined;
  const ids = [...items.keys()];
  const lumpSumClaimed = new Set<string>();
  const lumpSumLevels = strategy.segments.some((s) => s.levels.some((l) => l.lumpSum));
  if (lumpSumLevels) {
    const b2bItems: string[] = [];
    for (const [d, list] of items) if (debtors.get(d)?.type === 'B2B') for (const i of list) b2bItems.push(i.itemId);
    if (b2bItems.length > 0) {
      for (const r of await query<{ item_id: string }>(
        store,
        `SELECT DISTINCT item_id FROM notice_items WHERE tenant_id = $1 AND item_id = ANY($2::text[]) AND lump_sum_minor > 0`,
        [tenantId, b2bItems],
      )) {
        lumpSumClaimed.add(r.item_id);
      }
    }
  }
  return {
    lastDebtor: edge?.debtor_id ?? ids.at(-1) ?? quiet.at(-1) ?? cursor,
    last: edge === undefined,
    items,
    debtors,
    holds,
    history,
    alreadyNoticed: new Set(noticedRows.map((r) => r.debtor_id)),
    lumpSumClaimed,
    quiet,
    quietReasons,
    screened: screen !== undefined,
    activeShare,
  };
}

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

// ---- the outcome of a debtor: a notice plan ----

/** An item on a notice plan: the engine's {@link NoticeLine} as it decided it. */
export type PlanLine = NoticeLine;

/** A notice about to be written: who, what, and everything its level does. */
export interface NoticePlan {
  noticeId: string;
  debtorId: string;
  debtorType: 'B2B' | 'B2C';
  locale: string;
  segment: Segment;
  settlement: NoticeSettlement;
  lines: PlanLine[];
  /** Per line (same order): write the new level back to the source. */
  writeBack: boolean[];
  reachable: string[];
  resumed: string[];
  holdUpdates: HoldUpdate[];
}

function planOf(
  tenantId: string,
  runId: string,
  debtor: EngineDebtor,
  d: DebtorDecision & { kind: 'notice' },
  s: NoticeSettlement,
  writeBackSources: ReadonlySet<string>,
): NoticePlan {
  return {
    noticeId: noticeIdOf(tenantId, runId, debtor.debtorId),
    debtorId: debtor.debtorId,
    debtorType: debtor.type,
    locale: debtor.language,
    segment: d.segment,
    settlement: s,
    lines: d.lines,
    writeBack: lineWriteBacks(d.segment, d.lines, writeBackSources),
    reachable: d.reachable,
    resumed: d.resumed,
    holdUpdates: d.holdUpdates,
  };
}

// ---- writing: notices, history, levels, outbox, actions, claims, holds, events ----

/** Per line: whether its new level goes back to its source (the source asked for it and the level writes back). */
export function lineWriteBacks(
  segment: Segment,
  lines: readonly Pick<PlanLine, 'level' | 'levelBefore' | 'item'>[],
  writeBackSources: ReadonlySet<string>,
): boolean[] {
  return lines.map((l) => {
    if (l.level <= l.levelBefore || !writeBackSources.has(l.item.source)) return false;
    return segment.levels.find((x) => x.level === l.level)?.actions.writeLevelBack ?? true;
  });
}

const NOTICE_COLS = [
  'tenant_id',
  'notice_id',
  'run_id',
  'debtor_id',
  'level',
  'channel',
  'template',
  'locale',
  'strategy',
  'strategy_version',
  'variant',
  'currency',
  'total_minor',
  'fee_minor',
  'item_ids',
  'status',
  'kind',
  'as_of',
  'segment',
  'tone',
  'address_form',
  'interest_minor',
  'lump_sum_minor',
  'scheduled_at',
  'actions',
];
const LINE_COLS = [
  'tenant_id',
  'notice_id',
  'item_id',
  'debtor_id',
  'level_before',
  'level',
  'days_past_due',
  'open_minor',
  'interest_minor',
  'interest_from',
  'interest_to',
  'interest_rate_bp',
  'lump_sum_minor',
];
const OUTBOX_COLS = ['tenant_id', 'outbox_id', 'source', 'kind', 'item_id', 'command'];
const EVENT_COLS = ['tenant_id', 'type', 'subject', 'payload'];

/** Serialises the writers of one tenant's dunning (two runs of a date at once write each notice once). */
const LOCK = `SELECT pg_advisory_xact_lock(hashtext('clearhub:dunning:' || $1))`;

/**
 * Writes a page of notices in one transaction: under the tenant's dunning lock, notices that exist already (another
 * process ran the date) are left out, then the notices, their lines, the outbox rows and the events are COPYed in, the
 * items' new levels set in one statement, and actions, claims and holds inserted. Returns the ids of the notices
 * written.
 */
export async function writeNotices(
  store: Store,
  tenantId: string,
  runId: string,
  strategy: CompiledStrategy,
  asOf: string,
  plans: readonly NoticePlan[],
  kept: readonly HoldUpdate[],
  /** Look for notices of these debtors written before (a resumed run, an approval); a fresh run has none. */
  checkExisting = true,
): Promise<Set<string>> {
  if (plans.length === 0 && kept.length === 0) return new Set();
  return store.rawTransaction(async (s) => {
    // A page need not wait for its WAL to reach the disk: the run's last statement (marking it completed) commits
    // normally, which makes every page before it durable, and a run cut short by a crash is re-run (it is idempotent).
    await s.query('SET LOCAL synchronous_commit = off');
    await s.query(LOCK, [tenantId]);
    const created = new Set<string>();
    if (plans.length > 0) {
      let todo = plans;
      if (checkExisting) {
        const { rows: existing } = await s.query<{ debtor_id: string }>(
          `SELECT debtor_id FROM notices WHERE tenant_id = $1 AND run_id = $2 AND kind = 'dunning' AND debtor_id = ANY($3::text[])`,
          [tenantId, runId, plans.map((p) => p.debtorId)],
        );
        const skip = new Set(existing.map((r) => r.debtor_id));
        if (skip.size) todo = plans.filter((p) => !skip.has(p.debtorId));
      }
      try {
        if (todo.length > 0) await apply(s, tenantId, runId, strategy, asOf, todo);
      } catch (err) {
        // Only a second process running the same date at the same moment can meet this run's notice ids.
        if ((err as { code?: string }).code === '23505')
          throw new IntegrationError(
            `another process is running ${runId} for ${tenantId}; run it again once that one has finished: it adds what is missing`,
            'run',
            { conflict: true },
          );
        throw err;
      }
      for (const p of todo) created.add(p.noticeId);
    }
    if (kept.length > 0) await resolveKept(s, tenantId, runId, kept);
    return created;
  });
}

async function apply(
  s: RawSession,
  tenantId: string,
  runId: string,
  strategy: CompiledStrategy,
  asOf: string,
  plans: readonly NoticePlan[],
): Promise<void> {
  const notices = new CsvChunks();
  const lines = new CsvChunks();
  const outbox = new CsvChunks();
  const events = new CsvChunks();
  const levelIds: string[] = [];
  const levelValues: number[] = [];
  const levelDebtors: string[] = [];
  const actions: { id: string; debtor: string; notice: string; kind: string; value: string }[] = [];
  const claims: { notice: string; debtor: string; item: EngineItem; interest: number; agency: string }[] = [];
  const finals: { notice: string; debtor: string; item: string; kind: 'stop' | 'agency'; agency?: string }[] = [];
  const resumed: string[] = [];
  // In notice id order: the notices, their lines, outbox rows and events are all keyed by it, so each index is
  // walked front to back once per page instead of at random (the ids are hashes).
  const sorted = [...plans].sort((a, b) => (a.noticeId < b.noticeId ? -1 : a.noticeId > b.noticeId ? 1 : 0));
  for (const p of sorted) {
    const st = p.settlement;
    const noticeActions = {
      ...(st.withdraw.length ? { withdrawPaymentMethods: [...st.withdraw] } : {}),
      ...(st.restrictedContracts.length ? { restrictedContracts: st.restrictedContracts } : {}),
      ...(st.handOff ? { handOff: st.handOff } : {}),
      ...(st.final ? { final: st.final } : {}),
      ...(p.resumed.length ? { resumedAfter: p.resumed } : {}),
    };
    const currency = p.lines[0]!.item.currency;
    notices.line([
      tenantId,
      p.noticeId,
      runId,
      p.debtorId,
      st.level.level,
      st.channels.join(','),
      st.level.template,
      p.locale,
      strategy.name,
      strategy.version,
      'default',
      currency,
      st.totalMinor,
      st.feeMinor,
      JSON.stringify(p.lines.map((l) => l.item.itemId)),
      'pending',
      'dunning',
      asOf,
      p.segment.name,
      st.level.tone,
      st.level.address,
      st.interestMinor,
      st.lumpSumMinor,
      st.scheduledAt,
      JSON.stringify(noticeActions),
    ]);
    let writeBacks = 0;
    p.lines.forEach((l, i) => {
      const interest = st.level.interest ? l.interestMinor : 0;
      const lump = st.level.lumpSum ? l.lumpSumMinor : 0;
      // The history keeps what the notice did to an item: a new level, interest, the lump sum. Items it only lists
      // are in the notice's item_ids.
      if (l.level > l.levelBefore || interest > 0 || lump > 0)
        lines.line([
          tenantId,
          p.noticeId,
          l.item.itemId,
          p.debtorId,
          l.levelBefore,
          l.level,
          l.daysPastDue,
          l.item.openMinor,
          interest,
          st.level.interest ? l.interestFrom : null,
          st.level.interest ? l.interestTo : null,
          st.level.interest ? l.interestRateBp : null,
          lump,
        ]);
      if (l.level > l.levelBefore) {
        levelIds.push(l.item.itemId);
        levelValues.push(l.level);
        levelDebtors.push(p.debtorId);
      }
      if (p.writeBack[i]) {
        writeBacks++;
        const command: WriteBackCommand = {
          kind: 'dunning_level',
          itemId: l.item.itemId,
          sourceKey: l.item.sourceKey,
          externalId: l.item.externalId,
          documentNumber: l.item.documentNumber,
          level: l.level,
          noticeId: p.noticeId,
          dunnedOn: asOf,
        };
        outbox.line([
          tenantId,
          `dun-${p.noticeId}-${l.item.itemId}`,
          l.item.source,
          'dunning_level',
          l.item.itemId,
          JSON.stringify(command),
        ]);
      }
      const reachesTop = l.level === st.level.level && l.level > l.levelBefore;
      if (reachesTop && st.handOff)
        claims.push({ notice: p.noticeId, debtor: p.debtorId, item: l.item, interest, agency: st.handOff });
      if (reachesTop && st.final)
        finals.push({
          notice: p.noticeId,
          debtor: p.debtorId,
          item: l.item.itemId,
          kind: st.final,
          ...(st.handOff ? { agency: st.handOff } : {}),
        });
    });
    for (const m of st.withdraw)
      actions.push({
        id: `${p.noticeId}:withdraw:${m}`,
        debtor: p.debtorId,
        notice: p.noticeId,
        kind: 'withdraw_method',
        value: m,
      });
    for (const c of st.restrictedContracts)
      actions.push({
        id: `${p.noticeId}:contract:${c}`,
        debtor: p.debtorId,
        notice: p.noticeId,
        kind: 'restrict_contract',
        value: c,
      });
    resumed.push(...p.resumed);
    // One event per notice: it names the strategy, version, variant and segment, and counts the level write-backs
    // (the outbox rows themselves are the record of those; each delivery adds its own event).
    events.line([
      tenantId,
      'notice.created',
      `notice:${p.noticeId}`,
      JSON.stringify({
        noticeId: p.noticeId,
        debtorId: p.debtorId,
        level: st.level.level,
        strategy: strategy.name,
        strategyVersion: strategy.version,
        variant: 'default',
        segment: p.segment.name,
        items: p.lines.length,
        writeBacks,
      }),
    ]);
  }
  await s.copyIn('notices', NOTICE_COLS, notices.done());
  if (lines.rows > 0) await s.copyIn('notice_items', LINE_COLS, lines.done());
  if (outbox.rows > 0) await s.copyIn('outbox', OUTBOX_COLS, outbox.done());
  if (levelIds.length > 0) {
    // The new levels go to the narrow item_dunning table (migration 0008), in item id order (ids are time-ordered, so
    // the upsert walks its key index front to back); the wide items row is not rewritten.
    const order = levelIds.map((_, k) => k).sort((a, b) => (levelIds[a]! < levelIds[b]! ? -1 : 1));
    await s.query(
      `INSERT INTO item_dunning AS d (tenant_id, item_id, debtor_id, level, last_dunned_on)
       SELECT $1, v.item_id, v.debtor_id, v.level, $2::date FROM unnest($3::text[], $4::text[], $5::int[]) AS v(item_id, debtor_id, level)
       ON CONFLICT (tenant_id, item_id) DO UPDATE
         SET level = excluded.level, last_dunned_on = excluded.last_dunned_on, debtor_id = excluded.debtor_id`,
      [
        tenantId,
        asOf,
        order.map((k) => levelIds[k]!),
        order.map((k) => levelDebtors[k]!),
        order.map((k) => levelValues[k]!),
      ],
    );
  }
  // Actions, claims and final holds hang on notices created in this transaction: their ids are new, so COPY.
  if (actions.length > 0) {
    const c = new CsvChunks();
    for (const a of actions) c.line([tenantId, a.id, a.debtor, a.notice, a.kind, a.value]);
    await s.copyIn('dunning_actions', ['tenant_id', 'action_id', 'debtor_id', 'notice_id', 'kind', 'value'], c.done());
  }
  if (claims.length > 0) {
    const c = new CsvChunks();
    for (const x of claims) {
      c.line([
        tenantId,
        `clm-${x.notice}-${x.item.itemId}`,
        x.agency,
        runId,
        x.notice,
        x.debtor,
        x.item.itemId,
        x.item.currency,
        x.item.openMinor,
        x.interest,
      ]);
    }
    await s.copyIn(
      'agency_claims',
      [
        'tenant_id',
        'claim_id',
        'agency',
        'run_id',
        'notice_id',
        'debtor_id',
        'item_id',
        'currency',
        'amount_minor',
        'interest_minor',
      ],
      c.done(),
    );
  }
  if (finals.length > 0) {
    const c = new CsvChunks();
    for (const f of finals) {
      const holdId = `hld-${f.kind}-${f.notice}-${f.item}`;
      const reason = f.kind === 'agency' ? `handed off to ${f.agency}` : 'final level reached';
      c.line([tenantId, holdId, f.debtor, f.item, f.kind, reason, f.notice, asOf]);
      events.line([
        tenantId,
        'hold.placed',
        `hold:${holdId}`,
        JSON.stringify({ holdId, debtorId: f.debtor, itemId: f.item, kind: f.kind, reason }),
      ]);
    }
    await s.copyIn(
      'holds',
      ['tenant_id', 'hold_id', 'debtor_id', 'item_id', 'kind', 'reason', 'reference', 'starts_on'],
      c.done(),
    );
  }
  if (resumed.length > 0) {
    const { rows } = await s.query<{ hold_id: string; kind: string }>(
      `UPDATE holds SET resolved_at = now(), outcome = 'broken', resolution = 'broken: dunning resumed in ' || $3::text
       WHERE tenant_id = $1 AND hold_id = ANY($2::text[]) AND resolved_at IS NULL
       RETURNING hold_id, kind`,
      [tenantId, resumed, runId],
    );
    for (const h of rows) {
      events.line([
        tenantId,
        'hold.released',
        `hold:${h.hold_id}`,
        JSON.stringify({ holdId: h.hold_id, kind: h.kind, reason: 'broken: dunning resumes' }),
      ]);
    }
  }
  await s.copyIn('events', EVENT_COLS, events.done());
}

async function resolveKept(s: RawSession, tenantId: string, runId: string, kept: readonly HoldUpdate[]): Promise<void> {
  await s.query(
    `WITH done AS (
       UPDATE holds SET resolved_at = now(), outcome = 'kept', resolution = 'paid; seen by ' || $3::text
       WHERE tenant_id = $1 AND hold_id = ANY($2::text[]) AND resolved_at IS NULL
       RETURNING hold_id, kind)
     INSERT INTO events (tenant_id, type, subject, payload)
     SELECT $1, 'hold.released', 'hold:' || hold_id, jsonb_build_object('holdId', hold_id, 'kind', kind, 'reason', 'kept: paid')
     FROM done`,
    [tenantId, kept.map((k) => k.holdId), runId],
  );
}

// ---- proposals ----

/** Writes a page of the proposal: per debtor what the notice would be made of (settled again on approval). */
async function writeProposal(
  store: Store,
  tenantId: string,
  runId: string,
  plans: readonly NoticePlan[],
): Promise<void> {
  if (plans.length === 0) return;
  await store.rawTransaction(async (s) => {
    let nbuf = '';
    let lbuf = '';
    for (const p of plans) {
      nbuf += `${[
        csvField(tenantId),
        csvField(runId),
        csvField(p.debtorId),
        csvField(p.segment.name),
        csvField(p.debtorType),
        csvField(p.lines[0]!.item.currency),
        csvField(p.locale),
        csvField(JSON.stringify(p.reachable)),
        csvField(JSON.stringify(p.holdUpdates)),
      ].join(',')}\n`;
      for (const l of p.lines) {
        const i = l.item;
        lbuf += `${[
          csvField(tenantId),
          csvField(runId),
          csvField(p.debtorId),
          csvField(i.itemId),
          csvField(i.source),
          csvField(i.sourceKey),
          csvField(i.externalId),
          csvField(i.documentNumber),
          csvField(i.contractRef),
          csvField(i.dueDate),
          l.levelBefore,
          l.level,
          l.daysPastDue,
          i.openMinor,
          l.interestMinor,
          csvField(l.interestFrom),
          csvField(l.interestTo),
          csvField(l.interestRateBp),
          l.lumpSumMinor,
        ].join(',')}\n`;
      }
    }
    await s.copyIn('proposal_notices', PROPOSAL_NOTICE_COLS, [nbuf]);
    await s.copyIn('proposal_lines', PROPOSAL_LINE_COLS, [lbuf]);
  });
}

const PROPOSAL_NOTICE_COLS = [
  'tenant_id',
  'run_id',
  'debtor_id',
  'segment',
  'debtor_type',
  'currency',
  'locale',
  'reachable',
  'hold_updates',
];
const PROPOSAL_LINE_COLS = [
  'tenant_id',
  'run_id',
  'debtor_id',
  'item_id',
  'source',
  'source_key',
  'external_id',
  'document_number',
  'contract_ref',
  'due_date',
  'level_before',
  'level',
  'days_past_due',
  'open_minor',
  'interest_minor',
  'interest_from',
  'interest_to',
  'interest_rate_bp',
  'lump_sum_minor',
];

async function summaryOfProposal(
  store: Store,
  tenantId: string,
  runId: string,
  strategy: CompiledStrategy,
): Promise<DunningRunResult> {
  const run = await store.db
    .selectFrom('dunning_runs')
    .select('stats')
    .where('tenant_id', '=', tenantId)
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  const stats = run.stats;
  const pick = (prefix: string) =>
    Object.fromEntries(
      Object.entries(stats)
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, v]) => [k.slice(prefix.length), v]),
    );
  return {
    runId,
    status: 'proposed',
    strategy: { name: strategy.name, version: strategy.version },
    debtorsConsidered: stats.debtors ?? 0,
    noticesCreated: stats.notices ?? 0,
    itemsDunned: stats.items ?? 0,
    byLevel: pick('level.'),
    bySegment: pick('segment.'),
    skipped: pick('skipped.'),
    thanks: 0,
  };
}

// ---- thank-you after payment ----

/**
 * Promises and plans whose covered items are all paid end as kept. (A debtor without open items is not visited by the
 * pages, so this one statement closes them.)
 */
export async function settlePaidHolds(store: Store, tenantId: string, runId: string, asOf: string): Promise<void> {
  await store.rawTransaction((s) =>
    s.query(
      `WITH done AS (
         UPDATE holds h SET resolved_at = now(), outcome = 'kept', resolution = 'paid; seen by ' || $2::text
         WHERE h.tenant_id = $1 AND h.kind IN ('promise', 'plan') AND h.resolved_at IS NULL AND h.item_ids IS NOT NULL
           AND h.starts_on <= $3::date
           AND NOT EXISTS (SELECT 1 FROM items i WHERE i.tenant_id = h.tenant_id
                             AND i.item_id IN (SELECT jsonb_array_elements_text(h.item_ids))
                             AND i.status = 'open' AND i.open_minor > 0)
         RETURNING hold_id, kind)
       INSERT INTO events (tenant_id, type, subject, payload)
       SELECT $1, 'hold.released', 'hold:' || hold_id, jsonb_build_object('holdId', hold_id, 'kind', kind, 'reason', 'kept: paid')
       FROM done`,
      [tenantId, runId, asOf],
    ),
  );
}

/** Thank-you messages of a run are sent as a run of their own (`run-<date>:thanks`), apart from its notices. */
export const thanksRunOf = (runId: string): string => `${runId}:thanks`;

/**
 * Thanks debtors who paid everything a recent notice listed (within `thankYou.withinDays`), once per notice, as a
 * `thanks` notice of the run's thank-you run: scheduled like any contact, and within the contact cap.
 */
export async function thankPayers(
  store: Store,
  tenantId: string,
  runId: string,
  strategy: CompiledStrategy,
  asOf: string,
): Promise<number> {
  const opt = strategy.thankYou;
  if (!opt) return 0;
  const rows = await query<{
    debtor_id: string;
    notice_id: string;
    currency: string;
    item_ids: string[];
    email: string | null;
    phone: string | null;
    tags: string[];
    language: string;
    week: number;
  }>(
    store,
    `SELECT DISTINCT ON (n.debtor_id) n.debtor_id, n.notice_id, n.currency, n.item_ids, d.email, d.phone, d.tags,
            d.language,
            (SELECT count(*)::int FROM notices c WHERE c.tenant_id = n.tenant_id AND c.debtor_id = n.debtor_id
               AND COALESCE(c.as_of, c.created_at::date) > $2::date - 7 AND COALESCE(c.as_of, c.created_at::date) <= $2::date) AS week
     FROM notices n JOIN debtors d ON d.tenant_id = n.tenant_id AND d.debtor_id = n.debtor_id
     WHERE n.tenant_id = $1 AND n.kind = 'dunning' AND n.as_of >= $2::date - $4::int AND n.as_of < $2::date
       AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(n.item_ids) AS x(item_id)
                       JOIN items i ON i.tenant_id = n.tenant_id AND i.item_id = x.item_id
                       WHERE i.status = 'open' AND i.open_minor > 0)
       AND NOT EXISTS (SELECT 1 FROM notices t WHERE t.tenant_id = n.tenant_id AND t.debtor_id = n.debtor_id
                       AND t.kind = 'thanks' AND t.as_of >= n.as_of)
       AND NOT EXISTS (SELECT 1 FROM notices r WHERE r.tenant_id = n.tenant_id AND r.debtor_id = n.debtor_id
                       AND r.run_id = $3 AND r.kind = 'dunning')
       AND NOT EXISTS (SELECT 1 FROM notices r WHERE r.tenant_id = n.tenant_id AND r.debtor_id = n.debtor_id
                       AND r.run_id = $3 || ':thanks')
     ORDER BY n.debtor_id, n.as_of DESC`,
    [tenantId, asOf, runId, opt.withinDays],
  );
  const values = rows.flatMap((r) => {
    if (r.week >= strategy.guardrails.maxContactsPerWeek) return [];
    const reach = [opt.channel, ...opt.fallbacks].filter(
      (c) =>
        (c === 'email' ? !!r.email : c === 'sms' ? !!r.phone && !r.tags.includes('no-sms') : true) &&
        (!strategy.guardrails.requireConsentFor.includes(c) || r.tags.includes(`consent:${c}`)),
    );
    if (reach.length === 0) return [];
    const slot = contactSlotAt(strategy, asOf);
    return [
      {
        tenant_id: tenantId,
        notice_id: noticeIdOf(tenantId, runId, r.debtor_id, 'thanks'),
        run_id: thanksRunOf(runId),
        debtor_id: r.debtor_id,
        level: 0,
        channel: reach.join(','),
        recipient: null,
        template: opt.template,
        locale: r.language,
        strategy: strategy.name,
        strategy_version: strategy.version,
        variant: 'default',
        currency: r.currency,
        total_minor: 0,
        fee_minor: 0,
        item_ids: JSON.stringify(r.item_ids),
        status: 'pending' as const,
        kind: 'thanks' as const,
        as_of: asOf,
        segment: null,
        tone: opt.tone,
        address_form: opt.address,
        scheduled_at: slot,
        actions: JSON.stringify({ thanksFor: r.notice_id }),
      },
    ];
  });
  if (values.length === 0) return 0;
  return store.db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('notices')
      .values(values)
      .onConflict((oc) => oc.columns(['tenant_id', 'run_id', 'debtor_id', 'kind']).doNothing())
      .returning(['notice_id', 'debtor_id'])
      .execute();
    if (inserted.length > 0) {
      await trx
        .insertInto('events')
        .values(
          inserted.map((n) => ({
            tenant_id: tenantId,
            type: 'notice.created',
            subject: `notice:${n.notice_id}`,
            payload: JSON.stringify({
              noticeId: n.notice_id,
              debtorId: n.debtor_id,
              level: 0,
              strategy: strategy.name,
              strategyVersion: strategy.version,
              variant: 'default',
              kind: 'thanks',
            }),
          })),
        )
        .execute();
    }
    return inserted.length;
  });
}

/** A thank-you goes out an hour after the quiet hours end, on the next allowed day. */
function contactSlotAt(strategy: CompiledStrategy, asOf: string): string {
  const cal = strategy.guardrails.calendar;
  return contactSlot(cal, asOf, cal.quietTo + 60).at;
}

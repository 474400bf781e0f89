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
import { IntegrationError } from '../domain/errors';
import { dayNumber } from '../rules/facts';
import { csvField, type RawSession, type Store } from '../store/db';
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
  type HoldUpdate,
  type NoticeSettlement,
  type SkipReason,
  settle,
} from './engine';
import { type BaseRateTable, defaultInterest, loadBaseRates, SURCHARGE_BASIS_POINTS } from './legal/interest';
import { type CompiledStrategy, type DunningStrategy, fromInlineLevels, type Segment } from './strategy';

export interface DunningRunOptions {
  tenantId: string;
  /** The tenant file's inline levels; ignored when `plan` is given. */
  strategy: DunningStrategy;
  /** The date the run is for: the same date gives the same notices, and a re-run adds none. */
  asOf: string;
  /** Sources that want each item's new dunning level written back. */
  levelWriteBackSources: ReadonlySet<string>;
  /** Open items per page (whole debtors): the run reads and writes in keyset-paged batches. @defaultValue 20000 */
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
 * Creates the run's notices with the tenant file's inline levels (or `opts.plan`): the path `clearhub demo` and
 * `Runtime.dunningRun` take. Sending is a separate step (send.ts), so a failed send never loses or duplicates a notice.
 */
export async function createNotices(store: Store, opts: DunningRunOptions): Promise<DunningRunResult> {
  const plan =
    opts.plan ??
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
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Runs (or proposes) the dunning of a date. A run date takes one strategy and one mode: re-running it resumes (a
 * crashed run) or adds nothing (a finished one); a proposal is shown again as it is, until approved.
 */
export async function runDunning(store: Store, opts: RunOptions): Promise<DunningRunResult> {
  const { tenantId, strategy, asOf } = opts;
  if (!DATE.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`)))
    throw new IntegrationError(`"${asOf}" is not a date (YYYY-MM-DD)`, 'asOf');
  const runId = runIdOf(asOf);
  await store.db
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
    .execute();
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
  const pageItems = opts.pageSize ?? 20_000;
  let cursor = '';
  for (;;) {
    const page = await readPage(store, tenantId, runId, strategy, asOf, cursor, pageItems, opts.mode === 'execute');
    if (!page) break;
    cursor = page.lastDebtor;
    const plans: NoticePlan[] = [];
    const kept: HoldUpdate[] = [];
    (ctx as { lumpSumClaimed: ReadonlySet<string> }).lumpSumClaimed = page.lumpSumClaimed;
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
      const s = settle(strategy, decision.segment, decision.lines, decision.reachable, asOf);
      if (!s) {
        result.skipped.unreachable = (result.skipped.unreachable ?? 0) + 1;
        continue;
      }
      plans.push(planOf(tenantId, runId, debtor, decision, s, opts.levelWriteBackSources));
    }
    if (opts.mode === 'execute') {
      const written = await writeNotices(store, tenantId, runId, strategy, asOf, plans, kept);
      tally(result, plans, written);
    } else {
      await writeProposal(store, tenantId, runId, plans);
      tally(result, plans, new Set(plans.map((p) => p.noticeId)));
    }
    opts.onProgress?.(result.debtorsConsidered);
  }
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

export function engineContext(strategy: CompiledStrategy, asOf: string): EngineContext {
  return {
    strategy,
    asOf,
    asOfDay: dayNumber(asOf),
    calendar: calendarFacts(strategy.guardrails.calendar, asOf),
    lumpSumClaimed: new Set(),
    interest(principalMinor, from, to, business) {
      const r = defaultInterest({
        amountMinor: principalMinor,
        from,
        to,
        surchargeBasisPoints: business ? SURCHARGE_BASIS_POINTS.business : SURCHARGE_BASIS_POINTS.consumer,
        table: germanBaseRates(),
      });
      return { interestMinor: r.interestMinor, rateBasisPoints: r.periods.at(-1)?.rateBasisPoints ?? 0 };
    },
  };
}

// ---- reading a page ----

export interface Page {
  lastDebtor: string;
  /** Debtor → open items, oldest due date first. */
  items: Map<string, EngineItem[]>;
  debtors: Map<string, EngineDebtor>;
  holds: Map<string, EngineHold[]>;
  history: Map<string, EngineHistory>;
  alreadyNoticed: Set<string>;
  lumpSumClaimed: Set<string>;
}

interface ItemRow {
  item_id: string;
  debtor_id: string;
  source: string;
  source_key: string;
  external_id: string;
  document_number: string;
  contract_ref: string | null;
  currency: string;
  open_minor: number;
  due_date: string;
  document_date: string | null;
  dunning_level: number;
  last_dunned_on: string | null;
  dunning_block: string | null;
}

const ITEM_COLUMNS = `item_id, debtor_id, source, source_key, external_id, document_number, contract_ref, currency,
  open_minor, due_date, document_date, dunning_level, last_dunned_on, dunning_block`;

/** A read in plain SQL with parameters (the page queries are fixed texts; no query builder needed). */
export async function query<R>(store: Store, text: string, params: unknown[]): Promise<R[]> {
  return (await store.db.executeQuery<R>(CompiledQuery.raw(text, params))).rows;
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
): Promise<Page | undefined> {
  // The page ends with a whole debtor: find the debtor at the page's last item, then read up to and including it.
  const [edge] = await query<{ debtor_id: string }>(
    store,
    `SELECT debtor_id FROM items WHERE tenant_id = $1 AND status = 'open' AND debtor_id > $2
     ORDER BY debtor_id OFFSET $3 LIMIT 1`,
    [tenantId, cursor, pageItems - 1],
  );
  const rows = await query<ItemRow>(
    store,
    edge
      ? `SELECT ${ITEM_COLUMNS} FROM items WHERE tenant_id = $1 AND status = 'open' AND debtor_id > $2 AND debtor_id <= $3
         ORDER BY debtor_id, due_date, document_number, item_id`
      : `SELECT ${ITEM_COLUMNS} FROM items WHERE tenant_id = $1 AND status = 'open' AND debtor_id > $2
         ORDER BY debtor_id, due_date, document_number, item_id`,
    edge ? [tenantId, cursor, edge.debtor_id] : [tenantId, cursor],
  );
  if (rows.length === 0) return undefined;
  const items = new Map<string, EngineItem[]>();
  for (const r of rows) {
    let list = items.get(r.debtor_id);
    if (!list) {
      list = [];
      items.set(r.debtor_id, list);
    }
    list.push({
      itemId: r.item_id,
      source: r.source,
      sourceKey: r.source_key,
      externalId: r.external_id,
      documentNumber: r.document_number,
      contractRef: r.contract_ref,
      currency: r.currency,
      openMinor: Number(r.open_minor),
      dueDate: r.due_date,
      documentDate: r.document_date,
      level: r.dunning_level,
      lastDunnedOn: r.last_dunned_on,
      block: r.dunning_block,
    });
  }
  const ids = [...items.keys()];
  const asOfNext = nextDay(asOf);
  const uses = strategy.uses;

  const [debtorRows, holdRows, contactRows, noticedRows] = await Promise.all([
    query<{
      debtor_id: string;
      type: 'B2B' | 'B2C';
      tags: string[];
      language: string;
      country: string | null;
      email: string | null;
      phone: string | null;
      since: string;
    }>(
      store,
      `SELECT debtor_id, type, tags, language, country, email, phone, (created_at AT TIME ZONE 'UTC')::date::text AS since
       FROM debtors WHERE tenant_id = $1 AND debtor_id = ANY($2::text[])`,
      [tenantId, ids],
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
       FROM holds WHERE tenant_id = $1 AND debtor_id = ANY($2::text[]) AND resolved_at IS NULL`,
      [tenantId, ids],
    ),
    query<{ debtor_id: string; last: string | null; week: number }>(
      store,
      `SELECT debtor_id, max(COALESCE(as_of, created_at::date))::text AS last,
              count(*) FILTER (WHERE COALESCE(as_of, created_at::date) > $3::date - 7)::int AS week
       FROM notices WHERE tenant_id = $1 AND debtor_id = ANY($2::text[]) AND run_id <> $4
         AND COALESCE(as_of, created_at::date) <= $3::date
       GROUP BY debtor_id`,
      [tenantId, ids, asOf, runId],
    ),
    resume
      ? query<{ debtor_id: string }>(
          store,
          `SELECT debtor_id FROM notices WHERE tenant_id = $1 AND run_id = $2 AND kind = 'dunning' AND debtor_id = ANY($3::text[])`,
          [tenantId, runId, ids],
        )
      : Promise.resolve([]),
  ]);

  const debtors = new Map<string, EngineDebtor>();
  for (const d of debtorRows) {
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
       WHERE tenant_id = $1 AND debtor_id = ANY($2::text[]) AND outcome = 'broken' AND kind IN ('promise', 'plan')
       GROUP BY debtor_id`,
      [tenantId, ids],
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
       FROM payments WHERE tenant_id = $1 AND debtor_id = ANY($2::text[]) AND received_at < $3::date
       GROUP BY debtor_id`,
      [tenantId, ids, asOfNext],
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
         WHERE p.tenant_id = $1 AND p.debtor_id = ANY($2::text[]) AND a.created_at < $3::date AND a.amount_minor > 0
         GROUP BY p.debtor_id, a.item_id) x
       GROUP BY debtor_id`,
      [tenantId, ids, asOfNext],
    )) {
      hist(r.debtor_id).paidOnTimeBp = r.paid === 0 ? 10_000 : Math.floor((r.on_time * 10_000) / r.paid);
    }
  }
  const lumpSumClaimed = new Set<string>();
  const lumpSumLevels = strategy.segments.some((s) => s.levels.some((l) => l.lumpSum));
  if (lumpSumLevels) {
    const b2bItems = rows.filter((r) => debtors.get(r.debtor_id)?.type === 'B2B').map((r) => r.item_id);
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
    lastDebtor: ids.at(-1)!,
    items,
    debtors,
    holds,
    history,
    alreadyNoticed: new Set(noticedRows.map((r) => r.debtor_id)),
    lumpSumClaimed,
  };
}

function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

// ---- the outcome of a debtor: a notice plan ----

export interface PlanLine {
  item: EngineItem;
  levelBefore: number;
  level: number;
  daysPastDue: number;
  interestMinor: number;
  interestFrom: string | null;
  interestTo: string | null;
  interestRateBp: number | null;
  lumpSumMinor: number;
}

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

/** Encodes a text[] for CSV COPY: `{"a","b"}`. */
function pgArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

const STAGE_NOTICES = `CREATE TEMP TABLE IF NOT EXISTS dun_stage_notices (
  notice_id text, debtor_id text, level int, channel text, template text, locale text, currency text,
  total_minor bigint, fee_minor bigint, item_ids jsonb, segment text, tone text, address_form text,
  interest_minor bigint, lump_sum_minor bigint, scheduled_at timestamptz, actions jsonb,
  withdraw text[], contracts text[], resumed text[]) ON COMMIT DELETE ROWS`;
const STAGE_NOTICE_COLS = [
  'notice_id',
  'debtor_id',
  'level',
  'channel',
  'template',
  'locale',
  'currency',
  'total_minor',
  'fee_minor',
  'item_ids',
  'segment',
  'tone',
  'address_form',
  'interest_minor',
  'lump_sum_minor',
  'scheduled_at',
  'actions',
  'withdraw',
  'contracts',
  'resumed',
];
const STAGE_LINES = `CREATE TEMP TABLE IF NOT EXISTS dun_stage_lines (
  notice_id text, debtor_id text, item_id text, source text, source_key text, external_id text, document_number text,
  currency text, level_before int, level int, dpd int, open_minor bigint, interest_minor bigint, interest_from date,
  interest_to date, interest_rate_bp int, lump_sum_minor bigint, write_back boolean, hand_off text, final text)
  ON COMMIT DELETE ROWS`;
const STAGE_LINE_COLS = [
  'notice_id',
  'debtor_id',
  'item_id',
  'source',
  'source_key',
  'external_id',
  'document_number',
  'currency',
  'level_before',
  'level',
  'dpd',
  'open_minor',
  'interest_minor',
  'interest_from',
  'interest_to',
  'interest_rate_bp',
  'lump_sum_minor',
  'write_back',
  'hand_off',
  'final',
];

/** One statement for everything that hangs on a notice: skipped as a whole for a notice that already exists. */
const APPLY = `
WITH ins AS (
  INSERT INTO notices (tenant_id, notice_id, run_id, debtor_id, level, channel, recipient, template, locale, strategy,
    strategy_version, variant, currency, total_minor, fee_minor, item_ids, status, kind, as_of, segment, tone,
    address_form, interest_minor, lump_sum_minor, scheduled_at, actions)
  SELECT $1, s.notice_id, $2, s.debtor_id, s.level, s.channel, NULL, s.template, s.locale, $3, $4, 'default',
    s.currency, s.total_minor, s.fee_minor, s.item_ids, 'pending', 'dunning', $5::date, s.segment, s.tone,
    s.address_form, s.interest_minor, s.lump_sum_minor, s.scheduled_at, s.actions
  FROM dun_stage_notices s
  ON CONFLICT (tenant_id, run_id, debtor_id, kind) DO NOTHING
  RETURNING notice_id, debtor_id, level, segment
), lines AS (
  SELECT l.* FROM dun_stage_lines l JOIN ins USING (notice_id)
), hist AS (
  INSERT INTO notice_items (tenant_id, notice_id, item_id, debtor_id, level_before, level, days_past_due, open_minor,
    interest_minor, interest_from, interest_to, interest_rate_bp, lump_sum_minor)
  SELECT $1, notice_id, item_id, debtor_id, level_before, level, dpd, open_minor, interest_minor, interest_from,
    interest_to, interest_rate_bp, lump_sum_minor FROM lines
), upd AS (
  UPDATE items i SET dunning_level = l.level, last_dunned_on = $5::date, updated_at = now()
  FROM lines l WHERE i.tenant_id = $1 AND i.item_id = l.item_id AND l.level > l.level_before
), ob AS (
  INSERT INTO outbox (tenant_id, outbox_id, source, kind, item_id, command)
  SELECT $1, 'dun-' || l.notice_id || '-' || l.item_id, l.source, 'dunning_level', l.item_id,
    jsonb_build_object('kind', 'dunning_level', 'itemId', l.item_id, 'sourceKey', l.source_key,
      'externalId', l.external_id, 'documentNumber', l.document_number, 'level', l.level, 'noticeId', l.notice_id,
      'dunnedOn', $5::text)
  FROM lines l WHERE l.write_back
  ON CONFLICT (outbox_id) DO NOTHING
  RETURNING outbox_id, source
), act AS (
  INSERT INTO dunning_actions (tenant_id, action_id, debtor_id, notice_id, kind, value)
  SELECT $1, s.notice_id || ':withdraw:' || m, s.debtor_id, s.notice_id, 'withdraw_method', m
  FROM dun_stage_notices s JOIN ins USING (notice_id) CROSS JOIN LATERAL unnest(s.withdraw) AS m
  UNION ALL
  SELECT $1, s.notice_id || ':contract:' || c, s.debtor_id, s.notice_id, 'restrict_contract', c
  FROM dun_stage_notices s JOIN ins USING (notice_id) CROSS JOIN LATERAL unnest(s.contracts) AS c
  ON CONFLICT DO NOTHING
), claims AS (
  INSERT INTO agency_claims (tenant_id, claim_id, agency, run_id, notice_id, debtor_id, item_id, currency, amount_minor,
    interest_minor)
  SELECT $1, 'clm-' || l.notice_id || '-' || l.item_id, l.hand_off, $2, l.notice_id, l.debtor_id, l.item_id, l.currency,
    l.open_minor, l.interest_minor
  FROM lines l WHERE l.hand_off IS NOT NULL
  ON CONFLICT DO NOTHING
), placed AS (
  INSERT INTO holds (tenant_id, hold_id, debtor_id, item_id, kind, reason, reference, starts_on)
  SELECT $1, 'hld-' || l.final || '-' || l.notice_id || '-' || l.item_id, l.debtor_id, l.item_id, l.final,
    CASE WHEN l.final = 'agency' THEN 'handed off to ' || l.hand_off ELSE 'final level reached' END, l.notice_id, $5::date
  FROM lines l WHERE l.final IS NOT NULL
  ON CONFLICT DO NOTHING
  RETURNING hold_id, debtor_id, item_id, kind, reason
), broken AS (
  UPDATE holds h SET resolved_at = now(), outcome = 'broken', resolution = 'resumed by notice ' || s.notice_id
  FROM dun_stage_notices s JOIN ins USING (notice_id)
  WHERE h.tenant_id = $1 AND h.hold_id = ANY(s.resumed) AND h.resolved_at IS NULL
  RETURNING h.hold_id, h.kind
), ev AS (
  INSERT INTO events (tenant_id, type, subject, payload)
  SELECT $1, 'notice.created', 'notice:' || notice_id, jsonb_build_object('noticeId', notice_id, 'debtorId', debtor_id,
    'level', level, 'strategy', $3::text, 'strategyVersion', $4::int, 'variant', 'default', 'segment', segment)
  FROM ins
  UNION ALL
  SELECT $1, 'writeback.enqueued', 'outbox:' || outbox_id,
    jsonb_build_object('outboxId', outbox_id, 'source', source, 'command', 'dunning_level')
  FROM ob
  UNION ALL
  SELECT $1, 'hold.placed', 'hold:' || hold_id, jsonb_build_object('holdId', hold_id, 'debtorId', debtor_id,
    'itemId', item_id, 'kind', kind, 'reason', reason)
  FROM placed
  UNION ALL
  SELECT $1, 'hold.released', 'hold:' || hold_id, jsonb_build_object('holdId', hold_id, 'kind', kind,
    'reason', 'broken: dunning resumes')
  FROM broken
)
SELECT notice_id FROM ins`;

/** Writes a page of notices in one transaction; returns the ids of the notices it created. */
export async function writeNotices(
  store: Store,
  tenantId: string,
  runId: string,
  strategy: CompiledStrategy,
  asOf: string,
  plans: readonly NoticePlan[],
  kept: readonly HoldUpdate[],
): Promise<Set<string>> {
  if (plans.length === 0 && kept.length === 0) return new Set();
  return store.rawTransaction(async (s) => {
    const created = new Set<string>();
    if (plans.length > 0) {
      await stage(s, plans);
      const { rows } = await s.query<{ notice_id: string }>(APPLY, [
        tenantId,
        runId,
        strategy.name,
        strategy.version,
        asOf,
      ]);
      for (const r of rows) created.add(r.notice_id);
    }
    if (kept.length > 0) await resolveKept(s, tenantId, runId, kept);
    return created;
  });
}

async function stage(s: RawSession, plans: readonly NoticePlan[]): Promise<void> {
  await s.query(STAGE_NOTICES);
  await s.query(STAGE_LINES);
  const notices: string[] = [];
  const lines: string[] = [];
  let nbuf = '';
  let lbuf = '';
  for (const p of plans) {
    const st = p.settlement;
    const actions = {
      ...(st.withdraw.length ? { withdrawPaymentMethods: [...st.withdraw] } : {}),
      ...(st.restrictedContracts.length ? { restrictedContracts: st.restrictedContracts } : {}),
      ...(st.handOff ? { handOff: st.handOff } : {}),
      ...(st.final ? { final: st.final } : {}),
      ...(p.resumed.length ? { resumedAfter: p.resumed } : {}),
    };
    const currency = p.lines[0]!.item.currency;
    nbuf += `${[
      csvField(p.noticeId),
      csvField(p.debtorId),
      st.level.level,
      csvField(st.channels.join(',')),
      csvField(st.level.template),
      csvField(p.locale),
      csvField(currency),
      st.totalMinor,
      st.feeMinor,
      csvField(JSON.stringify(p.lines.map((l) => l.item.itemId))),
      csvField(p.segment.name),
      csvField(st.level.tone),
      csvField(st.level.address),
      st.interestMinor,
      st.lumpSumMinor,
      csvField(st.scheduledAt),
      csvField(JSON.stringify(actions)),
      csvField(pgArray(st.withdraw)),
      csvField(pgArray(st.restrictedContracts)),
      csvField(pgArray(p.resumed)),
    ].join(',')}\n`;
    p.lines.forEach((l, i) => {
      const reachesTop = l.level === st.level.level && l.level > l.levelBefore;
      const handOff = reachesTop && st.handOff ? st.handOff : null;
      const final = reachesTop && st.final ? st.final : null;
      lbuf += `${[
        csvField(p.noticeId),
        csvField(p.debtorId),
        csvField(l.item.itemId),
        csvField(l.item.source),
        csvField(l.item.sourceKey),
        csvField(l.item.externalId),
        csvField(l.item.documentNumber),
        csvField(l.item.currency),
        l.levelBefore,
        l.level,
        l.daysPastDue,
        l.item.openMinor,
        st.level.interest ? l.interestMinor : 0,
        st.level.interest ? csvField(l.interestFrom) : '',
        st.level.interest ? csvField(l.interestTo) : '',
        st.level.interest ? csvField(l.interestRateBp) : '',
        st.level.lumpSum ? l.lumpSumMinor : 0,
        p.writeBack[i] ? 't' : 'f',
        csvField(handOff),
        csvField(final),
      ].join(',')}\n`;
      if (lbuf.length > 1 << 20) {
        lines.push(lbuf);
        lbuf = '';
      }
    });
    if (nbuf.length > 1 << 20) {
      notices.push(nbuf);
      nbuf = '';
    }
  }
  notices.push(nbuf);
  lines.push(lbuf);
  await s.copyIn('dun_stage_notices', STAGE_NOTICE_COLS, notices);
  await s.copyIn('dun_stage_lines', STAGE_LINE_COLS, lines);
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
       AND NOT EXISTS (SELECT 1 FROM notice_items ni JOIN items i ON i.tenant_id = ni.tenant_id AND i.item_id = ni.item_id
                       WHERE ni.tenant_id = n.tenant_id AND ni.notice_id = n.notice_id AND i.status = 'open' AND i.open_minor > 0)
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

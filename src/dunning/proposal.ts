/**
 * The dunning proposal (SAP's Mahnvorschlag): `runDunning(…, mode: 'proposal')` stops after deciding and keeps per
 * debtor what the notice would be made of. A reviewer drops items or holds debtors; approval settles each notice
 * again (its level follows from the items left) and writes it exactly like an executed run.
 */
import { IntegrationError } from '../domain/errors';
import { formatMinor } from '../domain/money';
import type { Store } from '../store/db';
import { itemLevelSql } from '../store/schema-dunning';
import { type EngineItem, type HoldUpdate, type NoticeSettlement, settle } from './engine';
import { defaultInterest, SURCHARGE_BASIS_POINTS } from './legal/interest';
import {
  type DunningRunResult,
  germanBaseRates,
  lineWriteBacks,
  type NoticePlan,
  noticeIdOf,
  type PlanLine,
  query,
  settlePaidHolds,
  statsOf,
  tally,
  thankPayers,
  writeNotices,
} from './run';
import type { CompiledStrategy, NoticeChannelName, Segment } from './strategy';

async function proposedRun(store: Store, tenantId: string, runId: string) {
  const run = await store.db
    .selectFrom('dunning_runs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('run_id', '=', runId)
    .executeTakeFirst();
  if (!run) throw new IntegrationError(`no run ${runId}`, 'run', { notFound: true });
  return run;
}

function requireProposed(run: { run_id: string; status: string }): void {
  if (run.status !== 'proposed') {
    throw new IntegrationError(
      run.status === 'completed'
        ? `run ${run.run_id} is not a proposal any more: it was executed`
        : `run ${run.run_id} is not a proposal (status ${run.status})`,
      'run',
      { conflict: true },
    );
  }
}

function requireStrategy(run: { run_id: string; strategy: string; strategy_version: number }, s: CompiledStrategy) {
  if (run.strategy !== s.name || run.strategy_version !== s.version) {
    throw new IntegrationError(
      `run ${run.run_id} was proposed with strategy ${run.strategy} v${run.strategy_version}, not ${s.name} v${s.version}`,
      'strategy',
      { conflict: true },
    );
  }
}

export interface ProposalEdit {
  tenantId: string;
  runId: string;
  /** Item ids or document numbers to take off their notices. */
  dropItems?: readonly string[];
  /** Debtor ids (or a source's customer numbers) to leave out of this run. */
  holdDebtors?: readonly string[];
  reason?: string;
}

/**
 * Edits a proposal: drops items, holds debtors. Every id must be on the proposal (a typo is an error naming it, and
 * nothing is changed). Returns what changed.
 */
export async function editProposal(
  store: Store,
  e: ProposalEdit,
): Promise<{ droppedItems: string[]; heldDebtors: string[] }> {
  requireProposed(await proposedRun(store, e.tenantId, e.runId));
  const drop = [...new Set(e.dropItems ?? [])];
  const hold = [...new Set(e.holdDebtors ?? [])];
  return store.db.transaction().execute(async (trx) => {
    const lines = drop.length
      ? await trx
          .selectFrom('proposal_lines')
          .select(['item_id', 'document_number'])
          .where('tenant_id', '=', e.tenantId)
          .where('run_id', '=', e.runId)
          .where((eb) => eb.or([eb('item_id', 'in', drop), eb('document_number', 'in', drop)]))
          .execute()
      : [];
    const missingItems = drop.filter((d) => !lines.some((l) => l.item_id === d || l.document_number === d));
    const debtors = hold.length
      ? await trx
          .selectFrom('proposal_lines')
          .select(['debtor_id', 'external_id'])
          .distinct()
          .where('tenant_id', '=', e.tenantId)
          .where('run_id', '=', e.runId)
          .where((eb) => eb.or([eb('debtor_id', 'in', hold), eb('external_id', 'in', hold)]))
          .execute()
      : [];
    const missingDebtors = hold.filter((h) => !debtors.some((d) => d.debtor_id === h || d.external_id === h));
    if (missingItems.length || missingDebtors.length) {
      throw new IntegrationError(
        [
          missingItems.length ? `not on proposal ${e.runId}: item ${missingItems.join(', ')}` : '',
          missingDebtors.length ? `not on proposal ${e.runId}: debtor ${missingDebtors.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; '),
        missingItems.length ? 'dropItems' : 'holdDebtors',
      );
    }
    const itemIds = [...new Set(lines.map((l) => l.item_id))];
    if (itemIds.length) {
      await trx
        .updateTable('proposal_lines')
        .set({ dropped: true })
        .where('tenant_id', '=', e.tenantId)
        .where('run_id', '=', e.runId)
        .where('item_id', 'in', itemIds)
        .execute();
    }
    const debtorIds = [...new Set(debtors.map((d) => d.debtor_id))];
    if (debtorIds.length) {
      await trx
        .updateTable('proposal_notices')
        .set({ held: true, held_reason: e.reason ?? 'held in review' })
        .where('tenant_id', '=', e.tenantId)
        .where('run_id', '=', e.runId)
        .where('debtor_id', 'in', debtorIds)
        .execute();
    }
    return { droppedItems: itemIds, heldDebtors: debtorIds };
  });
}

interface LineRow {
  debtor_id: string;
  item_id: string;
  source: string;
  source_key: string;
  external_id: string;
  document_number: string;
  contract_ref: string | null;
  due_date: string;
  level_before: number;
  level: number;
  days_past_due: number;
  open_minor: number;
  interest_minor: number;
  interest_from: string | null;
  interest_to: string | null;
  interest_rate_bp: number | null;
  lump_sum_minor: number;
  dropped: boolean;
  currency: string;
}

interface NoticeRow {
  debtor_id: string;
  segment: string;
  debtor_type: 'B2B' | 'B2C';
  currency: string;
  locale: string;
  reachable: NoticeChannelName[];
  hold_updates: HoldUpdate[];
  held: boolean;
  held_reason: string | null;
  name: string | null;
}

/**
 * A line whose item was part-paid since the proposal: its interest on what is still open, for the same days at the
 * same rates (the notice would otherwise ask interest on money already paid, beside a principal that no longer bears it).
 */
function repriced(line: PlanLine, r: LineRow, business: boolean): PlanLine {
  if (line.item.openMinor === Number(r.open_minor) || line.interestMinor <= 0) return line;
  if (!r.interest_from || !r.interest_to) return line;
  const { interestMinor } = defaultInterest({
    amountMinor: line.item.openMinor,
    from: r.interest_from,
    to: r.interest_to,
    surchargeBasisPoints: business ? SURCHARGE_BASIS_POINTS.business : SURCHARGE_BASIS_POINTS.consumer,
    table: germanBaseRates(),
  });
  return { ...line, interestMinor };
}

function lineOf(r: LineRow, openMinor = Number(r.open_minor)): PlanLine {
  const item: EngineItem = {
    itemId: r.item_id,
    source: r.source,
    sourceKey: r.source_key,
    externalId: r.external_id,
    documentNumber: r.document_number,
    contractRef: r.contract_ref,
    currency: r.currency,
    openMinor,
    dueDate: r.due_date,
    documentDate: null,
    level: r.level_before,
    lastDunnedOn: null,
    block: null,
  };
  return {
    item,
    levelBefore: r.level_before,
    level: r.level,
    daysPastDue: r.days_past_due,
    interestMinor: Number(r.interest_minor),
    interestFrom: r.interest_from,
    interestTo: r.interest_to,
    interestRateBp: r.interest_rate_bp,
    lumpSumMinor: Number(r.lump_sum_minor),
  };
}

function segmentOf(strategy: CompiledStrategy, name: string): Segment {
  const s = strategy.segments.find((x) => x.name === name);
  if (!s)
    throw new IntegrationError(`strategy ${strategy.name} v${strategy.version} has no segment "${name}"`, 'segment');
  return s;
}

async function proposalPageRows(store: Store, tenantId: string, runId: string, cursor: string, limit: number) {
  const notices = await query<NoticeRow>(
    store,
    `SELECT p.debtor_id, p.segment, p.debtor_type, p.currency, p.locale, p.reachable, p.hold_updates, p.held,
            p.held_reason, d.name
     FROM proposal_notices p LEFT JOIN debtors d ON d.tenant_id = p.tenant_id AND d.debtor_id = p.debtor_id
     WHERE p.tenant_id = $1 AND p.run_id = $2 AND p.debtor_id > $3 ORDER BY p.debtor_id LIMIT $4`,
    [tenantId, runId, cursor, limit],
  );
  if (notices.length === 0) return { notices, lines: new Map<string, LineRow[]>() };
  const lineRows = await query<LineRow>(
    store,
    `SELECT l.debtor_id, l.item_id, l.source, l.source_key, l.external_id, l.document_number, l.contract_ref,
            l.due_date::text AS due_date, l.level_before, l.level, l.days_past_due, l.open_minor, l.interest_minor,
            l.interest_from::text AS interest_from, l.interest_to::text AS interest_to, l.interest_rate_bp,
            l.lump_sum_minor, l.dropped, p.currency
     FROM proposal_lines l JOIN proposal_notices p USING (tenant_id, run_id, debtor_id)
     WHERE l.tenant_id = $1 AND l.run_id = $2 AND l.debtor_id = ANY($3::text[])
     ORDER BY l.debtor_id, l.due_date, l.document_number, l.item_id`,
    [tenantId, runId, notices.map((n) => n.debtor_id)],
  );
  const lines = new Map<string, LineRow[]>();
  for (const r of lineRows) {
    const list = lines.get(r.debtor_id) ?? [];
    list.push(r);
    lines.set(r.debtor_id, list);
  }
  return { notices, lines };
}

export interface ProposalNoticeView {
  debtorId: string;
  name: string | null;
  segment: string;
  /** The notice as approval would write it now; absent when nothing on it rises any more (all dropped). */
  notice?: {
    level: number;
    levelName: string;
    channels: NoticeChannelName[];
    template: string;
    tone: string;
    address: string;
    totalMinor: number;
    feeMinor: number;
    interestMinor: number;
    lumpSumMinor: number;
    /** What the debtor is asked to pay: items, fee, interest and lump sum. */
    dueMinor: number;
    scheduledAt: string;
    actions: { withdrawPaymentMethods: string[]; restrictedContracts: string[]; handOff?: string; final?: string };
  };
  currency: string;
  held: boolean;
  heldReason: string | null;
  items: {
    itemId: string;
    documentNumber: string;
    source: string;
    dueDate: string;
    daysPastDue: number;
    levelBefore: number;
    level: number;
    openMinor: number;
    interestMinor: number;
    lumpSumMinor: number;
    dropped: boolean;
  }[];
}

/** One page of a proposal (by debtor id), each notice settled as approval would write it. */
export async function proposalPage(
  store: Store,
  o: { tenantId: string; runId: string; strategy: CompiledStrategy; cursor?: string; limit?: number },
): Promise<{ runId: string; asOf: string; status: string; notices: ProposalNoticeView[]; nextCursor: string | null }> {
  const run = await proposedRun(store, o.tenantId, o.runId);
  requireStrategy(run, o.strategy);
  const limit = o.limit ?? 500;
  const { notices, lines } = await proposalPageRows(store, o.tenantId, o.runId, o.cursor ?? '', limit);
  const out: ProposalNoticeView[] = notices.map((n) => {
    const rows = lines.get(n.debtor_id) ?? [];
    const kept = rows.filter((r) => !r.dropped).map((r) => lineOf(r));
    const s = settle(o.strategy, segmentOf(o.strategy, n.segment), kept, n.reachable, run.as_of);
    return {
      debtorId: n.debtor_id,
      name: n.name,
      segment: n.segment,
      ...(s ? { notice: noticeView(s) } : {}),
      currency: n.currency,
      held: n.held,
      heldReason: n.held ? n.held_reason : null,
      items: rows.map((r) => ({
        itemId: r.item_id,
        documentNumber: r.document_number,
        source: r.source,
        dueDate: r.due_date,
        daysPastDue: r.days_past_due,
        levelBefore: r.level_before,
        level: r.level,
        openMinor: Number(r.open_minor),
        interestMinor: s?.level.interest ? Number(r.interest_minor) : 0,
        lumpSumMinor: s?.level.lumpSum ? Number(r.lump_sum_minor) : 0,
        dropped: r.dropped,
      })),
    };
  });
  return {
    runId: o.runId,
    asOf: run.as_of,
    status: run.status,
    notices: out,
    nextCursor: notices.length === limit ? notices.at(-1)!.debtor_id : null,
  };
}

function noticeView(s: NoticeSettlement): NonNullable<ProposalNoticeView['notice']> {
  return {
    level: s.level.level,
    levelName: s.level.name,
    channels: s.channels,
    template: s.level.template,
    tone: s.level.tone,
    address: s.level.address,
    totalMinor: s.totalMinor,
    feeMinor: s.feeMinor,
    interestMinor: s.interestMinor,
    lumpSumMinor: s.lumpSumMinor,
    dueMinor: s.totalMinor + s.feeMinor + s.interestMinor + s.lumpSumMinor,
    scheduledAt: s.scheduledAt,
    actions: {
      withdrawPaymentMethods: [...s.withdraw],
      restrictedContracts: s.restrictedContracts,
      ...(s.handOff ? { handOff: s.handOff } : {}),
      ...(s.final ? { final: s.final } : {}),
    },
  };
}

/** The proposal list as CSV, one line per item (a notice's fee, interest and lump sum on its first line). */
export async function proposalCsv(
  store: Store,
  o: { tenantId: string; runId: string; strategy: CompiledStrategy; currency: string },
  write: (chunk: string) => void,
): Promise<number> {
  const money = (m: number) => formatMinor(m, o.currency);
  write(
    'run_id,debtor_id,debtor_name,segment,notice_level,level_name,channels,tone,address,scheduled_at,held,item_id,document_number,source,due_date,days_past_due,level_before,level,open_amount,interest,fee,lump_sum,notice_due,dropped\n',
  );
  let cursor: string | undefined;
  let n = 0;
  do {
    const page = await proposalPage(store, { ...o, ...(cursor ? { cursor } : {}), limit: 1000 });
    for (const p of page.notices) {
      p.items.forEach((i, k) => {
        const first = k === 0;
        const v = p.notice;
        const cells = [
          o.runId,
          p.debtorId,
          p.name ?? '',
          p.segment,
          v?.level ?? '',
          v?.levelName ?? '',
          v?.channels.join('>') ?? '',
          v?.tone ?? '',
          v?.address ?? '',
          v?.scheduledAt ?? '',
          p.held ? 'yes' : 'no',
          i.itemId,
          i.documentNumber,
          i.source,
          i.dueDate,
          i.daysPastDue,
          i.levelBefore,
          i.level,
          money(i.openMinor),
          money(i.interestMinor),
          first && v ? money(v.feeMinor) : '',
          money(i.lumpSumMinor),
          first && v ? money(v.dueMinor) : '',
          i.dropped ? 'yes' : 'no',
        ];
        write(`${cells.map((c) => csvCell(String(c))).join(',')}\n`);
        n++;
      });
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return n;
}

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/**
 * Approves a proposal: each debtor not held gets the notice its remaining items make (settled again with the
 * strategy, so a dropped item can lower the level and its fee), written like an executed run. Items paid or dunned
 * elsewhere since the proposal are left out. Approving twice is refused; a crash half-way is resumed by approving
 * again (notices that exist are skipped).
 */
export async function approveProposal(
  store: Store,
  o: {
    tenantId: string;
    runId: string;
    strategy: CompiledStrategy;
    levelWriteBackSources: ReadonlySet<string>;
    onProgress?: (debtorsDone: number) => void;
  },
): Promise<DunningRunResult> {
  const run = await proposedRun(store, o.tenantId, o.runId);
  requireProposed(run);
  requireStrategy(run, o.strategy);
  const result: DunningRunResult = {
    runId: o.runId,
    status: 'completed',
    strategy: { name: o.strategy.name, version: o.strategy.version },
    debtorsConsidered: 0,
    noticesCreated: 0,
    itemsDunned: 0,
    byLevel: {},
    bySegment: {},
    skipped: {},
    thanks: 0,
  };
  let cursor = '';
  for (;;) {
    const { notices, lines } = await proposalPageRows(store, o.tenantId, o.runId, cursor, 2000);
    if (notices.length === 0) break;
    cursor = notices.at(-1)!.debtor_id;
    const itemIds = [...lines.values()].flat().map((l) => l.item_id);
    const current = new Map(
      (
        await query<{ item_id: string; status: string; open_minor: number; dunning_level: number }>(
          store,
          `SELECT item_id, status, open_minor, ${itemLevelSql()} AS dunning_level
           FROM items WHERE tenant_id = $1 AND item_id = ANY($2::text[])`,
          [o.tenantId, itemIds],
        )
      ).map((r) => [r.item_id, r]),
    );
    const plans: NoticePlan[] = [];
    const kept: HoldUpdate[] = [];
    for (const n of notices) {
      result.debtorsConsidered++;
      if (n.held) {
        result.skipped['proposal-hold'] = (result.skipped['proposal-hold'] ?? 0) + 1;
        continue;
      }
      for (const u of n.hold_updates) if (u.outcome === 'kept') kept.push(u);
      const segment = segmentOf(o.strategy, n.segment);
      const planLines = (lines.get(n.debtor_id) ?? []).flatMap((r) => {
        const now = current.get(r.item_id);
        // Paid, closed or dunned by another run since the proposal: not on this notice any more.
        if (r.dropped || !now || now.status !== 'open' || Number(now.open_minor) <= 0) return [];
        if (now.dunning_level !== r.level_before) return [];
        return [repriced(lineOf(r, Number(now.open_minor)), r, n.debtor_type === 'B2B')];
      });
      const s = settle(o.strategy, segment, planLines, n.reachable, run.as_of);
      if (!s) {
        result.skipped['not-due'] = (result.skipped['not-due'] ?? 0) + 1;
        continue;
      }
      const resumed = n.hold_updates.filter((u) => u.outcome === 'broken').map((u) => u.holdId);
      plans.push({
        noticeId: noticeIdOf(o.tenantId, o.runId, n.debtor_id),
        debtorId: n.debtor_id,
        debtorType: n.debtor_type,
        locale: n.locale,
        segment,
        settlement: s,
        lines: planLines,
        writeBack: lineWriteBacks(segment, planLines, o.levelWriteBackSources),
        reachable: n.reachable,
        resumed,
        holdUpdates: n.hold_updates,
      });
    }
    const written = await writeNotices(store, o.tenantId, o.runId, o.strategy, run.as_of, plans, kept);
    tally(result, plans, written);
    o.onProgress?.(result.debtorsConsidered);
  }
  await settlePaidHolds(store, o.tenantId, o.runId, run.as_of);
  if (o.strategy.thankYou) result.thanks = await thankPayers(store, o.tenantId, o.runId, o.strategy, run.as_of);
  await store.db
    .updateTable('dunning_runs')
    .set({
      status: 'completed',
      approved_at: new Date().toISOString(),
      finished_at: new Date().toISOString(),
      stats: JSON.stringify(statsOf(result)),
    })
    .where('tenant_id', '=', o.tenantId)
    .where('run_id', '=', o.runId)
    .where('status', '=', 'proposed')
    .execute();
  return result;
}

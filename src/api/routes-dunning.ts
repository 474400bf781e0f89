/**
 * Dunning over HTTP: runs and proposals (review, edit, approve), notices, holds, disputes, promises to pay and payment
 * plans, and what a debtor's dunning withdrew. Runs use the tenant's strategy on record (`clearhub dunning strategy
 * register`, or any CLI run); everything is scoped to the API key's tenant.
 */
import { z } from 'zod';
import { isCalendarDate } from '../domain/dates';
import { IntegrationError } from '../domain/errors';
import { isKnownCurrency, parseAmountInput } from '../domain/money';
import { restrictedContracts, withdrawnMethods } from '../dunning/eligibility';
import {
  disputeItem,
  getHold,
  type HoldView,
  listHolds,
  paymentPlan,
  placeHold,
  promiseToPay,
  resolveHold,
} from '../dunning/holds';
import { editProposal, type ProposalNoticeView, proposalCsv, proposalPage } from '../dunning/proposal';
import { type DunningRunResult, query } from '../dunning/run';
import { approveRun, runRegistered, strategyOfRun } from '../dunning/service';
import { problems } from './problems';
import { amountJson, decodeCursor, defineRoute, encodeCursor, pageOf, type Route, type RouteDeps } from './routes';
import { Amount, AmountInput, id, named, PageLimit, requestSchemas, responseSchemas } from './schemas';

const isoDate = (what: string) => z.string().refine(isCalendarDate, 'expected a date as YYYY-MM-DD').describe(what);
const limit = PageLimit;
const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,400}$/, 'expected a cursor from a previous page')
  .describe('nextCursor of the previous page');

// ---- requests ----

export const DunningRunRequest = named(
  requestSchemas,
  'DunningRunRequest',
  z.strictObject({
    asOf: isoDate('The run date: the same date gives the same notices, and running it again adds none'),
    proposal: z.boolean().default(false).describe('Stop at a proposal for review; nothing is dunned until approved'),
  }),
);
const RunParams = z.strictObject({ runId: z.string().regex(/^run-\d{4}-\d{2}-\d{2}$/, 'expected run-YYYY-MM-DD') });
const ProposalQuery = z.strictObject({
  format: z.enum(['json', 'csv']).default('json').describe('csv: the whole proposal list, one line per item'),
  limit,
  cursor: cursor.optional(),
});
export const ProposalEditRequest = named(
  requestSchemas,
  'ProposalEditRequest',
  z
    .strictObject({
      dropItems: z.array(id('Item id or document number')).max(10_000).default([]),
      holdDebtors: z.array(id('Debtor id or customer number')).max(10_000).default([]),
      reason: z.string().min(1).max(500).optional(),
    })
    .refine((v) => v.dropItems.length + v.holdDebtors.length > 0, {
      message: 'say what to change: dropItems and/or holdDebtors',
    }),
);
const NoticesQuery = z.strictObject({
  runId: z.string().min(1).max(100).optional(),
  debtorId: id('Only notices of this debtor').optional(),
  limit,
  cursor: cursor.optional(),
});
const NoticeParams = z.strictObject({ noticeId: id('Notice id') });
const HoldsQuery = z.strictObject({
  debtorId: id('Only holds of this debtor').optional(),
  kind: z.string().min(1).max(40).optional(),
  active: z.enum(['true', 'false']).optional().describe('true: unresolved only; false: resolved only'),
  limit,
  cursor: cursor.optional(),
});
const HoldParams = z.strictObject({ holdId: id('Hold id') });
export const HoldRequest = named(
  requestSchemas,
  'HoldRequest',
  z
    .strictObject({
      debtorId: id('The debtor (or give itemId)').optional(),
      itemId: id('One item (id or document number)').optional(),
      kind: z.enum(['manual', 'moratorium']).default('manual'),
      reason: z.string().min(1).max(500),
      startsOn: isoDate('First day').optional(),
      endsOn: isoDate('Last day; without it the hold lasts until released').optional(),
    })
    .refine((v) => v.debtorId !== undefined || v.itemId !== undefined, { message: 'give debtorId or itemId' }),
);
export const ReleaseRequest = named(
  requestSchemas,
  'ReleaseRequest',
  z.strictObject({ resolution: z.string().min(1).max(500).describe('How it was resolved') }),
);
export const DisputeRequest = named(
  requestSchemas,
  'DisputeRequest',
  z.strictObject({
    itemId: id('Item id or document number'),
    reason: z.string().min(1).max(500),
    reference: z.string().min(1).max(200).optional().describe('Ticket or case number'),
  }),
);
export const PromiseRequest = named(
  requestSchemas,
  'PromiseRequest',
  z.strictObject({
    debtorId: id('Debtor id'),
    promisedOn: isoDate('The date the debtor promised to pay by'),
    amount: AmountInput,
    itemIds: z.array(id('Item id')).min(1).max(1000).optional().describe('Default: all open items of the debtor'),
  }),
);
export const PlanRequest = named(
  requestSchemas,
  'PlanRequest',
  z.strictObject({
    debtorId: id('Debtor id'),
    instalments: z
      .array(z.strictObject({ dueOn: isoDate('Due date of the instalment'), amount: AmountInput }))
      .min(1)
      .max(120),
    itemIds: z.array(id('Item id')).min(1).max(1000).optional().describe('Default: all open items of the debtor'),
  }),
);
const DebtorParams = z.strictObject({ debtorId: id('Debtor id') });

// ---- responses ----

export const DunningRunSchema = named(
  responseSchemas,
  'DunningRun',
  z.object({
    runId: z.string(),
    asOf: z.string(),
    status: z.enum(['running', 'proposed', 'completed', 'failed']),
    mode: z.enum(['execute', 'proposal']),
    strategy: z.object({ name: z.string(), version: z.int() }),
    stats: z.record(z.string(), z.number()).describe('notices, items, level.<n>, segment.<name>, skipped.<reason>'),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    approvedAt: z.string().nullable(),
  }),
);
const RunPage = named(
  responseSchemas,
  'DunningRunPage',
  z.object({ runs: z.array(DunningRunSchema), nextCursor: z.string().nullable() }),
);
const ProposalNotice = named(
  responseSchemas,
  'ProposalNotice',
  z.object({
    debtorId: z.string(),
    name: z.string().nullable(),
    segment: z.string(),
    held: z.boolean(),
    heldReason: z.string().nullable(),
    notice: z
      .object({
        level: z.int(),
        levelName: z.string(),
        channels: z.array(z.string()),
        template: z.string(),
        tone: z.string(),
        address: z.string(),
        total: Amount,
        fee: Amount,
        interest: Amount,
        lumpSum: Amount,
        due: Amount.describe('What the debtor is asked to pay: items, fee, interest and lump sum'),
        scheduledAt: z.string(),
        actions: z.record(z.string(), z.unknown()),
      })
      .nullable()
      .describe('null: nothing on it rises any more (every item dropped)'),
    items: z.array(
      z.object({
        itemId: z.string(),
        documentNumber: z.string(),
        source: z.string(),
        dueDate: z.string(),
        daysPastDue: z.int(),
        levelBefore: z.int(),
        level: z.int(),
        open: Amount,
        interest: Amount,
        dropped: z.boolean(),
      }),
    ),
  }),
);
const ProposalPage = named(
  responseSchemas,
  'ProposalPage',
  z.object({
    runId: z.string(),
    asOf: z.string(),
    status: z.string(),
    notices: z.array(ProposalNotice),
    nextCursor: z.string().nullable(),
  }),
);
const NoticeSchema = named(
  responseSchemas,
  'DunningNotice',
  z.object({
    noticeId: z.string(),
    runId: z.string(),
    debtorId: z.string(),
    kind: z.enum(['dunning', 'thanks']),
    level: z.int(),
    segment: z.string().nullable(),
    strategy: z.object({ name: z.string(), version: z.int(), variant: z.string() }),
    channels: z.array(z.string()),
    template: z.string(),
    tone: z.string().nullable(),
    address: z.string().nullable(),
    total: Amount,
    fee: Amount,
    interest: Amount,
    lumpSum: Amount,
    due: Amount,
    scheduledAt: z.string().nullable(),
    status: z.string(),
    actions: z.record(z.string(), z.unknown()),
    items: z
      .array(
        z.object({
          itemId: z.string(),
          documentNumber: z.string(),
          source: z.string(),
          levelBefore: z.int().nullable().describe('null: the notice listed the item without changing its level'),
          level: z.int().nullable(),
          daysPastDue: z.int(),
          open: Amount,
          interest: Amount,
          lumpSum: Amount,
        }),
      )
      .optional(),
  }),
);
const NoticePage = named(
  responseSchemas,
  'DunningNoticePage',
  z.object({ notices: z.array(NoticeSchema), nextCursor: z.string().nullable() }),
);
const HoldSchema = named(
  responseSchemas,
  'Hold',
  z.object({
    holdId: z.string(),
    debtorId: z.string(),
    itemId: z.string().nullable(),
    itemIds: z.array(z.string()).nullable(),
    kind: z.string(),
    reason: z.string(),
    reference: z.string().nullable(),
    startsOn: z.string(),
    endsOn: z.string().nullable(),
    amount: Amount.nullable(),
    instalments: z.array(z.object({ seq: z.int(), dueOn: z.string(), amount: Amount })).optional(),
    resolvedAt: z.string().nullable(),
    outcome: z.string().nullable(),
    resolution: z.string().nullable(),
  }),
);
const HoldPage = named(
  responseSchemas,
  'HoldPage',
  z.object({ holds: z.array(HoldSchema), nextCursor: z.string().nullable() }),
);
const RunResultSchema = named(
  responseSchemas,
  'DunningRunResult',
  z.object({
    runId: z.string(),
    status: z.enum(['completed', 'proposed']),
    strategy: z.object({ name: z.string(), version: z.int() }),
    debtorsConsidered: z.int(),
    noticesCreated: z.int().describe('Notices created, or proposed for a proposal'),
    itemsDunned: z.int(),
    byLevel: z.record(z.string(), z.int()),
    bySegment: z.record(z.string(), z.int()),
    skipped: z.record(z.string(), z.int()),
    thanks: z.int(),
  }),
);
const Restrictions = named(
  responseSchemas,
  'DunningRestrictions',
  z.object({
    debtorId: z.string(),
    withdrawnMethods: z.array(z.string()).describe('Method ids or flow kinds the checkout does not offer'),
    restrictedContracts: z.array(z.string()),
  }),
);

function holdJson(h: HoldView): z.output<typeof HoldSchema> {
  const cur = h.currency ?? 'EUR';
  return {
    holdId: h.holdId,
    debtorId: h.debtorId,
    itemId: h.itemId,
    itemIds: h.itemIds,
    kind: h.kind,
    reason: h.reason,
    reference: h.reference,
    startsOn: h.startsOn,
    endsOn: h.endsOn,
    amount: h.amountMinor === null ? null : amountJson(h.amountMinor, cur),
    ...(h.instalments
      ? {
          instalments: h.instalments.map((i) => ({
            seq: i.seq,
            dueOn: i.dueOn,
            amount: amountJson(i.amountMinor, cur),
          })),
        }
      : {}),
    resolvedAt: h.resolvedAt,
    outcome: h.outcome,
    resolution: h.resolution,
  };
}

function proposalNoticeJson(n: ProposalNoticeView): z.output<typeof ProposalNotice> {
  const a = (m: number) => amountJson(m, n.currency);
  const v = n.notice;
  return {
    debtorId: n.debtorId,
    name: n.name,
    segment: n.segment,
    held: n.held,
    heldReason: n.heldReason,
    notice: v
      ? {
          level: v.level,
          levelName: v.levelName,
          channels: v.channels,
          template: v.template,
          tone: v.tone,
          address: v.address,
          total: a(v.totalMinor),
          fee: a(v.feeMinor),
          interest: a(v.interestMinor),
          lumpSum: a(v.lumpSumMinor),
          due: a(v.dueMinor),
          scheduledAt: v.scheduledAt,
          actions: v.actions,
        }
      : null,
    items: n.items.map((i) => ({
      itemId: i.itemId,
      documentNumber: i.documentNumber,
      source: i.source,
      dueDate: i.dueDate,
      daysPastDue: i.daysPastDue,
      levelBefore: i.levelBefore,
      level: i.level,
      open: a(i.openMinor),
      interest: a(i.interestMinor),
      dropped: i.dropped,
    })),
  };
}

const runResultJson = (r: DunningRunResult): z.output<typeof RunResultSchema> => r as z.output<typeof RunResultSchema>;

async function runRow(deps: RouteDeps, tenantId: string, runId: string) {
  const r = await deps.store.db
    .selectFrom('dunning_runs')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('run_id', '=', runId)
    .executeTakeFirst();
  if (!r) throw problems.notFound(`no run ${runId}`);
  return r;
}

export function dunningRoutes(deps: RouteDeps): Route[] {
  const { store } = deps;
  const db = store.db;
  return [
    defineRoute({
      method: 'post',
      path: '/v1/dunning/runs',
      operationId: 'runDunning',
      summary: "Run (or propose) the dunning of a date with the tenant's strategy on record",
      tag: 'dunning',
      auth: true,
      body: DunningRunRequest,
      responses: {
        200: { description: 'The run: notices created, or proposed', schema: RunResultSchema },
        409: { description: 'The date has a proposal awaiting approval, or was executed already (for a proposal)' },
        422: {
          description:
            'No strategy on record, or a date the strategy cannot run (e.g. interest beyond the base-rate table)',
        },
      },
      handle: async ({ tenantId, body }) => {
        const r = await runRegistered(store, tenantId, { asOf: body.asOf, proposal: body.proposal });
        return { status: 200, json: runResultJson(r) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/dunning/runs',
      operationId: 'listDunningRuns',
      summary: 'Dunning runs, newest first',
      tag: 'dunning',
      auth: true,
      query: z.strictObject({ limit, cursor: cursor.optional() }),
      responses: { 200: { description: 'One page of runs', schema: RunPage } },
      handle: async ({ tenantId, query: q }) => {
        let sel = db.selectFrom('dunning_runs').selectAll().where('tenant_id', '=', tenantId);
        if (q.cursor) sel = sel.where('run_id', '<', decodeCursor(q.cursor));
        const rows = await sel
          .orderBy('run_id', 'desc')
          .limit(q.limit + 1)
          .execute();
        const { page, nextCursor } = pageOf(rows, q.limit, (r) => r.run_id);
        return { status: 200, json: { runs: page.map(runJson), nextCursor } satisfies z.output<typeof RunPage> };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/dunning/runs/:runId',
      operationId: 'getDunningRun',
      summary: 'A run: status, strategy and what it did',
      tag: 'dunning',
      auth: true,
      params: RunParams,
      responses: { 200: { description: 'The run', schema: DunningRunSchema }, 404: { description: 'No such run' } },
      handle: async ({ tenantId, params }) => ({
        status: 200,
        json: runJson(await runRow(deps, tenantId, params.runId)),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/dunning/runs/:runId/proposal',
      operationId: 'getDunningProposal',
      summary: 'The proposal list: per debtor the notice approval would write, its items, fee, interest, channel',
      tag: 'dunning',
      auth: true,
      params: RunParams,
      query: ProposalQuery,
      responses: {
        200: { description: 'One page of the proposal (JSON), or all of it as CSV', schema: ProposalPage },
        404: { description: 'No such run' },
        422: { description: 'The run is not a proposal' },
      },
      handle: async ({ tenantId, params, query: q }) => {
        const run = await runRow(deps, tenantId, params.runId);
        if (run.mode !== 'proposal') throw problems.unprocessable(`run ${params.runId} is not a proposal`, 'runId');
        const strategy = await strategyOfRun(store, tenantId, params.runId);
        if (q.format === 'csv') {
          const chunks: string[] = [];
          const currency = strategy.currency;
          await proposalCsv(store, { tenantId, runId: params.runId, strategy, currency }, (c) => chunks.push(c));
          return { status: 200, text: chunks.join(''), contentType: 'text/csv; charset=utf-8' };
        }
        const page = await proposalPage(store, {
          tenantId,
          runId: params.runId,
          strategy,
          limit: q.limit,
          ...(q.cursor ? { cursor: decodeCursor(q.cursor) } : {}),
        });
        return {
          status: 200,
          json: {
            runId: page.runId,
            asOf: page.asOf,
            status: page.status,
            notices: page.notices.map(proposalNoticeJson),
            nextCursor: page.nextCursor ? encodeCursor(page.nextCursor) : null,
          } satisfies z.output<typeof ProposalPage>,
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/dunning/runs/:runId/proposal/edits',
      operationId: 'editDunningProposal',
      summary: 'Edit a proposal: drop items from their notices, hold debtors out of the run',
      tag: 'dunning',
      auth: true,
      params: RunParams,
      body: ProposalEditRequest,
      responses: {
        200: { description: 'What changed' },
        409: { description: 'The run is not (or no longer) a proposal' },
        422: { description: 'An item or debtor is not on the proposal (nothing was changed)' },
      },
      handle: async ({ tenantId, params, body }) => {
        await runRow(deps, tenantId, params.runId);
        const r = await editProposal(store, {
          tenantId,
          runId: params.runId,
          dropItems: body.dropItems,
          holdDebtors: body.holdDebtors,
          ...(body.reason ? { reason: body.reason } : {}),
        });
        return { status: 200, json: r };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/dunning/runs/:runId/approve',
      operationId: 'approveDunningProposal',
      summary: 'Approve a proposal: its notices are created as edited (sending is the workers’ job)',
      tag: 'dunning',
      auth: true,
      params: RunParams,
      responses: {
        200: { description: 'The run as executed', schema: RunResultSchema },
        409: { description: 'Not a proposal, or approved already' },
      },
      handle: async ({ tenantId, params }) => {
        await runRow(deps, tenantId, params.runId);
        const r = await approveRun(store, tenantId, params.runId);
        return { status: 200, json: runResultJson(r) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/dunning/notices',
      operationId: 'listDunningNotices',
      summary: 'Notices of a run or a debtor',
      tag: 'dunning',
      auth: true,
      query: NoticesQuery,
      responses: { 200: { description: 'One page of notices', schema: NoticePage } },
      handle: async ({ tenantId, query: q }) => {
        let sel = db.selectFrom('notices').selectAll().where('tenant_id', '=', tenantId);
        if (q.runId) sel = sel.where('run_id', '=', q.runId);
        if (q.debtorId) sel = sel.where('debtor_id', '=', q.debtorId);
        if (q.cursor) sel = sel.where('notice_id', '>', decodeCursor(q.cursor));
        const rows = await sel
          .orderBy('notice_id')
          .limit(q.limit + 1)
          .execute();
        const { page, nextCursor } = pageOf(rows, q.limit, (n) => n.notice_id);
        return {
          status: 200,
          json: { notices: page.map((n) => noticeJson(n)), nextCursor } satisfies z.output<typeof NoticePage>,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/dunning/notices/:noticeId',
      operationId: 'getDunningNotice',
      summary: 'A notice with its items: the level each reached, interest and lump sum per item',
      tag: 'dunning',
      auth: true,
      params: NoticeParams,
      responses: { 200: { description: 'The notice', schema: NoticeSchema }, 404: { description: 'No such notice' } },
      handle: async ({ tenantId, params }) => {
        const n = await db
          .selectFrom('notices')
          .selectAll()
          .where('tenant_id', '=', tenantId)
          .where('notice_id', '=', params.noticeId)
          .executeTakeFirst();
        if (!n) throw problems.notFound(`no notice ${params.noticeId}`);
        // Every item the notice listed, with what it did to it (a new level, interest, the lump sum) where it did.
        const lines = await query<{
          item_id: string;
          document_number: string;
          source: string;
          level_before: number | null;
          level: number | null;
          days_past_due: number;
          open_minor: number;
          interest_minor: number | null;
          lump_sum_minor: number | null;
        }>(
          store,
          `SELECT x.item_id, i.document_number, i.source, ni.level_before, ni.level,
                  ($3::date - i.due_date) AS days_past_due, COALESCE(ni.open_minor, i.open_minor) AS open_minor,
                  ni.interest_minor, ni.lump_sum_minor
           FROM jsonb_array_elements_text($4::jsonb) WITH ORDINALITY AS x(item_id, k)
           JOIN items i ON i.tenant_id = $1 AND i.item_id = x.item_id
           LEFT JOIN notice_items ni ON ni.tenant_id = $1 AND ni.notice_id = $2 AND ni.item_id = x.item_id
           ORDER BY x.k`,
          [tenantId, params.noticeId, n.as_of ?? n.created_at.slice(0, 10), JSON.stringify(n.item_ids)],
        );
        const a = (m: number) => amountJson(Number(m), n.currency);
        return {
          status: 200,
          json: {
            ...noticeJson(n),
            items: lines.map((l) => ({
              itemId: l.item_id,
              documentNumber: l.document_number,
              source: l.source,
              levelBefore: l.level_before,
              level: l.level,
              daysPastDue: Number(l.days_past_due),
              open: a(l.open_minor),
              interest: a(l.interest_minor ?? 0),
              lumpSum: a(l.lump_sum_minor ?? 0),
            })),
          } satisfies z.output<typeof NoticeSchema>,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/dunning/holds',
      operationId: 'listHolds',
      summary: 'Holds that keep items out of dunning: disputes, chargebacks, promises, plans, moratoria, agency',
      tag: 'dunning',
      auth: true,
      query: HoldsQuery,
      responses: { 200: { description: 'One page of holds', schema: HoldPage } },
      handle: async ({ tenantId, query: q }) => {
        const rows = await listHolds(store, {
          tenantId,
          ...(q.debtorId ? { debtorId: q.debtorId } : {}),
          ...(q.kind ? { kind: q.kind } : {}),
          ...(q.active ? { active: q.active === 'true' } : {}),
          ...(q.cursor ? { cursor: decodeCursor(q.cursor) } : {}),
          limit: q.limit + 1,
        });
        const { page, nextCursor } = pageOf(rows, q.limit, (h) => h.holdId);
        return { status: 200, json: { holds: page.map(holdJson), nextCursor } satisfies z.output<typeof HoldPage> };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/dunning/holds',
      operationId: 'placeHold',
      summary: 'Hold a debtor or an item by hand, or record an individual moratorium',
      tag: 'dunning',
      auth: true,
      body: HoldRequest,
      responses: { 201: { description: 'Placed', schema: HoldSchema }, 422: { description: 'Unknown debtor or item' } },
      handle: async ({ tenantId, body }) => {
        const h = await placeHold(store, {
          tenantId,
          kind: body.kind,
          reason: body.reason,
          ...(body.debtorId ? { debtorId: body.debtorId } : {}),
          ...(body.itemId ? { itemId: body.itemId } : {}),
          ...(body.startsOn ? { startsOn: body.startsOn } : {}),
          ...(body.endsOn ? { endsOn: body.endsOn } : {}),
        });
        return { status: 201, json: holdJson(h) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/dunning/holds/:holdId/release',
      operationId: 'releaseHold',
      summary: 'Resolve a hold (a dispute settled, a hold lifted): the items go back into the strategy',
      tag: 'dunning',
      auth: true,
      params: HoldParams,
      body: ReleaseRequest,
      responses: {
        200: { description: 'Released', schema: HoldSchema },
        404: { description: 'No such hold' },
        409: { description: 'Resolved already' },
      },
      handle: async ({ tenantId, params, body }) => {
        await getHold(store, tenantId, params.holdId);
        const h = await resolveHold(store, { tenantId, holdId: params.holdId, resolution: body.resolution });
        return { status: 200, json: holdJson(h) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/dunning/disputes',
      operationId: 'disputeItem',
      summary: 'Dispute an item: it is not dunned until the dispute is resolved',
      tag: 'dunning',
      auth: true,
      body: DisputeRequest,
      responses: {
        201: { description: 'Disputed', schema: HoldSchema },
        200: { description: 'The item was disputed already: the open dispute', schema: HoldSchema },
        422: { description: 'Unknown item' },
      },
      handle: async ({ tenantId, body }) => {
        const r = await disputeItem(store, {
          tenantId,
          itemId: body.itemId,
          reason: body.reason,
          ...(body.reference ? { reference: body.reference } : {}),
        });
        return { status: r.created ? 201 : 200, json: holdJson(r.hold) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/dunning/promises',
      operationId: 'promiseToPay',
      summary: 'Record a promise to pay an amount by a date; the items wait until then',
      tag: 'dunning',
      auth: true,
      body: PromiseRequest,
      responses: {
        201: { description: 'Recorded', schema: HoldSchema },
        409: { description: 'The debtor has an open promise' },
        422: { description: 'Unknown debtor, no open items, amount not allowed for the currency' },
      },
      handle: async ({ tenantId, body }) => {
        if (!isKnownCurrency(body.amount.currency))
          throw new IntegrationError(`unknown currency "${body.amount.currency}"`, 'amount.currency');
        const h = await promiseToPay(store, {
          tenantId,
          debtorId: body.debtorId,
          promisedOn: body.promisedOn,
          amountMinor: parseAmountInput(body.amount.value, body.amount.currency, 'amount.value'),
          currency: body.amount.currency,
          ...(body.itemIds ? { itemIds: body.itemIds } : {}),
        });
        return { status: 201, json: holdJson(h) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/dunning/plans',
      operationId: 'agreePaymentPlan',
      summary: 'Agree a payment plan; a missed instalment breaks it and dunning resumes',
      tag: 'dunning',
      auth: true,
      body: PlanRequest,
      responses: {
        201: { description: 'Agreed', schema: HoldSchema },
        409: { description: 'The debtor has an open plan' },
        422: { description: 'Unknown debtor, no open items, instalments out of order, mixed currencies' },
      },
      handle: async ({ tenantId, body }) => {
        const currency = body.instalments[0]!.amount.currency;
        if (!isKnownCurrency(currency))
          throw new IntegrationError(`unknown currency "${currency}"`, 'instalments.0.amount.currency');
        const instalments = body.instalments.map((x, k) => {
          if (x.amount.currency !== currency)
            throw new IntegrationError('all instalments must be in one currency', `instalments.${k}.amount.currency`);
          return {
            dueOn: x.dueOn,
            amountMinor: parseAmountInput(x.amount.value, currency, `instalments.${k}.amount.value`),
          };
        });
        const h = await paymentPlan(store, {
          tenantId,
          debtorId: body.debtorId,
          currency,
          instalments,
          ...(body.itemIds ? { itemIds: body.itemIds } : {}),
        });
        return { status: 201, json: holdJson(h) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/dunning/debtors/:debtorId/restrictions',
      operationId: 'getDunningRestrictions',
      summary:
        "What the debtor's dunning withdrew: payment methods and restricted contracts (until the items are paid)",
      tag: 'dunning',
      auth: true,
      params: DebtorParams,
      responses: { 200: { description: 'The restrictions in force', schema: Restrictions } },
      handle: async ({ tenantId, params }) => ({
        status: 200,
        json: {
          debtorId: params.debtorId,
          withdrawnMethods: await withdrawnMethods(store, tenantId, params.debtorId),
          restrictedContracts: await restrictedContracts(store, tenantId, params.debtorId),
        } satisfies z.output<typeof Restrictions>,
      }),
    }),
  ];
}

type RunRow = Awaited<ReturnType<typeof runRow>>;

function runJson(r: RunRow): z.output<typeof DunningRunSchema> {
  return {
    runId: r.run_id,
    asOf: r.as_of,
    status: r.status,
    mode: r.mode,
    strategy: { name: r.strategy, version: r.strategy_version },
    stats: r.stats,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    approvedAt: r.approved_at,
  };
}

interface NoticeRow {
  notice_id: string;
  run_id: string;
  debtor_id: string;
  kind: 'dunning' | 'thanks';
  level: number;
  segment: string | null;
  strategy: string;
  strategy_version: number;
  variant: string;
  channel: string;
  template: string;
  tone: string | null;
  address_form: string | null;
  currency: string;
  total_minor: number;
  fee_minor: number;
  interest_minor: number;
  lump_sum_minor: number;
  scheduled_at: string | null;
  status: string;
  actions: unknown;
}

function noticeJson(n: NoticeRow): z.output<typeof NoticeSchema> {
  const a = (m: number) => amountJson(Number(m), n.currency);
  return {
    noticeId: n.notice_id,
    runId: n.run_id,
    debtorId: n.debtor_id,
    kind: n.kind,
    level: n.level,
    segment: n.segment,
    strategy: { name: n.strategy, version: n.strategy_version, variant: n.variant },
    channels: n.channel.split(','),
    template: n.template,
    tone: n.tone,
    address: n.address_form,
    total: a(n.total_minor),
    fee: a(n.fee_minor),
    interest: a(n.interest_minor),
    lumpSum: a(n.lump_sum_minor),
    due: a(Number(n.total_minor) + Number(n.fee_minor) + Number(n.interest_minor) + Number(n.lump_sum_minor)),
    scheduledAt: n.scheduled_at,
    status: n.status,
    actions: (n.actions ?? {}) as Record<string, unknown>,
  };
}

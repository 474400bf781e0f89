/**
 * Holds keep items out of dunning (DESIGN §7): disputes per item, promises to pay, payment plans, manual holds and
 * individual moratoria. They live in the `holds` table the gateway also writes (chargebacks); the run reads every
 * unresolved hold and decides promises and plans (kept, broken) itself, so a hold never needs a clock of its own.
 */
import { type Insertable, sql, type Transaction } from 'kysely';
import { checkCalendarDate } from '../domain/dates';
import { IntegrationError } from '../domain/errors';
import { event } from '../domain/events';
import { newId } from '../domain/ids';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import type { Database } from '../store/schema';

export const HOLD_KINDS = [
  'dispute',
  'chargeback',
  'promise',
  'plan',
  'moratorium',
  'manual',
  'agency',
  'final',
] as const;

export interface HoldView {
  holdId: string;
  debtorId: string;
  itemId: string | null;
  itemIds: string[] | null;
  kind: string;
  reason: string;
  reference: string | null;
  startsOn: string;
  endsOn: string | null;
  amountMinor: number | null;
  currency: string | null;
  instalments?: { seq: number; dueOn: string; amountMinor: number }[];
  resolvedAt: string | null;
  outcome: string | null;
  resolution: string | null;
  createdAt: string;
}

const checkDate = checkCalendarDate;
const today = () => new Date().toISOString().slice(0, 10);

async function itemOf(store: Store, tenantId: string, itemIdOrDocument: string) {
  const rows = await store.db
    .selectFrom('items')
    .select(['item_id', 'debtor_id', 'document_number', 'status', 'currency'])
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb.or([eb('item_id', '=', itemIdOrDocument), eb('document_number', '=', itemIdOrDocument)]))
    .execute();
  if (rows.length === 0) throw new IntegrationError(`no item "${itemIdOrDocument}"`, 'itemId');
  if (rows.length > 1)
    throw new IntegrationError(
      `"${itemIdOrDocument}" names ${rows.length} items (several sources); give the item id`,
      'itemId',
    );
  return rows[0]!;
}

async function debtorExists(store: Store, tenantId: string, debtorId: string): Promise<void> {
  const d = await store.db
    .selectFrom('debtors')
    .select('debtor_id')
    .where('tenant_id', '=', tenantId)
    .where('debtor_id', '=', debtorId)
    .executeTakeFirst();
  if (!d) throw new IntegrationError(`no debtor "${debtorId}"`, 'debtorId');
}

/**
 * Writes a new hold with its `hold.placed` event in one transaction. `withHold` writes what else belongs to the hold
 * (a plan's instalments) in the same transaction.
 */
async function insertHold(
  store: Store,
  tenantId: string,
  row: Omit<Insertable<Database['holds']>, 'tenant_id' | 'hold_id'>,
  withHold?: (trx: Transaction<Database>, holdId: string) => Promise<void>,
): Promise<HoldView> {
  const holdId = `hld-${newId()}`;
  await store.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('holds')
      .values({
        tenant_id: tenantId,
        hold_id: holdId,
        reference: null,
        ends_on: null,
        amount_minor: null,
        currency: null,
        item_ids: null,
        outcome: null,
        resolution: null,
        ...row,
      })
      .execute();
    await withHold?.(trx, holdId);
    await appendEvents(trx, [
      event(tenantId, 'hold.placed', `hold:${holdId}`, {
        holdId,
        debtorId: row.debtor_id,
        ...(row.item_id ? { itemId: row.item_id } : {}),
        kind: row.kind,
        reason: row.reason,
      }),
    ]);
  });
  return getHold(store, tenantId, holdId);
}

/**
 * Disputes an item: it leaves dunning until the dispute is resolved. One open dispute per item: disputing it again
 * returns the open one (`created: false`).
 */
export async function disputeItem(
  store: Store,
  i: { tenantId: string; itemId: string; reason: string; reference?: string; startsOn?: string },
): Promise<{ hold: HoldView; created: boolean }> {
  if (i.startsOn) checkDate(i.startsOn, 'startsOn');
  if (!i.reason.trim()) throw new IntegrationError('say why the item is disputed', 'reason');
  const item = await itemOf(store, i.tenantId, i.itemId);
  const open = await store.db
    .selectFrom('holds')
    .select('hold_id')
    .where('tenant_id', '=', i.tenantId)
    .where('item_id', '=', item.item_id)
    .where('kind', '=', 'dispute')
    .where('resolved_at', 'is', null)
    .executeTakeFirst();
  if (open) return { hold: await getHold(store, i.tenantId, open.hold_id), created: false };
  const hold = await insertHold(store, i.tenantId, {
    debtor_id: item.debtor_id,
    item_id: item.item_id,
    kind: 'dispute',
    reason: i.reason,
    reference: i.reference ?? null,
    starts_on: i.startsOn ?? today(),
  });
  return { hold, created: true };
}

/** A hold by hand (`manual`) or an individual moratorium, for a debtor or one item, optionally until a date. */
export async function placeHold(
  store: Store,
  i: {
    tenantId: string;
    debtorId?: string;
    itemId?: string;
    kind: 'manual' | 'moratorium';
    reason: string;
    startsOn?: string;
    endsOn?: string;
  },
): Promise<HoldView> {
  if (!i.reason.trim()) throw new IntegrationError('say why', 'reason');
  let debtorId = i.debtorId;
  let itemId: string | null = null;
  if (i.itemId) {
    const item = await itemOf(store, i.tenantId, i.itemId);
    if (debtorId && debtorId !== item.debtor_id)
      throw new IntegrationError(`item ${i.itemId} belongs to another debtor`, 'itemId');
    debtorId = item.debtor_id;
    itemId = item.item_id;
  }
  if (!debtorId) throw new IntegrationError('give a debtor or an item', 'debtorId');
  await debtorExists(store, i.tenantId, debtorId);
  const startsOn = i.startsOn ?? today();
  checkDate(startsOn, 'startsOn');
  if (i.endsOn) {
    checkDate(i.endsOn, 'endsOn');
    if (i.endsOn < startsOn) throw new IntegrationError(`must not be before startsOn (${startsOn})`, 'endsOn');
  }
  return insertHold(store, i.tenantId, {
    debtor_id: debtorId,
    item_id: itemId,
    kind: i.kind,
    reason: i.reason,
    starts_on: startsOn,
    ends_on: i.endsOn ?? null,
  });
}

async function openItemsOf(store: Store, tenantId: string, debtorId: string, itemIds?: readonly string[]) {
  let q = store.db
    .selectFrom('items')
    .select(['item_id', 'currency', 'open_minor'])
    .where('tenant_id', '=', tenantId)
    .where('debtor_id', '=', debtorId)
    .where('status', '=', 'open')
    .where('open_minor', '>', 0);
  if (itemIds?.length) q = q.where('item_id', 'in', [...itemIds]);
  const rows = await q.orderBy('due_date').orderBy('item_id').execute();
  if (itemIds?.length && rows.length !== new Set(itemIds).size) {
    const found = new Set(rows.map((r) => r.item_id));
    throw new IntegrationError(
      `not an open item of debtor ${debtorId}: ${itemIds.filter((x) => !found.has(x)).join(', ')}`,
      'itemIds',
    );
  }
  if (rows.length === 0) throw new IntegrationError(`debtor ${debtorId} has no open items`, 'debtorId');
  return rows;
}

async function noOtherOpen(store: Store, tenantId: string, debtorId: string, kind: 'promise' | 'plan'): Promise<void> {
  const open = await store.db
    .selectFrom('holds')
    .select('hold_id')
    .where('tenant_id', '=', tenantId)
    .where('debtor_id', '=', debtorId)
    .where('kind', '=', kind)
    .where('resolved_at', 'is', null)
    .executeTakeFirst();
  if (open) {
    throw new IntegrationError(
      `debtor ${debtorId} has an open ${kind === 'promise' ? 'promise to pay' : 'payment plan'} (${open.hold_id}); resolve it first`,
      'debtorId',
      { conflict: true },
    );
  }
}

/**
 * A promise to pay `amountMinor` by `promisedOn`: the covered items (default: the debtor's open items) leave dunning
 * until then. Paid in full → kept; not paid by the date plus the strategy's grace days → broken, and dunning resumes
 * at the strategy's level for broken promises.
 */
export async function promiseToPay(
  store: Store,
  i: {
    tenantId: string;
    debtorId: string;
    promisedOn: string;
    amountMinor: number;
    currency: string;
    itemIds?: readonly string[];
    reason?: string;
    /** When the promise was made. @defaultValue today */
    startsOn?: string;
  },
): Promise<HoldView> {
  checkDate(i.promisedOn, 'promisedOn');
  const startsOn = i.startsOn ?? today();
  checkDate(startsOn, 'startsOn');
  // A promise for a day already past when it was made would be broken by the next run before it could be kept.
  if (i.promisedOn < startsOn)
    throw new IntegrationError(`must not be before the day the promise was made (${startsOn})`, 'promisedOn');
  if (!Number.isSafeInteger(i.amountMinor) || i.amountMinor <= 0)
    throw new IntegrationError('must be a positive amount', 'amount');
  await debtorExists(store, i.tenantId, i.debtorId);
  await noOtherOpen(store, i.tenantId, i.debtorId, 'promise');
  const items = await openItemsOf(store, i.tenantId, i.debtorId, i.itemIds);
  if (items.some((x) => x.currency !== i.currency))
    throw new IntegrationError(`the items are in ${items[0]!.currency}, not ${i.currency}`, 'amount.currency');
  return insertHold(store, i.tenantId, {
    debtor_id: i.debtorId,
    item_id: null,
    kind: 'promise',
    reason: i.reason ?? 'promise to pay',
    starts_on: startsOn,
    ends_on: i.promisedOn,
    amount_minor: i.amountMinor,
    currency: i.currency,
    item_ids: JSON.stringify(items.map((x) => x.item_id)),
  });
}

/**
 * A payment plan: instalments with due dates. The covered items leave dunning while every instalment due (plus the
 * strategy's grace days) has been paid; a missed one breaks the plan and dunning resumes.
 */
export async function paymentPlan(
  store: Store,
  i: {
    tenantId: string;
    debtorId: string;
    currency: string;
    instalments: readonly { dueOn: string; amountMinor: number }[];
    itemIds?: readonly string[];
    reason?: string;
    /** When the plan was agreed. @defaultValue today */
    startsOn?: string;
  },
): Promise<HoldView> {
  const startsOn = i.startsOn ?? today();
  checkDate(startsOn, 'startsOn');
  if (i.instalments.length === 0) throw new IntegrationError('a plan needs at least one instalment', 'instalments');
  i.instalments.forEach((x, k) => {
    checkDate(x.dueOn, `instalments[${k}].dueOn`);
    if (!Number.isSafeInteger(x.amountMinor) || x.amountMinor <= 0)
      throw new IntegrationError('must be a positive amount', `instalments[${k}].amount`);
    const prev = i.instalments[k - 1];
    if (!prev && x.dueOn < startsOn)
      throw new IntegrationError(
        `must not be before the day the plan was agreed (${startsOn})`,
        `instalments[${k}].dueOn`,
      );
    if (prev && x.dueOn <= prev.dueOn)
      throw new IntegrationError(`must be after the previous instalment (${prev.dueOn})`, `instalments[${k}].dueOn`);
  });
  await debtorExists(store, i.tenantId, i.debtorId);
  await noOtherOpen(store, i.tenantId, i.debtorId, 'plan');
  const items = await openItemsOf(store, i.tenantId, i.debtorId, i.itemIds);
  if (items.some((x) => x.currency !== i.currency))
    throw new IntegrationError(`the items are in ${items[0]!.currency}, not ${i.currency}`, 'currency');
  return insertHold(
    store,
    i.tenantId,
    {
      debtor_id: i.debtorId,
      item_id: null,
      kind: 'plan',
      reason: i.reason ?? `payment plan, ${i.instalments.length} instalments`,
      starts_on: startsOn,
      ends_on: i.instalments.at(-1)!.dueOn,
      amount_minor: i.instalments.reduce((s, x) => s + x.amountMinor, 0),
      currency: i.currency,
      item_ids: JSON.stringify(items.map((x) => x.item_id)),
    },
    async (trx, holdId) => {
      await trx
        .insertInto('plan_instalments')
        .values(
          i.instalments.map((x, k) => ({
            tenant_id: i.tenantId,
            hold_id: holdId,
            seq: k + 1,
            due_on: x.dueOn,
            amount_minor: x.amountMinor,
          })),
        )
        .execute();
    },
  );
}

/** Resolves a hold by hand (a dispute settled, a hold lifted): the items go back into the strategy. */
export async function resolveHold(
  store: Store,
  i: { tenantId: string; holdId: string; resolution: string },
): Promise<HoldView> {
  await store.db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('holds')
      .set({ resolved_at: new Date().toISOString(), outcome: 'released', resolution: i.resolution })
      .where('tenant_id', '=', i.tenantId)
      .where('hold_id', '=', i.holdId)
      .where('resolved_at', 'is', null)
      .returning(['hold_id', 'kind'])
      .executeTakeFirst();
    if (!r) {
      const exists = await trx
        .selectFrom('holds')
        .select('resolved_at')
        .where('tenant_id', '=', i.tenantId)
        .where('hold_id', '=', i.holdId)
        .executeTakeFirst();
      throw new IntegrationError(exists ? `hold ${i.holdId} is resolved already` : `no hold ${i.holdId}`, 'holdId', {
        ...(exists ? { conflict: true } : { notFound: true }),
      });
    }
    await appendEvents(trx, [
      event(i.tenantId, 'hold.released', `hold:${r.hold_id}`, {
        holdId: r.hold_id,
        kind: r.kind,
        reason: i.resolution,
      }),
    ]);
  });
  return getHold(store, i.tenantId, i.holdId);
}

export async function getHold(store: Store, tenantId: string, holdId: string): Promise<HoldView> {
  const [h] = await listHolds(store, { tenantId, holdIds: [holdId], limit: 1 });
  if (!h) throw new IntegrationError(`no hold ${holdId}`, 'holdId', { notFound: true });
  return h;
}

export async function listHolds(
  store: Store,
  o: {
    tenantId: string;
    debtorId?: string;
    kind?: string;
    active?: boolean;
    holdIds?: readonly string[];
    cursor?: string;
    limit?: number;
  },
): Promise<HoldView[]> {
  let q = store.db.selectFrom('holds').selectAll().where('tenant_id', '=', o.tenantId);
  if (o.debtorId) q = q.where('debtor_id', '=', o.debtorId);
  if (o.kind) q = q.where('kind', '=', o.kind);
  if (o.active === true) q = q.where('resolved_at', 'is', null);
  if (o.active === false) q = q.where('resolved_at', 'is not', null);
  if (o.holdIds) q = q.where('hold_id', 'in', [...o.holdIds]);
  if (o.cursor) q = q.where('hold_id', '>', o.cursor);
  const rows = await q
    .orderBy('hold_id')
    .limit(o.limit ?? 100)
    .execute();
  const plans = rows.filter((r) => r.kind === 'plan').map((r) => r.hold_id);
  const inst = plans.length
    ? await store.db
        .selectFrom('plan_instalments')
        .select(['hold_id', 'seq', 'due_on', 'amount_minor'])
        .where('tenant_id', '=', o.tenantId)
        .where('hold_id', 'in', plans)
        .orderBy('hold_id')
        .orderBy('seq')
        .execute()
    : [];
  return rows.map((r) => ({
    holdId: r.hold_id,
    debtorId: r.debtor_id,
    itemId: r.item_id,
    itemIds: r.item_ids,
    kind: r.kind,
    reason: r.reason,
    reference: r.reference,
    startsOn: r.starts_on,
    endsOn: r.ends_on,
    amountMinor: r.amount_minor === null ? null : Number(r.amount_minor),
    currency: r.currency,
    ...(r.kind === 'plan'
      ? {
          instalments: inst
            .filter((x) => x.hold_id === r.hold_id)
            .map((x) => ({ seq: x.seq, dueOn: x.due_on, amountMinor: Number(x.amount_minor) })),
        }
      : {}),
    resolvedAt: r.resolved_at,
    outcome: r.outcome,
    resolution: r.resolution,
    createdAt: r.created_at,
  }));
}

/** Ids of the items a debtor's unresolved holds cover right now (for views; the run decides on its own). */
export async function heldItemIds(store: Store, tenantId: string, debtorId: string): Promise<string[]> {
  const r = await sql<{ item_id: string }>`
    SELECT DISTINCT i.item_id FROM items i JOIN holds h ON h.tenant_id = i.tenant_id AND h.debtor_id = i.debtor_id
    WHERE i.tenant_id = ${tenantId} AND i.debtor_id = ${debtorId} AND i.status = 'open' AND h.resolved_at IS NULL
      AND (h.item_id = i.item_id OR (h.item_id IS NULL AND (h.item_ids IS NULL OR h.item_ids ? i.item_id)))
    ORDER BY 1`.execute(store.db);
  return r.rows.map((x) => x.item_id);
}

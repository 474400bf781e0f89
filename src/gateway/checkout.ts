/**
 * The checkout (DESIGN §6): sessions for a debtor's open items or a free amount, the methods that debtor may be
 * offered, and payments through the router with their next action. Captures, cancellations and refunds of a
 * payment go to the provider that carries it. The HTTP API and the pay-link page are thin layers over this.
 */
import type { Transaction } from 'kysely';
import { ConnectorError, IntegrationError } from '../domain/errors';
import { event } from '../domain/events';
import { newId } from '../domain/ids';
import { phaseOf } from '../domain/payment-state';
import type { PaymentState } from '../domain/types';
import type { Store } from '../store/db';
import type { Database } from '../store/schema';
import {
  type ApplyOptions,
  type ApplyOutcome,
  applyRefund,
  applyState,
  lockPayment,
  type PaymentRow,
  reportOf,
  StaleRead,
  type StateReport,
} from './apply';
import { methodById, offerableMethods, type PaymentMethodEntry } from './catalogue';
import { type EligibilityHook, withdrawnBy } from './eligibility';
import type { NextAction, PaymentMethodData } from './providers/types';
import type { PaymentRouter, RouteResult, RouterAttempt } from './router';
import { type AllocatableItemRow, addEventRows } from './settlement';
import { insertRow, query, WriteStatement } from './statement';

/** Everything the gateway needs to know about one tenant. */
export interface TenantGateway {
  tenantId: string;
  country: string;
  currency: string;
  /** The tenant's `paymentMethods` in preference order. */
  methods: readonly { method: string; provider: string }[];
  router: PaymentRouter;
  eligibility: EligibilityHook;
  /** Configured providers that could not start (a credential missing from the environment), with the reason. */
  unavailable?: { provider: string; reason: string }[];
  sessionTtlMinutes: number;
  /** Base of return URLs when a caller gives none (the pay-link page). */
  publicUrl: string;
  /** Display name on the pay page. */
  name: string;
  languages: readonly string[];
  defaultLanguage: string;
  payLinkSecret: string;
  payLinkTtlDays: number;
}

export interface GatewayContext {
  store: Store;
  tenant(tenantId: string): TenantGateway;
}

export interface OfferedMethod {
  method: string;
  name: string;
  flow: string;
  provider: string;
}

export interface SessionItem {
  itemId: string;
  source: string;
  documentNumber: string;
  dueDate: string;
  openMinor: number;
  currency: string;
}

export interface PaymentView {
  paymentId: string;
  sessionId: string | null;
  state: PaymentState;
  method: string;
  provider: string;
  providerReference: string | null;
  amountMinor: number;
  currency: string;
  capturedMinor: number;
  refundedMinor: number;
  allocatedMinor: number;
  nextAction: NextAction | null;
  decline: unknown;
  attempts: RouterAttempt[];
}

export interface SessionView {
  sessionId: string;
  status: string;
  debtorId: string | null;
  amountMinor: number;
  currency: string;
  country: string;
  locale: string;
  items: SessionItem[];
  methods: OfferedMethod[];
  /** Methods the debtor may not be offered now, with the reason (shown to staff, not to the payer). */
  withdrawn: { method: string; reason: string }[];
  returnUrl: string | null;
  cancelUrl: string | null;
  expiresAt: string;
  payment: PaymentView | null;
}

export interface CreateSessionInput {
  debtorId?: string;
  /** The debtor's open items to pay; omitted with a debtor: all of them. */
  itemIds?: string[];
  /** A free amount (no items); with a debtor it is allocated oldest first when it arrives. */
  amountMinor?: number;
  currency?: string;
  country?: string;
  locale?: string;
  returnUrl?: string;
  cancelUrl?: string;
  description?: string;
}

/**
 * Writes of the caller that go into the checkout's own statements, so that a request costs no extra round trips:
 * the API's record of an `Idempotency-Key`. The checkout writes its rows only when the claim holds.
 */
export interface CheckoutRecord {
  /**
   * Adds the caller's claim to the checkout's first write; returns an SQL condition that holds when the claim is
   * this request's. `final` is the answer when that write is also the last.
   */
  claim(stmt: WriteStatement, final?: SessionView): string;
  /** The first write ran; `won` is the claim's condition. Throws when it is false (nothing was written). */
  claimed(won: boolean): void;
  /** Adds the answer to the checkout's last write (only when the answer is known before that write runs). */
  answer(stmt: WriteStatement, view: SessionView): void;
}

/** A session worked out in memory: what its row will hold and what the caller is answered. */
interface NewSession {
  view: SessionView;
  description: string | null;
  /** The items as read, for an allocation worked out from them. */
  items: AllocatableItemRow[];
}

const OPEN_ITEMS = `SELECT item_id, source, source_key, external_id, document_number, due_date, open_minor, currency
  FROM items WHERE tenant_id = $1 AND debtor_id = $2 AND status = 'open' AND open_minor > 0`;
const OPEN_ITEMS_ALL = `${OPEN_ITEMS} ORDER BY due_date, document_number`;
const OPEN_ITEMS_LISTED = `${OPEN_ITEMS} AND item_id = ANY($3::text[]) ORDER BY due_date, document_number`;
const DEBTOR_EXISTS = 'SELECT 1 AS found FROM debtors WHERE tenant_id = $1 AND debtor_id = $2';

/** Reads what a session needs (the debtor's open items, the methods it may be offered) and checks the input. */
async function prepareSession(ctx: GatewayContext, tenantId: string, input: CreateSessionInput): Promise<NewSession> {
  const t = ctx.tenant(tenantId);
  const db = ctx.store.db;
  const debtorExists = async (debtorId: string) => {
    if ((await query(db, DEBTOR_EXISTS, [tenantId, debtorId])).length === 0) {
      throw new IntegrationError(`no debtor ${debtorId}`, 'debtorId');
    }
  };
  let items: SessionItem[] = [];
  let read: AllocatableItemRow[] = [];
  let currency = input.currency ?? t.currency;
  let amountMinor: number;
  if (input.debtorId && input.amountMinor === undefined) {
    const rows = input.itemIds?.length
      ? await query<AllocatableItemRow>(db, OPEN_ITEMS_LISTED, [tenantId, input.debtorId, input.itemIds])
      : await query<AllocatableItemRow>(db, OPEN_ITEMS_ALL, [tenantId, input.debtorId]);
    const missing = input.itemIds?.length && rows.length !== new Set(input.itemIds).size;
    // An unknown debtor has no items either: told apart only when it matters, so the usual path reads once.
    if (rows.length === 0 || missing) await debtorExists(input.debtorId);
    if (missing) {
      const found = new Set(rows.map((r) => r.item_id));
      const notOpen = input.itemIds!.filter((i) => !found.has(i));
      throw new IntegrationError(`not open items of this debtor: ${notOpen.join(', ')}`, 'itemIds');
    }
    if (rows.length === 0) throw new IntegrationError('the debtor has no open items to pay', 'debtorId');
    const currencies = new Set(rows.map((r) => r.currency));
    if (currencies.size > 1) {
      throw new IntegrationError(
        `the items are in several currencies (${[...currencies].join(', ')}); pay them one currency at a time`,
        'itemIds',
      );
    }
    currency = rows[0]!.currency;
    if (input.currency && input.currency !== currency) {
      throw new IntegrationError(`the items are in ${currency}, not ${input.currency}`, 'currency');
    }
    items = rows.map(sessionItemOf);
    read = rows;
    amountMinor = items.reduce((s, i) => s + i.openMinor, 0);
  } else {
    if (input.debtorId && input.itemIds?.length) {
      throw new IntegrationError('give itemIds or an amount, not both', 'itemIds');
    }
    if (input.debtorId) await debtorExists(input.debtorId);
    if (input.itemIds?.length) throw new IntegrationError('items need a debtorId', 'debtorId');
    if (input.amountMinor === undefined) throw new IntegrationError('give a debtorId or an amount', 'amount');
    amountMinor = input.amountMinor;
  }
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
    throw new IntegrationError('must be a positive amount', 'amount');
  }
  const country = input.country ?? t.country;
  const { methods, withdrawn } = await offerFor(t, {
    tenantId,
    debtorId: input.debtorId ?? null,
    amountMinor,
    currency,
    country,
  });
  return {
    view: {
      sessionId: newId(),
      status: 'open',
      debtorId: input.debtorId ?? null,
      amountMinor,
      currency,
      country,
      locale: input.locale ?? `${country === 'DE' || country === 'AT' ? 'de' : 'en'}-${country}`,
      items,
      methods,
      withdrawn,
      returnUrl: input.returnUrl ?? null,
      cancelUrl: input.cancelUrl ?? null,
      expiresAt: new Date(Date.now() + t.sessionTtlMinutes * 60_000).toISOString(),
      payment: null,
    },
    description: input.description ?? null,
    items: read,
  };
}

const sessionItemOf = (
  r: Pick<AllocatableItemRow, 'item_id' | 'source' | 'document_number' | 'due_date' | 'open_minor' | 'currency'>,
): SessionItem => ({
  itemId: r.item_id,
  source: r.source,
  documentNumber: r.document_number,
  dueDate: r.due_date,
  openMinor: r.open_minor,
  currency: r.currency,
});

/** Adds the session's row to `stmt`, written only when `when` holds. */
function addSessionRow(
  stmt: WriteStatement,
  tenantId: string,
  s: NewSession,
  state: { status: string; paymentId: string | null },
  when?: string,
): void {
  const v = s.view;
  insertRow(
    stmt,
    'checkout_sessions',
    {
      tenant_id: tenantId,
      session_id: v.sessionId,
      debtor_id: v.debtorId,
      item_ids: [JSON.stringify(v.items.map((i) => i.itemId)), 'jsonb'],
      currency: v.currency,
      amount_minor: [v.amountMinor, 'bigint'],
      country: v.country,
      locale: v.locale,
      return_url: v.returnUrl,
      cancel_url: v.cancelUrl,
      description: s.description,
      methods: [JSON.stringify(v.methods), 'jsonb'],
      status: state.status,
      payment_id: state.paymentId,
      expires_at: [v.expiresAt, 'timestamptz'],
    },
    { when },
  );
}

export async function createSession(
  ctx: GatewayContext,
  tenantId: string,
  input: CreateSessionInput,
  record?: CheckoutRecord,
): Promise<SessionView> {
  const s = await prepareSession(ctx, tenantId, input);
  const stmt = new WriteStatement();
  const claim = record?.claim(stmt, s.view);
  addSessionRow(stmt, tenantId, s, { status: 'open', paymentId: null }, claim);
  const [r] = await stmt.execute<{ claimed: boolean }>(ctx.store.db, `SELECT ${claim ?? 'true'} AS claimed`);
  record?.claimed(r!.claimed);
  return s.view;
}

/**
 * Creates a session and starts paying it at once (the shop's backend that already has the payer's card token): one
 * statement writes the session and its payment (`created`, requested: a status sync falls due should its answer never
 * be recorded), the provider is called outside any transaction, and one statement records the answer (state,
 * allocation, outbox, events), checking that the payment and its items are as written and read; if not, the answer is
 * recorded again under locks. The caller is answered from what was written, not from a read back.
 */
export async function createAndPaySession(
  ctx: GatewayContext,
  tenantId: string,
  input: CreateSessionInput,
  pay: PayInput,
  record?: CheckoutRecord,
): Promise<SessionView> {
  const t = ctx.tenant(tenantId);
  const method = methodById(pay.method);
  if (!method) throw new IntegrationError(`unknown payment method "${pay.method}"`, 'method');
  const s = await prepareSession(ctx, tenantId, input);
  const offered = offeredFor(s.view.methods, method.id, pay.provider);
  const paymentId = newId();
  const start: PaymentStart = {
    paymentId,
    sessionId: s.view.sessionId,
    debtorId: s.view.debtorId,
    method: method.id,
    provider: offered.provider,
    amountMinor: s.view.amountMinor,
    currency: s.view.currency,
    capture: pay.capture ?? 'automatic',
    itemIds: s.view.items.map((i) => i.itemId),
    attempt: 1,
  };
  const stmt = new WriteStatement();
  const claim = record?.claim(stmt);
  addSessionRow(stmt, tenantId, s, { status: 'processing', paymentId }, claim);
  addPaymentStart(stmt, tenantId, start, claim);
  const [r] = await stmt.execute<{ claimed: boolean }>(ctx.store.db, `SELECT ${claim ?? 'true'} AS claimed`);
  record?.claimed(r!.claimed);

  const routed = await route(t, method, offered, pay, start, {
    returnUrl: s.view.returnUrl,
    country: s.view.country,
    locale: s.view.locale,
    description: s.description,
  });
  let view: SessionView = { ...s.view, status: 'processing' };
  const exact = await recordAnswer(
    ctx,
    tenantId,
    start,
    routed,
    (row, outcome, stmt, report) => {
      // Nobody else moved the payment since it was written: the answer follows from what this request wrote.
      if (outcome.from !== 'created') return false;
      const open = new Map(outcome.items?.map((i) => [i.itemId, i.openMinor]));
      const status = outcome.sessionStatus ?? 'processing';
      view = {
        ...s.view,
        status,
        items: s.view.items.map((i) => (open.has(i.itemId) ? { ...i, openMinor: open.get(i.itemId)! } : i)),
        // A declined attempt leaves the session open, and the answer says why (as paying an open session does).
        payment: paymentViewOf(row, start.method, report, routed.attempts),
      };
      record?.answer(stmt, view);
      return true;
    },
    // The items it pays, as read. A debtor's free amount goes to whatever is open when it arrives: read then.
    s.items.length > 0 || !s.view.debtorId ? s.items : undefined,
  );
  if (exact) return view;
  const now = await getSession(ctx, tenantId, s.view.sessionId);
  now.withdrawn = s.view.withdrawn;
  return now;
}

/** The methods this debtor may be offered for this amount, and those withdrawn with the reason. */
export async function offerFor(
  t: TenantGateway,
  q: { tenantId: string; debtorId: string | null; amountMinor: number; currency: string; country: string },
): Promise<{ methods: OfferedMethod[]; withdrawn: { method: string; reason: string }[] }> {
  const offers = offerableMethods({
    country: q.country,
    currency: q.currency,
    amountMinor: q.amountMinor,
    tenantMethods: t.methods,
    providers: t.methods.map((m) => m.provider).filter((p) => t.router.has(p)),
  });
  const withdrawals = await t.eligibility(q);
  const methods: OfferedMethod[] = [];
  const withdrawn: { method: string; reason: string }[] = [];
  for (const o of offers) {
    const reason = withdrawnBy(o.method, withdrawals);
    if (reason) withdrawn.push({ method: o.method.id, reason });
    else methods.push({ method: o.method.id, name: o.method.name, flow: o.method.flow, provider: o.provider });
  }
  return { methods, withdrawn };
}

export async function getSession(ctx: GatewayContext, tenantId: string, sessionId: string): Promise<SessionView> {
  const db = ctx.store.db;
  const s = await db
    .selectFrom('checkout_sessions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('session_id', '=', sessionId)
    .executeTakeFirst();
  if (!s) throw new IntegrationError(`no checkout session ${sessionId}`, 'sessionId', { notFound: true });
  const itemIds = s.item_ids;
  const items = itemIds.length
    ? await db
        .selectFrom('items')
        .select(['item_id', 'source', 'document_number', 'due_date', 'open_minor', 'currency'])
        .where('tenant_id', '=', tenantId)
        .where('item_id', 'in', itemIds)
        .orderBy('due_date')
        .orderBy('document_number')
        .execute()
    : [];
  const expired = s.status === 'open' && Date.parse(s.expires_at) < Date.now();
  return {
    sessionId: s.session_id,
    status: expired ? 'expired' : s.status,
    debtorId: s.debtor_id,
    amountMinor: s.amount_minor,
    currency: s.currency,
    country: s.country,
    locale: s.locale,
    items: items.map(sessionItemOf),
    methods: s.methods,
    withdrawn: [],
    returnUrl: s.return_url,
    cancelUrl: s.cancel_url,
    expiresAt: s.expires_at,
    payment: s.payment_id ? await getPayment(ctx, tenantId, s.payment_id) : null,
  };
}

export interface PayInput {
  method: string;
  /** Only this provider, if the caller insists (it must carry the method for the tenant). */
  provider?: string;
  methodData?: PaymentMethodData;
  capture?: 'automatic' | 'manual';
  payer?: { name?: string; email?: string };
}

/**
 * Starts the payment of a session with the chosen method. A session has at most one live payment: paying it again
 * while one is in flight returns that payment; after a decline or cancellation the payer may try again.
 */
export async function paySession(
  ctx: GatewayContext,
  tenantId: string,
  sessionId: string,
  input: PayInput,
): Promise<PaymentView> {
  const t = ctx.tenant(tenantId);
  const method = methodById(input.method);
  if (!method) throw new IntegrationError(`unknown payment method "${input.method}"`, 'method');
  const claimed = await ctx.store.db.transaction().execute(async (trx) => {
    const [s] = await query<SessionRow>(trx, LOCK_SESSION, [tenantId, sessionId]);
    if (!s) throw new IntegrationError(`no checkout session ${sessionId}`, 'sessionId', { notFound: true });
    if (s.payment_id) return { existing: s.payment_id };
    if (s.status !== 'open') throw new IntegrationError(`the session is ${s.status}`, 'sessionId', { conflict: true });
    if (Date.parse(s.expires_at) < Date.now()) {
      throw new IntegrationError('the session has expired; create a new one', 'sessionId', { conflict: true });
    }
    const offered = offeredFor(s.methods, method.id, input.provider);
    const start: PaymentStart = {
      paymentId: newId(),
      sessionId,
      debtorId: s.debtor_id,
      method: method.id,
      provider: offered.provider,
      amountMinor: s.amount_minor,
      currency: s.currency,
      capture: input.capture ?? 'automatic',
      itemIds: s.item_ids,
      attempt: s.attempts + 1,
    };
    const stmt = new WriteStatement();
    addPaymentStart(stmt, tenantId, start);
    stmt.add(
      `UPDATE checkout_sessions SET status = 'processing', payment_id = ${stmt.param(start.paymentId)},
         updated_at = ${stmt.param(new Date().toISOString(), 'timestamptz')}
       WHERE tenant_id = ${stmt.param(tenantId)} AND session_id = ${stmt.param(sessionId)}`,
    );
    await stmt.execute(trx);
    return { existing: undefined, session: s, start, offered };
  });
  if (claimed.existing) return getPayment(ctx, tenantId, claimed.existing);

  const { session: s, start, offered } = claimed as Required<typeof claimed>;
  const routed = await route(t, method, offered, input, start, {
    returnUrl: s.return_url,
    country: s.country,
    locale: s.locale,
    description: s.description,
  });
  let view: PaymentView | undefined;
  await recordAnswer(ctx, tenantId, start, routed, (row, outcome, _stmt, report) => {
    if (outcome.from !== 'created') return false;
    view = paymentViewOf(row, start.method, report, routed.attempts);
    return true;
  });
  return view ?? getPayment(ctx, tenantId, start.paymentId);
}

/** The session row as paying it needs it, locked, with the number of payments tried on it so far. */
interface SessionRow {
  debtor_id: string | null;
  item_ids: string[];
  currency: string;
  amount_minor: number;
  country: string;
  locale: string;
  return_url: string | null;
  description: string | null;
  methods: OfferedMethod[];
  status: string;
  payment_id: string | null;
  expires_at: string;
  attempts: number;
}

const LOCK_SESSION = `SELECT s.debtor_id, s.item_ids, s.currency, s.amount_minor, s.country, s.locale, s.return_url,
    s.description, s.methods, s.status, s.payment_id, s.expires_at,
    (SELECT count(*) FROM payments p WHERE p.tenant_id = s.tenant_id AND p.session_id = s.session_id) AS attempts
  FROM checkout_sessions s WHERE s.tenant_id = $1 AND s.session_id = $2 FOR UPDATE`;

/** The offered method the payer chose (through `provider`, when the caller insists on one). */
function offeredFor(methods: readonly OfferedMethod[], methodId: string, provider?: string): OfferedMethod {
  const offered = methods.find((m) => m.method === methodId && (!provider || m.provider === provider));
  if (!offered) {
    throw new IntegrationError(
      `${methodId}${provider ? ` via ${provider}` : ''} is not offered in this session (offered: ${methods.map((m) => m.method).join(', ') || 'none'})`,
      'method',
    );
  }
  return offered;
}

/** A payment of a session as it is written before the provider is called. */
interface PaymentStart {
  paymentId: string;
  sessionId: string;
  debtorId: string | null;
  method: string;
  provider: string;
  amountMinor: number;
  currency: string;
  capture: 'automatic' | 'manual';
  itemIds: string[];
  /** The how-many-th payment of the session this is: its idempotency key. */
  attempt: number;
}

/** How long a payment whose request went out may wait for its answer to be recorded before a status sync asks. */
const ANSWER_DUE_SECONDS = 120;

/**
 * Adds the payment's row (`created`, a status sync due in case its answer is never recorded: the process may stop
 * while the provider is called) and its `payment.recorded` event, written only when `when` holds.
 */
function addPaymentStart(stmt: WriteStatement, tenantId: string, p: PaymentStart, when?: string): void {
  insertRow(
    stmt,
    'payments',
    {
      tenant_id: tenantId,
      payment_id: p.paymentId,
      debtor_id: p.debtorId,
      method: p.method,
      provider: p.provider,
      merchant_reference: p.paymentId,
      currency: p.currency,
      amount_minor: [p.amountMinor, 'bigint'],
      state: 'created',
      idempotency_key: `checkout:${p.sessionId}:${p.attempt}`,
      session_id: p.sessionId,
      capture_mode: p.capture,
      item_ids: [JSON.stringify(p.itemIds), 'jsonb'],
      sync_due_at: [new Date(Date.now() + ANSWER_DUE_SECONDS * 1000).toISOString(), 'timestamptz'],
    },
    { when },
  );
  addEventRows(
    stmt,
    [
      event(tenantId, 'payment.recorded', `payment:${p.paymentId}`, {
        paymentId: p.paymentId,
        amountMinor: p.amountMinor,
        currency: p.currency,
        method: p.method,
      }),
    ],
    when,
  );
}

/** Asks the router to create the payment at the providers that carry the method (outside any transaction). */
async function route(
  t: TenantGateway,
  method: PaymentMethodEntry,
  offered: OfferedMethod,
  input: PayInput,
  p: PaymentStart,
  s: { returnUrl: string | null; country: string; locale: string; description: string | null },
): Promise<RouteResult> {
  const carriers = input.provider
    ? [offered.provider]
    : t.methods.filter((m) => methodById(m.method)?.id === method.id).map((m) => m.provider);
  const candidates = (carriers.length ? carriers : [offered.provider])
    .filter((c, i, all) => all.indexOf(c) === i)
    .map((c) => ({
      provider: c,
      providerType: method.providers[c as keyof typeof method.providers]?.type ?? method.id,
    }));
  return t.router.create(candidates, {
    paymentId: p.paymentId,
    idempotencyKey: `payment:${p.paymentId}:create`,
    amountMinor: p.amountMinor,
    currency: p.currency,
    method: method.id,
    capture: p.capture,
    returnUrl: returnUrlOf(t, s.returnUrl, p.paymentId),
    country: s.country,
    locale: s.locale,
    ...(s.description ? { description: s.description } : {}),
    payer: { ...(p.debtorId ? { debtorId: p.debtorId } : {}), ...input.payer },
    ...(input.methodData ? { methodData: input.methodData } : {}),
  });
}

/**
 * Records the router's answer: the provider that answered and the attempts, then the state with everything that
 * follows (an indeterminate outcome is `pending` with a status sync due, never failed). `viewed` sees the payment as
 * it is being written and may add to the same statement; it returns whether it could tell the answer from that (this
 * function then returns true). With `readItems` (the payment's open items as read before it was written), it first
 * tries without locks.
 */
async function recordAnswer(
  ctx: GatewayContext,
  tenantId: string,
  p: PaymentStart,
  routed: RouteResult,
  viewed: (row: PaymentRow, outcome: ApplyOutcome, stmt: WriteStatement, report: StateReport) => boolean,
  readItems?: readonly AllocatableItemRow[],
): Promise<boolean> {
  const report: StateReport =
    routed.kind === 'answered'
      ? reportOf(routed.payment)
      : routed.kind === 'indeterminate'
        ? // The money may have moved: pending until the webhook or the status sync says what happened.
          { status: 'pending', providerStatus: 'indeterminate' }
        : {
            status: 'failed',
            providerStatus: 'unavailable',
            decline: { code: 'processing_error', providerCode: 'no_provider', message: routed.error.message },
          };
  let exact = false;
  const opts = (row: PaymentRow): ApplyOptions => ({
    set: { ...(routed.kind === 'unavailable' ? {} : { provider: routed.provider }), attempts: routed.attempts },
    ...(routed.kind === 'indeterminate' ? { syncDueAt: new Date(Date.now() + 30_000).toISOString() } : {}),
    alsoWrite: (stmt, outcome) => {
      exact = viewed(row, outcome, stmt, report);
    },
  });
  if (readItems) {
    // Usually nothing has touched the payment or its items since this request wrote and read them: one statement
    // that checks so, without a transaction or locks. When something did, it writes nothing and the answer is
    // recorded under locks below.
    const row = startedRow(tenantId, p);
    try {
      await applyState(ctx.store.db, row, report, { ...opts(row), unlocked: { items: readItems } });
      return exact;
    } catch (err) {
      if (!(err instanceof StaleRead)) throw err;
    }
  }
  await ctx.store.db.transaction().execute(async (trx) => {
    const row = await lockPayment(trx, tenantId, p.paymentId);
    if (!row) throw new Error(`payment ${p.paymentId} vanished while its provider was called`);
    await applyState(trx, row, report, opts(row));
  });
  return exact;
}

/** The payment's row as {@link addPaymentStart} writes it. */
function startedRow(tenantId: string, p: PaymentStart): PaymentRow {
  return {
    tenant_id: tenantId,
    payment_id: p.paymentId,
    debtor_id: p.debtorId,
    state: 'created',
    amount_minor: p.amountMinor,
    currency: p.currency,
    captured_minor: 0,
    refunded_minor: 0,
    allocated_minor: 0,
    item_ids: p.itemIds,
    session_id: p.sessionId,
    provider: p.provider,
    provider_reference: null,
  };
}

function returnUrlOf(t: TenantGateway, given: string | null, paymentId: string): string {
  const base = given ?? `${t.publicUrl.replace(/\/$/, '')}/pay/return`;
  return `${base}${base.includes('?') ? '&' : '?'}clearhub_payment=${encodeURIComponent(paymentId)}`;
}

async function markSyncDue(trx: Transaction<Database>, tenantId: string, paymentId: string, seconds: number) {
  await trx
    .updateTable('payments')
    .set({ sync_due_at: new Date(Date.now() + seconds * 1000).toISOString() })
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .execute();
}

/** The payer is back from a redirect: the provider finishes the payment (or tells us it was not approved). */
export async function completePayment(
  ctx: GatewayContext,
  tenantId: string,
  paymentId: string,
  returnParams: Record<string, string>,
): Promise<PaymentView> {
  const t = ctx.tenant(tenantId);
  const row = await readPayment(ctx, tenantId, paymentId);
  if (phaseOf(row.state as PaymentState) !== 'open' || !row.provider_reference) {
    return getPayment(ctx, tenantId, paymentId);
  }
  const provider = t.router.provider(row.provider);
  const capture = (row as PaymentRow & { capture_mode: string }).capture_mode === 'manual' ? 'manual' : 'automatic';
  await callProvider(ctx, tenantId, paymentId, () =>
    provider.complete(row.provider_reference!, {
      paymentId,
      idempotencyKey: `payment:${paymentId}:complete`,
      returnParams,
      capture,
    }),
  );
  return getPayment(ctx, tenantId, paymentId);
}

export async function capturePayment(
  ctx: GatewayContext,
  tenantId: string,
  paymentId: string,
  input: { amountMinor?: number; sequence: string },
): Promise<PaymentView> {
  const t = ctx.tenant(tenantId);
  const row = await readPayment(ctx, tenantId, paymentId);
  if (row.state !== 'authorized') {
    if (row.state === 'succeeded') return getPayment(ctx, tenantId, paymentId);
    throw new IntegrationError(`only an authorized payment can be captured; this one is ${row.state}`, 'paymentId', {
      conflict: true,
    });
  }
  if (input.amountMinor !== undefined && (input.amountMinor <= 0 || input.amountMinor > row.amount_minor)) {
    throw new IntegrationError(`must be between 0.01 and the authorised amount`, 'amount');
  }
  const provider = t.router.provider(row.provider);
  await callProvider(ctx, tenantId, paymentId, () =>
    provider.capture(row.provider_reference!, {
      paymentId,
      currency: row.currency,
      // Always the amount: a provider that did not create the payment in this process (Adyen) cannot know it.
      amountMinor: input.amountMinor ?? row.amount_minor,
      idempotencyKey: `payment:${paymentId}:capture:${input.sequence}`,
    }),
  );
  return getPayment(ctx, tenantId, paymentId);
}

export async function cancelPayment(ctx: GatewayContext, tenantId: string, paymentId: string): Promise<PaymentView> {
  const t = ctx.tenant(tenantId);
  const row = await readPayment(ctx, tenantId, paymentId);
  const phase = phaseOf(row.state as PaymentState);
  if (phase === 'dead') return getPayment(ctx, tenantId, paymentId);
  if (phase === 'settled' || phase === 'reversed') {
    throw new IntegrationError(`a ${row.state} payment cannot be canceled; refund it`, 'paymentId', { conflict: true });
  }
  if (!row.provider_reference) {
    await ctx.store.db.transaction().execute(async (trx) => {
      const locked = (await lockPayment(trx, tenantId, paymentId))!;
      await applyState(trx, locked, { status: 'canceled', providerStatus: 'canceled_before_provider' });
    });
    return getPayment(ctx, tenantId, paymentId);
  }
  const provider = t.router.provider(row.provider);
  await callProvider(ctx, tenantId, paymentId, () =>
    provider.cancel(row.provider_reference!, { paymentId, idempotencyKey: `payment:${paymentId}:cancel` }),
  );
  return getPayment(ctx, tenantId, paymentId);
}

export interface RefundView {
  refundId: string;
  paymentId: string;
  amountMinor: number;
  currency: string;
  status: string;
}

/** Refunds part or all of a settled payment; `refundId` is the caller's business id (a repeat refunds once). */
export async function refundPayment(
  ctx: GatewayContext,
  tenantId: string,
  paymentId: string,
  input: { refundId: string; amountMinor?: number; reason?: string },
): Promise<RefundView> {
  const t = ctx.tenant(tenantId);
  const db = ctx.store.db;
  const row = await readPayment(ctx, tenantId, paymentId);
  const prior = await db
    .selectFrom('refunds')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('refund_id', '=', input.refundId)
    .executeTakeFirst();
  if (prior && prior.payment_id !== paymentId) {
    throw new IntegrationError('this refund id belongs to another payment', 'refundId', { conflict: true });
  }
  if (prior && prior.status !== 'failed') return refundView(prior);
  if (row.state !== 'succeeded' && row.state !== 'partially_refunded') {
    throw new IntegrationError(`only a paid payment can be refunded; this one is ${row.state}`, 'paymentId', {
      conflict: true,
    });
  }
  const pending = await db
    .selectFrom('refunds')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount_minor'), eb.lit(0)).as('sum'))
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  const refundable = (row.captured_minor || row.amount_minor) - row.refunded_minor - Number(pending.sum);
  const amount = input.amountMinor ?? refundable;
  if (!Number.isSafeInteger(amount) || amount <= 0 || amount > refundable) {
    throw new IntegrationError(`must be positive and at most the refundable ${refundable} minor units`, 'amount');
  }
  await db
    .insertInto('refunds')
    .values({
      tenant_id: tenantId,
      refund_id: input.refundId,
      payment_id: paymentId,
      amount_minor: amount,
      currency: row.currency,
      status: 'pending',
      reason: input.reason ?? null,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'refund_id']).doUpdateSet({ status: 'pending' }))
    .execute();
  const provider = t.router.provider(row.provider);
  try {
    const r = await provider.refund(row.provider_reference!, {
      paymentId,
      refundId: input.refundId,
      amountMinor: amount,
      currency: row.currency,
      idempotencyKey: `payment:${paymentId}:refund:${input.refundId}`,
      ...(input.reason ? { reason: input.reason } : {}),
    });
    await db.transaction().execute(async (trx) => {
      const locked = (await lockPayment(trx, tenantId, paymentId))!;
      await applyRefund(trx, locked, {
        refundId: input.refundId,
        providerRefundReference: r.providerRefundReference,
        amountMinor: amount,
        status: r.status,
      });
    });
  } catch (err) {
    if (!(err instanceof ConnectorError && err.indeterminate)) {
      await db
        .updateTable('refunds')
        .set({ status: 'failed', updated_at: new Date().toISOString() })
        .where('tenant_id', '=', tenantId)
        .where('refund_id', '=', input.refundId)
        .execute();
    }
    throw err;
  }
  const now = await db
    .selectFrom('refunds')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('refund_id', '=', input.refundId)
    .executeTakeFirstOrThrow();
  return refundView(now);
}

function refundView(r: {
  refund_id: string;
  payment_id: string;
  amount_minor: number;
  currency: string;
  status: string;
}): RefundView {
  return {
    refundId: r.refund_id,
    paymentId: r.payment_id,
    amountMinor: r.amount_minor,
    currency: r.currency,
    status: r.status,
  };
}

/**
 * Calls the provider and applies its answer. An indeterminate failure leaves the payment as it is and schedules a
 * status sync; the caller gets the error (answered 502/504 by the API: "pending, do not retry blindly").
 */
async function callProvider(
  ctx: GatewayContext,
  tenantId: string,
  paymentId: string,
  call: () => Promise<import('./providers/types').ProviderPayment>,
): Promise<void> {
  try {
    const answer = await call();
    await ctx.store.db.transaction().execute(async (trx) => {
      const row = (await lockPayment(trx, tenantId, paymentId))!;
      await applyState(trx, row, reportOf(answer));
    });
  } catch (err) {
    if (err instanceof ConnectorError && err.indeterminate) {
      await ctx.store.db.transaction().execute((trx) => markSyncDue(trx, tenantId, paymentId, 30));
    }
    throw err;
  }
}

async function readPayment(ctx: GatewayContext, tenantId: string, paymentId: string) {
  const row = await ctx.store.db
    .selectFrom('payments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .executeTakeFirst();
  if (!row) throw new IntegrationError(`no payment ${paymentId}`, 'paymentId', { notFound: true });
  return row;
}

/** A payment's view from its row as just written and the report it was written from (no read back). */
function paymentViewOf(row: PaymentRow, method: string, report: StateReport, attempts: RouterAttempt[]): PaymentView {
  return {
    paymentId: row.payment_id,
    sessionId: row.session_id,
    state: row.state as PaymentState,
    method,
    provider: row.provider,
    providerReference: row.provider_reference,
    amountMinor: row.amount_minor,
    currency: row.currency,
    capturedMinor: row.captured_minor,
    refundedMinor: row.refunded_minor,
    allocatedMinor: row.allocated_minor,
    nextAction: report.nextAction ?? null,
    decline: report.decline ?? null,
    attempts,
  };
}

export async function getPayment(ctx: GatewayContext, tenantId: string, paymentId: string): Promise<PaymentView> {
  const p = await readPayment(ctx, tenantId, paymentId);
  return {
    paymentId: p.payment_id,
    sessionId: p.session_id,
    state: p.state as PaymentState,
    method: p.method,
    provider: p.provider,
    providerReference: p.provider_reference,
    amountMinor: p.amount_minor,
    currency: p.currency,
    capturedMinor: p.captured_minor,
    refundedMinor: p.refunded_minor,
    allocatedMinor: p.allocated_minor,
    nextAction: (p.next_action as NextAction | null) ?? null,
    decline: p.decline ?? null,
    attempts: p.attempts as RouterAttempt[],
  };
}

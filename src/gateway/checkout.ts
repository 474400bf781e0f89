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
import { appendEvents } from '../store/events';
import type { Database } from '../store/schema';
import { applyRefund, applyState, lockPayment, type PaymentRow, reportOf } from './apply';
import { methodById, offerableMethods } from './catalogue';
import { type EligibilityHook, withdrawnBy } from './eligibility';
import type { NextAction, PaymentMethodData } from './providers/types';
import type { PaymentRouter, RouterAttempt } from './router';

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

export async function createSession(
  ctx: GatewayContext,
  tenantId: string,
  input: CreateSessionInput,
): Promise<SessionView> {
  const t = ctx.tenant(tenantId);
  const db = ctx.store.db;
  let items: SessionItem[] = [];
  let currency = input.currency ?? t.currency;
  let amountMinor: number;
  if (input.debtorId) {
    const debtor = await db
      .selectFrom('debtors')
      .select('debtor_id')
      .where('tenant_id', '=', tenantId)
      .where('debtor_id', '=', input.debtorId)
      .executeTakeFirst();
    if (!debtor) throw new IntegrationError(`no debtor ${input.debtorId}`, 'debtorId');
  }
  if (input.debtorId && input.amountMinor === undefined) {
    let q = db
      .selectFrom('items')
      .select(['item_id', 'source', 'document_number', 'due_date', 'open_minor', 'currency'])
      .where('tenant_id', '=', tenantId)
      .where('debtor_id', '=', input.debtorId)
      .where('status', '=', 'open')
      .where('open_minor', '>', 0);
    if (input.itemIds?.length) q = q.where('item_id', 'in', input.itemIds);
    const rows = await q.orderBy('due_date').orderBy('document_number').execute();
    if (input.itemIds?.length && rows.length !== new Set(input.itemIds).size) {
      const found = new Set(rows.map((r) => r.item_id));
      const missing = input.itemIds.filter((i) => !found.has(i));
      throw new IntegrationError(`not open items of this debtor: ${missing.join(', ')}`, 'itemIds');
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
    items = rows.map((r) => ({
      itemId: r.item_id,
      source: r.source,
      documentNumber: r.document_number,
      dueDate: r.due_date,
      openMinor: r.open_minor,
      currency: r.currency,
    }));
    amountMinor = items.reduce((s, i) => s + i.openMinor, 0);
  } else {
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
  const sessionId = newId();
  const expiresAt = new Date(Date.now() + t.sessionTtlMinutes * 60_000).toISOString();
  await db
    .insertInto('checkout_sessions')
    .values({
      tenant_id: tenantId,
      session_id: sessionId,
      debtor_id: input.debtorId ?? null,
      item_ids: JSON.stringify(items.map((i) => i.itemId)),
      currency,
      amount_minor: amountMinor,
      country,
      locale: input.locale ?? `${country === 'DE' || country === 'AT' ? 'de' : 'en'}-${country}`,
      return_url: input.returnUrl ?? null,
      cancel_url: input.cancelUrl ?? null,
      description: input.description ?? null,
      methods: JSON.stringify(methods),
      status: 'open',
      expires_at: expiresAt,
    })
    .execute();
  const view = await getSession(ctx, tenantId, sessionId);
  view.withdrawn = withdrawn;
  return view;
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
    items: items.map((r) => ({
      itemId: r.item_id,
      source: r.source,
      documentNumber: r.document_number,
      dueDate: r.due_date,
      openMinor: r.open_minor,
      currency: r.currency,
    })),
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
    const s = await trx
      .selectFrom('checkout_sessions')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .forUpdate()
      .executeTakeFirst();
    if (!s) throw new IntegrationError(`no checkout session ${sessionId}`, 'sessionId', { notFound: true });
    if (s.payment_id) return { existing: s.payment_id };
    if (s.status !== 'open') throw new IntegrationError(`the session is ${s.status}`, 'sessionId', { conflict: true });
    if (Date.parse(s.expires_at) < Date.now()) {
      throw new IntegrationError('the session has expired; create a new one', 'sessionId', { conflict: true });
    }
    const offered = s.methods.find((m) => m.method === method.id && (!input.provider || m.provider === input.provider));
    if (!offered) {
      throw new IntegrationError(
        `${method.id}${input.provider ? ` via ${input.provider}` : ''} is not offered in this session (offered: ${s.methods.map((m) => m.method).join(', ') || 'none'})`,
        'method',
      );
    }
    const paymentId = newId();
    const attempt = await trx
      .selectFrom('payments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('payments')
      .values({
        tenant_id: tenantId,
        payment_id: paymentId,
        debtor_id: s.debtor_id,
        method: method.id,
        provider: offered.provider,
        merchant_reference: paymentId,
        provider_reference: null,
        currency: s.currency,
        amount_minor: s.amount_minor,
        state: 'created',
        idempotency_key: `checkout:${sessionId}:${Number(attempt.n) + 1}`,
        request_fingerprint: null,
        session_id: sessionId,
        capture_mode: input.capture ?? 'automatic',
        item_ids: JSON.stringify(s.item_ids),
      })
      .execute();
    await trx
      .updateTable('checkout_sessions')
      .set({ status: 'processing', payment_id: paymentId, updated_at: new Date().toISOString() })
      .where('tenant_id', '=', tenantId)
      .where('session_id', '=', sessionId)
      .execute();
    await appendEvents(trx, [
      event(tenantId, 'payment.recorded', `payment:${paymentId}`, {
        paymentId,
        amountMinor: s.amount_minor,
        currency: s.currency,
        method: method.id,
      }),
    ]);
    return { existing: undefined, session: s, paymentId, offered };
  });
  if (claimed.existing) return getPayment(ctx, tenantId, claimed.existing);

  const { session: s, paymentId, offered } = claimed as Required<typeof claimed>;
  const carriers = input.provider
    ? [offered.provider]
    : t.methods.filter((m) => methodById(m.method)?.id === method.id).map((m) => m.provider);
  const candidates = (carriers.length ? carriers : [offered.provider])
    .filter((p, i, all) => all.indexOf(p) === i)
    .map((p) => ({
      provider: p,
      providerType: method.providers[p as keyof typeof method.providers]?.type ?? method.id,
    }));
  const routed = await t.router.create(candidates, {
    paymentId,
    idempotencyKey: `payment:${paymentId}:create`,
    amountMinor: s.amount_minor,
    currency: s.currency,
    method: method.id,
    capture: input.capture ?? 'automatic',
    returnUrl: returnUrlOf(t, s.return_url, paymentId),
    country: s.country,
    locale: s.locale,
    ...(s.description ? { description: s.description } : {}),
    payer: { ...(s.debtor_id ? { debtorId: s.debtor_id } : {}), ...input.payer },
    ...(input.methodData ? { methodData: input.methodData } : {}),
  });

  await ctx.store.db.transaction().execute(async (trx) => {
    const row = (await lockPayment(trx, tenantId, paymentId))!;
    const provider = routed.kind === 'unavailable' ? row.provider : routed.provider;
    await trx
      .updateTable('payments')
      .set({ provider, attempts: JSON.stringify(routed.attempts) })
      .where('tenant_id', '=', tenantId)
      .where('payment_id', '=', paymentId)
      .execute();
    row.provider = provider;
    if (routed.kind === 'answered') {
      await applyState(trx, row, reportOf(routed.payment));
    } else if (routed.kind === 'indeterminate') {
      // The money may have moved: pending until the webhook or the status sync says what happened.
      await applyState(trx, row, { status: 'pending', providerStatus: 'indeterminate' });
      await markSyncDue(trx, tenantId, paymentId, 30);
    } else {
      await applyState(trx, row, {
        status: 'failed',
        providerStatus: 'unavailable',
        decline: { code: 'processing_error', providerCode: 'no_provider', message: routed.error.message },
      });
    }
  });
  return getPayment(ctx, tenantId, paymentId);
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

import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import { IntegrationError } from '../domain/errors';
import { event } from '../domain/events';
import { newId } from '../domain/ids';
import type { Store } from '../store/db';
import { appendEvents } from '../store/events';
import type { Database } from '../store/schema';
import { type AllocationLine, allocateSettled, allocationLinesOf } from './settlement';

/** A payment made outside the gateway (shop counter, cash desk, a transfer booked by hand). */
export interface RecordPaymentInput {
  tenantId: string;
  /** Business id of the request; a repeat with the same body returns the first result. */
  idempotencyKey: string;
  debtorId?: string;
  externalId?: string;
  source?: string;
  /** Restricts allocation to these items; otherwise all open items of the debtor, oldest first. */
  itemIds?: string[];
  amountMinor: number;
  currency: string;
  method: string;
  reference?: string;
  receivedAt?: string;
}

export interface RecordPaymentResult {
  payment: { paymentId: string; state: string; amountMinor: number; currency: string; allocatedMinor: number };
  allocations: AllocationLine[];
  replayed: boolean;
}

/**
 * Records a settled payment and allocates it to the debtor's open items, oldest first; partial payments leave the
 * rest open, an over-payment stays unallocated on the payment. The payment, its allocations, the item updates, the
 * events and one outbox row per touched item commit in one transaction (DESIGN §1).
 */
export async function recordPayment(store: Store, input: RecordPaymentInput): Promise<RecordPaymentResult> {
  if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor <= 0) {
    throw new IntegrationError('must be a positive amount', 'amount');
  }
  return store.db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('payments')
      .selectAll()
      .where('tenant_id', '=', input.tenantId)
      .where('idempotency_key', '=', input.idempotencyKey)
      .executeTakeFirst();
    const debtorId = await resolveDebtor(trx, input);
    const fingerprint = fingerprintOf(input);
    if (existing) {
      if (existing.request_fingerprint !== fingerprint) {
        throw new IntegrationError('this Idempotency-Key was used for a different payment', 'Idempotency-Key', {
          conflict: true,
        });
      }
      return replay(trx, input.tenantId, existing.payment_id);
    }

    const paymentId = newId();
    await trx
      .insertInto('payments')
      .values({
        tenant_id: input.tenantId,
        payment_id: paymentId,
        debtor_id: debtorId,
        method: input.method,
        provider: 'counter',
        merchant_reference: input.reference ?? `pay-${paymentId}`,
        provider_reference: null,
        currency: input.currency,
        amount_minor: input.amountMinor,
        state: 'succeeded',
        idempotency_key: input.idempotencyKey,
        request_fingerprint: fingerprint,
        ...(input.receivedAt ? { received_at: input.receivedAt } : {}),
      })
      .execute();

    await appendEvents(trx, [
      event(input.tenantId, 'payment.recorded', `payment:${paymentId}`, {
        paymentId,
        amountMinor: input.amountMinor,
        currency: input.currency,
        method: input.method,
      }),
    ]);
    const { allocations, allocatedMinor: allocated } = await allocateSettled(trx, {
      tenantId: input.tenantId,
      paymentId,
      debtorId,
      amountMinor: input.amountMinor,
      currency: input.currency,
      ...(input.itemIds?.length ? { itemIds: input.itemIds } : {}),
      valueDate: (input.receivedAt ?? new Date().toISOString()).slice(0, 10),
      strict: true,
    });
    return {
      payment: {
        paymentId,
        state: 'succeeded',
        amountMinor: input.amountMinor,
        currency: input.currency,
        allocatedMinor: allocated,
      },
      allocations,
      replayed: false,
    };
  });
}

async function resolveDebtor(trx: Transaction<Database>, input: RecordPaymentInput): Promise<string> {
  if (input.debtorId) {
    const d = await trx
      .selectFrom('debtors')
      .select('debtor_id')
      .where('tenant_id', '=', input.tenantId)
      .where('debtor_id', '=', input.debtorId)
      .executeTakeFirst();
    if (!d) throw new IntegrationError(`no debtor ${input.debtorId}`, 'debtorId');
    return d.debtor_id;
  }
  if (input.externalId && input.source) {
    const l = await trx
      .selectFrom('debtor_links')
      .select('debtor_id')
      .where('tenant_id', '=', input.tenantId)
      .where('source', '=', input.source)
      .where('external_id', '=', input.externalId)
      .executeTakeFirst();
    if (!l) throw new IntegrationError(`no customer ${input.externalId} in source ${input.source}`, 'externalId');
    return l.debtor_id;
  }
  throw new IntegrationError('give debtorId, or externalId with source', 'debtorId');
}

async function replay(trx: Transaction<Database>, tenantId: string, paymentId: string): Promise<RecordPaymentResult> {
  const p = await trx
    .selectFrom('payments')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('payment_id', '=', paymentId)
    .executeTakeFirstOrThrow();
  return {
    payment: {
      paymentId,
      state: p.state,
      amountMinor: p.amount_minor,
      currency: p.currency,
      allocatedMinor: p.allocated_minor,
    },
    allocations: await allocationLinesOf(trx, tenantId, paymentId),
    replayed: true,
  };
}

/**
 * What a request asked for, canonically: a repeat of the same request under the same Idempotency-Key replays the
 * first answer, anything else under that key is a conflict. (The key itself is the client's business id.)
 */
function fingerprintOf(i: RecordPaymentInput): string {
  const canonical = JSON.stringify([
    i.debtorId ?? null,
    i.externalId ?? null,
    i.source ?? null,
    [...(i.itemIds ?? [])].sort(),
    i.amountMinor,
    i.currency,
    i.method,
    i.reference ?? null,
    i.receivedAt ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

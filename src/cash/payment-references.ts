import { type Kysely, sql, type Transaction } from 'kysely';
import { IntegrationError } from '../domain/errors';
import { creditorReference } from '../gateway/providers/bank-transfer/transformers';
import type { Database } from '../store/schema';

type Db = Kysely<Database> | Transaction<Database>;

export interface IssuePaymentReferenceInput {
  tenantId: string;
  debtorId: string;
  /** The items the payer is asked to pay (a checkout, a notice); without them the reference stands for the account. */
  itemIds?: readonly string[];
  /** The payment the reference belongs to (a bank-transfer checkout): one reference per payment. */
  paymentId?: string;
}

/**
 * Issues the ISO 11649 RF creditor reference a debtor quotes on a transfer (printed on notices and invoices, carried in
 * the EPC QR code) and records it, so the statement import can tell exactly who paid what. The reference is numeric
 * (`RF` + check digits + a 10-digit serial), survives being typed from paper, and its check digits catch typos.
 *
 * Idempotent: asking again for the same payment, or for the same debtor and the same set of items, returns the same
 * reference. Call it inside the transaction that creates what it is printed on.
 *
 * @example
 * const ref = await issuePaymentReference(trx, { tenantId: 'acme', debtorId, itemIds: [a, b] }); // 'RF71 0000 0000 07'
 */
export async function issuePaymentReference(db: Db, input: IssuePaymentReferenceInput): Promise<string> {
  const itemIds = input.itemIds?.length ? [...new Set(input.itemIds)].sort() : null;
  const debtor = await db
    .selectFrom('debtors')
    .select('debtor_id')
    .where('tenant_id', '=', input.tenantId)
    .where('debtor_id', '=', input.debtorId)
    .executeTakeFirst();
  if (!debtor) throw new IntegrationError(`no debtor ${input.debtorId}`, 'debtorId');
  if (itemIds) {
    const found = await db
      .selectFrom('items')
      .select('item_id')
      .where('tenant_id', '=', input.tenantId)
      .where('debtor_id', '=', input.debtorId)
      .where('item_id', 'in', itemIds)
      .execute();
    if (found.length !== itemIds.length) {
      const known = new Set(found.map((f) => f.item_id));
      throw new IntegrationError(
        `not items of debtor ${input.debtorId}: ${itemIds.filter((i) => !known.has(i)).join(', ')}`,
        'itemIds',
      );
    }
  }

  let existing = db
    .selectFrom('payment_references')
    .select('reference')
    .where('tenant_id', '=', input.tenantId)
    .where('debtor_id', '=', input.debtorId);
  if (input.paymentId) existing = existing.where('payment_id', '=', input.paymentId);
  else {
    existing = existing.where('payment_id', 'is', null);
    existing = itemIds
      ? existing.where(sql<boolean>`item_ids = ${JSON.stringify(itemIds)}::jsonb`)
      : existing.where('item_ids', 'is', null);
  }
  const found = await existing.orderBy('created_at').executeTakeFirst();
  if (found) return found.reference;

  const { rows } = await sql<{ n: number }>`SELECT nextval('payment_reference_seq')::int8 AS n`.execute(db);
  const reference = creditorReference(String(rows[0]!.n).padStart(10, '0'));
  const inserted = await db
    .insertInto('payment_references')
    .values({
      tenant_id: input.tenantId,
      reference,
      debtor_id: input.debtorId,
      item_ids: itemIds ? JSON.stringify(itemIds) : null,
      payment_id: input.paymentId ?? null,
    })
    // A concurrent call for the same payment won: use its reference (the serial drawn here is simply skipped).
    .onConflict((oc) => oc.columns(['tenant_id', 'payment_id']).where('payment_id', 'is not', null).doNothing())
    .returning('reference')
    .executeTakeFirst();
  if (inserted) return inserted.reference;
  const winner = await existing.executeTakeFirstOrThrow();
  return winner.reference;
}

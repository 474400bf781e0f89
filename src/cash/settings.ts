import type { Kysely, Transaction } from 'kysely';
import { IntegrationError } from '../domain/errors';
import type { Database } from '../store/schema';
import type { AllocationOrder } from '../store/schema-cash';

/** How a tenant wants its cash applied. Stored per tenant in `cash_settings`; every field has a default. */
export interface CashSettings {
  /**
   * Entries matched with at least this confidence are allocated without review; the rest wait in the worklist with
   * ranked suggestions. @defaultValue 0.9
   */
  autoThreshold: number;
  /**
   * How a payment is spread over the items it pays: `fees-last` (default: invoices oldest first, then fees and
   * interest), `oldest-first` (by due date only), or `fees-first` (costs, then interest, then the principal, as § 367
   * BGB has it when the debtor does not say otherwise). @defaultValue 'fees-last'
   */
  allocationOrder: AllocationOrder;
  /**
   * A regular expression on document numbers that marks fee and interest items from the sources (e.g. `^(GEB|ZINS)`);
   * Clearhub's own fee items (source `clearhub`) always count as fees. @defaultValue none
   */
  feeDocumentPattern: string | null;
  /**
   * What money beyond the items a payment names does: stays on the payment as credit (default, for a refund or a
   * later item), or pays the debtor's other open items by the allocation order. @defaultValue 'credit'
   */
  overpayment: 'credit' | 'other-items';
  /** Add the cost of a SEPA return to the debtor's account as an item (dunned like any other). @defaultValue false */
  returnFeeItem: boolean;
  /** The return fee when the statement carries no charges for the return, in minor units. @defaultValue 0 */
  returnFeeMinor: number;
}

export const DEFAULT_CASH_SETTINGS: Readonly<CashSettings> = {
  autoThreshold: 0.9,
  allocationOrder: 'fees-last',
  feeDocumentPattern: null,
  overpayment: 'credit',
  returnFeeItem: false,
  returnFeeMinor: 0,
};

type Db = Kysely<Database> | Transaction<Database>;

export async function loadCashSettings(db: Db, tenantId: string): Promise<CashSettings> {
  const row = await db.selectFrom('cash_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!row) return { ...DEFAULT_CASH_SETTINGS };
  return {
    autoThreshold: row.auto_threshold,
    allocationOrder: row.allocation_order,
    feeDocumentPattern: row.fee_document_pattern,
    overpayment: row.overpayment,
    returnFeeItem: row.return_fee_item,
    returnFeeMinor: row.return_fee_minor,
  };
}

/** Checks and stores a change of the tenant's settings; returns the settings now in force. */
export async function saveCashSettings(db: Db, tenantId: string, change: Partial<CashSettings>): Promise<CashSettings> {
  const next = { ...(await loadCashSettings(db, tenantId)), ...change };
  if (!(next.autoThreshold > 0 && next.autoThreshold <= 1)) {
    throw new IntegrationError('must be greater than 0 and at most 1', 'autoThreshold');
  }
  if (!Number.isSafeInteger(next.returnFeeMinor) || next.returnFeeMinor < 0) {
    throw new IntegrationError('must be a non-negative integer of minor units', 'returnFeeMinor');
  }
  if (next.feeDocumentPattern !== null) feeMatcher(next.feeDocumentPattern);
  const values = {
    auto_threshold: next.autoThreshold,
    allocation_order: next.allocationOrder,
    fee_document_pattern: next.feeDocumentPattern,
    overpayment: next.overpayment,
    return_fee_item: next.returnFeeItem,
    return_fee_minor: next.returnFeeMinor,
    updated_at: new Date().toISOString(),
  };
  await db
    .insertInto('cash_settings')
    .values({ tenant_id: tenantId, ...values })
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
    .execute();
  return next;
}

/** Source of the items Clearhub itself creates (return fees): they are fees by definition. */
export const CLEARHUB_SOURCE = 'clearhub';

/** Whether an item is a fee or interest item, by the tenant's pattern; our own items always are. */
export function feeMatcher(pattern: string | null): (item: { source: string; documentNumber: string }) => boolean {
  let re: RegExp | undefined;
  if (pattern) {
    try {
      re = new RegExp(pattern, 'i');
    } catch (err) {
      throw new IntegrationError(`not a regular expression: ${(err as Error).message}`, 'feeDocumentPattern');
    }
  }
  return (item) => item.source === CLEARHUB_SOURCE || (re?.test(item.documentNumber) ?? false);
}

/**
 * What a debtor in dunning loses, for the rooms that ask: the gateway's eligibility hook (payment methods a level
 * withdrew) and the sources (contracts a level restricted). A withdrawal lasts while any item of the notice that made
 * it is still open: paying the dunned items restores the method by itself, with nothing to undo.
 */
import type { EligibilityHook } from '../gateway/eligibility';
import type { Store } from '../store/db';
import { query } from './run';

async function activeActions(
  store: Store,
  tenantId: string,
  debtorId: string,
  kind: 'withdraw_method' | 'restrict_contract',
): Promise<{ value: string; notice_id: string }[]> {
  return query(
    store,
    `SELECT DISTINCT ON (a.value) a.value, a.notice_id FROM dunning_actions a
     WHERE a.tenant_id = $1 AND a.debtor_id = $2 AND a.kind = $3 AND a.lifted_at IS NULL
       AND EXISTS (SELECT 1 FROM notices n CROSS JOIN LATERAL jsonb_array_elements_text(n.item_ids) AS x(item_id)
                   JOIN items i ON i.tenant_id = n.tenant_id AND i.item_id = x.item_id
                   WHERE n.tenant_id = a.tenant_id AND n.notice_id = a.notice_id
                     AND i.status = 'open' AND i.open_minor > 0
                     AND ($3 <> 'restrict_contract' OR i.contract_ref = a.value))
     ORDER BY a.value, a.created_at`,
    [tenantId, debtorId, kind],
  );
}

/**
 * Payment method ids or flow kinds (e.g. `invoice`, `bnpl_invoice`) the debtor's dunning withdrew and that are still
 * withdrawn, sorted. Empty for a debtor who is not (or no longer) in dunning.
 *
 * @example
 * const hook = levelEligibility(store, rule, dunningEligibility(store)); // gateway/eligibility.ts
 */
export async function withdrawnMethods(store: Store, tenantId: string, debtorId: string): Promise<string[]> {
  return (await activeActions(store, tenantId, debtorId, 'withdraw_method')).map((r) => r.value);
}

/** Contracts (SIMs, lines) a level restricted and whose dunned items are still open, sorted. */
export async function restrictedContracts(store: Store, tenantId: string, debtorId: string): Promise<string[]> {
  return (await activeActions(store, tenantId, debtorId, 'restrict_contract')).map((r) => r.value);
}

/** {@link withdrawnMethods} in the shape of the gateway's eligibility hook, with the notice as the reason. */
export function dunningEligibility(store: Store): EligibilityHook {
  return async (ctx) => {
    if (!ctx.debtorId) return [];
    const rows = await activeActions(store, ctx.tenantId, ctx.debtorId, 'withdraw_method');
    return rows.map((r) => ({ match: r.value, reason: `withdrawn by dunning notice ${r.notice_id} until it is paid` }));
  };
}

/**
 * The one eligibility hook (DESIGN §6): which methods a debtor may be offered. The checkout and the pay link ask it;
 * the dunning engine answers through it (a debtor in arrears loses pay-on-invoice and buy-now-pay-later), so the
 * gateway never needs to know about strategies.
 */
import { sql } from 'kysely';
import type { Store } from '../store/db';
import { itemLevelSql } from '../store/schema-dunning';
import type { PaymentMethodEntry } from './catalogue';

export interface EligibilityContext {
  tenantId: string;
  /** Unknown for a free-amount checkout without a debtor: nothing is withdrawn then. */
  debtorId?: string | null;
  amountMinor: number;
  currency: string;
  country: string;
}

/** A rule that withdraws methods: method ids or flow kinds (e.g. `invoice`, `bnpl_invoice`) with the reason. */
export interface Withdrawal {
  match: string;
  reason: string;
}

export type EligibilityHook = (ctx: EligibilityContext) => Promise<Withdrawal[]>;

/** Whether a catalogue method falls under one of the withdrawals; returns the reason if so. */
export function withdrawnBy(method: PaymentMethodEntry, withdrawals: readonly Withdrawal[]): string | undefined {
  return withdrawals.find((w) => w.match === method.id || w.match === method.flow)?.reason;
}

/**
 * The built-in rule: from dunning level `atLevel` on (the highest level of the debtor's open items), the listed
 * methods or flows are withdrawn. Paying the dunned items closes them and the method comes back by itself.
 * `more` lets the dunning strategy add its own withdrawals (actions of a level).
 */
export function levelEligibility(
  store: Store,
  rule: { atLevel: number; methods: readonly string[] },
  more?: EligibilityHook,
): EligibilityHook {
  return async (ctx) => {
    const out: Withdrawal[] = [];
    if (ctx.debtorId) {
      const row = await store.db
        .selectFrom('items')
        .select(sql<number>`max(${sql.raw(itemLevelSql())})`.as('level'))
        .where('tenant_id', '=', ctx.tenantId)
        .where('debtor_id', '=', ctx.debtorId)
        .where('status', '=', 'open')
        .where('open_minor', '>', 0)
        .executeTakeFirst();
      const level = Number(row?.level ?? 0);
      if (level >= rule.atLevel) {
        for (const m of rule.methods) {
          out.push({
            match: m,
            reason: `withdrawn at dunning level ${rule.atLevel} (the debtor is at level ${level})`,
          });
        }
      }
    }
    if (more) out.push(...(await more(ctx)));
    return out;
  };
}

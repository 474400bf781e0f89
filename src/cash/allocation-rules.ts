import { type AllocatableItem, type AllocationPlan, allocateOldestFirst } from '../domain/allocation';
import type { AllocationOrder } from '../store/schema-cash';

export interface RuleItem extends AllocatableItem {
  /** A fee or interest item (dunning fee, return fee, default interest) rather than an invoice. */
  isFee: boolean;
}

/**
 * The items in the order a payment pays them under the tenant's rule: within each group oldest due date first (then
 * document number, as {@link allocateOldestFirst} orders them); `fees-last` puts invoices before fees and interest,
 * `fees-first` the other way round (§ 367 BGB), `oldest-first` ignores the difference.
 */
export function groupsByRule<T extends RuleItem>(items: readonly T[], order: AllocationOrder): T[][] {
  if (order === 'oldest-first') return [[...items]];
  const fees = items.filter((i) => i.isFee);
  const principal = items.filter((i) => !i.isFee);
  return order === 'fees-last' ? [principal, fees] : [fees, principal];
}

/**
 * Allocates an amount to items by the tenant's rule. Partial payments leave the rest of the last item open; what is
 * left after every item is paid is `unallocatedMinor` (an over-payment).
 */
export function planAllocation(
  amountMinor: number,
  items: readonly RuleItem[],
  order: AllocationOrder,
): AllocationPlan {
  let rest = amountMinor;
  const allocations: AllocationPlan['allocations'] = [];
  for (const group of groupsByRule(items, order)) {
    if (rest <= 0) break;
    const plan = allocateOldestFirst(rest, group);
    allocations.push(...plan.allocations);
    rest = plan.unallocatedMinor;
  }
  return { allocations, unallocatedMinor: rest };
}

/** The amounts that pay a whole number of items in rule order (first item, first two, …): a payer's natural sums. */
export function prefixSums(items: readonly RuleItem[], order: AllocationOrder): { sum: number; count: number }[] {
  const ordered = groupsByRule(items, order).flatMap((g) =>
    [...g]
      .filter((i) => i.openMinor > 0)
      .sort((a, b) => a.dueDate.localeCompare(b.dueDate) || a.documentNumber.localeCompare(b.documentNumber)),
  );
  const out: { sum: number; count: number }[] = [];
  let sum = 0;
  ordered.forEach((i, n) => {
    sum += i.openMinor;
    out.push({ sum, count: n + 1 });
  });
  return out;
}

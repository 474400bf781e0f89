import { IntegrationError } from './errors';

export interface AllocatableItem {
  itemId: string;
  dueDate: string;
  documentNumber: string;
  openMinor: number;
}

export interface AllocationPlan {
  allocations: { itemId: string; amountMinor: number }[];
  /** What is left after every listed item is paid: an over-payment, kept as credit. */
  unallocatedMinor: number;
}

/**
 * Allocates a payment to items, oldest due date first (then document number, so the result is deterministic).
 * Partial payments leave the rest of the last item open. Only positive open amounts take money.
 */
export function allocateOldestFirst(amountMinor: number, items: readonly AllocatableItem[]): AllocationPlan {
  if (!Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
    throw new IntegrationError('must be a positive integer of minor units', 'amountMinor');
  }
  const ordered = [...items]
    .filter((i) => i.openMinor > 0)
    .sort((a, b) => a.dueDate.localeCompare(b.dueDate) || a.documentNumber.localeCompare(b.documentNumber));
  let rest = amountMinor;
  const allocations: AllocationPlan['allocations'] = [];
  for (const item of ordered) {
    if (rest === 0) break;
    const take = Math.min(rest, item.openMinor);
    allocations.push({ itemId: item.itemId, amountMinor: take });
    rest -= take;
  }
  return { allocations, unallocatedMinor: rest };
}

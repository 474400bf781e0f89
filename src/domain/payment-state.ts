import { IntegrationError } from './errors';
import type { PaymentState } from './types';

/**
 * Allowed transitions of a payment. Terminal failures stay terminal; money that arrived can only leave through a
 * refund, a chargeback or a SEPA return. The table is the whole state machine: `canTransition` is the only door.
 */
const TRANSITIONS: { readonly [S in PaymentState]: readonly PaymentState[] } = {
  created: ['requires_action', 'pending', 'authorized', 'succeeded', 'failed', 'canceled', 'expired'],
  requires_action: ['pending', 'authorized', 'succeeded', 'failed', 'canceled', 'expired'],
  pending: ['authorized', 'succeeded', 'failed', 'canceled', 'expired'],
  authorized: ['succeeded', 'canceled', 'expired', 'failed'],
  succeeded: ['refunded', 'partially_refunded', 'charged_back', 'returned'],
  partially_refunded: ['partially_refunded', 'refunded', 'charged_back'],
  failed: [],
  canceled: [],
  expired: [],
  refunded: [],
  charged_back: ['succeeded'],
  returned: [],
};

export function canTransition(from: PaymentState, to: PaymentState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function transition(from: PaymentState, to: PaymentState): PaymentState {
  if (from === to && !canTransition(from, to)) return from; // a repeated webhook is not an error
  if (!canTransition(from, to)) {
    throw new IntegrationError(`payment cannot go from ${from} to ${to}`, 'state');
  }
  return to;
}

export type PaymentPhase = 'open' | 'in_flight' | 'settled' | 'dead' | 'reversed';

/** Groups states by what they mean for the items: only `settled` money is allocated. Exhaustive by construction. */
export function phaseOf(state: PaymentState): PaymentPhase {
  switch (state) {
    case 'created':
    case 'requires_action':
      return 'open';
    case 'pending':
    case 'authorized':
      return 'in_flight';
    case 'succeeded':
    case 'partially_refunded':
      return 'settled';
    case 'failed':
    case 'canceled':
    case 'expired':
      return 'dead';
    case 'refunded':
    case 'charged_back':
    case 'returned':
      return 'reversed';
    default: {
      const never: never = state;
      throw new Error(`unhandled payment state ${String(never)}`);
    }
  }
}

export function isTerminal(state: PaymentState): boolean {
  return TRANSITIONS[state].length === 0;
}

/**
 * Provider reconciliation: what the providers say happened to our payments against what we recorded. Finds
 * payments a provider has captured that we have not recorded as paid (a lost webhook, a timeout never synced), and
 * the reverse (recorded as paid, the provider says otherwise), amounts that differ, and events the providers sent
 * about payments we do not know. With `fix`, what the provider says is applied through the state machine (allocation
 * and write-backs follow); a disagreement the state machine does not allow is reported for a person to decide.
 */
import { phaseOf } from '../domain/payment-state';
import type { PaymentState } from '../domain/types';
import { applyState, lockPayment, reportOf } from './apply';
import type { GatewayContext } from './checkout';

export type DifferenceKind =
  | 'captured_not_recorded'
  | 'recorded_not_captured'
  | 'amount_differs'
  | 'state_differs'
  | 'unknown_to_us'
  | 'not_checkable';

export interface Difference {
  kind: DifferenceKind;
  paymentId?: string;
  provider: string;
  providerReference?: string;
  ours?: { state: string; capturedMinor: number };
  theirs?: { state: string; capturedMinor: number; providerStatus: string };
  fixed: boolean;
  note: string;
}

export interface ReconcileReport {
  checked: number;
  agreed: number;
  differences: Difference[];
}

export async function reconcileProviders(
  ctx: GatewayContext,
  tenantId: string,
  opts: { since: string; fix?: boolean; limit?: number },
): Promise<ReconcileReport> {
  const t = ctx.tenant(tenantId);
  const rows = await ctx.store.db
    .selectFrom('payments')
    .select(['payment_id', 'provider', 'provider_reference', 'state', 'captured_minor', 'amount_minor'])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', opts.since)
    .where('provider', 'in', ['stripe', 'adyen', 'paypal', 'sepa-direct-debit', 'bank-transfer', 'invoice'])
    .orderBy('created_at')
    .limit(opts.limit ?? 10_000)
    .execute();
  const report: ReconcileReport = { checked: 0, agreed: 0, differences: [] };
  for (const p of rows) {
    const provider = t.router.has(p.provider) ? t.router.provider(p.provider) : undefined;
    if (!provider || !p.provider_reference || !provider.capabilities.statusSync) {
      if (phaseOf(p.state as PaymentState) === 'open' || phaseOf(p.state as PaymentState) === 'in_flight') {
        report.differences.push({
          kind: 'not_checkable',
          paymentId: p.payment_id,
          provider: p.provider,
          ...(p.provider_reference ? { providerReference: p.provider_reference } : {}),
          ours: { state: p.state, capturedMinor: p.captured_minor },
          fixed: false,
          note: !p.provider_reference
            ? 'no provider reference (the create call never answered); waiting for the webhook'
            : `${p.provider} has no status read; waiting for its webhook`,
        });
      }
      continue;
    }
    report.checked++;
    let theirs: Awaited<ReturnType<typeof provider.retrieve>>;
    try {
      theirs = await provider.retrieve(p.provider_reference);
    } catch (err) {
      report.differences.push({
        kind: 'not_checkable',
        paymentId: p.payment_id,
        provider: p.provider,
        providerReference: p.provider_reference,
        fixed: false,
        note: `the provider did not answer: ${(err as Error).message}`,
      });
      continue;
    }
    const oursPhase = phaseOf(p.state as PaymentState);
    const theirPhase = phaseOf(theirs.status);
    const paidOurs = oursPhase === 'settled' || oursPhase === 'reversed';
    const paidTheirs = theirPhase === 'settled' || theirPhase === 'reversed';
    let kind: DifferenceKind | undefined;
    if (paidTheirs && !paidOurs) kind = 'captured_not_recorded';
    else if (paidOurs && !paidTheirs) kind = 'recorded_not_captured';
    else if (paidOurs && paidTheirs && theirs.capturedMinor !== p.captured_minor) kind = 'amount_differs';
    else if (p.state !== theirs.status && !(paidOurs && paidTheirs)) kind = 'state_differs';
    if (!kind) {
      report.agreed++;
      continue;
    }
    let fixed = false;
    let note = '';
    if (opts.fix && (kind === 'captured_not_recorded' || kind === 'state_differs')) {
      const moved = await ctx.store.db.transaction().execute(async (trx) => {
        const row = (await lockPayment(trx, tenantId, p.payment_id))!;
        return applyState(trx, row, reportOf(theirs));
      });
      fixed = moved.moved;
      note = moved.moved
        ? `applied: ${moved.from} → ${moved.to}`
        : `not applied: ${moved.from} → ${moved.to} is not allowed`;
    } else if (kind === 'recorded_not_captured') {
      note = 'we booked money the provider does not show as captured: check before refunding or reversing anything';
    } else if (kind === 'amount_differs') {
      note = 'captured amounts differ: check partial captures and refunds at the provider';
    }
    report.differences.push({
      kind,
      paymentId: p.payment_id,
      provider: p.provider,
      providerReference: p.provider_reference,
      ours: { state: p.state, capturedMinor: p.captured_minor },
      theirs: { state: theirs.status, capturedMinor: theirs.capturedMinor, providerStatus: theirs.providerStatus },
      fixed,
      note,
    });
  }
  const strangers = await ctx.store.db
    .selectFrom('webhook_events')
    .select(['provider', 'event_id', 'type', 'event'])
    .where('tenant_id', '=', tenantId)
    .where('status', '=', 'ignored')
    .where('received_at', '>=', opts.since)
    .limit(1000)
    .execute();
  for (const e of strangers) {
    const ev = e.event as { providerReference?: string };
    report.differences.push({
      kind: 'unknown_to_us',
      provider: e.provider,
      ...(ev.providerReference ? { providerReference: ev.providerReference } : {}),
      fixed: false,
      note: `${e.type} (${e.event_id}) is about a payment we never created: another system on the same account, or a payment made outside Clearhub`,
    });
  }
  return report;
}

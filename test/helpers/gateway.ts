import type { GatewayContext, TenantGateway } from '../../src/gateway/checkout';
import { levelEligibility } from '../../src/gateway/eligibility';
import { createProviders } from '../../src/gateway/registry';
import { PaymentRouter, type RouterOptions } from '../../src/gateway/router';
import type { Store } from '../../src/store/db';
import { type IngestBatch, ingestBatch } from '../../src/store/ingest';

export const PAYLINK_SECRET = 'test-paylink-secret-0123456789abcdef';

/**
 * One tenant's gateway built the way the runtime builds it (registry, router, eligibility), over providers pointed
 * at simulators.
 */
export function gatewayFor(
  store: Store,
  o: {
    tenantId: string;
    providers: Record<string, Record<string, unknown>>;
    methods: { method: string; provider: string }[];
    publicUrl?: string;
    withdraw?: { atLevel: number; methods: string[] };
    router?: RouterOptions;
  },
): { ctx: GatewayContext; tenant: TenantGateway } {
  const eligibility = levelEligibility(store, o.withdraw ?? { atLevel: 2, methods: ['invoice', 'bnpl_invoice'] });
  const providers = createProviders(o.providers, {
    tenantId: o.tenantId,
    store,
    invoiceEligible: async (e) =>
      !e.debtorId ||
      (
        await eligibility({
          tenantId: o.tenantId,
          debtorId: e.debtorId,
          amountMinor: e.amountMinor,
          currency: e.currency,
          country: 'DE',
        })
      ).length === 0,
  });
  const tenant: TenantGateway = {
    tenantId: o.tenantId,
    name: 'ACME Mobile',
    country: 'DE',
    currency: 'EUR',
    languages: ['de', 'en'],
    defaultLanguage: 'de',
    methods: o.methods,
    router: new PaymentRouter(providers, o.router),
    eligibility,
    sessionTtlMinutes: 60,
    publicUrl: o.publicUrl ?? 'http://127.0.0.1:1',
    payLinkSecret: PAYLINK_SECRET,
    payLinkTtlDays: 30,
  };
  return {
    tenant,
    ctx: {
      store,
      tenant: (id) => {
        if (id !== o.tenantId) throw new Error(`unknown tenant ${id}`);
        return tenant;
      },
    },
  };
}

/** A debtor `C1` of source `billing` with open invoices: [sourceKey, amountMinor, dueDate, dunningLevel?]. */
export async function seedDebtor(
  store: Store,
  tenantId: string,
  items: [string, number, string, number?][],
  externalId = 'C1',
): Promise<{ debtorId: string; itemIds: Record<string, string> }> {
  await store.db
    .insertInto('tenants')
    .values({ tenant_id: tenantId, name: 'ACME Mobile', country: 'DE', currency: 'EUR' })
    .onConflict((oc) => oc.column('tenant_id').doNothing())
    .execute();
  const batch: IngestBatch = {
    tenantId,
    source: 'billing',
    debtorMatch: 'externalId',
    debtors: [
      { externalId, name: 'Erika Mustermann', type: 'B2C', language: 'de', tags: [], email: 'erika@example.de' },
    ],
    items: items.map(([sourceKey, amountMinor, dueDate, level]) => ({
      sourceKey,
      externalId,
      documentNumber: `INV-${sourceKey}`,
      currency: 'EUR',
      amountMinor,
      openMinor: amountMinor,
      dueDate,
      dunningLevel: level ?? 0,
    })),
  };
  await ingestBatch(store, batch);
  const rows = await store.db
    .selectFrom('items')
    .select(['item_id', 'source_key', 'debtor_id'])
    .where('tenant_id', '=', tenantId)
    .where('external_id', '=', externalId)
    .execute();
  return {
    debtorId: rows[0]!.debtor_id,
    itemIds: Object.fromEntries(rows.map((r) => [r.source_key, r.item_id])),
  };
}

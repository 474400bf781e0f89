/**
 * Builds a tenant's payment providers from `gateway.providers` in its configuration. Each provider checks its own
 * options with its own schema; an error names `gateway.providers.<name>.<field>`. SDKs load only for the providers a
 * tenant configures.
 */
import { IntegrationError } from '../domain/errors';
import type { Store } from '../store/db';
import { SqlBankTransferStore, SqlInvoiceStore, SqlSepaStore } from './provider-records';
import type { PaymentProvider, ProviderName } from './providers/types';

export interface ProviderContext {
  tenantId: string;
  /** Pay on invoice asks this whether a debtor may be offered it (the eligibility hook). */
  invoiceEligible: (ctx: {
    debtorId?: string;
    amountMinor: number;
    currency: string;
    country?: string;
  }) => Promise<boolean>;
  /** One structured line per provider call (secrets already scrubbed by the provider). */
  log?: (line: object) => void;
  /** Where our own providers keep mandates, collections and payables; omitted: in memory (one process, tests). */
  store?: Store;
}

type Factory = (options: unknown, ctx: ProviderContext) => PaymentProvider;

const FACTORIES: Record<ProviderName, Factory> = {
  stripe: (o, ctx) => {
    const { createStripeProvider } =
      require('./providers/stripe/provider') as typeof import('./providers/stripe/provider');
    return createStripeProvider(o, { tenant: ctx.tenantId, ...(ctx.log ? { log: ctx.log } : {}) });
  },
  adyen: (o, ctx) => {
    const { createAdyenProvider } =
      require('./providers/adyen/connector') as typeof import('./providers/adyen/connector');
    return createAdyenProvider(o as Parameters<typeof createAdyenProvider>[0], {
      tenant: ctx.tenantId,
      ...(ctx.log ? { log: ctx.log } : {}),
    });
  },
  paypal: (o, ctx) => {
    const { createPayPalProvider } =
      require('./providers/paypal/connector') as typeof import('./providers/paypal/connector');
    return createPayPalProvider(o as Parameters<typeof createPayPalProvider>[0], {
      tenant: ctx.tenantId,
      ...(ctx.log ? { log: ctx.log } : {}),
    });
  },
  'sepa-direct-debit': (o, ctx) => {
    const { createSepaDirectDebitProvider } =
      require('./providers/sepa-direct-debit/provider') as typeof import('./providers/sepa-direct-debit/provider');
    return createSepaDirectDebitProvider({
      config: o as never,
      ...(ctx.store ? { store: new SqlSepaStore(ctx.store, ctx.tenantId) } : {}),
    });
  },
  'bank-transfer': (o, ctx) => {
    const { createBankTransferProvider } =
      require('./providers/bank-transfer/provider') as typeof import('./providers/bank-transfer/provider');
    return createBankTransferProvider({
      config: o as never,
      ...(ctx.store ? { store: new SqlBankTransferStore(ctx.store, ctx.tenantId) } : {}),
    });
  },
  invoice: (o, ctx) => {
    const { createInvoiceProvider } =
      require('./providers/invoice/provider') as typeof import('./providers/invoice/provider');
    return createInvoiceProvider({
      config: o as never,
      ...(ctx.store ? { store: new SqlInvoiceStore(ctx.store, ctx.tenantId) } : {}),
      eligible: (e) =>
        ctx.invoiceEligible({
          amountMinor: e.amountMinor,
          currency: e.currency,
          ...(e.debtorId ? { debtorId: e.debtorId } : {}),
          ...(e.country ? { country: e.country } : {}),
        }),
    });
  },
};

export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(FACTORIES, name);
}

/** The tenant's providers, keyed by name; an unknown name or bad options is an IntegrationError naming the field. */
export function createProviders(
  options: Record<string, Record<string, unknown>>,
  ctx: ProviderContext,
): Map<string, PaymentProvider> {
  const out = new Map<string, PaymentProvider>();
  for (const [name, o] of Object.entries(options)) {
    if (!isProviderName(name)) {
      throw new IntegrationError(
        `unknown provider "${name}"; expected one of ${Object.keys(FACTORIES).join(', ')}`,
        `gateway.providers.${name}`,
      );
    }
    try {
      out.set(name, FACTORIES[name](o, ctx));
    } catch (err) {
      if (err instanceof IntegrationError) {
        const field = err.field
          ? `gateway.providers.${name}.${err.field.replace(/^options\.?/, '')}`
          : `gateway.providers.${name}`;
        const message =
          err.field && err.message.startsWith(`${err.field}: `) ? err.message.slice(err.field.length + 2) : err.message;
        throw new IntegrationError(message, field.replace(/\.$/, ''));
      }
      throw err;
    }
  }
  return out;
}

/**
 * The payment-method catalogue (DESIGN §6): the rows of `methods.ts`, validated with zod once when this module
 * loads, and pure functions over them. Nothing here talks to a provider; the router and the checkout ask this module
 * which methods may be offered and which provider carries each.
 */
import { z } from 'zod';
import { isKnownCountry } from '../../config/schema';
import { IntegrationError } from '../../domain/errors';
import { isKnownCurrency } from '../../domain/money';
import { METHOD_ROWS } from './methods';

export const FLOW_KINDS = [
  'card',
  'wallet',
  'redirect',
  'direct_debit',
  'push_transfer',
  'voucher',
  'bnpl_invoice',
] as const;

/** The providers a catalogue row can name, in the order used when neither a tenant nor a caller gives one. */
export const CATALOGUE_PROVIDERS = [
  'sepa-direct-debit',
  'bank-transfer',
  'invoice',
  'stripe',
  'adyen',
  'paypal',
] as const;

/** Marks a method not bound to a list of countries or currencies. */
export const ANY = 'any';

const methodId = z.string().regex(/^[a-z][a-z0-9_]*$/, { error: 'expected a lower-case id such as sepa_direct_debit' });
const country = z
  .string()
  .refine(isKnownCountry, { error: (i) => `"${String(i.input)}" is not an ISO 3166-1 alpha-2 country code` });
const currency = z
  .string()
  .refine(isKnownCurrency, { error: (i) => `"${String(i.input)}" is not a known ISO 4217 currency code` });
const minor = z.number().int().nonnegative();

const providerTypeSchema = z.strictObject({
  /** The string the provider's API takes for this method. */
  type: z.string().min(1),
  /** Further types of the same provider for this method (sub-products, legacy names). */
  variants: z.array(z.string().min(1)).optional(),
  /** Preview/gated, or documented but absent from the SDK: known, never offered. */
  preview: z.boolean().optional(),
  /** Narrows the method's countries for this provider (e.g. Stripe's Pay by Bank is UK only). */
  countries: z.array(country).min(1).optional(),
  note: z.string().optional(),
});

export const methodSchema = z.strictObject({
  id: methodId,
  /** Other ids that name this method (ids the profiles or older configs use). */
  aliases: z.array(methodId).optional(),
  name: z.string().min(1),
  flow: z.enum(FLOW_KINDS),
  /**
   * `full`: refundable, wholly or in part, on every provider listed; `partial`: limited or provider-dependent (NOTES
   * "~", e.g. needs the payer's IBAN, or only refunds of old payments); `none`: cannot be refunded.
   */
  refund: z.enum(['full', 'partial', 'none']),
  /** `via_sepa`: the first payment creates a reusable SEPA direct debit mandate; `partial`: provider-dependent. */
  recurring: z.enum(['yes', 'partial', 'via_sepa', 'no']),
  countries: z.union([z.literal(ANY), z.array(country).min(1)]),
  currencies: z.union([z.literal(ANY), z.array(currency).min(1)]),
  /** Amount limits in minor units per currency; empty where no source states them (NOTES §5 states none). */
  limits: z.record(currency, z.strictObject({ minMinor: minor.optional(), maxMinor: minor.optional() })).optional(),
  providers: z.partialRecord(z.enum(CATALOGUE_PROVIDERS), providerTypeSchema),
  /** Why the method is known but never offered. */
  deprecated: z.string().optional(),
  notes: z.string().optional(),
});

export type CatalogueProvider = (typeof CATALOGUE_PROVIDERS)[number];
export type FlowKind = (typeof FLOW_KINDS)[number];
export type PaymentMethodEntry = z.output<typeof methodSchema>;
export type ProviderType = z.output<typeof providerTypeSchema>;
/** What `methods.ts` is written as (checked by zod at load, so the type is the schema's input). */
export type CatalogueInput = readonly z.input<typeof methodSchema>[];

/**
 * Validates catalogue rows: each row against the schema (an error names the method and the field), then ids and
 * aliases unique across rows, and limits only for currencies the method takes.
 */
export function parseCatalogue(rows: readonly unknown[]): readonly PaymentMethodEntry[] {
  const out: PaymentMethodEntry[] = [];
  const seen = new Map<string, string>();
  rows.forEach((row, i) => {
    const label = row && typeof row === 'object' && 'id' in row && typeof row.id === 'string' ? row.id : `row ${i + 1}`;
    const r = methodSchema.safeParse(row);
    if (!r.success) {
      const first = r.error.issues[0]!;
      throw new IntegrationError(`catalogue method ${label}: ${first.message}`, [label, ...first.path].join('.'));
    }
    const m = r.data;
    for (const name of [m.id, ...(m.aliases ?? [])]) {
      const other = seen.get(name);
      if (other) throw new IntegrationError(`catalogue method ${m.id}: "${name}" is already used by ${other}`, m.id);
      seen.set(name, m.id);
    }
    for (const cur of Object.keys(m.limits ?? {})) {
      if (m.currencies !== ANY && !m.currencies.includes(cur)) {
        throw new IntegrationError(
          `catalogue method ${m.id}: a limit for ${cur}, a currency it does not take`,
          `${m.id}.limits.${cur}`,
        );
      }
    }
    out.push(Object.freeze(m));
  });
  return Object.freeze(out);
}

const CATALOGUE = parseCatalogue(METHOD_ROWS);
const BY_ID = indexById(CATALOGUE);

/** Every known method in catalogue order, deprecated ones included. */
export function listMethods(): readonly PaymentMethodEntry[] {
  return CATALOGUE;
}

/** The method with this id or alias, or undefined. */
export function methodById(id: string): PaymentMethodEntry | undefined {
  return BY_ID.get(id);
}

/** The providers that can carry a method at checkout: listed, and not a preview type. */
export function carriersOf(m: PaymentMethodEntry): CatalogueProvider[] {
  return (Object.keys(m.providers) as CatalogueProvider[]).filter((p) => m.providers[p] && !m.providers[p].preview);
}

export interface OfferQuery {
  /** ISO 3166-1 alpha-2; omitted: any country. */
  country?: string;
  /** ISO 4217; omitted: any currency. */
  currency?: string;
  /** Amount in minor units of `currency`; checked against the method's limits for that currency. */
  amountMinor?: number;
  /** Providers available (e.g. configured and healthy); omitted: every catalogue provider. */
  providers?: readonly string[];
  /**
   * The tenant's `paymentMethods`: only these method/provider pairs are offered, methods in the order of their first
   * entry, providers in list order. Omitted: every method in catalogue order.
   */
  tenantMethods?: readonly { method: string; provider: string }[];
  /** Defaults to the built-in catalogue; tests pass their own rows. */
  catalogue?: readonly PaymentMethodEntry[];
}

export interface Offer {
  method: PaymentMethodEntry;
  /** The provider that carries the method first (the tenant's preference or catalogue order). */
  provider: CatalogueProvider;
  /** The type string that provider takes. */
  providerType: string;
  /** Every eligible provider in preference order, the first one included (the router fails over along it). */
  providers: CatalogueProvider[];
}

/** Whether a method may be offered for the country, currency and amount (deprecated methods never are). */
export function isOfferable(m: PaymentMethodEntry, q: Pick<OfferQuery, 'country' | 'currency' | 'amountMinor'>) {
  if (m.deprecated) return false;
  if (q.country && m.countries !== ANY && !m.countries.includes(q.country)) return false;
  if (q.currency && m.currencies !== ANY && !m.currencies.includes(q.currency)) return false;
  if (q.amountMinor !== undefined) {
    if (!q.currency) throw new IntegrationError('an amount needs a currency', 'currency');
    const limit = m.limits?.[q.currency];
    if (limit?.minMinor !== undefined && q.amountMinor < limit.minMinor) return false;
    if (limit?.maxMinor !== undefined && q.amountMinor > limit.maxMinor) return false;
  }
  return true;
}

/**
 * The methods that can be offered for a country, currency and amount, each with the provider that carries it.
 * Deprecated methods, preview provider types and methods no available provider carries are left out.
 */
export function offerableMethods(q: OfferQuery = {}): Offer[] {
  if (q.country !== undefined && !isKnownCountry(q.country)) {
    throw new IntegrationError(`"${q.country}" is not an ISO 3166-1 alpha-2 country code (e.g. DE, AT, CH)`, 'country');
  }
  if (q.currency !== undefined && !isKnownCurrency(q.currency)) {
    throw new IntegrationError(`"${q.currency}" is not a known ISO 4217 currency code (e.g. EUR, CHF)`, 'currency');
  }
  if (q.amountMinor !== undefined && (!Number.isSafeInteger(q.amountMinor) || q.amountMinor < 0)) {
    throw new IntegrationError('must be a non-negative integer amount in minor units', 'amountMinor');
  }
  const catalogue = q.catalogue ?? CATALOGUE;
  const byId = q.catalogue ? indexById(q.catalogue) : BY_ID;
  const available = q.providers ? new Set(q.providers) : undefined;
  const order: { method: PaymentMethodEntry; providers: CatalogueProvider[] }[] = [];
  if (q.tenantMethods) {
    const slots = new Map<string, CatalogueProvider[]>();
    for (const tm of q.tenantMethods) {
      const m = byId.get(tm.method);
      if (!m) continue;
      const carriers = carriersOf(m);
      if (!carriers.includes(tm.provider as CatalogueProvider)) continue;
      let slot = slots.get(m.id);
      if (!slot) {
        slot = [];
        slots.set(m.id, slot);
        order.push({ method: m, providers: slot });
      }
      if (!slot.includes(tm.provider as CatalogueProvider)) slot.push(tm.provider as CatalogueProvider);
    }
  } else {
    for (const m of catalogue) order.push({ method: m, providers: carriersOf(m) });
  }
  const offers: Offer[] = [];
  for (const { method, providers } of order) {
    if (!isOfferable(method, q)) continue;
    const eligible = providers.filter(
      (p) =>
        (!available || available.has(p)) &&
        (!q.country || !method.providers[p]!.countries || method.providers[p]!.countries.includes(q.country)),
    );
    const first = eligible[0];
    if (!first) continue;
    offers.push({ method, provider: first, providerType: method.providers[first]!.type, providers: eligible });
  }
  return offers;
}

/**
 * Entries of a tenant's `paymentMethods` the catalogue cannot serve, each with the reason (an unknown method, a
 * provider the catalogue has no type for, a deprecated method). They are not offered; `clearhub methods` says so.
 */
export function unservedTenantMethods(
  tenantMethods: readonly { method: string; provider: string }[],
): { method: string; provider: string; reason: string }[] {
  const out: { method: string; provider: string; reason: string }[] = [];
  for (const tm of tenantMethods) {
    const m = methodById(tm.method);
    let reason: string | undefined;
    if (!m) reason = 'not in the payment-method catalogue';
    else if (m.deprecated) reason = `deprecated: ${m.deprecated}`;
    else if (!m.providers[tm.provider as CatalogueProvider]) reason = `the catalogue has no ${tm.provider} type for it`;
    else if (m.providers[tm.provider as CatalogueProvider]!.preview) reason = `${tm.provider} has it only in preview`;
    if (reason) out.push({ ...tm, reason });
  }
  return out;
}

function indexById(rows: readonly PaymentMethodEntry[]): Map<string, PaymentMethodEntry> {
  const map = new Map<string, PaymentMethodEntry>();
  for (const m of rows) for (const name of [m.id, ...(m.aliases ?? [])]) map.set(name, m);
  return map;
}

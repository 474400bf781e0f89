/**
 * The payment-method catalogue (src/gateway/catalogue): its data is valid, deprecated methods are never offered,
 * countries, currencies and amounts filter as NOTES §5 says, and the provider type strings are the ones NOTES lists
 * and the SDK enums in ../shared/contracts/psp (or $CLEARHUB_CONTRACTS/psp) contain.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { COUNTRY_CODES } from '../../src/config/schema';
import { isKnownCurrency } from '../../src/domain/money';
import {
  ANY,
  type CatalogueProvider,
  carriersOf,
  listMethods,
  methodById,
  offerableMethods,
  parseCatalogue,
  unservedTenantMethods,
} from '../../src/gateway/catalogue';

const ids = (offers: { method: { id: string } }[]) => offers.map((o) => o.method.id);
const offer = (q: Parameters<typeof offerableMethods>[0], id: string) =>
  offerableMethods(q).find((o) => o.method.id === id);

describe('the catalogue data', () => {
  test('holds at least 40 methods, each id unique', () => {
    const all = listMethods();
    expect(all.length).toBeGreaterThanOrEqual(40);
    expect(new Set(all.map((m) => m.id)).size).toBe(all.length);
  });

  test('every country is ISO 3166-1 alpha-2 and every currency ISO 4217 (or the documented "any")', () => {
    for (const m of listMethods()) {
      if (m.countries !== ANY)
        for (const c of m.countries) expect(`${m.id}:${COUNTRY_CODES.has(c)}`).toBe(`${m.id}:true`);
      if (m.currencies !== ANY)
        for (const c of m.currencies) expect(`${m.id}:${isKnownCurrency(c)}`).toBe(`${m.id}:true`);
    }
  });

  test('NOTES §5 states no amount limits, so the catalogue invents none', () => {
    expect(listMethods().filter((m) => m.limits && Object.keys(m.limits).length > 0)).toEqual([]);
  });

  test('an unknown currency or country is an error naming the method and the field', () => {
    const row = { id: 'x_pay', name: 'X', flow: 'redirect', refund: 'full', recurring: 'no', providers: {} };
    expect(() => parseCatalogue([{ ...row, countries: ['DE'], currencies: ['EUX'] }])).toThrow(
      /x_pay\.currencies\.0.*"EUX" is not a known ISO 4217/,
    );
    expect(() => parseCatalogue([{ ...row, countries: ['UK'], currencies: ['GBP'] }])).toThrow(
      /x_pay\.countries\.0.*"UK" is not an ISO 3166-1/,
    );
    expect(() =>
      parseCatalogue([{ ...row, countries: ['DE'], currencies: ['EUR'], limits: { GBP: { maxMinor: 1 } } }]),
    ).toThrow(/x_pay\.limits\.GBP/);
  });

  test('ids the shipped profiles use resolve through aliases', () => {
    expect(methodById('bank_transfer')?.id).toBe('sepa_credit_transfer');
    expect(methodById('invoice_bank_transfer')?.id).toBe('invoice');
    expect(methodById('paypal_pay_later')?.id).toBe('paypal_paylater');
    expect(methodById('no_such_method')).toBeUndefined();
  });
});

describe('deprecated methods', () => {
  test('sofort and giropay are known ids', () => {
    expect(methodById('sofort')?.deprecated).toBeTruthy();
    expect(methodById('giropay')?.deprecated).toBeTruthy();
  });

  test('are never offered, whatever the query or the tenant configuration', () => {
    const tenantMethods = [
      { method: 'giropay', provider: 'stripe' },
      { method: 'sofort', provider: 'adyen' },
      { method: 'card', provider: 'stripe' },
    ];
    for (const q of [{}, { country: 'DE', currency: 'EUR' }, { country: 'AT', currency: 'EUR', tenantMethods }]) {
      expect(ids(offerableMethods(q))).not.toContain('giropay');
      expect(ids(offerableMethods(q))).not.toContain('sofort');
    }
    expect(unservedTenantMethods(tenantMethods).map((u) => u.method)).toEqual(['giropay', 'sofort']);
  });
});

describe('offerableMethods', () => {
  test('DE/EUR offers SEPA direct debit through our own provider, and no giropay', () => {
    const de = offerableMethods({ country: 'DE', currency: 'EUR' });
    expect(de.find((o) => o.method.id === 'sepa_direct_debit')).toMatchObject({
      provider: 'sepa-direct-debit',
      providers: ['sepa-direct-debit', 'stripe', 'adyen'],
    });
    expect(ids(de)).toEqual(expect.arrayContaining(['card', 'paypal', 'klarna', 'sepa_credit_transfer', 'invoice']));
    expect(ids(de)).not.toContain('giropay');
    expect(ids(de)).not.toContain('ideal'); // NL only
  });

  test('NL/EUR offers iDEAL; PL/PLN BLIK and Przelewy24; SE/SEK Swish', () => {
    expect(ids(offerableMethods({ country: 'NL', currency: 'EUR' }))).toContain('ideal');
    expect(ids(offerableMethods({ country: 'PL', currency: 'PLN' }))).toEqual(
      expect.arrayContaining(['blik', 'przelewy24']),
    );
    expect(ids(offerableMethods({ country: 'SE', currency: 'SEK' }))).toContain('swish');
  });

  test('a currency the method does not take excludes it', () => {
    expect(ids(offerableMethods({ country: 'PL', currency: 'EUR' }))).not.toContain('blik'); // BLIK: PLN only
    expect(ids(offerableMethods({ country: 'PL', currency: 'EUR' }))).toContain('przelewy24'); // P24: PLN and EUR
    expect(ids(offerableMethods({ country: 'SE', currency: 'EUR' }))).not.toContain('swish');
    expect(ids(offerableMethods({ country: 'DE', currency: 'CHF' }))).not.toContain('sepa_direct_debit');
  });

  test('an amount outside a limit excludes the method (the built-in data has no limits: NOTES states none)', () => {
    // A limit in a test catalogue, since NOTES §5 gives no number to copy.
    const rows = parseCatalogue([
      {
        id: 'capped',
        name: 'Capped',
        flow: 'redirect',
        refund: 'full',
        recurring: 'no',
        countries: ['PL'],
        currencies: ['PLN'],
        limits: { PLN: { minMinor: 100, maxMinor: 50_000 } },
        providers: { adyen: { type: 'capped' } },
      },
    ]);
    const q = { country: 'PL', currency: 'PLN', catalogue: rows };
    expect(ids(offerableMethods({ ...q, amountMinor: 50_000 }))).toEqual(['capped']);
    expect(ids(offerableMethods({ ...q, amountMinor: 50_001 }))).toEqual([]);
    expect(ids(offerableMethods({ ...q, amountMinor: 99 }))).toEqual([]);
    expect(ids(offerableMethods({ country: 'PL', currency: 'PLN', amountMinor: 10_000_000 }))).toContain('blik');
  });

  test('a provider type narrowed to some countries is not used elsewhere', () => {
    expect(offer({ country: 'GB', currency: 'GBP' }, 'pay_by_bank')?.provider).toBe('stripe');
    expect(offer({ country: 'DE', currency: 'EUR' }, 'pay_by_bank')?.providers).toEqual(['adyen']);
  });

  test('only the available providers carry a method; preview types never do', () => {
    expect(offer({ country: 'DE', currency: 'EUR', providers: ['adyen'] }, 'card')).toMatchObject({
      provider: 'adyen',
      providerType: 'scheme',
    });
    expect(offer({ country: 'DE', currency: 'EUR', providers: ['invoice'] }, 'card')).toBeUndefined();
    expect(offer({ country: 'NO', currency: 'NOK' }, 'vipps')?.providers).toEqual(['adyen']); // Stripe: preview
    expect(offer({ country: 'DE', currency: 'EUR' }, 'paypal_pay_upon_invoice')).toBeUndefined();
    expect(offer({ country: 'DE', currency: 'EUR' }, 'cash_barzahlen')).toBeUndefined(); // no provider carries it
  });

  test("with a tenant's paymentMethods: only those pairs, in the tenant's order, providers as listed", () => {
    const tenantMethods = [
      { method: 'paypal', provider: 'paypal' },
      { method: 'invoice', provider: 'invoice' },
      { method: 'card', provider: 'adyen' },
      { method: 'card', provider: 'stripe' },
      { method: 'bank_transfer', provider: 'bank-transfer' },
      { method: 'ideal', provider: 'adyen' }, // NL only: dropped for DE
      { method: 'cash', provider: 'counter' }, // not a checkout method
    ];
    const offers = offerableMethods({ country: 'DE', currency: 'EUR', tenantMethods });
    expect(offers.map((o) => `${o.method.id}:${o.providers.join('>')}`)).toEqual([
      'paypal:paypal',
      'invoice:invoice',
      'card:adyen>stripe',
      'sepa_credit_transfer:bank-transfer',
    ]);
    expect(unservedTenantMethods(tenantMethods)).toEqual([
      { method: 'cash', provider: 'counter', reason: 'not in the payment-method catalogue' },
    ]);
  });

  test('rejects an unknown country or currency instead of offering nothing', () => {
    expect(() => offerableMethods({ country: 'XX' })).toThrow(/country/);
    expect(() => offerableMethods({ currency: 'EURO' })).toThrow(/currency/);
    expect(() => offerableMethods({ amountMinor: 100 })).toThrow(/currency/);
  });
});

describe('provider type strings', () => {
  const typeOf = (id: string, p: CatalogueProvider) => methodById(id)?.providers[p]?.type;

  test('equal what NOTES §5 lists', () => {
    // Written by hand from the NOTES table, not derived from the catalogue.
    const expected: [string, CatalogueProvider, string][] = [
      ['card', 'adyen', 'scheme'],
      ['google_pay', 'adyen', 'googlepay'],
      ['sepa_direct_debit', 'stripe', 'sepa_debit'],
      ['sepa_direct_debit', 'adyen', 'sepadirectdebit'],
      ['bacs_direct_debit', 'adyen', 'directdebit_GB'],
      ['ach_direct_debit', 'stripe', 'us_bank_account'],
      ['sepa_credit_transfer', 'stripe', 'customer_balance'],
      ['sepa_credit_transfer', 'adyen', 'bankTransfer_IBAN'],
      ['bancontact', 'adyen', 'bcmc'],
      ['przelewy24', 'stripe', 'p24'],
      ['przelewy24', 'adyen', 'onlineBanking_PL'],
      ['przelewy24', 'paypal', 'p24'],
      ['mb_way', 'adyen', 'mbway'],
      ['amazon_pay', 'adyen', 'amazonpay'],
      ['wechat_pay', 'adyen', 'wechatpayQR'],
      ['sofort', 'adyen', 'directEbanking'],
      ['apple_pay', 'stripe', 'card'],
    ];
    for (const [id, p, type] of expected) expect(`${id}/${p}: ${typeOf(id, p)}`).toBe(`${id}/${p}: ${type}`);
  });

  test('our own providers carry SEPA direct debit, bank transfer and invoice', () => {
    expect(carriersOf(methodById('sepa_direct_debit')!)).toContain('sepa-direct-debit');
    expect(carriersOf(methodById('sepa_credit_transfer')!)).toContain('bank-transfer');
    expect(carriersOf(methodById('invoice')!)).toEqual(['invoice']);
  });
});

const PSP = resolve(process.env.CLEARHUB_CONTRACTS ?? join(__dirname, '../../../shared/contracts'), 'psp');
const contracts = existsSync(join(PSP, 'stripe/payment_method_types.stripe-23.1.0.json'));
if (!contracts) console.log(`psp contracts not found in ${PSP} (set CLEARHUB_CONTRACTS); type-string contract skipped`);

(contracts ? describe : describe.skip)('provider type strings against the SDK enums in contracts/psp', () => {
  const typesOf = (p: CatalogueProvider, preview: boolean) =>
    listMethods().flatMap((m) => {
      const t = m.providers[p];
      return t && Boolean(t.preview) === preview ? [t.type, ...(t.variants ?? [])].map((s) => `${m.id}:${s}`) : [];
    });
  const missing = (pairs: string[], known: Set<string>) => pairs.filter((x) => !known.has(x.split(':')[1]!));

  test('our Stripe types are in PaymentMethod.Type; preview ones in AllowedPaymentMethodType', () => {
    const s = JSON.parse(readFileSync(join(PSP, 'stripe/payment_method_types.stripe-23.1.0.json'), 'utf8')) as {
      payment_method_type: string[];
      payment_intent_allowed_payment_method_type_extra: string[];
    };
    expect(missing(typesOf('stripe', false), new Set(s.payment_method_type))).toEqual([]);
    expect(missing(typesOf('stripe', true), new Set(s.payment_intent_allowed_payment_method_type_extra))).toEqual([]);
  });

  test('our Adyen types are in the Checkout v72 paymentMethod.type enum', () => {
    const a = JSON.parse(readFileSync(join(PSP, 'adyen/payment_method_types.checkout-v72.json'), 'utf8')) as {
      by_schema: Record<string, string[]>;
    };
    const known = new Set(Object.values(a.by_schema).flat());
    expect(typesOf('adyen', true)).toEqual([]);
    expect(missing(typesOf('adyen', false), known)).toEqual([]);
  });

  test('our PayPal types are Orders v2 payment_source keys (pay_upon_invoice is preview: not in the spec)', () => {
    const spec = JSON.parse(readFileSync(join(PSP, 'paypal/checkout_orders_v2.json'), 'utf8')) as {
      components: { schemas: { payment_source: { properties: Record<string, unknown> } } };
    };
    const known = new Set(Object.keys(spec.components.schemas.payment_source.properties));
    expect(missing(typesOf('paypal', false), known)).toEqual([]);
    expect(missing(typesOf('paypal', true), known)).toEqual(['paypal_pay_upon_invoice:pay_upon_invoice']);
  });
});

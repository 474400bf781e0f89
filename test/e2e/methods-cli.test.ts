/**
 * `clearhub methods` as a user runs it: the built CLI (bin/clearhub.js → dist; `npm test` builds it first), no
 * database, the payment-method catalogue of src/gateway/catalogue.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initTenant } from '../../src/config/init';

const BIN = resolve(__dirname, '../../bin/clearhub.js');
const home = mkdtempSync(join(tmpdir(), 'clearhub-methods-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function clearhub(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--home', home, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

interface Row {
  method: string;
  name: string;
  flow: string;
  provider: string;
  providerType: string;
  providers: string[];
}

describe('clearhub methods', () => {
  test('--country DE --currency EUR --json lists SEPA direct debit with its provider, and no giropay or Sofort', () => {
    const r = clearhub('methods', '--country', 'DE', '--currency', 'EUR', '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as Row[];
    const byId = new Map(rows.map((x) => [x.method, x]));
    expect(byId.get('sepa_direct_debit')).toMatchObject({
      flow: 'direct_debit',
      provider: 'sepa-direct-debit',
      providers: ['sepa-direct-debit', 'stripe', 'adyen'],
    });
    expect(byId.get('card')).toMatchObject({ provider: 'stripe', providerType: 'card' });
    expect(byId.get('klarna')?.flow).toBe('bnpl_invoice');
    for (const gone of ['giropay', 'sofort', 'ideal', 'blik', 'swish']) expect(byId.has(gone)).toBe(false);
  });

  test('the table for people names method, provider and type; --amount is parsed in the currency', () => {
    const r = clearhub('methods', '--country', 'PL', '--currency', 'PLN', '--amount', '19.99');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toMatch(/^method\s+name\s+flow\s+provider\s+providerType/);
    expect(r.out).toMatch(/^blik\s+BLIK\s+redirect\s+stripe\s+blik/m);
    expect(r.out).toMatch(/^przelewy24\s+Przelewy24\s+redirect\s+stripe\s+p24/m);
  });

  test('--tenant restricts to the tenant’s paymentMethods in their order and says what it cannot offer', () => {
    initTenant({ profile: 'telco-de', tenant: 'telco', name: 'Telco', country: 'DE', currency: 'EUR', home });
    const r = clearhub('methods', '--tenant', 'telco', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out) as Row[];
    // telco-de lists sepa_direct_debit, bank_transfer (an alias), card via stripe then adyen, paypal, cash via counter.
    expect(rows.map((x) => `${x.method}:${x.providers.join('>')}`)).toEqual([
      'sepa_direct_debit:sepa-direct-debit',
      'sepa_credit_transfer:bank-transfer',
      'card:stripe>adyen',
      'paypal:paypal',
    ]);
    expect(r.err).toContain('note: cash via counter is not offered: not in the payment-method catalogue');
    expect(rows.every((x) => x.method !== 'giropay')).toBe(true);
  });

  test('a wrong country is a usage error with exit code 2', () => {
    const r = clearhub('methods', '--country', 'XX');
    expect(r.code).toBe(2);
    expect(r.err).toContain('"XX" is not an ISO 3166-1 alpha-2 country code');
  });
});

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NoticeView, renderNotice } from '../../src/channels/templates';
import { initTenant } from '../../src/config/init';
import { listProfiles, loadProfile, loadTenantConfig, repoRoot } from '../../src/config/load';
import { ConfigError } from '../../src/config/yaml-errors';
import { IntegrationError } from '../../src/domain/errors';

/** The secret reference as written in YAML (a plain string, not a template literal). */
const SMTP_PASSWORD_REF = ['$', '{env:SMTP_PASSWORD}'].join('');
/** The gateway's variables a profile references (provider credentials and the payee's bank details). */
const GATEWAY_ENV = Object.fromEntries(
  [
    'CLEARHUB_PAYLINK_SECRET',
    'STRIPE_SECRET_KEY',
    'STRIPE_WEBHOOK_SECRET',
    'ADYEN_API_KEY',
    'ADYEN_MERCHANT_ACCOUNT',
    'ADYEN_HMAC_KEY',
    'PAYPAL_CLIENT_ID',
    'PAYPAL_CLIENT_SECRET',
    'PAYPAL_WEBHOOK_ID',
    'CLEARHUB_PAYEE_IBAN',
    'CLEARHUB_SEPA_CREDITOR_ID',
  ].map((k) => [k, 'set']),
);

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'clearhub-config-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function decodeEntities(s: string): string {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('golden-client profiles', () => {
  it('lists telco-de and ecommerce-de', () => {
    expect(listProfiles()).toEqual(expect.arrayContaining(['ecommerce-de', 'telco-de']));
  });

  it('telco-de validates: SEPA direct debit dominates, reminder → final, no fee on the first notices', () => {
    const p = loadProfile('telco-de');
    expect(p.tenant.id).toBe('{{tenantId}}');
    expect(p.sources.filter((s) => !s.disabled).map((s) => s.kind)).toEqual(['csv']);
    expect(p.sources.filter((s) => s.disabled).map((s) => s.kind)).toEqual(['sap-rfc', 'soap']);
    const top = [...p.paymentMethods].sort((a, b) => (b.share ?? 0) - (a.share ?? 0))[0]!;
    expect(top.method).toBe('sepa_direct_debit');
    const levels = p.dunning.strategy.levels;
    expect(levels.map((l) => l.name)).toEqual(['reminder', 'first', 'second', 'final']);
    expect(levels.map((l) => l.daysPastDue)).toEqual([3, 14, 28, 42]);
    expect(levels[0]!.feeMinor).toBe(0);
    expect(levels[2]!.feeMinor).toBeGreaterThan(0);
    // Without env the secret reference stays as written.
    expect(p.channels.email.smtp.password).toBe(SMTP_PASSWORD_REF);
  });

  it('ecommerce-de validates: reminder before the due date, cards, PayPal and Klarna', () => {
    const p = loadProfile('ecommerce-de', { env: { ...GATEWAY_ENV, SMTP_PASSWORD: 'pw' } });
    expect(p.channels.email.smtp.password).toBe('pw');
    expect(p.dunning.strategy.levels[0]!.daysPastDue).toBe(-1);
    expect(p.dunning.strategy.levels[0]!.feeMinor).toBe(0);
    expect(p.paymentMethods.map((m) => m.method)).toEqual(expect.arrayContaining(['card', 'paypal', 'klarna']));
  });

  it('rejects an unknown profile, naming the available ones', () => {
    const err = thrown(() => loadProfile('bank-xx'));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.message).toMatch(/unknown profile "bank-xx"; available: .*telco-de/);
  });

  it('finds the package root holding package.json named clearhub', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')) as { name: string };
    expect(pkg.name).toBe('clearhub');
  });
});

describe('initTenant', () => {
  const params = {
    profile: 'telco-de',
    tenant: 'acme-mobil',
    name: 'Acme "Mobil" GmbH: Nord #1',
    country: 'at',
    currency: 'eur',
  };

  it('writes a tenant that loads back with the parameters in place, keeping comments and creating data dirs', () => {
    const file = initTenant({ ...params, home: tmp });
    expect(file).toBe(join(tmp, 'config', 'tenants', 'acme-mobil.yaml'));
    const cfg = loadTenantConfig(file, {
      env: { ...GATEWAY_ENV, SMTP_PASSWORD: 's3cret', SAP_RFC_PASSWORD: 'r', TELCO_BILLING_PASSWORD: 't' },
    });
    expect(cfg.tenant).toMatchObject({
      id: 'acme-mobil',
      name: 'Acme "Mobil" GmbH: Nord #1',
      country: 'AT',
      currency: 'EUR',
    });
    expect(cfg.channels.email.from).toBe(
      'Acme "Mobil" GmbH: Nord #1 Forderungsmanagement <forderungsmanagement@example.com>',
    );
    expect(cfg.channels.email.smtp.password).toBe('s3cret');
    const billing = cfg.sources.find((s) => s.name === 'billing')!;
    expect(billing.options).toMatchObject({
      inbound: 'data/acme-mobil/billing/in',
      outbound: 'data/acme-mobil/billing/out',
    });
    expect(existsSync(join(tmp, 'data', 'acme-mobil', 'billing', 'in'))).toBe(true);
    expect(existsSync(join(tmp, 'data', 'acme-mobil', 'billing', 'out'))).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('§ 286 BGB');
    expect(text).toContain(SMTP_PASSWORD_REF);
    // Every init parameter is filled in; what remains in braces are the SOAP connector's request templates.
    expect(text).not.toMatch(/\{\{\s*(tenantId|name|country|currency)\s*\}\}/);
  });

  it('refuses to overwrite without force, overwrites with it', () => {
    initTenant({ ...params, home: tmp });
    const err = thrown(() => initTenant({ ...params, home: tmp, name: 'Other' }));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.message).toMatch(/already exists/);
    const file = initTenant({ ...params, home: tmp, name: 'Other', force: true });
    expect(
      loadTenantConfig(file, {
        env: { ...GATEWAY_ENV, SMTP_PASSWORD: 'x', SAP_RFC_PASSWORD: 'r', TELCO_BILLING_PASSWORD: 't' },
      }).tenant.name,
    ).toBe('Other');
  });

  it('honours outDir and works for the e-commerce profile', () => {
    const file = initTenant({ ...params, profile: 'ecommerce-de', outDir: 'tenants', home: tmp });
    expect(file).toBe(join(tmp, 'tenants', 'acme-mobil.yaml'));
    expect(loadTenantConfig(file, { env: { ...GATEWAY_ENV, SMTP_PASSWORD: 'x' } }).sources[0]!.debtorMatch).toBe(
      'email',
    );
  });

  it.each([
    [{ tenant: 'Acme_Mobil' }, 'tenant', /not a valid tenant id/],
    [{ tenant: 'a' }, 'tenant', /not a valid tenant id/],
    [{ country: 'XX' }, 'country', /not an ISO 3166-1 alpha-2/],
    [{ currency: 'EURO' }, 'currency', /not a known ISO 4217/],
    [{ name: '  ' }, 'name', /one line/],
  ])('rejects bad parameter %j', (patch, field, message) => {
    const err = thrown(() => initTenant({ ...params, ...patch, home: tmp }));
    expect(err).toBeInstanceOf(IntegrationError);
    expect((err as IntegrationError).field).toBe(field);
    expect(err.message).toMatch(message);
    expect(existsSync(join(tmp, 'config'))).toBe(false);
  });
});

/** A complete, valid tenant; the line numbers below refer to it (line n is TENANT[n - 1]). */
const TENANT = [
  'tenant:', //                                   1
  '  id: acme',
  '  name: Acme GmbH',
  '  country: DE',
  '  currency: EUR', //                           5
  '  timezone: Europe/Berlin',
  '  languages: [de, en]',
  '  defaultLanguage: de',
  'sources:',
  '  - name: billing', //                         10
  '    kind: csv',
  '    mapping: mappings/csv-generic.v1.yaml',
  '    debtorMatch: externalId',
  '    options:',
  '      inbound: data/acme/billing/in', //       15
  'paymentMethods:',
  '  - method: sepa_direct_debit',
  '    provider: sepa-direct-debit',
  'channels:',
  '  email:', //                                  20
  '    from: Acme <billing@example.com>',
  '    smtp:',
  '      host: 127.0.0.1',
  '      port: 2525',
  '      secure: false', //                       25
  `      password: ${SMTP_PASSWORD_REF}`,
  'dunning:',
  '  strategy:',
  '    name: test',
  '    version: 1', //                            30
  '    levels:',
  '      - level: 1',
  '        name: reminder',
  '        daysPastDue: 3',
  '        minDaysSinceLastNotice: 0', //         35
  '        minAmountMinor: 0',
  '        channel: email',
  '        template: reminder',
  '        tone: friendly',
  '        feeMinor: 0', //                       40
  '      - level: 2',
  '        name: first',
  '        daysPastDue: 14',
  '        minDaysSinceLastNotice: 7',
  '        minAmountMinor: 0', //                 45
  '        channel: email',
  '        template: first',
  '        tone: neutral',
  '        feeMinor: 0',
  '      - level: 3', //                          50
  '        name: second',
  '        daysPastDue: 28',
  '        minDaysSinceLastNotice: 7',
  '        minAmountMinor: 0',
  '        channel: email', //                    55
  '        template: second',
  '        tone: firm',
  '        feeMinor: 250',
  '  minTotalMinor: 0',
  'templates:', //                                60
  '  dir: config/templates',
  'writeBack:',
  '  attempts: 3',
  '  backoffBaseMs: 10',
  '  backoffMaxMs: 100', //                       65
];

/** Writes TENANT with line `n` replaced and returns the file. */
function tenantFile(replace: Record<number, string> = {}): string {
  const lines = TENANT.map((l, i) => replace[i + 1] ?? l);
  const file = join(tmp, 'tenant.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function configError(file: string, env: Record<string, string | undefined> = { SMTP_PASSWORD: 'pw' }): ConfigError {
  const err = thrown(() => loadTenantConfig(file, { env }));
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('tenant configuration errors', () => {
  it('the fixture itself is valid', () => {
    const cfg = loadTenantConfig(tenantFile(), { env: { SMTP_PASSWORD: 'pw' } });
    expect(cfg.dunning.strategy.levels).toHaveLength(3);
    expect(cfg.sources[0]!.disabled).toBe(false);
  });

  it('a channel that does not exist names its position and the allowed values', () => {
    const file = tenantFile({ 46: '        channel: fax' });
    const err = configError(file);
    expect(err.message).toContain(`${file}:46:18: dunning.strategy.levels[1].channel:`);
    expect(err.message).toMatch(/email, sms, letter/);
  });

  it('an unknown key points at the key and lists the allowed keys', () => {
    const file = tenantFile({ 25: '      secur: false' });
    const err = configError(file);
    expect(err.message).toContain(`${file}:25:7: channels.email.smtp.secur: unknown key "secur"`);
    expect(err.message).toMatch(/allowed: host, port, secure, user, password/);
  });

  it('levels out of order point at the daysPastDue that breaks the order', () => {
    const file = tenantFile({ 52: '        daysPastDue: 10' });
    const err = configError(file);
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain(`${file}:52:22: dunning.strategy.levels[2].daysPastDue:`);
    expect(err.message).toMatch(/greater than level 2's daysPastDue \(14\)/);
  });

  it('a level whose channel is not configured is an error at the channel', () => {
    const file = tenantFile({ 55: '        channel: sms' });
    expect(configError(file).message).toContain(
      `${file}:55:18: dunning.strategy.levels[2].channel: channel "sms" is not configured`,
    );
  });

  it('an unset env:SMTP_PASSWORD reference names the file, position and variable', () => {
    const file = tenantFile();
    const err = configError(file, {});
    expect(err.message).toContain(`${file}:26:17: channels.email.smtp.password:`);
    expect(err.message).toMatch(/SMTP_PASSWORD is not set/);
  });

  it('a literal password is refused: secrets come from the environment', () => {
    const file = tenantFile({ 26: '      password: hunter2' });
    const err = configError(file);
    expect(err.message).toContain(
      `${file}:26:17: channels.email.smtp.password: a secret must come from the environment`,
    );
    expect(err.message).not.toContain('hunter2');
  });

  it('an unknown country, an unfilled placeholder and a bad currency are each reported', () => {
    const file = tenantFile({ 3: "  name: '{{name}}'", 4: '  country: XX', 5: '  currency: ABC' });
    const err = configError(file);
    expect(err.message).toContain(`${file}:4:12: tenant.country: "XX" is not an ISO 3166-1 alpha-2 country code`);
    expect(err.message).toContain(`${file}:5:13: tenant.currency: "ABC" is not a known ISO 4217 currency code`);
    // The placeholder check runs once the shape is valid.
    const err2 = configError(tenantFile({ 3: "  name: '{{name}}'" }));
    expect(err2.message).toContain(':3:9: tenant.name: unfilled placeholder {{name}}');
  });
});

describe('notice templates', () => {
  const dir = join(repoRoot(), 'config', 'templates');
  const view = (over: Partial<NoticeView> = {}): NoticeView => ({
    debtor: { name: 'Erika Muster', salutation: 'Guten Tag Erika Muster' },
    tenant: { name: 'Acme Mobil GmbH' },
    level: 3,
    levelName: 'second',
    items: [
      { documentNumber: 'R-1001', dueDate: '2025-03-01', daysPastDue: 30, openAmount: '49,99 €', source: 'billing' },
      { documentNumber: 'R-1002', dueDate: '2025-03-15', daysPastDue: 16, openAmount: '19,90 €', source: 'fica' },
    ],
    fee: '2,50 €',
    total: '72,39 €',
    currency: 'EUR',
    asOf: '2025-03-31',
    ...over,
  });

  it.each([
    ['de', 'reminder'],
    ['de', 'first'],
    ['de', 'second'],
    ['de', 'final'],
    ['en', 'reminder'],
    ['en', 'first'],
    ['en', 'second'],
    ['en', 'final'],
  ])('%s/%s renders subject, text and HTML with every item, the fee and the total', (locale, template) => {
    const out = renderNotice(dir, locale, template, view());
    expect(out.subject).toContain('72,39 €');
    expect(out.subject).not.toMatch(/\n/);
    for (const body of [out.text, out.html]) {
      expect(body).toContain('R-1001');
      expect(body).toContain('R-1002');
      expect(body).toContain('49,99 €');
      expect(body).toContain('19,90 €');
      expect(body).toContain('2,50 €');
      expect(body).toContain('72,39 €');
      expect(body).toContain('Acme Mobil GmbH');
      expect(body).toContain(locale === 'de' ? '01.03.2025' : '1 Mar 2025');
    }
    expect(out.text).toMatch(/^Guten Tag Erika Muster,/);
    expect(out.text).not.toMatch(/Subject:/);
    expect(out.html).toMatch(/^<!doctype html>/);
    expect(out.text).toMatch(locale === 'de' ? /Ratenzahlung/ : /payment plan|instalments/);
  });

  it('German notices address the debtor with Sie', () => {
    const out = renderNotice(dir, 'de', 'first', view());
    expect(out.text).toMatch(/\bSie\b/);
    expect(out.text).not.toMatch(/\b(du|dich|dein)\b/i);
  });

  it('leaves out fee and pay link when there are none, and shows the pay link when there is one', () => {
    const plain = renderNotice(dir, 'en', 'first', view({ fee: '', total: '69,89 €' }));
    expect(plain.text).not.toMatch(/fee/i);
    expect(plain.text).toContain('quote the invoice numbers');
    const linked = renderNotice(dir, 'en', 'first', view({ payLink: 'https://pay.example.com/s/abc?x=1&y=2' }));
    expect(linked.text).toContain('https://pay.example.com/s/abc?x=1&y=2');
    const href = /href="([^"]*)"/.exec(linked.html)?.[1] ?? '';
    expect(href).not.toMatch(/&(?![a-z]+;|#x?[0-9a-f]+;)/i); // every & in the attribute is escaped
    expect(decodeEntities(href)).toBe('https://pay.example.com/s/abc?x=1&y=2');
  });

  it('HTML-escapes a debtor name in the HTML body, not in the text', () => {
    const name = '<script>alert(1)</script>';
    const out = renderNotice(dir, 'de', 'reminder', view({ debtor: { name, salutation: `Guten Tag ${name}` } }));
    expect(out.html).not.toContain('<script>');
    expect(out.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out.text).toContain(`Guten Tag ${name},`);
  });

  it('names the missing template file', () => {
    const err = thrown(() => renderNotice(dir, 'fr', 'first', view()));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.message).toContain(join(dir, 'fr', 'first.hbs'));
  });

  it('a template using a field the view lacks fails naming the file and field', () => {
    const own = join(tmp, 'templates');
    mkdirSync(join(own, 'en'), { recursive: true });
    writeFileSync(join(own, 'en', 'x.hbs'), 'Subject: Hi {{debtor.name}}\n\nDear {{debtor.nmae}}\n');
    writeFileSync(join(own, 'en', 'x.html.hbs'), '<p>{{debtor.name}}</p>\n');
    const err = thrown(() => renderNotice(own, 'en', 'x', view()));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.message).toContain(join(own, 'en', 'x.hbs'));
    expect(err.message).toContain('nmae');
  });
});

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HEADER, makeHome } from '../helpers/tenant';
import { pdfText, plain } from '../integration/channels-fixtures';

const BIN = resolve(__dirname, '../../bin/clearhub.js');

function clearhub(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--home', home, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', REDIS_URL: '' },
    timeout: 120_000,
  });
  return { code: r.status, out: plain(r.stdout), err: r.stderr };
}

describe('clearhub template preview', () => {
  // The SMTP port is never used: a preview sends nothing.
  const env = makeHome({ smtpPort: 2525 });

  beforeAll(() => {
    writeFileSync(
      join(env.inbound, 'export.csv'),
      [
        HEADER,
        'C1,Anna Albers,B2C,anna@example.org,,de,DE,INV-1,SIM-1,2026-09-01,2026-10-01,EUR,119.00,119.00,0,',
        'C1,Anna Albers,B2C,anna@example.org,,de,DE,INV-2,SIM-1,2026-09-15,2026-10-15,EUR,19.99,19.99,0,',
        'C1,Anna Albers,B2C,anna@example.org,,de,DE,INV-9,SIM-1,2026-10-20,2026-12-20,EUR,10.00,10.00,0,',
        'C2,Ben Baker Ltd,B2B,ben@example.org,,en,DE,INV-3,SIM-2,2026-09-01,2026-10-20,EUR,300.00,300.00,0,',
      ].join('\n'),
    );
    const sync = clearhub(env.home, 'sync', '--json');
    expect(sync.code).toBe(0);
  });

  test('renders the notice a debtor would get, from the store, in the tone of the strategy level', () => {
    const r = clearhub(env.home, 'template', 'preview', 'first', '--debtor', 'C1', '--as-of', '2026-11-01');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Subject: Mahnung von ACME Mobile: 138,99 € offen\n/); // 119.00 + 19.99, no fee at "first"
    expect(r.out).toMatch(/^Guten Tag Anna Albers,$/m);
    expect(r.out).toContain('Rechnung INV-1 (billing), fällig am 01.10.2026, 31 Tage überfällig: 119,00 €');
    expect(r.out).toContain('Rechnung INV-2 (billing), fällig am 15.10.2026, 17 Tage überfällig: 19,99 €');
    expect(r.out).not.toContain('INV-9'); // not due yet
    expect(r.out).toContain('Gesamtbetrag: 138,99 €');
    expect(r.out).toContain('bis zum 11.11.2026');
    expect(r.out).toMatch(/Ratenzahlung/);
  });

  test('another tone, form of address and a fee: the firm level in du', () => {
    const r = clearhub(
      env.home,
      'template',
      'preview',
      'second',
      '--debtor',
      'C1',
      '--as-of',
      '2026-11-01',
      '--locale',
      'de',
      '--tone',
      'final',
      '--address',
      'du',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Subject: Letzte Mahnung: 141,49 € bei ACME Mobile/); // + 2.50 fee of "second"
    expect(r.out).toMatch(/^Hallo Anna Albers,$/m);
    expect(r.out).toContain('Mahngebühr: 2,50 €');
    expect(r.out).toMatch(/Inkasso/);
    expect(r.out).toMatch(/\b(du|dich|dir|dein\w*)\b/);
    expect(r.out).not.toMatch(/\b(Sie|Ihnen|Ihr\w*)\b/);
  });

  test('an English business debtor by customer number; SMS and HTML formats', () => {
    const text = clearhub(env.home, 'template', 'preview', 'reminder', '--debtor', 'C2', '--as-of', '2026-11-01');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^Dear Sir or Madam,$/m);
    expect(text.out).toContain('Invoice INV-3 (billing), due on 20 Oct 2026, 12 days overdue: €300.00');
    const sms = clearhub(
      env.home,
      'template',
      'preview',
      'reminder',
      '--debtor',
      'C2',
      '--as-of',
      '2026-11-01',
      '--format',
      'sms',
    );
    expect(sms.code).toBe(0);
    expect(sms.out).toContain('€300.00');
    expect(sms.err).toMatch(/\(GSM-7\), 1 SMS/);
    const html = clearhub(
      env.home,
      'template',
      'preview',
      'reminder',
      '--debtor',
      'C2',
      '--as-of',
      '2026-11-01',
      '--format',
      'html',
    );
    expect(html.out).toMatch(/^<!doctype html>/);
    expect(html.out).toContain('<td>INV-3</td>');
    expect(html.out).not.toContain('cid:');
  });

  test('the letter as PDF', () => {
    const file = join(env.home, 'preview.pdf');
    const r = clearhub(
      env.home,
      'template',
      'preview',
      'second',
      '--debtor',
      'C1',
      '--as-of',
      '2026-11-01',
      '--format',
      'pdf',
      '--out',
      file,
    );
    expect(r.code).toBe(0);
    const text = pdfText(readFileSync(file));
    expect(text).toContain('Zahlungsaufforderung');
    expect(text).toMatch(/billing\s+INV-1\s+01\.10\.2026\s+31\s+119,00 €/);
    expect(text).toMatch(/Mahngebühr\s+2,50 €/);
    expect(text).toMatch(/Gesamtbetrag\s+141,49 €/);
  });

  test('an unknown debtor or tone is a clear error', () => {
    const r = clearhub(env.home, 'template', 'preview', 'first', '--debtor', 'NOPE');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no debtor "NOPE"');
    const t = clearhub(env.home, 'template', 'preview', 'first', '--debtor', 'C1', '--tone', 'grumpy');
    expect(t.code).not.toBe(0);
    expect(t.err).toMatch(/friendly, neutral, firm, final/);
  });
});

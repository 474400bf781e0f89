import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseMt940, parseMt940Buffer } from '../../src/cash/mt940';
import type { Statement, StatementEntry } from '../../src/cash/statement';
import { IntegrationError } from '../../src/domain/errors';
import { parseDecimalToMinor } from '../../src/domain/money';

const contracts = process.env.CLEARHUB_CONTRACTS ?? resolve(__dirname, '../../../shared/contracts');
const root = join(contracts, 'banking/mt940');
const present = existsSync(root);
if (!present) console.log(`mt940 contract tests skipped: ${root} not found (set CLEARHUB_CONTRACTS)`);

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

/** Files that cannot be read as statements: no statement at all, or entries without any currency (cmxl fragments). */
const UNREADABLE = new Set([
  'wolph-mt940/betterplace/empty_entry_date.sta',
  'wolph-mt940/cmxl/statement_details.sta',
  'wolph-mt940/cmxl/statement_line.sta',
  'wolph-mt940/self-provided/empty_non_swift.sta',
  'wolph-mt940/self-provided/invalid_statement.sta',
  'wolph-mt940/self-provided/multiline.sta',
  'wolph-mt940/self-provided/sparkassen.sta',
]);

/** Fixtures whose opening balance plus entries does not equal the closing balance (synthetic or cut test data). */
const NOT_BRIDGING = new Set([
  'mt940-js-webschik/abn-amro-1.STA',
  'wolph-mt940/betterplace/sepa_snippet.sta',
  'wolph-mt940/betterplace/sepa_snippet_broken.sta',
  'wolph-mt940/jejik/abnamro.sta',
  'wolph-mt940/jejik/ing.sta',
  'wolph-mt940/jejik/knab.sta',
  'wolph-mt940/jejik/postfinance.sta',
  'wolph-mt940/jejik/rabobank.sta',
  'wolph-mt940/jejik/triodos.sta',
  'wolph-mt940/mBank/with_newline_in_tnr.sta',
  'wolph-mt940/self-provided/details_60-63.sta',
  'wolph-mt940/self-provided/malformed_details.sta',
  'wolph-mt940/self-provided/overly_long_details.sta',
  'wolph-mt940/self-provided/raiffeisen-cmi.sta',
  'wolph-mt940/self-provided/whitespace.sta',
]);

const files = present ? walk(root).filter((p) => !/(LICENSE|\.yml|\.json|\.md)$/.test(p)) : [];

interface Norm {
  amountMinor: number;
  valueDate?: string | undefined;
  bookingDate?: string | undefined;
  reference?: string | undefined;
}

const ws = (s: unknown): string | undefined =>
  typeof s === 'string' && s.trim() ? s.replace(/\s+/g, ' ').trim() : undefined;

function minor(decimal: string, currency: string): number {
  try {
    return parseDecimalToMinor(decimal, currency);
  } catch {
    return parseDecimalToMinor(decimal, 'EUR'); // legacy currencies (DEM) have two decimals
  }
}

/** wolph-mt940 `.expected.json`: `{statement, transactions:[…]}` with decimal strings. */
function normWolph(json: { transactions?: Record<string, unknown>[] }): (Norm & Record<string, unknown>)[] {
  return (json.transactions ?? []).map((t) => {
    const amount = t.amount as { amount: string; currency: string };
    return {
      amountMinor: minor(amount.amount, amount.currency),
      valueDate: t.date as string,
      bookingDate: (t.entry_date as string | null) ?? undefined,
      endToEndId: ws(t.end_to_end_reference),
      name: ws(t.applicant_name),
      iban: ws(t.applicant_iban),
      bic: ws(t.applicant_bin),
      purpose: ws(t.purpose),
    };
  });
}

function ours(statements: Statement[]): (StatementEntry & { currency: string })[] {
  return statements.flatMap((s) => s.entries.map((e) => ({ ...e, currency: s.currency })));
}

describe('parseMt940 on the contract files', () => {
  (present ? it : it.skip).each(files.map((f) => relative(root, f)))('%s', (name) => {
    const buf = readFileSync(join(root, name));
    if (UNREADABLE.has(name) || NOT_BRIDGING.has(name)) {
      let err: unknown;
      try {
        parseMt940Buffer(buf, name);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IntegrationError);
      const msg = (err as Error).message;
      expect(msg).toContain(`${name}:`);
      expect(msg).toMatch(new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: `));
      if (NOT_BRIDGING.has(name)) expect(msg).toMatch(/statement .* does not bridge/);
      if (UNREADABLE.has(name)) return;
    }
    const statements = parseMt940Buffer(buf, name, { verifyBalances: !NOT_BRIDGING.has(name) });
    expect(statements.length).toBeGreaterThan(0);
    for (const s of statements) {
      if (!NOT_BRIDGING.has(name) && s.openingBalance && s.closingBalance) {
        const sum = s.entries.reduce((a, e) => a + e.amountMinor, 0);
        expect(s.openingBalance.amountMinor + sum).toBe(s.closingBalance.amountMinor);
      }
    }
    const base = join(root, name).replace(/\.[^.]+$/, '');
    const mine = ours(statements);
    if (existsSync(`${base}.expected.json`)) {
      const expected = normWolph(JSON.parse(readFileSync(`${base}.expected.json`, 'utf8')));
      expect(mine).toHaveLength(expected.length);
      expected.forEach((x, i) => {
        const e = mine[i]!;
        // wolph reads the RC mark (reversal of credit) as a credit; SWIFT and we read it as a debit
        const rc = name === 'wolph-mt940/betterplace/sepa_mt9401.sta';
        expect({ i, amountMinor: rc ? Math.abs(e.amountMinor) : e.amountMinor, valueDate: e.valueDate }).toEqual({
          i,
          amountMinor: rc ? Math.abs(x.amountMinor) : x.amountMinor,
          valueDate: x.valueDate,
        });
        if (x.bookingDate) expect(e.bookingDate).toBe(x.bookingDate);
        // wolph keeps ?60–?63 apart ("additional_purpose"); we join them to the purpose, so compare prefixes
        const eref = x.endToEndId as string | undefined;
        if (eref) expect(e.endToEndId?.startsWith(eref)).toBe(true);
        if (x.name && e.details) expect(ws(e.counterparty?.name)).toBe(x.name);
        if (x.iban && e.details) expect(e.counterparty?.iban).toBe(x.iban);
        if (x.bic && e.details) expect(e.counterparty?.bic).toBe(x.bic);
        const purpose = x.purpose as string | undefined;
        if (purpose && e.details) expect(ws(e.remittance)?.slice(0, purpose.length)).toBe(purpose);
      });
    } else if (existsSync(`${base}.json`)) {
      // mt940-js (webschik): an array of statements with float amounts and isCredit flags
      const expected = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as {
        openingBalance: { isCredit: boolean; date: string; currency: string; value: number };
        closingBalance: { isCredit: boolean; date: string; currency: string; value: number };
        transactions: { isCredit: boolean; amount: number; valueDate: string; entryDate: string; currency: string }[];
      }[];
      expect(statements).toHaveLength(expected.length);
      const toMinor = (v: number, c: string, credit: boolean) => (credit ? 1 : -1) * minor(v.toFixed(2), c) || 0;
      expected.forEach((x, si) => {
        const s = statements[si]!;
        expect(s.currency).toBe(x.openingBalance.currency);
        expect(s.openingBalance).toEqual({
          amountMinor: toMinor(x.openingBalance.value, s.currency, x.openingBalance.isCredit),
          date: x.openingBalance.date,
        });
        expect(s.closingBalance).toEqual({
          amountMinor: toMinor(x.closingBalance.value, s.currency, x.closingBalance.isCredit),
          date: x.closingBalance.date,
        });
        expect(s.entries).toHaveLength(x.transactions.length);
        x.transactions.forEach((t, i) => {
          const e = s.entries[i]!;
          expect(e.amountMinor).toBe(toMinor(t.amount, t.currency, t.isCredit));
          expect(e.valueDate).toBe(t.valueDate);
          if (t.entryDate) expect(e.bookingDate).toBe(t.entryDate);
        });
      });
    }
  });
});

describe('parseMt940 on a German structured :86: (own example)', () => {
  const text = [
    '{1:F01TESTDEFFAXXX0000000000}{2:O9401200TESTDEFFXXXX00000000000000000000N}{4:',
    ':20:STMT2026112301',
    ':25:10020030/0012345678',
    ':28C:00042/001',
    ':60F:C261120EUR1000,00',
    ':61:2612311231DR250,50N109NONREF//BANKREF4711',
    ':86:109?00RUECKLASTSCHRIFT?100931?20EREF+INV-2026-0815?21MREF+MANDATE',
    '-0007?22CRED+DE98ZZZ09999999999?23SVWZ+Rechnung 2026-0815 RF18 5390 0754 7034?24 Rückgabegrund AM04?30COBADEFFXXX',
    '?31DE89370400440532013000?32Muster Handel GmbH?33 & Co KG',
    ':61:2601020102C1234,56NTRFNONREF',
    ':86:Gutschrift Rechnung 4711',
    ':62F:C260102EUR1984,06',
    '-}',
  ].join('\r\n');

  it('reads amounts, dates with year rollover, SEPA fields and the return reason', () => {
    const [s] = parseMt940(text, 'own.sta');
    expect(s).toMatchObject({ account: '10020030/0012345678', currency: 'EUR', id: 'STMT2026112301/00042/001' });
    expect(s!.openingBalance).toEqual({ amountMinor: 100000, date: '2026-11-20' });
    expect(s!.closingBalance).toEqual({ amountMinor: 198406, date: '2026-01-02' });
    const [ret, credit] = s!.entries;
    expect(ret).toMatchObject({
      amountMinor: -25050,
      valueDate: '2026-12-31',
      bookingDate: '2026-12-31',
      reference: 'BANKREF4711',
      endToEndId: 'INV-2026-0815',
      mandateId: 'MANDATE-0007',
      creditorReference: 'RF18539007547034',
      returnReason: 'AM04',
      counterparty: { name: 'Muster Handel GmbH & Co KG', bic: 'COBADEFFXXX', iban: 'DE89370400440532013000' },
    });
    expect(ret!.remittance).toBe('Rechnung 2026-0815 RF18 5390 0754 7034 Rückgabegrund AM04');
    expect(ret!.details).toMatchObject({ gvc: '109', '00': 'RUECKLASTSCHRIFT', '10': '0931' });
    expect(credit).toMatchObject({
      amountMinor: 123456,
      valueDate: '2026-01-02',
      remittance: 'Gutschrift Rechnung 4711',
    });
  });

  it('refuses a statement that does not bridge, naming file, statement and line', () => {
    const broken = text.replace(':62F:C260102EUR1984,06', ':62F:C260102EUR1984,07');
    expect(() => parseMt940(broken, 'own.sta')).toThrow(
      /own\.sta:12: statement STMT2026112301\/00042\/001 does not bridge/,
    );
  });

  it('decodes ISO-8859-1 when the bytes are not UTF-8', () => {
    const [s] = parseMt940Buffer(Buffer.from(text, 'latin1'), 'own.sta');
    expect(s!.entries[0]!.remittance).toContain('Rückgabegrund');
  });
});

describe('parseMt940: the information to the account owner after the balances', () => {
  it("is no entry's remittance, also when the last entry has no :86: of its own", () => {
    const name = 'mt940-js-webschik/ing-1.mta';
    if (!present) return;
    // ING's statement with the last entry's own :86: (VERZAMELBETALING … POSTEN) left out; the statement's :86: after
    // :62F:/:64:/:65: (D000001C000002D10000,99C11,01 ING TESTREKENING) stays
    const text = readFileSync(join(root, name), 'latin1').replace(/:86:VERZAMELBETALING.*\r?\nPOSTEN\r?\n/, '');
    expect(text).not.toContain('VERZAMELBETALING');
    const [s] = parseMt940(text, name);
    expect(s!.entries).toHaveLength(3);
    expect(s!.entries[2]!.amountMinor).toBe(-1000099);
    expect(s!.entries[2]!.remittance).toBeUndefined();
  });

  it("in an MT942 follows the :90D:/:90C: totals and is no entry's either", () => {
    const text = [
      ':20:INTRADAY1',
      ':25:DE89370400440532013000',
      ':28C:1/1',
      ':34F:EUR0,',
      ':13D:2501031200+0100',
      ':61:2501030103C150,00NTRFNONREF//B1',
      ':90D:0EUR0,',
      ':90C:1EUR150,00',
      ':86:Vormerkposten ohne Gewaehr',
      '-',
    ].join('\n');
    const [s] = parseMt940(text, 'intraday.sta');
    expect(s!.entries).toEqual([
      { amountMinor: 15000, bookingDate: '2025-01-03', valueDate: '2025-01-03', reference: 'B1' },
    ]);
  });
});

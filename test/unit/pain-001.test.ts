/**
 * pain.001 credit transfer files (refunds and payouts) as a bank receives them: valid against the ISO schemas and the
 * German DK schema in ../shared/contracts/banking/xsd, with sums and counts checked by hand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CreditTransfer, type CreditTransferFile, toSepaCharset, writePain001 } from '../../src/cash/pain001';

const CONTRACTS = process.env.CLEARHUB_CONTRACTS ?? resolve(__dirname, '../../../shared/contracts');
const XSD = join(CONTRACTS, 'banking/xsd');
const canValidate = existsSync(XSD) && spawnSync('xmllint', ['--version']).status === 0;
if (!canValidate) console.log(`pain.001 XSD validation skipped: no ${XSD} or no xmllint`);
const withXsd = canValidate ? test : test.skip;

const dir = mkdtempSync(join(tmpdir(), 'clearhub-pain001-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function xmllint(xml: string, xsd: string): string {
  const file = join(dir, `f${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', join(XSD, xsd), file], { encoding: 'utf8' });
  return r.status === 0 ? 'valid' : r.stderr;
}

const all = (xml: string, tag: string) =>
  [...xml.matchAll(new RegExp(`<${tag}(?: [^>]*)?>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]);

const TRANSFERS: CreditTransfer[] = [
  {
    endToEndId: 'RFD-1',
    amountMinor: 2345,
    currency: 'EUR',
    creditor: { name: 'Jürgen Müller', iban: 'DE02 1203 0000 0000 2020 51' },
    remittance: { text: 'Erstattung Überzahlung RE 2027-0042' },
  },
  {
    endToEndId: 'RFD-2',
    amountMinor: 10,
    currency: 'EUR',
    creditor: { name: 'Société Générale Client', iban: 'FR1420041010050500013M02606', bic: 'SOGEFRPP' },
    remittance: { reference: 'RF18539007547034' },
  },
  {
    endToEndId: 'RFD-3',
    amountMinor: 99_999_999_999,
    currency: 'EUR',
    creditor: { name: 'Anna Ek', iban: 'AT611904300234573201' },
    executionDate: '2027-04-01',
  },
];

const file = (version: CreditTransferFile['version'], transfers = TRANSFERS): CreditTransferFile => ({
  version,
  messageId: 'RFD-20270330-1',
  createdAt: new Date('2027-03-30T10:00:00Z'),
  debtor: { name: 'Demo Telco GmbH', iban: 'DE89370400440532013000', bic: 'COBADEFFXXX' },
  executionDate: '2027-03-31',
  transfers,
});

describe('pain.001 credit transfer files', () => {
  test('NbOfTxs and CtrlSum per file and per execution date are right', () => {
    const { xml, summary } = writePain001(file('pain.001.001.09'));
    // 23.45 + 0.10 on 31 March, 999,999,999.99 on 1 April
    expect(all(xml, 'NbOfTxs')).toEqual(['3', '2', '1']);
    expect(all(xml, 'CtrlSum')).toEqual(['1000000023.54', '23.55', '999999999.99']);
    expect(all(xml, 'Dt')).toEqual(['2027-03-31', '2027-04-01']);
    expect(all(xml, 'InstdAmt')).toEqual(['23.45', '0.10', '999999999.99']);
    expect(all(xml, 'EndToEndId')).toEqual(['RFD-1', 'RFD-2', 'RFD-3']);
    expect(all(xml, 'ChrgBr')).toEqual(['SLEV', 'SLEV']);
    expect(summary).toMatchObject({ numberOfTransactions: 3, controlSum: '1000000023.54' });
  });

  test('payee names and texts are in the SEPA character set; the RF reference is structured', () => {
    const { xml } = writePain001(file('pain.001.001.03'));
    expect(all(xml, 'Nm')).toEqual([
      'Demo Telco GmbH',
      'Demo Telco GmbH',
      'Juergen Mueller',
      'Societe Generale Client',
      'Demo Telco GmbH',
      'Anna Ek',
    ]);
    expect(all(xml, 'Ustrd')).toEqual(['Erstattung Ueberzahlung RE 2027-0042']);
    expect(all(xml, 'Ref')).toEqual(['RF18539007547034']);
    expect(all(xml, 'ReqdExctnDt')).toEqual(['2027-03-31', '2027-04-01']);
  });

  withXsd('pain.001.001.09 validates against the ISO 20022 schema', () => {
    expect(xmllint(writePain001(file('pain.001.001.09')).xml, 'pain.001.001.09.xsd')).toBe('valid');
  });

  withXsd('pain.001.001.03 validates against the ISO schema and the German DK schema', () => {
    const { xml } = writePain001(file('pain.001.001.03'));
    expect(xmllint(xml, 'pain.001.001.03.xsd')).toBe('valid');
    expect(xmllint(xml, 'dk-gbic-variants/pain.001.001.03.dk.xsd')).toBe('valid');
  });

  withXsd('an IBAN-only debtor (no BIC) validates in both versions', () => {
    const f = { ...file('pain.001.001.03'), debtor: { name: 'Demo Telco GmbH', iban: 'DE89370400440532013000' } };
    expect(xmllint(writePain001(f).xml, 'dk-gbic-variants/pain.001.001.03.dk.xsd')).toBe('valid');
    expect(xmllint(writePain001({ ...f, version: 'pain.001.001.09' }).xml, 'pain.001.001.09.xsd')).toBe('valid');
  });

  test('bad input is refused with the field named', () => {
    const at = (i: number, t: Partial<CreditTransfer>) => TRANSFERS.map((x, j) => (j === i ? { ...x, ...t } : x));
    const write = (f: Partial<CreditTransferFile>) => () => writePain001({ ...file('pain.001.001.09'), ...f });
    expect(write({ transfers: at(0, { currency: 'USD' }) })).toThrow(/^transfers\[0\]\.currency: /);
    expect(
      write({ transfers: at(1, { creditor: { name: 'X', iban: 'FR1420041010050500013M02606', bic: 'SOGE' } }) }),
    ).toThrow(/^transfers\[1\]\.creditor\.bic: /);
    expect(write({ transfers: at(2, { creditor: { name: 'X', iban: 'DE89370400440532013001' } }) })).toThrow(
      /^transfers\[2\]\.creditor\.iban: /,
    );
    expect(write({ transfers: at(2, { amountMinor: 100_000_000_000 }) })).toThrow(/^transfers\[2\]\.amountMinor: /);
    expect(write({ transfers: at(2, { endToEndId: 'RFD-1' }) })).toThrow(/^transfers\[2\]\.endToEndId: .*twice/);
    expect(write({ transfers: at(0, { creditor: { name: '   ', iban: 'DE02120300000000202051' } }) })).toThrow(
      /^transfers\[0\]\.creditor\.name: /,
    );
    expect(write({ debtor: { name: 'Demo', iban: 'DE89 3704 0044 0532 0130 01' } })).toThrow(/^debtor\.iban: /);
    expect(write({ executionDate: '2027-02-30' })).toThrow(/^executionDate: /);
  });

  test('an IBAN error does not repeat the IBAN (personal data ends up in logs)', () => {
    const t = TRANSFERS.map((x, j) =>
      j === 0 ? { ...x, creditor: { name: 'X', iban: 'DE02120300000000202052' } } : x,
    );
    expect(() => writePain001(file('pain.001.001.09', t))).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('0202052') }),
    );
  });
});

describe('SEPA character set', () => {
  test.each([
    ['Müller & Söhne GmbH', 'Mueller + Soehne GmbH'],
    ['MÜLLER', 'MUELLER'],
    ['Ärger im Büro', 'Aerger im Buero'],
    ['Straße', 'Strasse'],
    ['Café Crème, Łódź', 'Cafe Creme, Lodz'],
    ['Søren Ærø', 'Soren AEro'],
    ['Rechnung\n2027 – 42', 'Rechnung 2027 - 42'],
    ['50 % off @ shop; "quoted"', '50 . off . shop. .quoted.'],
    ['O’Brien', "O'Brien"],
  ])('%j → %j', (from, to) => {
    expect(toSepaCharset(from)).toBe(to);
  });
});

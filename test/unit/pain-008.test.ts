/**
 * pain.008 direct debit files as a bank receives them: valid against the ISO schemas (and the German DK schema for
 * pain.008.001.02) in ../shared/contracts/banking/xsd, with sums and counts checked by hand.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { creditorIdentifier, type DirectDebit, type DirectDebitFile, writePain008 } from '../../src/cash/pain008';

const CONTRACTS = process.env.CLEARHUB_CONTRACTS ?? resolve(__dirname, '../../../shared/contracts');
const XSD = join(CONTRACTS, 'banking/xsd');
const canValidate = existsSync(XSD) && spawnSync('xmllint', ['--version']).status === 0;
if (!canValidate) console.log(`pain.008 XSD validation skipped: no ${XSD} or no xmllint`);
const withXsd = canValidate ? test : test.skip;

const dir = mkdtempSync(join(tmpdir(), 'clearhub-pain008-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function xmllint(xml: string, xsd: string): string {
  const file = join(dir, `f${Math.random().toString(36).slice(2)}.xml`);
  writeFileSync(file, xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', join(XSD, xsd), file], { encoding: 'utf8' });
  return r.status === 0 ? 'valid' : r.stderr;
}

const all = (xml: string, tag: string) =>
  [...xml.matchAll(new RegExp(`<${tag}(?: [^>]*)?>([^<]*)</${tag}>`, 'g'))].map((m) => m[1]);

const debit = (over: Partial<DirectDebit>): DirectDebit => ({
  endToEndId: 'E2E-1',
  amountMinor: 1234,
  currency: 'EUR',
  sequenceType: 'RCUR',
  collectionDate: '2027-03-30',
  mandate: { reference: 'M-1', signedOn: '2027-01-15' },
  debtor: { name: 'Erika Mustermann', iban: 'DE02120300000000202051' },
  remittance: { text: 'Rechnung 1' },
  ...over,
});

const batch = (version: DirectDebitFile['version'], collections: DirectDebit[]): DirectDebitFile => ({
  version,
  messageId: 'SDD-2027-03-25-1',
  createdAt: new Date('2027-03-25T08:15:00Z'),
  creditor: {
    name: 'Demo Telco GmbH',
    iban: 'DE89370400440532013000',
    bic: 'COBADEFFXXX',
    creditorId: 'DE98ZZZ09999999999',
  },
  collections,
});

/** Five collections on two dates with all three sequence types; the sums below are added up by hand. */
const FIVE: DirectDebit[] = [
  debit({
    endToEndId: 'E2E-2',
    amountMinor: 1,
    mandate: { reference: 'M-2', signedOn: '2026-11-02' },
    debtor: { name: 'ÖKO Straße & Co. KG', iban: 'AT61 1904 3002 3457 3201', bic: 'BKAUATWW' },
    remittance: { text: 'Rechnung 2027/0042 – März' },
  }),
  debit({
    endToEndId: 'E2E-1',
    sequenceType: 'FRST',
    debtor: { name: 'Jürgen Müller-Lüdenscheidt', iban: 'DE02120300000000202051' },
    remittance: { reference: 'RF18 5390 0754 7034' },
  }),
  debit({ endToEndId: 'E2E-3', amountMinor: 100_000_000, mandate: { reference: 'M-3', signedOn: '2025-06-30' } }),
  debit({ endToEndId: 'E2E-4', amountMinor: 4567, collectionDate: '2027-04-07' }),
  debit({
    endToEndId: 'E2E-5',
    amountMinor: 10000,
    sequenceType: 'OOFF',
    mandate: { reference: 'M 5', signedOn: '2027-03-20' },
  }),
];

describe('pain.008 direct debit files', () => {
  test('NbOfTxs and CtrlSum of the file and of each block (by date, then FRST, RCUR, OOFF) are right', () => {
    const { xml, summary } = writePain008(batch('pain.008.001.08', FIVE));
    // 12.34 + 0.01 + 1,000,000.00 + 45.67 + 100.00
    expect(all(xml, 'NbOfTxs')).toEqual(['5', '1', '2', '1', '1']);
    expect(all(xml, 'CtrlSum')).toEqual(['1000158.02', '12.34', '1000000.01', '100.00', '45.67']);
    expect(all(xml, 'SeqTp')).toEqual(['FRST', 'RCUR', 'OOFF', 'RCUR']);
    expect(all(xml, 'ReqdColltnDt')).toEqual(['2027-03-30', '2027-03-30', '2027-03-30', '2027-04-07']);
    expect(all(xml, 'PmtInfId')).toEqual([
      'SDD-2027-03-25-1-1',
      'SDD-2027-03-25-1-2',
      'SDD-2027-03-25-1-3',
      'SDD-2027-03-25-1-4',
    ]);
    expect(all(xml, 'EndToEndId')).toEqual(['E2E-1', 'E2E-2', 'E2E-3', 'E2E-5', 'E2E-4']);
    expect(all(xml, 'InstdAmt')).toEqual(['12.34', '0.01', '1000000.00', '100.00', '45.67']);
    expect(summary).toMatchObject({ numberOfTransactions: 5, controlSumMinor: 100_015_802, controlSum: '1000158.02' });
  });

  test('mandate, creditor scheme id and remittance are where the bank looks for them', () => {
    const { xml } = writePain008(batch('pain.008.001.08', FIVE));
    expect(all(xml, 'MndtId')).toEqual(['M-1', 'M-2', 'M-3', 'M 5', 'M-1']);
    expect(all(xml, 'DtOfSgntr')).toEqual(['2027-01-15', '2026-11-02', '2025-06-30', '2027-03-20', '2027-01-15']);
    expect(all(xml, 'AmdmntInd')).toEqual(['false', 'false', 'false', 'false', 'false']);
    expect(xml).toMatch(
      /<CdtrSchmeId>\s*<Id>\s*<PrvtId>\s*<Othr>\s*<Id>DE98ZZZ09999999999<\/Id>\s*<SchmeNm>\s*<Prtry>SEPA<\/Prtry>/,
    );
    // The RF reference is structured (SCOR), printed spaces removed; text goes unstructured.
    expect(xml).toMatch(
      /<Strd>\s*<CdtrRefInf>\s*<Tp>\s*<CdOrPrtry>\s*<Cd>SCOR<\/Cd>[\s\S]*?<Ref>RF18539007547034<\/Ref>/,
    );
    expect(all(xml, 'Ustrd')).toContain('Rechnung 2027/0042 - Maerz');
    // BIC where given, NOTPROVIDED where not (IBAN-only).
    expect(all(xml, 'BICFI')).toEqual(['COBADEFFXXX', 'COBADEFFXXX', 'BKAUATWW', 'COBADEFFXXX', 'COBADEFFXXX']);
    expect(all(xml, 'Id').filter((x) => x === 'NOTPROVIDED')).toHaveLength(4);
    expect(all(xml, 'IBAN')).toContain('AT611904300234573201');
  });

  test('names and texts are transliterated into the SEPA character set (German DK rules)', () => {
    const { xml } = writePain008(batch('pain.008.001.02', FIVE));
    const names = all(xml, 'Nm');
    expect(names).toContain('Juergen Mueller-Luedenscheidt');
    expect(names).toContain('OEKO Strasse + Co. KG');
    expect(xml).not.toMatch(/[äöüÄÖÜß&–]/);
    const long = writePain008(batch('pain.008.001.02', [debit({ remittance: { text: `Ä${'ä'.repeat(99)}` } })])).xml;
    // 'Ae' then 99 × 'ae' = 200 characters, cut to the 140 the field takes.
    expect(all(long, 'Ustrd')).toEqual([`Ae${'ae'.repeat(69)}`]);
  });

  withXsd('pain.008.001.08 validates against the ISO 20022 schema', () => {
    expect(xmllint(writePain008(batch('pain.008.001.08', FIVE)).xml, 'pain.008.001.08.xsd')).toBe('valid');
  });

  withXsd('pain.008.001.02 validates against the ISO schema and the German DK schema', () => {
    const { xml } = writePain008(batch('pain.008.001.02', FIVE));
    expect(xml).toContain('<BIC>COBADEFFXXX</BIC>');
    expect(xmllint(xml, 'pain.008.001.02.xsd')).toBe('valid');
    expect(xmllint(xml, 'dk-gbic-variants/pain.008.001.02.dk.xsd')).toBe('valid');
  });

  withXsd('a B2B file without any BIC still validates (DK: NOTPROVIDED)', () => {
    const f = batch('pain.008.001.02', [debit({})]);
    const { xml } = writePain008({ ...f, localInstrument: 'B2B', creditor: { ...f.creditor, bic: undefined } });
    expect(all(xml, 'Cd')).toContain('B2B');
    expect(xml).not.toContain('<BIC>');
    expect(xmllint(xml, 'dk-gbic-variants/pain.008.001.02.dk.xsd')).toBe('valid');
    expect(xmllint(xml, 'pain.008.001.02.xsd')).toBe('valid');
  });

  test('bad input is refused with the field named', () => {
    const base = batch('pain.008.001.08', FIVE);
    const bad = (over: Partial<DirectDebitFile>) => () => writePain008({ ...base, ...over });
    const withDebit = (i: number, d: Partial<DirectDebit>) => FIVE.map((x, j) => (j === i ? { ...x, ...d } : x));
    expect(bad({ collections: withDebit(1, { debtor: { name: 'X', iban: 'DE02120300000000202052' } }) })).toThrow(
      /^collections\[1\]\.debtor\.iban: /,
    );
    expect(bad({ creditor: { ...base.creditor, creditorId: 'DE99ZZZ09999999999' } })).toThrow(
      /^creditor\.creditorId: /,
    );
    expect(bad({ collections: withDebit(0, { currency: 'CHF' }) })).toThrow(/^collections\[0\]\.currency: /);
    expect(bad({ collections: withDebit(2, { amountMinor: 0 }) })).toThrow(/^collections\[2\]\.amountMinor: /);
    expect(bad({ collections: withDebit(3, { amountMinor: 12.5 }) })).toThrow(/^collections\[3\]\.amountMinor: /);
    expect(bad({ collections: withDebit(1, { endToEndId: 'E2E-2' }) })).toThrow(
      /^collections\[1\]\.endToEndId: .*twice/,
    );
    expect(bad({ collections: withDebit(0, { mandate: { reference: 'Mä-1', signedOn: '2027-01-01' } }) })).toThrow(
      /^collections\[0\]\.mandate\.reference: /,
    );
    expect(bad({ collections: withDebit(0, { mandate: { reference: 'M-1', signedOn: '2027-04-01' } }) })).toThrow(
      /^collections\[0\]\.mandate\.signedOn: .*after/,
    );
    expect(bad({ collections: withDebit(0, { remittance: { reference: 'RF19539007547034' } }) })).toThrow(
      /^collections\[0\]\.remittance\.reference: /,
    );
    expect(bad({ collections: [] })).toThrow(/^collections: /);
    expect(bad({ messageId: 'M'.repeat(31) })).toThrow(/^messageId: /);
  });
});

describe('SEPA creditor identifier', () => {
  test.each([
    ['DE98ZZZ09999999999'], // the Bundesbank's sample
    ['DE32ZZZ00000123456'], // 00000123456 + DE00 → 98 - (…131400 mod 97) = 32, by hand
    ['DE32ABC00000123456'], // the business code is not part of the check
    ['de98 zzz0 9999 9999 99'],
  ])('%s is valid', (id) => {
    expect(creditorIdentifier(id)).toBe(id.replace(/\s/g, '').toUpperCase());
  });

  test.each([
    ['DE99ZZZ09999999999', /check digits/],
    ['DE98ZZZ0999999999', /18/],
    ['DE98ZZZ09999999999X', /18/],
    ['XX', /not a SEPA creditor identifier/],
  ])('%s is refused, naming the field', (id, why) => {
    expect(() => creditorIdentifier(id, 'config.creditorId')).toThrow(/^config\.creditorId: /);
    expect(() => creditorIdentifier(id)).toThrow(why);
  });
});

// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are YAML with ${env:…} references
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadYamlWithSchema } from '../../src/config/yaml-errors';
import { IntegrationError } from '../../src/domain/errors';
import {
  type CompiledMapping,
  compileMapping,
  loadMapping,
  loadMappingFile,
  type MappingDefinition,
  type MappingResult,
} from '../../src/mapping';

const generic = compileMapping(loadMappingFile(join(__dirname, '../../mappings/csv-generic.v1.yaml')));

const ROW: Record<string, string> = {
  customer_no: 'C-1001',
  customer_name: 'Müller GmbH',
  customer_type: 'B2B',
  email: 'ap@mueller.example',
  phone: '+49301234567',
  language: 'de',
  country: 'DE',
  document_no: 'INV-2024-0001',
  contract_no: 'SIM-77',
  document_date: '2024-01-15',
  due_date: '2024-02-14',
  currency: 'EUR',
  amount: '1190.00',
  open_amount: '190.00',
  dunning_level: '1',
  dunning_block: '',
};

function rejection(r: MappingResult): { reason: string; field?: string; line?: number } {
  if (r.ok || r.skipped) throw new Error(`expected a rejection, got ${JSON.stringify(r)}`);
  return r;
}

describe('csv-generic.v1 mapping', () => {
  it('maps a good row to a debtor and an item', () => {
    const r = generic(ROW, { line: 2 });
    expect(r).toEqual({
      ok: true,
      debtor: {
        externalId: 'C-1001',
        name: 'Müller GmbH',
        type: 'B2B',
        email: 'ap@mueller.example',
        phone: '+49301234567',
        language: 'de',
        country: 'DE',
        tags: [],
      },
      item: {
        sourceKey: 'INV-2024-0001',
        externalId: 'C-1001',
        documentNumber: 'INV-2024-0001',
        contractRef: 'SIM-77',
        currency: 'EUR',
        amountMinor: 119000,
        openMinor: 19000,
        documentDate: '2024-01-15',
        dueDate: '2024-02-14',
        dunningLevel: 1,
      },
    });
  });

  it('applies defaults for empty optional columns and columns missing from the file', () => {
    const { open_amount, dunning_level, language, customer_type, ...rest } = ROW;
    const r = generic({ ...rest, contract_no: '', email: '  ' });
    if (!r.ok) throw new Error(JSON.stringify(r));
    expect(r.item.openMinor).toBe(119000);
    expect(r.item.dunningLevel).toBe(0);
    expect(r.item.contractRef).toBeUndefined();
    expect(r.debtor.language).toBe('de');
    expect(r.debtor.type).toBe('B2C');
    expect(r.debtor.email).toBeUndefined();
  });

  it('normalises case of currency, country and language, and trims values', () => {
    const r = generic({ ...ROW, currency: ' eur ', country: 'at', language: 'EN', customer_no: ' C-1001 ' });
    if (!r.ok) throw new Error(JSON.stringify(r));
    expect([r.item.currency, r.debtor.country, r.debtor.language, r.item.externalId]).toEqual([
      'EUR',
      'AT',
      'en',
      'C-1001',
    ]);
  });

  it('keeps credit memos negative and amounts exact', () => {
    const r = generic({ ...ROW, amount: '-50.10', open_amount: '' });
    if (!r.ok) throw new Error(JSON.stringify(r));
    expect(r.item.amountMinor).toBe(-5010);
    expect(r.item.openMinor).toBe(-5010);
    const big = generic({ ...ROW, amount: '90071992547409.91' });
    expect(big.ok && big.item.amountMinor).toBe(9007199254740991);
  });

  it('rejects a month 13 naming the field, the value and the format', () => {
    const r = rejection(generic({ ...ROW, due_date: '2024-13-01' }, { line: 7 }));
    expect(r).toEqual({
      ok: false,
      reason: 'dueDate: "2024-13-01" is not a date (expected YYYY-MM-DD)',
      field: 'dueDate',
      line: 7,
    });
  });

  it.each([
    ['2024-02-30', false],
    ['2023-02-29', false],
    ['1900-02-29', false],
    ['2024-04-31', false],
    ['2024-00-10', false],
    ['2024-01-00', false],
    ['2024-1-05', false],
    ['24-01-05', false],
    ['2024/01/05', false],
    ['2024-01-0x', false],
    ['2024-02-29', true],
    ['2000-02-29', true],
    ['2024-12-31', true],
  ])('due date %s is a real date: %s', (date, valid) => {
    const r = generic({ ...ROW, due_date: date });
    expect(r.ok).toBe(valid);
    if (!valid) expect(rejection(r).reason).toBe(`dueDate: "${date}" is not a date (expected YYYY-MM-DD)`);
  });

  it('rejects a required date that is empty', () => {
    expect(rejection(generic({ ...ROW, due_date: '' })).reason).toBe(
      'dueDate: is required but column "due_date" is empty',
    );
  });

  it('rejects an amount that is not a decimal', () => {
    const r = rejection(generic({ ...ROW, amount: '12,3,4' }));
    expect(r.field).toBe('amountMinor');
    expect(r.reason).toBe('amountMinor: "12,3,4" is not a decimal amount (expected e.g. 1190.00)');
  });

  it.each(['1.190,00', '1e3', '12.', '.5', 'EUR 12', '0x10', '12 000'])('rejects the amount %s', (amount) => {
    expect(rejection(generic({ ...ROW, amount })).field).toBe('amountMinor');
  });

  it('rejects more decimals than the currency has, accepts trailing zeros', () => {
    expect(rejection(generic({ ...ROW, amount: '10.005' })).reason).toBe(
      'amountMinor: "10.005" has more decimals than EUR allows (2)',
    );
    expect(rejection(generic({ ...ROW, currency: 'JPY', amount: '500.5' })).reason).toContain('more decimals than JPY');
    const r = generic({ ...ROW, currency: 'JPY', amount: '500', open_amount: '' });
    expect(r.ok && r.item.amountMinor).toBe(500);
    const kwd = generic({ ...ROW, currency: 'KWD', amount: '1.234', open_amount: '' });
    expect(kwd.ok && kwd.item.amountMinor).toBe(1234);
    const zeros = generic({ ...ROW, amount: '10.500' });
    expect(zeros.ok && zeros.item.amountMinor).toBe(1050);
  });

  it('rejects an unknown currency before looking at the amount', () => {
    const r = rejection(generic({ ...ROW, currency: 'XYZ' }));
    expect(r).toMatchObject({
      field: 'currency',
      reason: 'currency: "XYZ" is not a known currency (expected an ISO 4217 code such as EUR)',
    });
  });

  it('rejects a record without its key', () => {
    const r = rejection(generic({ ...ROW, document_no: '  ' }));
    expect(r).toMatchObject({ field: 'sourceKey', reason: 'sourceKey: key column "document_no" is empty' });
    const { document_no, ...noColumn } = ROW;
    expect(rejection(generic(noColumn)).field).toBe('sourceKey');
  });

  it('rejects a key value containing the separator', () => {
    expect(rejection(generic({ ...ROW, document_no: 'A|B' })).reason).toContain('contains "|"');
  });

  it('maps customer types and rejects values not in the map', () => {
    const r = generic({ ...ROW, customer_type: 'consumer' });
    expect(r.ok && r.debtor.type).toBe('B2C');
    expect(rejection(generic({ ...ROW, customer_type: 'Gewerbe' })).reason).toBe(
      'type: "Gewerbe" is not in the value map (allowed: B2B, B2C, b2b, b2c, business, consumer)',
    );
  });

  it('rejects bad country, language and dunning level', () => {
    expect(rejection(generic({ ...ROW, country: 'Germany' })).field).toBe('country');
    expect(rejection(generic({ ...ROW, language: 'deutsch' })).field).toBe('language');
    expect(rejection(generic({ ...ROW, dunning_level: '1.5' })).reason).toBe('dunningLevel: "1.5" is not an integer');
    expect(rejection(generic({ ...ROW, dunning_level: '-1' })).field).toBe('dunningLevel');
  });

  it('does not mistake Object.prototype members for columns', () => {
    const m = mappingWith({ contractRef: { from: 'constructor' }, dunningBlock: { from: 'toString' } });
    const r = m({ cust: '1', name: 'N', doc: 'D1', amount: '1.00', due: '2024-01-01' });
    expect(r.ok && [r.item.contractRef, r.item.dunningBlock]).toEqual([undefined, undefined]);
    const own = m({ cust: '1', name: 'N', doc: 'D1', amount: '1.00', due: '2024-01-01', constructor: 'K-1' });
    expect(own.ok && own.item.contractRef).toBe('K-1');
  });

  it('gives a postal address only where there is a city: street line, then postal code and city', () => {
    const full = generic({ ...ROW, street: ' Lindenweg 5 ', postal_code: '50667', city: 'Köln' });
    expect(full.ok && full.debtor.address).toEqual(['Lindenweg 5', '50667 Köln']);
    const noStreet = generic({ ...ROW, postal_code: '50667', city: 'Köln' });
    expect(noStreet.ok && noStreet.debtor.address).toEqual(['50667 Köln']);
    const noCity = generic({ ...ROW, street: 'Lindenweg 5', postal_code: '50667' });
    expect(noCity.ok && noCity.debtor.address).toBeUndefined();
    const r = generic(ROW); // the file has no address columns at all
    expect(r.ok && r.debtor.address).toBeUndefined();
  });

  it('splits tags and drops duplicates', () => {
    const r = generic({ ...ROW, tags: 'vip; new ;;vip' });
    expect(r.ok && r.debtor.tags).toEqual(['vip', 'new']);
  });

  it('reads only the columns it names', () => {
    expect([...generic.sourceFields].sort()).toEqual(
      [...Object.keys(ROW), 'open_amount', 'tags', 'street', 'postal_code', 'city']
        .filter((v, i, a) => a.indexOf(v) === i)
        .sort(),
    );
    expect([generic.mappingName, generic.mappingVersion, generic.sourceKind]).toEqual(['csv-generic', 1, 'csv']);
  });
});

const SAP_YAML = `name: sap-fi-ar-rfc
version: 2
source: { kind: sap-rfc, entity: BAPI_AR_ACC_GETOPENITEMS.LINEITEMS }
key: [COMP_CODE, FISC_YEAR, DOC_NO, ITEM_NUM]
when:
  - { field: DOC_TYPE, in: [DR, RV] }
debtor:
  externalId: CUSTOMER
  name: { concat: [NAME1, NAME2], separator: " / " }
  type: { from: KTOKD, map: { KUNA: B2B, "*": B2C } }
  language: { from: LANGU, map: { D: de, E: en }, default: de }
  tags: [{ value: sap }]
item:
  documentNumber: DOC_NO
  currency: CURRENCY
  amountMinor: { from: AMT_DOCCUR, type: decimal-money, sign: { negateWhen: { field: DB_CR_IND, equals: H } } }
  openMinor: { from: AMT_DOCCUR, sign: { negateWhen: { field: DB_CR_IND, equals: H } } }
  documentDate: { from: DOC_DATE, type: date, format: YYYYMMDD }
  dueDate: { from: NET_DUE, type: date, format: YYYYMMDD, default: "20991231" }
  dunningLevel: { from: DUNN_LEVEL, type: int, default: 0 }
  dunningBlock: DUNN_BLOCK
`;

const SAP_ROW: Record<string, string> = {
  COMP_CODE: '1010',
  FISC_YEAR: '2024',
  DOC_NO: '1800000012',
  ITEM_NUM: '001',
  DOC_TYPE: 'DR',
  CUSTOMER: '17100001',
  NAME1: 'Inlandskunde DE 1',
  NAME2: 'Filiale Berlin',
  KTOKD: 'KUNA',
  LANGU: 'D',
  CURRENCY: 'EUR',
  AMT_DOCCUR: '1190.00',
  DB_CR_IND: 'S',
  DOC_DATE: '20240115',
  NET_DUE: '20240214',
  DUNN_LEVEL: '0',
  DUNN_BLOCK: '',
};

describe('an SAP-style mapping', () => {
  const sap = compileMapping(loadMapping('mappings/sap-fi-ar-rfc.v2.yaml', SAP_YAML));

  it('joins the key fields in order and concatenates names', () => {
    const r = sap(SAP_ROW);
    if (!r.ok) throw new Error(JSON.stringify(r));
    expect(r.item.sourceKey).toBe('1010|2024|1800000012|001');
    expect(r.debtor.name).toBe('Inlandskunde DE 1 / Filiale Berlin');
    expect(r.item.documentDate).toBe('2024-01-15');
    expect(r.item.dueDate).toBe('2024-02-14');
    expect(r.debtor).toMatchObject({ type: 'B2B', language: 'de', tags: ['sap'] });
  });

  it('leaves empty parts out of a concatenation', () => {
    const r = sap({ ...SAP_ROW, NAME2: '' });
    expect(r.ok && r.debtor.name).toBe('Inlandskunde DE 1');
  });

  it('negates credit postings (debit/credit indicator H)', () => {
    const credit = sap({ ...SAP_ROW, DB_CR_IND: 'H' });
    expect(credit.ok && [credit.item.amountMinor, credit.item.openMinor]).toEqual([-119000, -119000]);
    const debit = sap({ ...SAP_ROW, DB_CR_IND: 'S' });
    expect(debit.ok && debit.item.amountMinor).toBe(119000);
  });

  it('accepts SAP trailing minus amounts', () => {
    const r = sap({ ...SAP_ROW, AMT_DOCCUR: '12.50-' });
    expect(r.ok && r.item.amountMinor).toBe(-1250);
  });

  it('uses the catch-all of a value map', () => {
    const r = sap({ ...SAP_ROW, KTOKD: 'CPD' });
    expect(r.ok && r.debtor.type).toBe('B2C');
  });

  it('skips records a when condition excludes, without rejecting them', () => {
    const r = sap({ ...SAP_ROW, DOC_TYPE: 'SA' });
    expect(r).toEqual({ ok: false, skipped: true, reason: 'when[0]: DOC_TYPE must be one of DR, RV' });
  });

  it("treats SAP's initial date 00000000 as empty", () => {
    const r = sap({ ...SAP_ROW, DOC_DATE: '00000000', NET_DUE: '00000000' });
    if (!r.ok) throw new Error(JSON.stringify(r));
    expect(r.item.documentDate).toBeUndefined();
    expect(r.item.dueDate).toBe('2099-12-31');
  });

  it('rejects an impossible compact date', () => {
    expect(rejection(sap({ ...SAP_ROW, NET_DUE: '20230229' })).reason).toBe(
      'dueDate: "20230229" is not a date (expected YYYYMMDD)',
    );
  });
});

function mappingWith(
  item: Partial<MappingDefinition['item']>,
  extra: Partial<MappingDefinition> = {},
): CompiledMapping {
  return compileMapping({
    name: 'test',
    version: 1,
    source: { kind: 'csv', entity: 'invoice' },
    key: ['doc'],
    debtor: { externalId: { from: 'cust' }, name: { from: 'name' }, type: { value: 'B2C' } },
    item: {
      documentNumber: { from: 'doc' },
      currency: { value: 'EUR' },
      amountMinor: { from: 'amount' },
      dueDate: { from: 'due' },
      ...item,
    },
    ...extra,
  });
}

describe('date formats', () => {
  const row = { cust: '1', name: 'N', doc: 'D1', amount: '1.00' };

  it.each([
    ['DD.MM.YYYY', '29.02.2024', '2024-02-29'],
    ['DD/MM/YYYY', '31/12/2023', '2023-12-31'],
    ['MM/DD/YYYY', '12/31/2023', '2023-12-31'],
    ['YYYYMMDD', '20240229', '2024-02-29'],
    ['/Date(ms)/', '/Date(1704067200000)/', '2024-01-01'],
    ['/Date(ms)/', '/Date(1704067199999)/', '2023-12-31'],
    ['/Date(ms)/', '/Date(1704063600000+0100)/', '2024-01-01'],
    // OData V2 DateTimeOffset: the offset counts minutes. 2023-12-31T22:00Z at +120 minutes (CEST) is 1 January.
    ['/Date(ms)/', '/Date(1704060000000+0120)/', '2024-01-01'],
    ['/Date(ms)/', '/Date(1704060000000+120)/', '2024-01-01'],
    ['/Date(ms)/', '/Date(-86400000)/', '1969-12-31'],
  ] as const)('%s reads %s as %s', (format, text, iso) => {
    const m = mappingWith({ dueDate: { from: 'due', type: 'date', format } });
    const r = m({ ...row, due: text });
    expect(r.ok && r.item.dueDate).toBe(iso);
  });

  it.each([
    ['DD.MM.YYYY', '30.02.2024'],
    ['DD.MM.YYYY', '2024-02-01'],
    ['MM/DD/YYYY', '31/12/2023'],
    ['YYYYMMDD', '2024021'],
    ['/Date(ms)/', '/Date(abc)/'],
    ['/Date(ms)/', '1704067200000'],
  ] as const)('%s rejects %s', (format, text) => {
    const m = mappingWith({ dueDate: { from: 'due', type: 'date', format } });
    expect(rejection(m({ ...row, due: text })).reason).toBe(
      `dueDate: ${JSON.stringify(text)} is not a date (expected ${format})`,
    );
  });

  it('/Date(ms)/ agrees with the calendar for every day over four centuries', () => {
    const m = mappingWith({ dueDate: { from: 'due', type: 'date', format: '/Date(ms)/' } });
    const start = Date.UTC(1900, 0, 1);
    for (let day = 0; day < 146_097; day += 7) {
      const ms = start + day * 86_400_000;
      const r = m({ ...row, due: `/Date(${ms})/` });
      if (!r.ok) throw new Error(JSON.stringify(r));
      expect(r.item.dueDate).toBe(new Date(ms).toISOString().slice(0, 10));
    }
  });
});

describe('compileMapping', () => {
  it('validates a definition built in code', () => {
    expect(() => mappingWith({ dueDate: { from: 'due', type: 'int' } })).toThrow(IntegrationError);
    expect(() => mappingWith({ dueDate: { from: 'due', type: 'int' } })).toThrow(
      'item.dueDate.type: this field is date; write type: date or leave type out',
    );
  });

  it('names required fields when empty', () => {
    const m = mappingWith({});
    expect(rejection(m({ doc: 'D1', name: 'N', amount: '1', due: '2024-01-01' }))).toMatchObject({
      field: 'externalId',
      reason: 'externalId: is required but column "cust" is empty',
    });
    expect(rejection(m({ doc: 'D1', cust: '1', name: 'N', due: '2024-01-01' })).reason).toBe(
      'amountMinor: is required but column "amount" is empty',
    );
  });

  it('rejects an optional field marked required when it is empty', () => {
    const m = compileMapping({
      ...loadMappingFile(join(__dirname, '../../mappings/csv-generic.v1.yaml')),
      debtor: {
        externalId: { from: 'customer_no' },
        name: { from: 'customer_name' },
        type: { value: 'B2B' },
        email: { from: 'email', required: true },
      },
    });
    expect(rejection(m({ ...ROW, email: '' })).reason).toBe('email: is required but column "email" is empty');
  });
});

describe('mapping YAML errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'clearhub-mapping-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const VALID = SAP_YAML.replace('name: sap-fi-ar-rfc', 'name: x').replace('version: 2', 'version: 1');

  function errorOf(fn: () => unknown): ConfigError {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err;
      throw err;
    }
    throw new Error('expected a ConfigError');
  }

  it('names file, line and column of an unknown type and lists the allowed ones', () => {
    const lines = VALID.split('\n');
    // line 17 (1-based) becomes the due date with a wrong type; "    type: money": the value starts in column 11.
    const at = lines.findIndex((l) => l.startsWith('  dueDate:'));
    lines.splice(at, 1, '  dueDate:', '    from: NET_DUE', '    type: money', '    format: YYYYMMDD');
    const file = join(dir, 'x.v1.yaml');
    writeFileSync(file, lines.join('\n'));
    const line = at + 3;
    const err = errorOf(() => loadMappingFile(file));
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.message).toBe(`${file}:${line}:11: item.dueDate.type: expected one of string, date, decimal-money, int`);
    expect(err.problems).toEqual([
      { file, line, col: 11, path: 'item.dueDate.type', message: 'expected one of string, date, decimal-money, int' },
    ]);
  });

  it('points at an unknown key and lists the allowed keys', () => {
    const text = VALID.replace('  dunningBlock: DUNN_BLOCK', '  dunningBlok: DUNN_BLOCK');
    const line = text.split('\n').findIndex((l) => l.includes('dunningBlok')) + 1;
    const err = errorOf(() => loadMapping('mappings/x.v1.yaml', text));
    expect(err.message).toBe(
      `mappings/x.v1.yaml:${line}:3: item.dunningBlok: unknown key "dunningBlok"; allowed: documentNumber, contractRef, currency, amountMinor, openMinor, documentDate, dueDate, dunningLevel, dunningBlock`,
    );
  });

  it('reports a missing required target at its parent and every problem at once', () => {
    const text = VALID.replace('  currency: CURRENCY\n', '').replace(
      'format: YYYYMMDD, default',
      'format: DDMMYYYY, default',
    );
    const err = errorOf(() => loadMapping('m.yaml', text));
    const itemLine = text.split('\n').indexOf('item:') + 2;
    const dueLine = text.split('\n').findIndex((l) => l.includes('DDMMYYYY')) + 1;
    const dueCol = text.split('\n')[dueLine - 1]!.indexOf('DDMMYYYY') + 1;
    expect(err.problems.map((p) => `${p.line}:${p.col}: ${p.path}: ${p.message}`)).toEqual([
      `${itemLine}:3: item.currency: required: expected a column name or a field map ({ from, type, format, map, default, ... })`,
      `${dueLine}:${dueCol}: item.dueDate.format: expected one of YYYY-MM-DD, DD.MM.YYYY, YYYYMMDD, DD/MM/YYYY, MM/DD/YYYY, /Date(ms)/`,
    ]);
  });

  it('reports semantic problems at the offending value', () => {
    const text = VALID.replace('map: { KUNA: B2B, "*": B2C }', 'map: { KUNA: B2B, "*": B2X }');
    const line = text.split('\n').findIndex((l) => l.includes('B2X')) + 1;
    const col = text.split('\n')[line - 1]!.indexOf('B2X') + 1;
    expect(errorOf(() => loadMapping('m.yaml', text)).message).toBe(
      `m.yaml:${line}:${col}: debtor.type.map.*: expected one of B2B, B2C`,
    );
    const bad = VALID.replace('default: "20991231"', 'default: "20990230"');
    expect(errorOf(() => loadMapping('m.yaml', bad)).message).toMatch(
      /^m\.yaml:\d+:\d+: item\.dueDate\.default: "20990230" is not a date \(expected YYYYMMDD\)$/,
    );
  });

  it('asks for quotes where a number was written for text', () => {
    const text = VALID.replace('{ field: DOC_TYPE, in: [DR, RV] }', '{ field: DOC_TYPE, equals: 01 }');
    const line = text.split('\n').findIndex((l) => l.includes('equals: 01')) + 1;
    const col = text.split('\n')[line - 1]!.indexOf('01') + 1;
    expect(errorOf(() => loadMapping('m.yaml', text)).message).toBe(
      `m.yaml:${line}:${col}: when[0].equals: expected string, got number 1 (write it in quotes: "01")`,
    );
  });

  it('reports YAML syntax errors with their position', () => {
    const err = errorOf(() => loadMapping('m.yaml', 'name: x\nversion: 1\nkey: [a, b\nsource: {}\n'));
    expect(err.problems[0]).toMatchObject({ file: 'm.yaml', path: '(yaml)' });
    expect(err.problems[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it('rejects duplicate keys', () => {
    const err = errorOf(() => loadMapping('m.yaml', `${VALID}name: y\n`));
    expect(err.problems[0]).toMatchObject({ path: '(yaml)', line: VALID.split('\n').length, col: 1 });
  });

  it('requires name and version to match a versioned file name', () => {
    const err = errorOf(() => loadMapping('mappings/other.v3.yaml', VALID));
    expect(err.message).toBe(
      'mappings/other.v3.yaml:1:7: name: the file name says "other"\nmappings/other.v3.yaml:2:10: version: the file name says 3',
    );
  });

  it('keeps plain map keys as written', () => {
    const text = VALID.replace('map: { D: de, E: en }', 'map: { 01: de, 02: en }');
    const m = compileMapping(loadMapping('m.yaml', text));
    const r = m({ ...SAP_ROW, LANGU: '02' });
    expect(r.ok && r.debtor.language).toBe('en');
  });
});

describe('loadYamlWithSchema', () => {
  const schema = z.strictObject({ url: z.string(), password: z.string(), port: z.coerce.number().int() });

  it('interpolates environment variables in string values', () => {
    const text = 'url: "https://${env:HOST}/api"\npassword: ${env:PW}\nport: ${env:PORT:-8443}\n';
    expect(loadYamlWithSchema('t.yaml', text, schema, { env: { HOST: 'sap.example', PW: 's3cret' } })).toEqual({
      url: 'https://sap.example/api',
      password: 's3cret',
      port: 8443,
    });
  });

  it('names file, line and column of an unset variable without echoing values', () => {
    const text = 'url: https://x\npassword: ${env:SAP_PASSWORD}\nport: 1\n';
    expect(() => loadYamlWithSchema('config/t.yaml', text, schema, { env: {} })).toThrow(
      new ConfigError([
        {
          file: 'config/t.yaml',
          line: 2,
          col: 11,
          path: 'password',
          message: 'environment variable SAP_PASSWORD is not set (referenced as ${env:SAP_PASSWORD})',
        },
      ]),
    );
  });

  it('leaves ${env:…} alone without the env option, and $${ escapes', () => {
    expect(loadYamlWithSchema('t.yaml', 'url: ${env:X}\npassword: a$${env:Y}\nport: 1\n', schema)).toMatchObject({
      url: '${env:X}',
    });
    expect(loadYamlWithSchema('t.yaml', 'url: u\npassword: a$${env:Y}\nport: 1\n', schema, { env: {} }).password).toBe(
      'a${env:Y}',
    );
  });

  it('paths into lists', () => {
    const s = z.strictObject({ items: z.array(z.strictObject({ n: z.int() })) });
    expect(() => loadYamlWithSchema('l.yaml', 'items:\n  - n: 1\n  - n: two\n', s)).toThrow(
      'l.yaml:3:8: items[1].n: expected number, got a string',
    );
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseSapRfcConnectorConfig } from '../../connectors/sap-rfc/config';
import { RETURN_MESSAGES, returnError, returnMessages, toRfcError } from '../../connectors/sap-rfc/errors';
import {
  decodeCheckpoint,
  fromWireArItem,
  fromWireCaItem,
  netDueDate,
  referenceFor,
  scrub,
  toWireClearing,
  toWirePayment,
} from '../../connectors/sap-rfc/transformers';
import { ConnectorError, IntegrationError } from '../../src/domain/errors';
import type { WriteBackCommand } from '../../src/domain/write-back';
import { compileMapping, loadMappingFile, type MappingResult } from '../../src/mapping';
import { BAPI3007_2_FIELDS, BAPIDFKKCL_FIELDS } from '../../src/simulators/sap-rfc/fake-transport';

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, '../fixtures/sap-rfc', name), 'utf8')) as {
    request: Record<string, unknown>;
    response: Record<string, unknown>;
  };
const arMap = compileMapping(loadMappingFile(join(__dirname, '../../mappings/sap-fi-ar-rfc.v1.yaml')));
const caMap = compileMapping(loadMappingFile(join(__dirname, '../../mappings/sap-fi-ca-rfc.v1.yaml')));

function ok(r: MappingResult) {
  if (!r.ok) throw new Error(`expected a mapped record, got ${JSON.stringify(r)}`);
  return r;
}

describe('net due date (BAPI3007_2 has none)', () => {
  it.each([
    ['baseline + net days', { BLINE_DATE: '20240115', NETTERMS: '30', DB_CR_IND: 'S' }, '20240214'],
    ['net days as DEC with decimals', { BLINE_DATE: '20240115', NETTERMS: '30.000', DB_CR_IND: 'S' }, '20240214'],
    [
      'second discount period when no net days',
      { BLINE_DATE: '20240228', NETTERMS: '0', DSCT_DAYS1: '10', DSCT_DAYS2: '20', DB_CR_IND: 'S' },
      '20240319',
    ],
    [
      'first discount period alone',
      { BLINE_DATE: '20241224', NETTERMS: '0', DSCT_DAYS1: '8', DSCT_DAYS2: '0', DB_CR_IND: 'S' },
      '20250101',
    ],
    ['no terms: the baseline date', { BLINE_DATE: '20240301', NETTERMS: '0', DB_CR_IND: 'S' }, '20240301'],
    [
      'credit memo without invoice reference: baseline',
      { BLINE_DATE: '20240201', NETTERMS: '14', DB_CR_IND: 'H', INV_REF: '' },
      '20240201',
    ],
    [
      'credit memo with invoice reference: terms apply',
      { BLINE_DATE: '20240120', NETTERMS: '30', DB_CR_IND: 'H', INV_REF: '1800000017' },
      '20240219',
    ],
    ['initial baseline date: none', { BLINE_DATE: '00000000', NETTERMS: '30', DB_CR_IND: 'S' }, ''],
    ['impossible baseline date: none', { BLINE_DATE: '20240230', NETTERMS: '30', DB_CR_IND: 'S' }, ''],
  ])('%s', (_name, item, expected) => {
    expect(netDueDate(item)).toBe(expected);
  });
});

describe('sap-fi-ar-rfc.v1 on a recorded BAPI_AR_ACC_GETOPENITEMS answer', () => {
  const rows = fixture('fi-ar-getopenitems.json').response.LINEITEMS as Record<string, unknown>[];
  const results = rows.map((r, i) => arMap(fromWireArItem(r), { line: i + 1 }));

  it('maps an invoice: key, unsigned amount, due date from baseline + 30 days, dunning level', () => {
    expect(ok(results[0]!)).toEqual({
      ok: true,
      debtor: { externalId: '0010100001', name: '10100001', type: 'B2B', language: 'de', tags: [] },
      item: {
        sourceKey: '1010|2024|1800000017|001',
        externalId: '0010100001',
        documentNumber: '1800000017',
        currency: 'EUR',
        amountMinor: 119000,
        openMinor: 119000,
        documentDate: '2024-01-12',
        dueDate: '2024-02-14',
        dunningLevel: 1,
      },
    });
  });

  it('negates credit memos (H) and makes them due at the baseline date unless they reference an invoice', () => {
    expect(ok(results[1]!).item).toMatchObject({
      documentNumber: '1700000003',
      amountMinor: -23800,
      dueDate: '2024-02-01',
    });
    expect(ok(results[3]!).item).toMatchObject({
      documentNumber: '1700000004',
      amountMinor: -5000,
      dueDate: '2024-02-19',
    });
  });

  it('uses the discount days when there are no net days, and keeps the dunning block', () => {
    expect(ok(results[2]!).item).toMatchObject({ amountMinor: 50000, dueDate: '2024-03-19', dunningBlock: 'A' });
  });

  it('names a one-time customer from NAME/NAME_2, with language and country', () => {
    const r = ok(results[4]!);
    expect(r.debtor).toEqual({
      externalId: 'CPD-DE',
      name: 'Anna Beispiel',
      type: 'B2B',
      language: 'en',
      country: 'AT',
      tags: [],
    });
    expect(r.item).toMatchObject({ sourceKey: '1010|2024|1800000099|001', amountMinor: 9999, dueDate: '2025-01-01' });
  });

  it('skips our own payment postings and special G/L items', () => {
    expect(results[5]).toMatchObject({ ok: false, skipped: true });
    expect(results[6]).toMatchObject({ ok: false, skipped: true });
  });

  it('converts a four-decimal BCD amount with the currency exponent (JPY has none)', () => {
    expect(ok(results[7]!).item).toMatchObject({ currency: 'JPY', amountMinor: 5000, dueDate: '2024-03-16' });
  });
});

describe('sap-fi-ca-rfc.v1 on a recorded BAPI_CTRACCONTRACTACCOUNT_GOI1 answer', () => {
  const rows = fixture('fi-ca-goi1.json').response.OPENITEMS as Record<string, unknown>[];
  const results = rows.map((r, i) => caMap(fromWireCaItem(r), { line: i + 1 }));

  it('maps an item: four-part key, business partner, contract account/contract, signed amount, NET_DATE', () => {
    expect(ok(results[0]!)).toEqual({
      ok: true,
      debtor: { externalId: '1000000042', name: '1000000042', type: 'B2C', language: 'de', tags: [] },
      item: {
        sourceKey: '000000004711|001|0001|000',
        externalId: '1000000042',
        documentNumber: '000000004711',
        contractRef: '000100000042/SIM-4917012345678',
        currency: 'EUR',
        amountMinor: 3999,
        openMinor: 3999,
        documentDate: '2024-02-01',
        dueDate: '2024-02-15',
        dunningLevel: 0,
      },
    });
    expect(ok(results[1]!).item).toMatchObject({ sourceKey: '000000004711|001|0002|000', amountMinor: 499 });
  });

  it('keeps credits negative and uses the contract account alone when there is no contract', () => {
    expect(ok(results[2]!).item).toMatchObject({
      amountMinor: -1000,
      contractRef: '000100000042',
      dueDate: '2024-02-10',
    });
  });

  it('carries the dunning lock', () => {
    expect(ok(results[3]!).item).toMatchObject({
      contractRef: '000100000043/DSL-77',
      amountMinor: 2495,
      dunningBlock: 'X',
    });
  });

  it('rejects an impossible net due date, naming it', () => {
    expect(results[4]).toMatchObject({ ok: false, field: 'dueDate', line: 5 });
    expect((results[4] as { reason: string }).reason).toContain('20240230');
  });
});

const PAYMENT: Extract<WriteBackCommand, { kind: 'payment' }> = {
  kind: 'payment',
  itemId: 'item-1',
  sourceKey: '1010|2024|1800000017|001',
  externalId: '10100001',
  documentNumber: '1800000017',
  paymentId: 'pay-9',
  amountMinor: 30000,
  currency: 'EUR',
  cleared: false,
  valueDate: '2024-03-01',
};

describe('outgoing requests', () => {
  it('references are 16 characters, stable per idempotency key, different across keys', () => {
    const a = referenceFor('outbox:42');
    expect(a).toMatch(/^CLH[A-Z2-7]{13}$/);
    expect(referenceFor('outbox:42')).toBe(a);
    expect(referenceFor('outbox:43')).not.toBe(a);
    expect(() => referenceFor('')).toThrow(IntegrationError);
  });

  it('builds BAPI_ACC_DOCUMENT_POST: RFBU/DZ header with our reference, customer credit and bank debit summing to 0', () => {
    const params = toWirePayment(PAYMENT, {
      companyCode: '1010',
      customer: '0010100001',
      reference: 'CLHAAAAAAAAAAAAA',
      postingDate: '20240302',
      glAccount: '113109',
      docType: 'DZ',
      username: '',
    });
    expect(params).toEqual({
      DOCUMENTHEADER: {
        OBJ_TYPE: 'BKPFF',
        BUS_ACT: 'RFBU',
        USERNAME: '',
        COMP_CODE: '1010',
        DOC_DATE: '20240301',
        PSTNG_DATE: '20240302',
        DOC_TYPE: 'DZ',
        REF_DOC_NO: 'CLHAAAAAAAAAAAAA',
        HEADER_TXT: 'Clearhub pay-9',
      },
      ACCOUNTRECEIVABLE: [
        {
          ITEMNO_ACC: '0000000001',
          CUSTOMER: '0010100001',
          COMP_CODE: '1010',
          ALLOC_NMBR: '1800000017',
          ITEM_TEXT: 'Clearhub pay-9 1800000017',
        },
      ],
      ACCOUNTGL: [
        {
          ITEMNO_ACC: '0000000002',
          GL_ACCOUNT: '0000113109',
          COMP_CODE: '1010',
          ALLOC_NMBR: '1800000017',
          ITEM_TEXT: 'Clearhub pay-9 1800000017',
          VALUE_DATE: '20240301',
        },
      ],
      CURRENCYAMOUNT: [
        { ITEMNO_ACC: '0000000001', CURR_TYPE: '00', CURRENCY: 'EUR', AMT_DOCCUR: '-300.00' },
        { ITEMNO_ACC: '0000000002', CURR_TYPE: '00', CURRENCY: 'EUR', AMT_DOCCUR: '300.00' },
      ],
    });
  });

  it('refuses a payment of zero or a negative amount', () => {
    const o = {
      companyCode: '1010',
      customer: '1',
      reference: 'R',
      postingDate: '20240101',
      glAccount: '1',
      docType: 'DZ',
      username: '',
    };
    expect(() => toWirePayment({ ...PAYMENT, amountMinor: 0 }, o)).toThrow(IntegrationError);
    expect(() => toWirePayment({ ...PAYMENT, amountMinor: -5 }, o)).toThrow(IntegrationError);
  });

  it('builds the FI-CA clearing with the clearing amount as a decimal', () => {
    const item = (fixture('fi-ca-goi1.json').response.OPENITEMS as Record<string, string>[])[0]!;
    const p = toWireClearing(
      { ...PAYMENT, sourceKey: '000000004711|001|0001|000', amountMinor: 3999 },
      { item: item as never, reference: 'CLHBBBBBBBBBBBBB', clearingDate: '20240301' },
    );
    expect(p).toMatchObject({
      CONTRACTACCOUNT: '000100000042',
      REF_DOC_NO: 'CLHBBBBBBBBBBBBB',
      OPENITEMS: [{ DOC_NO: '000000004711', REP_ITEM: '001', ITEM: '0001', SUB_ITEM: '000', AMOUNT_CLEAR: '39.99' }],
    });
  });
});

describe('error tables', () => {
  it('reads BAPIRET2 tables and BAPIRETURN structures alike, dropping empty rows', () => {
    expect(returnMessages({ TYPE: 'E', CODE: 'F5155', MESSAGE: 'No authorization' })).toEqual([
      { type: 'E', id: 'F5', number: '155', message: 'No authorization' },
    ]);
    expect(
      returnMessages([
        { TYPE: '', ID: '', NUMBER: '000' },
        { TYPE: 'S', ID: 'RW', NUMBER: '605', MESSAGE: 'ok' },
      ]),
    ).toEqual([{ type: 'S', id: 'RW', number: '605', message: 'ok' }]);
  });

  it('skips the summary line and takes the tier of the cause; E is integration, A connector, locks connector', () => {
    const summary = { type: 'E', id: 'RW', number: '609', message: 'Error in document' };
    expect(returnError('POST', [summary, { type: 'E', id: 'RW', number: '033', message: 'Balance' }])).toBeInstanceOf(
      IntegrationError,
    );
    expect(returnError('POST', [summary, { type: 'E', id: 'MC', number: '601', message: 'locked' }])).toBeInstanceOf(
      ConnectorError,
    );
    expect(returnError('POST', [{ type: 'A', id: 'ZZ', number: '001', message: 'update terminated' }])).toBeInstanceOf(
      ConnectorError,
    );
    expect(returnError('POST', [{ type: 'E', id: 'ZZ', number: '001', message: 'customer unknown' }])).toBeInstanceOf(
      IntegrationError,
    );
    expect(RETURN_MESSAGES['RW 609']?.summary).toBe(true);
  });

  it('maps node-rfc errors: logon and missing function are integration, communication and timeout connector', () => {
    const rfc = (codeString: string, key = codeString) =>
      Object.assign(new Error('x'), { name: 'RfcLibError', codeString, key });
    expect(toRfcError(rfc('RFC_LOGON_FAILURE'), 'RFC_PING')).toBeInstanceOf(IntegrationError);
    expect(toRfcError(rfc('RFC_ABAP_EXCEPTION', 'FU_NOT_FOUND'), 'Z_X').message).toContain('does not exist');
    const comm = toRfcError(rfc('RFC_COMMUNICATION_FAILURE'), 'RFC_PING') as ConnectorError;
    expect(comm).toBeInstanceOf(ConnectorError);
    expect(comm.indeterminate).toBe(false);
    expect((toRfcError(rfc('RFC_TIMEOUT'), 'POST') as ConnectorError).indeterminate).toBe(true);
    expect((toRfcError(rfc('RFC_COMMUNICATION_FAILURE'), 'COMMIT', true) as ConnectorError).indeterminate).toBe(true);
    expect(toRfcError(new Error('something odd'), 'X')).toBeInstanceOf(ConnectorError);
  });
});

describe('config and helpers', () => {
  const base = {
    connection: { dest: 'QI3' },
    companyCodes: ['1010'],
    customers: ['10100001'],
    posting: { bankClearingAccount: '113109' },
  };

  it('validates options and names each bad one', () => {
    expect(parseSapRfcConnectorConfig({ variant: 'fi-ar', ...base })).toMatchObject({
      kind: 'sap-rfc',
      poolSize: 4,
      batchSize: 5000,
    });
    expect(() => parseSapRfcConnectorConfig({ variant: 'fi-ar', ...base, connection: { user: 'X' } })).toThrow(
      /connection/,
    );
    expect(() => parseSapRfcConnectorConfig({ variant: 'fi-ar', ...base, companyCodes: ['10100'] })).toThrow(
      /companyCodes\.0/,
    );
    expect(() =>
      parseSapRfcConnectorConfig({ variant: 'fi-ca', connection: { dest: 'X' }, contractAccounts: [] }),
    ).toThrow(/contractAccounts/);
    expect(() => parseSapRfcConnectorConfig({ variant: 'fi-ar', ...base, keyDate: '2024-02-30' })).toThrow(/keyDate/);
    expect(() =>
      parseSapRfcConnectorConfig({
        variant: 'fi-ar',
        ...base,
        connection: { dest: 'X', passwd: '\u0000unset:SAP_PW' },
      }),
    ).toThrow(/SAP_PW is not set/);
  });

  it('reads only its own checkpoints', () => {
    expect(decodeCheckpoint('{"v":1,"keyDate":"20240315","units":"ab","next":2}')).toEqual({
      v: 1,
      keyDate: '20240315',
      units: 'ab',
      next: 2,
    });
    expect(decodeCheckpoint('{"v":1,"files":{}}')).toBeUndefined();
    expect(decodeCheckpoint('$skip=500')).toBeUndefined();
  });

  it('scrubs passwords and IBANs', () => {
    expect(scrub('{"passwd":"geheim","user":"X"} IBAN DE89370400440532013000')).toBe(
      '{"passwd":"***","user":"X"} IBAN [IBAN]',
    );
  });
});

/** The names we send and read must exist in the BAPI definitions (shared/contracts; skipped when absent). */
describe('contract: field and parameter names against bapi-interfaces.json', () => {
  const file = resolve(
    process.env.CLEARHUB_CONTRACTS ?? join(__dirname, '../../../shared/contracts'),
    'sap/rfc/bapi-interfaces.json',
  );
  const present = existsSync(file);
  if (!present) {
    it.skip(`skipped: ${file} not found (set CLEARHUB_CONTRACTS to the contracts folder)`, () => undefined);
    return;
  }
  const spec = JSON.parse(readFileSync(file, 'utf8')) as {
    functions: Record<string, Record<string, Record<string, string>>>;
    structures: Record<string, unknown>;
  };
  const fn = (name: string) => {
    const key = Object.keys(spec.functions).find((k) => k === name || k.startsWith(`${name} `));
    return spec.functions[key!]!;
  };
  const structure = (prefix: string): Set<string> => {
    const key = Object.keys(spec.structures).find((k) => k === prefix || k.startsWith(`${prefix} `))!;
    const v = spec.structures[key];
    if (Array.isArray(v)) return new Set(v.map((f: { name: string }) => f.name));
    return new Set(String(v).match(/\b[A-Z][A-Z0-9_]+\b/g));
  };

  it('BAPI3007_2 and BAPIDFKKCL fields of the fake and the fixtures', () => {
    const ar = structure('BAPI3007_2');
    const ca = structure('BAPIDFKKCL');
    expect(BAPI3007_2_FIELDS.filter((f) => !ar.has(f))).toEqual([]);
    expect(BAPIDFKKCL_FIELDS.filter((f) => !ca.has(f))).toEqual([]);
    const arRow = (fixture('fi-ar-getopenitems.json').response.LINEITEMS as Record<string, unknown>[])[0]!;
    expect(Object.keys(arRow).filter((f) => !ar.has(f))).toEqual([]);
    const caRow = (fixture('fi-ca-goi1.json').response.OPENITEMS as Record<string, unknown>[])[0]!;
    expect(Object.keys(caRow).filter((f) => !ca.has(f))).toEqual([]);
  });

  it('parameters and structures of the posting', () => {
    const post = fn('BAPI_ACC_DOCUMENT_POST');
    const params = toWirePayment(PAYMENT, {
      companyCode: '1010',
      customer: '1',
      reference: 'R',
      postingDate: '20240101',
      glAccount: '1',
      docType: 'DZ',
      username: '',
    });
    const known = new Set([...Object.keys(post.import ?? {}), ...Object.keys(post.tables ?? {})]);
    expect(Object.keys(params).filter((p) => !known.has(p))).toEqual([]);
    const check = (param: string, struct: string) => {
      const fields = structure(struct);
      const rows = ([] as Record<string, unknown>[]).concat(params[param] as never);
      expect(rows.flatMap((r) => Object.keys(r)).filter((f) => !fields.has(f))).toEqual([]);
    };
    check('DOCUMENTHEADER', 'BAPIACHE09');
    check('ACCOUNTRECEIVABLE', 'BAPIACAR09');
    check('ACCOUNTGL', 'BAPIACGL09');
    check('CURRENCYAMOUNT', 'BAPIACCR09');
    expect(Object.keys(fn('BAPI_AR_ACC_GETOPENITEMS').import!)).toEqual(
      expect.arrayContaining(['COMPANYCODE', 'CUSTOMER', 'KEYDATE']),
    );
    expect(Object.keys(fn('BAPI_AR_ACC_GETBALANCEDITEMS').import!)).toEqual([
      'COMPANYCODE',
      'CUSTOMER',
      'DATE_FROM',
      'DATE_TO',
    ]);
    expect(Object.keys(fn('BAPI_CTRACCONTRACTACCOUNT_GOI1').tables!)).toEqual(
      expect.arrayContaining(['MAINSELECTIONS', 'OPENITEMS']),
    );
    expect(Object.keys(fn('BAPI_TRANSACTION_COMMIT').import!)).toEqual(['WAIT']);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  afterKeyFilter,
  decodeCheckpoint,
  fromWire,
  type ItemRow,
  openItemsFilter,
  type PartnerRow,
  toWire,
  type V2Collection,
} from '../../connectors/sap-odata/transformers';
import { compileMapping, loadMappingFile } from '../../src/mapping';

const FIX = join(__dirname, '../fixtures/sap-odata');
const items = JSON.parse(readFileSync(join(FIX, 'open-items.page.json'), 'utf8')) as V2Collection<ItemRow>;
const partners = JSON.parse(readFileSync(join(FIX, 'partners.page.json'), 'utf8')) as V2Collection<PartnerRow>;
const byId = new Map(partners.d.results.map((p) => [p.BusinessPartner, p]));
const map = compileMapping(loadMappingFile(join(__dirname, '../../mappings/sap-fi-ar-odata.v1.yaml')));

describe('mappings/sap-fi-ar-odata.v1.yaml on a recorded page (golden)', () => {
  const out = items.d.results.map((row, i) => map(fromWire(row, byId.get(String(row.Customer))), { line: i + 1 }));

  it('maps an invoice: key, amount in cents, /Date(ms)/ dates, dunning, the customer from API_BUSINESS_PARTNER', () => {
    // 1704067200000 ms = 2024-01-01T00:00Z; + 30 days (2,592,000,000 ms) = 1706659200000 = 2024-01-31.
    expect(out[0]).toEqual({
      ok: true,
      debtor: {
        externalId: '10100001',
        name: 'ACME GmbH',
        type: 'B2B',
        email: 'ap@acme.example', // the default address, not the first
        phone: '+49 30 1234567',
        language: 'de',
        country: 'DE',
        address: ['Friedrichstraße 68', '10117 Berlin'], // street and house number joined, as on an envelope
        tags: ['sap'],
      },
      item: {
        sourceKey: '1010|2024|9400000001|001',
        externalId: '10100001',
        documentNumber: '9400000001',
        contractRef: 'RE-2024-0001',
        currency: 'EUR',
        amountMinor: 119_000,
        openMinor: 119_000,
        documentDate: '2024-01-01',
        dueDate: '2024-01-31',
        dunningLevel: 1,
        dunningBlock: undefined,
      },
    });
  });

  it('a credit (H) is negative whether SAP writes its amount signed ("-250.50", as the cube does) or not', () => {
    const credit = items.d.results[1]!;
    expect(credit).toMatchObject({ DebitCreditCode: 'H', AmountInTransactionCurrency: '-250.50' });
    const amountOf = (row: ItemRow) => {
      const r = map(fromWire(row, byId.get(String(row.Customer))), { line: 1 });
      return r.ok ? r.item.amountMinor : r.reason;
    };
    // Negating SAP's "-250.50" made the credit a receivable of 250.50.
    expect(amountOf(credit)).toBe(-25_050);
    expect(amountOf({ ...credit, AmountInTransactionCurrency: '250.50' })).toBe(-25_050);
    expect(amountOf({ ...items.d.results[0]!, AmountInTransactionCurrency: '1190.00' })).toBe(119_000);
  });

  it('a credit (H) is negative; a person (category 1) is B2C; dunning block kept', () => {
    expect(out[1]).toMatchObject({
      ok: true,
      debtor: {
        externalId: '10100002',
        name: 'Anna Schmidt',
        type: 'B2C',
        email: 'anna@example.org',
        language: 'en',
        country: 'AT',
        address: undefined, // SAP has no street or city for her: no letter rather than a wrong one
      },
      item: {
        sourceKey: '1010|2024|9400000002|002',
        amountMinor: -25_050,
        dueDate: '2024-01-01',
        dunningLevel: 0,
        dunningBlock: 'A',
      },
    });
  });

  it('JPY has no minor unit: "5000.000" is 5000; a supplier item is skipped; a missing due date is rejected', () => {
    expect(out[2]).toMatchObject({ ok: true, item: { currency: 'JPY', amountMinor: 5000, dunningLevel: 3 } });
    expect(out[3]).toMatchObject({ ok: false, skipped: true });
    expect(out[4]).toMatchObject({ ok: false, reason: expect.stringMatching(/dueDate/) });
  });
});

describe('sap-odata transformers', () => {
  it('builds the open-item and keyset filters', () => {
    expect(openItemsFilter("O'1")).toBe("CompanyCode eq 'O''1' and FinancialAccountType eq 'D' and IsCleared eq false");
    expect(afterKeyFilter(['2024', '9400000001', '001'])).toBe(
      "(FiscalYear gt '2024' or (FiscalYear eq '2024' and (AccountingDocument gt '9400000001' or (AccountingDocument eq '9400000001' and AccountingDocumentItem gt '001'))))",
    );
  });

  it('a dunning_level command becomes the A_CustomerDunning key and PATCH body', () => {
    expect(
      toWire(
        {
          kind: 'dunning_level',
          itemId: 'i',
          sourceKey: '1010|2024|9400000001|001',
          externalId: '10100001',
          documentNumber: '9400000001',
          level: 2,
          noticeId: 'n',
          dunnedOn: '2024-01-31',
        },
        '',
        'B',
      ),
    ).toEqual({
      key: { Customer: '10100001', CompanyCode: '1010', DunningArea: '' },
      body: { DunningLevel: '2', LastDunnedOn: '/Date(1706659200000)/', DunningBlock: 'B' },
    });
    expect(() =>
      toWire(
        {
          kind: 'dunning_level',
          itemId: 'i',
          sourceKey: '1010|x',
          externalId: 'c',
          documentNumber: 'd',
          level: 10,
          noticeId: 'n',
          dunnedOn: '2024-01-31',
        },
        '',
      ),
    ).toThrow(/0–9/);
  });

  it('reads only its own checkpoints', () => {
    expect(decodeCheckpoint('{"v":1,"kind":"open","hw":"2024-01-31"}', 'open')).toEqual({
      v: 1,
      kind: 'open',
      hw: '2024-01-31',
    });
    expect(decodeCheckpoint('{"v":1,"kind":"open","hw":"2024-01-31"}', 'cleared')).toBeUndefined();
    expect(decodeCheckpoint('{"v":1,"files":{}}', 'open')).toBeUndefined();
    expect(decodeCheckpoint('garbage', 'open')).toBeUndefined();
  });
});
